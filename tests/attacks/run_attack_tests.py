#!/usr/bin/python3
"""The local attacker of threat-model.md: an unprivileged user who runs a setuid PAM program (su,
sudo) and so chooses its environment, working directory, umask, limits, signal dispositions and
user name, while libpam runs the module as root in that process. Each test logs in through the
built module and real libpam (tests/harness/login_suite.py) from a process with su's credentials
and the attack set up in it; each first shows that the login got to the point the attack aims at
(a TLS connection made, the phone program run, the prompt answered), then that the attack was
stopped. Where the vector is a library's behaviour (libcurl honouring SSLKEYLOGFILE, say), a
control run shows the library does what the attack needs on this machine. Prints TAP.

usage: run_attack_tests.py MODULE_SO [SLOW_LOCK_SO]"""

import ctypes
import os
import re
import resource
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import pam_client as pc  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from login_suite import script  # noqa: E402

ATTACKER_UID = 2010  # mallory: an ordinary local user
USERS = {"alice": (2001, "alice +6591234567 sms"), "bob": (2002, "bob +6598765432 sms"),
         "carol": (2003, None), "dave": (2004, "dave +6591110004 sms"),
         "erin": (2005, "erin +6591110005 sms"),
         "mallory": (ATTACKER_UID, "mallory +6599990000 sms")}
# Other spellings of existing accounts: what SSSD answers with case_sensitive = false (the AD
# default), or a second passwd line for the same uid.
ALIASES = {"ALICE": 2001, "alice2": 2001, "ERIN": 2005}
GROUPS = {"twofa": ["erin"], "staff": ["mallory"]}  # gids 3001, 3002 (PamWorld's order)
SANDBOX = None  # set by wrapped_main


def phone_of(user):
    return USERS[user][1].split()[1]


def become_attacker(su=True):
    """su's credentials (real uid and every gid the attacker's, effective and saved uid 0), or
    with su=False every uid the attacker's (a screen locker, or the attacker's own shell)."""
    os.setgroups([ATTACKER_UID, 3002])  # the attacker's own group and staff
    os.setresgid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
    os.setresuid(ATTACKER_UID, *[0 if su else ATTACKER_UID] * 2)


class AttackCase(suite.LoginCase):
    service = "attack"
    settings = {"fail_delay": "0", "connect_timeout": "3", "request_timeout": "5",
                "user_send_limit": "100/900", "source_send_limit": "100/900"}

    def attack(self, user="mallory", answer=None, service="attack", su=True, umask=0o000,
               cwd=None, env=None, rlimits=None, ignore_signals=()):
        """One login in a forked process that first becomes the attacker (become_attacker) and
        takes the attack's umask, working directory, environment, limits and ignored signals;
        shows the login ran with them. Returns its PamResult and report: what the caller was,
        and its environment after the login."""
        env = env or {}

        def setup():
            become_attacker(su)
            os.umask(umask)
            if cwd:  # else the run's own, which a caller without root may not enter (/root/...)
                os.chdir(cwd)
            os.environ.update(env)  # putenv: the C environment libpam's callee sees
            for limit, value in (rlimits or {}).items():
                resource.setrlimit(limit, value)
            for number in ignore_signals:
                signal.signal(number, signal.SIG_IGN)
            return {"caller": {"resuid": os.getresuid(), "resgid": os.getresgid(),
                               "cwd": os.getcwd(), "umask": os.umask(umask),
                               "env": {name: os.environ.get(name) for name in env}}}

        def after():
            getenv = ctypes.CDLL(None).getenv
            getenv.restype = ctypes.c_char_p
            return {"env_after": {name: (getenv(name.encode()) or b"").decode() for name in env}}
        login = self.child(user, service, None, setup=setup, after=after,
                           answer=answer or script(suite.code()))
        result, caller = self.finish(login), login.report["caller"]
        self.assertEqual(caller["resuid"], [ATTACKER_UID, *[0 if su else ATTACKER_UID] * 2])
        self.assertEqual(caller["resgid"], [ATTACKER_UID] * 3)
        self.assertEqual(caller["umask"], umask)
        return result, login.report

    def destinations(self):
        """Where the sandbox delivered codes during this test."""
        return [d["destination"] for d in self.new_deliveries()]


