#!/usr/bin/python3
"""verif8-sandbox against the Verify API v2 as verify-api.md and 8x8's published OpenAPI file
describe it, then one smoke test per fault kind (how the module copes with the faults is
tests/faults' business). Prints TAP. usage: test_sandbox.py [VERIF8-SANDBOX]"""

import atexit
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "harness"), os.path.join(HERE, "..", "pam")]
import openapi_check  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402

if len(sys.argv) > 1:
    harness.SANDBOX = os.path.abspath(sys.argv[1])
OPENAPI = harness.ROOT.parent / "shared" / "8x8-verification-api.openapi.json"
KEY, SUB = "sandbox-api-key", "sandbox-account"
SESSIONS = f"/api/v2/subaccounts/{SUB}/sessions"
PHONE, PHONE2, JSON = "+6591234567", "+6591234568", "application/json"
SESSION_FIELDS = {"sessionId", "verifyUri", "destination", "status", "attempt", "expiresAt",
                  "retryAfter"}
LANGUAGES = """
    ar-EG ar-SA bg-BG ca-ES cs-CZ da-DK de-AT de-CH de-DE el-GR en-AU en-CA en-GB en-IE en-IN en-US
    es-ES es-MX fi-FI fr-CA fr-CH fr-FR he-IL hi-IN hr-HR hu-HU id-ID it-IT ja-JP ko-KR ms-MY nb-NO
    nl-NL pl-PL pt-BR pt-PT ro-RO ru-RU sk-SK sl-SI sv-SE ta-IN th-TH tr-TR vi-VN zh-CN zh-HK zh-TW
""".split()
STARTED = []


def parse_time(text: str) -> float:
    """Seconds since the epoch from a timestamp in the documented form 2025-12-18T05:59:54.09Z."""
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\dZ", text):
        raise ValueError(f"not a documented timestamp: {text}")
    return datetime.datetime.strptime(text + "+0000", "%Y-%m-%dT%H:%M:%S.%fZ%z").timestamp()


class Reply:
    def __init__(self, status: int, headers: dict, body: bytes, elapsed: float = 0):
        self.status, self.headers, self.body, self.elapsed = status, headers, body, elapsed

    json = property(lambda self: json.loads(self.body))


def start_sandbox(*args: str, **settings) -> harness.Sandbox:
    """A sandbox in a state directory of its own (console output in console.out there)."""
    state = tempfile.mkdtemp(prefix="verif8-sandbox-test-")
    with open(os.path.join(state, "console.out"), "w") as console:
        STARTED.append(harness.Sandbox(state, extra_args=args, stdout=console, **settings))
        STARTED[-1].start()
    return STARTED[-1]


@atexit.register
def _stop_every_sandbox():
    for sandbox in STARTED:
        sandbox.stop()
        shutil.rmtree(sandbox.state_dir, ignore_errors=True)


def tls(sandbox) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sandbox.ca_file)


def connection(sandbox, timeout: float = 10) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection("127.0.0.1", sandbox.info["port"], context=tls(sandbox),
                                       timeout=timeout)


def request(sandbox, method, path, body=None, key=KEY, raw=None, headers=None,
            content_type=JSON, reuse=None) -> Reply:
    """One HTTP request (on the connection `reuse` when given), and its answer."""
    sent = dict(headers or {}, **({"Authorization": f"Bearer {key}"} if key else {}))
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None and content_type is not None:
        sent["Content-Type"] = content_type
    conn, started = reuse or connection(sandbox), time.monotonic()
    try:
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Reply(response.status, headers, response.read(), time.monotonic() - started)
    finally:
        if reuse is None:
            conn.close()


