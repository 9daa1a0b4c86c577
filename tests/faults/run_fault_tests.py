#!/usr/bin/python3
"""The fault table: every failure of the network and the API, and hostile input, through the
built module and real libpam (tests/harness/login_suite.py) against verif8-sandbox with
--tls-faults. For each row: the PAM code, a bound on the time it took, the `outcome=` log line
and its reason, and what the sandbox received. Every network and API row runs with
fail_mode=closed and with fail_mode=open: only the "unreachable" rows may differ. Prints TAP.

usage: run_fault_tests.py MODULE_SO [PART] (--one-login SERVICE USER RHOST LOG: one login of the
concurrency rows, in a process of its own). PART (a key of PARTS) runs only its classes: the
suite is two Meson tests that run side by side, since most of its time is waits (resend_interval
and login_timeout are at least 10 s), not CPU."""

import json
import os
import re
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import pam_client as pc  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from login_suite import after, code, last_code, script, wrong  # noqa: E402

USERS = {**harness.DEFAULT_USERS,
         # + and 16 digits: one too many; erin is not enrolled, and the line is reported.
         "erin": (2005, "erin +6512345678901234 sms"), "frank": (2006, "frank +6591110001 sms"),
         "grace": (2007, "grace +6591110002 sms"), "herb": (2008, "herb +6591110003 sms"),
         # Three user names, one number (a shared on-call phone).
         "ivy": (2009, "ivy +6591110009 sms"), "jack": (2010, "jack +6591110009 sms"),
         "kate": (2011, "kate +6591110009 sms")}
# Twenty users with a number each, for concurrent logins that share only their source.
USERS.update({f"load{n:02d}": (2100 + n, f"load{n:02d} +659222{n:04d} sms") for n in range(20)})
# Twenty user names mapped to one number, for concurrent logins that share only their number.
USERS.update({f"share{n:02d}": (2200 + n, f"share{n:02d} +6591119999 sms") for n in range(20)})
PHONES = {name: line.split()[1] for name, (_, line) in USERS.items() if line}
RHOST = "203.0.113.9"
SANDBOX = None  # set by wrapped_main, with CLOSED: a socket bound, never listening (refused)
CLOSED = None
MODES = {"fail_closed": {"mode": "closed"}, "fail_open": {"mode": "open"}}
OK = "POST 200, READ 200, GET 200"  # the send, the status read before the check, the check
TIMEOUT, CONNECT = r"(?i)time(d)? ?out", r"(?i)connect"
U, BAD, SENT = "unreachable", "bad_response", "POST 200"
CODES = {"verified": pc.PAM_SUCCESS, "rate_limited": pc.PAM_AUTHINFO_UNAVAIL,
         "credentials_rejected": pc.PAM_SERVICE_ERR, "invalid_phone": pc.PAM_AUTH_ERR,
         "config_error": pc.PAM_SERVICE_ERR, "session_expired": pc.PAM_AUTH_ERR,
         "bad_response": pc.PAM_AUTHINFO_UNAVAIL, "certificate_invalid": pc.PAM_AUTHINFO_UNAVAIL,
         "tls_failed": pc.PAM_AUTHINFO_UNAVAIL, "session_taken": pc.PAM_AUTH_ERR}
TOLD = {"unreachable": "The verification service cannot be reached.",
        "rate_limited": "Too many verification requests; try again later.",
        "session_expired": "The code has expired."}
WELL_FORMED = r"200 without a well-formed session"


class FaultCase(suite.LoginCase):
    """The login_suite base with the "faults" service, logins from RHOST, short timeouts."""

    service = "faults"
    rhost = RHOST
    settings = {"fail_delay": "0", "connect_timeout": "2", "request_timeout": "3"}

    def arm(self, spec):
        """A sandbox fault: "ROUTE KIND [PARAM=VALUE...]"."""
        route, kind, *params = spec.split()
        return SANDBOX.control("fault", "?" + "&".join([f"route={route}", f"kind={kind}",
                                                        *params]))

    def assertUnreachable(self, result, mode, reason):
        """closed: PAM_AUTHINFO_UNAVAIL and the user is told; open: PAM_IGNORE with a warning."""
        if mode == "closed":
            self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "unreachable", reason)
            self.assertIn(TOLD["unreachable"], result.errors)
            self.assertFalse(any("fail_mode=open" in line for line in result.syslog()))
        else:
            self.assertOutcome(result, pc.PAM_IGNORE, "unreachable_fail_open", reason)
            warnings = [line for line in result.log.splitlines()
                        if "SYSLOG(4)" in line and "fail_mode=open" in line]
            self.assertEqual(len(warnings), 1, "one warning line naming fail_mode=open")