# A program linked with libcurl, as any would be: libcurl's global init and one GET of argv[1]
# (CAs from argv[2]) in the current environment; prints RESULT=<CURLcode>.
CURL_CONTROL = """import ctypes, sys
c = ctypes.CDLL('libcurl.so.4')
c.curl_easy_init.restype = ctypes.c_void_p
c.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p]
c.curl_easy_perform.argtypes = [ctypes.c_void_p]
h = c.curl_easy_init()
c.curl_easy_setopt(h, 10002, sys.argv[1].encode())  # CURLOPT_URL
c.curl_easy_setopt(h, 10065, sys.argv[2].encode())  # CURLOPT_CAINFO
print('\\nRESULT=%d' % c.curl_easy_perform(h))
"""


class CallerEnvironment(AttackCase):
    """Rule 2: the caller's environment never reaches libcurl or OpenSSL, and files the module
    creates are root's, 0600, whatever the caller's umask and groups."""

    def setUp(self):
        super().setUp()
        self.proxy = socket.socket()  # a proxy the attacker runs: it only listens
        self.addCleanup(self.proxy.close)
        self.proxy.bind(("127.0.0.1", 0))
        self.proxy.listen(8)
        proxy = f"http://127.0.0.1:{self.proxy.getsockname()[1]}"
        self.keylog = self.state_dir.parent / f"keylog-{secrets.token_hex(4)}"
        evil_conf = self.state_dir.parent / f"evil-{secrets.token_hex(4)}.cnf"
        # Leaves a client only TLS 1.3 with a cipher suite no usual server offers (CCM_8): an
        # OpenSSL that reads it cannot complete a handshake with the sandbox, so a login that
        # still succeeds shows OpenSSL never read it. (The same file could load a provider:
        # code, as root.)
        evil_conf.write_text("openssl_conf = evil\n[evil]\nssl_conf = ssl\n[ssl]\n"
                             "system_default = tls\n[tls]\nMinProtocol = TLSv1.3\n"
                             "Ciphersuites = TLS_AES_128_CCM_8_SHA256\n")
        self.env = {"SSLKEYLOGFILE": str(self.keylog), "OPENSSL_CONF": str(evil_conf),
                    "https_proxy": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy,
                    "SSL_CERT_FILE": str(evil_conf), "SSL_CERT_DIR": str(self.state_dir.parent),
                    "CURL_CA_BUNDLE": str(evil_conf)}

    def curl(self, name):
        """CURL_CONTROL under umask 0 with the attack's variable `name`: its CURLcode, and what
        it sent to the attacker's proxy (which then refuses it) when `name` names a proxy."""
        child = subprocess.Popen([sys.executable, "-c", CURL_CONTROL,
                                  SANDBOX.url + "/_sandbox/sessions", SANDBOX.ca_file],
                                 env={**suite.without_preloads(), name: self.env[name]},
                                 stdout=subprocess.PIPE, text=True,
                                 preexec_fn=lambda: os.umask(0))
        sent = None
        if name == "https_proxy":
            self.proxy.settimeout(20)
            connection, _ = self.proxy.accept()
            with connection:
                connection.settimeout(5)
                sent = connection.recv(4096).decode("latin-1")
        output = child.communicate(timeout=30)[0]
        # libcurl writes the body through C's stdio, the result goes through Python's: which
        # one is flushed last differs between releases, so the result line is looked for.
        found = re.search(r"^RESULT=(\d+)$", output, flags=re.M)
        return (found.group(1) if found else f"no result in {output!r}"), sent

    def test_libcurl_on_this_machine_honours_the_attack_variables(self):
        """The control: a program using libcurl in this environment writes $SSLKEYLOGFILE with
        the umask's mode, goes through $https_proxy, and takes its TLS settings from
        $OPENSSL_CONF. So these variables are live vectors here, and the next test means
        something."""
        self.assertEqual(self.curl("SSLKEYLOGFILE")[0], "0")
        self.assertTrue(self.keylog.exists(), "libcurl wrote no key log")
        self.assertEqual(stat.S_IMODE(self.keylog.stat().st_mode), 0o666,
                         "the key log is world-writable under umask 0")
        self.assertGreater(self.keylog.stat().st_size, 0)
        self.assertIn("CONNECT", self.curl("https_proxy")[1], "the proxy saw none")
        self.assertNotEqual(self.curl("OPENSSL_CONF")[0], "0",
                            "OPENSSL_CONF did not change libcurl's handshake")

    def test_su_with_hostile_variables_and_umask_0_verifies_and_nothing_takes_effect(self):
        # A state_dir the module makes for this login, under the caller's umask 0 and groups.
        state = self.state_dir / "fresh"
        self.configure(state_dir=str(state))
        result, report = self.attack(env=self.env)
        self.assertEqual(report["caller"]["env"], self.env)
        # It got there: TLS connections to the API carried a send and a verified code.
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        self.assertSeen("POST 200, READ 200, GET 200")
        # And none of it took effect.
        self.assertFalse(self.keylog.exists(), "libcurl wrote the caller's SSLKEYLOGFILE")
        self.assertEqual(select.select([self.proxy], [], [], 0)[0], [],
                         "a connection went to the caller's proxy")
        # The host's environment is as the caller left it.
        self.assertEqual(report["env_after"], self.env)
        # The attempt is in the log, by name only.
        warnings = [line for line in result.syslog() if "caller's environment sets" in line]
        self.assertEqual(len(warnings), 1, result.syslog())
        for name in ("SSLKEYLOGFILE", "OPENSSL_CONF", "https_proxy", "SSL_CERT_FILE",
                     "CURL_CA_BUNDLE"):
            self.assertIn(name, warnings[0])
        self.assertNotIn(str(self.keylog), result.log)
        # Files the module made are root's and 0600 (directories 0700) whatever the umask.
        made = [state, *state.rglob("*")]
        self.assertGreaterEqual(len([path for path in made if path.is_file()]), 3,
                                f"the login wrote its state: {made}")
        for path in made:
            info = path.lstat()
            mode = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
            self.assertTrue(stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode), path)
            self.assertEqual((info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)),
                             (0, 0, mode), path)

    def test_a_ca_file_others_can_write_is_refused(self):
        """Rule 2: the trust store is a file the module trusts like its config. The control:
        the same CAs, root's and readable by all, are used and the login works."""
        for mode in (0o644, 0o664, 0o666):
            with self.subTest(mode=oct(mode)):
                ca = self.state_dir.parent / f"ca-{secrets.token_hex(4)}.pem"
                ca.write_bytes(Path(SANDBOX.ca_file).read_bytes())
                os.chmod(ca, mode)
                self.configure(ca_file=str(ca))
                result, _ = self.attack()
                if mode == 0o644:
                    self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
                    before = len(self.new_requests())
                    continue
                self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error")
                self.assertLogged(result, re.escape(f"ca_file: {ca}: has mode"))
        self.assertEqual(len(self.new_requests()), before, "something was sent")


