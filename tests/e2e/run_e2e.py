#!/usr/bin/python3
"""End-to-end tests: real /usr/sbin/sshd logins on 127.0.0.1 through the built pam_verif8.so, with
a paramiko client and verif8-sandbox as the Verify API (sshd and client: e2e_support.py). Prints
one TAP stream: the scenarios, then the run's own checks that the machine's login records and
/var/lib/pam_verif8 are as they were and that no process of the run is left. Most scenarios are
rows of Logins, each checked by E2ECase.login(): what the user types, whether it logs in (then
the session runs `echo ok`), the exact prompts of design.md, and the sandbox's calls.

usage: run_e2e.py MODULE_SO [NAME_PART...]   (NAME_PARTs pick tests by name, for development)
environment: VERIF8_KEEP=1 keeps the temp dir (configs, sshd logs, sandbox logs)."""

import atexit
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import unittest
from pathlib import Path
from typing import NamedTuple, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import e2e_support as e2e  # noqa: E402
from e2e_support import harness  # noqa: E402
from tap import TapResult, diagnostic, emit  # noqa: E402


class Suite:
    """What all tests share, built once by prepare() (user_key: the key publickey scenarios
    authorise, user_key_line its authorized_keys line, other_key one nobody authorised)."""
    module = world = sandbox = work = host_key = user_key = user_key_line = other_key = None


class Login(NamedTuple):
    """One row of a scenario: a keyboard-interactive login and all it must show."""
    user: str
    steps: list  # what the user types at each prompt: a text, or a step function (below)
    ok: bool  # logged in? (then the session must run `echo ok`)
    prompts: list  # every prompt, in order: its exact text, or a re.Pattern it must match
    # The sandbox calls, in order: "sms"/"call" a send to the login's phone on that channel,
    # True/False a code check of the phone's session that matched or not.
    calls: list
    # Messages shown without a prompt (sshd sends the module's last words, such as why the
    # login failed, in an info request of their own); no other request carries any text.
    messages: list = []
    source: Optional[str] = None  # the client's address (default 127.0.0.1)
    phone: Optional[str] = None  # where the code goes, when not the users file's number
    same_connection: bool = False  # on the previous login's connection (sshd's retry)


def scenarios(name, rows):
    """An E2ECase class `name` with a test_NAME per row {NAME: (server settings, [Login...],
    check)}; `check(test, server)`, if given, checks more after the logins. A setting whose value
    is callable is called with the test (for files the test makes)."""
    return type(name, (E2ECase,), {f"test_{name}": lambda self, row=row: self.run_scenario(*row)
                                   for name, row in rows.items()})


# pam_exec hands it the password on stdin (expose_authtok; it may end in a NUL): it accepts the
# user's password of the world's pam_matrix passdb.
CHECK_PASSWORD = "#!/bin/sh\nexec grep -qxF -- \"$PAM_USER:$(tr -d '\\000'):sshd\" '{passdb}'\n"


