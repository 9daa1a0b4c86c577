#!/usr/bin/python3
# Tests of verif8-sandbox against the documented Verify API v2 behaviour (verify-api.md), as TAP.
#
# Usage: test_sandbox.py [PATH-OF-verif8-sandbox]   (default: the verif8-sandbox beside this file)
# One sandbox serves the whole module (reset between tests); the style-flag and lifecycle tests
# start their own. Every process started here is stopped on the way out.

import atexit
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
import warnings
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SANDBOX_PATH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(
    HERE, "verif8-sandbox")

KEY = "sandbox-api-key"
SUB = "sandbox-account"
SESSIONS = f"/api/v2/subaccounts/{SUB}/sessions"
PHONE = "+6591234567"

SHORT_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{2})Z")
LONG_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{7})\+00:00")
SESSION_FIELDS = {"sessionId", "verifyUri", "destination", "status", "attempt", "expiresAt",
                  "retryAfter"}
LANGUAGES = """
    ar-EG ar-SA bg-BG ca-ES cs-CZ da-DK de-AT de-CH de-DE el-GR en-AU en-CA en-GB en-IE en-IN en-US
    es-ES es-MX fi-FI fr-CA fr-CH fr-FR he-IL hi-IN hr-HR hu-HU id-ID it-IT ja-JP ko-KR ms-MY nb-NO
    nl-NL pl-PL pt-BR pt-PT ro-RO ru-RU sk-SK sl-SI sv-SE ta-IN th-TH tr-TR vi-VN zh-CN zh-HK zh-TW
""".split()


def parse_time(text: str) -> float:
    """Seconds since the epoch from either documented timestamp form."""
    match = SHORT_TIME.fullmatch(text) or LONG_TIME.fullmatch(text)
    if not match:
        raise ValueError(f"not a documented timestamp: {text}")
    whole = time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")
    return time.mktime(whole) - time.timezone + float("0." + match.group(1))


# ---------------------------------------------------------------------------------------------
# A running sandbox

class Reply:
    def __init__(self, status: int, headers: dict, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)


_running = []


@atexit.register
def _kill_leftovers():
    for process in _running:
        if process.poll() is None:
            process.kill()
            process.wait()


class Sandbox:
    def __init__(self, *args: str, state_dir: str = None):
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="verif8-sandbox-test-")
        self._owns_dir = state_dir is None
        self.args = list(args)
        self.stdout_path = os.path.join(os.path.dirname(self.state_dir),
                                        os.path.basename(self.state_dir) + ".stdout")
        self.process = None
        self.info = None

    def start(self) -> "Sandbox":
        with open(self.stdout_path, "ab") as out:
            self.process = subprocess.Popen(
                [SANDBOX_PATH, "--state-dir", self.state_dir, "--port", "0", *self.args],
                stdout=out, stderr=subprocess.STDOUT)
        _running.append(self.process)
        self.info = self._wait_for_info()
        return self

    def _wait_for_info(self) -> dict:
        path = os.path.join(self.state_dir, "sandbox.json")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.process.returncode}: "
                                   f"{self.stdout()}")
            try:
                with open(path) as f:
                    info = json.load(f)
                if info["pid"] == self.process.pid:
                    return info
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise RuntimeError("sandbox.json did not appear")

    def stop(self, signum=signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def remove(self) -> None:
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if os.path.exists(self.stdout_path):
            os.unlink(self.stdout_path)

    @property
    def host(self) -> str:
        return self.info["host"]

    @property
    def port(self) -> int:
        return self.info["port"]

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.info["ca_file"])

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.tls(), timeout=10)

    def request(self, method, path, body=None, key=KEY, headers=None, raw=None,
                content_type="application/json", connection=None) -> Reply:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None and content_type is not None:
            sent["Content-Type"] = content_type
        conn = connection or self.connection()
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         payload)
        finally:
            if connection is None:
                conn.close()

    def control(self, method, name, **query) -> Reply:
        suffix = "?" + urllib.parse.urlencode(query) if query else ""
        return self.request(method, f"/_sandbox/{name}{suffix}", key=None)

    def lines(self, name: str) -> list:
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def text(self, name: str) -> str:
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as f:
            return f.read()

    def stdout(self) -> str:
        with open(self.stdout_path, encoding="utf-8", errors="replace") as f:
            return f.read()


SANDBOX: Sandbox = None


def setUpModule():
    global SANDBOX
    SANDBOX = Sandbox().start()


def tearDownModule():
    SANDBOX.remove()


# ---------------------------------------------------------------------------------------------
# Shared assertions and shortcuts

class SandboxTestCase(unittest.TestCase):
    sandbox_under_test = None  # None: the module's sandbox

    @property
    def sandbox(self) -> Sandbox:
        return self.sandbox_under_test or SANDBOX

    def setUp(self):
        self.assertEqual(self.sandbox.control("POST", "reset").status, 200)
        self.outbox_mark = len(self.sandbox.lines("outbox.jsonl"))
        self.requests_mark = len(self.sandbox.lines("requests.jsonl"))

    def initiate(self, destination=PHONE, **fields) -> Reply:
        return self.sandbox.request("POST", SESSIONS, dict(destination=destination, **fields))

    def started(self, destination=PHONE, **fields) -> dict:
        reply = self.initiate(destination, **fields)
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json

    def validate(self, session_id, code=None, **kwargs) -> Reply:
        query = "" if code is None else "?" + urllib.parse.urlencode({"code": code})
        return self.sandbox.request("GET", f"{SESSIONS}/{session_id}{query}", **kwargs)

    def validated(self, session_id, code=None) -> dict:
        reply = self.validate(session_id, code)
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json

    def deliveries(self) -> list:
        return self.sandbox.lines("outbox.jsonl")[self.outbox_mark:]

    def code_of(self, session: dict) -> str:
        sent = [d for d in self.deliveries() if d["sessionId"] == session["sessionId"]]
        return sent[-1]["code"]

    def logged(self) -> list:
        return self.sandbox.lines("requests.jsonl")[self.requests_mark:]

    def assertError(self, reply: Reply, status: int, code: int, names: str = None):
        """The documented envelope, with the status and code wanted, naming `names` if given."""
        self.assertEqual(reply.status, status, reply.body)
        self.assertEqual(reply.headers.get("content-type"), "application/json")
        body = reply.json
        self.assertEqual(set(body), {"code", "message", "errorId", "timestamp"})
        self.assertEqual(body["code"], code, body["message"])
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"])
        self.assertEqual(uuid.UUID(body["errorId"]).version, 4)
        parse_time(body["timestamp"])
        if names:
            self.assertIn(names, body["message"])


# ---------------------------------------------------------------------------------------------
# Transport: TLS, certificates, HTTP

class TransportTests(SandboxTestCase):
    def test_certificate_verifies_for_127_0_0_1_against_ca_pem(self):
        context = self.sandbox.tls()
        with socket.create_connection(("127.0.0.1", self.sandbox.port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertTrue(tls.getpeercert())

    def test_certificate_is_refused_without_the_sandbox_ca(self):
        context = ssl.create_default_context()  # the system store only
        with socket.create_connection(("127.0.0.1", self.sandbox.port), timeout=5) as raw:
            with self.assertRaises(ssl.SSLCertVerificationError):
                context.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_negotiates_tls_1_3(self):
        with socket.create_connection(("127.0.0.1", self.sandbox.port), timeout=5) as raw:
            with self.sandbox.tls().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertEqual(tls.version(), "TLSv1.3")

    def test_refuses_tls_1_1(self):
        context = self.sandbox.tls()
        context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # old on purpose
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")  # let the client offer 1.1, so the server decides
        with socket.create_connection(("127.0.0.1", self.sandbox.port), timeout=5) as raw:
            with self.assertRaises((ssl.SSLError, ConnectionResetError)):
                context.wrap_socket(raw, server_hostname="127.0.0.1")

    def test_openssl_verify_accepts_server_certificate(self):
        state = self.sandbox.state_dir
        result = subprocess.run(["openssl", "verify", "-CAfile", os.path.join(state, "ca.pem"),
                                 os.path.join(state, "server.pem")], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.strip().endswith(": OK"))

    def certificate_extensions(self, name: str) -> str:
        return subprocess.run(
            ["openssl", "x509", "-in", os.path.join(self.sandbox.state_dir, name), "-noout",
             "-ext", "basicConstraints,keyUsage,extendedKeyUsage,subjectAltName"],
            capture_output=True, text=True, check=True).stdout

    def test_ca_certificate_is_a_ca_that_signs_certificates(self):
        text = self.certificate_extensions("ca.pem")
        self.assertIn("CA:TRUE", text)
        self.assertIn("Certificate Sign", text)

    def test_server_certificate_is_a_tls_server_certificate_for_loopback(self):
        text = self.certificate_extensions("server.pem")
        self.assertIn("CA:FALSE", text)
        self.assertIn("TLS Web Server Authentication", text)
        for name in ("IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "DNS:localhost"):
            self.assertIn(name, text)

    def test_curl_accepts_the_certificate(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        result = subprocess.run(
            ["curl", "-sS", "--cacert", self.sandbox.info["ca_file"], "-H",
             f"Authorization: Bearer {KEY}", f"{self.sandbox.info['url']}{SESSIONS}/nosuch"],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout)["code"], 1404)

    def test_state_dir_and_keys_are_private(self):
        state = self.sandbox.state_dir
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o700)
        for key in ("ca.key", "server.key"):
            self.assertEqual(os.stat(os.path.join(state, key)).st_mode & 0o077, 0)

    def test_sandbox_json_describes_the_running_server(self):
        info = self.sandbox.info
        self.assertEqual(info["url"], f"https://127.0.0.1:{info['port']}")
        self.assertEqual(info["host"], "127.0.0.1")
        self.assertEqual(info["ca_file"], os.path.join(self.sandbox.state_dir, "ca.pem"))
        self.assertTrue(os.path.isabs(info["ca_file"]))
        self.assertEqual(info["outbox"], os.path.join(self.sandbox.state_dir, "outbox.jsonl"))
        self.assertEqual(info["requests"], os.path.join(self.sandbox.state_dir, "requests.jsonl"))
        self.assertEqual(info["pid"], self.sandbox.process.pid)

    def test_start_line_names_url_and_ca(self):
        info = self.sandbox.info
        self.assertIn(f"verif8-sandbox listening on {info['url']} (CA: {info['ca_file']})\n",
                      self.sandbox.stdout())

    def test_two_requests_share_one_connection(self):
        connection = self.sandbox.connection()
        try:
            first = self.sandbox.request("GET", f"{SESSIONS}/nosuch", connection=connection)
            socket_used = connection.sock
            second = self.sandbox.request("POST", SESSIONS, {"destination": PHONE},
                                          connection=connection)
            self.assertIsNotNone(socket_used)
            self.assertIs(connection.sock, socket_used)
        finally:
            connection.close()
        self.assertEqual((first.status, second.status), (404, 200))
        self.assertNotEqual(first.headers.get("connection"), "close")

    def test_every_answer_has_content_length(self):
        reply = self.initiate()
        self.assertEqual(int(reply.headers["content-length"]), len(reply.body))

    def test_unknown_path_is_404_1300(self):
        self.assertError(self.sandbox.request("GET", "/api/v1/verify"), 404, 1300)

    def test_wrong_method_on_sessions_is_405_1000(self):
        self.assertError(self.sandbox.request("GET", SESSIONS), 405, 1000)

    def test_wrong_method_on_a_session_is_405_1000(self):
        session = self.started()
        reply = self.sandbox.request("DELETE", f"{SESSIONS}/{session['sessionId']}")
        self.assertError(reply, 405, 1000)

    def test_oversized_body_is_413(self):
        reply = self.sandbox.request("POST", SESSIONS, raw=b" " * (65 * 1024))
        self.assertError(reply, 413, 1000)

    def test_connection_survives_a_413(self):
        connection = self.sandbox.connection()
        try:
            self.sandbox.request("POST", SESSIONS, raw=b" " * (65 * 1024), connection=connection)
            socket_used = connection.sock
            reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE},
                                         connection=connection)
            self.assertIs(connection.sock, socket_used)
        finally:
            connection.close()
        self.assertEqual(reply.status, 200, reply.body)

    def test_malformed_http_gets_the_error_envelope(self):
        with socket.create_connection(("127.0.0.1", self.sandbox.port), timeout=5) as raw:
            with self.sandbox.tls().wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n")
                response = http.client.HTTPResponse(tls)
                response.begin()
                reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                              response.read())
        self.assertError(reply, 501, 2000)


