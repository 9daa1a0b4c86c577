#!/usr/bin/python3
"""The PAM layer: logins through the built module and real libpam (tests/harness/pam_client.py
under pam_wrapper and nss_wrapper) against verif8-sandbox, for what tests/faults leaves out (its
rows are outages, bad answers, hostile input and limits): the prompts, return codes, request
bodies and log lines of ordinary logins, and the settings that refuse a login before anything is
sent. Ends with checks over the whole run: every initiate body against the published OpenAPI
file, no code or key in any log, and, in an ASan build, no leak from the module. Prints TAP.

usage: run_pam_tests.py MODULE_SO"""

import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import openapi_check  # noqa: E402
import pam_client as pc  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from login_suite import code, wrong  # noqa: E402

PHONES = {"alice": "+6591234567", "dave": "+6587654321"}
MASKED = "\u2022" * 6  # the prompt shows the number's last four digits only
OK = "POST 200, READ 200, GET 200"  # the send, the session's status (no code), the code check


def body(user, channel, **extra):
    """An initiate body as the module writes it, fields in its order."""
    return {"destination": PHONES[user], "channel": channel, "codeLength": 6,
            "codeValidity": 300, "resendingInterval": 30, **extra}


def expire_then_code(prompt):
    suite.LoginCase.world.sandbox.control("expire")
    return suite.last_code()


class PamCase(suite.LoginCase):
    service = "pam"

    def assertBody(self, request, expected):
        """The body the sandbox parsed, in the order the module wrote its fields."""
        self.assertEqual(request["method"], "POST")
        self.assertEqual(json.dumps(request["body"]), json.dumps(expected))


class Logins(PamCase):
    def test_right_code_logs_in(self):
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(result.prompts, [f"Code sent by SMS to {MASKED}4567.\n"
                                          "Verification code: "])
        self.assertSeen(OK)
        send, _, check = self.new_requests()
        self.assertEqual(send["path"], "/api/v2/subaccounts/sandbox-account/sessions")
        self.assertBody(send, body("alice", "sms"))
        self.assertTrue(check["codeMatched"])
        line = self.outcome_line(result)
        for part in ("outcome=verified user=alice", "service=pam channel=sms to=+65******67",
                     "attempts=1"):
            self.assertIn(part, line)
        for secret in (suite.last_code(), self.world.sandbox.api_key, "6591234567"):
            self.assertNotIn(secret, result.log)

    def test_unknown_user_sends_nothing(self):
        result = self.login(user="mallory")  # not in passwd
        self.assertIn("user=mallory", self.assertOutcome(result, pc.PAM_USER_UNKNOWN,
                                                         "user_unknown"))
        self.assertEqual(result.prompts, [])
        self.assertNothingSent()

    def test_module_arguments_override_the_file(self):
        # 7 digits, not the shortest code: the final scan looks for every delivered code in
        # every log, and a 4-digit one could match a number they hold anyway ("mode 0644").
        self.configure(code_length=8)
        self.assertOutcome(self.login(service="pam_code_length_7"), pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.new_requests()[0]["body"]["codeLength"], 7)
        self.assertEqual(len(suite.last_code()), 7)


@suite.table(  # the last prompt's and error's texts, and which code checks matched
    "name settings answers code outcome prompts last_prompt error matched",
    ("wrong_then_right_code_logs_in", {}, (wrong, code()), pc.PAM_SUCCESS, "verified", 2,
     "Wrong code. 2 attempts left.\nVerification code: ", None, [False, True]),
    ("too_many_wrong_codes_fail", {}, (wrong, wrong, wrong, code()), pc.PAM_AUTH_ERR,
     "too_many_wrong_codes", 3, "1 attempt left.", "No attempts left.", [False] * 3),
    ("max_attempts_bounds_the_rounds", {"max_attempts": 1}, (wrong, code()),
     pc.PAM_AUTH_ERR, "too_many_wrong_codes", 1, "", "No attempts left.", [False]),
    # The session expires at the sandbox while the user types: the status read shows it.
    ("expired_session_fails", {}, (expire_then_code,), pc.PAM_AUTH_ERR, "session_expired", 1,
     "", "expired", []),
)
class Rounds(PamCase):
    def check(self, settings, answers, code, outcome, prompts, last_prompt, error, matched):
        self.configure(**settings)
        result = self.login(answer=suite.script(*answers))
        self.assertOutcome(result, code, outcome)
        self.assertEqual(len(result.prompts), prompts)
        self.assertIn(last_prompt, result.prompts[-1])
        self.assertEqual(len(result.errors), error is not None)
        self.assertIn(error or "", "".join(result.errors))
        # One send, then a status read before each check (the read alone shows an expiry).
        checks = ["READ 200, GET 200"] * len(matched) or ["READ 200"]
        self.assertSeen(", ".join(["POST 200", *checks]))
        self.assertEqual([r["codeMatched"] for r in self.new_requests()[2::2]], matched)


