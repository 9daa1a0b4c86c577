#!/usr/bin/python3
"""The fault table: every failure of the network and the API, and hostile input, through the
built module and real libpam (pam_wrapper + nss_wrapper, driven from Python by
tests/harness/pam_client.py), against verif8-sandbox with --tls-faults. For each row: the PAM
code, a bound on the time it took, the `outcome=` log line and its reason, and what the sandbox
received. Every network and API row runs with fail_mode=closed and with fail_mode=open: only the
"unreachable" rows may differ. Prints TAP.

usage: run_fault_tests.py MODULE_SO

The script runs itself twice: the first run builds the wrapper world (service files must exist
before pam_wrapper loads, since it copies them once), starts the sandbox, and runs the second
with LD_PRELOAD and the wrapper's variables set; the second runs the tests. For the concurrency
row, the second run also starts copies of itself that each do one login (--one-login)."""

import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import pam_client as pc  # noqa: E402
import secret_scan  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from login_suite import Code, Wrong, after, last_code, script  # noqa: E402

USERS = {
    "alice": (2001, "alice +6591234567 sms,voice"),
    "bob": (2002, "bob +6598765432 voice"),
    "carol": (2003, None),
    "dave": (2004, "dave +6587654321 whatsapp"),
    # + and 16 digits: one too many; erin is not enrolled, and the line is reported.
    "erin": (2005, "erin +6512345678901234 sms"),
    "frank": (2006, "frank +6591110001 sms"),
    "grace": (2007, "grace +6591110002 sms"),
    "herb": (2008, "herb +6591110003 sms"),
}
# Twenty users with a number each, for concurrent logins that share only their source.
USERS.update({f"load{n:02d}": (2100 + n, f"load{n:02d} +659222{n:04d} sms") for n in range(20)})
PHONES = {name: line.split()[1] for name, (_, line) in USERS.items() if line}
RHOST = "203.0.113.9"

# Module arguments of the hostile-argument services (the config path is added in front).
ARGUMENT_SERVICES = {
    "arg_bare_word": "frobnicate",
    "arg_relative_conf": None,  # conf=relative/pam_verif8.conf instead of the real one
    "arg_code_length": "code_length=abc",
    "arg_api_key": "api_key={key}",
}

# Filled in by main() in the wrapped run.
MODULE = None
WORK = None
WORLD_DIR = None
SANDBOX = None
CONFIG = None  # the config file every "faults" service reads; rewritten per test
LOG_DIR = None
CLOSED_PORT_SOCKET = None  # bound, never listening: connecting to it is refused


def closed_port():
    return CLOSED_PORT_SOCKET.getsockname()[1]


def closed_url():
    return f"https://127.0.0.1:{closed_port()}"


def users_file():
    return WORLD_DIR / "pam_verif8.users"


# --------------------------------------------------------------------------------------------
# The test base

class FaultCase(suite.LoginCase):
    """Each test: the login_suite base with the "faults" service, logins from RHOST, and short
    timeouts."""

    service = "faults"
    rhost = RHOST
    settings = {"fail_delay": "0", "connect_timeout": "2", "request_timeout": "3"}

    def arm(self, route, kind, **params):
        query = "&".join([f"route={route}", f"kind={kind}"] +
                         [f"{name}={value}" for name, value in params.items()])
        return SANDBOX.control("fault", "?" + query)

    def assertUnreachable(self, result, mode, reason):
        """closed: PAM_AUTHINFO_UNAVAIL and the user is told; open: PAM_IGNORE with a warning."""
        if mode == "closed":
            self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "unreachable", reason)
            self.assertIn("The verification service cannot be reached.", result.errors)
            self.assertFalse(any("fail_mode=open" in line for line in result.syslog()))
        else:
            self.assertOutcome(result, pc.PAM_IGNORE, "unreachable_fail_open", reason)
            warnings = [line for line in result.log.splitlines()
                        if "SYSLOG(4)" in line and "fail_mode=open" in line]
            self.assertEqual(len(warnings), 1, "one warning line naming fail_mode=open")

    def assertFast(self, result, limit):
        self.assertLess(result.elapsed, limit, f"took {result.elapsed:.2f} s")

    def assertNeverSuccess(self, result):
        self.assertNotEqual(result.code, pc.PAM_SUCCESS)


def both_modes(cls):
    """For each method `row_NAME(self, mode)`, tests NAME_fail_closed and NAME_fail_open."""
    for attribute in list(vars(cls)):
        if not attribute.startswith("row_"):
            continue
        row = getattr(cls, attribute)
        for mode in ("closed", "open"):
            def test(self, row=row, mode=mode):
                self.configure(**self.mode_settings(mode))
                row(self, mode)
            test.__doc__ = row.__doc__
            setattr(cls, f"test_{attribute[4:]}_fail_{mode}", test)
    return cls


class BothModes(FaultCase):
    def mode_settings(self, mode, **extra):
        settings = dict(fail_mode=mode)
        settings.update(extra)
        return settings

    def reconfigure(self, mode, **overrides):
        self.configure(fail_mode=mode, **overrides)