# ---------------------------------------------------------------------------------------------
# Authentication and sub-account

class AuthenticationTests(SandboxTestCase):
    def test_missing_key_is_401_1200(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key=None)
        self.assertError(reply, 401, 1200)

    def test_wrong_key_is_401_1200(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key="wrong-key")
        self.assertError(reply, 401, 1200)

    def test_key_without_bearer_scheme_is_401_1200(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key=None,
                                     headers={"Authorization": KEY})
        self.assertError(reply, 401, 1200)

    def test_validate_needs_the_key_too(self):
        session = self.started()
        self.assertError(self.validate(session["sessionId"], key=None), 401, 1200)

    def test_failed_authentication_sends_nothing(self):
        self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key="wrong-key")
        self.assertEqual(self.deliveries(), [])

    def test_wrong_subaccount_is_400_1001(self):
        reply = self.sandbox.request("POST", "/api/v2/subaccounts/other-account/sessions",
                                     {"destination": PHONE})
        self.assertError(reply, 400, 1001)

    def test_authentication_is_checked_before_subaccount(self):
        reply = self.sandbox.request("POST", "/api/v2/subaccounts/other-account/sessions",
                                     {"destination": PHONE}, key=None)
        self.assertError(reply, 401, 1200)

    def test_percent_encoded_subaccount_is_decoded(self):
        reply = self.sandbox.request("POST", "/api/v2/subaccounts/sandbox%2Daccount/sessions",
                                     {"destination": PHONE})
        self.assertEqual(reply.status, 200, reply.body)


# ---------------------------------------------------------------------------------------------
# Initiate: request checks

OUT_OF_RANGE = [
    # (test name part, field as named in the message, body fields)
    ("codeLength_2", "codeLength", {"codeLength": 2}),
    ("codeLength_11", "codeLength", {"codeLength": 11}),
    ("codeValidity_29", "codeValidity", {"codeValidity": 29}),
    ("codeValidity_7201", "codeValidity", {"codeValidity": 7201}),
    ("resendingInterval_9", "resendingInterval", {"resendingInterval": 9}),
    ("resendingInterval_7201", "resendingInterval", {"resendingInterval": 7201}),
    ("brand_31_chars", "brand", {"brand": "b" * 31}),
    ("country_3_letters", "country", {"country": "SGP"}),
    ("channel_voice", "channel", {"channel": "voice"}),
    ("channel_email", "channel", {"channel": "email"}),
    ("codeType_HEX", "codeType", {"codeType": "HEX"}),
    ("codeType_lowercase", "codeType", {"codeType": "numeric"}),
    ("language_lowercase", "language", {"language": "en-us"}),
    ("language_unlisted", "language", {"language": "xx-XX"}),
    ("sms_source_12_letters", "sms.source", {"sms": {"source": "TwelveLetter"}}),
    ("sms_source_17_digits", "sms.source", {"sms": {"source": "+12345678901234567"}}),
    ("sms_source_punctuation", "sms.source", {"sms": {"source": "Acme!"}}),
    ("sms_encoding_UTF8", "sms.encoding", {"sms": {"encoding": "UTF8"}}),
    ("call_speed_0_4", "call.speed", {"call": {"speed": 0.4}}),
    ("call_speed_2_1", "call.speed", {"call": {"speed": 2.1}}),
    ("call_repetition_0", "call.repetition", {"call": {"repetition": 0}}),
    ("call_repetition_4", "call.repetition", {"call": {"repetition": 4}}),
    ("call_voiceProfile_51_chars", "call.voiceProfile", {"call": {"voiceProfile": "v" * 51}}),
    ("callbackUrl_not_a_url", "callbackUrl", {"callbackUrl": "not a url"}),
    ("clientIp_not_an_address", "clientIp", {"clientIp": "300.1.1.1"}),
]

WRONG_TYPES = [
    ("codeLength_string", "codeLength", {"codeLength": "6"}),
    ("codeLength_boolean", "codeLength", {"codeLength": True}),
    ("codeLength_fraction", "codeLength", {"codeLength": 6.5}),
    ("codeValidity_null", "codeValidity", {"codeValidity": None}),
    ("resetSession_string", "resetSession", {"resetSession": "true"}),
    ("brand_number", "brand", {"brand": 7}),
    ("sms_string", "sms", {"sms": "AUTO"}),
    ("call_speed_string", "call.speed", {"call": {"speed": "fast"}}),
    ("whatsapp_templateName_list", "whatsapp.templateName",
     {"channel": "whatsapp", "whatsapp": {"templateName": ["otp"]}}),
]

BAD_NUMBERS = [
    ("7_digits", None, {"destination": "+6591234"}),
    ("16_digits", None, {"destination": "+6591234567890123"}),
    ("letters", None, {"destination": "+65 91A3 4567"}),
    ("empty", None, {"destination": ""}),
    ("two_plus_signs", None, {"destination": "++6591234567"}),
    ("7_digits_without_country", None, {"destination": "9123456"}),
    ("3_digits_with_country", None, {"destination": "912", "country": "SG"}),
]


def add_table_tests(cls, table, status, code, template):
    """One named test per row, so TAP counts and names each case."""
    for label, field, fields in table:
        def test(self, field=field, fields=fields):
            body = {"destination": PHONE, **fields}
            self.assertError(self.sandbox.request("POST", SESSIONS, body), status, code, field)
            self.assertEqual(self.deliveries(), [])
        setattr(cls, template.format(label), test)


