#!/usr/bin/python3
"""Runs the end-to-end tests: real /usr/sbin/sshd logins on 127.0.0.1 through the built
pam_verif8.so, with a paramiko client and verif8-sandbox as the Verify API. Prints one TAP stream:
the scenarios of test_scenarios.py, then the run's own checks that the machine's login records
and /var/lib/pam_verif8 are as they were and that no process of the run is left.

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import e2e_support as e2e  # noqa: E402
import test_scenarios  # noqa: E402
from e2e_support import harness  # noqa: E402
from tap import TapResult, diagnostic, emit  # noqa: E402
from test_scenarios import Suite  # noqa: E402

MACHINE_FILES = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/lib/pam_verif8")


def pids_of(pattern, full=True):
    found = subprocess.run(["pgrep", "-f" if full else "-x", pattern], capture_output=True,
                           text=True).stdout.split()
    return {int(pid) for pid in found} - {os.getpid()}


def command_of(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return "?"


def machine_state():
    """Size and mtime of each of MACHINE_FILES (None: absent)."""
    return {path: (os.stat(path).st_size, os.stat(path).st_mtime_ns) if os.path.exists(path)
            else None for path in MACHINE_FILES}


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
    """The suite's world, keys, sandbox and copy of the module, in `work` (see Suite); False
    when the sandbox did not start (TAP's Bail out!)."""
    for directory in (work, work / "tests"):  # see E2ECase.setUp
        directory.mkdir(exist_ok=True)
        os.chmod(directory, 0o711)
    (work / "sock").mkdir(mode=0o700)
    Suite.work = work
    Suite.world = harness.PamWorld(work / "world", users=e2e.E2E_USERS, groups=e2e.E2E_GROUPS)
    # sshd's privilege-separation account; its home is the /run/sshd of the namespace.
    Suite.world.add_account("sshd", 74, 65534, "/run/sshd", group="nogroup")
    Suite.world.write_passdb(Suite.world.dir / "passdb", e2e.PASSWORDS, "sshd")
    Suite.host_key = harness.write_secure(work / "ssh_host_ed25519_key", e2e.ed25519_key()[1])
    Suite.user_key, _, Suite.user_key_line = e2e.ed25519_key()
    Suite.other_key = e2e.ed25519_key()[0]
    # sshd sees a private /tmp (see e2e_support.SSHD_BOOT) with only the work dir in it, so
    # the module under test is loaded from a copy there, wherever it was built.
    Suite.module = work / "module" / module.name
    Suite.module.parent.mkdir(mode=0o755)
    shutil.copy2(module, Suite.module)
    os.chmod(Suite.module, 0o755)
    Suite.sandbox = harness.Sandbox(work / "sandbox", extra_args=["--quiet"],
                                    stdout=open(work / "sandbox.out", "w"))
    try:
        Suite.sandbox.start()
        return True
    except Exception as error:  # noqa: BLE001
        emit(f"Bail out! verif8-sandbox did not start: {error}")
        diagnostic((work / "sandbox.out").read_text(errors="replace")[-2000:])
        return False


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    started, module = time.monotonic(), Path(sys.argv[1]).resolve()
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)
    atexit.register(e2e.stop_all)
    sshd_before, machine_before = pids_of("sshd", full=False), machine_state()
    work, result = harness.temp_dir("verif8-e2e-"), TapResult()
    try:
        if not module.is_file():
            emit(f"not ok 1 - module_exists\n# {module} is not a file\n1..1")
            return 1
        if not prepare(work, module):
            return 1
        tests = unittest.defaultTestLoader.loadTestsFromModule(test_scenarios)
        tests = unittest.TestSuite(test for group in tests for test in group  # one per class
                                   if not sys.argv[2:] or any(p in test.id() for p in sys.argv[2:]))
        try:
            tests.run(result)
        except KeyboardInterrupt as stop:
            emit(f"Bail out! stopped ({stop}); servers and sandbox stopped")
            return 1
        finally:
            e2e.stop_all()
            Suite.sandbox.stop()
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