@suite.table(  # config ({NAME}: an address of the sandbox's), fault, outcome, reason, seen, seconds
    "name config fault outcome reason seen seconds",
    # Unreachable: the only class fail_mode relaxes. connect_timeout=2 decides within 2.5 s.
    ("connection_refused", {"api_url": "{closed}"}, None, U, CONNECT, "", 3),
    ("connect_black_hole", {"api_url": "{blackhole}"}, None, U, TIMEOUT, "", 4.5),
    ("no_answer_after_the_request", {"request_timeout": 2}, "initiate hang", U, TIMEOUT,
     "POST None", 4.5),
    # 5xx: retried once, as the API's error table advises.
    ("http_500", {}, "initiate status status=500 times=2", U, "HTTP 500", "POST 500, POST 500", 4),
    ("http_502_retried_once", {}, "initiate status status=502 times=2", U, "HTTP 502",
     "POST 502, POST 502", 4),
    ("http_503_retried_once", {}, "initiate status status=503 times=2 body=html", U, "HTTP 503",
     "POST 503, POST 503", 4),
    ("http_504_retried_once", {}, "initiate status status=504 times=2", U, "HTTP 504",
     "POST 504, POST 504", 4),
    ("http_503_once_then_success", {}, "initiate status status=503 times=1", "verified", None,
     "POST 503, " + OK, 8),
    ("reset_mid_body", {}, "initiate reset", U, r"(?i)recv|receiv|reset|partial|transfer", SENT, 4),
    # About 400 bytes, one every 100 ms: 40 s for the answer, 2 s allowed.
    ("trickle_slower_than_request_timeout", {"request_timeout": 2},
     "initiate trickle interval_ms=100", U, TIMEOUT, SENT, 4.5),
    ("proxy_from_config_refused", {"https_proxy": "http://{proxy}"}, None, U, "(?i)connect|proxy",
     "", 8),
    ("first_url_refused_second_answers", {"api_url": "{closed} {url}"}, None, "verified", None,
     OK, 3),
    # One connect timeout, then the second URL.
    ("first_url_black_hole_second_answers", {"api_url": "{blackhole} {url}"}, None, "verified",
     None, OK, 5),
    # Rate limits and API errors: the same code whatever fail_mode says. The module waits out
    # 429s while login_timeout allows; 100 of them outlast 10 s.
    ("429_retry_after_1_then_success", {}, "initiate status status=429 retry_after=1 times=1",
     "verified", None, "POST 429, " + OK, 5),
    ("429_past_the_budget", {"login_timeout": 10},
     "initiate status status=429 retry_after=1 times=100", "rate_limited", "429",
     "POST 429(, POST 429)+", 12),
    ("429_without_retry_after", {}, "initiate status status=429 times=1", "verified", None,
     "POST 429, " + OK, 8),
    ("401_1200_bad_key", {}, "initiate status status=401 code=1200", "credentials_rejected",
     "401.*1200", "POST 401", 8),
    ("400_1001_wrong_subaccount", {}, "initiate status status=400 code=1001",
     "credentials_rejected", "400.*1001", "POST 400", 8),
    ("400_1002_invalid_phone", {}, "initiate status status=400 code=1002", "invalid_phone",
     "400.*1002", "POST 400", 8),
    ("426_1014_old_tls", {}, "initiate status status=426 code=1014", "config_error", "426.*1014",
     "POST 426", 8),
    ("404_1404_on_validate", {}, "validate status status=404 code=1404", "session_expired", "404",
     "POST 200, READ 200, GET 404", 8),
    # Bad answers: never success, PAM_AUTHINFO_UNAVAIL whatever fail_mode says.
    ("malformed_json_on_initiate", {}, "initiate malformed", BAD, WELL_FORMED, SENT, 4),
    ("malformed_json_on_validate", {}, "validate malformed", BAD, WELL_FORMED, OK, 4),
    ("truncated_json_on_initiate", {}, "initiate truncated", BAD, WELL_FORMED, SENT, 4),
    ("truncated_json_on_validate", {}, "validate truncated", BAD, WELL_FORMED, OK, 4),
    ("huge_verified_body_on_validate", {}, "validate huge", BAD, r"larger than \d+ bytes", OK, 4),
    ("wrong_types_on_initiate", {}, "initiate wrong_types", BAD, WELL_FORMED, SENT, 4),
    ("wrong_types_on_validate", {}, "validate wrong_types", BAD, WELL_FORMED, OK, 4),
    ("missing_fields_on_initiate", {}, "initiate missing_fields", BAD, WELL_FORMED, SENT, 4),
    ("missing_fields_on_validate", {}, "validate missing_fields", BAD, WELL_FORMED, OK, 4),
    # The right code was typed and the real session is VERIFIED at the sandbox, but the answer
    # names another session: one login is one session.
    ("verified_for_another_session", {}, "validate other_session", BAD, "another session", OK, 4),
    ("unknown_status_on_validate", {}, "validate unknown_status", BAD, WELL_FORMED, OK, 4),
    ("unknown_status_on_initiate", {}, "initiate unknown_status", BAD, WELL_FORMED, SENT, 4),
    ("redirect_not_followed", {}, "validate redirect", BAD, "302.*redirects are not followed",
     "POST 200, READ 200, GET 302", 4),
    # VERIFIED before any code was typed: never success.
    ("verified_answer_to_a_new_send", {}, "initiate verified", BAD, "VERIFIED", SENT, 4),
    # A code check never fails open (threat-model rule 7): closed in both modes.
    ("no_answer_to_the_validate", {"request_timeout": 2}, "validate hang", "unreachable_code",
     TIMEOUT, "POST 200, READ 200, GET None", 4.5),
    # A `verified` answer for the login's own session after a wrong code (session_taken rows
    # type one). The sandbox counted the wrong code (attempt 1) and the forged answer carries
    # that count: a code that verifies leaves the count as it was, so the module refuses it.
    # (A forgery that also kept the count could not be told from a real answer: it comes over
    # verified TLS from the configured host, and nothing in it is tied to the code.)
    ("forged_verified_after_a_wrong_code_is_refused", {}, "validate verified", "session_taken",
     "wrong-code count is 1", OK, 8),
    # Transport security: fails closed whatever fail_mode says, and nothing reaches the API.
    ("certificate_from_unknown_ca", {"api_url": "{untrusted}"}, None, "certificate_invalid",
     "(?i)certificate|issuer", "", 4),
    ("certificate_for_another_host", {"api_url": "{wrong_host}"}, None, "certificate_invalid",
     "(?i)name|host", "", 4),
    ("expired_certificate", {"api_url": "{expired}"}, None, "certificate_invalid", "(?i)expired",
     "", 4),
    ("tls_1_1_only_server", {"api_url": "{tls11}"}, None, "tls_failed",
     "(?i)SSL|TLS|protocol|version", "", 4),
    variants=MODES)
