#!/usr/bin/python3
"""verif8ctl against verif8-sandbox: each command's output and exit status, with users from
nss_wrapper (no /etc/passwd touched). Prints TAP.

usage: run_cli_tests.py VERIF8CTL MODULE_SO"""

import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

TOOL = MODULE = WORLD = SANDBOX = None
# Accounts of the test world with no line in the default users file, for enrolments.
STAFF = [f"staff{n:02d}" for n in range(10)]
# Debian's own sshd_config, as openssh-server installs it in /etc/ssh on a new machine.
DEBIAN_SSHD_CONFIG = Path("/usr/share/openssh/sshd_config")
SSHD_SETUPS = HERE.parent.parent / "conf" / "sshd_config.d"
# sshd -T wants its privilege-separation directory: a private /run in a mount namespace gives it
# one without touching the machine's.
PRIVATE_RUN = 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"'


def nss_env():
    return dict(os.environ, LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=str(WORLD.passwd),
                NSS_WRAPPER_GROUP=str(WORLD.group))


class CliCase(unittest.TestCase):
    def setUp(self):
        self.reset()
        self.dir = harness.temp_dir("verif8-cli-case-")
        self.addCleanup(harness.remove_tree, self.dir)

    def reset(self):
        SANDBOX.control("reset")
        harness.forget_sessions(WORLD.users_file.parent / "state")
        self.requests_before = len(SANDBOX.requests())

    def config(self, mode=0o600, users_file=None, state_dir=None, **overrides):
        # The default world has dave on WhatsApp: a complete setup names a template.
        overrides.setdefault("whatsapp_template", "login_otp")
        text = harness.config_text(SANDBOX, users_file or WORLD.users_file,
                                   state_dir=state_dir or self.dir / "state", **overrides)
        return harness.write_secure(self.dir / "verif8.conf", text, mode=mode)

    def run_tool(self, *args, prefix=()):
        return subprocess.run([*prefix, str(TOOL), *args], env=nss_env(), capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)

    def new_requests(self):
        return SANDBOX.requests()[self.requests_before:]

    def expect(self, result, status=None, out=(), err=(), not_out=()):
        """The exit status (None: any), texts in stdout and stderr, texts not in stdout."""
        both = result.stdout + result.stderr
        if status is not None:
            self.assertEqual(result.returncode, status, both)
        for text in out:
            self.assertIn(text, result.stdout)
        for text in err:
            self.assertIn(text, result.stderr)
        for text in not_out:
            self.assertNotIn(text, result.stdout)


