#!/usr/bin/python3
"""Local logins (login and sudo style) through pamtester, as a person at a terminal sees them:
pamtester runs the built module under pam_wrapper and nss_wrapper, on a pseudo-terminal, against
verif8-sandbox. The first factor is pam_matrix's password, as pam_unix would be on a real system.
Prints TAP.

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
MODULE = None
WORLD = None
SANDBOX = None


def pam_matrix():
    return str(harness.wrapper_module("pam_matrix.so"))


class LocalLogins(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.passdb = WORLD.dir / "passdb"
        cls.passdb.write_text("".join(f"{user}:{PASSWORD}:{service}\n" for user in ("alice", "bob")
                                      for service in ("login", "sudo")))
        config = harness.write_secure(WORLD.dir / "local.conf",
                                      harness.config_text(SANDBOX, WORLD.users_file))
        permit = harness.system_module("pam_permit.so")
        for service in ("login", "sudo"):
            (WORLD.services / service).write_text(
                f"auth requisite {pam_matrix()} passdb={cls.passdb}\n"
                f"auth required {MODULE} conf={config}\n"
                f"account required {permit}\n"
                f"session required {permit}\n")

    def setUp(self):
        """A sandbox that forgot every session, and a module table that agrees with it."""
        SANDBOX.control("reset")
        harness.forget_sessions(WORLD.users_file.parent / "state")
        self.requests_before = len(SANDBOX.requests())

    def new_requests(self):
        return SANDBOX.requests()[self.requests_before:]

    def pamtester(self, service, user, operation="authenticate", items=(), password=PASSWORD):
        """pamtester on a terminal, past the password prompt (answered with `password`)."""
        command = ["pamtester", "-v"]
        for item in items:
            command += ["-I", item]
        env = WORLD.env()
        env["PAM_WRAPPER_DEBUGLEVEL"] = "0"
        session = PtySession(*harness.in_private_tmp(command + [service, user, operation], env))
        session.expect("Password: ")
        session.type(password)
        return session

    def type_the_code(self, session):
        """Answers with the code the sandbox delivered last: the login passes."""
        session.type(SANDBOX.deliveries()[-1]["code"])
        status = session.finish()
        self.assertEqual(status, 0, session.text())

    def test_login_asks_the_password_then_the_code(self):
        session = self.pamtester("login", "alice", items=["tty=/dev/tty1"])
        prompt = session.expect("Verification code: ")
        self.assertIn("Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.", prompt)
        self.type_the_code(session)
        self.assertIn("successfully authenticated", session.text())
        # The send, a status read, the code check.
        methods = [(r["method"], r["codePresent"]) for r in self.new_requests()]
        self.assertEqual(methods, [("POST", False), ("GET", False), ("GET", True)])

    def test_login_with_a_wrong_password_sends_nothing(self):
        session = self.pamtester("login", "alice", password="wrong password")
        self.assertNotEqual(session.finish(), 0)
        self.assertNotIn("Verification code", session.text())
        self.assertEqual(self.new_requests(), [])

    def test_sudo_asks_the_invoking_user_for_a_code(self):
        session = self.pamtester("sudo", "bob", items=["ruser=bob", "tty=/dev/pts/3"])
        prompt = session.expect("Verification code: ")
        self.assertIn("Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20225432.",
                      prompt)
        self.type_the_code(session)
        body = self.new_requests()[0]["body"]
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
        prompt = session.expect("Verification code: ")
        self.assertRegex(prompt, r"Wait \d+ more seconds before asking for a new code\. "
                                 r"2 attempts left\.")
        self.type_the_code(session)
        self.assertEqual([r["method"] for r in self.new_requests()], ["POST", "GET", "GET"])


def main():
    global MODULE, WORLD, SANDBOX
    MODULE = Path(sys.argv[1]).resolve()
    work = harness.temp_dir("verif8-local-")
    try:
        WORLD = harness.PamWorld(work / "world")
        with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
            SANDBOX = sandbox
            ok = tap.run([LocalLogins])
        return 0 if ok else 1
    finally:
        harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