# --------------------------------------------------------------------------------------------
# Unreachable: the only class fail_mode relaxes

@both_modes
class Unreachable(BothModes):
    def row_connection_refused(self, mode):
        self.reconfigure(mode, api_url=closed_url())
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)connect")
        self.assertFast(result, 3)
        self.assertNothingSent()

    def row_connect_black_hole(self, mode):
        self.assertIsNotNone(SANDBOX.info.get("blackhole"), "the sandbox offers no blackhole")
        self.reconfigure(mode, api_url=SANDBOX.info["blackhole"], connect_timeout=2)
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)time(d)? ?out")
        self.assertFast(result, 4.5)  # connect_timeout=2 decides within about 2.5 s
        self.assertNothingSent()

    def row_no_answer_after_the_request(self, mode):
        self.reconfigure(mode, request_timeout=2)
        self.arm("initiate", "hang")
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)time(d)? ?out")
        self.assertFast(result, 4.5)
        self.assertEqual(self.seen(), [("POST", None)])

    def row_no_answer_to_the_validate(self, mode):
        self.reconfigure(mode, request_timeout=2)
        def hang_then_code(prompt):
            self.arm("validate", "hang")
            return last_code()
        result = self.login(answer=script(hang_then_code))
        # A code check never fails open (threat-model rule 7): closed in both modes, and open
        # mode says why it did not apply.
        self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "unreachable", r"(?i)time(d)? ?out")
        self.assertIn("The verification service cannot be reached.", result.errors)
        applied = any("fail_mode=open applies only" in line for line in result.syslog())
        self.assertEqual(applied, mode == "open")
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", None)])
        self.assertFast(result, 4.5)

    def _server_error(self, mode, status, requests, **params):
        self.arm("initiate", "status", status=status, times=2, **params)
        result = self.login()
        self.assertUnreachable(result, mode, rf"HTTP {status}")
        self.assertEqual(self.seen(), [("POST", status)] * requests)
        self.assertFast(result, 4)
        return result

    def row_http_500(self, mode):
        self._server_error(mode, 500, 2)  # retried once, as the API's error table advises

    def row_http_502_retried_once(self, mode):
        self._server_error(mode, 502, 2)

    def row_http_503_retried_once(self, mode):
        self._server_error(mode, 503, 2, body="html")

    def row_http_504_retried_once(self, mode):
        self._server_error(mode, 504, 2)

    def row_http_503_once_then_success(self, mode):
        self.arm("initiate", "status", status=503, times=1)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 503), ("POST", 200), ("READ", 200), ("GET", 200)])

    def row_reset_mid_body(self, mode):
        self.arm("initiate", "reset")
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)recv|receiv|reset|partial|transfer")
        self.assertEqual(self.seen(), [("POST", 200)])
        self.assertFast(result, 4)

    def row_trickle_slower_than_request_timeout(self, mode):
        self.reconfigure(mode, request_timeout=2)
        # About 400 bytes, one every 100 ms: 40 s for the answer, 2 s allowed.
        self.arm("initiate", "trickle", interval_ms=100)
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)time(d)? ?out")
        self.assertFast(result, 4.5)
        self.assertEqual(self.seen(), [("POST", 200)])

    def row_proxy_from_config_refused(self, mode):
        self.reconfigure(mode, https_proxy=f"http://127.0.0.1:{closed_port()}")
        result = self.login()
        self.assertUnreachable(result, mode, r"(?i)connect|proxy")
        self.assertNothingSent()

    def row_first_url_refused_second_answers(self, mode):
        self.reconfigure(mode, api_url=f"{closed_url()} {SANDBOX.url}")
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertFast(result, 3)

    def row_first_url_black_hole_second_answers(self, mode):
        self.assertIsNotNone(SANDBOX.info.get("blackhole"), "the sandbox offers no blackhole")
        self.reconfigure(mode, api_url=f"{SANDBOX.info['blackhole']} {SANDBOX.url}",
                         connect_timeout=2)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertFast(result, 5)  # one connect timeout, then the second URL


# --------------------------------------------------------------------------------------------
# Rate limits and API errors: the same code whatever fail_mode says

