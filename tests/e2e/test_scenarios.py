"""End-to-end scenarios: a real sshd, the built module, a paramiko client, the sandbox.

Most are rows of a table (see e2e_case.Login): the server's settings, then for each login what
the user types, whether it logs in (and then the session runs `echo ok`), the exact prompts of
design.md and what the sandbox received (the channel and destination of each send, whether
each code check matched); login() checks all of them, for every row."""

import os
import re
import socket

import e2e_support as e2e
from e2e_case import E2ECase, Login, Suite, scenarios
from e2e_support import after, after_interval, code, text, wrong

ALICE = e2e.PHONES["alice"]
PASSWORD_PROMPT = "Password: "  # pam_matrix's prompt


def code_prompt(notice):
    return f"{notice}\nVerification code: "


# The masks written out, so that a wrong mask shows too.
ALICE_SMS = code_prompt("Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.")
ALICE_AGAIN = code_prompt("Code sent again by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.")
ALICE_VOICE = code_prompt("Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20224567.")
BOB_VOICE = code_prompt("Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20225432.")
NOT_A_CODE = code_prompt("That is not a code: codes are 3 to 10 letters or digits. "
                         "2 attempts left.")
# An empty line or a channel switch before resend_interval (10 s): a wait, counted as wrong.
WAIT = re.compile(r"^Wait ([1-9]|10) more seconds before asking for a new code\. "
                  r"2 attempts left\.\nVerification code: $")


def wrong_left(left):
    return code_prompt(f"Wrong code. {left} attempt{'s' if left != 1 else ''} left.")


def expire():
    Suite.sandbox.control("expire")


def password(user):
    return text(e2e.PASSWORDS[user])


def password_only(user, source=None):
    """A login that the password alone lets in (the module steps aside); nothing sent."""
    return Login(user, [password(user)], True, [PASSWORD_PROMPT], [], source=source)


def password_and_code(user, source=None):
    """alice's password, then her code by SMS."""
    return Login(user, [password(user), code()], True, [PASSWORD_PROMPT, ALICE_SMS],
                 ["sms", True], source=source)


THREE_WRONG = Login("alice", [wrong(), wrong(), wrong()], False,
                    [ALICE_SMS, wrong_left(2), wrong_left(1)], ["sms", False, False, False],
                    ["Wrong code. No attempts left.\n"])


@scenarios({
    # The module alone behind keyboard-interactive.
    "1_right_code": ({}, [Login("alice", [code()], True, [ALICE_SMS], ["sms", True])], None),
    "2_wrong_then_right": ({}, [Login("alice", [wrong(), code()], True,
                                      [ALICE_SMS, wrong_left(2)], ["sms", False, True])], None),
    # The right code, typed after the session expired: the status read shows it, so the code is
    # never sent, and the login ends.
    "4_expired_code": ({}, [Login("alice", [after(expire, code())], False, [ALICE_SMS],
                                  ["sms"], ["The code has expired.\n"])],
                       lambda test, server: test.assertEqual(len(test.reads()), 1)),
    "5_text_that_is_not_a_code": ({}, [Login("alice", [text("hello world!"), code()], True,
                                             [ALICE_SMS, NOT_A_CODE], ["sms", True])], None),
    "6_voice_user": ({}, [Login("bob", [code()], True, [BOB_VOICE], ["call", True])], None),
    # Three wrong codes end the login; sshd's next round on the same connection is told the
    # code was already sent, and that code still works (no new send).
    "7_retry_on_the_same_connection_reuses_the_code": ({}, [THREE_WRONG, Login(
        "alice", [code()], True, [code_prompt(
            "Code already sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.")],
        [True], same_connection=True)], None),
    # mallory has an enrolment line but no account: only the existence check stops a send.
    "8_invalid_user_sends_nothing": (
        {"users_file": lambda test: test.users_with("mallory +6591119999 sms")},
        [Login("mallory", [code()], False, [], [], phone="+6591119999")],
        lambda test, server: test.assertIn("invalid user mallory", server.log().lower())),
})
class S01KeyboardInteractive(E2ECase):
    pass