class Network(FaultCase):
    def check(self, config, fault, outcome, reason, seen, seconds, mode):
        urls = {"closed": f"https://{CLOSED}", "proxy": CLOSED, "url": SANDBOX.url,
                "blackhole": SANDBOX.info.get("blackhole"), **SANDBOX.info.get("tls_faults", {})}
        self.configure(fail_mode=mode, **{key: value.format(**urls) if isinstance(value, str)
                                          else value for key, value in config.items()})
        if fault:
            self.arm(fault)
        result = self.login(answer=script(wrong if outcome == "session_taken" else code()),
                            limit=seconds)
        if outcome == "unreachable":
            self.assertUnreachable(result, mode, reason)
        elif outcome == "unreachable_code":  # and open mode says why it did not apply
            self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "unreachable", reason)
            self.assertIn(TOLD["unreachable"], result.errors)
            self.assertEqual("fail_mode=open applies only" in result.log, mode == "open")
        else:
            self.assertOutcome(result, CODES[outcome], outcome, reason)
            self.assertIn(TOLD.get(outcome, ""), "".join(result.errors))
        self.assertSeen(seen)
        if not seen:
            self.assertNothingSent()
        if seen.endswith("GET 200"):  # the code typed reached the API
            self.assertIs(self.new_requests()[-1]["codeMatched"], outcome != "session_taken")


class NetworkAtTheCode(FaultCase):
    def test_403_1400_on_resend_in_both_modes(self):
        """403/1400 on a resend the module itself allows (resend_interval passed): the user is
        told to wait, the attempt is spent, and the login goes on. resend_interval cannot go
        below 10 s, so the user waits 10.5 s."""
        for mode in ("closed", "open"):
            with self.subTest(fail_mode=mode):
                self.setUp()
                self.configure(fail_mode=mode, resend_interval=10)
                result = self.login(answer=script(after(10.5, "", lambda: self.arm(
                    "initiate status status=403 code=1400")), code()), limit=16)
                self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
                self.assertEqual(len(result.prompts), 2)
                self.assertIn("Wait a little before asking for a new code. 2 attempts left.\n"
                              "Verification code: ", result.prompts[1])
                self.assertSeen("POST 200, POST 403, READ 200, GET 200")
                self.assertEqual(self.new_requests()[1]["errorCode"], 1400)

    def test_plain_http_api_url_in_both_modes(self):
        for mode in ("closed", "open"):
            with self.subTest(fail_mode=mode), socket.socket() as listener:
                self.setUp()
                listener.bind(("127.0.0.1", 0))
                listener.listen(8)
                self.configure(fail_mode=mode,
                               api_url=f"http://127.0.0.1:{listener.getsockname()[1]}")
                result = self.login()
                self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error", r"nothing sent")
                self.assertLogged(result, "api_url.*https|https.*api_url")
                self.assertEqual(select.select([listener], [], [], 0.2)[0], [],
                                 "the module connected to the plain-HTTP URL")
                self.assertNothingSent()