@both_modes
class ApiErrors(BothModes):
    def row_429_retry_after_1_then_success(self, mode):
        self.arm("initiate", "status", status=429, retry_after=1, times=1)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 429), ("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertFast(result, 5)

    def row_429_past_the_budget(self, mode):
        # The module waits out 429s while login_timeout allows; 100 of them outlast 10 s.
        self.reconfigure(mode, login_timeout="10")
        self.arm("initiate", "status", status=429, retry_after=1, times=100)
        result = self.login(limit=12)
        self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "rate_limited", r"429")
        self.assertIn("Too many verification requests; try again later.", result.errors)
        seen = self.seen()
        self.assertGreaterEqual(len(seen), 2, "Retry-After is honoured at least once")
        self.assertTrue(all(item == ("POST", 429) for item in seen), seen)
        self.assertFast(result, 12)

    def row_429_without_retry_after(self, mode):
        self.arm("initiate", "status", status=429, times=1)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 429), ("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertFast(result, 8)

    def row_401_1200_bad_key(self, mode):
        self.arm("initiate", "status", status=401, code=1200)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SERVICE_ERR, "credentials_rejected", r"401.*1200")
        self.assertEqual(self.seen(), [("POST", 401)])

    def row_400_1001_wrong_subaccount(self, mode):
        self.arm("initiate", "status", status=400, code=1001)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SERVICE_ERR, "credentials_rejected", r"400.*1001")
        self.assertEqual(self.seen(), [("POST", 400)])

    def row_400_1002_invalid_phone(self, mode):
        self.arm("initiate", "status", status=400, code=1002)
        result = self.login()
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "invalid_phone", r"400.*1002")
        self.assertEqual(self.seen(), [("POST", 400)])

    def row_426_1014_old_tls(self, mode):
        self.arm("initiate", "status", status=426, code=1014)
        result = self.login()
        self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error", r"426.*1014")
        self.assertEqual(self.seen(), [("POST", 426)])

    def row_404_1404_on_validate(self, mode):
        self.arm("validate", "status", status=404, code=1404)
        result = self.login()
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "session_expired", r"404")
        self.assertIn("The code has expired.", result.errors)
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 404)])


class ResendRefused(FaultCase):
    """403/1400 on a resend the module itself allows (resend_interval passed): the user is told
    to wait, the attempt is spent, and the login goes on. resend_interval cannot go below 10 s,
    so the user waits 10.5 s; once per mode."""

    def _row(self, mode):
        self.configure(fail_mode=mode, resend_interval=10)

        def refuse_next_send():
            self.arm("initiate", "status", status=403, code=1400)
        result = self.login(answer=script(after(10.5, "", refuse_next_send), Code()), limit=16)
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(len(result.prompts), 2)
        self.assertIn("Wait a little before asking for a new code. 2 attempts left.\n"
                      "Verification code: ", result.prompts[1])
        self.assertEqual(self.seen(), [("POST", 200), ("POST", 403), ("READ", 200), ("GET", 200)])
        self.assertEqual(self.new_requests()[1]["errorCode"], 1400)
        self.assertLess(result.elapsed, 16)

    def test_403_1400_on_resend_fail_closed(self):
        self._row("closed")

    def test_403_1400_on_resend_fail_open(self):
        self._row("open")


# --------------------------------------------------------------------------------------------
# Bad answers: never success, PAM_AUTHINFO_UNAVAIL whatever fail_mode says

@both_modes
class BadAnswers(BothModes):
    def _bad(self, mode, route, kind, reason, **params):
        self.arm(route, kind, **params)
        result = self.login()
        self.assertNeverSuccess(result)
        self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, "bad_response", reason)
        expected = [("POST", 200)] if route == "initiate" else [("POST", 200), ("READ", 200),
                                                                ("GET", 200)]
        if kind == "redirect":
            expected[-1] = (expected[-1][0], 302)
        self.assertEqual(self.seen(), expected)
        self.assertFast(result, 4)
        return result

    def row_malformed_json_on_initiate(self, mode):
        self._bad(mode, "initiate", "malformed", r"200 without a well-formed session")

    def row_malformed_json_on_validate(self, mode):
        self._bad(mode, "validate", "malformed", r"200 without a well-formed session")

    def row_truncated_json_on_initiate(self, mode):
        self._bad(mode, "initiate", "truncated", r"200 without a well-formed session")

    def row_truncated_json_on_validate(self, mode):
        self._bad(mode, "validate", "truncated", r"200 without a well-formed session")

    def row_huge_verified_body_on_validate(self, mode):
        self._bad(mode, "validate", "huge", r"larger than \d+ bytes")

    def row_wrong_types_on_initiate(self, mode):
        self._bad(mode, "initiate", "wrong_types", r"200 without a well-formed session")

    def row_wrong_types_on_validate(self, mode):
        self._bad(mode, "validate", "wrong_types", r"200 without a well-formed session")

    def row_missing_fields_on_initiate(self, mode):
        self._bad(mode, "initiate", "missing_fields", r"200 without a well-formed session")

    def row_missing_fields_on_validate(self, mode):
        self._bad(mode, "validate", "missing_fields", r"200 without a well-formed session")

    def row_verified_for_another_session(self, mode):
        # The right code was typed and the real session is VERIFIED at the sandbox, but the
        # answer names another session: one login is one session.
        self._bad(mode, "validate", "other_session", r"another session")
        self.assertTrue(self.new_requests()[2]["codeMatched"])

    def row_unknown_status_on_validate(self, mode):
        self._bad(mode, "validate", "unknown_status", r"200 without a well-formed session")

    def row_unknown_status_on_initiate(self, mode):
        self._bad(mode, "initiate", "unknown_status", r"200 without a well-formed session")

    def row_redirect_not_followed(self, mode):
        self._bad(mode, "validate", "redirect", r"302.*redirects are not followed")

    def row_verified_answer_to_a_new_send(self, mode):
        # VERIFIED before any code was typed: never success.
        self._bad(mode, "initiate", "verified", r"VERIFIED")

    def row_forged_verified_after_a_wrong_code_is_refused(self, mode):
        """A `verified` answer for the login's own session after a wrong code. The sandbox
        counted the wrong code (attempt 1) and the forged answer carries that count: a code
        that verifies leaves the count as it was, so the module refuses it. (A forgery that
        also kept the count could not be told from a real answer: it comes over verified TLS
        from the configured host, and nothing in it is tied to the code.)"""
        self.arm("validate", "verified")
        result = self.login(answer=script(Wrong()))
        self.assertNeverSuccess(result)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "session_taken", r"wrong-code count is 1")
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertIs(self.new_requests()[2]["codeMatched"], False)


