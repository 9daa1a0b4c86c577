"""End-to-end scenarios: a real sshd, the built module, a paramiko client, the sandbox.

Each test checks three things: whether the login succeeded (and, if so, that the session runs
`echo ok`), the prompts the client saw (exact texts of design.md), and what the sandbox received
(method, path, destination and channel of each send; codePresent/codeMatched of each check)."""

import os
import re
import socket
import time

import e2e_support as e2e
from e2e_case import E2ECase, Suite, elapsed
from e2e_support import after, after_interval, code, code_prompt, mask, text, wrong

ALICE = e2e.PHONES["alice"]
BOB = e2e.PHONES["bob"]
ALICE_SMS = code_prompt(f"Code sent by SMS to {mask(ALICE)}.")
ALICE_VOICE = code_prompt(f"Code sent by voice call to {mask(ALICE)}.")
BOB_VOICE = code_prompt(f"Code sent by voice call to {mask(BOB)}.")
PASSWORD_PROMPT = "Password: "  # pam_matrix's prompt
NOT_A_CODE = "That is not a code: codes are 3 to 10 letters or digits."


def wrong_left(left):
    return code_prompt(f"Wrong code. {left} attempt{'s' if left != 1 else ''} left.")


def expire(context):
    context.sandbox.control("expire")


def password(user):
    return text(e2e.PASSWORDS[user])


class S01KeyboardInteractive(E2ECase):
    """AuthenticationMethods keyboard-interactive, the module alone in the auth stack."""

    def test_1_right_code(self):
        server = self.server()
        ok, answers, client = self.kbdint(server, "alice", [code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login with the right code failed")
        self.assertEqual(answers.prompts, [ALICE_SMS])
        self.assertEqual(answers.echoes, [False], "the code prompt must not echo")
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_wrong_then_right(self):
        server = self.server()
        ok, answers, client = self.kbdint(server, "alice", [wrong(), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login with a wrong then the right code failed")
        self.assertEqual(answers.prompts, [ALICE_SMS, wrong_left(2)])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, False),
                                        self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_3_too_many_wrong_codes(self):
        server = self.server()
        ok, answers, _ = self.kbdint(server, "alice", [wrong(), wrong(), wrong()])
        self.assertNoStepErrors(answers)
        self.assertFalse(ok, "three wrong codes logged in")
        self.assertEqual(answers.prompts, [ALICE_SMS, wrong_left(2), wrong_left(1)])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, False),
                                        self.GET(sid, False), self.GET(sid, False)])

    def test_4_expired_code(self):
        server = self.server()
        ok, answers, _ = self.kbdint(server, "alice", [after(expire, code())])
        self.assertNoStepErrors(answers)
        self.assertFalse(ok, "an expired code logged in")
        self.assertEqual(answers.prompts, [ALICE_SMS])
        sid = self.session_id(ALICE)
        # The right code, typed after the session expired: the status read shows it, so the
        # code is never sent, and the login ends.
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms")])
        self.assertEqual(len(self.reads()), 1)

    def test_5_text_that_is_not_a_code(self):
        server = self.server()
        ok, answers, client = self.kbdint(server, "alice", [text("hello world!"), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login after a non-code answer and the right code failed")
        self.assertEqual(answers.prompts, [ALICE_SMS, code_prompt(f"{NOT_A_CODE} 2 attempts left.")])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)


class S02PublicKeyThenCode(E2ECase):
    """AuthenticationMethods publickey,keyboard-interactive."""

    def authorise(self, user):
        directory = self.dir / "authorized_keys"  # AuthorizedKeysFile, see E2ECase.server
        directory.mkdir(exist_ok=True)
        (directory / user).write_text(Suite.user_key_line + "\n")

    def server(self, **kwargs):
        return super().server(methods="publickey,keyboard-interactive", **kwargs)

    def setUp(self):
        super().setUp()
        self.authorise("alice")

    def test_1_key_then_code(self):
        server = self.server()
        client = self.connect(server)
        self.assertFalse(client.publickey("alice", Suite.user_key), "the key alone logged in")
        self.assertEqual(client.remaining, ["keyboard-interactive"],
                         "the key was not accepted as the first factor")
        self.assertEqual(self.calls(), [], "the key step alone must send nothing")
        ok, answers, _ = self.kbdint(server, "alice", [code()], client=client)
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "key + right code failed")
        self.assertEqual(answers.prompts, [ALICE_SMS])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_unknown_key_sends_nothing(self):
        server = self.server()
        client = self.connect(server)
        self.assertFalse(client.publickey("alice", Suite.other_key))
        self.assertIsNone(client.remaining, "an unknown key got a partial success")
        self.assertEqual(self.calls(), [])