class ApiCase(unittest.TestCase):
    """Tests against one shared sandbox, reset before each test; marks where its lines begin."""
    shared = []

    def setUp(self):
        self.shared[:] = self.shared or [start_sandbox()]
        self.sandbox = self.shared[0]
        self.reset()

    def reset(self):
        self.assertEqual(self.control("POST", "reset").status, 200)
        self.outbox_mark = len(self.sandbox.deliveries())
        self.requests_mark = len(self.sandbox.requests())

    def request(self, *args, **kwargs) -> Reply:
        return request(self.sandbox, *args, **kwargs)

    def control(self, method, name, **query) -> Reply:
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return self.request(method, f"/_sandbox/{name}{suffix}", key=None)

    def initiate(self, destination=PHONE, **fields) -> Reply:
        return self.request("POST", SESSIONS, dict(destination=destination, **fields))

    def validate(self, session_id, code=None, **kwargs) -> Reply:
        query = "" if code is None else "?" + urllib.parse.urlencode({"code": code})
        return self.request("GET", f"{SESSIONS}/{session_id}{query}", **kwargs)

    def ok(self, reply: Reply) -> dict:
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json

    def started(self, destination=PHONE, **fields) -> dict:
        return self.ok(self.initiate(destination, **fields))

    def validated(self, session_id, code=None) -> dict:
        return self.ok(self.validate(session_id, code))

    def deliveries(self) -> list:
        return self.sandbox.deliveries()[self.outbox_mark:]

    def code_of(self, session: dict) -> str:
        return [d for d in self.deliveries() if d["sessionId"] == session["sessionId"]][-1]["code"]

    def logged(self) -> list:
        return self.sandbox.requests()[self.requests_mark:]

    def assertError(self, reply: Reply, status: int, code: int, names: str = ""):
        """The documented error envelope, with the status and code wanted, naming `names`."""
        self.assertEqual((reply.status, reply.headers.get("content-type")), (status, JSON),
                         reply.body)
        body = reply.json
        self.assertEqual(set(body), {"code", "message", "errorId", "timestamp"})
        self.assertEqual(body["code"], code, body["message"])
        self.assertTrue(isinstance(body["message"], str) and names in body["message"], body)
        self.assertEqual(uuid.UUID(body["errorId"]).version, 4)
        parse_time(body["timestamp"])

    def assertState(self, answer: dict, status: str, attempt: int):
        self.assertEqual((answer["status"], answer["attempt"]), (status, attempt))


BAD_REQUESTS = [
    # (raw body, content type, word in the message): 400/1000
    (b"destination=%2B6591234567", "application/x-www-form-urlencoded", ""),
    (b'{"destination": "+6591234567"}', None, ""),
    (b'{"destination": "+6591234567",}', JSON, ""), (b'["+6591234567"]', JSON, ""),
    (b"", JSON, ""), (b'{"destination": "+6591234567", "expiry": 300}', JSON, "expiry"),
    (b'{"destination": "+6591234567", "sms": {"text": "hi"}}', JSON, "sms.text"),
    (b'{"destination": "+6591234567", "codeLength": 6, "codeLength": 8}', JSON, "codeLength"),
    (b'{"codeLength": 6}', JSON, "destination"),
    (b'{"destination": "+6591234567", "channel": "whatsapp"}', JSON, "templateName"),
]
# Field (dotted: inside its object) -> values refused with 400/1010, out of range. sma is a
# documented channel, but not one a server login can use.
OUT_OF_RANGE = {
    "codeLength": [2, 11], "codeValidity": [29, 7201], "resendingInterval": [9, 7201],
    "brand": ["b" * 31], "country": ["SGP"], "channel": ["voice", "email", "sma"],
    "codeType": ["HEX", "numeric"], "language": ["en-us", "xx-XX"],
    "sms.source": ["TwelveLetter", "+12345678901234567", "Acme!"], "sms.encoding": ["UTF8"],
    "call.speed": [0.4, 2.1], "call.repetition": [0, 4], "call.voiceProfile": ["v" * 51],
    "callbackUrl": ["not a url"], "clientIp": ["300.1.1.1"],
}
# ...refused with 400/1000, of the wrong type.
WRONG_TYPES = {
    "codeLength": ["6", True, 6.5], "codeValidity": [None], "resetSession": ["true"],
    "brand": [7], "sms": ["AUTO"], "call.speed": ["fast"], "whatsapp.templateName": [["otp"]],
}
# destination (and country) refused with 400/1002, not a phone number.
BAD_NUMBERS = [{"destination": n} for n in ("+6591234", "+6591234567890123", "+65 91A3 4567",
                                            "", "++6591234567", "9123456")] + [
    {"destination": "912", "country": "SG"}]