class Verif8ctl(CliCase):
    def test_help_and_version_exit_0(self):
        self.expect(self.run_tool("--help"), 0, ["check-config"])
        version = self.run_tool("--version")
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"^verif8ctl \d+\.\d+\.\d+\n$")

    def test_bad_arguments_give_usage_and_exit_2_before_anything(self):
        conf = ["--conf", str(self.config())]
        for args, says in (([], "usage: verif8ctl"), (["bogus"], "usage: verif8ctl"),
                           (["--frobnicate", "check-config"], "usage: verif8ctl"),
                           (["lookup"], "usage: verif8ctl"),
                           (["test", "alice", "bob"], "usage: verif8ctl"),
                           (["check-config", "extra"], "usage: verif8ctl"),
                           (["--conf"], "usage: verif8ctl"), (["enable"], "--user USER"),
                           (conf + ["enable"], ""), (conf + ["doctor", "extra"], ""),
                           (conf + ["enable", "--service", "login", "--no-test"], ""),
                           (conf + ["doctor", "--service"], "")):
            with self.subTest(args=args):
                self.expect(self.run_tool(*args), 2, err=[says])

    def test_check_config_and_lookup(self):
        """Each row: config overrides, arguments, exit status, texts in stdout and stderr, texts
        not in stdout. None sends a request."""
        exempt = {"exempt_users": "bob", "trusted_networks": "192.0.2.0/24"}
        for overrides, args, status, out, err, not_out in (
                ({}, ["check-config"], 0, ["OK: the module would accept this setup",
                                           "users, 0 bad lines"], [], [SANDBOX.api_key]),
                ({"mode": 0o644}, ["check-config"], 1, [], ["has mode 0644"], []),
                ({}, ["lookup", "ALICE"], 0, ["ALICE: is the account alice; the module treats "
                                              "it as alice", "alice: phone +65******67"], [], []),
                ({}, ["lookup", "alice"], 0, ["alice: asked for a code",
                                              "phone +65******67, channels sms, voice"], [],
                 ["6591234567"]),
                ({}, ["lookup", "carol"], 1,
                 ["carol: not enrolled: with unenrolled = deny the login fails"], [], []),
                ({}, ["lookup", "mallory"], 1, ["mallory: no such user"], [], []),
                (exempt, ["lookup", "bob"], None, ["bob: exempt (exempt user)"], [], []),
                (exempt, ["--rhost", "192.0.2.10", "lookup", "alice"], None,
                 ["alice: exempt (trusted network, from 192.0.2.10)"], [], []),
                (exempt, ["--rhost", "198.51.100.1", "lookup", "alice"], None,
                 ["alice: asked for a code from 198.51.100.1"], [], [])):
            with self.subTest(args=args, overrides=overrides):
                result = self.run_tool("--conf", str(self.config(**overrides)), *args)
                self.expect(result, status, out, err, not_out)
                self.assertNotIn(SANDBOX.api_key, result.stderr)
                self.assertEqual(self.new_requests(), [])

    def test_check_config_names_file_and_line_of_an_unknown_key(self):
        path = self.config(colour="blue")
        line = path.read_text().splitlines().index("colour = blue") + 1
        self.expect(self.run_tool("--conf", str(path), "check-config"), 1,
                    err=[f"{path}:{line}: unknown key 'colour'", "would refuse"])

    def test_check_config_reports_bad_users_file_lines(self):
        users = harness.write_secure(self.dir / "users", "alice +6591234567 sms\n"
                                     "bob 12345 sms\n" "dave +6587654321 whatsapp\n", mode=0o644)
        config = self.config(users_file=users, whatsapp_template=None)
        self.expect(self.run_tool("--conf", str(config), "check-config"), 1,
                    ["2 users, 1 bad lines"], [f"{users}:2: the phone number (5 characters) is "
                                               "not in international form",
                                               "need whatsapp_template"])

    def test_check_config_refuses_a_state_dir_or_phone_command_others_can_change(self):
        # The module's own rule and words (StateDir, the command's check), not a copy of them.
        state, program = self.dir / "shared-state", self.dir / "phone"
        state.mkdir()
        program.write_text("#!/bin/sh\necho +6591234567\n")
        os.chmod(state, 0o770)
        os.chmod(program, 0o775)
        for key, value, path, mode in (("state_dir", state, state, "0770"),
                                       ("phone_command", f"{program} %u", program, "0775")):
            with self.subTest(key=key):
                self.expect(self.run_tool("--conf", str(self.config(**{key: value})),
                                          "check-config"), 1,
                            err=[f"{key}: {path}: has mode {mode}; it must be not writable by "
                                 "group or others"])

    def test_check_config_never_prints_a_file_it_refuses(self):
        """verif8ctl --conf pointed at a root-only file that is no config (a private key, a
        shadow file): refused, and not a word of it printed."""
        secret_lines = ["-----BEGIN OPENSSH PRIVATE KEY-----",
                        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
                        "QyNTUxOQAAACBvZmZzZXQ=", "Tail0Token==",
                        "root:$6$sAlT$hAsH=:19000:0:99999:7:::",
                        "-----END OPENSSH PRIVATE KEY-----"]
        path = harness.write_secure(self.dir / "id_ed25519", "\n".join(secret_lines) + "\n")
        result = self.run_tool("--conf", str(path), "check-config")
        self.expect(result, 1, err=[f"{path}:"])  # it was read and refused line by line
        for fragment in ("BEGIN", "b3Blbn", "QyNTUx", "Tail0Token", "$6$", "sAlT", "hAsH"):
            self.assertNotIn(fragment, result.stdout + result.stderr)

    def test_test_command(self):
        """`test alice` at a terminal: the answers typed, the status, the lines (regexes) shown,
        the request methods sent (None: not checked)."""
        for overrides, answers, status, shown, methods in (
                ({}, [lambda: SANDBOX.deliveries()[-1]["code"]], 0,
                 [r"send \(sms\): ok, HTTP 200, session \w{8} WAITING, attempt 0 \(\d+ ms\)",
                  r"status: ok, HTTP 200, session \w{8} WAITING, attempt 0",
                  r"check: ok, HTTP 200, session \w{8} VERIFIED", "result: verified"],
                 ["POST", "GET", "GET"]),
                ({"max_attempts": "1"}, ["000"], 1, ["result: too_many_wrong_codes"], None),
                ({"api_key": "wrong-key"}, [], 1,
                 [r"HTTP 401 code 1200: .* \(errorId [0-9a-f-]{36}\)",
                  "result: credentials_rejected"], None)):
            with self.subTest(overrides=overrides):
                self.reset()
                harness.remove_tree(self.dir / "state")  # each row a login of its own
                session = PtySession([str(TOOL), "--conf", str(self.config(**overrides)), "test",
                                      "alice"], nss_env())
                try:
                    for answer in answers:
                        session.expect("Verification code: ")
                        session.type(answer() if callable(answer) else answer)
                    self.assertEqual(session.finish(), status, session.text())
                finally:
                    session.close()
                for pattern in shown:
                    self.assertRegex(session.text(), pattern)
                self.assertNotIn("wrong-key", session.text())
                if methods:
                    self.assertEqual([r["method"] for r in self.new_requests()], methods)