class S03PasswordThenCode(E2ECase):
    """pam_matrix (requisite) then the module, in one PAM stack behind keyboard-interactive."""

    def test_1_right_password_and_code(self):
        server = self.server(first_factor="matrix")
        ok, answers, client = self.kbdint(server, "alice", [password("alice"), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "right password + right code failed")
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT, ALICE_SMS])
        self.assertEqual(answers.echoes, [False, False])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_wrong_password_sends_nothing(self):
        server = self.server(first_factor="matrix")
        ok, answers, _ = self.kbdint(server, "alice", [text("not-the-password")])
        self.assertNoStepErrors(answers)
        self.assertFalse(ok, "a wrong password logged in")
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT])
        self.assertEqual(self.calls(), [])


class S04InvalidUsers(E2ECase):
    def test_1_invalid_user_sends_nothing(self):
        # mallory has an enrolment line but no account: only the existence check stops a send.
        users = e2e.harness.write_secure(
            self.dir / "users-with-mallory",
            Suite.world.users_file.read_text() + "mallory +6591119999 sms\n", mode=0o644)
        server = self.server(users_file=users)
        ok, answers, _ = self.kbdint(server, "mallory", [code()], destination="+6591119999")
        self.assertFalse(ok, "a user that does not exist logged in")
        self.assertEqual(answers.prompts, [], "a user that does not exist was asked for a code")
        self.assertEqual(self.calls(), [])
        self.assertIn("invalid user mallory", server.log().lower())

    def placeholder_server(self):
        # root is enrolled here, so only the placeholder check stands between sshd's
        # "\b\n\r\177INCORRECT" password and a code sent to root's phone.
        users = e2e.harness.write_secure(
            self.dir / "users-with-root",
            Suite.world.users_file.read_text() + "root +6591110000 sms\n", mode=0o644)
        return self.server(methods="password", first_factor="exec", users_file=users,
                           sshd={"PasswordAuthentication": "yes",
                                 "KbdInteractiveAuthentication": "no",
                                 "PermitRootLogin": "no"})

    def test_2_root_placeholder_password_sends_nothing(self):
        server = self.placeholder_server()
        client = self.connect(server)
        ok = client.password("root", "whatever-root-types")
        self.assertFalse(ok, "root logged in despite PermitRootLogin no")
        self.assertEqual(self.calls(), [], "a code was sent for sshd's placeholder password")

    def test_3_placeholder_control_real_password_reaches_module(self):
        # The same stack with a real password does reach the module (which then sends), so the
        # test above would have seen a send. alice's password is no code (13 characters), so
        # the module's prompt, answered by sshd with the password, ends in no check.
        server = self.placeholder_server()
        client = self.connect(server)
        ok = client.password("alice", e2e.PASSWORDS["alice"])
        self.assertFalse(ok, "password authentication alone logged in past the module")
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms")])