@scenarios({
    # An empty line asks for the code again: not before resend_interval, at most 3 sends, all
    # in one session.
    "1_resend_too_early_then_again": ({"resend_interval": "10"}, [Login(
        "alice", [text(""), after_interval(10, text("")), code()], True,
        [ALICE_SMS, WAIT, ALICE_AGAIN], ["sms", "sms", True])], None),
    "2_no_more_than_three_sends": ({"resend_interval": "10"}, [Login(
        "alice", [after_interval(10, text(""))] * 3 + [code()], True,
        [ALICE_SMS, ALICE_AGAIN, ALICE_AGAIN,
         code_prompt("No more codes can be sent for this login. 2 attempts left.")],
        ["sms"] * 3 + [True])], None),
    # A switch obeys the resend limits: too early, it waits (and counts as wrong).
    "3_switch_to_voice": ({"resend_interval": "10"}, [Login(
        "alice", [text("voice"), after_interval(10, text("voice")), code()], True,
        [ALICE_SMS, WAIT, ALICE_VOICE], ["sms", "call", True])], None),
    "4_channel_not_allowed": ({"resend_interval": "10"}, [Login(
        "alice", [text("viber"), code()], True,
        [ALICE_SMS, code_prompt("Channel viber is not available for you (yours: sms, voice). "
                                "2 attempts left.")], ["sms", True])], None),
})
class S02ResendAndChannels(E2ECase):
    pass


MATRIX = {"first_factor": "matrix"}


@scenarios({
    # pam_matrix (requisite) then the module, in one PAM stack behind keyboard-interactive.
    "1_wrong_password_sends_nothing": (MATRIX, [Login(
        "alice", [text("not-the-password")], False, [PASSWORD_PROMPT], [])], None),
    # Exempt users, groups, only_groups and trusted networks get PAM_IGNORE: the password alone
    # logs in and nothing is sent; others still get a code.
    "2_exempt_user": (dict(MATRIX, exempt_users="bob"),
                      [password_only("bob"), password_and_code("alice")], None),
    "3_exempt_group": (dict(MATRIX, exempt_groups="ops"),  # ops: bob
                       [password_only("bob"), password_and_code("alice")], None),
    "4_only_groups": (dict(MATRIX, only_groups="2fa"),  # 2fa: alice
                      [password_only("bob"), password_and_code("alice")], None),
    "5_trusted_network": (dict(MATRIX, trusted_networks="127.0.0.0/8 ::1/128"),
                          [password_only("alice"), password_only("bob")], None),
    # The same client, from 127.0.0.2 (outside 127.0.0.1/32), still to 127.0.0.1.
    "6_untrusted_address_still_gets_a_code": (
        dict(MATRIX, trusted_networks="127.0.0.1/32 ::1/128"),
        [password_only("alice", "127.0.0.1"), password_and_code("alice", "127.0.0.2")], None),
    "7_unenrolled_deny": (dict(MATRIX, unenrolled="deny"), [Login(
        "carol", [password("carol")], False, [PASSWORD_PROMPT], [])], None),
    "8_unenrolled_ignore": (dict(MATRIX, unenrolled="ignore"), [password_only("carol")], None),
})
class S03PasswordThenCode(E2ECase):
    pass


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
        script = e2e.harness.write_secure(test.dir / "phone-lookup", PHONE_COMMAND, mode=mode)
        if owner is not None:
            os.chown(script, owner, owner)
        return f"{script} %u"
    return setting


def refused(user):
    """No usable number: no prompt, nothing sent. (The log line is not checked here: sshd's PAM
    process loses pam_wrapper's settings, so only LOG_ERR lines are visible, see
    SshServer.module_lines; tests/pam checks the logs.)"""
    return Login(user, [code()], False, [], [], phone="+6591112222")


def given_its_5_s(test, server):
    test.assertGreater(test.took, 4.5, "the command was not given its 5 s")
    test.assertLess(test.took, 15, "the command was not stopped after 5 s")


@scenarios({
    # The number from the command, not the users file's +6591234567.
    "1_good_command": ({"phone_command": phone_command()}, [Login(
        "alice", [code()], True,
        [code_prompt("Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20222222.")],
        ["sms", True], phone="+6591112222")], None),
    "2_failing_command": ({"phone_command": phone_command()}, [refused("bob")], None),  # exit 3
    "3_garbage_output": ({"phone_command": phone_command()}, [refused("erin")], None),
    "4_timeout": ({"phone_command": phone_command()}, [refused("frank")], given_its_5_s),
    "5_group_writable_command": ({"phone_command": phone_command(mode=0o775)},
                                 [refused("alice")], None),
    "6_command_not_owned_by_root": ({"phone_command": phone_command(owner=2001)},
                                    [refused("alice")], None),
})
class S04PhoneCommand(E2ECase):
    """phone_command replaces the users file; any failure leaves the user unenrolled."""


