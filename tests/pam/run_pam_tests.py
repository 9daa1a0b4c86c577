#!/usr/bin/python3
"""Runs the PAM-layer tests: starts verif8-sandbox, builds a pam_wrapper + nss_wrapper world in a
temp dir, runs test_pam_login (CMocka, TAP) in it with its stderr (pam_syslog through pam_wrapper)
captured, then checks every request body the sandbox received against the published OpenAPI
file. Prints one TAP stream; exits non-zero if anything failed. Leaves no process behind.

usage: run_pam_tests.py TEST_BINARY MODULE_SO"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))
sys.path.insert(0, str(HERE))

import openapi_check  # noqa: E402
import secret_scan  # noqa: E402
import verif8_harness as harness  # noqa: E402

OPENAPI = harness.ROOT.parent / "shared" / "8x8-verification-api.openapi.json"


def main():
    binary, module = sys.argv[1], sys.argv[2]
    work = harness.temp_dir("verif8-pamtest-")
    try:
        world = harness.PamWorld(work / "world")
        log_path = work / "pam.log"
        with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
            # A hashed CA directory holding only the sandbox's CA, for ca_path.
            ca_dir = world.dir / "cadir"
            ca_dir.mkdir()
            (ca_dir / "sandbox-ca.pem").write_bytes(Path(sandbox.ca_file).read_bytes())
            subprocess.run(["openssl", "rehash", str(ca_dir)], check=True)
            env = world.env()
            env.update({
                "CMOCKA_MESSAGE_OUTPUT": "TAP",
                "VERIF8_TEST_DIR": str(world.dir),
                "VERIF8_MODULE": str(Path(module).resolve()),
                "VERIF8_SANDBOX_URL": sandbox.url,
                "VERIF8_SANDBOX_CA": sandbox.ca_file,
                "VERIF8_SANDBOX_CA_DIR": str(ca_dir),
                "VERIF8_OUTBOX": sandbox.outbox,
                "VERIF8_REQUESTS": sandbox.requests_log,
                "VERIF8_API_KEY": sandbox.api_key,
                "VERIF8_SUBACCOUNT": sandbox.subaccount,
                "VERIF8_USERS_FILE": str(world.users_file),
                "VERIF8_PAM_LOG": str(log_path),
                "VERIF8_PAM_PERMIT": harness.system_module("pam_permit.so"),
            })
            with open(log_path, "w") as log:
                result = subprocess.run([binary], env=env, stdout=subprocess.PIPE, stderr=log,
                                        text=True, timeout=600)
            requests = sandbox.requests()
            outbox, api_key, requests_log = sandbox.outbox, sandbox.api_key, sandbox.requests_log
        ok = result.returncode == 0
        lines = [line for line in result.stdout.splitlines() if not line.startswith("1..")]
        planned = sum(1 for line in lines if line.startswith(("ok ", "not ok ")))
        print("\n".join(lines))

        # One more test over everything the module sent in the whole run, against the published
        # OpenAPI file beside the repository (../shared, as verify-api.md says); a checkout
        # without it skips this test, and says so.
        number = planned + 1
        name = "every_initiate_body_fits_the_published_api"
        if not OPENAPI.is_file():
            print(f"ok {number} - {name} # SKIP {OPENAPI} is not beside the repository")
        else:
            checked, problems = openapi_check.check_requests(requests, OPENAPI)
            if checked > 0 and not problems:
                print(f"ok {number} - {name} ({checked} bodies)")
            else:
                ok = False
                print(f"not ok {number} - {name}")
                for problem in problems or ["no initiate request was recorded"]:
                    print(f"# {problem}")
        # And one over every log of the run: no delivered code and not the API key, anywhere.
        leaks = secret_scan.scan_run(outbox, api_key, {str(log_path): log_path.read_text()},
                                     work / "sandbox.out", requests_log,
                                     extra_secrets=["not-the-key"])
        number += 1
        if leaks:
            ok = False
            print(f"not ok {number} - no_code_or_key_in_any_log")
            for leak in leaks:
                print(f"# {leak}")
        else:
            print(f"ok {number} - no_code_or_key_in_any_log")
        print(f"1..{number}")
        if result.returncode != 0:
            print(f"# test_pam_login exited {result.returncode}; pam_syslog output follows")
            for line in log_path.read_text().splitlines()[-40:]:
                print(f"# {line}")
        return 0 if ok else 1
    finally:
        if not os.environ.get("VERIF8_KEEP"):
            harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