class S05PromptText(E2ECase):
    """The notice (channel, masked number) travels in the same message as the code prompt."""

    def test_1_sms_user(self):
        server = self.server()
        ok, answers, client = self.kbdint(server, "alice", [code()])
        self.assertTrue(ok)
        # One info request carries notice and prompt; no other one carries any text (sshd
        # ends a successful exchange with an empty request).
        with_prompts = [r for r in answers.rounds if r.prompts]
        self.assertEqual([(r.title, r.instructions, r.prompts) for r in with_prompts],
                         [("", "", [(ALICE_SMS, False)])])
        self.assertEqual([(r.title, r.instructions) for r in answers.rounds if not r.prompts],
                         [("", "")] * (len(answers.rounds) - 1),
                         "text came in a message of its own")
        self.assertEqual(answers.prompts[0],
                         "Code sent by SMS to \u2022\u2022\u2022\u2022\u2022\u20224567.\n"
                         "Verification code: ")
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_voice_user(self):
        server = self.server()
        ok, answers, client = self.kbdint(server, "bob", [code()])
        self.assertTrue(ok)
        self.assertEqual(answers.prompts, [BOB_VOICE])
        self.assertEqual(answers.prompts[0],
                         "Code sent by voice call to \u2022\u2022\u2022\u2022\u2022\u20225432.\n"
                         "Verification code: ")
        sid = self.session_id(BOB)
        self.assertEqual(self.calls(), [self.POST(BOB, "call"), self.GET(sid, True)])
        self.assertSessionWorks(client)


