"""The base of every end-to-end scenario: one suite-wide world and sandbox, and per test a fresh
directory, config file, state_dir and sshd (or a few), a sandbox reset, and login() that runs one
keyboard-interactive login of a scenario table and checks all that the client and the sandbox
saw against its row."""

import os
import re
import time
import unittest
from typing import NamedTuple, Optional

import e2e_support as e2e
from e2e_support import harness


class Suite:
    """What all tests share; built once by run_e2e.py."""

    module = None  # absolute path of pam_verif8.so
    world = None  # harness.PamWorld with E2E_USERS, E2E_GROUPS and sshd's account
    sandbox = None  # harness.Sandbox
    work = None  # the run's temp dir
    host_key = None  # sshd's host key (ed25519, 0600)
    user_key = None  # paramiko key that publickey scenarios authorise
    user_key_line = None  # its authorized_keys line
    other_key = None  # a key nobody authorised


class Login(NamedTuple):
    """One row of a scenario: a keyboard-interactive login and all it must show."""

    user: str
    steps: list  # what the user types at each prompt (e2e_support's step functions)
    ok: bool  # logged in? (then the session must run `echo ok`)
    prompts: list  # every prompt, in order: its exact text, or a re.Pattern it must match
    # The sandbox calls of this login, in order: "sms"/"call" is a send to the login's phone on
    # that channel, True/False a code check of the phone's session that matched or not.
    calls: list
    # Messages shown without a prompt (sshd sends the module's last words, such as why the
    # login failed, in an info request of their own); no other request carries any text.
    messages: list = []
    source: Optional[str] = None  # the client's address (default 127.0.0.1)
    phone: Optional[str] = None  # where the code goes, when not the users file's number
    same_connection: bool = False  # on the previous login's connection (sshd's retry)


def scenarios(rows):
    """A class decorator: one test_NAME per row {NAME: (server settings, [Login...], check)},
    where `check(test, server)` (or None) checks more after the logins. A setting whose value
    is callable is called with the test (for files the test makes)."""
    def add(cls):
        for name, (settings, logins, check) in rows.items():
            setattr(cls, f"test_{name}", lambda self, row=(settings, logins, check):
                    self.run_scenario(*row))
        return cls
    return add