# --------------------------------------------------------------------------------------------
# Transport security: fails closed whatever fail_mode says, and nothing reaches the API

@both_modes
class Transport(BothModes):
    def _tls(self, mode, name, reason, outcome="certificate_invalid"):
        url = (SANDBOX.info.get("tls_faults") or {}).get(name)
        self.assertIsNotNone(url, f"the sandbox offers no {name} listener")
        self.reconfigure(mode, api_url=url)
        result = self.login()
        self.assertOutcome(result, pc.PAM_AUTHINFO_UNAVAIL, outcome, reason)
        self.assertNotEqual(result.module_code, pc.PAM_IGNORE)
        self.assertNothingSent()
        self.assertFast(result, 4)

    def row_certificate_from_unknown_ca(self, mode):
        self._tls(mode, "untrusted", r"(?i)certificate|issuer")

    def row_certificate_for_another_host(self, mode):
        self._tls(mode, "wrong_host", r"(?i)name|host")

    def row_expired_certificate(self, mode):
        self._tls(mode, "expired", r"(?i)expired")

    def row_tls_1_1_only_server(self, mode):
        self._tls(mode, "tls11", r"(?i)SSL|TLS|protocol|version", outcome="tls_failed")

    def row_plain_http_api_url(self, mode):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        try:
            port = listener.getsockname()[1]
            self.reconfigure(mode, api_url=f"http://127.0.0.1:{port}")
            result = self.login()
            self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error", r"nothing sent")
            self.assertTrue(any("api_url" in line and "https" in line
                                for line in result.syslog()), "a line names api_url")
            ready, _, _ = select.select([listener], [], [], 0.2)
            self.assertEqual(ready, [], "the module connected to the plain-HTTP URL")
        finally:
            listener.close()
        self.assertNothingSent()


class Proxies(FaultCase):
    def test_environment_proxies_are_ignored(self):
        names = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY",
                 "http_proxy")
        saved = {name: os.environ.get(name) for name in (*names, "NO_PROXY", "no_proxy")}
        proxy = f"http://127.0.0.1:{closed_port()}"
        try:
            for name in names:
                os.environ[name] = proxy
            os.environ["NO_PROXY"] = os.environ["no_proxy"] = "example.invalid"
            result = self.login()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 200)])


# --------------------------------------------------------------------------------------------
# Time budget and failure delay

class Timing(FaultCase):
    def test_answer_after_login_timeout(self):
        self.configure(login_timeout=10)
        result = self.login(answer=script(after(10.5, Code())), limit=16)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "login_timeout", r"login_timeout")
        self.assertIn("The time for the code has run out.", result.errors)
        self.assertEqual(self.seen(), [("POST", 200)], "a code typed too late is not checked")
        self.assertGreaterEqual(result.elapsed, 10)  # the wait is the point here
        self.assertLess(result.elapsed, 16)

    def test_fail_delay_slows_a_failure(self):
        self.configure(fail_delay=1500)
        result = self.login(user="carol")
        self.assertIn("user=carol", self.assertOutcome(result, pc.PAM_AUTH_ERR,
                                                       "unenrolled_denied"))
        self.assertEqual(result.prompts, [])
        self.assertGreaterEqual(result.elapsed, 0.7)  # libpam randomises 1.5 s to 0.75-2.25 s
        self.assertLess(result.elapsed, 5)
        self.assertNothingSent()

    def test_fail_delay_0_fails_at_once(self):
        self.configure(fail_delay=0)
        result = self.login(answer=script(Wrong(), Wrong(), Wrong()))
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "too_many_wrong_codes")
        self.assertLess(result.elapsed, 0.7)


# --------------------------------------------------------------------------------------------
# Send limits