PHONE_SCRIPT = """#!/bin/sh
report={report}
{{
  echo "ids=$(id -u) $(id -ru) $(id -g) $(id -rg)"
  grep -E '^(Uid|Gid|Groups|SigIgn):' /proc/$$/status
  echo "cwd=$(pwd)"
  echo "umask=$(umask)"
  echo "pid=$$ sid=$(cut -d' ' -f6 /proc/$$/stat)"
  echo "env:"; env | sort
  echo "limits:"; cat /proc/$$/limits
}} >"$report"
# The caller's ./ldaprc or $LDAPRC would send the code elsewhere (as ldapsearch reads them).
if [ -r ./ldaprc ]; then cat ./ldaprc
elif [ -n "$LDAPRC" ] && [ -r "$LDAPRC" ]; then cat "$LDAPRC"
else echo "+6591110004 sms"
fi
"""
# What the phone program must have seen of itself, whatever the caller set: every uid and gid 0
# and no supplementary groups, /, umask 077, the fixed PATH, core dumps off, no file size cap,
# 1024 descriptors.
ROOT_IN_SLASH = (r"ids=0 0 0 0\n", r"Uid:\s+0\s+0\s+0\s+0\n", r"Gid:\s+0\s+0\s+0\s+0\n",
                 r"Groups:\s*\n", r"cwd=/\n", r"umask=0077\n",
                 r"\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n", r"Max core file size\s+0\s+0",
                 r"Max file size\s+unlimited\s", r"Max open files\s+1024\s")