class S05PublicKeyThenCode(E2ECase):
    """AuthenticationMethods publickey,keyboard-interactive."""

    def setUp(self):
        super().setUp()
        directory = self.dir / "authorized_keys"  # AuthorizedKeysFile, see E2ECase.server
        directory.mkdir()
        (directory / "alice").write_text(Suite.user_key_line + "\n")
        self.server(methods="publickey,keyboard-interactive")
        self.client = self.connect(self.servers[0])

    def test_1_key_then_code(self):
        self.assertFalse(self.client.publickey("alice", Suite.user_key), "the key alone logged in")
        self.assertEqual(self.client.remaining, ["keyboard-interactive"],
                         "the key was not accepted as the first factor")
        self.assertEqual(self.calls(), [], "the key step alone must send nothing")
        self.login(self.servers[0], Login("alice", [code()], True, [ALICE_SMS], ["sms", True],
                                          same_connection=True))

    def test_2_unknown_key_sends_nothing(self):
        self.assertFalse(self.client.publickey("alice", Suite.other_key))
        self.assertIsNone(self.client.remaining, "an unknown key got a partial success")
        self.assertEqual(self.calls(), [])


class S06PasswordMethod(E2ECase):
    """AuthenticationMethods password: sshd answers the module's prompt with the password."""

    def setUp(self):
        super().setUp()
        # root is enrolled here, so only the placeholder check stands between sshd's
        # "\b\n\r\177INCORRECT" password and a code sent to root's phone.
        server = self.server(methods="password", first_factor="exec",
                             users_file=self.users_with("root +6591110000 sms"),
                             sshd={"PasswordAuthentication": "yes",
                                   "KbdInteractiveAuthentication": "no"})
        self.client = self.connect(server)

    def test_1_root_placeholder_password_sends_nothing(self):
        self.assertFalse(self.client.password("root", "whatever-root-types"),
                         "root logged in despite PermitRootLogin no")
        self.assertEqual(self.calls(), [], "a code was sent for sshd's placeholder password")

    def test_2_placeholder_control_real_password_reaches_module(self):
        # The same stack with a real password does reach the module (which then sends), so the
        # test above would have seen a send. alice's password is no code (13 characters), so
        # the module's prompt, answered by sshd with the password, ends in no check.
        self.assertFalse(self.client.password("alice", e2e.PASSWORDS["alice"]),
                         "password authentication alone logged in past the module")
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms")])


# The next connection after a failed or abandoned login: a new code, perhaps after a notice of
# the wait (sshd shows it with the prompt, before it) of at most resend_interval.
NEXT_CONNECTION = Login("alice", [code()], True, [re.compile(
    r"^(A code was sent to this phone moments ago; a new one follows in ([1-9]|1[01]) "
    r"seconds?\.\n)?" + re.escape(ALICE_SMS) + "$")], ["sms", True])


class S07NextConnection(E2ECase):
    """A login that failed or was abandoned locks nobody out: the next connection gets a
    prompt and passes with a new code, once resend_interval has passed since the last send
    (threat-model rule 5)."""

    def next_connection_passes(self, server):
        self.login(server, NEXT_CONNECTION)
        self.assertLess(self.took, 10 + 15, "the next connection was held up too long")
        sent = self.deliveries(ALICE)
        self.assertEqual(len(sent), 2, "one SMS per connection that reached the prompt")
        self.assertNotEqual(sent[0]["code"], sent[1]["code"], "the second code is a new one")

    def test_1_after_three_wrong_codes(self):
        server = self.server(resend_interval="10")
        self.login(server, THREE_WRONG)
        self.client.close()
        self.next_connection_passes(server)

    def test_2_after_a_connection_closed_at_the_prompt(self):
        server = self.server(resend_interval="10")

        def hang_up(answers, prompt):
            self.client.sock.shutdown(socket.SHUT_RDWR)
            return "?"
        # It reached the prompt (a code sent), then the connection went.
        self.login(server, Login("alice", [hang_up], False, [ALICE_SMS], ["sms"]))
        self.next_connection_passes(server)