class E2ECase(unittest.TestCase):
    """Per test: a fresh directory, config, state_dir and sshd (or a few), a sandbox reset."""
    maxDiff = None

    def setUp(self):
        self.dir = Suite.work / "tests" / self.id().split(".", 1)[-1].replace(".", "-")
        self.dir.mkdir(parents=True)
        # sshd reads authorized_keys as the user: the way there must be searchable (not
        # listable); every file with a secret in it is 0600 on its own.
        os.chmod(self.dir, 0o711)
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(mode=0o700)
        self.servers, self.answer_log, self.client, self.took = [], [], None, None
        Suite.sandbox.control("reset")
        self.marks = len(Suite.sandbox.requests()), len(Suite.sandbox.deliveries())

    def server(self, methods="keyboard-interactive", first_factor=None, users_file=None,
               sshd=None, permit_ignored=False, **settings):
        """Starts an sshd with a pam_verif8.conf (0600) of `settings` and this test's own
        state_dir behind `first_factor` (pam_matrix or pam_exec, or none); stopped when the
        test ends, whatever happens."""
        number, passdb = len(self.servers) + 1, Suite.world.dir / "passdb"
        settings.setdefault("state_dir", str(self.state_dir))
        config = harness.write_secure(self.dir / f"pam_verif8-{number}.conf", harness.config_text(
            Suite.sandbox, users_file or Suite.world.users_file, **settings))
        stack = ""
        if first_factor == "matrix":
            stack = f"auth requisite {harness.wrapper_module('pam_matrix.so')} passdb={passdb}\n"
        elif first_factor == "exec":
            # pam_exec takes the password (sshd's) and leaves it in PAM_AUTHTOK untouched, as
            # pam_unix would; `required`, so that the module runs even after a failure.
            script = harness.write_secure(self.dir / "check-password",
                                          CHECK_PASSWORD.format(passdb=passdb), mode=0o755)
            stack = (f"auth required {harness.system_module('pam_exec.so')} expose_authtok "
                     f"quiet {script}\n")
        permit = harness.system_module("pam_permit.so")
        stack += f"auth required {Suite.module} conf={config}\n"
        if permit_ignored:  # conf/pam.d/sshd-key-and-code's optional line, uncommented
            stack += f"auth optional {permit}\n"
        stack += f"account required {permit}\nsession required {permit}\n"
        options = {"AuthenticationMethods": methods,
                   "AuthorizedKeysFile": str(self.dir / "authorized_keys" / "%u"), **(sshd or {})}
        server = e2e.SshServer(self.dir / f"sshd-{number}", Suite.world, Suite.host_key,
                               options, stack, Suite.work)
        self.servers.append(server)
        self.addCleanup(server.stop)
        return server.start()

    def users_with(self, line):
        """The world's users file plus `line`."""
        return harness.write_secure(self.dir / "users",
                                    Suite.world.users_file.read_text() + line + "\n", mode=0o644)

    def connect(self, server, source=None):
        client = e2e.Client(server.port, source=source)
        self.addCleanup(client.close)
        return client

    def run_scenario(self, settings, logins, check=None):
        server = self.server(**{key: value(self) if callable(value) else value
                                for key, value in settings.items()})
        for login in logins:
            self.login(server, login)
        if check is not None:
            check(self, server)

    def login(self, server, row):
        """Runs one Login row and checks what it shows."""
        phone = row.phone or e2e.PHONES.get(row.user)
        calls_before, sent_before = len(self.calls()), len(self.deliveries(phone))
        if not row.same_connection:
            if self.client is not None:
                self.client.close()  # a finished or abandoned login's connection goes
            self.client = self.connect(server, source=row.source)
        rounds, errors, steps = [], [], list(row.steps)
        self.answer_log.append((row.user, rounds))

        def answer(title, instructions, prompts):
            """Answers each prompt with the row's next step: a text, or a function (test, phone)
            -> text. A prompt beyond them gets "?" (not a code, never sent), so that an
            unexpected prompt ends the login instead of hanging it."""
            rounds.append(e2e.Round(title, instructions, list(prompts)))
            replies = [steps.pop(0) if steps else "?" for _ in prompts]
            try:
                return [step if isinstance(step, str) else step(self, phone) for step in replies]
            except Exception:  # noqa: BLE001 - reported by the test, not by paramiko's thread
                errors.append(traceback.format_exc())
                return ["?"] * len(prompts)
        started = time.monotonic()
        ok = self.client.kbdint(row.user, answer)
        self.took = time.monotonic() - started
        self.assertEqual(errors, [], "a scripted answer could not be made")
        self.assertEqual(ok, row.ok, f"{row.user}: logged in?")
        prompts = [prompt for r in rounds for prompt, _ in r.prompts]
        self.assertEqual(len(prompts), len(row.prompts), prompts)
        for seen, expected in zip(prompts, row.prompts):
            if isinstance(expected, re.Pattern):
                self.assertRegex(seen, expected)
            else:
                self.assertEqual(seen, expected)
        self.assertNotIn(True, [echo for r in rounds for _, echo in r.prompts], "a prompt echoes")
        # Notices travel in the prompt's own text: a request with prompts has no other text.
        self.assertEqual([r.title + r.instructions for r in rounds if r.prompts],
                         [""] * len([r for r in rounds if r.prompts]))
        self.assertEqual([r.title + r.instructions for r in rounds
                          if not r.prompts and (r.title or r.instructions)], row.messages)
        sent = self.deliveries(phone)[sent_before:]
        self.assertEqual(len(sent), sum(isinstance(call, str) for call in row.calls),
                         f"codes delivered to {phone}")
        self.assertLessEqual(len({d["sessionId"] for d in sent}), 1, "one session per login")
        self.assertEqual(self.calls()[calls_before:], self.expected_calls(phone, row.calls))
        if row.ok:
            self.assertEqual(self.client.run("echo ok"), (0, "ok\n"), "the session does not work")

    def requests(self):
        """This test's sandbox requests as ("POST", path, destination, channel, status) or
        ("GET", path, code present, code matched, status); full paths, so a wrong one shows."""
        found = []
        for r in Suite.sandbox.requests()[self.marks[0]:]:
            body = r.get("body") or {}
            facts = (body.get("destination"), body.get("channel")) if r["method"] == "POST" else \
                (r["codePresent"], r["codeMatched"])
            found.append((r["method"], r["path"], *facts, r["status"]))
        return found

    def deliveries(self, destination=None):
        return [d for d in Suite.sandbox.deliveries()[self.marks[1]:]
                if destination is None or d["destination"] == destination]

    def last_delivery(self, destination):
        sent = self.deliveries(destination)
        if not sent:
            raise AssertionError(f"the sandbox delivered no code to {destination}")
        return sent[-1]

    def calls(self):
        """The sends and code checks that reached the sandbox. The module reads a session's
        status (a GET without a code) before each check: that is asserted here for every
        check, and the reads themselves are left out."""
        everything = self.requests()
        for index, call in enumerate(everything):
            if call[0] == "GET" and call[2]:
                before = everything[index - 1] if index > 0 else None
                self.assertEqual(before, ("GET", call[1], False, None, 200),
                                 f"no status read right before check {index}: {everything!r}")
        return [call for call in everything if not (call[0] == "GET" and not call[2])]

    def expected_calls(self, phone, calls):
        """Login.calls as requests() shows them: sends to `phone`, checks of its session."""
        path = f"/api/v2/subaccounts/{Suite.sandbox.subaccount}/sessions"
        session = self.deliveries(phone)[-1]["sessionId"].replace("-", "") if any(
            isinstance(call, bool) for call in calls) else None
        return [("POST", path, phone, call, 200) if isinstance(call, str) else
                ("GET", f"{path}/{session}", True, call, 200) for call in calls]

    def diagnostics(self):
        """Printed by the runner for a failed test (step errors are in the failure itself)."""
        lines = []
        for user, rounds in self.answer_log:
            lines += [f"login as {user}: rounds the client saw:", *(f"  {r!r}" for r in rounds)]
        lines += ["sandbox requests during the test:", *(f"  {c!r}" for c in self.requests())]
        for number, server in enumerate(self.servers, 1):
            module_lines = server.module_lines()
            lines.append(f"sshd #{number} ({server.dir}): module log lines "
                         f"({len(module_lines)}), last ones:")
            tail = module_lines[-12:] or ["sshd log tail:", *server.log().splitlines()[-12:]]
            lines += ["  " + line for line in tail]
        return lines


