#!/usr/bin/python3
"""One full login (the right code) through the built module under valgrind's memcheck: pamtester
on a pseudo-terminal, under pam_wrapper and nss_wrapper, against verif8-sandbox. Passes only if
the login was verified, memcheck found no error, and nothing was definitely lost. Prints TAP.
The module's leaks are checked here, where every allocation it makes through libpam, libcurl and
OpenSSL is seen with nothing of ours preloaded but the wrappers. Suppressions, if ever needed, go
in valgrind.supp beside this file, each with the reason; none may name pam_verif8.so.

usage: valgrind_login.py MODULE_SO"""

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

SERVICE = "verif8-memcheck"
SUPPRESSIONS = HERE / "valgrind.supp"
SLOW = 240  # under memcheck everything, TLS set-up included, runs some 20-50 times slower


def tap(number, ok, name, notes=()):
    print(f"{'ok' if ok else 'not ok'} {number} - {name}")
    print("".join(f"# {line}\n" for note in notes for line in str(note).splitlines()), end="",
          flush=True)
    return ok


def wait_for_code(sandbox, timeout):
    deadline = time.monotonic() + timeout
    while not sandbox.deliveries():
        if time.monotonic() > deadline:
            raise TimeoutError("the sandbox delivered no code")
        time.sleep(0.1)
    return sandbox.deliveries()[-1]["code"]


def memcheck_login(module, valgrind, work):
    """Runs the login; (exit status, terminal text, failure, code matched, memcheck report)."""
    world = harness.PamWorld(work / "world")
    with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
        config = harness.write_secure(work / "pam_verif8.conf", harness.config_text(
            sandbox, world.users_file, connect_timeout="60", request_timeout="120"))
        world.service(SERVICE, module, f"conf={config}")
        wrapped = world.env()
        wrapped["PAM_WRAPPER_DEBUGLEVEL"] = "0"
        # Deep binding (RTLD_DEEPBIND) breaks tools that replace malloc (man pam_wrapper);
        # pam_wrapper 1.1.4 (Debian 12) reads the variable under uid_wrapper's name.
        wrapped.update({f"{name}_WRAPPER_DISABLE_DEEPBIND": "1" for name in ("PAM", "UID", "NSS")})
        # valgrind itself runs without the wrappers (a preloaded pam_wrapper would set up a
        # world in the launcher that nothing tears down); `env` hands them to pamtester.
        plain = {k: v for k, v in wrapped.items()
                 if k != "LD_PRELOAD" and not k.startswith(("PAM_WRAPPER", "NSS_WRAPPER"))}
        settings = [f"{k}={v}" for k, v in wrapped.items() if k not in plain or plain[k] != v]
        command = [valgrind, "--tool=memcheck", "--error-exitcode=99", "--leak-check=full",
                   "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
                   "--num-callers=40", "--track-origins=yes", "--trace-children=yes",
                   # libpam dlclose()s the module at pam_end, before the leak check: keep its
                   # symbols so that a leak in it is reported by function and line.
                   "--keep-debuginfo=yes", f"--log-file={work}/memcheck.%p.%n.log",
                   *([f"--suppressions={SUPPRESSIONS}"] if SUPPRESSIONS.exists() else []),
                   "/usr/bin/env", *settings, "pamtester", "-v", SERVICE, "alice", "authenticate"]
        session = PtySession(*harness.in_private_tmp(command, plain))
        status, failure = None, ""
        try:
            session.expect("Verification code: ", timeout=SLOW)
            session.type(wait_for_code(sandbox, SLOW))
            status = session.finish(timeout=SLOW)
        except (TimeoutError, EOFError) as error:
            session.close()
            failure = str(error)
        matched = any(r.get("codeMatched") for r in sandbox.requests() if r["method"] == "GET")
    # One log per program valgrind followed: env, then pamtester (same pid, the next %n).
    report = "".join(path.read_text(errors="replace")
                     for path in sorted(work.glob("memcheck.*.log")))
    return status, session.text(), failure, matched, report


def main():
    module = str(Path(sys.argv[1]).resolve())
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("1..0 # SKIP valgrind is not installed (Debian package valgrind)")
        return 0
    if "libasan" in subprocess.run(["readelf", "-d", module], capture_output=True,
                                   text=True).stdout:
        print("1..0 # SKIP the module is built with ASan, which valgrind cannot run; "
              "the plain build runs this test")
        return 0
    if SUPPRESSIONS.exists() and "pam_verif8" in SUPPRESSIONS.read_text():
        print("1..1")
        tap(1, False, "suppressions_never_cover_the_module",
            [f"{SUPPRESSIONS} names pam_verif8: the module's own errors must never be hidden"])
        return 1
    print("1..3")
    work = harness.temp_dir("verif8-memcheck-")
    try:
        status, text, failure, matched, report = memcheck_login(module, valgrind, work)
        summaries = re.findall(r"ERROR SUMMARY: (\d+) errors", report)
        lost = [int(n.replace(",", "")) for n in
                re.findall(r"definitely lost: ([\d,]+) bytes", report)]
        verified = status in (0, 99) and "successfully authenticated" in text and matched
        clean = status == 0 and bool(summaries) and all(n == "0" for n in summaries)
        no_leak = bool(summaries) and all(n == 0 for n in lost)
        ok = tap(1, verified, "a_full_login_is_verified_under_memcheck",
                 [] if verified else [failure, f"exit status {status}", text[-2000:]])
        ok &= tap(2, clean, "memcheck_finds_no_error",
                  [] if clean else [f"valgrind exit status {status}", report[-6000:]])
        ok &= tap(3, no_leak, "nothing_is_definitely_lost", [] if no_leak else [report[-6000:]])
        return 0 if ok else 1
    finally:
        if not os.environ.get("VERIF8_KEEP"):
            harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