class InitiateCheckTests(SandboxTestCase):
    def test_form_content_type_is_400_1000(self):
        reply = self.sandbox.request("POST", SESSIONS, raw=b"destination=%2B6591234567",
                                     content_type="application/x-www-form-urlencoded")
        self.assertError(reply, 400, 1000)

    def test_missing_content_type_is_400_1000(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, content_type=None)
        self.assertError(reply, 400, 1000)

    def test_json_content_type_with_charset_is_accepted(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE},
                                     content_type="application/json; charset=utf-8")
        self.assertEqual(reply.status, 200, reply.body)

    def test_malformed_json_is_400_1000(self):
        reply = self.sandbox.request("POST", SESSIONS, raw=b'{"destination": "+6591234567",}')
        self.assertError(reply, 400, 1000)

    def test_json_array_is_400_1000(self):
        self.assertError(self.sandbox.request("POST", SESSIONS, [PHONE]), 400, 1000)

    def test_empty_body_is_400_1000(self):
        self.assertError(self.sandbox.request("POST", SESSIONS, raw=b""), 400, 1000)

    def test_unknown_field_is_400_1000_naming_it(self):
        self.assertError(self.initiate(expiry=300), 400, 1000, "expiry")

    def test_unknown_nested_field_is_400_1000_naming_it(self):
        self.assertError(self.initiate(sms={"text": "hi"}), 400, 1000, "sms.text")

    def test_field_given_twice_is_400_1000(self):
        raw = b'{"destination": "+6591234567", "codeLength": 6, "codeLength": 8}'
        self.assertError(self.sandbox.request("POST", SESSIONS, raw=raw), 400, 1000, "codeLength")

    def test_missing_destination_is_400_1000(self):
        reply = self.sandbox.request("POST", SESSIONS, {"codeLength": 6})
        self.assertError(reply, 400, 1000, "destination")

    def test_whatsapp_without_template_is_400_1000(self):
        self.assertError(self.initiate(channel="whatsapp"), 400, 1000, "templateName")

    def test_sma_channel_is_400_1010_as_unsupported(self):
        self.assertError(self.initiate(channel="sma"), 400, 1010, "not supported")

    def test_boundary_values_are_accepted(self):
        fields = dict(codeLength=10, codeValidity=7200, resendingInterval=7200, brand="b" * 30,
                      sms={"source": "Acme Bank 1", "encoding": "UCS2"},
                      call={"source": "+6512345678", "speed": 0.5, "repetition": 3,
                            "voiceProfile": "v" * 50},
                      callbackUrl="https://example.com/hook", clientIp="2001:db8::1",
                      language="zh-TW", template="{code}", templateKey="otp", resetSession=True)
        self.started(**fields)
        self.started("+6591234568", codeLength=3, codeValidity=30, resendingInterval=10,
                     sms={"source": "+1234567890123456"}, call={"speed": 2, "repetition": 1})

    def test_every_documented_language_is_accepted(self):
        self.assertEqual(len(LANGUAGES), 48)
        for number, language in enumerate(LANGUAGES):
            self.started(f"+659100{number:04d}", language=language, channel="call")

    def test_published_request_examples_are_accepted(self):
        examples = [
            {"destination": "8765 4321", "country": "SG", "brand": "ABC", "codeLength": 5,
             "codeValidity": 300, "codeType": "NUMERIC", "resendingInterval": 10,
             "channel": "sms", "sms": {"source": "ABC", "encoding": "AUTO"}},
            {"destination": "+65(876)54321", "country": "SG", "brand": "ABC", "codeLength": 5,
             "codeValidity": 300, "language": "en-US", "channel": "call",
             "call": {"source": "+19876543210", "speed": 0.8, "repetition": 3,
                      "voiceProfile": "en-US-Kimberly"}},
            {"destination": "+6587654321", "codeLength": 5, "codeValidity": 300,
             "codeType": "NUMERIC", "resendingInterval": 10, "language": "en-US",
             "channel": "whatsapp", "whatsapp": {"templateName": "abc"}},
        ]
        for example in examples:
            self.sandbox.control("POST", "reset")
            reply = self.sandbox.request("POST", SESSIONS, example)
            self.assertEqual(reply.status, 200, (example, reply.body))


add_table_tests(InitiateCheckTests, OUT_OF_RANGE, 400, 1010, "test_out_of_range_{}_is_400_1010")
add_table_tests(InitiateCheckTests, WRONG_TYPES, 400, 1000, "test_wrong_type_{}_is_400_1000")
add_table_tests(InitiateCheckTests, BAD_NUMBERS, 400, 1002, "test_bad_number_{}_is_400_1002")


# ---------------------------------------------------------------------------------------------
# Initiate: answers and deliveries

class InitiateTests(SandboxTestCase):
    def test_initiate_answers_the_documented_session_shape(self):
        session = self.started()
        self.assertEqual(set(session), SESSION_FIELDS)
        self.assertRegex(session["sessionId"], r"^[0-9a-f]{32}$")
        self.assertEqual(session["verifyUri"], f"{SESSIONS}/{session['sessionId']}")
        self.assertEqual(session["destination"], PHONE)
        self.assertEqual(session["status"], "WAITING")
        self.assertEqual(session["attempt"], 0)

    def test_timestamps_are_utc_with_two_fractional_digits(self):
        session = self.started()
        self.assertRegex(session["expiresAt"], SHORT_TIME)
        self.assertRegex(session["retryAfter"], SHORT_TIME)

    def test_expires_at_is_now_plus_code_validity(self):
        session = self.started(codeValidity=600)
        self.assertAlmostEqual(parse_time(session["expiresAt"]), time.time() + 600, delta=2)

    def test_retry_after_is_now_plus_resending_interval(self):
        session = self.started(resendingInterval=45)
        self.assertAlmostEqual(parse_time(session["retryAfter"]), time.time() + 45, delta=2)

    def test_defaults_are_300_seconds_validity_and_10_seconds_interval(self):
        session = self.started()
        self.assertAlmostEqual(parse_time(session["expiresAt"]), time.time() + 300, delta=2)
        self.assertAlmostEqual(parse_time(session["retryAfter"]), time.time() + 10, delta=2)

    def test_formatted_number_is_normalised(self):
        self.assertEqual(self.started("+65 (912) 3-4567")["destination"], PHONE)

    def test_number_without_plus_is_international(self):
        self.assertEqual(self.started("6591234567")["destination"], PHONE)

    def test_national_number_with_country_is_recorded_as_given(self):
        self.assertEqual(self.started("9123 4567", country="SG")["destination"], "91234567")

    def test_delivery_is_appended_to_outbox(self):
        session = self.started(codeLength=6)
        [delivery] = self.deliveries()
        self.assertEqual(set(delivery), {"time", "sessionId", "destination", "channel", "code",
                                         "message"})
        self.assertEqual(delivery["sessionId"], session["sessionId"])
        self.assertEqual(delivery["destination"], PHONE)
        self.assertEqual(delivery["channel"], "sms")
        self.assertRegex(delivery["code"], r"^[0-9]{6}$")
        self.assertEqual(delivery["message"], f"Your verification code is {delivery['code']}")
        self.assertAlmostEqual(delivery["time"], time.time(), delta=5)

    def test_delivery_is_printed_on_stdout(self):
        session = self.started()
        code = self.code_of(session)
        line = f"[verif8-sandbox] SMS to {PHONE}: Your verification code is {code}\n"
        self.assertIn(line, self.sandbox.stdout())

    def test_voice_channel_is_named_call(self):
        session = self.started(channel="call")
        self.assertIn(f"[verif8-sandbox] voice call to {PHONE}: Your verification code is "
                      f"{self.code_of(session)}\n", self.sandbox.stdout())

    def test_default_code_is_4_digits(self):
        self.assertRegex(self.code_of(self.started()), r"^[0-9]{4}$")

    def test_numeric_with_dash_puts_one_dash_at_the_centre(self):
        # Examples from the codeType description: "231-461" (7) and "234-3294" (8).
        expected = {3: r"\d{3}", 4: r"\d-\d\d", 5: r"\d\d-\d\d", 7: r"\d{3}-\d{3}",
                    8: r"\d{3}-\d{4}", 10: r"\d{4}-\d{5}"}
        for number, (length, pattern) in enumerate(expected.items()):
            session = self.started(f"+65912300{number:02d}", codeType="NUMERIC_WITH_DASH",
                                   codeLength=length)
            self.assertRegex(self.code_of(session), f"^{pattern}$")

    def test_template_fills_code_and_brand(self):
        session = self.started(brand="Acme", template="{brand} login code {code}, {code}")
        code = self.code_of(session)
        self.assertEqual(self.deliveries()[-1]["message"], f"Acme login code {code}, {code}")

    def test_default_message_with_brand(self):
        session = self.started(brand="Acme")
        self.assertEqual(self.deliveries()[-1]["message"],
                         f"Acme: Your verification code is {self.code_of(session)}")

    def test_whatsapp_message_names_the_template(self):
        session = self.started(channel="whatsapp", whatsapp={"templateName": "login_otp"})
        code = self.code_of(session)
        self.assertEqual(self.deliveries()[-1]["message"], f"WhatsApp template login_otp: {code}")
        self.assertIn(f"[verif8-sandbox] WhatsApp to {PHONE}: WhatsApp template login_otp: {code}",
                      self.sandbox.stdout())

    def test_viber_delivery_is_named_viber(self):
        self.started(channel="viber")
        self.assertEqual(self.deliveries()[-1]["channel"], "viber")
        self.assertIn(f"[verif8-sandbox] Viber to {PHONE}: ", self.sandbox.stdout())


CODE_PATTERNS = [
    ("NUMERIC", r"[0-9]{10}"),
    ("ALPHANUMERIC", r"[a-zA-Z0-9]{10}"),
    ("ALPHANUMERIC_CAPITALS", r"[A-Z0-9]{10}"),
    ("ALPHANUMERIC_EASY", r"((?![IOQSZ])[A-Z0-9]){10}"),
]

for _type, _pattern in CODE_PATTERNS:
    def _test(self, code_type=_type, pattern=_pattern):
        self.assertRegex(self.code_of(self.started(codeType=code_type, codeLength=10)),
                         f"^{pattern}$")
    setattr(InitiateTests, f"test_code_type_{_type}_matches_its_documented_regex", _test)


# ---------------------------------------------------------------------------------------------
# Validate