def code(test, phone):
    """The latest code the sandbox delivered to the login's phone during this test."""
    return test.last_delivery(phone)["code"]


def wrong(test, phone):
    """A well-formed code that is not the delivered one."""
    return "".join(str((int(c) + 1) % 10) if c.isdigit() else "0" for c in code(test, phone))


def after(action, then):
    """A step that runs action(test, phone) (e.g. expire the session), then answers `then`."""
    def step(test, phone):
        action(test, phone)
        return then if isinstance(then, str) else then(test, phone)
    return step


def after_interval(seconds, then):
    """Waits until `seconds` have passed since the latest send to the login's phone (a real
    interval the module measures itself), then answers with `then`."""
    return after(lambda test, phone: time.sleep(max(0.0, test.last_delivery(phone)["time"]
                                                     + seconds + 0.6 - time.time())), then)


def expire(_test, _phone):
    Suite.sandbox.control("expire")


ALICE = e2e.PHONES["alice"]
PASSWORD_PROMPT = "Password: "  # pam_matrix's prompt
MASK = "\u2022" * 6  # the masks written out, so that a wrong mask shows too
prompt = "{}\nVerification code: ".format  # the code prompt after a notice
ALICE_SMS = prompt(f"Code sent by SMS to {MASK}4567.")
ALICE_AGAIN = prompt(f"Code sent again by SMS to {MASK}4567.")
WRONG_2, WRONG_1 = prompt("Wrong code. 2 attempts left."), prompt("Wrong code. 1 attempt left.")
# An empty line or a channel switch before resend_interval (10 s): a wait, counted as wrong.
WAIT = re.compile(r"^Wait ([1-9]|10) more seconds before asking for a new code\. "
                  r"2 attempts left\.\nVerification code: $")