class SendLimits(FaultCase):
    def test_user_send_limit(self):
        self.configure(user_send_limit="2/900")
        for _ in range(2):
            self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")
        before = len(self.new_requests())
        result = self.login()
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "send_limit", r"user_send_limit reached")
        self.assertIn("Too many codes were sent recently; try again later.", result.errors)
        self.assertEqual(result.prompts, [])
        self.assertEqual(len(self.new_requests()), before, "nothing sent past the limit")

    def test_source_send_limit_by_rhost(self):
        self.configure(source_send_limit="2/900")
        for user in ("frank", "grace"):
            self.assertOutcome(self.login(user=user, answer=script(Code(PHONES[user])),
                                          rhost="198.51.100.7"), pc.PAM_SUCCESS, "verified")
        before = len(self.new_requests())
        result = self.login(rhost="198.51.100.7")
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "send_limit", r"source_send_limit reached")
        self.assertEqual(len(self.new_requests()), before)
        # Another source is not held back by that one.
        self.assertOutcome(self.login(rhost="198.51.100.8"), pc.PAM_SUCCESS, "verified")

    def test_corrupt_counter_file(self):
        self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")
        counters = sorted((self.state_dir / "limits").glob("user-*"))
        self.assertEqual(len(counters), 1, f"one user counter: {counters!r}")
        counters[0].write_bytes(b"\x00garbage\xff\nnot a counter\n")
        before = len(self.new_requests())
        result = self.login()
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "send_limit", r"user_send_limit")
        self.assertTrue(any("send counter is damaged" in line for line in result.syslog()),
                        "the damage is logged")
        self.assertEqual(len(self.new_requests()), before, "a damaged counter lets nothing out")

    def _concurrent_logins(self, users):
        """One login per entry of `users`, all from RHOST, each in a process of its own, all
        released at once into pam_authenticate; each aborts at its prompt. Their results."""
        processes = []
        env = dict(os.environ)
        env["VERIF8_FAULTS_PRELOAD"] = env.pop("LD_PRELOAD")
        for number, user in enumerate(users):
            log = LOG_DIR / f"concurrent-{number:02d}.log"
            # Through sh, so that each login's parent is not this interpreter: the module
            # keys a login on its process tree, and 20 sshd connections are 20 logins. sh runs
            # without the wrappers (each preloaded pam_wrapper takes one of its few /tmp/pam.X
            # directories); only the login process gets them back.
            command = ["/bin/sh", "-c", 'LD_PRELOAD="$VERIF8_FAULTS_PRELOAD" "$@"; exit $?',
                       "sh", sys.executable, str(Path(__file__).resolve()), str(MODULE),
                       "--one-login", "faults", user, RHOST, str(log)]
            stderr = open(LOG_DIR / f"concurrent-{number:02d}.stderr.log", "w")
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=stderr, text=True, env=env)
            stderr.close()
            # Started one after the other: pam_wrapper sets up its /tmp/pam.X directory as a
            # process starts and takes one still being set up by another for stale, so 20 at
            # once would break each other's. Each waits, ready, before pam_authenticate.
            self.assertEqual(process.stdout.readline().strip(), "ready", f"login {number}")
            processes.append(process)
        for process in processes:  # all 20 go at once
            process.stdin.write("go\n")
            process.stdin.flush()
        # Logins that reach their prompt hold it (and their claim) until every login has
        # either reached its prompt or ended, however slowly a loaded machine runs them.
        waiting, outputs = {}, {}
        deadline = time.monotonic() + 60
        while len(waiting) + len(outputs) < len(processes) and time.monotonic() < deadline:
            open_pipes = [p.stdout for p in processes if p not in waiting and p not in outputs]
            ready, _, _ = select.select(open_pipes, [], [], 1)
            for pipe in ready:
                process = next(p for p in processes if p.stdout is pipe)
                line = pipe.readline()
                if line.strip() == "prompt":
                    waiting[process] = True
                else:
                    outputs[process] = line + pipe.read()
        for process in waiting:
            process.stdin.write("end\n")
            process.stdin.flush()
        results = []
        for process in processes:
            out, _ = process.communicate(timeout=120)
            self.assertEqual(process.returncode, 0, out)
            out = outputs.get(process, "") + out
            results.append(json.loads(out.strip().splitlines()[-1]))
        for r in results:
            self.assertIn(r["code"], (pc.PAM_AUTH_ERR, pc.PAM_CONV_ERR), r)
            self.assertLess(r["elapsed"], 30, r)
        return results

    def test_20_concurrent_logins_from_one_source_send_5(self):
        self.configure(source_send_limit="5/900")
        results = self._concurrent_logins([f"load{n:02d}" for n in range(20)])
        posts = [r for r in self.new_requests() if r["method"] == "POST"]
        self.assertEqual(len(posts), 5, f"source_send_limit=5/900 lets 5 sends out: {results!r}")
        outcomes = [r["outcome"] for r in results]
        self.assertEqual(outcomes.count("send_limit"), 15, outcomes)
        self.assertEqual(outcomes.count("conversation_failed"), 5, outcomes)

    def test_20_concurrent_logins_of_one_user_send_1(self):
        # The API has one pending session per number: one login holds it, the others are told
        # so before anything is sent (threat-model rule 4).
        results = self._concurrent_logins(["herb"] * 20)
        posts = [r for r in self.new_requests() if r["method"] == "POST"]
        self.assertEqual(len(posts), 1, f"one send for one number: {results!r}")
        outcomes = [r["outcome"] for r in results]
        self.assertEqual(outcomes.count("phone_busy"), 19, outcomes)
        self.assertEqual(outcomes.count("conversation_failed"), 1, outcomes)


