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

TOOL = None
WORLD = None
SANDBOX = None


def nss_env():
    env = dict(os.environ)
    env.update({
        "LD_PRELOAD": "libnss_wrapper.so",
        "NSS_WRAPPER_PASSWD": str(WORLD.passwd),
        "NSS_WRAPPER_GROUP": str(WORLD.group),
    })
    return env


class CliCase(unittest.TestCase):
    def setUp(self):
        SANDBOX.control("reset")
        harness.forget_sessions(WORLD.users_file.parent / "state")
        self.requests_before = len(SANDBOX.requests())
        self.dir = harness.temp_dir("verif8-cli-case-")
        self.addCleanup(harness.remove_tree, self.dir)

    def config(self, mode=0o600, users_file=None, state_dir=None, **overrides):
        # The default world has dave on WhatsApp: a complete setup names a template.
        overrides.setdefault("whatsapp_template", "login_otp")
        text = harness.config_text(SANDBOX, users_file or WORLD.users_file,
                                   state_dir=state_dir or self.dir / "state", **overrides)
        return harness.write_secure(self.dir / "verif8.conf", text, mode=mode)

    def run_tool(self, *args):
        return subprocess.run([str(TOOL), *args], env=nss_env(), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def new_requests(self):
        return SANDBOX.requests()[self.requests_before:]


class Verif8ctl(CliCase):
    # --- the command line

    def test_help_and_version_exit_0(self):
        self.assertEqual(self.run_tool("--help").returncode, 0)
        self.assertIn("check-config", self.run_tool("--help").stdout)
        version = self.run_tool("--version")
        self.assertEqual(version.returncode, 0)
        self.assertRegex(version.stdout, r"^verif8ctl \d+\.\d+\.\d+\n$")

    def test_bad_arguments_give_usage_and_exit_2(self):
        for args in ([], ["bogus"], ["--frobnicate", "check-config"], ["lookup"],
                     ["test", "alice", "bob"], ["check-config", "extra"], ["--conf"]):
            with self.subTest(args=args):
                result = self.run_tool(*args)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn("usage: verif8ctl", result.stderr)

    # --- check-config

    def test_check_config_accepts_a_good_setup_and_masks_the_key(self):
        result = self.run_tool("--conf", str(self.config()), "check-config")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("OK: the module would accept this setup", result.stdout)
        self.assertIn("users, 0 bad lines", result.stdout)
        self.assertNotIn(SANDBOX.api_key, result.stdout + result.stderr)

    def test_check_config_names_file_and_line_of_an_unknown_key(self):
        path = self.config(colour="blue")
        result = self.run_tool("--conf", str(path), "check-config")
        self.assertEqual(result.returncode, 1)
        line = path.read_text().splitlines().index("colour = blue") + 1
        self.assertIn(f"{path}:{line}: unknown key 'colour'", result.stderr)
        self.assertIn("would refuse", result.stderr)

    def test_check_config_refuses_a_readable_config(self):
        path = self.config(mode=0o644)
        result = self.run_tool("--conf", str(path), "check-config")
        self.assertEqual(result.returncode, 1)
        self.assertIn("has mode 0644", result.stderr)

    def test_check_config_reports_bad_users_file_lines(self):
        users = harness.write_secure(self.dir / "users", "alice +6591234567 sms\n"
                                     "bob 12345 sms\n" "dave +6587654321 whatsapp\n", mode=0o644)
        result = self.run_tool("--conf", str(self.config(users_file=users,
                                                         whatsapp_template=None)), "check-config")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{users}:2: the phone number (5 characters) is not in international form",
                      result.stderr)
        self.assertIn("need whatsapp_template", result.stderr)
        self.assertIn("2 users, 1 bad lines", result.stdout)

    def test_check_config_refuses_a_group_writable_state_dir(self):
        state = self.dir / "shared-state"
        state.mkdir(mode=0o770)
        os.chmod(state, 0o770)
        result = self.run_tool("--conf", str(self.config(state_dir=state)), "check-config")
        self.assertEqual(result.returncode, 1)
        # The module's own rule and words (StateDir), not a copy of them.
        self.assertIn(f"state_dir: {state}: has mode 0770; it must be not writable by group or "
                      "others", result.stderr)

    def test_check_config_refuses_a_phone_command_others_can_change(self):
        program = self.dir / "phone"
        program.write_text("#!/bin/sh\necho +6591234567\n")
        os.chmod(program, 0o775)
        result = self.run_tool("--conf", str(self.config(phone_command=f"{program} %u")),
                               "check-config")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"phone_command: {program}: has mode 0775; it must be not writable by group "
                      "or others", result.stderr)

    def test_check_config_never_prints_a_file_it_refuses(self):
        """verif8ctl --conf pointed at a root-only file that is no config (a private key, a
        shadow file): refused, and not a word of it printed."""
        secret_lines = ["-----BEGIN OPENSSH PRIVATE KEY-----",
                        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
                        "QyNTUxOQAAACBvZmZzZXQ=", "Tail0Token==", "root:$6$sAlT$hAsH=:19000:0:99999:7:::",
                        "-----END OPENSSH PRIVATE KEY-----"]
        path = harness.write_secure(self.dir / "id_ed25519", "\n".join(secret_lines) + "\n")
        result = self.run_tool("--conf", str(path), "check-config")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"{path}:", result.stderr)  # it was read and refused line by line
        for fragment in ("BEGIN", "b3Blbn", "QyNTUx", "Tail0Token", "$6$", "sAlT", "hAsH"):
            self.assertNotIn(fragment, result.stdout + result.stderr)

    def test_lookup_of_another_spelling_names_the_account(self):
        result = self.run_tool("--conf", str(self.config()), "lookup", "ALICE")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("ALICE: is the account alice; the module treats it as alice", result.stdout)
        self.assertIn("alice: phone +65******67", result.stdout)

    # --- lookup

    def test_lookup_shows_the_masked_phone_and_channels_and_sends_nothing(self):
        result = self.run_tool("--conf", str(self.config()), "lookup", "alice")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("alice: asked for a code", result.stdout)
        self.assertIn("phone +65******67, channels sms, voice", result.stdout)
        self.assertNotIn("6591234567", result.stdout)
        self.assertEqual(self.new_requests(), [])

    def test_lookup_of_an_unenrolled_user_says_what_the_login_gets(self):
        result = self.run_tool("--conf", str(self.config()), "lookup", "carol")
        self.assertEqual(result.returncode, 1)
        self.assertIn("carol: not enrolled: with unenrolled = deny the login fails", result.stdout)

    def test_lookup_of_an_unknown_user(self):
        result = self.run_tool("--conf", str(self.config()), "lookup", "mallory")
        self.assertEqual(result.returncode, 1)
        self.assertIn("mallory: no such user", result.stdout)

    def test_lookup_shows_exemptions(self):
        config = self.config(exempt_users="bob", trusted_networks="192.0.2.0/24")
        bob = self.run_tool("--conf", str(config), "lookup", "bob")
        self.assertIn("bob: exempt (exempt user)", bob.stdout)
        trusted = self.run_tool("--conf", str(config), "--rhost", "192.0.2.10", "lookup", "alice")
        self.assertIn("alice: exempt (trusted network, from 192.0.2.10)", trusted.stdout)
        outside = self.run_tool("--conf", str(config), "--rhost", "198.51.100.1", "lookup", "alice")
        self.assertIn("alice: asked for a code from 198.51.100.1", outside.stdout)
        self.assertEqual(self.new_requests(), [])

    # --- test

    def run_test_command(self, config, answers):
        env = nss_env()
        session = PtySession([str(TOOL), "--conf", str(config), "test", "alice"], env)
        try:
            for answer in answers:
                session.expect("Verification code: ")
                session.type(answer() if callable(answer) else answer)
            status = session.finish()
        finally:
            session.close()
        return status, session.text()

    def test_test_sends_a_code_checks_it_and_reports_each_step(self):
        status, text = self.run_test_command(self.config(),
                                             [lambda: SANDBOX.deliveries()[-1]["code"]])
        self.assertEqual(status, 0, text)
        self.assertRegex(text, r"send \(sms\): ok, HTTP 200, session \w{8} WAITING, attempt 0 "
                               r"\(\d+ ms\)")
        self.assertRegex(text, r"status: ok, HTTP 200, session \w{8} WAITING, attempt 0")
        self.assertRegex(text, r"check: ok, HTTP 200, session \w{8} VERIFIED")
        self.assertIn("result: verified", text)
        self.assertEqual([r["method"] for r in self.new_requests()], ["POST", "GET", "GET"])

    def test_test_fails_on_wrong_codes(self):
        status, text = self.run_test_command(self.config(max_attempts="1"), ["000"])
        self.assertEqual(status, 1, text)
        self.assertIn("result: too_many_wrong_codes", text)

    def test_test_shows_the_api_error_and_its_error_id(self):
        status, text = self.run_test_command(self.config(api_key="wrong-key"), [])
        self.assertEqual(status, 1, text)
        self.assertRegex(text, r"HTTP 401 code 1200: .* \(errorId [0-9a-f-]{36}\)")
        self.assertIn("result: credentials_rejected", text)
        self.assertNotIn("wrong-key", text)