THREE_WRONG = Login("alice", [wrong, wrong, wrong], False, [ALICE_SMS, WRONG_2, WRONG_1],
                    ["sms", False, False, False], ["Wrong code. No attempts left.\n"])


def password(user):
    return e2e.PASSWORDS[user]


def password_only(user, source=None):
    """A login that the password alone lets in (the module steps aside); nothing sent."""
    return Login(user, [password(user)], True, [PASSWORD_PROMPT], [], source=source)


def password_and_code(user, source=None):
    """alice's password, then her code by SMS."""
    return Login(user, [password(user), code], True, [PASSWORD_PROMPT, ALICE_SMS],
                 ["sms", True], source=source)


S01KeyboardInteractive = scenarios("S01KeyboardInteractive", {
    # The module alone behind keyboard-interactive.
    "1_right_code": ({}, [Login("alice", [code], True, [ALICE_SMS], ["sms", True])]),
    "2_wrong_then_right": ({}, [Login("alice", [wrong, code], True, [ALICE_SMS, WRONG_2],
                                      ["sms", False, True])]),
    # The right code, typed after the session expired: the one status read shows it, so the
    # code is never sent, and the login ends.
    "4_expired_code": ({}, [Login("alice", [after(expire, code)], False, [ALICE_SMS],
                                  ["sms"], ["The code has expired.\n"])],
                       lambda test, server: test.assertEqual(
                           sum(c[0] == "GET" and not c[2] for c in test.requests()), 1)),
    "5_text_that_is_not_a_code": ({}, [Login("alice", ["hello world!", code], True, [
        ALICE_SMS, prompt("That is not a code: codes are 3 to 10 letters or digits. "
                          "2 attempts left.")], ["sms", True])]),
    "6_voice_user": ({}, [Login("bob", [code], True, [
        prompt(f"Code sent by voice call to {MASK}5432.")], ["call", True])]),
    # Three wrong codes end the login; sshd's next round on the same connection is told the
    # code was already sent, and that code still works (no new send).
    "7_retry_on_the_same_connection_reuses_the_code": ({}, [THREE_WRONG, Login(
        "alice", [code], True, [prompt(f"Code already sent by SMS to {MASK}4567.")], [True],
        same_connection=True)]),
    # mallory has an enrolment line but no account: only the existence check stops a send.
    "8_invalid_user_sends_nothing": (
        {"users_file": lambda test: test.users_with("mallory +6591119999 sms")},
        [Login("mallory", [code], False, [], [], phone="+6591119999")],
        lambda test, server: test.assertIn("invalid user mallory", server.log().lower())),
})