class Single(FaultCase):
    def test_environment_proxies_are_ignored(self):
        proxies = {name: f"http://{CLOSED}" for name in (
            "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy")}
        with mock.patch.dict(os.environ, proxies, NO_PROXY="example.invalid",
                             no_proxy="example.invalid"):
            result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertSeen(OK)

    def test_answer_after_login_timeout(self):
        self.configure(login_timeout=10)
        result = self.login(answer=script(after(10.5, code())), limit=16)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "login_timeout", r"login_timeout")
        self.assertIn("The time for the code has run out.", result.errors)
        self.assertSeen("POST 200")  # a code typed too late is not checked
        self.assertGreaterEqual(result.elapsed, 10)  # the wait is the point here

    def test_fail_delay_slows_a_failure(self):
        self.configure(fail_delay=1500)
        result = self.login(user="carol", limit=5)
        self.assertIn("user=carol", self.assertOutcome(result, pc.PAM_AUTH_ERR,
                                                       "unenrolled_denied"))
        self.assertEqual(result.prompts, [])
        self.assertGreaterEqual(result.elapsed, 0.7)  # libpam randomises 1.5 s to 0.75-2.25 s
        self.assertNothingSent()

    def refused_send(self, result, limit, before):
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "send_limit", limit)
        self.assertEqual(len(self.new_requests()), before, "nothing sent past the limit")

    def test_user_send_limit(self):
        self.configure(user_send_limit="2/900")
        for _ in range(2):
            self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")
        result = self.login()
        self.refused_send(result, r"user_send_limit reached", 6)
        self.assertIn("Too many codes were sent recently; try again later.", result.errors)
        self.assertEqual(result.prompts, [])

    def test_source_send_limit_by_rhost(self):
        self.configure(source_send_limit="2/900")
        for user in ("frank", "grace"):
            self.assertOutcome(self.login(user=user, answer=script(code(PHONES[user])),
                                          rhost="198.51.100.7"), pc.PAM_SUCCESS, "verified")
        self.refused_send(self.login(rhost="198.51.100.7"), r"source_send_limit reached", 6)
        # Another source is not held back by that one.
        self.assertOutcome(self.login(rhost="198.51.100.8"), pc.PAM_SUCCESS, "verified")

    def test_phone_send_limit_counts_every_user_of_the_number(self):
        self.configure(phone_send_limit="2/3600")
        for user in ("ivy", "jack"):
            self.assertOutcome(self.login(user=user, answer=script(code(PHONES[user]))),
                               pc.PAM_SUCCESS, "verified")
        result = self.login(user="kate", answer=script(code(PHONES["kate"])))
        self.refused_send(result, r"phone_send_limit reached", 6)
        self.assertEqual(result.prompts, [])
        # Another number is not held back by that one.
        self.assertOutcome(self.login(user="frank", answer=script(code(PHONES["frank"]))),
                           pc.PAM_SUCCESS, "verified")

    def test_corrupt_counter_file(self):
        self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")
        counters = sorted((self.state_dir / "limits").glob("user-*"))
        self.assertEqual(len(counters), 1, f"one user counter: {counters!r}")
        counters[0].write_bytes(b"\x00garbage\xff\nnot a counter\n")
        result = self.login()
        self.refused_send(result, r"user_send_limit", 3)
        self.assertLogged(result, "send counter is damaged")

    def concurrent_logins(self, users):
        """One login per entry of `users`, all from RHOST, each in a process of its own, all
        released at once into pam_authenticate; each aborts at its prompt. Their outcomes."""
        env = dict(os.environ, VERIF8_FAULTS_PRELOAD=os.environ["LD_PRELOAD"])
        del env["LD_PRELOAD"]
        processes = []
        for number, user in enumerate(users):
            log = self.world.logs / f"concurrent-{number:02d}"
            # Through sh, so that each login's parent is not this interpreter: the module
            # keys a login on its process tree, and 20 sshd connections are 20 logins. sh runs
            # without the wrappers (each preloaded pam_wrapper takes one of its few /tmp/pam.X
            # directories); only the login process gets them back.
            command = ["/bin/sh", "-c", 'LD_PRELOAD="$VERIF8_FAULTS_PRELOAD" "$@"; exit $?',
                       "sh", sys.executable, os.path.abspath(__file__), str(self.world.module),
                       "--one-login", "faults", user, RHOST, f"{log}.log"]
            with open(f"{log}.stderr.log", "w") as stderr:
                processes.append(subprocess.Popen(command, stdin=subprocess.PIPE, env=env,
                                                  stdout=subprocess.PIPE, stderr=stderr,
                                                  text=True))
            # Started one after the other: pam_wrapper sets up its /tmp/pam.X directory as a
            # process starts and takes one still being set up by another for stale, so 20 at
            # once would break each other's. Each waits, ready, before pam_authenticate.
            self.assertEqual(processes[-1].stdout.readline().strip(), "ready", f"login {number}")
        for process in processes:  # all 20 go at once
            process.stdin.write("go\n")
            process.stdin.flush()
        # Logins that reach their prompt hold it (and their claim) until every login has
        # either reached its prompt ("prompt") or ended (its result), however slowly a loaded
        # machine runs them; then they abort (a write to an ended one is ignored).
        first = []
        for process in processes:
            self.assertTrue(select.select([process.stdout], [], [], 60)[0], "a login hangs")
            first.append(process.stdout.readline())
        outcomes = []
        for process, line in zip(processes, first):
            out = line + process.communicate("end\n", timeout=120)[0]
            self.assertEqual(process.returncode, 0, out)
            result = json.loads(out.strip().splitlines()[-1])
            self.assertIn(result["code"], (pc.PAM_AUTH_ERR, pc.PAM_CONV_ERR), result)
            self.assertLess(result["elapsed"], 30, result)
            outcomes.append(result["outcome"])
        posts = [r for r in self.new_requests() if r["method"] == "POST"]
        return len(posts), outcomes

    def test_20_concurrent_logins_from_one_source_send_5(self):
        self.configure(source_send_limit="5/900")
        posts, outcomes = self.concurrent_logins([f"load{n:02d}" for n in range(20)])
        self.assertEqual(posts, 5, f"source_send_limit=5/900 lets 5 sends out: {outcomes}")
        self.assertEqual(sorted(outcomes), ["conversation_failed"] * 5 + ["send_limit"] * 15)

    def test_20_concurrent_logins_of_one_number_keep_its_limit(self):
        # The number's one send of the window goes to one of its names; then twenty of them at
        # once: none is sent (each is refused by the limit, or by the login holding the number).
        self.configure(phone_send_limit="1/3600")
        self.assertOutcome(self.login(user="share19", answer=script(code(PHONES["share19"]))),
                           pc.PAM_SUCCESS, "verified")
        before = len([r for r in self.new_requests() if r["method"] == "POST"])
        posts, outcomes = self.concurrent_logins([f"share{n:02d}" for n in range(20)])
        self.assertEqual(posts - before, 0, f"phone_send_limit=1/3600 lets nothing more out: "
                                            f"{outcomes}")
        self.assertIn("send_limit", outcomes)
        self.assertLessEqual(set(outcomes), {"send_limit", "phone_busy"})

    def test_20_concurrent_logins_of_one_user_send_1(self):
        # The API has one pending session per number: one login holds it, the others are told
        # so before anything is sent (threat-model rule 4).
        posts, outcomes = self.concurrent_logins(["herb"] * 20)
        self.assertEqual(posts, 1, f"one send for one number: {outcomes}")
        self.assertEqual(sorted(outcomes), ["conversation_failed"] + ["phone_busy"] * 19)

    def test_three_hostile_answers_end_the_login_at_once_with_fail_delay_0(self):
        result = self.login(answer=script("%n%s%s%s", "x" * 4096, "\x1b]0;t\x07"), limit=0.7)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "too_many_wrong_codes")
        self.assertTrue(result.errors and "No attempts left." in result.errors[-1])
        self.assertSeen("POST 200")

    def test_16_digit_phone_not_enrolled(self):
        result = self.login(user="erin")
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "unenrolled_denied", r"bad enrolment")
        problem = [line for line in result.syslog() if "pam_verif8.users:" in line]
        self.assertEqual(len(problem), 1, "the bad line is reported with its number")
        self.assertRegex(problem[0], r"pam_verif8\.users:\d+: the phone number")
        self.assertNotIn(PHONES["erin"], result.log)
        self.assertNothingSent()

    def test_crlf_line_ends_accepted(self):
        users = self.world.work / "files" / "crlf.users"
        harness.write_secure(users, "".join(f"{line}\r\n" for _, line in USERS.values() if line),
                             mode=0o644)
        text = harness.config_text(SANDBOX, users, state_dir=self.state_dir, fail_delay=0)
        harness.write_secure(self.world.config, text.replace("\n", "\r\n"))
        self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")