class S06Resend(E2ECase):
    """An empty line asks for the code again: not before resend_interval, at most 3 sends."""

    def test_1_too_early_then_again(self):
        server = self.server(resend_interval="10")
        ok, answers, client = self.kbdint(
            server, "alice", [text(""), after_interval(10, text("")), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login after a resend failed")
        self.assertEqual(len(answers.prompts), 3, answers.prompts)
        self.assertEqual(answers.prompts[0], ALICE_SMS)
        self.assertWaitPrompt(answers.prompts[1], 2)
        self.assertEqual(answers.prompts[2],
                         code_prompt(f"Code sent again by SMS to {mask(ALICE)}."))
        sid = self.session_id(ALICE)  # both deliveries: one session
        self.assertEqual(len(self.deliveries(ALICE)), 2)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.POST(ALICE, "sms"),
                                        self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_no_more_than_three_sends(self):
        server = self.server(resend_interval="10")
        ok, answers, client = self.kbdint(
            server, "alice", [after_interval(10, text("")), after_interval(10, text("")),
                              after_interval(10, text("")), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login after two resends failed")
        again = code_prompt(f"Code sent again by SMS to {mask(ALICE)}.")
        self.assertEqual(answers.prompts, [
            ALICE_SMS, again, again,
            code_prompt("No more codes can be sent for this login. 2 attempts left.")])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms")] * 3 + [self.GET(sid, True)])
        self.assertSessionWorks(client)


class S07ChannelSwitch(E2ECase):
    def test_1_switch_to_voice(self):
        server = self.server(resend_interval="10")
        ok, answers, client = self.kbdint(
            server, "alice", [text("voice"), after_interval(10, text("voice")), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login after switching to voice failed")
        self.assertEqual(len(answers.prompts), 3, answers.prompts)
        self.assertEqual(answers.prompts[0], ALICE_SMS)
        # A switch obeys the resend limits: too early, it waits (and counts as wrong).
        self.assertWaitPrompt(answers.prompts[1], 2)
        self.assertEqual(answers.prompts[2], ALICE_VOICE)
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.POST(ALICE, "call"),
                                        self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_channel_not_allowed(self):
        server = self.server(resend_interval="10")
        ok, answers, client = self.kbdint(server, "alice", [text("viber"), code()])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login after asking for a channel not allowed failed")
        self.assertEqual(answers.prompts, [
            ALICE_SMS,
            code_prompt("Channel viber is not available for you (yours: sms, voice). 2 attempts left.")])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)


class S08RetryOnSameConnection(E2ECase):
    def test_1_second_round_reuses_the_code(self):
        server = self.server()
        first_ok, first, client = self.kbdint(server, "alice", [wrong(), wrong(), wrong()])
        self.assertNoStepErrors(first)
        self.assertFalse(first_ok, "three wrong codes logged in")
        self.assertEqual(first.prompts, [ALICE_SMS, wrong_left(2), wrong_left(1)])
        self.assertTrue(client.transport.is_active(), "sshd closed the connection")
        ok, second, _ = self.kbdint(server, "alice", [code()], client=client)
        self.assertNoStepErrors(second)
        self.assertTrue(ok, "the retry with the first code failed")
        self.assertEqual(second.prompts,
                         [code_prompt(f"Code already sent by SMS to {mask(ALICE)}.")])
        sid = self.session_id(ALICE)
        self.assertEqual(self.calls(), [self.POST(ALICE, "sms")] +
                         [self.GET(sid, False)] * 3 + [self.GET(sid, True)])
        self.assertSessionWorks(client)


class S09Policy(E2ECase):
    """Exempt users, groups, only_groups and trusted networks get PAM_IGNORE: with pam_matrix
    first, the password alone logs in and nothing is sent; others still get a code."""

    def password_only(self, server, user, source=None):
        ok, answers, client = self.kbdint(server, user, [password(user)], source=source)
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, f"{user}: the password alone did not log in")
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT])
        self.assertEqual(self.calls(), [], f"{user}: something was sent")
        self.assertSessionWorks(client)

    def password_and_code(self, server, user, source=None):
        mark = len(self.calls())
        ok, answers, client = self.kbdint(server, user, [password(user), code()], source=source)
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, f"{user}: password + code failed")
        phone = e2e.PHONES[user]
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT, ALICE_SMS if user == "alice" else
                                           BOB_VOICE])
        sid = self.session_id(phone)
        channel = "sms" if user == "alice" else "call"
        self.assertEqual(self.calls()[mark:], [self.POST(phone, channel), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_1_exempt_user(self):
        server = self.server(first_factor="matrix", exempt_users="bob")
        self.password_only(server, "bob")
        self.password_and_code(server, "alice")

    def test_2_exempt_group(self):
        server = self.server(first_factor="matrix", exempt_groups="ops")  # ops: bob
        self.password_only(server, "bob")
        self.password_and_code(server, "alice")

    def test_3_only_groups(self):
        server = self.server(first_factor="matrix", only_groups="2fa")  # 2fa: alice
        self.password_only(server, "bob")
        self.password_and_code(server, "alice")

    def test_4_trusted_network(self):
        server = self.server(first_factor="matrix", trusted_networks="127.0.0.0/8 ::1/128")
        self.password_only(server, "alice")
        self.password_only(server, "bob")

    def test_5_untrusted_address_still_gets_a_code(self):
        # The same client, from 127.0.0.2 (outside 127.0.0.1/32), still to 127.0.0.1.
        server = self.server(first_factor="matrix", trusted_networks="127.0.0.1/32 ::1/128")
        self.password_only(server, "alice", source="127.0.0.1")
        self.password_and_code(server, "alice", source="127.0.0.2")


PHONE_COMMAND = r"""#!/bin/sh
case "$1" in
    alice) echo "+6591112222 sms" ;;
    bob) echo "+6591113333 voice"; exit 3 ;;
    erin) echo "this is not a phone number" ;;
    frank) sleep 20; echo "+6591114444 sms" ;;
    *) exit 1 ;;
esac
"""


class S10PhoneCommand(E2ECase):
    """phone_command replaces the users file; any failure leaves the user unenrolled."""

    def command(self, mode=0o755, owner=None):
        script = self.dir / "phone-lookup"
        e2e.harness.write_secure(script, PHONE_COMMAND, mode=mode)
        if owner is not None:
            os.chown(script, owner, owner)
        return f"{script} %u"

    def assertRefused(self, server, user, seconds=None):
        start = time.monotonic()
        ok, answers, _ = self.kbdint(server, user, [code("+6591112222")])
        took = elapsed(start)
        self.assertFalse(ok, f"{user} logged in without a usable phone number")
        self.assertEqual(answers.prompts, [], f"{user} was asked for a code")
        self.assertEqual(self.calls(), [], f"something was sent for {user}")
        # The log line is not checked here: sshd's PAM process loses pam_wrapper's settings,
        # so only LOG_ERR lines are visible (see SshServer.module_lines); tests/pam checks logs.
        return took

    def test_1_good_command(self):
        server = self.server(phone_command=self.command())
        ok, answers, client = self.kbdint(server, "alice", [code("+6591112222")])
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "login with the number from phone_command failed")
        self.assertEqual(answers.prompts, [code_prompt(f"Code sent by SMS to {mask('+6591112222')}.")])
        sid = self.session_id("+6591112222")
        # The number from the command, not the users file's +6591234567.
        self.assertEqual(self.calls(), [self.POST("+6591112222", "sms"), self.GET(sid, True)])
        self.assertSessionWorks(client)

    def test_2_failing_command(self):
        server = self.server(phone_command=self.command())
        self.assertRefused(server, "bob")  # exit 3 (after printing a number)

    def test_3_garbage_output(self):
        server = self.server(phone_command=self.command())
        self.assertRefused(server, "erin")

    def test_4_timeout(self):
        server = self.server(phone_command=self.command())
        took = self.assertRefused(server, "frank")
        self.assertGreater(took, 4.5, "the command was not given its 5 s")
        self.assertLess(took, 15, "the command was not stopped after 5 s")

    def test_5_group_writable_command(self):
        server = self.server(phone_command=self.command(mode=0o775))
        self.assertRefused(server, "alice")

    def test_6_command_not_owned_by_root(self):
        server = self.server(phone_command=self.command(owner=2001))
        self.assertRefused(server, "alice")


class S11Unenrolled(E2ECase):
    def test_1_deny(self):
        server = self.server(first_factor="matrix", unenrolled="deny")
        ok, answers, _ = self.kbdint(server, "carol", [password("carol")])
        self.assertFalse(ok, "an unenrolled user logged in with unenrolled = deny")
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT])
        self.assertEqual(self.calls(), [])

    def test_2_ignore(self):
        server = self.server(first_factor="matrix", unenrolled="ignore")
        ok, answers, client = self.kbdint(server, "carol", [password("carol")])
        self.assertTrue(ok, "unenrolled = ignore: the password alone did not log in")
        self.assertEqual(answers.prompts, [PASSWORD_PROMPT])
        self.assertEqual(self.calls(), [])
        self.assertSessionWorks(client)