class E2ECase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        name = self.id().split(".", 1)[-1].replace(".", "-")
        self.dir = Suite.work / "tests" / name
        self.dir.mkdir(parents=True)
        # sshd reads authorized_keys as the user: the way there must be searchable (not
        # listable); every file with a secret in it is 0600 on its own.
        os.chmod(self.dir, 0o711)
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(mode=0o700)
        self.servers = []
        self.answer_log = []  # (user, Answers) of every login, for the diagnostics
        self.client = None  # the last login's connection
        self.took = None  # how long the last login took, in seconds
        Suite.sandbox.control("reset")
        self.request_mark = len(Suite.sandbox.requests())
        self.delivery_mark = len(Suite.sandbox.deliveries())

    # -- servers --------------------------------------------------------------------------

    def pam_stack(self, first_factor, config):
        permit = harness.system_module("pam_permit.so")
        passdb = Suite.world.dir / "passdb"
        lines = []
        if first_factor == "matrix":
            lines.append(f"auth requisite {harness.wrapper_module('pam_matrix.so')} "
                         f"passdb={passdb}")
        elif first_factor == "exec":
            # pam_exec asks for the password (or takes sshd's) and leaves it in PAM_AUTHTOK
            # untouched, as pam_unix would; `required`, so the module runs even after a failure.
            script = harness.write_secure(self.dir / "check-password",
                                          CHECK_PASSWORD.replace("@PASSDB@", str(passdb)),
                                          mode=0o755)
            lines.append(f"auth required {harness.system_module('pam_exec.so')} "
                         f"expose_authtok quiet {script}")
        elif first_factor is not None:
            raise ValueError(first_factor)
        lines += [f"auth required {Suite.module} conf={config}", f"account required {permit}",
                  f"session required {permit}"]
        return "".join(line + "\n" for line in lines)

    def server(self, methods="keyboard-interactive", first_factor=None, users_file=None,
               sshd=None, **settings):
        """Starts an sshd with a pam_verif8.conf (0600) of `settings` and this test's own
        state_dir; stopped when the test ends, whatever happens."""
        number = len(self.servers) + 1
        settings.setdefault("state_dir", str(self.state_dir))
        config = harness.write_secure(self.dir / f"pam_verif8-{number}.conf", harness.config_text(
            Suite.sandbox, users_file or Suite.world.users_file, **settings))
        options = {"AuthenticationMethods": methods,
                   "AuthorizedKeysFile": str(self.dir / "authorized_keys" / "%u"), **(sshd or {})}
        server = e2e.SshServer(self.dir / f"sshd-{number}", Suite.world, Suite.host_key,
                               options, self.pam_stack(first_factor, config), Suite.work)
        self.servers.append(server)
        self.addCleanup(server.stop)
        return server.start()

    def users_with(self, line):
        """The world's users file plus `line`."""
        return harness.write_secure(self.dir / "users",
                                    Suite.world.users_file.read_text() + line + "\n", mode=0o644)

    # -- client ---------------------------------------------------------------------------

    def connect(self, server, source=None):
        client = e2e.Client(server.port, source=source)
        self.addCleanup(client.close)
        return client

    def run_scenario(self, settings, logins, check):
        server = self.server(**{key: value(self) if callable(value) else value
                                for key, value in settings.items()})
        for login in logins:
            self.login(server, login)
        if check is not None:
            check(self, server)

    def login(self, server, row, client=None):
        """Runs one Login row and checks what it shows; returns its Answers."""
        phone = row.phone or e2e.PHONES.get(row.user)
        calls_before, sent_before = len(self.calls()), len(self.deliveries(phone))
        if row.same_connection:
            client = self.client
        self.client = client or self.connect(server, source=row.source)
        answers = e2e.Answers(self, phone, row.steps)
        self.answer_log.append((row.user, answers))
        started = time.monotonic()
        ok = self.client.kbdint(row.user, answers)
        self.took = time.monotonic() - started
        self.assertEqual(answers.errors, [], "a scripted answer could not be made")
        self.assertEqual(ok, row.ok, f"{row.user}: logged in?")
        self.assertEqual(len(answers.prompts), len(row.prompts), answers.prompts)
        for seen, expected in zip(answers.prompts, row.prompts):
            if isinstance(expected, re.Pattern):
                self.assertRegex(seen, expected)
            else:
                self.assertEqual(seen, expected)
        self.assertNotIn(True, answers.echoes, "a prompt echoes")
        # Notices travel in the prompt's own text: a request with prompts has no other text.
        self.assertEqual([(r.title, r.instructions) for r in answers.rounds if r.prompts],
                         [("", "")] * len([r for r in answers.rounds if r.prompts]))
        self.assertEqual([r.title + r.instructions for r in answers.rounds
                          if not r.prompts and (r.title or r.instructions)], row.messages)
        sent = self.deliveries(phone)[sent_before:]
        self.assertEqual(len(sent), sum(isinstance(call, str) for call in row.calls),
                         f"codes delivered to {phone}")
        self.assertLessEqual(len({d["sessionId"] for d in sent}), 1, "one session per login")
        session = self.deliveries(phone)[-1]["sessionId"] if self.deliveries(phone) else None
        self.assertEqual(self.calls()[calls_before:],
                         [self.POST(phone, call) if isinstance(call, str) else
                          self.GET(session, call) for call in row.calls])
        if row.ok:
            status, output = self.client.run("echo ok")
            self.assertEqual((status, output), (0, "ok\n"), "the sshd session does not work")
        return answers

    # -- sandbox --------------------------------------------------------------------------

    def requests(self):
        return [e2e.summarize(r) for r in Suite.sandbox.requests()[self.request_mark:]]

    def deliveries(self, destination=None):
        found = Suite.sandbox.deliveries()[self.delivery_mark:]
        return [d for d in found if destination is None or d["destination"] == destination]

    def calls(self):
        """The sends and code checks that reached the sandbox. The module reads a session's
        status (a GET without a code) before each check: that is asserted here for every
        check, and the reads themselves are left out (reads() has them)."""
        everything = self.requests()
        for index, call in enumerate(everything):
            if call[0] == "GET" and call[2]:
                before = everything[index - 1] if index > 0 else None
                self.assertEqual(before, ("GET", call[1], False, None, 200),
                                 f"no status read right before check {index}: {everything!r}")
        return [call for call in everything if not (call[0] == "GET" and not call[2])]

    def reads(self):
        """The status reads (GET without a code) that reached the sandbox, as (path, status)."""
        return [(call[1], call[4]) for call in self.requests()
                if call[0] == "GET" and not call[2]]

    def POST(self, destination, channel, status=200):
        return ("POST", e2e.API_SESSIONS.format(sub=Suite.sandbox.subaccount), destination,
                channel, status)

    def GET(self, session_id, matched, status=200):
        path = e2e.API_SESSIONS.format(sub=Suite.sandbox.subaccount)
        return ("GET", f"{path}/{session_id.replace('-', '')}", True, matched, status)

    def current_code(self, destination):
        sent = self.deliveries(destination)
        if not sent:
            raise AssertionError(f"the sandbox delivered no code to {destination}")
        return sent[-1]["code"]

    def wait_since_last_send(self, seconds, destination):
        """Sleeps until `seconds` (and a little) have passed since the last code to
        `destination` (a real interval, which the module measures itself)."""
        sent = self.deliveries(destination)
        if not sent:
            raise AssertionError(f"the sandbox delivered no code to {destination}")
        time.sleep(max(0.0, sent[-1]["time"] + seconds + 0.6 - time.time()))

    # -- diagnostics (printed by the runner for a failed test) -----------------------------

    def diagnostics(self):
        lines = []
        for user, answers in self.answer_log:
            lines.append(f"login as {user}: rounds the client saw:")
            lines.extend(f"  {r!r}" for r in answers.rounds)
            if answers.extra:
                lines.append(f"  ({answers.extra} prompt(s) beyond the script, answered '?')")
            for error in answers.errors:
                lines.append("  step error: " + error.strip().splitlines()[-1])
        lines.append("sandbox requests during the test:")
        lines.extend(f"  {call!r}" for call in self.requests())
        for number, server in enumerate(self.servers, 1):
            module_lines = server.module_lines()
            lines.append(f"sshd #{number} ({server.dir}): module log lines "
                         f"({len(module_lines)}), last ones:")
            lines.extend("  " + line for line in module_lines[-12:])
            if not module_lines:
                lines.append("  sshd log tail:")
                lines.extend("  " + line for line in server.log().splitlines()[-12:])
        return lines


# Reads the password pam_exec writes on stdin (expose_authtok; it may end in a NUL) and accepts
# it if it is the user's in the world's pam_matrix passdb.
CHECK_PASSWORD = r"""#!/bin/sh
password=$(tr -d '\000')
passdb='@PASSDB@'
while IFS=: read -r user secret service; do
    if [ "$user" = "$PAM_USER" ] && [ "$secret" = "$password" ]; then
        exit 0
    fi
done < "$passdb"
exit 1
"""