class ValidateTests(SandboxTestCase):
    def test_right_code_verifies(self):
        session = self.started()
        answer = self.validated(session["sessionId"], self.code_of(session))
        self.assertEqual((answer["status"], answer["attempt"]), ("VERIFIED", 0))

    def test_validate_answers_the_session_shape(self):
        session = self.started()
        answer = self.validated(session["sessionId"], self.code_of(session))
        self.assertEqual(set(answer), SESSION_FIELDS)
        self.assertEqual(answer["sessionId"], session["sessionId"])
        self.assertEqual(answer["expiresAt"], session["expiresAt"])

    def test_wrong_code_keeps_waiting_and_counts_an_attempt(self):
        session = self.started(codeLength=6)
        answer = self.validated(session["sessionId"], "x" * 6)
        self.assertEqual((answer["status"], answer["attempt"]), ("WAITING", 1))

    def test_fourth_wrong_code_still_waits(self):
        session = self.started()
        for _ in range(4):
            answer = self.validated(session["sessionId"], "bad")
        self.assertEqual((answer["status"], answer["attempt"]), ("WAITING", 4))

    def test_fifth_wrong_code_fails(self):
        session = self.started()
        for _ in range(5):
            answer = self.validated(session["sessionId"], "bad")
        self.assertEqual((answer["status"], answer["attempt"]), ("FAILED", 5))

    def test_failed_session_stays_failed_with_the_right_code(self):
        session = self.started()
        for _ in range(5):
            self.validated(session["sessionId"], "bad")
        answer = self.validated(session["sessionId"], self.code_of(session))
        self.assertEqual((answer["status"], answer["attempt"]), ("FAILED", 5))

    def test_verified_session_stays_verified_with_a_wrong_code(self):
        session = self.started()
        self.validated(session["sessionId"], self.code_of(session))
        answer = self.validated(session["sessionId"], "bad")
        self.assertEqual((answer["status"], answer["attempt"]), ("VERIFIED", 0))

    def test_code_comparison_is_exact(self):
        session = self.started(codeType="ALPHANUMERIC_CAPITALS", codeLength=10)
        code = self.code_of(session)
        if code == code.lower():
            code = "A" + code[1:]  # all digits: make sure lower() changes something
        answer = self.validated(session["sessionId"], code.lower())
        self.assertEqual(answer["status"], "WAITING")

    def test_status_read_without_code_changes_nothing(self):
        session = self.started()
        answer = self.validated(session["sessionId"])
        self.assertEqual((answer["status"], answer["attempt"]), ("WAITING", 0))

    def test_expire_control_makes_the_session_expired(self):
        session = self.started()
        self.assertEqual(self.sandbox.control("POST", "expire").json["expired"],
                         [session["sessionId"]])
        self.assertEqual(self.validated(session["sessionId"])["status"], "EXPIRED")

    def test_expired_session_stays_expired_with_the_right_code(self):
        session = self.started()
        self.sandbox.control("POST", "expire")
        self.assertEqual(self.validated(session["sessionId"], self.code_of(session))["status"],
                         "EXPIRED")

    def test_session_expires_when_its_validity_has_passed(self):
        session = self.started(codeValidity=30)
        self.sandbox.control("POST", "advance", seconds=30)
        self.assertEqual(self.validated(session["sessionId"])["status"], "EXPIRED")

    def test_session_is_still_waiting_just_before_expiry(self):
        session = self.started(codeValidity=30)
        self.sandbox.control("POST", "advance", seconds=25)
        self.assertEqual(self.validated(session["sessionId"])["status"], "WAITING")

    def test_unknown_session_is_404_1404(self):
        self.assertError(self.validate("0" * 32, "1234"), 404, 1404)

    def test_code_of_2_characters_is_400_1010(self):
        session = self.started()
        self.assertError(self.validate(session["sessionId"], "12"), 400, 1010, "code")

    def test_code_of_11_characters_is_400_1010(self):
        session = self.started()
        self.assertError(self.validate(session["sessionId"], "1" * 11), 400, 1010, "code")

    def test_code_of_wrong_length_counts_no_attempt(self):
        session = self.started()
        self.validate(session["sessionId"], "12")
        self.assertEqual(self.validated(session["sessionId"])["attempt"], 0)


# ---------------------------------------------------------------------------------------------
# Sending again to the same number

class ResendTests(SandboxTestCase):
    def test_resend_inside_the_interval_is_403_1400(self):
        self.started()
        self.assertError(self.initiate(), 403, 1400)

    def test_resend_inside_the_interval_delivers_nothing(self):
        self.started()
        self.initiate()
        self.assertEqual(len(self.deliveries()), 1)

    def test_interval_is_the_sessions_own(self):
        session = self.started(resendingInterval=60)
        self.sandbox.control("POST", "advance", seconds=30, sessionId=session["sessionId"])
        self.assertError(self.initiate(), 403, 1400)

    def test_resend_after_the_interval_keeps_session_and_code(self):
        first = self.started(resendingInterval=10)
        self.sandbox.control("POST", "advance", seconds=10)
        second = self.started(resendingInterval=10)
        self.assertEqual(second["sessionId"], first["sessionId"])
        codes = [d["code"] for d in self.deliveries()]
        self.assertEqual(len(codes), 2)
        self.assertEqual(codes[0], codes[1])

    def test_resend_with_reset_session_sends_a_new_code(self):
        first = self.started(codeType="ALPHANUMERIC", codeLength=10)
        self.sandbox.control("POST", "advance", seconds=10)
        second = self.started(codeType="ALPHANUMERIC", codeLength=10, resetSession=True)
        self.assertEqual(second["sessionId"], first["sessionId"])
        codes = [d["code"] for d in self.deliveries()]
        self.assertNotEqual(codes[0], codes[1])
        answer = self.validated(first["sessionId"], codes[1])
        self.assertEqual(answer["status"], "VERIFIED")

    def test_resend_extends_validity(self):
        self.started(codeValidity=300)
        self.sandbox.control("POST", "advance", seconds=100)
        second = self.started(codeValidity=300)
        self.assertAlmostEqual(parse_time(second["expiresAt"]), time.time() + 300, delta=2)

    def test_resend_keeps_the_attempt_count(self):
        first = self.started()
        self.validated(first["sessionId"], "bad")
        self.sandbox.control("POST", "advance", seconds=10)
        self.assertEqual(self.started()["attempt"], 1)

    def test_resend_may_switch_channel(self):
        self.started()
        self.sandbox.control("POST", "advance", seconds=10)
        self.started(channel="call")
        self.assertEqual([d["channel"] for d in self.deliveries()], ["sms", "call"])

    def test_number_with_a_final_session_starts_a_new_session(self):
        first = self.started()
        self.validated(first["sessionId"], self.code_of(first))
        second = self.started()
        self.assertNotEqual(second["sessionId"], first["sessionId"])
        self.assertEqual(second["status"], "WAITING")

    def test_other_numbers_are_not_held_back(self):
        self.started()
        self.started("+6591234568")


# ---------------------------------------------------------------------------------------------
# requests.jsonl and the controls

class RequestLogTests(SandboxTestCase):
    def test_initiate_is_logged_with_body_auth_and_status(self):
        self.started(codeLength=6)
        [entry] = self.logged()
        self.assertEqual(set(entry), {"time", "method", "path", "query", "codePresent",
                                      "codeLength", "codeMatched", "auth", "contentType", "body",
                                      "status", "errorCode"})
        self.assertEqual(entry["method"], "POST")
        self.assertEqual(entry["path"], SESSIONS)
        self.assertEqual(entry["body"], {"destination": PHONE, "codeLength": 6})
        self.assertEqual((entry["auth"], entry["contentType"]), ("ok", "application/json"))
        self.assertEqual((entry["status"], entry["errorCode"]), (200, None))
        self.assertEqual((entry["codePresent"], entry["codeLength"], entry["codeMatched"]),
                         (False, None, None))

    def test_validate_is_logged_with_code_facts_not_the_code(self):
        session = self.started(codeLength=6)
        self.validated(session["sessionId"], "bad-code")
        self.validated(session["sessionId"], self.code_of(session))
        wrong, right = self.logged()[-2:]
        self.assertEqual(wrong["path"], f"{SESSIONS}/{session['sessionId']}")
        self.assertEqual(wrong["query"], {})
        self.assertEqual((wrong["codePresent"], wrong["codeLength"], wrong["codeMatched"]),
                         (True, 8, False))
        self.assertEqual((right["codePresent"], right["codeLength"], right["codeMatched"]),
                         (True, 6, True))

    def test_other_query_parameters_are_logged(self):
        session = self.started()
        self.sandbox.request("GET", f"{SESSIONS}/{session['sessionId']}?code=1234&lang=en")
        entry = self.logged()[-1]
        self.assertEqual(entry["query"], {"lang": "en"})
        self.assertEqual(entry["path"], f"{SESSIONS}/{session['sessionId']}")

    def test_code_match_is_null_without_a_session(self):
        self.validate("0" * 32, "1234")
        entry = self.logged()[-1]
        self.assertEqual((entry["codeMatched"], entry["status"], entry["errorCode"]),
                         (None, 404, 1404))

    def test_auth_is_recorded_as_missing_or_bad(self):
        self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key=None)
        self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key="wrong-key")
        self.assertEqual([e["auth"] for e in self.logged()], ["missing", "bad"])

    def test_log_never_holds_the_code_or_the_key(self):
        session = self.started(codeType="ALPHANUMERIC", codeLength=10)
        code = self.code_of(session)
        self.validated(session["sessionId"], code)
        self.validate(session["sessionId"], code, key="another-secret-key")
        text = self.sandbox.text("requests.jsonl")
        for secret in (code, KEY, "another-secret-key"):
            self.assertNotIn(secret, text)

    def test_non_json_body_is_logged_unparsed(self):
        self.sandbox.request("POST", SESSIONS, raw=b"destination=x" + b"y" * 300,
                             content_type="text/plain")
        entry = self.logged()[-1]
        self.assertEqual(entry["body"], {"unparsed": "destination=x" + "y" * 187})
        self.assertEqual((entry["contentType"], entry["errorCode"]), ("text/plain", 1000))

    def test_control_endpoints_are_not_logged(self):
        for method, name in (("GET", "sessions"), ("POST", "expire"), ("POST", "reset")):
            self.sandbox.control(method, name)
        self.assertEqual(self.logged(), [])


class ControlTests(SandboxTestCase):
    def test_reset_forgets_sessions(self):
        session = self.started()
        self.sandbox.control("POST", "reset")
        self.assertError(self.validate(session["sessionId"]), 404, 1404)

    def test_reset_forgets_the_resend_history(self):
        self.started()
        self.sandbox.control("POST", "reset")
        self.started()

    def test_reset_keeps_the_log_files(self):
        self.started()
        self.sandbox.control("POST", "reset")
        self.assertEqual(len(self.deliveries()), 1)
        self.assertEqual(len(self.logged()), 1)

    def test_sessions_lists_codes(self):
        session = self.started()
        [listed] = self.sandbox.control("GET", "sessions").json["sessions"]
        self.assertEqual(listed["sessionId"], session["sessionId"])
        self.assertEqual(listed["code"], self.code_of(session))
        self.assertEqual(listed["status"], "WAITING")

    def test_expire_by_session_id_leaves_others_waiting(self):
        first = self.started()
        second = self.started("+6591234568")
        self.sandbox.control("POST", "expire", sessionId=first["sessionId"])
        self.assertEqual(self.validated(first["sessionId"])["status"], "EXPIRED")
        self.assertEqual(self.validated(second["sessionId"])["status"], "WAITING")

    def test_advance_refuses_a_bad_number_of_seconds(self):
        self.assertError(self.sandbox.control("POST", "advance", seconds="soon"), 400, 1000)

    def test_unknown_control_is_404(self):
        self.assertError(self.sandbox.control("POST", "nonsense"), 404, 1300)


