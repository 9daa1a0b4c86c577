#!/usr/bin/python3
"""Runs the end-to-end tests: real /usr/sbin/sshd logins on 127.0.0.1 through the built
pam_verif8.so, with a paramiko client and verif8-sandbox as the Verify API.

Starts the sandbox once and an sshd per scenario (each in its own namespaces, see
e2e_support.py), runs the scenarios of test_scenarios.py as unittest cases and prints one TAP
stream, then two checks of its own: the machine's login records and /var/lib/pam_verif8 are as
they were, and no process of the run is left. Exits 1 if anything failed.

usage: run_e2e.py MODULE_SO [NAME_PART...]   (NAME_PARTs pick tests by name, for development)
environment: VERIF8_KEEP=1 keeps the temp dir (configs, sshd logs, sandbox logs)."""

import atexit
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import e2e_support as e2e  # noqa: E402
import test_scenarios  # noqa: E402
from e2e_case import Suite  # noqa: E402
from e2e_support import harness  # noqa: E402
from tap import TapResult, diagnostic, emit  # noqa: E402

MACHINE_FILES = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/lib/pam_verif8")


def pids_of(pattern, full=True):
    found = subprocess.run(["pgrep", "-f" if full else "-x", pattern], capture_output=True,
                           text=True).stdout.split()
    return {int(pid) for pid in found} - {os.getpid()}


def command_of(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except OSError:
        return "?"


def machine_state():
    """Size and mtime of each of MACHINE_FILES (None: absent)."""
    return {path: (os.stat(path).st_size, os.stat(path).st_mtime_ns) if os.path.exists(path)
            else None for path in MACHINE_FILES}


def selected(suite, parts):
    """The tests of `suite` whose id has one of `parts` in it (all without parts)."""
    if not parts:
        return suite
    tests = (test for group in suite for test in group)  # loadTestsFromModule: one per class
    return unittest.TestSuite(test for test in tests if any(part in test.id() for part in parts))


def check(result, name, problems):
    """One of the run's own checks, as a TAP line: it passes without problems."""
    result.number += 1
    result.any_failed |= bool(problems)
    emit(f"{'not ok' if problems else 'ok'} {result.number} - {name}")
    for problem in problems:
        diagnostic(problem)


def on_signal(number, _frame):
    TapResult.interrupted = f"signal {number}"  # fails the test under way
    # KeyboardInterrupt, not SystemExit: unittest records any other exception as a test error
    # and carries on, while this one ends the run (the finally blocks stop everything).
    raise KeyboardInterrupt(f"signal {number}")


def prepare(work, module):
    """The suite's world, keys and copy of the module, in `work` (see Suite)."""
    for directory in (work, work / "tests"):  # see E2ECase.setUp
        directory.mkdir(exist_ok=True)
        os.chmod(directory, 0o711)
    (work / "sock").mkdir(mode=0o700)
    Suite.work = work
    Suite.world = harness.PamWorld(work / "world", users=e2e.E2E_USERS, groups=e2e.E2E_GROUPS)
    # sshd's privilege-separation account; its home is the /run/sshd of the namespace.
    Suite.world.add_account("sshd", 74, 65534, "/run/sshd", group="nogroup")
    Suite.world.write_passdb(Suite.world.dir / "passdb", e2e.PASSWORDS, "sshd")
    _, host_text, _ = e2e.ed25519_key()
    Suite.host_key = harness.write_secure(work / "ssh_host_ed25519_key", host_text)
    Suite.user_key, _, Suite.user_key_line = e2e.ed25519_key()
    Suite.other_key, _, _ = e2e.ed25519_key()
    # sshd sees a private /tmp (see e2e_support.SSHD_BOOT) with only the work dir in it, so
    # the module under test is loaded from a copy there, wherever it was built.
    Suite.module = work / "module" / module.name
    Suite.module.parent.mkdir(mode=0o755)
    shutil.copy2(module, Suite.module)
    os.chmod(Suite.module, 0o755)


def run_tests(work, result):
    """Starts the sandbox and runs the scenarios (those named by argv[2:]); False when the
    run had to stop (TAP's Bail out!)."""
    sandbox = harness.Sandbox(work / "sandbox", extra_args=["--quiet"],
                              stdout=open(work / "sandbox.out", "w"))
    try:
        sandbox.start()
    except Exception as error:  # noqa: BLE001
        emit(f"Bail out! verif8-sandbox did not start: {error}")
        diagnostic((work / "sandbox.out").read_text(errors="replace")[-2000:])
        sandbox.stop()
        return False
    Suite.sandbox = sandbox
    tests = selected(unittest.defaultTestLoader.loadTestsFromModule(test_scenarios),
                     sys.argv[2:])
    try:
        tests.run(result)
    except KeyboardInterrupt as stop:
        emit(f"Bail out! stopped ({stop}); servers and sandbox stopped")
        return False
    finally:
        e2e.stop_all()
        sandbox.stop()
    return True


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    started = time.monotonic()
    module = Path(sys.argv[1]).resolve()
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)
    atexit.register(e2e.stop_all)
    sshd_before = pids_of("sshd", full=False)
    machine_before = machine_state()
    work = harness.temp_dir("verif8-e2e-")
    result = TapResult()
    try:
        if not module.is_file():
            emit(f"not ok 1 - module_exists\n# {module} is not a file\n1..1")
            return 1
        prepare(work, module)
        if not run_tests(work, result):
            return 1
        # The run's own checks.
        machine_after = machine_state()
        check(result, "machine_login_records_and_state_untouched",
              [f"{path}: {machine_before[path]} -> {machine_after[path]}"
               for path in MACHINE_FILES if machine_before[path] != machine_after[path]])
        time.sleep(0.2)
        left = pids_of(str(work)) | (pids_of("sshd", full=False) - sshd_before)
        check(result, "no_process_left", [f"pid {pid}: {command_of(pid)}" for pid in sorted(left)])
        emit(f"1..{result.number}")
        diagnostic(f"e2e wall time {time.monotonic() - started:.1f} s")
        return 1 if result.any_failed else 0
    finally:
        e2e.stop_all()
        if Suite.sandbox is not None:
            Suite.sandbox.stop()
        if os.environ.get("VERIF8_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