# --------------------------------------------------------------------------------------------
# Hostile input at the prompt

class HostilePrompt(FaultCase):
    def _hostile(self, typed, notice):
        result = self.login(answer=script(typed, Code()))
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertEqual(len(result.prompts), 2)
        self.assertRegex(result.prompts[1], notice + r" 2 attempts left\.\nVerification code: $")
        # Only the real code reached the API.
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", 200)])
        self.assertTrue(self.new_requests()[2]["codeMatched"])

    WAIT = r"Wait \d+ more seconds? before asking for a new code\."
    NOT_A_CODE = r"That is not a code: codes are 3 to 10 letters or digits\."

    def test_empty_line_too_early(self):
        self._hostile("", self.WAIT)

    def test_spaces(self):
        self._hostile("     \t ", self.WAIT)

    def test_4_kb(self):
        self._hostile("7" * 4096, self.NOT_A_CODE)

    def test_control_characters(self):
        self._hostile("12\x1b[2J34\x07\x7f56\r", self.NOT_A_CODE)

    def test_non_ascii(self):
        self._hostile("\uff11\uff12\uff13\uff14\uff15\uff16", self.NOT_A_CODE)  # full-width

    def test_invalid_utf8(self):
        self._hostile(b"\xff\xfe1234".decode("utf-8", "surrogateescape"), self.NOT_A_CODE)

    def test_format_string(self):
        self._hostile("%n%s%s%s", self.NOT_A_CODE)

    def test_three_hostile_answers_end_the_login(self):
        result = self.login(answer=script("%n%s%s%s", "x" * 4096, "\x1b]0;t\x07"))
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "too_many_wrong_codes")
        self.assertTrue(result.errors and "No attempts left." in result.errors[-1])
        self.assertEqual(self.seen(), [("POST", 200)])

    def test_null_reply(self):
        result = self.login(answer=script(pc.NULL_REPLY))
        self.assertOutcome(result, pc.PAM_CONV_ERR, "conversation_failed")
        self.assertEqual(self.seen(), [("POST", 200)])

    def test_conversation_aborted(self):
        result = self.login(answer=script(pc.ABORT))
        self.assertOutcome(result, pc.PAM_CONV_ERR, "conversation_failed")
        self.assertEqual(self.seen(), [("POST", 200)])


# --------------------------------------------------------------------------------------------
# Hostile config, users file and module arguments

class HostileFiles(FaultCase):
    def refused(self, result, problem, code=pc.PAM_SERVICE_ERR, outcome="config_error"):
        self.assertOutcome(result, code, outcome)
        self.assertLogged(result, problem)
        self.assertNothingSent()

    def test_crlf_line_ends_accepted(self):
        users = WORK / "files" / "crlf.users"
        harness.write_secure(users, "".join(f"{line}\r\n" for _, line in USERS.values() if line),
                             mode=0o644)
        text = harness.config_text(SANDBOX, users, state_dir=self.state_dir, fail_delay=0)
        harness.write_secure(CONFIG, text.replace("\n", "\r\n"))
        self.assertOutcome(self.login(), pc.PAM_SUCCESS, "verified")

    def test_1_mb_config_refused(self):
        text = harness.config_text(SANDBOX, users_file(), state_dir=self.state_dir)
        harness.write_secure(CONFIG, text + ("# padding\n" * 110_000))
        self.refused(self.login(), r"larger than 65536 bytes")

    def test_symlinked_users_file_refused(self):
        link = WORK / "files" / "link.users"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(users_file())
        self.configure(users_file=str(link))
        self.refused(self.login(), r"symbolic link")

    def test_users_file_mode_0666_refused(self):
        users = WORK / "files" / "0666.users"
        harness.write_secure(users, users_file().read_text(), mode=0o666)
        self.configure(users_file=str(users))
        self.refused(self.login(), r"mode 0666")

    def test_config_owned_by_another_uid_refused(self):
        self.configure()
        os.chown(CONFIG, 1, 0)
        try:
            self.refused(self.login(), r"owned by uid 1")
        finally:
            os.chown(CONFIG, 0, 0)

    def test_16_digit_phone_not_enrolled(self):
        result = self.login(user="erin")
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "unenrolled_denied", r"bad enrolment")
        problem = [line for line in result.syslog() if "pam_verif8.users:" in line]
        self.assertEqual(len(problem), 1, "the bad line is reported with its number")
        self.assertRegex(problem[0], r"pam_verif8\.users:\d+: the phone number")
        self.assertNotIn(PHONES["erin"], result.log)
        self.assertNothingSent()

    def test_unknown_bare_word_argument(self):
        self.refused(self.login(service="arg_bare_word"), r"unknown argument 'frobnicate'")

    def test_relative_conf_argument(self):
        self.refused(self.login(service="arg_relative_conf"), r"conf= must name an absolute")

    def test_bad_number_argument(self):
        self.refused(self.login(service="arg_code_length"), r"code_length")

    def test_api_key_argument_refused(self):
        result = self.login(service="arg_api_key")
        self.refused(result, r"api_key is not accepted as a module argument")
        self.assertNotIn(SANDBOX.api_key, result.log)