# ---------------------------------------------------------------------------------------------
# Fault switches

class TcpTls:
    """A TLS client over a plain socket through memory BIOs, so a test sees the TCP events
    (FIN, RST, silence) that an SSLSocket folds into its own errors."""

    def __init__(self, port: int, context: ssl.SSLContext, timeout: float = 5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._in, self._out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self._in, self._out, server_hostname="127.0.0.1")
        self._pump(self.tls.do_handshake)

    CLOSE_NOTIFY = "close_notify"

    def _flush(self):
        data = self._out.read()
        if data:
            self.sock.sendall(data)

    def _pump(self, step):
        while True:
            try:
                result = step()
                self._flush()
                return result
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)  # raises ConnectionResetError on an RST
                if data:
                    self._in.write(data)
                elif self._in.eof:
                    raise EOFError("FIN without close_notify")
                else:
                    self._in.write_eof()

    def send(self, data: bytes) -> None:
        self.tls.write(data)
        self._flush()

    def receive(self) -> bytes:
        """The next decrypted bytes; b"" once close_notify has come. Raises TimeoutError
        (silence), ConnectionResetError (RST), EOFError or SSLEOFError (FIN alone)."""
        return self._pump(lambda: self.tls.read(65536))

    def receive_all(self) -> tuple[bytes, Any]:
        """Everything until the connection ends, and how it ended: CLOSE_NOTIFY or the error."""
        received = b""
        while True:
            try:
                chunk = self.receive()
            except (OSError, EOFError) as ending:  # ssl.SSLError is an OSError
                return received, ending
            if not chunk:
                return received, self.CLOSE_NOTIFY
            received += chunk

    def close(self) -> None:
        self.sock.close()