def with_field(field: str, value) -> dict:
    """A request body with `field` (dotted: inside its object) set to `value`."""
    body = {"destination": PHONE, **({"channel": "whatsapp"} if "whatsapp" in field else {})}
    *outer, name = field.split(".")
    body.update({outer[0]: {name: value}} if outer else {name: value})
    return body


CODE_PATTERNS = [
    # (codeType, codeLength, the code's pattern); NUMERIC_WITH_DASH as the codeType
    # description's examples "231-461" (7) and "234-3294" (8)
    (None, None, r"[0-9]{4}"), ("NUMERIC", 10, r"[0-9]{10}"),
    ("ALPHANUMERIC", 10, r"[a-zA-Z0-9]{10}"), ("ALPHANUMERIC_CAPITALS", 10, r"[A-Z0-9]{10}"),
    ("ALPHANUMERIC_EASY", 10, r"((?![IOQSZ])[A-Z0-9]){10}"),
    ("NUMERIC_WITH_DASH", 3, r"\d{3}"), ("NUMERIC_WITH_DASH", 4, r"\d-\d\d"),
    ("NUMERIC_WITH_DASH", 5, r"\d\d-\d\d"), ("NUMERIC_WITH_DASH", 7, r"\d{3}-\d{3}"),
    ("NUMERIC_WITH_DASH", 8, r"\d{3}-\d{4}"), ("NUMERIC_WITH_DASH", 10, r"\d{4}-\d{5}"),
]
MESSAGES = [
    # (fields, channel named on the console, message with C for the code)
    ({}, "SMS", "Your verification code is C"),
    ({"brand": "Acme"}, "SMS", "Acme: Your verification code is C"),
    ({"brand": "Acme", "template": "{brand} login code {code}, {code}"}, "SMS",
     "Acme login code C, C"),
    ({"templateKey": "otp"}, "SMS", "Template otp: C"),
    ({"channel": "call"}, "voice call", "Your verification code is C"),
    ({"channel": "whatsapp", "whatsapp": {"templateName": "otp"}}, "WhatsApp",
     "WhatsApp template otp: C"),
    ({"channel": "viber"}, "Viber", "Viber template (account default): C"),
]