WAIT = r"Wait \d+ more seconds? before asking for a new code\."
NOT_A_CODE = r"That is not a code: codes are 3 to 10 letters or digits\."


@suite.table(  # typed at the first prompt; the notice the second shows (None: no second)
    "name typed notice",
    ("empty_line_too_early", "", WAIT),
    ("spaces", "     \t ", WAIT),
    ("4_kb", "7" * 4096, NOT_A_CODE),
    ("control_characters", "12\x1b[2J34\x07\x7f56\r", NOT_A_CODE),
    ("non_ascii", "\uff11\uff12\uff13\uff14\uff15\uff16", NOT_A_CODE),  # full-width digits
    ("invalid_utf8", b"\xff\xfe1234".decode("utf-8", "surrogateescape"), NOT_A_CODE),
    ("format_string", "%n%s%s%s", NOT_A_CODE),
    ("null_reply", pc.NULL_REPLY, None),
    ("conversation_aborted", pc.ABORT, None))
class HostilePrompt(FaultCase):
    def check(self, typed, notice):
        result = self.login(answer=script(typed, code()))
        if notice is None:
            self.assertOutcome(result, pc.PAM_CONV_ERR, "conversation_failed")
            return self.assertSeen("POST 200")
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(len(result.prompts), 2)
        self.assertRegex(result.prompts[1], notice + r" 2 attempts left\.\nVerification code: $")
        self.assertSeen(OK)  # only the real code reached the API
        self.assertTrue(self.new_requests()[2]["codeMatched"])