class PhoneCommandCaller(AttackCase):
    """Rule 2: phone_command runs as root, in /, with nothing of the caller's."""

    def phone_program(self, **config):
        scripts = self.world.work / "scripts"
        scripts.mkdir(exist_ok=True, mode=0o755)
        report = scripts / f"report-{secrets.token_hex(4)}"
        program = scripts / f"phone-lookup-{secrets.token_hex(4)}"
        program.write_text(PHONE_SCRIPT.format(report=report))
        os.chmod(program, 0o755)
        self.configure(phone_command=f"{program} %u", **config)
        return report

    def test_the_phone_program_runs_as_root_in_slash_with_nothing_of_the_callers(self):
        report_path = self.phone_program()
        # The attacker's directory and variables point the lookup at the attacker's phone.
        attacker_dir = Path(tempfile.mkdtemp(prefix="mallory-", dir=self.world.work))
        (attacker_dir / "ldaprc").write_text(f"{phone_of('mallory')} sms\n")
        os.chmod(attacker_dir, 0o755)
        os.chmod(attacker_dir / "ldaprc", 0o644)
        env = {"LDAPRC": str(attacker_dir / "ldaprc"), "HOME": str(attacker_dir),
               "PATH": f"{attacker_dir}:/usr/bin:/bin", "SSLKEYLOGFILE": "/tmp/x"}
        # Soft limits, which the caller may set anywhere under the hard ones (core dumps on,
        # files and descriptors short).
        hard = {limit: resource.getrlimit(limit)[1] for limit in
                (resource.RLIMIT_CORE, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE)}
        self.assertNotEqual(hard[resource.RLIMIT_CORE], 0)  # core dumps can be turned on
        limits = {resource.RLIMIT_CORE: (hard[resource.RLIMIT_CORE],) * 2,
                  resource.RLIMIT_FSIZE: (1 << 20, hard[resource.RLIMIT_FSIZE]),
                  resource.RLIMIT_NOFILE: (200, hard[resource.RLIMIT_NOFILE])}
        result, report = self.attack("dave", cwd=str(attacker_dir), env=env, rlimits=limits,
                                     ignore_signals=(signal.SIGTERM, signal.SIGPIPE,
                                                     signal.SIGHUP))
        self.assertEqual(report["caller"]["cwd"], str(attacker_dir))
        # It got there: the program ran for this login.
        self.assertTrue(report_path.exists(), "the phone program did not run")
        seen = report_path.read_text()
        # The code went to dave's number, not to the one the caller's files name.
        self.assertEqual(self.destinations(), [phone_of("dave")])
        self.assertOutcome(result, pc.PAM_SUCCESS, "verified")
        for expected in ROOT_IN_SLASH:
            self.assertRegex(seen, expected)
        # No ignored signal (the caller ignored SIGTERM, SIGPIPE and SIGHUP), but those glibc
        # keeps below SIGRTMIN, which a parent may ignore and glibc lets nobody change.
        ignored = int(re.search(r"SigIgn:\s+([0-9a-f]+)\n", seen).group(1), 16)
        ignored &= ~sum(1 << (number - 1) for number in range(32, signal.SIGRTMIN))
        self.assertEqual(ignored, 0, f"ignored signals: {ignored:#x}")
        pid, sid = re.search(r"pid=(\d+) sid=(\d+)\n", seen).groups()
        self.assertEqual(pid, sid, "the program runs in a session of its own")
        before_limits = seen.split("limits:\n")[0]
        self.assertNotRegex(before_limits, r"(?m)^(LDAPRC|SSLKEYLOGFILE)=")
        self.assertNotIn(str(attacker_dir), before_limits)

    def test_a_hard_limit_the_module_cannot_lift_fails_closed(self):
        """The caller may also lower a hard limit, which root without CAP_SYS_RESOURCE (in many
        containers) cannot raise again: no processes for the caller's uid, so the program's own
        commands cannot start. Then the lookup fails, and a failed lookup is no "no phone":
        with unenrolled = ignore the login must not step aside."""
        report_path = self.phone_program(unenrolled="ignore")
        result, _ = self.attack("dave", rlimits={resource.RLIMIT_NPROC: (0, 0)})
        # It got there: the program started (its shell opened the report file).
        self.assertTrue(report_path.exists(), "the phone program did not run")
        if result.module_code == pc.PAM_SUCCESS:
            # With CAP_SYS_RESOURCE the module lifted the limit and the lookup worked.
            self.assertEqual(self.destinations(), [phone_of("dave")])
        else:
            self.assertOutcome(result, pc.PAM_SERVICE_ERR, "config_error",
                               "phone_command failed")
            self.assertNothingSent()


