#!/usr/bin/python3
"""Drives the demo login: a pam_wrapper world in a temp dir, verif8-sandbox, a config for it, and
pamtester running the module. With --auto, pamtester runs in a pseudo-terminal as a person would
see it, and the code is typed from the sandbox's outbox."""

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

USER = "alice"
SERVICE = "verif8-demo"


def wait_for_code(sandbox, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = sandbox.deliveries()
        if deliveries:
            return deliveries[-1]["code"]
        time.sleep(0.05)
    raise TimeoutError("the sandbox delivered no code")


def run_auto(command, env, sandbox):
    session = PtySession(command, env)
    try:
        session.expect("Verification code: ")
        session.type(wait_for_code(sandbox))
        status = session.finish()
    finally:
        session.close()
    text = session.text()
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
