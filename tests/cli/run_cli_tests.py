#!/usr/bin/python3
"""verif8ctl against verif8-sandbox: each command's output and exit status, with users from
nss_wrapper (no /etc/passwd touched). Prints TAP.

usage: run_cli_tests.py VERIF8CTL"""

import os
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

TOOL = WORLD = SANDBOX = None
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


class Doctor(CliCase):
    """verif8ctl doctor: the config, then sshd's effective settings from the real `sshd -T`,
    starting from Debian's stock sshd_config. A snippet is read before the stock lines, and the
    first value sshd reads wins."""

    def doctor(self, *snippets):
        """Debian's stock sshd_config with its Include pointed at a directory holding
        `snippets` (read in order, as /etc/ssh/sshd_config.d/*.conf are)."""
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
        result = self.run_tool("--conf", str(self.config()), "doctor", "--sshd-config",
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


def main():
    global TOOL, WORLD, SANDBOX
    TOOL = Path(sys.argv[1]).resolve()
    work = harness.temp_dir("verif8-cli-")
    try:
        WORLD = harness.PamWorld(work / "world")
        # Another spelling of alice's account, as a directory that ignores case would answer.
        WORLD.add_account("ALICE", 2001, 2001, str(work / "world" / "home" / "alice"), "/bin/sh")
        with harness.Sandbox(work / "sandbox", stdout=open(work / "sandbox.out", "w")) as sandbox:
            SANDBOX = sandbox
            ok = tap.run([Verif8ctl, Doctor])
        return 0 if ok else 1
    finally:
        harness.remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