@suite.table(  # the name typed, its account (None: none), config, outcome
    "name user account config outcome",
    ("upper_case_is_the_account_with_unenrolled_ignore", "ALICE", "alice",
     {"unenrolled": "ignore"}, "verified"),
    ("a_second_passwd_line_for_the_uid_is_the_account", "alice2", "alice",
     {"unenrolled": "ignore"}, "verified"),
    ("group_membership_is_the_accounts_with_only_groups", "ERIN", "erin",
     {"only_groups": "twofa"}, "verified"),
    # exempt_users names the spelling, not the account: ALICE gets no softer treatment.
    ("exemptions_follow_the_account_not_the_spelling", "ALICE", "alice",
     {"exempt_users": "ALICE"}, "verified"),
    # The control: with unenrolled = ignore, a name with no line steps aside.
    ("an_unenrolled_user_is_let_through_with_unenrolled_ignore", "carol", None,
     {"unenrolled": "ignore"}, "unenrolled_ignored"))
class OtherSpellings(AttackCase):
    """Rule 3: another spelling of the account gets the same treatment: the name resolves (NSS
    knows it), is asked for a code sent to the account's phone, and is verified."""

    def check(self, user, account, config, outcome):
        self.configure(**config)
        result, _ = self.attack(user)
        line = self.assertOutcome(result, pc.PAM_SUCCESS if account else pc.PAM_IGNORE, outcome)
        self.assertIn(f"user={account} as={user}" if account else f"user={user}", line)
        self.assertEqual(self.destinations(), [phone_of(account)] if account else [])


@suite.table(  # the password, the item it is in
    "name password item",
    ("a_host_answering_every_prompt_with_the_password_sends_none", "Bob-Pa55word-7e1d",
     "PAM_AUTHTOK"),
    # A password that looks like a code would otherwise pass every plausibility check.
    ("a_numeric_password_is_not_sent_either", str(100000 + secrets.randbelow(899999)),
     "PAM_AUTHTOK"),
    ("the_old_password_as_every_answer_is_never_validated",
     "0ld-Pa55word-" + secrets.token_hex(3), "PAM_OLDAUTHTOK"))
class PasswordAnswers(AttackCase):
    """Rule 8: a password is never sent as a code. The first factor (pam_unix; here
    pam_wrapper's pam_set_items) leaves the password in PAM_AUTHTOK or PAM_OLDAUTHTOK, and the
    host (sshd's "password" method) answers every prompt with it."""

    def check(self, password, item):
        result, _ = self.attack("bob", script(*[password] * 4), "attack_items",
                                env={item: password})
        # It got there: a code was sent and the module's prompt was answered, every time.
        self.assertEqual(self.destinations(), [phone_of("bob")])
        self.assertEqual(len([p for p in result.prompts if "Verification code:" in p]), 3,
                         result.prompts)
        # And the password never left: no validate request at all.
        self.assertSeen("POST 200")
        line = self.assertOutcome(result, pc.PAM_AUTH_ERR, "too_many_wrong_codes")
        self.assertIn("answered with the password", line)
        self.assertLogged(result, "the host answers prompts with the password")