# One login through the real module and libpam (pam_wrapper) in a process of its own: each code
# prompt is answered with the last code the sandbox delivered to PHONE. Prints the result.
LOGIN = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import pam_client as pc
service, user, outbox, phone = sys.argv[2:6]
def answer(prompt):
    with open(outbox) as sent:
        codes = [json.loads(line) for line in sent if line.strip()]
    return [d for d in codes if d["destination"] == phone][-1]["code"]
result = pc.authenticate(service, user, answer)
print(json.dumps({"code": result.code, "prompts": result.prompts, "log": result.syslog()}))
"""

USERS_TEXT = ("# pam_verif8.users: staff phones\n"
              "alice +6591234567 sms,voice\n"
              "\n"
              "   # bob is on call this week  \n"
              "bob\t+6598765432 voice\r\n"
              "#carol +6500000000 sms\n"
              "dave +6587654321 whatsapp")  # no final newline


class Enrol(CliCase):
    """verif8ctl enrol and unenrol: the users file changes only after a verified code (or
    --no-verify), every other byte kept, and nothing is sent for what cannot be enrolled."""

    def reset(self):
        super().reset()
        self.deliveries_before = len(SANDBOX.deliveries())

    def new_deliveries(self):
        return SANDBOX.deliveries()[self.deliveries_before:]

    def users(self, text=USERS_TEXT, mode=0o644):
        (self.dir / "pam_verif8.users").unlink(missing_ok=True)  # a new file, root's
        self.users_path = harness.write_secure(self.dir / "pam_verif8.users", text, mode=mode)
        return self.users_path

    def conf(self, **overrides):
        overrides.setdefault("users_file", self.users_path)
        return ["--conf", str(self.config(**overrides))]

    def users_bytes(self):
        return self.users_path.read_bytes()

    def enrol_at_terminal(self, args, answers, overrides=None):
        """enrol on a pseudo-terminal; each answer (a str, or a callable giving one) typed at a
        code prompt. Returns (exit status, screen)."""
        session = PtySession([str(TOOL), *self.conf(**(overrides or {})), "enrol", *args],
                             nss_env())
        try:
            for answer in answers:
                session.expect("Verification code: ")
                session.type(answer() if callable(answer) else answer)
            return session.finish(), session.text()
        finally:
            session.close()

    def code_for(self, phone):
        return [d for d in SANDBOX.deliveries() if d["destination"] == phone][-1]["code"]

    def login(self, user, phone):
        WORLD.service("enrolled", MODULE, f"conf={self.dir / 'verif8.conf'}")
        command, env = harness.in_private_tmp(
            ["/usr/bin/python3", "-c", LOGIN, str(HERE.parent / "harness"), "enrolled", user,
             SANDBOX.outbox, phone, str(self.dir)], WORLD.env())  # the dir: kept in its /tmp
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        return json.loads(run.stdout.splitlines()[-1])

    def test_a_verified_code_writes_the_line_and_a_login_then_sends_there(self):
        self.users()
        phone = "+6591110042"
        status, screen = self.enrol_at_terminal(["carol", phone, "voice,sms"],
                                                [lambda: self.code_for(phone)])
        self.assertEqual(status, 0, screen)
        self.assertIn("carol: enrolled in", screen)
        self.assertIn("(verified by a code)", screen)
        self.assertIn("Code sent by voice call to", screen)
        self.assertEqual(self.users_bytes(),
                         USERS_TEXT.encode() + f"\ncarol {phone} voice,sms\n".encode())
        self.assertEqual([d["destination"] for d in self.new_deliveries()], [phone])
        self.assertEqual(os.stat(self.users_path).st_mode & 0o7777, 0o644)
        # The module, through libpam, now sends carol's code to that number, by voice.
        before = len(SANDBOX.deliveries())
        result = self.login("carol", phone)
        self.assertEqual(result["code"], 0, result)
        self.assertRegex(result["prompts"][0], r"^Code sent by voice call to \S+0042\.")
        self.assertEqual([d["destination"] for d in SANDBOX.deliveries()[before:]], [phone])

    def test_an_old_line_is_replaced_in_place_and_comments_survive(self):
        self.users(mode=0o600)
        phone = "+6591110043"
        status, screen = self.enrol_at_terminal(["bob", phone], [lambda: self.code_for(phone)])
        self.assertEqual(status, 0, screen)
        self.assertIn("bob: its line replaced in place", screen)
        # Without channels none are written: the config's channel applies. The CRLF is kept.
        self.assertEqual(self.users_bytes(), USERS_TEXT.replace(
            "bob\t+6598765432 voice\r\n", f"bob {phone}\r\n").encode())
        self.assertEqual(os.stat(self.users_path).st_mode & 0o7777, 0o600)

    def test_no_verified_code_writes_nothing(self):
        """A wrong code, an expired session, an API failure, Ctrl-D: exit 1, the file the same
        file with the same bytes, after a code was sent (the step was reached)."""
        phone = "+6591110044"

        def expire_then_code():
            SANDBOX.control("expire")
            return self.code_for(phone)

        def wrong():
            return "000000" if self.code_for(phone) != "000000" else "111111"
        for overrides, answers, outcome in (
                ({"max_attempts": "1"}, [wrong], "too_many_wrong_codes"),
                ({}, [expire_then_code], "session_expired"),
                ({}, [wrong, wrong, wrong], "too_many_wrong_codes"),
                ({}, ["\x04"], "conversation_failed"),
                ({"api_key": "wrong-key"}, [], "credentials_rejected")):
            with self.subTest(outcome=outcome, overrides=overrides):
                self.reset()
                harness.remove_tree(self.dir / "state")
                self.users()
                inode = os.stat(self.users_path).st_ino
                status, screen = self.enrol_at_terminal(["carol", phone], answers, overrides)
                self.assertEqual(status, 1, screen)
                self.assertIn(f"the number was not verified ({outcome}); nothing was written",
                              screen)
                self.assertEqual(self.users_bytes(), USERS_TEXT.encode())
                self.assertEqual(os.stat(self.users_path).st_ino, inode)
                self.assertEqual(self.new_requests()[0]["method"], "POST")
                self.assertEqual(sorted(os.listdir(self.dir)),
                                 ["pam_verif8.users", "state", "verif8.conf"])

    def test_refused_before_anything_is_sent(self):
        """Each row: config overrides, arguments, exit status, what stderr says. Nothing reaches
        the sandbox and the file keeps its bytes."""
        program = harness.write_secure(self.dir / "phones", "#!/bin/sh\necho +6591234567\n",
                                       mode=0o755)
        for overrides, args, status, says in (
                ({}, ["enrol", "carol", "6591110045"], 1, "PHONE must be in international form"),
                ({}, ["enrol", "carol", "+65 9111 0045"], 1, "international form"),
                ({}, ["enrol", "carol", "+6591110045678901"], 1, "international form"),
                ({}, ["enrol", "mallory", "+6591110045"], 1, "no such user 'mallory'"),
                ({}, ["enrol", "carol", "+6591110045", "sms,fax"], 1, "unknown channel 'fax'"),
                ({}, ["enrol", "carol", "+6591110045", "sms,sms"], 1, "listed twice"),
                ({"whatsapp_template": None}, ["enrol", "carol", "+6591110045", "whatsapp"], 1,
                 "whatsapp needs whatsapp_template"),
                ({"phone_command": f"{program} %u"}, ["enrol", "carol", "+6591110045"], 1,
                 "refused: phone_command is set"),
                ({"phone_command": f"{program} %u"}, ["unenrol", "alice"], 1,
                 "refused: phone_command is set"),
                ({}, ["--no-verify", "unenrol", "carol"], 1, "'carol' has no line"),
                ({}, ["enrol", "carol"], 2, "enrol takes USER PHONE"),
                ({}, ["enrol", "carol", "+6591110045", "sms", "x"], 2, "enrol takes USER"),
                ({}, ["unenrol"], 2, "unenrol takes one USER")):
            with self.subTest(args=args, overrides=overrides):
                self.users()
                result = self.run_tool(*self.conf(**overrides), *args)
                self.expect(result, status, err=[says])
                self.assertEqual(self.new_requests(), [])
                self.assertEqual(self.users_bytes(), USERS_TEXT.encode())

    def test_a_users_file_the_module_refuses_is_not_touched(self):
        for name, prepare, says in (
                ("writable by others", lambda path: os.chmod(path, 0o666), "has mode 0666"),
                ("another owner", lambda path: os.chown(path, 2001, 0), "owned by uid 2001"),
                ("a link", None, "symbolic link")):
            with self.subTest(name):
                self.users()
                target = self.users_path
                if prepare:
                    prepare(self.users_path)
                else:
                    target = self.dir / "link.users"
                    target.unlink(missing_ok=True)
                    target.symlink_to(self.users_path)
                for args in (["enrol", "carol", "+6591110046"],
                             ["enrol", "--no-verify", "carol", "+6591110046"],
                             ["unenrol", "alice"]):
                    result = self.run_tool(*self.conf(users_file=target), *args)
                    self.expect(result, 1, err=[says])
                self.assertEqual(self.new_requests(), [])
                self.assertEqual(self.users_bytes(), USERS_TEXT.encode())
                self.assertTrue(os.path.islink(target) == (prepare is None))

    def test_no_verify_writes_without_a_code_and_says_so(self):
        self.users()
        result = self.run_tool(*self.conf(), "enrol", "--no-verify", "ALICE", "+6591110047",
                               "viber")
        self.expect(result, 0, ["NOT VERIFIED: --no-verify: no code was sent to +65******47",
                                "ALICE: is the account alice; its line is written for alice",
                                "alice: its line replaced in place",
                                "(NOT verified: --no-verify)"])
        self.assertEqual(self.new_requests(), [])
        self.assertEqual(self.users_bytes(), USERS_TEXT.replace(
            "alice +6591234567 sms,voice\n", "alice +6591110047 viber\n").encode())

    def test_a_missing_users_file_is_created_root_only(self):
        self.users_path = self.dir / "new.users"
        result = self.run_tool(*self.conf(), "enrol", "--no-verify", "carol", "+6591110048")
        self.expect(result, 0, ["new.users: created (root's, mode 0600)"])
        self.assertEqual(self.users_bytes(), b"carol +6591110048\n")
        self.assertEqual(os.stat(self.users_path).st_mode & 0o7777, 0o600)

    def test_unenrol_removes_just_that_line(self):
        """And the temp file of an edit that was killed before its rename goes with the next
        edit, which says so; the one after has nothing to remove."""
        self.users()
        leftover = self.dir / ".pam_verif8.users.verif8ctl-4242-0"
        leftover.write_text("bob +6500000000\n")
        result = self.run_tool(*self.conf(), "unenrol", "bob")
        self.expect(result, 0, [f"bob: removed from {self.users_path} (1 line)",
                                f"{self.users_path}: removed 1 temp file that an interrupted"])
        self.assertFalse(leftover.exists())
        result = self.run_tool(*self.conf(), "unenrol", "dave")
        self.expect(result, 0, [f"dave: removed from {self.users_path} (1 line)"],
                    not_out=["temp file"])
        self.assertEqual(self.users_bytes(), USERS_TEXT.replace(
            "bob\t+6598765432 voice\r\n", "").replace("dave +6587654321 whatsapp", "").encode())
        self.assertEqual(self.new_requests(), [])

    def test_concurrent_enrolments_keep_every_line(self):
        """Ten --no-verify enrolments at once, then two with codes at once: every line there,
        the comments too."""
        self.users()
        conf = self.conf()
        runs = [subprocess.Popen([str(TOOL), *conf, "enrol", "--no-verify", user,
                                  f"+659111{n:04d}"], env=nss_env(), stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
                for n, user in enumerate(STAFF)]
        for run in runs:
            self.assertEqual(run.wait(timeout=60), 0, run.stdout.read())
            run.stdout.close()
        phones = {"carol": "+6591119001", "alice": "+6591119002"}
        coded = {user: subprocess.Popen([str(TOOL), *conf, "enrol", user, phone], env=nss_env(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
                 for user, phone in phones.items()}
        deadline = time.monotonic() + 30
        while not set(phones.values()) <= {d["destination"] for d in SANDBOX.deliveries()}:
            self.assertLess(time.monotonic(), deadline, "both codes sent")
            time.sleep(0.05)
        for user, run in coded.items():  # both wait at their prompt: then both answer
            run.stdin.write(self.code_for(phones[user]) + "\n")
            run.stdin.close()
        for run in coded.values():
            self.assertEqual(run.wait(timeout=60), 0, run.stdout.read())
            run.stdout.close()
        text = self.users_bytes().decode()
        expected = USERS_TEXT.replace("alice +6591234567 sms,voice\n",
                                      "alice +6591119002\n") + "\n"
        self.assertTrue(text.startswith(expected), text)
        added = sorted(text[len(expected):].splitlines())
        self.assertEqual(added, sorted([f"{user} +659111{n:04d}" for n, user in enumerate(STAFF)]
                                       + ["carol +6591119001"]))


class Doctor(CliCase):
    """verif8ctl doctor: the config, then sshd's effective settings from the real `sshd -T`,
    starting from Debian's stock sshd_config. A snippet is read before the stock lines, and the
    first value sshd reads wins."""

    def doctor(self, *snippets, **config):
        """Debian's stock sshd_config with its Include pointed at a directory holding
        `snippets` (read in order, as /etc/ssh/sshd_config.d/*.conf are); `config`: overrides
        of the module's config."""
        if not DEBIAN_SSHD_CONFIG.exists():
            self.fail(f"{DEBIAN_SSHD_CONFIG} missing: openssh-server is not installed")
        included = self.dir / "sshd_config.d"
        harness.remove_tree(included)
        included.mkdir()
        for number, text in enumerate(snippets):
            (included / f"{number:02d}.conf").write_text(text)
        stock = DEBIAN_SSHD_CONFIG.read_text()
        self.assertIn("Include /etc/ssh/sshd_config.d/*.conf\n", stock)
        sshd_config = self.dir / "sshd_config"
        sshd_config.write_text(stock.replace("/etc/ssh/sshd_config.d/*.conf", f"{included}/*.conf"))
        result = self.run_tool("--conf", str(self.config(**config)), "doctor", "--sshd-config",
                               str(sshd_config), "--service", "sshd",
                               prefix=["unshare", "--mount", "--propagation", "private", "sh",
                                       "-c", PRIVATE_RUN, "sh"])
        self.assertIn("OK: the module would accept this setup", result.stdout)  # config part
        return result

    def test_doctor(self):
        """Each row: the snippets, the exit status, the sshd PROBLEM lines (one regex each; None:
        not checked), texts in stdout and in stderr, texts not in stdout. None sends a request."""
        shipped = [(SSHD_SETUPS / name).read_text()
                   for name in ("password-and-code.conf", "key-and-code.conf")]
        ready = ["sshd: PAM through keyboard-interactive, no password method: ready",
                 "doctor: OK, enabling the module is safe"]
        for snippets, status, problems, out, err, not_out in (
                # Debian's stock sshd is refused with the reasons and the fix, as lines to paste.
                ([], 1, ["KbdInteractiveAuthentication is no",
                         "PasswordAuthentication is yes.*answers every question PAM asks with "
                         "the password"], ["doctor: NOT OK"],
                 ["    AuthenticationMethods keyboard-interactive\n",
                  "    AuthenticationMethods publickey,keyboard-interactive\n"], []),
                (shipped[:1], 0, [], ready, [], ["sshd: note:"]),
                (shipped[1:], 0, [], ready, [], ["sshd: note:"]),
                (["UsePAM no\nKbdInteractiveAuthentication yes\nPasswordAuthentication no\n"], 1,
                 ["UsePAM is no: sshd never runs PAM"], [], [], []),
                (["KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                  "AuthenticationMethods publickey,keyboard-interactive publickey\n"], 1,
                 ['lets "publickey" log in without keyboard-interactive'], [], [], []),
                # Passwords on but in no method list are harmless.
                (["KbdInteractiveAuthentication yes\nAuthenticationMethods keyboard-interactive\n"],
                 0, [], [], [], []),
                # Keys alone are a note, not a refusal.
                (["KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"], 0, [],
                 ["sshd: note: AuthenticationMethods is any and pubkeyauthentication is yes: an "
                  "ssh login with an SSH key alone gets in without a code"], [], []),
                (["NoSuchOption yes\n"], 1, None, [], [], [])):
            with self.subTest(snippets=snippets):
                result = self.doctor(*snippets)
                self.expect(result, status, out, err, not_out)
                found = [line for line in result.stderr.splitlines()
                         if line.startswith("sshd: PROBLEM:")]
                if problems is not None:
                    self.assertEqual(len(found), len(problems), found)
                    for line, pattern in zip(found, problems):
                        self.assertRegex(line, pattern)
                else:  # sshd itself refused the snippet
                    self.assertRegex(result.stderr, r"sshd: /usr/sbin/sshd -T failed \(exit "
                                     r"status 255\): .*Bad configuration option: NoSuchOption")
                self.assertEqual(self.new_requests(), [])

    def test_doctor_notes_logins_let_through_on_the_key_stack(self):
        """grace_period or an exemption with the key-then-code set-up: a note (the module says
        PAM_IGNORE to those logins, and that stack has nothing else to say yes); not with the
        password set-up, whose common-auth ends in pam_permit, nor without them."""
        key, password = ((SSHD_SETUPS / name).read_text()
                         for name in ("key-and-code.conf", "password-and-code.conf"))
        note = ("sshd: note: AuthenticationMethods is publickey,keyboard-interactive and the "
                "config has {}: the module lets those logins through with PAM_IGNORE")
        for snippet, config, reasons in (
                (key, {"grace_period": "300"}, "grace_period"),
                (key, {"exempt_users": "bob", "trusted_networks": "10.0.0.0/8"},
                 "exempt users or groups, trusted_networks"),
                (key, {"exempt_groups": "wheel"}, "exempt users or groups"),
                (key, {}, None),
                (password, {"grace_period": "300", "exempt_users": "bob"}, None)):
            with self.subTest(config=config, key=snippet == key):
                result = self.doctor(snippet, **config)
                if reasons:
                    self.expect(result, 0, [note.format(reasons), "pam_permit.so",
                                            "doctor: OK, enabling the module is safe"])
                else:
                    self.expect(result, 0, ["doctor: OK"], not_out=["sshd: note:"])


def main():
    global TOOL, MODULE, WORLD, SANDBOX
    TOOL, MODULE = Path(sys.argv[1]).resolve(), str(Path(sys.argv[2]).resolve())
    work = harness.temp_dir("verif8-cli-")
    try:
        WORLD = harness.PamWorld(work / "world")
        # Another spelling of alice's account, as a directory that ignores case would answer.
        WORLD.add_account("ALICE", 2001, 2001, str(work / "world" / "home" / "alice"), "/bin/sh")
        for number, name in enumerate(STAFF):
            WORLD.add_account(name, 2300 + number, 2300 + number, "/nonexistent", "/bin/sh")
        with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
            SANDBOX = sandbox
            ok = tap.run([Verif8ctl, Enrol, Doctor])
        return 0 if ok else 1
    finally:
        harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
