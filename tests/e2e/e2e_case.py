"""The base of every end-to-end scenario: one suite-wide world and sandbox, and per test a fresh
directory, config file, state_dir and sshd (or a few), a sandbox reset, and helpers that log in
and describe what the client and the sandbox saw."""

import os
import time
import unittest

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


class StepContext:
    """What step functions see: the running test and the destination of this login."""

    def __init__(self, test, destination):
        self.test = test
        self.destination = destination

    def current_code(self, destination=None):
        return self.test.current_code(destination or self.destination)

    def wait_since_last_send(self, seconds, destination=None):
        self.test.wait_since_last_send(seconds, destination or self.destination)

    @property
    def sandbox(self):
        return Suite.sandbox


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
        self.configs = 0
        Suite.sandbox.control("reset")
        self.request_mark = len(Suite.sandbox.requests())
        self.delivery_mark = len(Suite.sandbox.deliveries())

    # -- servers --------------------------------------------------------------------------

    def write_config(self, users_file=None, **settings):
        """A per-test pam_verif8.conf (0600) with this test's own state_dir."""
        self.configs += 1
        settings.setdefault("state_dir", str(self.state_dir))
        text = harness.config_text(Suite.sandbox, users_file or Suite.world.users_file,
                                   **settings)
        return harness.write_secure(self.dir / f"pam_verif8-{self.configs}.conf", text)

    def pam_stack(self, first_factor, config):
        permit = harness.system_module("pam_permit.so")
        lines = []
        if first_factor == "matrix":
            passdb = Suite.world.dir / "passdb"
            lines.append(f"auth requisite {harness.wrapper_module('pam_matrix.so')} "
                         f"passdb={passdb}")
        elif first_factor == "exec":
            # pam_exec asks for the password (or takes sshd's) and leaves it in PAM_AUTHTOK
            # untouched, as pam_unix would; `required`, so the module runs even after a failure.
            script = self.dir / "check-password"
            passdb = Suite.world.dir / "passdb"
            harness.write_secure(script, CHECK_PASSWORD.replace("@PASSDB@", str(passdb)),
                                 mode=0o755)
            lines.append(f"auth required {harness.system_module('pam_exec.so')} "
                         f"expose_authtok quiet {script}")
        elif first_factor is not None:
            raise ValueError(first_factor)
        lines.append(f"auth required {Suite.module} conf={config}")
        lines.append(f"account required {permit}")
        lines.append(f"session required {permit}")
        return "".join(line + "\n" for line in lines)

    def server(self, methods="keyboard-interactive", first_factor=None, users_file=None,
               sshd=None, **settings):
        """Starts an sshd for this test (stopped when the test ends, whatever happens)."""
        config = self.write_config(users_file=users_file, **settings)
        options = {"AuthenticationMethods": methods,
                   "AuthorizedKeysFile": str(self.dir / "authorized_keys" / "%u")}
        options.update(sshd or {})
        server = e2e.SshServer(self.dir / f"sshd-{len(self.servers) + 1}", Suite.world,
                               Suite.host_key, options, self.pam_stack(first_factor, config),
                               Suite.work)
        self.servers.append(server)
        self.addCleanup(server.stop)
        server.start()
        return server

    # -- client ---------------------------------------------------------------------------

    def connect(self, server, source=None):
        client = e2e.Client(server.port, source=source)
        self.addCleanup(client.close)
        return client

    def kbdint(self, server, user, steps, client=None, source=None, destination=None):
        """One keyboard-interactive round: (logged in?, Answers, Client)."""
        client = client or self.connect(server, source=source)
        answers = e2e.Answers(StepContext(self, destination or e2e.PHONES.get(user)), steps)
        self.answer_log.append((user, answers))
        ok = client.kbdint(user, answers)
        return ok, answers, client

    def assertNoStepErrors(self, answers):
        self.assertEqual(answers.errors, [], "a scripted answer could not be made")

    def assertWaitPrompt(self, prompt, left, interval=10):
        """`Wait N more seconds before asking for a new code. M attempts left.` + the prompt."""
        match = e2e.WAIT_RE.match(prompt)
        self.assertIsNotNone(match, f"not a wait message: {prompt!r}")
        self.assertTrue(1 <= int(match.group(1)) <= interval,
                        f"asked to wait {match.group(1)} s of a {interval} s interval")
        self.assertEqual(int(match.group(2)), left, "attempts left")

    def assertSessionWorks(self, client):
        status, output = client.run("echo ok")
        self.assertEqual((status, output), (0, "ok\n"), "the sshd session does not work")

    # -- sandbox --------------------------------------------------------------------------

    def requests(self):
        return Suite.sandbox.requests()[self.request_mark:]

    def deliveries(self, destination=None):
        found = Suite.sandbox.deliveries()[self.delivery_mark:]
        return [d for d in found if destination is None or d["destination"] == destination]

    def calls(self):
        """The sends and code checks that reached the sandbox. The module reads a session's
        status (a GET without a code) before each check: that is asserted here for every
        check, and the reads themselves are left out (reads() has them)."""
        everything = [e2e.summarize(r, Suite.sandbox.subaccount) for r in self.requests()]
        for index, call in enumerate(everything):
            if call[0] == "GET" and call[2]:
                before = everything[index - 1] if index > 0 else None
                self.assertEqual(before, ("GET", call[1], False, None, 200),
                                 f"no status read right before check {index}: {everything!r}")
        return [call for call in everything if not (call[0] == "GET" and not call[2])]

    def reads(self):
        """The status reads (GET without a code) that reached the sandbox, as (path, status)."""
        return [(call[1], call[4]) for call in
                (e2e.summarize(r, Suite.sandbox.subaccount) for r in self.requests())
                if call[0] == "GET" and not call[2]]

    def POST(self, destination, channel, status=200):
        return e2e.post(destination, channel, Suite.sandbox.subaccount, status)

    def GET(self, session_id, matched, status=200):
        return e2e.get(session_id, matched, Suite.sandbox.subaccount, status)

    def current_code(self, destination):
        sent = self.deliveries(destination)
        if not sent:
            raise AssertionError(f"the sandbox delivered no code to {destination}")
        return sent[-1]["code"]

    def session_ids(self, destination):
        """Distinct sessionIds of the codes delivered to `destination`, in order."""
        ids = []
        for delivery in self.deliveries(destination):
            if delivery["sessionId"] not in ids:
                ids.append(delivery["sessionId"])
        return ids

    def session_id(self, destination):
        ids = self.session_ids(destination)
        self.assertEqual(len(ids), 1, f"sessions delivered to {destination}: {ids}")
        return ids[0]

    def wait_since_last_send(self, seconds, destination):
        sent = self.deliveries(destination)
        if not sent:
            raise AssertionError(f"the sandbox delivered no code to {destination}")
        e2e.wait_resend_reached(sent[-1]["time"], seconds)

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
        try:
            lines.append("sandbox requests during the test:")
            lines.extend(f"  {c!r}" for c in self.calls())
        except Exception as error:  # noqa: BLE001
            lines.append(f"  (unreadable: {error!r})")
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


def elapsed(start):
    return time.monotonic() - start