@suite.table(  # service, user, su's credentials?, the module's code, outcome
    "name service user su code outcome",
    ("a_screen_locker_gets_not_root_not_a_config_error", "attack", "mallory", False,
     pc.PAM_AUTHINFO_UNAVAIL, "not_root"),
    ("nonroot_ignore_steps_aside_for_the_callers_own_account", "attack_nonroot_ignore",
     "mallory", False, pc.PAM_IGNORE, "not_root_ignored"),
    ("nonroot_ignore_does_not_step_aside_for_another_account", "attack_nonroot_ignore",
     "alice", False, pc.PAM_AUTHINFO_UNAVAIL, "not_root"),
    # su has effective uid 0: the argument is for unprivileged callers only.
    ("nonroot_ignore_does_nothing_for_su", "attack_nonroot_ignore", "mallory", True,
     pc.PAM_SUCCESS, "verified"))
class NonRootCaller(AttackCase):
    """Rule 10: a caller without root gets a refusal that says so; nonroot=ignore steps aside
    only for an unprivileged caller's own account."""

    def check(self, service, user, su, code, outcome):
        result, _ = self.attack(user, service=service, su=su)
        # It got there: the module ran (one outcome line), and the config is one that a caller
        # without root cannot read.
        line = self.assertOutcome(result, code, outcome)
        self.assertEqual(stat.S_IMODE(self.world.config.stat().st_mode), 0o600)
        if not su:
            if outcome == "not_root":
                self.assertIn(f"caller is not root (uid {ATTACKER_UID})", line)
            self.assertNotIn("config_error", "\n".join(result.syslog()))
            self.assertNotIn("Permission denied", "\n".join(result.syslog()))
            self.assertNothingSent()


def signal_as_attacker(pid, number):
    """Sends signal `number` to `pid` from a process of the attacker's (every uid theirs);
    returns 0, or 1 for EPERM."""
    child = os.fork()
    if child == 0:
        try:
            become_attacker(su=False)
            os.kill(pid, number)
            os._exit(0)
        except PermissionError:
            os._exit(1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    return {0: 0, 1: 1, 2: -1}[os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])]


def lock_holders(path):
    """Pids holding a flock(2) on `path`, read from /proc/locks as any local user can."""
    inode = str(os.stat(path).st_ino)
    fields = (line.split() for line in Path("/proc/locks").read_text().splitlines())
    return [int(f[4]) for f in fields  # "->" marks a waiter, not a holder
            if "->" not in f and len(f) >= 6 and f[1] == "FLOCK" and f[5].split(":")[-1] == inode]


def state_of(pid):
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