def users_copy(case, name, mode=0o644, link=False):
    path = case.world.work / "files" / f"{name}.users"
    path.unlink(missing_ok=True)
    if link:
        path.symlink_to(case.world.users_file)
    else:
        harness.write_secure(path, case.world.users_file.read_text(), mode=mode)
    case.configure(users_file=str(path))


def padded_config(case):
    text = harness.config_text(SANDBOX, case.world.users_file, state_dir=case.state_dir)
    harness.write_secure(case.world.config, text + ("# padding\n" * 110_000))


def foreign_config(case):
    os.chown(case.world.config, 1, 0)
    case.addCleanup(os.chown, case.world.config, 0, 0)


@suite.table(  # set-up, service (None: the suite's), the problem logged
    "name setup service problem",
    ("1_mb_config_refused", padded_config, None, r"larger than 65536 bytes"),
    ("symlinked_users_file_refused", lambda case: users_copy(case, "link", link=True), None,
     r"symbolic link"),
    ("users_file_mode_0666_refused", lambda case: users_copy(case, "0666", 0o666), None,
     r"mode 0666"),
    ("config_owned_by_another_uid_refused", foreign_config, None, r"owned by uid 1"),
    ("unknown_bare_word_argument", None, "arg_bare_word", r"unknown argument 'frobnicate'"),
    ("relative_conf_argument", None, "arg_relative_conf", r"conf= must name an absolute"),
    ("bad_number_argument", None, "arg_code_length", r"code_length"),
    ("api_key_argument_refused", None, "arg_api_key",
     r"api_key is not accepted as a module argument"))
class HostileFiles(FaultCase):
    def check(self, setup, service, problem):
        if setup:
            setup(self)
        result = self.login(service=service)
        self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error")
        self.assertLogged(result, problem)
        self.assertNotIn(SANDBOX.api_key, result.log)
        self.assertNothingSent()