# --------------------------------------------------------------------------------------------
# Last: nothing secret in anything this run wrote

class ZzSecrets(unittest.TestCase):
    def test_no_code_and_no_key_in_any_log(self):
        logs = secret_scan.read_logs(LOG_DIR)
        self.assertGreater(len(logs), 50, "the run's PAM logs were captured")
        codes = secret_scan.delivered_codes(SANDBOX.outbox)
        self.assertGreater(len(codes), 20, "the run delivered codes")
        findings = secret_scan.scan_run(SANDBOX.outbox, SANDBOX.api_key, pam_logs=logs,
                                        sandbox_stdout=WORK / "sandbox.out",
                                        requests_log=SANDBOX.requests_log)
        self.assertEqual(findings, [], "\n".join(findings[:20]))


# --------------------------------------------------------------------------------------------
# Sessions: no lockout after a failed login, no ride on another login's code, no fail-open
# for a code check (threat-model rules 1, 4, 5 and 7)

def api_get(path):
    """A request to the sandbox's API with the account's key, as another application of the
    same 8x8 account would make it."""
    context = ssl.create_default_context(cafile=SANDBOX.ca_file)
    request = urllib.request.Request(SANDBOX.url + path,
                                     headers={"Authorization": f"Bearer {SANDBOX.api_key}"})
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        return json.loads(answer.read())


class Sessions(FaultCase):
    def deliveries(self):
        return [d for d in SANDBOX.deliveries() if d["destination"] == PHONES["alice"]]

    def _next_login_passes_after(self, play_first, first_outcome):
        """A first login (another process: another connection) that `play_first` ends at its
        prompt, then a second login of the same user."""
        self.configure(resend_interval=10)
        delivered = len(self.deliveries())
        first = pc.LoginInChild("faults", "alice", rhost=RHOST)
        self.assertRegex(first.next_prompt(), r"^Code sent by SMS")  # it reached the prompt
        play_first(first)
        result = first.finish()
        self.assertEqual(result["module_code"], first_outcome[0], result)
        self.assertIn(f"outcome={first_outcome[1]} ", "\n".join(result["syslog"]))
        ended = time.monotonic()
        second = self.login(answer=script(Code()), limit=15)
        waited = time.monotonic() - ended
        self.assertOutcome(second, pc.PAM_SUCCESS, "verified")
        self.assertRegex(second.prompts[0], r"^Code sent by SMS to ")
        self.assertLess(waited, 10 + 2, "waited no longer than resend_interval")
        sent = self.deliveries()[delivered:]
        self.assertEqual(len(sent), 2, "one SMS per login that reached the prompt")
        self.assertNotEqual(sent[0]["code"], sent[1]["code"], "the second login's code is new")
        posts = [r for r in self.new_requests() if r["method"] == "POST"]
        self.assertEqual(len(posts), 2)
        self.assertTrue(posts[1]["body"].get("resetSession"), posts[1]["body"])
        return second

    def test_after_three_wrong_codes_the_next_login_passes_with_a_new_code(self):
        def three_wrong(login):
            wrong = "000000" if last_code() != "000000" else "111111"
            login.answer(wrong)
            for _ in range(2):
                login.next_prompt()
                login.answer(wrong)
        second = self._next_login_passes_after(three_wrong,
                                               (pc.PAM_AUTH_ERR, "too_many_wrong_codes"))
        self.assertTrue(any("a new one follows in" in info for info in second.infos),
                        second.infos)

    def test_after_a_closed_conversation_the_next_login_passes_with_a_new_code(self):
        self._next_login_passes_after(lambda login: login.abort(),
                                      (pc.PAM_CONV_ERR, "conversation_failed"))

    def test_a_second_host_cannot_ride_on_the_first_hosts_code(self):
        """Host 1 and host 2 share the 8x8 account, not their state. The API hands alice's
        pending session to host 2 once resend_interval has passed, and answers VERIFIED to any
        code once the session is verified."""
        host2_state = Path(tempfile.mkdtemp(prefix="host2-", dir=WORK / "states"))
        self.configure(path=WORLD_DIR / "host2.conf", state_dir=str(host2_state),
                       resend_interval=10)
        self.configure(resend_interval=10)
        mark = len(self.deliveries())
        host1 = pc.LoginInChild("faults", "alice", rhost=RHOST)
        self.addCleanup(lambda: os.kill(host1.pid, signal.SIGKILL) if host1.pid else None)
        self.assertRegex(host1.next_prompt(), r"^Code sent by SMS")
        code = last_code()
        # The API refuses a second initiator within the interval; after it, it hands over the
        # pending session. (Real time: the sandbox's clock controls would give the resend the
        # same expiry to the second, which no real resend can have.)
        time.sleep(10.5)
        attacker = pc.LoginInChild("faults_host2", "alice", rhost="198.51.100.66")
        self.assertRegex(attacker.next_prompt(), r"^Code sent by SMS")
        sent = self.deliveries()[mark:]
        # It got there: both logins wait on the same session, and alice's code works on it.
        self.assertEqual(len({d["sessionId"] for d in sent}), 1, sent)
        self.assertEqual(sent[-1]["code"], code)
        session = sent[0]["sessionId"]
        # Alice types her code on host 1, which sees that someone else sent again: refused.
        host1.answer(code)
        first = host1.finish()
        host1.pid = None
        self.assertEqual(first["module_code"], pc.PAM_AUTH_ERR, first)
        self.assertIn("outcome=session_taken", "\n".join(first["syslog"]))
        # Another application of the account verifies the session with the right code...
        answer = api_get(f"/api/v2/subaccounts/{SANDBOX.subaccount}/sessions/{session}"
                         f"?code={code}")
        self.assertEqual(answer["status"], "VERIFIED")
        # ...and the attacker's wrong code on host 2 meets a VERIFIED session: refused, and the
        # code never even goes out.
        attacker.answer("000000" if code != "000000" else "111111")
        second = attacker.finish()
        self.assertNotEqual(second["module_code"], pc.PAM_SUCCESS, second)
        self.assertIn("outcome=session_taken", "\n".join(second["syslog"]))
        checks = [r for r in self.new_requests() if r["method"] == "GET" and r["codePresent"]]
        self.assertEqual(len(checks), 1, "only the other application's check went out")

    def test_a_wrong_code_that_the_deadline_cuts_short_fails_in_open_mode(self):
        """fail_mode = open, and the code check is still running when login_timeout ends: the
        login's own deadline, not an outage. Never PAM_IGNORE for a typed code."""
        self.configure(fail_mode="open", login_timeout=10, request_timeout=10)

        def hang_then_wrong(prompt):
            time.sleep(8.5)
            self.arm("validate", "hang")
            return Wrong()(prompt)
        result = self.login(answer=script(hang_then_wrong), limit=14)
        self.assertOutcome(result, pc.PAM_AUTH_ERR, "login_timeout", r"login_timeout")
        self.assertIn("The time for the code has run out.", result.errors)
        self.assertEqual(self.seen(), [("POST", 200), ("READ", 200), ("GET", None)])
        self.assertLess(result.elapsed, 11.5)
        self.assertFalse(any("fail_mode=open: letting" in line for line in result.syslog()))