def request_bytes(method: str, path: str, body=None) -> bytes:
    data = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {KEY}"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def split_answer(data: bytes) -> tuple[str, dict, bytes]:
    """Status line, headers (lower-cased names) and body of one raw HTTP answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status_line, headers, body


def curl(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True,
                          timeout=timeout)


class FaultTestCase(SandboxTestCase):
    def arm(self, route: str, kind: str, **params) -> dict:
        reply = self.sandbox.control("POST", "fault", route=route, kind=kind, **params)
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json

    def tcp_tls(self, timeout: float = 5, port: int = None) -> TcpTls:
        client = TcpTls(port or self.sandbox.port, self.sandbox.tls(), timeout)
        self.addCleanup(client.close)
        return client

    def curl_initiate(self, *args: str) -> subprocess.CompletedProcess:
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        return curl("--cacert", self.sandbox.info["ca_file"], "-H", f"Authorization: Bearer {KEY}",
                    "-H", "Content-Type: application/json", "-d",
                    json.dumps({"destination": PHONE}), *args,
                    f"{self.sandbox.info['url']}{SESSIONS}")

    def session_line(self) -> dict:
        [entry] = self.logged()
        return entry


class FaultControlTests(FaultTestCase):
    def test_arming_answers_the_fault_and_the_list(self):
        answer = self.arm("initiate", "status", status=500)
        expected = {"route": "initiate", "kind": "status", "remaining": 1, "process": False,
                    "status": 500, "code": 2000, "body": "json"}
        self.assertEqual(answer["armed"], expected)
        self.assertEqual(answer["faults"], [expected])

    def test_faults_lists_armed_faults(self):
        self.arm("validate", "hang", times=3)
        self.arm("any", "trickle")
        listed = self.sandbox.control("GET", "faults").json["faults"]
        self.assertEqual([(f["route"], f["kind"], f["remaining"]) for f in listed],
                         [("validate", "hang", 3), ("any", "trickle", 1)])

    def test_a_fault_fires_once_by_default(self):
        self.arm("initiate", "status", status=500)
        self.assertError(self.initiate(), 500, 2000)
        self.assertEqual(self.initiate().status, 200)

    def test_a_fault_is_consumed_after_times_requests(self):
        self.arm("initiate", "status", status=503, times=3)
        statuses = [self.initiate(f"+659123456{n}").status for n in range(4)]
        self.assertEqual(statuses, [503, 503, 503, 200])
        self.assertEqual(self.sandbox.control("GET", "faults").json["faults"], [])

    def test_remaining_counts_down(self):
        self.arm("initiate", "malformed", times=3)
        self.initiate()
        [fault] = self.sandbox.control("GET", "faults").json["faults"]
        self.assertEqual(fault["remaining"], 2)

    def test_initiate_route_leaves_validate_alone(self):
        session = self.started()
        self.arm("initiate", "status", status=500)
        self.assertEqual(self.validate(session["sessionId"]).status, 200)
        self.assertError(self.initiate("+6591234568"), 500, 2000)

    def test_validate_route_leaves_initiate_and_status_reads_alone(self):
        self.arm("validate", "status", status=500)
        session = self.started()
        self.assertEqual(self.validate(session["sessionId"]).status, 200)
        self.assertError(self.validate(session["sessionId"], "000000"), 500, 2000)

    def test_status_route_matches_only_reads_without_a_code(self):
        self.arm("status", "status", status=503)
        session = self.started()
        self.assertEqual(self.validate(session["sessionId"], "000000").status, 200)
        self.assertError(self.validate(session["sessionId"]), 503, 2000)

    def test_any_route_matches_both_calls(self):
        self.arm("any", "status", status=502, times=2)
        self.assertEqual(self.initiate().status, 502)
        self.assertEqual(self.validate("0" * 32).status, 502)

    def test_any_route_matches_other_api_paths(self):
        self.arm("any", "status", status=500)
        self.assertError(self.sandbox.request("GET", "/api/v1/verify"), 500, 2000)

    def test_faults_fire_in_the_order_they_were_armed(self):
        self.arm("any", "status", status=500)
        self.arm("any", "status", status=503)
        self.assertEqual([self.initiate().status, self.initiate().status], [500, 503])

    def test_control_requests_do_not_consume_faults(self):
        self.arm("any", "status", status=500)
        self.sandbox.control("GET", "sessions")
        self.assertEqual(self.initiate().status, 500)

    def test_clear_removes_every_fault(self):
        self.arm("initiate", "status", status=500, times=5)
        self.arm("validate", "hang")
        reply = self.sandbox.control("POST", "fault", clear=1)
        self.assertEqual(reply.json, {"cleared": 2, "faults": []})
        self.assertEqual(self.initiate().status, 200)

    def test_reset_clears_faults(self):
        self.arm("any", "status", status=500, times=5)
        self.assertEqual(self.sandbox.control("POST", "reset").json["faultsCleared"], 1)
        self.assertEqual(self.initiate().status, 200)

    def test_fault_needs_post(self):
        self.assertError(self.sandbox.control("GET", "fault", route="any", kind="hang"), 405, 1000)

    def test_clear_takes_no_other_parameter(self):
        self.assertError(self.sandbox.control("POST", "fault", clear=1, kind="hang"), 400, 1000)


BAD_FAULTS = [
    # (test name part, query, word the message must contain)
    ("unknown_kind", {"route": "any", "kind": "slow"}, "kind"),
    ("missing_kind", {"route": "any"}, "kind"),
    ("unknown_route", {"route": "sessions", "kind": "hang"}, "route"),
    ("missing_route", {"kind": "hang"}, "route"),
    ("times_0", {"route": "any", "kind": "hang", "times": 0}, "times"),
    ("times_not_a_number", {"route": "any", "kind": "hang", "times": "two"}, "times"),
    ("parameter_of_another_kind", {"route": "any", "kind": "hang", "interval_ms": 5},
     "interval_ms"),
    ("status_missing", {"route": "any", "kind": "status"}, "status"),
    ("status_200", {"route": "any", "kind": "status", "status": 200}, "status"),
    ("html_body_for_500", {"route": "any", "kind": "status", "status": 500, "body": "html"},
     "html"),
    ("unknown_body", {"route": "any", "kind": "status", "status": 503, "body": "xml"}, "body"),
    ("retry_after_negative", {"route": "any", "kind": "status", "status": 429,
                              "retry_after": -1}, "retry_after"),
    ("interval_ms_0", {"route": "any", "kind": "trickle", "interval_ms": 0}, "interval_ms"),
    ("process_0_for_trickle", {"route": "any", "kind": "trickle", "process": 0}, "process"),
    ("process_0_for_reset", {"route": "any", "kind": "reset", "process": 0}, "process"),
    ("process_yes", {"route": "any", "kind": "hang", "process": "yes"}, "process"),
]


def add_bad_fault_tests(cls):
    for label, query, word in BAD_FAULTS:
        def test(self, query=query, word=word):
            self.assertError(self.sandbox.control("POST", "fault", **query), 400, 1000, word)
            self.assertEqual(self.sandbox.control("GET", "faults").json["faults"], [])
        setattr(cls, f"test_bad_fault_{label}_is_400_1000", test)


add_bad_fault_tests(FaultControlTests)


class FaultLogTests(FaultTestCase):
    def test_a_faulted_request_is_logged_with_its_fault_and_the_status_sent(self):
        self.arm("initiate", "status", status=503)
        self.initiate()
        entry = self.session_line()
        self.assertEqual((entry["fault"], entry["status"], entry["errorCode"]),
                         ("status", 503, 2000))
        self.assertEqual(entry["body"], {"destination": PHONE})

    def test_an_unprocessed_fault_logs_no_api_status(self):
        self.arm("initiate", "status", status=500)
        self.initiate()
        self.assertIsNone(self.session_line()["apiStatus"])

    def test_a_processed_fault_logs_the_api_status(self):
        self.arm("initiate", "malformed")
        self.initiate(PHONE, codeLength=2)
        entry = self.session_line()
        self.assertEqual((entry["fault"], entry["status"], entry["apiStatus"]),
                         ("malformed", 200, 400))

    def test_a_request_with_no_answer_is_logged_with_null_status(self):
        self.arm("initiate", "close")
        with self.assertRaises(http.client.RemoteDisconnected):
            self.initiate()
        entry = self.session_line()
        self.assertEqual((entry["fault"], entry["status"]), ("close", None))

    def test_a_hung_request_is_logged_while_it_hangs(self):
        self.arm("initiate", "hang")
        client = self.tcp_tls(timeout=1)
        client.send(request_bytes("POST", SESSIONS, {"destination": PHONE}))
        deadline = time.monotonic() + 1
        while not self.logged() and time.monotonic() < deadline:
            time.sleep(0.02)
        entry = self.session_line()
        self.assertEqual((entry["fault"], entry["status"]), ("hang", None))

    def test_a_faulted_validate_still_hides_the_code(self):
        # A long code: a short one of digits turns up by chance in the log's times and ids.
        session = self.started(codeType="ALPHANUMERIC", codeLength=10)
        self.arm("validate", "verified")
        self.validate(session["sessionId"], self.code_of(session))
        self.assertEqual(self.logged()[-1]["fault"], "verified")
        self.assertNotIn(self.code_of(session), self.sandbox.text("requests.jsonl"))

    def test_unfaulted_lines_have_no_fault_fields(self):
        self.arm("validate", "hang")
        self.started()
        self.assertNotIn("fault", self.session_line())
        self.assertNotIn("apiStatus", self.session_line())


# Status faults: (HTTP status, code asked for or None for the default, code expected)
STATUS_FAULTS = [
    (500, None, 2000), (500, 2000, 2000), (502, None, 2000), (503, None, 2000),
    (504, None, 2000), (401, None, 1200), (400, 1001, 1001), (400, 1002, 1002),
    (400, 1010, 1010), (403, None, 1400), (404, None, 1404), (426, None, 1014),
    (429, None, 429),
]


def add_status_fault_tests(cls):
    for status, asked, code in STATUS_FAULTS:
        def test(self, status=status, asked=asked, code=code):
            params = {"status": status} if asked is None else {"status": status, "code": asked}
            self.arm("initiate", "status", **params)
            self.assertError(self.initiate(), status, code)
        name = f"{status}_{asked}" if asked is not None else f"{status}_default_code"
        setattr(cls, f"test_status_{name}_sends_the_envelope_with_{code}", test)
    for status in (502, 503, 504):
        def test(self, status=status):
            self.arm("validate", "status", status=status, body="html")
            reply = self.validate("0" * 32, "000000")
            self.assertEqual(reply.status, status)
            self.assertEqual(reply.headers["content-type"], "text/html")
            self.assertTrue(reply.body.startswith(b"<html>"))
            self.assertIn(str(status).encode(), reply.body)
        setattr(cls, f"test_status_{status}_html_sends_a_load_balancer_page", test)


class StatusFaultTests(FaultTestCase):
    def test_426_has_the_upgrade_header(self):
        self.arm("initiate", "status", status=426)
        self.assertEqual(self.initiate().headers.get("upgrade"), "TLS/1.3")

    def test_429_with_retry_after_sends_the_header(self):
        self.arm("initiate", "status", status=429, retry_after=7)
        reply = self.initiate()
        self.assertError(reply, 429, 429)
        self.assertEqual(reply.headers.get("retry-after"), "7")

    def test_429_without_retry_after_sends_no_header(self):
        self.arm("initiate", "status", status=429)
        self.assertNotIn("retry-after", self.initiate().headers)

    def test_status_fault_sends_no_code(self):
        self.arm("initiate", "status", status=500)
        self.initiate()
        self.assertEqual(self.deliveries(), [])
        self.assertEqual(self.sandbox.control("GET", "sessions").json["sessions"], [])

    def test_status_fault_with_process_1_sends_the_code_anyway(self):
        self.arm("initiate", "status", status=500, process=1)
        self.assertEqual(self.initiate().status, 500)
        self.assertEqual(len(self.deliveries()), 1)

    def test_status_fault_on_validate_counts_no_attempt(self):
        session = self.started()
        self.arm("validate", "status", status=500)
        self.validate(session["sessionId"], "0000")
        self.assertEqual(self.validated(session["sessionId"])["attempt"], 0)

    def test_status_fault_keeps_the_connection_usable(self):
        self.arm("initiate", "status", status=503)
        connection = self.sandbox.connection()
        try:
            first = self.sandbox.request("POST", SESSIONS, {"destination": PHONE},
                                         connection=connection)
            second = self.sandbox.request("POST", SESSIONS, {"destination": PHONE},
                                          connection=connection)
        finally:
            connection.close()
        self.assertEqual((first.status, second.status), (503, 200))


add_status_fault_tests(StatusFaultTests)


class TransportFaultTests(FaultTestCase):
    def test_hang_sends_nothing_while_the_client_waits(self):
        self.arm("initiate", "hang")
        client = self.tcp_tls(timeout=1)
        client.send(request_bytes("POST", SESSIONS, {"destination": PHONE}))
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            client.receive()
        self.assertGreaterEqual(time.monotonic() - started, 0.9)

    def test_curl_gives_up_on_hang_with_exit_28(self):
        self.arm("initiate", "hang")
        result = self.curl_initiate("-m", "1")
        self.assertEqual(result.returncode, 28, result.stderr)

    def test_hang_processes_the_request(self):
        self.arm("initiate", "hang")
        self.curl_initiate("-m", "0.5")
        self.assertEqual(len(self.deliveries()), 1)

    def test_hang_with_process_0_sends_no_code(self):
        self.arm("initiate", "hang", process=0)
        self.curl_initiate("-m", "0.5")
        self.assertEqual(self.deliveries(), [])

    def test_trickle_sends_the_correct_answer_slowly(self):
        self.arm("initiate", "trickle", interval_ms=1)
        started = time.monotonic()
        reply = self.initiate()
        elapsed = time.monotonic() - started
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.json["sessionId"], self.deliveries()[0]["sessionId"])
        self.assertGreaterEqual(elapsed, len(reply.body) * 0.001)

    def test_trickle_sends_one_byte_every_500_ms_by_default(self):
        self.arm("initiate", "trickle")
        client = self.tcp_tls()
        client.send(request_bytes("POST", SESSIONS, {"destination": PHONE}))
        started = time.monotonic()
        first = client.receive()
        after_first = time.monotonic()
        second = client.receive()
        after_second = time.monotonic()
        self.assertEqual(first + second, b"HT")
        self.assertGreaterEqual(after_first - started, 0.4)
        self.assertGreaterEqual(after_second - after_first, 0.4)

    def test_reset_sends_head_and_half_the_body_then_a_tcp_reset(self):
        self.arm("initiate", "reset")
        client = self.tcp_tls()
        client.send(request_bytes("POST", SESSIONS, {"destination": PHONE}))
        received, ending = client.receive_all()
        status_line, headers, body = split_answer(received)
        self.assertIsInstance(ending, ConnectionResetError)
        self.assertEqual(status_line, "HTTP/1.1 200 OK")
        whole = int(headers["content-length"])
        self.assertEqual(len(body), whole // 2)
        self.assertTrue(body.startswith(b'{"sessionId": '))

    def test_curl_fails_on_reset_with_exit_18_or_56(self):
        self.arm("initiate", "reset")
        result = self.curl_initiate()
        self.assertIn(result.returncode, (18, 56), result.stderr)

    def test_close_sends_nothing_and_closes_in_order(self):
        self.arm("initiate", "close")
        client = self.tcp_tls()
        client.send(request_bytes("POST", SESSIONS, {"destination": PHONE}))
        received, ending = client.receive_all()
        self.assertEqual((received, ending), (b"", TcpTls.CLOSE_NOTIFY))  # not a reset
        self.assertEqual(client.sock.recv(1), b"")  # then FIN

    def test_curl_gets_an_empty_reply_on_close(self):
        self.arm("initiate", "close")
        result = self.curl_initiate()
        self.assertEqual(result.returncode, 52, result.stderr)


class BodyFaultTests(FaultTestCase):
    def started_then_armed(self, kind: str) -> dict:
        """A started session and a fault for the next request about it, a code check or a
        status read."""
        session = self.started()
        self.arm("any", kind)
        return session

    def test_malformed_sends_broken_json(self):
        self.arm("initiate", "malformed")
        reply = self.initiate()
        self.assertEqual((reply.status, reply.body), (200, b'{"sessionId": "abc", "status": '))
        self.assertEqual(reply.headers["content-type"], "application/json")

    def test_truncated_sends_the_first_half_of_a_valid_session(self):
        self.arm("initiate", "truncated")
        reply = self.initiate()
        session_id = self.deliveries()[0]["sessionId"]
        self.assertEqual(reply.status, 200)
        self.assertEqual(int(reply.headers["content-length"]), len(reply.body))
        self.assertTrue(reply.body.startswith(f'{{"sessionId": "{session_id}"'.encode()))
        self.assertRaises(ValueError, json.loads, reply.body)

    def test_truncated_is_half_of_what_validate_would_send(self):
        session = self.started_then_armed("truncated")
        cut = self.validate(session["sessionId"]).body
        whole = self.validate(session["sessionId"]).body
        self.assertEqual(cut, whole[:len(whole) // 2])

    def test_huge_sends_10_mb_starting_with_a_verified_session(self):
        session = self.started_then_armed("huge")
        reply = self.validate(session["sessionId"])
        self.assertEqual(len(reply.body), 10 * 1024 * 1024)
        self.assertEqual(int(reply.headers["content-length"]), len(reply.body))
        self.assertEqual(reply.body.rstrip(b" ")[-1:], b"}")
        body = reply.json  # whitespace after the object is valid JSON
        self.assertEqual((body["sessionId"], body["status"]), (session["sessionId"], "VERIFIED"))

    def test_wrong_types_sends_a_number_status_and_a_string_attempt(self):
        session = self.started_then_armed("wrong_types")
        body = self.validate(session["sessionId"]).json
        self.assertEqual((body["status"], body["attempt"]), (1, "x"))
        self.assertEqual(set(body), SESSION_FIELDS)

    def test_missing_fields_sends_only_attempt(self):
        session = self.started_then_armed("missing_fields")
        self.assertEqual(self.validate(session["sessionId"]).json, {"attempt": 0})

    def test_other_session_sends_a_verified_session_with_another_id(self):
        session = self.started_then_armed("other_session")
        body = self.validate(session["sessionId"], self.code_of(session)).json
        self.assertNotEqual(body["sessionId"], session["sessionId"])
        self.assertEqual(body["status"], "VERIFIED")
        self.assertEqual(set(body), SESSION_FIELDS)
        self.assertEqual(body["verifyUri"], f"{SESSIONS}/{body['sessionId']}")

    def test_unknown_status_sends_approved_for_the_session(self):
        session = self.started_then_armed("unknown_status")
        body = self.validate(session["sessionId"]).json
        self.assertEqual((body["sessionId"], body["status"]), (session["sessionId"], "APPROVED"))

    def test_redirect_sends_302_to_elsewhere_with_a_verified_body(self):
        session = self.started_then_armed("redirect")
        reply = self.validate(session["sessionId"])
        self.assertEqual(reply.status, 302)
        self.assertEqual(reply.headers["location"],
                         f"https://127.0.0.1:{self.sandbox.port}/elsewhere")
        self.assertEqual(reply.json["status"], "VERIFIED")

    def test_verified_answers_verified_for_a_wrong_code(self):
        session = self.started_then_armed("verified")
        body = self.validate(session["sessionId"], "0000" if self.code_of(session) != "0000"
                             else "1111").json
        self.assertEqual((body["sessionId"], body["status"]), (session["sessionId"], "VERIFIED"))

    def test_verified_leaves_the_real_session_waiting(self):
        session = self.started_then_armed("verified")
        self.validate(session["sessionId"], "wrong")
        real = self.validated(session["sessionId"])
        self.assertEqual((real["status"], real["attempt"]), ("WAITING", 1))

    def test_initiate_fault_bodies_use_the_new_session(self):
        self.arm("initiate", "verified")
        body = self.initiate().json
        self.assertEqual(body["sessionId"], self.deliveries()[0]["sessionId"])
        self.assertEqual(body["status"], "VERIFIED")

    def test_validate_fault_names_an_unknown_session_too(self):
        self.arm("validate", "unknown_status")
        body = self.validate("f" * 32, "000000").json
        self.assertEqual((body["sessionId"], body["status"]), ("f" * 32, "APPROVED"))


# ---------------------------------------------------------------------------------------------
# TLS fault listeners and the blackhole (--tls-faults), on a second sandbox

def port_of(url: str) -> int:
    return urllib.parse.urlsplit(url).port


class TlsFaultTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sandbox = Sandbox("--tls-faults", "--quiet").start()

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.remove()

    def handshake(self, name: str, context: ssl.SSLContext = None) -> ssl.SSLSocket:
        context = context or self.sandbox.tls()
        raw = socket.create_connection(("127.0.0.1", port_of(self.url(name))), timeout=5)
        self.addCleanup(raw.close)
        tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.addCleanup(tls.close)
        return tls

    def url(self, name: str) -> str:
        url = self.sandbox.info["tls_faults"][name]
        if url is None:  # the sandbox offers tls11 only where Python/OpenSSL can speak TLS 1.1
            self.skipTest(f"the sandbox does not offer {name} here")
        return url

    def certificate_text(self, name: str) -> str:
        return subprocess.run(["openssl", "x509", "-in", os.path.join(self.sandbox.state_dir, name),
                               "-noout", "-dates", "-ext", "subjectAltName"],
                              capture_output=True, text=True, check=True).stdout

    def assertVerifyFails(self, name: str, verify_code: int, words: str):
        with self.assertRaises(ssl.SSLCertVerificationError) as caught:
            self.handshake(name)
        self.assertEqual(caught.exception.verify_code, verify_code, caught.exception)
        self.assertIn(words, caught.exception.verify_message)

    def test_sandbox_json_lists_the_listeners_and_the_blackhole(self):
        info = self.sandbox.info
        self.assertEqual(set(info["tls_faults"]), {"untrusted", "wrong_host", "expired", "tls11"})
        urls = [url for url in info["tls_faults"].values() if url] + [info["blackhole"]]
        for url in urls:
            self.assertRegex(url, r"^https://127\.0\.0\.1:\d+$")
        ports = {info["port"], *(port_of(url) for url in urls)}
        self.assertEqual(len(ports), len(urls) + 1)

    def test_sandbox_json_has_no_fault_listeners_without_the_flag(self):
        self.assertNotIn("tls_faults", SANDBOX.info)
        self.assertNotIn("blackhole", SANDBOX.info)

    def test_fault_certificate_keys_are_private(self):
        for key in ("untrusted-ca.key", "untrusted.key", "wrong-host.key", "expired.key"):
            mode = os.stat(os.path.join(self.sandbox.state_dir, key)).st_mode
            self.assertEqual(mode & 0o077, 0, key)

    def test_untrusted_fails_as_an_unknown_ca(self):
        self.assertVerifyFails("untrusted", 20, "unable to get local issuer certificate")

    def test_untrusted_verifies_against_its_own_ca(self):
        context = ssl.create_default_context(
            cafile=os.path.join(self.sandbox.state_dir, "untrusted-ca.pem"))
        self.assertEqual(self.handshake("untrusted", context).version(), "TLSv1.3")

    def test_wrong_host_fails_as_a_host_name_mismatch(self):
        self.assertVerifyFails("wrong_host", 64, "IP address mismatch")

    def test_wrong_host_certificate_names_only_wrong_example(self):
        text = self.certificate_text("wrong-host.pem")
        self.assertIn("DNS:wrong.example", text)
        self.assertNotIn("IP Address", text)

    def test_expired_fails_as_expired(self):
        self.assertVerifyFails("expired", 10, "certificate has expired")

    def test_expired_certificate_lies_wholly_in_the_past(self):
        text = self.certificate_text("expired.pem")
        self.assertIn("notBefore=Jan  1 00:00:00 2020 GMT", text)
        self.assertIn("notAfter=Feb  1 00:00:00 2020 GMT", text)
        self.assertIn("IP Address:127.0.0.1", text)

    def test_expired_certificate_is_signed_by_the_real_ca(self):
        state = self.sandbox.state_dir
        result = subprocess.run(["openssl", "verify", "-no_check_time", "-CAfile",
                                 os.path.join(state, "ca.pem"), os.path.join(state, "expired.pem")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_tls11_refuses_a_client_requiring_tls_1_2_with_protocol_version(self):
        context = self.sandbox.tls()
        context.minimum_version = ssl.TLSVersion.TLSv1_2  # as the module asks libcurl to
        with self.assertRaises(ssl.SSLError) as caught:
            self.handshake("tls11", context)
        self.assertEqual(caught.exception.reason, "TLSV1_ALERT_PROTOCOL_VERSION")

    def test_tls11_fails_a_default_client(self):
        with self.assertRaises(ssl.SSLError):
            self.handshake("tls11")

    def test_tls11_really_serves_the_api_over_tls_1_1(self):
        context = self.sandbox.tls()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # old on purpose
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        tls = self.handshake("tls11", context)
        self.assertEqual(tls.version(), "TLSv1.1")
        tls.sendall(request_bytes("GET", f"{SESSIONS}/{'0' * 32}"))
        self.assertTrue(tls.recv(65536).startswith(b"HTTP/1.1 404 "))

    def test_curl_requiring_tls_1_2_fails_on_tls11_with_exit_35(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        result = curl("--tlsv1.2", "--cacert", self.sandbox.info["ca_file"], self.url("tls11"))
        self.assertEqual(result.returncode, 35, result.stderr)
        self.assertIn("protocol version", result.stderr)

    def test_blackhole_connect_times_out(self):
        started = time.monotonic()
        with self.assertRaises(TimeoutError):  # not ConnectionRefusedError, not a connection
            socket.create_connection(("127.0.0.1", port_of(self.sandbox.info["blackhole"])),
                                     timeout=0.5).close()
        self.assertGreaterEqual(time.monotonic() - started, 0.45)

    def test_curl_connect_to_blackhole_times_out_with_exit_28(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        result = curl("--connect-timeout", "0.5", "--cacert", self.sandbox.info["ca_file"],
                      self.sandbox.info["blackhole"])
        self.assertEqual(result.returncode, 28, result.stderr)

    def test_fault_listeners_share_sessions_with_the_main_port(self):
        context = self.sandbox.tls()
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.sandbox.port, context=context, timeout=5)
        connection.request("POST", SESSIONS, json.dumps({"destination": PHONE}),
                           {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
        session = json.loads(connection.getresponse().read())
        connection.close()
        context = ssl.create_default_context(
            cafile=os.path.join(self.sandbox.state_dir, "untrusted-ca.pem"))
        tls = self.handshake("untrusted", context)
        tls.sendall(request_bytes("GET", f"{SESSIONS}/{session['sessionId']}"))
        self.assertIn(session["sessionId"].encode(), tls.recv(65536))


# ---------------------------------------------------------------------------------------------
# Style flags, on a second sandbox

class StyleFlagTests(SandboxTestCase):
    SUBACCOUNT = "other.sub&co"
    OTHER_SESSIONS = f"/api/v2/subaccounts/{urllib.parse.quote(SUBACCOUNT, safe='')}/sessions"

    @classmethod
    def setUpClass(cls):
        cls.sandbox_under_test = Sandbox(
            "--timestamp-style", "long", "--session-id-style", "uuid", "--destination-style",
            "noplus", "--verify-uri", "absolute", "--api-key", "other-key", "--subaccount",
            cls.SUBACCOUNT, "--quiet").start()

    @classmethod
    def tearDownClass(cls):
        cls.sandbox_under_test.remove()

    def start_session(self) -> dict:
        reply = self.sandbox.request("POST", self.OTHER_SESSIONS, {"destination": PHONE},
                                     key="other-key")
        self.assertEqual(reply.status, 200, reply.body)
        return reply.json

    def test_long_timestamps_have_7_digits_and_utc_offset(self):
        session = self.start_session()
        self.assertRegex(session["expiresAt"], LONG_TIME)
        self.assertRegex(session["retryAfter"], LONG_TIME)

    def test_errors_use_the_long_timestamp_style(self):
        reply = self.sandbox.request("POST", self.OTHER_SESSIONS, {}, key="other-key")
        self.assertRegex(reply.json["timestamp"], LONG_TIME)

    def test_uuid_session_ids_are_dashed(self):
        self.assertEqual(uuid.UUID(self.start_session()["sessionId"]).version, 4)

    def test_noplus_destination_has_no_plus(self):
        self.assertEqual(self.start_session()["destination"], PHONE[1:])

    def test_absolute_verify_uri_points_at_the_session(self):
        session = self.start_session()
        path_id = session["sessionId"].replace("-", "")
        self.assertEqual(session["verifyUri"],
                         f"{self.sandbox.info['url']}/api/v2/subaccounts/other.sub&co/sessions/"
                         f"{path_id}")
        path = urllib.parse.urlsplit(session["verifyUri"]).path
        reply = self.sandbox.request("GET", path, key="other-key")
        self.assertEqual(reply.json["sessionId"], session["sessionId"])

    def test_dashed_session_id_validates_too(self):
        session = self.start_session()
        reply = self.sandbox.request("GET", f"{self.OTHER_SESSIONS}/{session['sessionId']}",
                                     key="other-key")
        self.assertEqual(reply.status, 200, reply.body)

    def test_configured_key_replaces_the_default(self):
        reply = self.sandbox.request("POST", self.OTHER_SESSIONS, {"destination": PHONE})
        self.assertError(reply, 401, 1200)

    def test_configured_subaccount_replaces_the_default(self):
        reply = self.sandbox.request("POST", SESSIONS, {"destination": PHONE}, key="other-key")
        self.assertError(reply, 400, 1001)

    def test_outbox_destination_keeps_the_plus(self):
        self.start_session()
        self.assertEqual(self.deliveries()[-1]["destination"], PHONE)

    def test_quiet_prints_deliveries_but_not_requests(self):
        self.start_session()
        output = self.sandbox.stdout()
        self.assertIn(f"[verif8-sandbox] SMS to {PHONE}: Your verification code is", output)
        self.assertNotIn("POST /api", output)


# ---------------------------------------------------------------------------------------------
# Start-up and shut-down

def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


class LifecycleTests(unittest.TestCase):
    def run_sandbox(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([SANDBOX_PATH, *args], capture_output=True, text=True, timeout=20)

    def fresh(self, *args, state_dir=None) -> Sandbox:
        sandbox = Sandbox(*args, state_dir=state_dir)
        self.addCleanup(sandbox.remove)
        return sandbox.start()

    def test_help_describes_the_options(self):
        result = self.run_sandbox("--help")
        self.assertEqual(result.returncode, 0)
        for option in ("--state-dir", "--host", "--port", "--api-key", "--subaccount",
                       "--timestamp-style", "--session-id-style", "--destination-style",
                       "--verify-uri", "--quiet", "--tls-faults", "/_sandbox/fault"):
            self.assertIn(option, result.stdout)

    def test_non_loopback_hosts_are_refused_with_exit_2(self):
        with tempfile.TemporaryDirectory() as state:
            for host in ("0.0.0.0", "192.0.2.1", "::", "localhost"):
                result = self.run_sandbox("--state-dir", state, "--host", host)
                self.assertEqual(result.returncode, 2, host)
                self.assertIn("loopback", result.stderr)

    def test_ipv6_loopback_is_served(self):
        if not ipv6_loopback_available():
            self.skipTest("no IPv6 loopback here")
        sandbox = self.fresh("--host", "::1")
        self.assertEqual(sandbox.info["url"], f"https://[::1]:{sandbox.port}")
        reply = sandbox.request("POST", SESSIONS, {"destination": PHONE})
        self.assertEqual(reply.status, 200, reply.body)

    def test_sigterm_exits_0_and_removes_sandbox_json(self):
        sandbox = self.fresh()
        self.assertEqual(sandbox.stop(signal.SIGTERM), 0)
        self.assertFalse(os.path.exists(os.path.join(sandbox.state_dir, "sandbox.json")))

    def test_sigint_exits_0(self):
        sandbox = self.fresh()
        connection = sandbox.connection()  # an idle keep-alive connection must not hold it up
        sandbox.request("GET", "/nowhere", connection=connection)
        self.assertEqual(sandbox.stop(signal.SIGINT), 0)
        connection.close()

    def test_certificates_are_reused_on_restart(self):
        sandbox = self.fresh()
        sandbox.stop()
        before = {name: sandbox.text(name) for name in ("ca.pem", "ca.key", "server.pem")}
        again = self.fresh(state_dir=sandbox.state_dir)
        self.assertEqual({name: again.text(name) for name in before}, before)

    def test_tls_fault_listeners_and_blackhole_close_on_sigterm(self):
        sandbox = self.fresh("--tls-faults", "--quiet")
        urls = [url for url in sandbox.info["tls_faults"].values() if url]
        urls.append(sandbox.info["blackhole"])
        self.assertEqual(sandbox.stop(signal.SIGTERM), 0)
        for url in urls:
            with self.assertRaises(ConnectionRefusedError, msg=url):
                socket.create_connection(("127.0.0.1", port_of(url)), timeout=2).close()

    def test_sigterm_ends_hung_and_trickling_answers_and_exits_0(self):
        sandbox = self.fresh("--quiet")
        clients = []
        for kind in ("hang", "trickle"):
            sandbox.control("POST", "fault", route="any", kind=kind)
            client = TcpTls(sandbox.port, sandbox.tls(), timeout=10)
            self.addCleanup(client.close)
            client.send(request_bytes("GET", f"{SESSIONS}/{'0' * 32}"))
            clients.append(client)
        deadline = time.monotonic() + 5
        while len(sandbox.lines("requests.jsonl")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        self.assertEqual(sandbox.stop(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - started, 3)
        for client in clients:
            _, ending = client.receive_all()  # ends at once instead of waiting for its timeout
            self.assertNotIsInstance(ending, TimeoutError)

    def test_fault_certificates_are_reused_on_restart(self):
        sandbox = self.fresh("--tls-faults", "--quiet")
        sandbox.stop()
        names = ("untrusted-ca.pem", "untrusted.pem", "wrong-host.pem", "expired.pem")
        before = {name: sandbox.text(name) for name in names}
        again = self.fresh("--tls-faults", "--quiet", state_dir=sandbox.state_dir)
        self.assertEqual({name: again.text(name) for name in names}, before)

    def test_fault_certificates_are_remade_for_a_new_ca(self):
        sandbox = self.fresh("--tls-faults", "--quiet")
        sandbox.stop()
        expired = sandbox.text("expired.pem")
        for name in ("ca.pem", "ca.key"):
            os.unlink(os.path.join(sandbox.state_dir, name))
        again = self.fresh("--tls-faults", "--quiet", state_dir=sandbox.state_dir)
        self.assertNotEqual(again.text("expired.pem"), expired)
        result = subprocess.run(["openssl", "verify", "-no_check_time", "-CAfile",
                                 os.path.join(again.state_dir, "ca.pem"),
                                 os.path.join(again.state_dir, "expired.pem")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_stale_sandbox_json_is_replaced(self):
        with tempfile.TemporaryDirectory() as state:
            with open(os.path.join(state, "sandbox.json"), "w") as f:
                json.dump({"url": "https://127.0.0.1:1", "pid": 1}, f)
            sandbox = self.fresh(state_dir=state)
            self.assertNotEqual(sandbox.port, 1)
            sandbox.stop()


# ---------------------------------------------------------------------------------------------
# TAP output

class TapResult(unittest.TestResult):
    """One TAP line per test, printed when the test ends, whatever mix of outcomes it had."""

    def __init__(self):
        super().__init__()
        self.number = 0
        self.current = None

    def startTest(self, test):
        super().startTest(test)
        self.current = {"ok": True, "skip": None, "diagnostics": []}

    def _problem(self, test, err):
        text = self._exc_info_to_string(err, test)
        if self.current is None:  # a class or module fixture failed: nothing else can be trusted
            print(f"Bail out! {test}: {text.strip().splitlines()[-1]}", flush=True)
            return
        self.current["ok"] = False
        self.current["diagnostics"].append(text)

    def addError(self, test, err):
        super().addError(test, err)
        self._problem(test, err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem(test, err)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem(subtest, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if self.current is not None:
            self.current["skip"] = reason

    def stopTest(self, test):
        super().stopTest(test)
        self.number += 1
        name = test.id().rsplit(".", 1)[-1]
        if self.current["skip"] is not None:
            print(f"ok {self.number} - {name} # SKIP {self.current['skip']}")
        elif self.current["ok"]:
            print(f"ok {self.number} - {name}")
        else:
            print(f"not ok {self.number} - {name}")
            for text in self.current["diagnostics"]:
                print("".join(f"# {line}\n" for line in text.rstrip().splitlines()), end="")
        sys.stdout.flush()
        self.current = None


def main() -> int:
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    print(f"1..{suite.countTestCases()}", flush=True)
    result = TapResult()
    suite.run(result)
    return 0 if result.wasSuccessful() and result.number == suite.countTestCases() else 1


if __name__ == "__main__":
    sys.exit(main())