@suite.table(  # what reaches the API for each channel and setting
    "name user settings prompt expected",
    ("whatsapp_user_with_a_template_gets_a_message", "dave",
     {"whatsapp_template": "login_otp"}, "Code sent by WhatsApp",
     body("dave", "whatsapp", whatsapp={"templateName": "login_otp"})),
    ("optional_fields_reach_the_api", "alice",
     {"brand": "Acme Ops", "template": "{brand} login code: {code}", "language": "en-GB",
      "sms_sender": "AcmeOps", "voice_caller_id": "+6512345678", "template_key": "login",
      "code_length": 8, "code_validity": 120}, "Code sent by SMS",
     body("alice", "sms", codeLength=8, codeValidity=120, brand="Acme Ops",
          template="{brand} login code: {code}", templateKey="login", language="en-GB",
          sms={"source": "AcmeOps"})),
)
class Channels(PamCase):
    def check(self, user, settings, prompt, expected):
        self.configure(**settings)
        result = self.login(user=user, answer=suite.script(code(PHONES[user])))
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertIn(prompt, result.prompts[0])
        self.assertBody(self.new_requests()[0], expected)
        self.assertEqual(len(suite.last_code(PHONES[user])), expected["codeLength"])


@suite.table(  # PAM_RHOST as the API's clientIp: IP literals only, in canonical form
    "name rhost settings client_ip",
    ("an_ipv4_remote_address_goes_as_client_ip", "198.51.100.20", {}, "198.51.100.20"),
    ("an_ipv6_remote_address_goes_in_canonical_form", "2001:DB8::0:1", {}, "2001:db8::1"),
    ("an_ipv4_client_on_an_ipv6_socket_goes_as_ipv4", "::ffff:198.51.100.20", {},
     "198.51.100.20"),
    ("a_host_name_never_goes", "gw.example.org", {}, None),
    ("send_client_ip_no_sends_no_address", "198.51.100.20", {"send_client_ip": "no"}, None),
)
class ClientAddress(PamCase):
    def check(self, rhost, settings, client_ip):
        self.configure(**settings)
        self.assertOutcome(self.login(rhost=rhost), pc.PAM_SUCCESS, "verified")
        extra = {} if client_ip is None else {"clientIp": client_ip}
        self.assertBody(self.new_requests()[0], body("alice", "sms", **extra))


def unknown_key(case):
    config = case.configure()
    with open(config, "a") as handle:
        handle.write("colour = blue\n")
    # The unknown key is the file's last line; the problem names the file and that line.
    return re.escape(f"{config}:{len(config.read_text().splitlines())}: unknown key 'colour'")


def symlinked(case):
    link = case.world.dir / "link.conf"
    link.unlink(missing_ok=True)
    link.symlink_to(case.configure(path=case.world.work / "files" / "target.conf"))
    return r"symbolic link"


def without_api_key(case):
    case.configure(api_key=None)
    return r"api_key or api_key_file is required"


def damaged_table(case):
    # Both copies of the table of waiting sessions torn: nobody can tell which sessions other
    # logins hold, so no code is sent until they are removed (or are two hours old).
    for copy in ("pending.a", "pending.b"):
        harness.write_secure(case.state_dir / copy, "verif8-pending 1 3\ntorn")
    return r"both damaged"


@suite.table(  # settings that refuse every login before anything is sent
    "name setup user service",
    ("unknown_config_key_fails_closed", unknown_key, "alice", None),
    ("world_readable_config_fails_closed",
     lambda case: re.escape(f"{case.configure(mode=0o644)}: has mode 0644"), "alice", None),
    ("missing_api_key_fails_closed", without_api_key, "alice", None),
    ("symlinked_config_fails_closed", symlinked, "alice", "pam_symlink"),
    ("whatsapp_user_needs_a_template", lambda case: r"whatsapp_template is required", "dave",
     None),
    ("a_damaged_session_table_fails_closed", damaged_table, "alice", None),
)
class Refusals(PamCase):
    def check(self, setup, user, service):
        problem = setup(self)
        result = self.login(user=user, service=service)
        self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error")
        self.assertLogged(result, problem)
        self.assertEqual(result.prompts, [])
        self.assertNothingSent()


