#!/usr/bin/python3
"""Local logins (login and sudo style) as a person at a terminal sees them: pamtester runs the
built module under pam_wrapper and nss_wrapper, on a pseudo-terminal, against verif8-sandbox,
after pam_matrix's password (as pam_unix would be on a real system). Prints TAP.

usage: run_local_tests.py MODULE_SO"""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

PASSWORD = "correct horse"
MODULE = WORLD = SANDBOX = None  # set by main
SENT = "Code sent by {} to \u2022{{6}}{}\\."


class LocalLogins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        passdb = WORLD.dir / "passdb"
        passdb.write_text("".join(f"{user}:{PASSWORD}:{service}\n" for user in ("alice", "bob")
                                  for service in ("login", "sudo")))
        config = harness.write_secure(WORLD.dir / "local.conf",
                                      harness.config_text(SANDBOX, WORLD.users_file))
        permit = harness.system_module("pam_permit.so")
        for service in ("login", "sudo"):
            (WORLD.services / service).write_text(
                f"auth requisite {harness.wrapper_module('pam_matrix.so')} passdb={passdb}\n"
                f"auth required {MODULE} conf={config}\naccount required {permit}\n"
                f"session required {permit}\n")

    def setUp(self):
        """A sandbox that forgot every session, and a module table that agrees with it."""
        SANDBOX.control("reset")
        harness.forget_sessions(WORLD.users_file.parent / "state")
        self.requests_before = len(SANDBOX.requests())

    def sent(self):
        """What reached the API: (method, with a code?) per request."""
        return [(r["method"], r["codePresent"]) for r in SANDBOX.requests()[self.requests_before:]]

    def pamtester(self, service, user, operation="authenticate", items=(), password=PASSWORD):
        """pamtester on a terminal, past the password prompt (answered with `password`)."""
        command = ["pamtester", "-v", *[part for item in items for part in ("-I", item)],
                   service, user, operation]
        env = {**WORLD.env(), "PAM_WRAPPER_DEBUGLEVEL": "0"}
        session = PtySession(*harness.in_private_tmp(command, env))
        session.expect("Password: ")
        session.type(password)
        return session

    def code_passes(self, session, prompt):
        """The code prompt matches `prompt` (regex); the code the sandbox delivered last passes."""
        self.assertRegex(session.expect("Verification code: "), prompt)
        session.type(SANDBOX.deliveries()[-1]["code"])
        self.assertEqual(session.finish(), 0, session.text())

    def test_login_asks_the_password_then_the_code(self):
        session = self.pamtester("login", "alice", items=["tty=/dev/tty1"])
        self.code_passes(session, SENT.format("SMS", "4567"))
        self.assertIn("successfully authenticated", session.text())
        # The send, a status read, the code check.
        self.assertEqual(self.sent(), [("POST", False), ("GET", False), ("GET", True)])

    def test_login_with_a_wrong_password_sends_nothing(self):
        session = self.pamtester("login", "alice", password="wrong password")
        self.assertNotEqual(session.finish(), 0)
        self.assertNotIn("Verification code", session.text())
        self.assertEqual(self.sent(), [])

    def test_sudo_asks_the_invoking_user_for_a_code(self):
        session = self.pamtester("sudo", "bob", items=["ruser=bob", "tty=/dev/pts/3"])
        self.code_passes(session, SENT.format("voice call", "5432"))
        body = SANDBOX.requests()[self.requests_before]["body"]
        self.assertEqual((body["channel"], body["destination"]), ("call", "+6598765432"))

    def test_three_wrong_codes_fail_and_pam_silent_hides_only_the_error_message(self):
        for operation, shown, hidden in (
                ("authenticate", "Wrong code. No attempts left.", None),
                # The prompts are still shown.
                ("authenticate(PAM_SILENT)", "Wrong code. 1 attempt left.", "No attempts left")):
            self.setUp()
            session = self.pamtester("sudo", "alice", operation=operation)
            for _ in range(3):
                session.expect("Verification code: ")
                code = SANDBOX.deliveries()[-1]["code"]
                session.type("000000" if code != "000000" else "111111")
            self.assertNotEqual(session.finish(), 0, operation)
            self.assertIn(shown, session.text(), operation)
            if hidden:
                self.assertNotIn(hidden, session.text(), operation)

    def test_an_empty_line_too_soon_is_refused_and_nothing_is_sent(self):
        session = self.pamtester("login", "alice")
        session.expect("Verification code: ")
        session.type("")
        self.code_passes(session, r"Wait \d+ more seconds before asking for a new code\. "
                                  r"2 attempts left\.")
        self.assertEqual(self.sent(), [("POST", False), ("GET", False), ("GET", True)])


def main():
    global MODULE, WORLD, SANDBOX
    MODULE = Path(sys.argv[1]).resolve()
    work = harness.temp_dir("verif8-local-")
    try:
        WORLD = harness.PamWorld(work / "world")
        with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
            SANDBOX = sandbox
            return 0 if tap.run([LocalLogins]) else 1
    finally:
        harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