class Initiate(ApiCase):
    """Transport, paths and keys; a request's checks (a refusal sends nothing); the answer."""
    def test_tls_1_3_with_the_sandbox_ca_and_refused_without_it(self):
        address = ("127.0.0.1", self.sandbox.info["port"])
        with tls(self.sandbox).wrap_socket(socket.create_connection(address, 5),
                                           server_hostname="127.0.0.1") as wrapped:
            self.assertEqual(wrapped.version(), "TLSv1.3")
        with socket.create_connection(address, 5) as raw, \
                self.assertRaises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")

    def test_paths_methods_keys_and_subaccounts_are_checked(self):
        """404 and 405 for what the API does not have, 413 for an oversized body, 401 before
        the sub-account check; on one keep-alive connection."""
        other, session = "/api/v2/subaccounts/other-account/sessions", f"{SESSIONS}/{'0' * 32}"
        kept = connection(self.sandbox)
        self.addCleanup(kept.close)
        self.request("GET", "/nowhere", reuse=kept)
        first_socket = kept.sock
        for method, path, key, headers, status, code in [
                ("GET", "/api/v1/verify", KEY, {}, 404, 1300),
                ("GET", SESSIONS, KEY, {}, 405, 1000),
                ("DELETE", session, KEY, {}, 405, 1000),
                ("POST", SESSIONS, None, {}, 401, 1200),
                ("POST", SESSIONS, None, {"Authorization": KEY}, 401, 1200),  # no Bearer
                ("POST", SESSIONS, "wrong-key", {}, 401, 1200),
                ("GET", session, None, {}, 401, 1200),
                ("POST", other, KEY, {}, 400, 1001),
                ("POST", other, None, {}, 401, 1200)]:
            with self.subTest(method=method, path=path, key=key, headers=headers):
                body = {"destination": PHONE} if method == "POST" else None
                self.assertError(self.request(method, path, body, key=key, headers=headers,
                                              reuse=kept), status, code)
        self.assertError(self.request("POST", SESSIONS, raw=b" " * (65 * 1024), reuse=kept),
                         413, 1000)
        self.assertIs(kept.sock, first_socket)  # every refusal kept the connection open
        self.assertEqual(self.deliveries(), [])
        self.ok(self.request("POST", "/api/v2/subaccounts/sandbox%2Daccount/sessions",
                             {"destination": PHONE}))

    def test_configured_key_and_subaccount_replace_the_defaults(self):
        other, name = start_sandbox(api_key="other-key", subaccount="other.sub&co"), "other.sub&co"
        path = f"/api/v2/subaccounts/{urllib.parse.quote(name, safe='')}/sessions"
        self.assertError(request(other, "POST", path, {"destination": PHONE}), 401, 1200)
        self.assertError(request(other, "POST", SESSIONS, {"destination": PHONE}, "other-key"),
                         400, 1001)
        session = self.ok(request(other, "POST", path, {"destination": PHONE}, "other-key"))
        sid = session["sessionId"]
        self.assertEqual(session["verifyUri"], f"/api/v2/subaccounts/{name}/sessions/{sid}")
        # The published example shows a dashed sessionId next to an undashed verifyUri.
        for uri in (session["verifyUri"], f"{path}/{sid[:8]}-{sid[8:12].upper()}-{sid[12:]}"):
            self.assertEqual(self.ok(request(other, "GET", uri, key="other-key"))["sessionId"], sid)

    def test_refusals_are_400_with_their_code_and_send_nothing(self):
        cases = [(raw, ctype, 1000, word, None) for raw, ctype, word in BAD_REQUESTS]
        cases += [(None, JSON, code, "not supported" if v == "sma" else field, with_field(field, v))
                  for code, table in ((1010, OUT_OF_RANGE), (1000, WRONG_TYPES))
                  for field, values in table.items() for v in values]
        cases += [(None, JSON, 1002, "", body) for body in BAD_NUMBERS]
        for raw, content_type, code, word, body in cases:
            with self.subTest(raw=raw, body=body):
                reply = self.request("POST", SESSIONS, body, raw=raw, content_type=content_type)
                self.assertError(reply, 400, code, word)
        self.assertEqual(self.deliveries(), [])

    def test_boundary_values_languages_and_a_charset_are_accepted(self):
        self.started(codeLength=10, codeValidity=7200, resendingInterval=7200, brand="b" * 30,
                     sms={"source": "Acme Bank 1", "encoding": "UCS2"},
                     call={"source": "+6512345678", "speed": 0.5, "repetition": 3,
                           "voiceProfile": "v" * 50},
                     callbackUrl="https://example.com/hook", clientIp="2001:db8::1",
                     language="zh-TW", template="{code}", templateKey="otp", resetSession=True)
        self.started(PHONE2, codeLength=3, codeValidity=30, resendingInterval=10,
                     sms={"source": "+1234567890123456"}, call={"speed": 2, "repetition": 1})
        self.assertEqual(len(LANGUAGES), 48)
        for number, language in enumerate(LANGUAGES):
            self.started(f"+659100{number:04d}", language=language, channel="call")
        self.ok(self.request("POST", SESSIONS, {"destination": "+6591000100"},
                             content_type="application/json; charset=utf-8"))

    def test_published_examples_are_answered_as_the_schemas_say(self):
        if not OPENAPI.is_file():
            self.skipTest(f"{OPENAPI} is not beside the repository")
        document = json.loads(OPENAPI.read_text())
        schemas = document["components"]["schemas"]
        post = document["paths"]["/api/v2/subaccounts/{subAccountId}/sessions"]["post"]
        for name, example in post["requestBody"]["content"][JSON]["examples"].items():
            with self.subTest(name):
                self.reset()
                reply = self.request("POST", SESSIONS, example["value"])
                if example["value"].get("channel") == "sma":  # not usable from a server login
                    self.assertError(reply, 400, 1010, "not supported")
                    answers, schema = [reply.json], "ErrorResponse"
                else:
                    answers = [self.ok(reply), self.validated(reply.json["sessionId"], "000")]
                    schema = "VerifyResponseV2"
                for answer in answers:
                    self.assertEqual(openapi_check.problems(answer, schemas[schema], schemas), [])

    def test_answer_is_the_documented_session_with_the_destination_normalised(self):
        """Defaults: codeValidity 300 s, resendingInterval 10 s; then values from the request."""
        for given, fields, shown, validity, interval in (
                (PHONE, {}, PHONE, 300, 10), ("+65 (912) 3-4567", {}, PHONE, 300, 10),
                ("6591234567", {}, PHONE, 300, 10), ("9123 4567", {"country": "SG"}, "91234567",
                                                     300, 10),
                (PHONE2, {"codeValidity": 600, "resendingInterval": 45}, PHONE2, 600, 45)):
            with self.subTest(given):
                self.reset()
                session = self.started(given, **fields)
                self.assertEqual(set(session), SESSION_FIELDS)
                self.assertRegex(session["sessionId"], r"^[0-9a-f]{32}$")
                self.assertEqual(session["verifyUri"], f"{SESSIONS}/{session['sessionId']}")
                self.assertEqual(session["destination"], shown)
                self.assertState(session, "WAITING", 0)
                for name, seconds in (("expiresAt", validity), ("retryAfter", interval)):
                    self.assertAlmostEqual(parse_time(session[name]), time.time() + seconds,
                                           delta=2)

    def test_deliveries_fill_the_template_for_each_channel_and_are_logged_and_printed(self):
        for number, (fields, channel, message) in enumerate(MESSAGES):
            with self.subTest(fields=fields):
                destination = f"+65912301{number:02d}"
                session = self.started(destination, **fields)
                delivery = self.deliveries()[-1]
                self.assertEqual(set(delivery), {"time", "sessionId", "destination", "channel",
                                                 "code", "message"})
                self.assertEqual(
                    (delivery["sessionId"], delivery["destination"], delivery["channel"]),
                    (session["sessionId"], destination, fields.get("channel", "sms")))
                self.assertAlmostEqual(delivery["time"], time.time(), delta=5)
                wanted = message.replace("C", delivery["code"])
                self.assertEqual(delivery["message"], wanted)
                self.assertIn(f"[verif8-sandbox] {channel} to {destination}: {wanted}\n",
                              (self.sandbox.state_dir / "console.out").read_text(errors="replace"))

    def test_code_types_match_their_documented_patterns(self):
        for number, (code_type, length, pattern) in enumerate(CODE_PATTERNS):
            with self.subTest(code_type=code_type, length=length):
                fields = {"codeType": code_type, "codeLength": length} if code_type else {}
                session = self.started(f"+65912300{number:02d}", **fields)
                self.assertRegex(self.code_of(session), f"^{pattern}$")