S02ResendAndChannels = scenarios("S02ResendAndChannels", {
    # An empty line asks for the code again: not before resend_interval, at most 3 sends, all
    # in one session.
    "1_resend_too_early_then_again": ({"resend_interval": "10"}, [Login(
        "alice", ["", after_interval(10, ""), code], True,
        [ALICE_SMS, WAIT, ALICE_AGAIN], ["sms", "sms", True])]),
    "2_no_more_than_three_sends": ({"resend_interval": "10"}, [Login(
        "alice", [after_interval(10, "")] * 3 + [code], True,
        [ALICE_SMS, ALICE_AGAIN, ALICE_AGAIN,
         prompt("No more codes can be sent for this login. 2 attempts left.")],
        ["sms"] * 3 + [True])]),
    # A switch obeys the resend limits: too early, it waits (and counts as wrong).
    "3_switch_to_voice": ({"resend_interval": "10"}, [Login(
        "alice", ["voice", after_interval(10, "voice"), code], True,
        [ALICE_SMS, WAIT, prompt(f"Code sent by voice call to {MASK}4567.")],
        ["sms", "call", True])]),
    "4_channel_not_allowed": ({"resend_interval": "10"}, [Login(
        "alice", ["viber", code], True,
        [ALICE_SMS, prompt("Channel viber is not available for you (yours: sms, voice). "
                           "2 attempts left.")], ["sms", True])]),
})

MATRIX = {"first_factor": "matrix"}
S03PasswordThenCode = scenarios("S03PasswordThenCode", {
    # pam_matrix (requisite) then the module, in one PAM stack behind keyboard-interactive.
    "1_wrong_password_sends_nothing": (MATRIX, [Login(
        "alice", ["not-the-password"], False, [PASSWORD_PROMPT], [])]),
    # Exempt users, groups, only_groups and trusted networks get PAM_IGNORE: the password alone
    # logs in and nothing is sent; others still get a code.
    "2_exempt_user": (dict(MATRIX, exempt_users="bob"),
                      [password_only("bob"), password_and_code("alice")]),
    "3_exempt_group": (dict(MATRIX, exempt_groups="ops"),  # ops: bob
                       [password_only("bob"), password_and_code("alice")]),
    "4_only_groups": (dict(MATRIX, only_groups="2fa"),  # 2fa: alice
                      [password_only("bob"), password_and_code("alice")]),
    "5_trusted_network": (dict(MATRIX, trusted_networks="127.0.0.0/8 ::1/128"),
                          [password_only("alice"), password_only("bob")]),
    # The same client, from 127.0.0.2 (outside 127.0.0.1/32), still to 127.0.0.1.
    "6_untrusted_address_still_gets_a_code": (
        dict(MATRIX, trusted_networks="127.0.0.1/32 ::1/128"),
        [password_only("alice", "127.0.0.1"), password_and_code("alice", "127.0.0.2")]),
    "7_unenrolled_deny": (dict(MATRIX, unenrolled="deny"), [Login(
        "carol", [password("carol")], False, [PASSWORD_PROMPT], [])]),
    "8_unenrolled_ignore": (dict(MATRIX, unenrolled="ignore"), [password_only("carol")]),
    # grace_period: after a code, the same account from the same address needs the password
    # only; another address is asked.
    "9_grace_period": (dict(MATRIX, grace_period="600"), [
        password_and_code("alice"), password_only("alice"), password_and_code("alice", "127.0.0.2"),
        password_only("alice", "127.0.0.2")]),
    # A wrong code from anywhere ends the account's grace everywhere.
    "10_grace_ended_by_a_wrong_code": (dict(MATRIX, grace_period="600"), [
        password_and_code("alice"), password_only("alice"),
        Login("alice", [password("alice"), wrong, code], True, [PASSWORD_PROMPT, ALICE_SMS, WRONG_2],
              ["sms", False, True], source="127.0.0.3"),
        password_and_code("alice"), password_only("alice", "127.0.0.3")]),
})