CASES = [Unreachable, ApiErrors, ResendRefused, BadAnswers, Transport, Proxies, Timing,
         SendLimits, HostilePrompt, HostileFiles, Sessions, ZzSecrets]


# --------------------------------------------------------------------------------------------
# Entry points

def one_login(service, user, rhost, log_path):
    """--one-login: one login that says "prompt" at its prompt, waits for a line, then aborts;
    prints its result as JSON."""
    def barrier():
        print("ready", flush=True)
        sys.stdin.readline()

    def at_prompt(prompt):
        print("prompt", flush=True)
        sys.stdin.readline()
        return pc.ABORT

    result = pc.authenticate(service, user, at_prompt, rhost=rhost, log_path=log_path,
                             before=barrier)
    lines = [line for line in result.syslog() if "outcome=" in line]
    match = re.search(r"outcome=(\S+)", lines[0]) if lines else None
    print(json.dumps({"code": result.module_code, "outcome": match.group(1) if match else None,
                      "elapsed": result.elapsed}))
    return 0


def write_services(world, module, config, api_key):
    (world.services / "faults").write_text(f"auth required {module} conf={config}\n")
    # A second host on the same 8x8 account: its own config and state_dir, the same sandbox.
    (world.services / "faults_host2").write_text(
        f"auth required {module} conf={config.parent / 'host2.conf'}\n")
    for name, argument in ARGUMENT_SERVICES.items():
        if argument is None:
            line = f"auth required {module} conf=relative/pam_verif8.conf"
        else:
            line = f"auth required {module} conf={config} {argument.format(key=api_key)}"
        (world.services / name).write_text(line + "\n")


def wrapped_main(world):
    """The second run: under pam_wrapper, with the sandbox already up."""
    global MODULE, WORK, WORLD_DIR, SANDBOX, CONFIG, LOG_DIR, CLOSED_PORT_SOCKET
    MODULE, WORK, WORLD_DIR, SANDBOX = world.module, world.work, world.dir, world.sandbox
    CONFIG, LOG_DIR = world.config, world.logs
    CLOSED_PORT_SOCKET = socket.socket()
    CLOSED_PORT_SOCKET.bind(("127.0.0.1", 0))  # bound and never listening: refused
    try:
        return 0 if tap.run(CASES) else 1
    finally:
        CLOSED_PORT_SOCKET.close()


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if len(sys.argv) == 7 and sys.argv[2] == "--one-login":
        return one_login(*sys.argv[3:7])
    return suite.main("faults", wrapped_main, write_services, users=USERS,
                      sandbox_args=["--tls-faults"])


if __name__ == "__main__":
    sys.exit(main())