class Sessions(ApiCase):
    """Validate, sending again, and what the other suites read: requests.jsonl, the controls."""
    def test_status_read_changes_nothing_and_only_the_exact_code_verifies(self):
        session = self.started(codeType="ALPHANUMERIC_CAPITALS", codeLength=10)
        sid, code = session["sessionId"], self.code_of(session)
        self.assertState(self.validated(sid), "WAITING", 0)
        wrong = code.lower() if code != code.lower() else "A" + code[1:]
        self.assertState(self.validated(sid, wrong), "WAITING", 1)
        answer = self.validated(sid, code)
        self.assertState(answer, "VERIFIED", 1)
        self.assertEqual(set(answer), SESSION_FIELDS)
        self.assertEqual((answer["sessionId"], answer["expiresAt"]), (sid, session["expiresAt"]))
        for code in ("12", "1" * 11):  # counts no attempt
            self.assertError(self.validate(sid, code), 400, 1010, "code")
        self.assertError(self.validate("0" * 32, "1234"), 404, 1404)
        self.assertState(self.validated(sid), "VERIFIED", 1)

    def test_the_fifth_wrong_code_fails_validity_expires_and_final_sessions_keep_their_status(self):
        for final in ("VERIFIED", "FAILED", "EXPIRED"):
            with self.subTest(final):
                self.reset()
                session = self.started(codeLength=6, codeValidity=30)
                sid, code = session["sessionId"], self.code_of(session)
                if final == "FAILED":
                    for attempt in range(1, 5):
                        self.assertState(self.validated(sid, "x" * 6), "WAITING", attempt)
                    self.assertState(self.validated(sid, "bad"), "FAILED", 5)
                elif final == "VERIFIED":
                    self.validated(sid, code)
                else:  # its 30 s pass
                    for seconds, status in ((25, "WAITING"), (5, "EXPIRED")):
                        self.control("POST", "advance", seconds=seconds)
                        self.assertEqual(self.validated(sid)["status"], status)
                attempt = self.validated(sid)["attempt"]
                for typed in (code, "bad"):
                    self.assertState(self.validated(sid, typed), final, attempt)

    def test_resend_inside_the_sessions_interval_is_403_1400_and_final_sessions_start_anew(self):
        first = self.started()
        self.assertError(self.initiate(), 403, 1400)
        session = self.started(PHONE2, resendingInterval=60)  # other numbers are not held back
        self.control("POST", "advance", seconds=30, sessionId=session["sessionId"])
        self.assertError(self.initiate(PHONE2), 403, 1400)
        self.assertEqual(len(self.deliveries()), 2)
        self.validated(first["sessionId"], self.code_of(first))
        second = self.started()
        self.assertNotEqual(second["sessionId"], first["sessionId"])
        self.assertEqual(second["status"], "WAITING")

    def test_resend_keeps_session_code_and_attempts_and_extends_validity(self):
        first = self.started(codeValidity=300, codeType="ALPHANUMERIC", codeLength=10)
        self.validated(first["sessionId"], "bad")
        self.control("POST", "advance", seconds=100)
        second = self.started(codeValidity=300, channel="call")
        self.assertEqual((second["sessionId"], second["attempt"]), (first["sessionId"], 1))
        self.assertAlmostEqual(parse_time(second["expiresAt"]), time.time() + 300, delta=2)
        self.control("POST", "advance", seconds=10)
        self.started(codeType="ALPHANUMERIC", codeLength=10, resetSession=True)
        sent = self.deliveries()
        self.assertEqual([(d["sessionId"], d["channel"]) for d in sent],
                         [(first["sessionId"], channel) for channel in ("sms", "call", "sms")])
        self.assertEqual(sent[0]["code"], sent[1]["code"])
        self.assertNotEqual(sent[1]["code"], sent[2]["code"])  # resetSession: a new code
        self.assertEqual(self.validated(first["sessionId"], sent[2]["code"])["status"], "VERIFIED")

    def test_requests_are_logged_with_their_facts_never_the_code_or_the_key(self):
        session = self.started(codeType="ALPHANUMERIC", codeLength=10)
        code, path = self.code_of(session), f"{SESSIONS}/{session['sessionId']}"
        self.validated(session["sessionId"], "bad-code")
        self.request("GET", f"{path}?code={code}&lang=en")
        self.validate("0" * 32, "1234", key="another-secret-key")
        self.request("POST", SESSIONS, raw=b"x" * 300, key=None, content_type="text/plain")
        self.assertEqual([(e["method"], e["path"], e["query"], e["status"], e["errorCode"],
                           e["auth"], e["codePresent"], e["codeLength"], e["codeMatched"],
                           e["contentType"], e["body"]) for e in self.logged()], [
            ("POST", SESSIONS, {}, 200, None, "ok", False, None, None, JSON,
             {"destination": PHONE, "codeType": "ALPHANUMERIC", "codeLength": 10}),
            ("GET", path, {}, 200, None, "ok", True, 8, False, None, None),
            ("GET", path, {"lang": "en"}, 200, None, "ok", True, 10, True, None, None),
            ("GET", f"{SESSIONS}/{'0' * 32}", {}, 401, 1200, "bad", True, 4, None, None, None),
            ("POST", SESSIONS, {}, 401, 1200, "missing", False, None, None, "text/plain",
             {"unparsed": "x" * 200})])
        logged = (self.sandbox.state_dir / "requests.jsonl").read_text()
        for secret in (code, KEY, "another-secret-key"):
            self.assertNotIn(secret, logged)

    def test_controls_list_expire_advance_and_reset_unlogged(self):
        first, second = self.started(), self.started(PHONE2)
        listed = self.control("GET", "sessions").json["sessions"]
        self.assertEqual([(s["sessionId"], s["code"], s["status"]) for s in listed],
                         [(s["sessionId"], self.code_of(s), "WAITING") for s in (first, second)])
        self.control("POST", "expire", sessionId=first["sessionId"])
        self.assertEqual(self.validated(first["sessionId"])["status"], "EXPIRED")
        self.assertEqual(self.validated(second["sessionId"])["status"], "WAITING")
        self.assertEqual(self.control("POST", "expire").json["expired"], [second["sessionId"]])
        self.assertError(self.control("POST", "advance", seconds="soon"), 400, 1000)
        self.assertError(self.control("POST", "nonsense"), 404, 1300)
        self.assertError(self.control("POST", "fault", route="initiate", kind="hang",
                                      interval_ms=5), 400, 1000, "interval_ms")
        self.assertEqual(len(self.logged()), 4)  # the API calls only
        self.control("POST", "reset")
        self.assertError(self.validate(first["sessionId"]), 404, 1404)
        self.started()  # the resend history is gone too
        self.assertEqual((len(self.deliveries()), len(self.logged())), (3, 6))