class TrustStores(PamCase):
    def test_a_hashed_ca_directory_is_trusted(self):
        ca_dir = Path(tempfile.mkdtemp(prefix="cadir-", dir=self.world.work / "files"))
        (ca_dir / "sandbox-ca.pem").write_bytes(Path(self.world.sandbox.ca_file).read_bytes())
        subprocess.run(["openssl", "rehash", str(ca_dir)], check=True,
                       env=suite.without_preloads())
        self.configure(ca_file=None, ca_path=str(ca_dir))
        self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")
        self.assertSeen(OK)

    def test_the_default_store_does_not_trust_the_sandbox(self):
        # Neither ca_file nor ca_path: the build's default store, which lacks the test CA.
        self.configure(ca_file=None)
        self.assertOutcome(self.login(), pc.PAM_AUTHINFO_UNAVAIL, "certificate_invalid")
        self.assertNothingSent()


class ZzRun(suite.SecretScan):
    """Last: over the whole run."""

    def test_every_initiate_body_fits_the_published_api(self):
        openapi = openapi_check.published_file()
        if openapi is None:
            self.skipTest("no shared/8x8-verification-api.openapi.json beside the repository")
        checked, problems = openapi_check.check_requests(suite.LoginCase.world.sandbox.requests(),
                                                         openapi)
        self.assertEqual(problems, [])
        self.assertGreater(checked, 5, "the run's initiate bodies were recorded")

    def test_the_run_has_a_tmp_of_its_own(self):
        # pam_wrapper's dir of this process lies in a /tmp that no other suite's processes see
        # (verif8_harness.in_private_tmp), so none of theirs can take it or remove it.
        mounts = [line.split() for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        on_tmp = [fields[fields.index("-") + 1:][:2] for fields in mounts if fields[4] == "/tmp"]
        self.assertEqual(on_tmp[-1:], [["tmpfs", "verif8-private-tmp"]], on_tmp)
        runtime = Path(os.environ["PAM_WRAPPER_RUNTIME_DIR"])
        self.assertEqual(runtime.parent, Path("/tmp"))
        self.assertEqual((runtime / "pid").read_text(), str(os.getpid()))

    def test_no_leak_from_the_module(self):
        """LeakSanitizer's findings now, every login over, but for the few objects the
        interpreter itself drops (allocated by python3 alone). (Checked here, not at exit,
        where the interpreter leaves far more.)"""
        check = getattr(ctypes.CDLL(None), "__lsan_do_recoverable_leak_check", None)
        if check is None:
            self.skipTest("not an ASan build")
        sys.stderr.flush()
        with tempfile.TemporaryFile() as report:
            saved = os.dup(2)
            os.dup2(report.fileno(), 2)
            try:
                check()
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            report.seek(0)
            text = report.read().decode("utf-8", "replace")
        found = [leak.strip() for leak in re.split(r"\n(?=(?:Direct|Indirect) leak of )", text)[1:]
                 if not all("python3" in frame for frame in re.findall(
                     r"^ +#[1-9]\d* .*$", leak.split("\n\n")[0], re.MULTILINE))]
        self.assertEqual(found, [], "\n\n".join(found))


def write_services(world, module, config, api_key):
    world.service("pam", module, f"conf={config}")
    world.service("pam_code_length_7", module, f"conf={config} code_length=7")
    world.service("pam_symlink", module, f"conf={world.dir / 'link.conf'}")


def prepare_env(env):
    if env.get("VERIF8_PRELOAD_FIRST"):
        # A sanitized run: the interpreter's own allocations are not freed at exit, so leaks
        # are looked for by the last test, with every object still reachable through malloc.
        env["LSAN_OPTIONS"] = env.get("LSAN_OPTIONS", "") + ":leak_check_at_exit=0"
        env["PYTHONMALLOC"] = "malloc"


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cases = [Logins, Rounds, Channels, ClientAddress, Refusals, TrustStores, ZzRun]
    return suite.main("pam", lambda world: 0 if tap.run(cases) else 1, write_services,
                      users=harness.DEFAULT_USERS, prepare_env=prepare_env)


if __name__ == "__main__":
    sys.exit(main())