class StoppedAndKilledLogins(AttackCase):
    """Rules 5 and 6: a login the caller stops or kills locks nobody out and holds nobody up."""

    rhost = "198.51.100.20"  # self.login(): from a root process (sshd's)

    def su_login(self, env=None):
        def setup():
            become_attacker()
            os.environ.update(env or {})
        return self.child("mallory", rhost=None, setup=setup)

    def sent_to_attacker(self):
        return [d for d in self.new_deliveries() if d["destination"] == phone_of("mallory")]

    def test_a_su_stopped_at_its_prompt_holds_only_its_number_and_only_for_its_time(self):
        self.configure(login_timeout="10", resend_interval="10")
        stopped = self.su_login()
        self.assertIn("Code sent by SMS", stopped.next_prompt())  # it got there: code sent,
        self.assertEqual(len(self.sent_to_attacker()), 1)  # the number held
        started = time.monotonic()
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGSTOP), 0)
        time.sleep(0.2)
        self.assertEqual(state_of(stopped.pid), "T")
        # Another login for the same number is told at once, and nothing is sent for it.
        before = len(self.new_requests())
        self.assertOutcome(self.login("mallory", limit=2), pc.PAM_AUTH_ERR, "phone_busy")
        self.assertEqual(len(self.new_requests()), before, "a refused login sent something")
        # Every other number goes on as if nothing were stopped.
        self.assertOutcome(self.login("alice", limit=3), pc.PAM_SUCCESS, "verified")
        # Past the stopped login's login_timeout its claim binds nobody: the next login of the
        # number gets a prompt and passes with a new code, one send.
        time.sleep(max(0.0, started + 10.5 - time.monotonic()))
        self.assertOutcome(self.login("mallory"), pc.PAM_SUCCESS, "verified")
        self.assertEqual(len(self.sent_to_attacker()), 2)
        # Woken, the stopped login's code is too late whatever it types: its own deadline.
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGCONT), 0)
        stopped.answer(self.sent_to_attacker()[0]["code"])
        result = self.finish(stopped)
        self.assertNotEqual(result.module_code, pc.PAM_SUCCESS, result)
        self.assertIn("outcome=login_timeout", result.log)

    def test_a_su_killed_at_its_prompt_locks_nobody_out(self):
        self.configure(resend_interval="10")
        killed = self.su_login()
        self.assertIn("Code sent by SMS", killed.next_prompt())
        claims = "".join((self.state_dir / f"pending.{copy}").read_text() for copy in "ab")
        self.assertIn(f" {killed.pid} ", claims, "the login's claim is in the table")
        self.assertEqual(signal_as_attacker(killed.pid, signal.SIGKILL), 0)
        self.assertIsNone(self.finish(killed), "the login was killed")
        # The next login waits out what is left of resend_interval, then gets its own code.
        self.assertOutcome(self.login("mallory", limit=12), pc.PAM_SUCCESS, "verified")
        sent = self.sent_to_attacker()
        self.assertEqual(len(sent), 2, "one code per login that reached the prompt")
        self.assertNotEqual(sent[0]["code"], sent[1]["code"], "a new code, not the killed one's")

    def stop_while_root_holds(self, stopped, files, what):
        """Waits until one of `files()` is seen locked (it got there), checks the holder is a
        process of root's that the caller cannot stop, then stops su itself, as the caller
        can."""
        deadline, holders = time.monotonic() + 15, []
        while not holders and time.monotonic() < deadline:
            holders = [pid for path in files() for pid in lock_holders(path)]
            time.sleep(0.005)
        self.assertTrue(holders, f"no lock on {what} was seen")
        self.assertNotEqual(holders[0], stopped.pid)
        status = Path(f"/proc/{holders[0]}/status").read_text()
        self.assertRegex(status, r"\nUid:\s+0\s+0\s+0\s+0\n")
        self.assertEqual(signal_as_attacker(holders[0], signal.SIGSTOP), 1, "EPERM expected")
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGSTOP), 0)
        time.sleep(0.1)
        self.assertEqual(state_of(stopped.pid), "T")

    def test_a_su_stopped_while_it_holds_the_state_lock_holds_up_nobody(self):
        # slow_lock (preloaded) makes whoever takes an exclusive lock in the su process hold it
        # 1.5 s (less than a login waits for a lock): long enough to stop the holder while it
        # holds it, as an attacker watching /proc/locks would, given enough tries.
        stopped = self.su_login(env={"VERIF8_SLOW_LOCK_MS": "1500"})
        table = self.state_dir / "pending.a"
        self.stop_while_root_holds(stopped, lambda: [table] if table.exists() else [],
                                   "the session table")
        # Another user's login waits for the lock (at most the 1.5 s hold), then goes on.
        before = len(self.new_requests())
        self.assertOutcome(self.login("alice", limit=5), pc.PAM_SUCCESS, "verified")
        self.assertEqual(len(self.new_requests()) - before, 3)  # its send, read and check
        self.assertEqual(state_of(stopped.pid), "T", "su stayed stopped throughout")
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGCONT), 0)
        self.assertIn("Code sent by SMS", stopped.next_prompt())  # and su goes on, too
        stopped.abort()
        self.assertEqual(self.finish(stopped).module_code, pc.PAM_CONV_ERR)

    def test_a_su_stopped_while_its_wrong_code_ends_grace_cannot_keep_the_grace(self):
        """grace_period: a wrong code under su ends the account's grace in a process of root's
        the caller cannot stop; stopping su then neither keeps the grace nor holds anyone up."""
        self.configure(grace_period="600")
        self.assertOutcome(self.login("mallory"), pc.PAM_SUCCESS, "verified")
        self.assertOutcome(self.login("mallory"), pc.PAM_IGNORE, "grace")  # it has grace
        stopped = self.su_login(env={"VERIF8_SLOW_LOCK_MS": "1500"})
        self.assertIn("Code sent by SMS", stopped.next_prompt())
        code = self.sent_to_attacker()[-1]["code"]
        stopped.answer("000000" if code != "000000" else "111111")
        grace = self.state_dir / "grace"
        self.stop_while_root_holds(stopped, lambda: list(grace.iterdir()), "the grace file")
        # The grace ended all the same: the next login from the graced address is asked for a
        # code (and refused at once, since the stopped su holds the number), held up at most
        # by the 1.5 s hold.
        self.assertOutcome(self.login("mallory", limit=5), pc.PAM_AUTH_ERR, "phone_busy")
        self.assertEqual(list(grace.iterdir())[0].read_text(), "", "the grace file is emptied")
        self.assertEqual(state_of(stopped.pid), "T", "su stayed stopped throughout")
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGCONT), 0)
        stopped.next_prompt()
        stopped.abort()
        self.assertEqual(self.finish(stopped).module_code, pc.PAM_CONV_ERR)