# Debian's own sshd_config, as openssh-server installs it in /etc/ssh on a new machine.
DEBIAN_SSHD_CONFIG = Path("/usr/share/openssh/sshd_config")
SSHD_SETUPS = HERE.parent.parent / "conf" / "sshd_config.d"
# sshd -T wants its privilege-separation directory: a private /run in a mount namespace gives it
# one without touching the machine's.
PRIVATE_RUN = 'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$@"'


class Doctor(CliCase):
    """verif8ctl doctor: the config, then sshd's effective settings from the real `sshd -T`,
    starting from Debian's stock sshd_config."""

    def sshd_config(self, *snippets):
        """Debian's stock sshd_config with its Include pointed at a directory holding
        `snippets` (file contents, read in order, as /etc/ssh/sshd_config.d/*.conf are)."""
        if not DEBIAN_SSHD_CONFIG.exists():
            self.fail(f"{DEBIAN_SSHD_CONFIG} missing: openssh-server is not installed")
        included = self.dir / "sshd_config.d"
        included.mkdir()
        for number, text in enumerate(snippets):
            (included / f"{number:02d}.conf").write_text(text)
        stock = DEBIAN_SSHD_CONFIG.read_text()
        self.assertIn("Include /etc/ssh/sshd_config.d/*.conf\n", stock)
        path = self.dir / "sshd_config"
        path.write_text(stock.replace("/etc/ssh/sshd_config.d/*.conf", f"{included}/*.conf"))
        return path

    def doctor(self, *snippets, service="sshd"):
        args = ["--conf", str(self.config()), "doctor", "--sshd-config",
                str(self.sshd_config(*snippets))]
        if service:
            args += ["--service", service]
        result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                                 PRIVATE_RUN, "sh", str(TOOL), *args], env=nss_env(),
                                capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
        self.assertIn("OK: the module would accept this setup", result.stdout)  # config part
        return result

    def problems(self, result):
        return [line for line in result.stderr.splitlines() if line.startswith("sshd: PROBLEM:")]

    def test_debian_stock_sshd_is_refused_with_the_reasons_and_the_fix(self):
        result = self.doctor()
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        problems = self.problems(result)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn("KbdInteractiveAuthentication is no", problems[0])
        self.assertIn("PasswordAuthentication is yes", problems[1])
        self.assertIn("answers every question PAM asks with the password", problems[1])
        # The fix, as lines to paste.
        self.assertIn("    AuthenticationMethods keyboard-interactive\n", result.stderr)
        self.assertIn("    AuthenticationMethods publickey,keyboard-interactive\n", result.stderr)
        self.assertIn("doctor: NOT OK", result.stdout)
        self.assertEqual(self.new_requests(), [])

    def test_the_shipped_sshd_setups_pass(self):
        for name in ("password-and-code.conf", "key-and-code.conf"):
            with self.subTest(setup=name):
                if self.dir.joinpath("sshd_config.d").exists():
                    harness.remove_tree(self.dir / "sshd_config.d")
                result = self.doctor((SSHD_SETUPS / name).read_text())
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                self.assertEqual(self.problems(result), [])
                self.assertNotIn("sshd: note:", result.stdout)
                self.assertIn("sshd: PAM through keyboard-interactive, no password method: ready",
                              result.stdout)
                self.assertIn("doctor: OK, enabling the module is safe", result.stdout)

    def test_use_pam_no_is_refused(self):
        # The first value sshd reads wins: a snippet before the stock lines overrides them.
        result = self.doctor("UsePAM no\nKbdInteractiveAuthentication yes\n"
                             "PasswordAuthentication no\n")
        self.assertEqual(result.returncode, 1)
        problems = self.problems(result)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("UsePAM is no: sshd never runs PAM", problems[0])

    def test_a_method_list_without_keyboard_interactive_is_refused(self):
        result = self.doctor("KbdInteractiveAuthentication yes\nPasswordAuthentication no\n"
                             "AuthenticationMethods publickey,keyboard-interactive publickey\n")
        self.assertEqual(result.returncode, 1)
        problems = self.problems(result)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn('lets "publickey" log in without keyboard-interactive', problems[0])

    def test_passwords_on_but_not_in_any_method_list_are_harmless(self):
        result = self.doctor("KbdInteractiveAuthentication yes\n"
                             "AuthenticationMethods keyboard-interactive\n")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.problems(result), [])

    def test_keys_alone_are_a_note_not_a_refusal(self):
        result = self.doctor("KbdInteractiveAuthentication yes\nPasswordAuthentication no\n")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("sshd: note: AuthenticationMethods is any and pubkeyauthentication is yes: "
                      "an ssh login with an SSH key alone gets in without a code", result.stdout)

    def test_sshd_errors_are_shown(self):
        result = self.doctor("NoSuchOption yes\n")
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"sshd: /usr/sbin/sshd -T failed \(exit status 255\): "
                                        r".*Bad configuration option: NoSuchOption")

    def test_enable_and_disable_refuse_bad_arguments_before_anything(self):
        for args in (["enable"], ["doctor", "extra"], ["enable", "--service", "login", "--no-test"],
                     ["doctor", "--service"]):
            with self.subTest(args=args):
                result = self.run_tool("--conf", str(self.config()), *args)
                self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        self.assertIn("--user USER", self.run_tool("enable").stderr)


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