class S12NextConnection(E2ECase):
    """A login that failed or was abandoned locks nobody out: the next connection gets a
    prompt and passes with a new code, once resend_interval has passed since the last send
    (threat-model rule 5)."""

    def next_connection_passes(self, server):
        started = time.monotonic()
        ok, answers, client = self.kbdint(server, "alice", [code()])
        waited = time.monotonic() - started
        self.assertNoStepErrors(answers)
        self.assertTrue(ok, "the next connection did not log in")
        self.assertEqual(len(answers.prompts), 1, answers.rounds)
        self.assertTrue(answers.prompts[0].endswith(ALICE_SMS), answers.prompts)
        # sshd shows the module's notice of the wait with the prompt, after it.
        notice = re.match(r"A code was sent to this phone moments ago; a new one follows in "
                          r"(\d+) seconds?\.\n", answers.prompts[0])
        if notice:
            self.assertLessEqual(int(notice.group(1)), 11, "more than resend_interval")
        self.assertLess(waited, 10 + 15, "the next connection was held up too long")
        sent = self.deliveries(ALICE)
        self.assertEqual(len(sent), 2, "one SMS per connection that reached the prompt")
        self.assertNotEqual(sent[0]["code"], sent[1]["code"], "the second code is a new one")
        self.assertSessionWorks(client)

    def test_1_after_three_wrong_codes(self):
        server = self.server(resend_interval="10")
        ok, first, client = self.kbdint(server, "alice", [wrong(), wrong(), wrong()])
        self.assertNoStepErrors(first)
        self.assertFalse(ok, "three wrong codes logged in")
        self.assertEqual(first.prompts, [ALICE_SMS, wrong_left(2), wrong_left(1)])
        client.close()
        self.next_connection_passes(server)

    def test_2_after_a_connection_closed_at_the_prompt(self):
        server = self.server(resend_interval="10")
        client = self.connect(server)

        def hang_up(context, prompt):
            client.sock.shutdown(socket.SHUT_RDWR)
            return "?"
        ok, first, _ = self.kbdint(server, "alice", [hang_up], client=client)
        self.assertFalse(ok)
        self.assertEqual(first.prompts, [ALICE_SMS])  # it reached the prompt
        self.next_connection_passes(server)