PHONE_COMMAND = r"""#!/bin/sh
case "$1" in
    alice) echo "+6591112222 sms" ;;
    bob) echo "+6591113333 voice"; exit 3 ;;
    erin) echo "this is not a phone number" ;;
    frank) sleep 20; echo "+6591114444 sms" ;;
    *) exit 1 ;;
esac
"""


def phone_command(mode=0o755, owner=None):
    """The phone_command setting: PHONE_COMMAND in the test's directory."""
    def setting(test):
        script = harness.write_secure(test.dir / "phone-lookup", PHONE_COMMAND, mode=mode)
        if owner is not None:
            os.chown(script, owner, owner)
        return f"{script} %u"
    return setting


def refused(user):
    """No usable number: no prompt, nothing sent. (The log line is not checked here: sshd's PAM
    process shows only LOG_ERR lines, see SshServer.module_lines; tests/pam checks the logs.)"""
    return Login(user, [code], False, [], [], phone="+6591112222")


def given_its_5_s(test, server):
    test.assertGreater(test.took, 4.5, "the command was not given its 5 s")
    test.assertLess(test.took, 15, "the command was not stopped after 5 s")


# phone_command replaces the users file; any failure leaves the user unenrolled.
LOOKUP = {"phone_command": phone_command()}
S04PhoneCommand = scenarios("S04PhoneCommand", {
    # The number from the command, not the users file's +6591234567.
    "1_good_command": (LOOKUP, [Login("alice", [code], True, [
        prompt(f"Code sent by SMS to {MASK}2222.")], ["sms", True], phone="+6591112222")]),
    "2_failing_command": (LOOKUP, [refused("bob")]),  # exit 3
    "3_garbage_output": (LOOKUP, [refused("erin")]),
    "4_timeout": (LOOKUP, [refused("frank")], given_its_5_s),
    "5_group_writable_command": ({"phone_command": phone_command(mode=0o775)}, [refused("alice")]),
    "6_command_not_owned_by_root": ({"phone_command": phone_command(owner=2001)},
                                    [refused("alice")]),
})


class S05PublicKeyThenCode(E2ECase):
    def test_unknown_key_then_key_then_code(self):
        """AuthenticationMethods publickey,keyboard-interactive: an unknown key gets no partial
        success, the user's key does, neither sends anything, and the code then logs in."""
        keys = self.dir / "authorized_keys"  # AuthorizedKeysFile, see E2ECase.server
        keys.mkdir()
        (keys / "alice").write_text(Suite.user_key_line + "\n")
        self.client = self.connect(self.server(methods="publickey,keyboard-interactive"))
        self.assertFalse(self.client.publickey("alice", Suite.other_key))
        self.assertIsNone(self.client.remaining, "an unknown key got a partial success")
        self.assertFalse(self.client.publickey("alice", Suite.user_key), "the key alone logged in")
        self.assertEqual(self.client.remaining, ["keyboard-interactive"],
                         "the key was not accepted as the first factor")
        self.assertEqual(self.calls(), [], "the key steps alone must send nothing")
        self.login(self.servers[0], Login("alice", [code], True, [ALICE_SMS], ["sms", True],
                                          same_connection=True))


    def test_key_then_code_then_grace(self):
        """publickey,keyboard-interactive with grace_period and the example stack's optional
        pam_permit line: the next connection from the same address needs the key only."""
        keys = self.dir / "authorized_keys"
        keys.mkdir()
        (keys / "alice").write_text(Suite.user_key_line + "\n")
        server = self.server(methods="publickey,keyboard-interactive", grace_period="600",
                             permit_ignored=True)
        for row in (Login("alice", [code], True, [ALICE_SMS], ["sms", True], same_connection=True),
                    Login("alice", [], True, [], [], same_connection=True)):
            self.client = self.connect(server)
            self.assertFalse(self.client.publickey("alice", Suite.user_key))
            self.assertEqual(self.client.remaining, ["keyboard-interactive"])
            self.login(server, row)