# Fault switches: one smoke test per kind. Each row: (kind, route, parameters, a check of what
# the faulted call got: an answer or an exception). The call after it is answered as usual.

def envelope(status, code, header=None, value=None):
    def check(t, r, s):
        t.assertError(r, status, code)
        t.assertEqual(r.headers.get(header), value)
    return check


def session_is(t, r, s, status, other=False):
    t.assertEqual((r.json["sessionId"] != s if other else r.json["sessionId"], r.json["status"]),
                  (True if other else s, status))


FAULTS = [
    ("status", "initiate", {"status": 503}, envelope(503, 2000)),
    ("status", "initiate", {"status": 429, "retry_after": 7},
     envelope(429, 429, "retry-after", "7")),
    ("status", "initiate", {"status": 426}, envelope(426, 1014, "upgrade", "TLS/1.3")),
    ("status", "initiate", {"status": 503, "body": "html"}, lambda t, r, s: t.assertEqual(
        (r.status, r.headers["content-type"], r.body[:6]), (503, "text/html", b"<html>"))),
    ("hang", "initiate", {}, lambda t, r, s: t.assertIsInstance(r, TimeoutError)),
    ("trickle", "initiate", {"interval_ms": 2}, lambda t, r, s: t.assertTrue(
        r.json["sessionId"] == t.deliveries()[0]["sessionId"] and r.elapsed >= len(r.body) / 500)),
    # Cut after the head: not a connection closed before any answer (RemoteDisconnected).
    ("reset", "initiate", {}, lambda t, r, s: t.assertIsInstance(
        r, (ConnectionResetError, http.client.IncompleteRead))),
    ("malformed", "validate", {}, lambda t, r, s: t.assertEqual(
        r.body, b'{"sessionId": "abc", "status": ')),
    ("truncated", "validate", {}, lambda t, r, s: t.assertTrue(
        r.body.startswith(f'{{"sessionId": "{s}"'.encode()) and r.body[-1:] != b"}"
        and int(r.headers["content-length"]) == len(r.body))),
    ("huge", "validate", {}, lambda t, r, s: t.assertEqual(
        (len(r.body), r.json["status"]), (10 * 1024 * 1024, "VERIFIED"))),
    ("wrong_types", "validate", {}, lambda t, r, s: t.assertEqual(
        (r.json["status"], r.json["attempt"]), (1, "x"))),
    ("missing_fields", "validate", {}, lambda t, r, s: t.assertEqual(r.json, {"attempt": 0})),
    ("other_session", "validate", {}, lambda t, r, s: session_is(t, r, s, "VERIFIED", True)),
    ("unknown_status", "validate", {}, lambda t, r, s: session_is(t, r, s, "APPROVED")),
    ("redirect", "validate", {}, lambda t, r, s: t.assertTrue(
        r.status == 302 and r.headers["location"].endswith("/elsewhere"))),
    ("verified", "validate", {}, lambda t, r, s: session_is(t, r, s, "VERIFIED")),
]