class Sessions(FaultCase):
    """No lockout after a failed login, no ride on another login's code, no fail-open for a
    code check (threat-model rules 1, 4, 5 and 7)."""

    def sent(self):
        return [d for d in self.new_deliveries() if d["destination"] == PHONES["alice"]]

    def child(self, *args):
        login = super().child(*args)
        self.assertRegex(login.next_prompt(), r"^Code sent by SMS")  # it reached the prompt
        return login

    def next_login_passes_after(self, play_first, code, outcome):
        """A first login (another process: another connection) that `play_first` ends at its
        prompt, then a second login of the same user."""
        self.configure(resend_interval=10)
        first = self.child()
        play_first(first)
        self.finish(first, code, outcome)
        ended = time.monotonic()
        second = self.login(limit=15)
        self.assertLess(time.monotonic() - ended, 10 + 2, "waited no longer than resend_interval")
        self.assertOutcome(second, pc.PAM_SUCCESS, "verified")
        self.assertRegex(second.prompts[0], r"^Code sent by SMS to ")
        codes = [d["code"] for d in self.sent()]
        self.assertEqual(len(codes), 2, "one SMS per login that reached the prompt")
        self.assertNotEqual(codes[0], codes[1], "the second login's code is new")
        posts = [r for r in self.new_requests() if r["method"] == "POST"]
        self.assertEqual(len(posts), 2)
        self.assertTrue(posts[1]["body"].get("resetSession"), posts[1]["body"])
        return second

    def test_after_three_wrong_codes_the_next_login_passes_with_a_new_code(self):
        def three_wrong(login):
            for number in range(3):
                if number:
                    login.next_prompt()
                login.answer(wrong())
        second = self.next_login_passes_after(three_wrong, pc.PAM_AUTH_ERR,
                                              "too_many_wrong_codes")
        self.assertTrue(any("a new one follows in" in info for info in second.infos),
                        second.infos)

    def test_after_a_closed_conversation_the_next_login_passes_with_a_new_code(self):
        self.next_login_passes_after(pc.LoginInChild.abort, pc.PAM_CONV_ERR,
                                     "conversation_failed")

    def test_a_second_host_cannot_ride_on_the_first_hosts_code(self):
        """Host 1 and host 2 share the 8x8 account, not their state. The API hands alice's
        pending session to host 2 once resend_interval has passed, and answers VERIFIED to any
        code once the session is verified."""
        host2_state = tempfile.mkdtemp(prefix="host2-", dir=self.world.work / "states")
        self.configure(path=self.world.dir / "host2.conf", state_dir=host2_state,
                       resend_interval=10)
        self.configure(resend_interval=10)
        host1 = self.child()
        code = last_code()
        # The API refuses a second initiator within the interval; after it, it hands over the
        # pending session. (Real time: the sandbox's clock controls would give the resend the
        # same expiry to the second, which no real resend can have.)
        time.sleep(10.5)
        attacker = self.child("alice", "faults_host2", "198.51.100.66")
        sent = self.sent()
        # It got there: both logins wait on the same session, and alice's code works on it.
        self.assertEqual(len({d["sessionId"] for d in sent}), 1, sent)
        self.assertEqual(sent[-1]["code"], code)
        # Alice types her code on host 1, which sees that someone else sent again: refused.
        host1.answer(code)
        self.finish(host1, pc.PAM_AUTH_ERR, "session_taken")
        # Another application of the account (its key, the API) verifies the session with the
        # right code...
        request = urllib.request.Request(
            f"{SANDBOX.url}/api/v2/subaccounts/{SANDBOX.subaccount}/sessions/"
            f"{sent[0]['sessionId']}?code={code}",
            headers={"Authorization": f"Bearer {SANDBOX.api_key}"})
        with urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context(
                cafile=SANDBOX.ca_file)) as answer:
            self.assertEqual(json.loads(answer.read())["status"], "VERIFIED")
        # ...and the attacker's wrong code on host 2 meets a VERIFIED session: refused, and the
        # code never even goes out.
        attacker.answer("000000" if code != "000000" else "111111")
        self.finish(attacker, pc.PAM_AUTH_ERR, "session_taken")
        checks = [r for r in self.new_requests() if r["method"] == "GET" and r["codePresent"]]
        self.assertEqual(len(checks), 1, "only the other application's check went out")

    def test_a_wrong_code_that_the_deadline_cuts_short_fails_in_open_mode(self):
        """fail_mode = open, and the code check is still running when login_timeout ends: the
        login's own deadline, not an outage. Never PAM_IGNORE for a typed code."""
        self.configure(fail_mode="open", login_timeout=10, request_timeout=10)
        result = self.login(answer=script(after(8.5, wrong, lambda: self.arm("validate hang"))),
                            limit=11.5)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "login_timeout", r"login_timeout")
        self.assertIn("The time for the code has run out.", result.errors)
        self.assertSeen("POST 200, READ 200, GET None")
        self.assertFalse(any("fail_mode=open: letting" in line for line in result.syslog()))


