#!/usr/bin/python3
"""Drives the demo login: a pam_wrapper world in a temp dir, verif8-sandbox, a config for it, and
pamtester running the module. With --auto, pamtester runs in a pseudo-terminal as a person would
see it, and the code is typed from the sandbox's outbox."""

import argparse
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import verif8_harness as harness  # noqa: E402

USER = "alice"
SERVICE = "verif8-demo"


def read_until(fd, marker, timeout):
    """Reads a pty until `marker` shows up; returns everything read."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {marker!r} within {timeout} s; saw {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def read_rest(fd, timeout):
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def wait_for_code(sandbox, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = sandbox.deliveries()
        if deliveries:
            return deliveries[-1]["code"]
        time.sleep(0.05)
    raise TimeoutError("the sandbox delivered no code")


def run_auto(command, env, sandbox):
    controller, terminal = pty.openpty()
    # pamtester's prompts go to stderr, as on a real terminal.
    process = subprocess.Popen(command, env=env, stdin=terminal, stdout=terminal, stderr=terminal,
                               close_fds=True)
    os.close(terminal)
    try:
        screen = read_until(controller, b"Verification code: ", 30)
        code = wait_for_code(sandbox)
        os.write(controller, code.encode() + b"\n")
        screen += read_rest(controller, 5)
        status = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    text = screen.decode(errors="replace").replace("\r", "")
    print(text.rstrip())
    checked = [r for r in sandbox.requests() if r["method"] == "GET"]
    verified = (status == 0 and "successfully authenticated" in text
                and any(r.get("codeMatched") for r in checked))
    if verified:
        print(f"\ndemo: verified login for {USER} (the code was typed from the sandbox's outbox)")
        return 0
    print(f"\ndemo: the login was NOT verified (pamtester exited {status})")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", required=True)
    parser.add_argument("--auto", action="store_true")
    args = parser.parse_args()

    work = harness.temp_dir("verif8-demo-")
    try:
        world = harness.PamWorld(work / "world")
        # The sandbox prints each code it "delivers" on this terminal; --quiet keeps the rest out.
        with harness.Sandbox(work / "sandbox", extra_args=["--quiet"]) as sandbox:
            config = harness.write_secure(work / "pam_verif8.conf",
                                          harness.config_text(sandbox, world.users_file))
            world.service(SERVICE, Path(args.module).resolve(), f"conf={config}")
            env = world.env()
            env["PAM_WRAPPER_DEBUGLEVEL"] = "0"
            command = ["pamtester", "-v", SERVICE, USER, "authenticate"]
            print(f"demo: logging in as {USER} (phone +6591234567 in the users file) through "
                  f"pam_verif8, against the sandbox at {sandbox.url}")
            if args.auto:
                return run_auto(command, env, sandbox)
            print("demo: the sandbox prints the code it sends; type it at the prompt.\n")
            status = subprocess.call(command, env=env)
            print("\ndemo: verified login" if status == 0 else "\ndemo: login failed")
            return status
    finally:
        harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