class S06PasswordMethod(E2ECase):
    def test_placeholder_password_sends_nothing_real_password_reaches_module(self):
        """AuthenticationMethods password (Debian's stock settings): sshd answers the module's
        prompt with the password. root is enrolled here, so only the placeholder check stands
        between sshd's "\\b\\n\\r\\177INCORRECT" password and a code sent to root's phone."""
        server = self.server(methods="password", first_factor="exec",
                             users_file=self.users_with("root +6591110000 sms"),
                             sshd={"PasswordAuthentication": "yes",
                                   "KbdInteractiveAuthentication": "no"})
        self.assertFalse(self.connect(server).password("root", "whatever-root-types"),
                         "root logged in despite PermitRootLogin no")
        self.assertEqual(self.calls(), [], "a code was sent for sshd's placeholder password")
        # The control: a real password does reach the module (which then sends), so the step
        # above would have seen a send. alice's password is no code (13 characters), so the
        # module's prompt, answered by sshd with the password, ends in no check.
        self.assertFalse(self.connect(server).password("alice", e2e.PASSWORDS["alice"]),
                         "password authentication alone logged in past the module")
        self.assertEqual(self.calls(), self.expected_calls(ALICE, ["sms"]))


def hang_up(test, _phone):
    test.client.sock.shutdown(socket.SHUT_RDWR)
    return "?"


def next_connection_passed(test, server):
    test.assertLess(test.took, 10 + 15, "the next connection was held up too long")
    sent = test.deliveries(ALICE)
    test.assertEqual(len(sent), 2, "one SMS per connection that reached the prompt")
    test.assertNotEqual(sent[0]["code"], sent[1]["code"], "the second code is a new one")


# A login that failed or was abandoned locks nobody out: the next connection gets a prompt and
# passes with a new code, perhaps after a notice of the wait (sshd shows it with the prompt) of at
# most resend_interval since the last send (threat-model rule 5).
NEXT = Login("alice", [code], True, [re.compile(
    r"^(A code was sent to this phone moments ago; a new one follows in ([1-9]|1[01]) "
    r"seconds?\.\n)?" + re.escape(ALICE_SMS) + "$")], ["sms", True])
S07NextConnection = scenarios("S07NextConnection", {
    "1_after_three_wrong_codes": ({"resend_interval": "10"}, [THREE_WRONG, NEXT],
                                  next_connection_passed),
    # It reached the prompt (a code sent), then the connection went.
    "2_after_a_connection_closed_at_the_prompt": ({"resend_interval": "10"}, [Login(
        "alice", [hang_up], False, [ALICE_SMS], ["sms"]), NEXT], next_connection_passed),
})


MACHINE_FILES = ("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/lib/pam_verif8")


def pids_of(pattern, full=True):
    found = subprocess.run(["pgrep", "-f" if full else "-x", pattern], capture_output=True,
                           text=True).stdout.split()
    return {int(pid) for pid in found} - {os.getpid()}