def wrapped_main(world):
    global SANDBOX
    SANDBOX = world.sandbox
    return 0 if tap.run([CallerEnvironment, PhoneCommandCaller, OtherSpellings,
                         PasswordAnswers, NonRootCaller, StoppedAndKilledLogins]) else 1


def write_services(world, module, config, api_key):
    # The module where every caller can load it, as in /usr/lib/.../security: the build tree
    # need not be (a clone under /root is closed to the unprivileged caller).
    (world.dir / "security").mkdir(mode=0o755)
    module = Path(shutil.copy2(module, world.dir / "security" / module.name))
    os.chmod(module, 0o755)
    for name, uid in ALIASES.items():
        world.add_account(name, uid, uid, str(world.dir / "home" / name), "/bin/sh")
    world.service("attack", module, f"conf={config}")
    world.service("attack_nonroot_ignore", module, f"conf={config} nonroot=ignore")
    # A first factor that leaves the password in PAM_AUTHTOK (or PAM_OLDAUTHTOK), as
    # pam_unix does: pam_wrapper's pam_set_items takes it from the process environment.
    (world.services / "attack_items").write_text(
        f"auth requisite {harness.wrapper_module('pam_set_items.so')}\n"
        f"auth required {module} conf={config}\n")
    # An unprivileged caller (a screen locker) must reach libpam's files and NSS, as on a
    # real system, though never the module's config.
    for path in (world.dir.parent, world.dir, world.services):
        os.chmod(path, 0o755)
    for path in [world.passwd, world.group, *world.services.iterdir()]:
        os.chmod(path, 0o644)


def prepare_env(env):
    if len(sys.argv) > 2:  # slow_lock, for the stopped-lock-holder test
        env["LD_PRELOAD"] = ":".join(
            part for part in (env.get("LD_PRELOAD"), str(Path(sys.argv[2]).resolve())) if part)
    if env.get("VERIF8_PRELOAD_FIRST"):
        # A sanitized run: ASan checks every access of the module here, but the host is the
        # Python interpreter, whose own allocations LeakSanitizer would report at exit. Leaks
        # are the unit, PAM, local and valgrind suites' to find.
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    return suite.main("attacks", wrapped_main, write_services, users=USERS, groups=GROUPS,
                      prepare_env=prepare_env)


if __name__ == "__main__":
    sys.exit(main())