class FaultSwitches(ApiCase):
    def test_each_fault_kind_spoils_one_answer(self):
        for kind, route, params, check in FAULTS:
            with self.subTest(kind=kind, params=params):
                self.reset()
                sid = self.started(PHONE2)["sessionId"] if route == "validate" else None
                self.ok(self.control("POST", "fault", route=route, kind=kind, **params))
                waiting = connection(self.sandbox, timeout=0.5)
                self.addCleanup(waiting.close)
                try:
                    reply = (self.validate(sid, "000", reuse=waiting) if sid else
                             self.request("POST", SESSIONS, {"destination": PHONE}, reuse=waiting))
                except (OSError, http.client.HTTPException) as error:
                    reply = error
                check(self, reply, sid)
                if sid:  # the wrong code was counted once, and the next answer is not spoiled
                    self.assertState(self.validated(sid, "000"), "WAITING", 2)
                else:
                    self.ok(self.initiate(PHONE2))


class Lifecycle(unittest.TestCase):
    """Sandboxes of their own: --tls-faults (listeners whose TLS fails a client's checks, and a
    port that never completes a connection), the host check, files and signals."""

    def test_each_tls_fault_listener_fails_a_client_as_named(self):
        sandbox = start_sandbox("--tls-faults", "--quiet")
        with self.assertRaises(TimeoutError):  # the blackhole: not refused, not connected
            socket.create_connection(("127.0.0.1", urllib.parse.urlsplit(
                sandbox.info["blackhole"]).port), timeout=0.5).close()
        for name, verify_code, words in (
                ("untrusted", 20, "unable to get local issuer certificate"),
                ("wrong_host", 64, "IP address mismatch"), ("expired", 10, "has expired"),
                ("tls11", None, "TLSV1_ALERT_PROTOCOL_VERSION")):
            with self.subTest(name):
                url = sandbox.info["tls_faults"][name]
                if url is None:  # offered only where Python/OpenSSL can speak TLS 1.1
                    self.skipTest(f"the sandbox does not offer {name} here")
                raw = socket.create_connection(("127.0.0.1", urllib.parse.urlsplit(url).port), 5)
                self.addCleanup(raw.close)
                context = tls(sandbox)
                context.minimum_version = ssl.TLSVersion.TLSv1_2
                with self.assertRaises(ssl.SSLError) as caught:
                    context.wrap_socket(raw, server_hostname="127.0.0.1")
                found = caught.exception
                self.assertEqual(getattr(found, "verify_code", None), verify_code, found)
                self.assertIn(words, found.verify_message if verify_code else found.reason)

    def test_non_loopback_hosts_are_refused_with_exit_2(self):
        with tempfile.TemporaryDirectory() as state:
            for host in ("0.0.0.0", "192.0.2.1", "::", "localhost"):
                result = subprocess.run([str(harness.SANDBOX), "--state-dir", state, "--host",
                                         host], capture_output=True, text=True, timeout=20)
                self.assertEqual((result.returncode, "loopback" in result.stderr), (2, True), host)

    def test_private_files_and_sigterm_and_sigint_exit_0_and_remove_sandbox_json(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            sandbox = start_sandbox()
            self.assertIn(f"verif8-sandbox listening on {sandbox.url} (CA: {sandbox.ca_file})",
                          (sandbox.state_dir / "console.out").read_text(errors="replace"))
            self.assertEqual(os.stat(sandbox.state_dir).st_mode & 0o777, 0o700)
            for key in ("ca.key", "server.key"):
                self.assertEqual(os.stat(sandbox.state_dir / key).st_mode & 0o077, 0, key)
            idle = connection(sandbox)  # an idle keep-alive connection holds nothing up
            request(sandbox, "GET", "/nowhere", reuse=idle)
            sandbox.process.send_signal(signum)
            self.assertEqual(sandbox.process.wait(10), 0)
            idle.close()
            self.assertFalse((sandbox.state_dir / "sandbox.json").exists())


CASES = [Initiate, Sessions, FaultSwitches, Lifecycle]

if __name__ == "__main__":
    sys.exit(0 if tap.run(CASES) else 1)