class Grace(FaultCase):
    """grace_period (issue 13): a verified code lets the same account in again, to the same
    service from the same address, without a code, for that long; a wrong code ends the
    account's grace everywhere; verif8ctl lists and ends it."""

    settings = {**FaultCase.settings, "user_send_limit": "50/900"}  # alice logs in often

    def verified(self, user="alice", **login):
        """A login that is asked for a code, gets one and passes."""
        result = self.login(user, answer=script(code(PHONES[user])), **login)
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertRegex(result.prompts[0], r"^Code sent by SMS")
        return result

    def graced(self, user="alice", **login):
        """A login let in by grace: PAM_IGNORE, no prompt, nothing sent."""
        before = len(self.world.sandbox.requests())
        result = self.login(user, answer=script(), **login)
        self.assertOutcome(result, pc.PAM_IGNORE, "grace",
                           r"^code verified \d+ s ago for this service from this address$")
        self.assertEqual(result.prompts, [])
        self.assertEqual(len(self.world.sandbox.requests()), before, "nothing sent")
        return result

    def test_grace_holds_for_its_account_service_and_address_only(self):
        self.configure(grace_period=4)
        first = time.monotonic()
        self.verified()
        self.graced()
        self.verified(rhost="198.51.100.9")  # another address
        self.graced(rhost="198.51.100.9")  # which now has its own
        self.verified(service="faults_other")  # another service
        self.verified("frank")  # another account
        self.verified(rhost=None)  # a local login never gets grace...
        self.verified(rhost=None)  # ...nor gives it
        self.verified(rhost="host.example.com")  # nor a login from a host name
        self.verified(rhost="host.example.com")
        time.sleep(max(0.0, first + 4.5 - time.monotonic()))
        self.verified()  # the window has passed: a code again

    def test_a_wrong_code_ends_the_accounts_grace_everywhere(self):
        self.configure(grace_period=600)
        self.verified()
        self.verified(service="faults_other")
        self.verified("frank")
        self.graced(service="faults_other")
        # Someone with alice's password, elsewhere, types a wrong code before the right one.
        result = self.login(rhost="198.51.100.66", answer=script(wrong, code()))
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(len([r for r in self.new_requests() if r["codePresent"]]), 5)
        self.verified()  # grace ended for every service and address of alice
        self.verified(service="faults_other")
        self.graced(rhost="198.51.100.66")  # the address whose code verified in the end
        self.graced("frank")  # another account keeps its own

    def tool(self, *args):
        return subprocess.run([str(self.world.module.parent / "verif8ctl"), "--conf",
                               str(self.world.config), "grace", *args], capture_output=True,
                              text=True, timeout=30)

    def test_verif8ctl_lists_and_ends_grace(self):
        self.configure(grace_period=600)
        self.verified()
        self.verified("frank")
        listed = self.tool("list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertRegex(listed.stdout, rf"(?m)^alice +faults +{re.escape(RHOST)} +\S+Z +\d+s$")
        self.assertRegex(listed.stdout, rf"(?m)^frank +faults +{re.escape(RHOST)} ")
        only = self.tool("list", "alice")
        self.assertIn("alice", only.stdout)
        self.assertNotIn("frank", only.stdout)
        self.assertEqual(self.tool("clear").returncode, 2, "clear needs USER or --all")
        cleared = self.tool("clear", "alice")
        self.assertEqual(cleared.returncode, 0, cleared.stderr)
        self.assertIn("alice: grace ended", cleared.stdout)
        self.verified()  # asked again
        self.graced("frank")
        everyone = self.tool("clear", "--all")
        self.assertEqual(everyone.returncode, 0, everyone.stderr)
        self.assertIn("ended every grace (2 records)", everyone.stdout)
        self.assertIn("no login has grace now", self.tool("list").stdout)
        self.verified("frank")


class ZzSecrets(suite.SecretScan):
    minimum_logs, minimum_codes = 5, 5  # raised to the run's part in wrapped_main


# Each part ends with the secrets scan of what it wrote; about 80 and 65 s each. The minima are
# a little under what each part writes (184 logs and 98 codes; 7 and 8), so that a scan of a run
# that captured nothing fails.
PARTS = {"calls": ([Network, Single, HostilePrompt, HostileFiles, Grace], (150, 80)),
         "sessions": ([NetworkAtTheCode, Sessions], (5, 6))}


def one_login(service, user, rhost, log_path):
    """--one-login: one login that says "ready" before pam_authenticate and "prompt" at its
    prompt, each time waiting for a line, then aborts; prints its code and outcome as JSON."""
    def wait(word):
        print(word, flush=True)
        sys.stdin.readline()
    result = pc.authenticate(service, user, lambda prompt: wait("prompt") or pc.ABORT,
                             rhost=rhost, log_path=log_path, before=lambda: wait("ready"))
    match = re.search(r"outcome=(\S+)", "\n".join(result.syslog()))
    print(json.dumps({"code": result.module_code, "outcome": match and match.group(1),
                      "elapsed": result.elapsed}))
    return 0


def write_services(world, module, config, api_key):
    world.service("faults", module, f"conf={config}")
    world.service("faults_other", module, f"conf={config}")  # another service, the same host
    # A second host on the same 8x8 account: its own config and state_dir, the same sandbox.
    world.service("faults_host2", module, f"conf={config.parent / 'host2.conf'}")
    world.service("arg_relative_conf", module, "conf=relative/pam_verif8.conf")
    for name, argument in (("arg_bare_word", "frobnicate"), ("arg_code_length", "code_length=abc"),
                           ("arg_api_key", f"api_key={api_key}")):
        world.service(name, module, f"conf={config} {argument}")


def wrapped_main(world):
    """The second run: under pam_wrapper, with the sandbox already up."""
    global SANDBOX, CLOSED
    SANDBOX = world.sandbox
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound and never listening: refused
        CLOSED = f"127.0.0.1:{closed.getsockname()[1]}"
        parts = [sys.argv[2]] if len(sys.argv) == 3 else list(PARTS)
        classes = [case for part in parts for case in PARTS[part][0]]
        ZzSecrets.minimum_logs, ZzSecrets.minimum_codes = (
            sum(PARTS[part][1][index] for part in parts) for index in (0, 1))
        return 0 if tap.run([*classes, ZzSecrets]) else 1


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if len(sys.argv) == 7 and sys.argv[2] == "--one-login":
        return one_login(*sys.argv[3:7])
    if len(sys.argv) == 3 and sys.argv[2] not in PARTS:
        print(f"unknown part {sys.argv[2]}; the parts: {', '.join(PARTS)}", file=sys.stderr)
        return 2
    return suite.main("faults", wrapped_main, write_services, users=USERS,
                      sandbox_args=["--tls-faults"])


if __name__ == "__main__":
    sys.exit(main())