def command_of(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode
    except (OSError, UnicodeDecodeError):
        return "?"


def machine_state():
    """Size and mtime of each of MACHINE_FILES (None: absent)."""
    return {path: (os.stat(path).st_size, os.stat(path).st_mtime_ns) if os.path.exists(path)
            else None for path in MACHINE_FILES}


def check(result, name, problems):
    """One of the run's own checks, as a TAP line: it passes without problems."""
    result.number, result.any_failed = result.number + 1, result.any_failed or bool(problems)
    emit(f"{'not ok' if problems else 'ok'} {result.number} - {name}")
    if problems:
        diagnostic("\n".join(problems))


def on_signal(number, _frame):
    TapResult.interrupted = f"signal {number}"  # fails the test under way
    # KeyboardInterrupt, not SystemExit: unittest records any other exception as a test error
    # and carries on, while this one ends the run (the finally blocks stop everything).
    raise KeyboardInterrupt(f"signal {number}")


def prepare(work, module):
    """The suite's world, keys, sandbox and copy of the module, in `work` (see Suite); False
    when the sandbox did not start (TAP's Bail out!)."""
    (work / "tests").mkdir()
    for directory in (work, work / "tests"):  # see E2ECase.setUp
        os.chmod(directory, 0o711)
    (work / "sock").mkdir(mode=0o700)
    Suite.work = work
    Suite.world = harness.PamWorld(work / "world", users=e2e.E2E_USERS, groups=e2e.E2E_GROUPS)
    # sshd's privilege-separation account; its home is the /run/sshd of the namespace.
    Suite.world.add_account("sshd", 74, 65534, "/run/sshd", group="nogroup")
    Suite.world.write_passdb(Suite.world.dir / "passdb", e2e.PASSWORDS, "sshd")
    Suite.host_key = harness.write_secure(work / "ssh_host_ed25519_key", e2e.ed25519_key()[1])
    Suite.user_key, _, Suite.user_key_line = e2e.ed25519_key()
    Suite.other_key = e2e.ed25519_key()[0]
    # sshd sees a private /tmp (see e2e_support.SSHD_BOOT) with only the work dir in it, so
    # the module under test is loaded from a copy there, wherever it was built.
    Suite.module = work / "module" / module.name
    Suite.module.parent.mkdir(mode=0o755)
    shutil.copy2(module, Suite.module)
    os.chmod(Suite.module, 0o755)
    Suite.sandbox = harness.Sandbox(work / "sandbox", extra_args=["--quiet"],
                                    stdout=open(work / "sandbox.out", "w"))
    try:
        Suite.sandbox.start()
        return True
    except Exception as error:  # noqa: BLE001
        emit(f"Bail out! verif8-sandbox did not start: {error}")
        diagnostic((work / "sandbox.out").read_text(errors="replace")[-2000:])
        return False


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    started, module = time.monotonic(), Path(sys.argv[1]).resolve()
    logging.getLogger("paramiko").addHandler(logging.NullHandler())
    logging.getLogger("paramiko").propagate = False
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, on_signal)
    atexit.register(e2e.stop_all)
    sshd_before, machine_before = pids_of("sshd", full=False), machine_state()
    work, result = harness.temp_dir("verif8-e2e-"), TapResult()
    try:
        if not module.is_file():
            emit(f"not ok 1 - module_exists\n# {module} is not a file\n1..1")
            return 1
        if not prepare(work, module):
            return 1
        tests = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        tests = unittest.TestSuite(test for group in tests for test in group  # one per class
                                   if not sys.argv[2:] or any(p in test.id() for p in sys.argv[2:]))
        try:
            tests.run(result)
        except KeyboardInterrupt as stop:
            emit(f"Bail out! stopped ({stop}); servers and sandbox stopped")
            return 1
        finally:
            e2e.stop_all()
            Suite.sandbox.stop()
        machine_after = machine_state()
        check(result, "machine_login_records_and_state_untouched",
              [f"{path}: {machine_before[path]} -> {machine_after[path]}"
               for path in MACHINE_FILES if machine_before[path] != machine_after[path]])
        time.sleep(0.2)
        left = pids_of(str(work)) | (pids_of("sshd", full=False) - sshd_before)
        check(result, "no_process_left", [f"pid {pid}: {command_of(pid)}" for pid in sorted(left)])
        emit(f"1..{result.number}")
        diagnostic(f"e2e wall time {time.monotonic() - started:.1f} s")
        return 1 if result.any_failed else 0
    finally:
        e2e.stop_all()
        if Suite.sandbox is not None:
            Suite.sandbox.stop()
        if os.environ.get("VERIF8_KEEP"):
            print(f"kept {work}", file=sys.stderr)
        else:
            harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
