#!/usr/bin/python3
"""The local attacker of threat-model.md: an unprivileged user who runs a setuid PAM program (su,
sudo) and so chooses its environment, working directory, umask, limits, signal dispositions and
user name, while libpam runs the module as root in that process. Each test forks a process with
su's credentials (real uid the attacker's, effective uid 0, the attacker's groups), sets the
attack up in it, and logs in through the built module and real libpam (pam_wrapper and
nss_wrapper, tests/harness/pam_client.py) against verif8-sandbox. Each first shows that the
login got to the point the attack aims at (a TLS connection made, the phone program run, the
prompt answered), then that the attack was stopped. Where the vector is a library's behaviour
(libcurl honouring SSLKEYLOGFILE, say), a control run shows the library does what the attack
needs on this machine. Prints TAP.

usage: run_attack_tests.py MODULE_SO [SLOW_LOCK_SO]

Like tests/faults, the script runs itself twice: the first run builds the wrapper world and
starts the sandbox, the second (under pam_wrapper) runs the tests."""

import ctypes
import json
import os
import re
import resource
import secrets
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import pam_client as pc  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402

PAM_OLDAUTHTOK = 7

ATTACKER_UID = 2010  # mallory: an ordinary local user
USERS = {
    "alice": (2001, "alice +6591234567 sms"),
    "bob": (2002, "bob +6598765432 sms"),
    "carol": (2003, None),
    "dave": (2004, "dave +6591110004 sms"),
    "erin": (2005, "erin +6591110005 sms"),
    "frank": (2006, "frank +6591110006 sms"),
    "mallory": (ATTACKER_UID, "mallory +6599990000 sms"),
}
ATTACKER_PHONE = "+6599990000"
BOB_PASSWORD = "Bob-Pa55word-7e1d"
# Other spellings of existing accounts: what SSSD answers with case_sensitive = false (the AD
# default), or a second passwd line for the same uid.
ALIASES = {"ALICE": 2001, "alice2": 2001, "ERIN": 2005}
GROUPS = {"twofa": ["erin"], "staff": ["mallory"]}

MODULE = None
WORK = None
WORLD_DIR = None
SANDBOX = None
CONFIG = None


def last_code(phone):
    deliveries = [d for d in SANDBOX.deliveries() if d["destination"] == phone]
    if not deliveries:
        raise AssertionError(f"the sandbox delivered no code to {phone}")
    return deliveries[-1]["code"]


def phone_of(user):
    return USERS[user][1].split()[1]


def answer_code(phone):
    return lambda prompt: last_code(phone)


def always(text):
    return lambda prompt: text


# --------------------------------------------------------------------------------------------
# A process with su's credentials

def attacker_groups():
    gids = [ATTACKER_UID]
    for number, (name, members) in enumerate(GROUPS.items()):
        if "mallory" in members:
            gids.append(3001 + number)
    return gids


def run_as_caller(login, *, unprivileged=False, umask=0o000, cwd=None, env=None, rlimits=None,
                  ignore_signals=()):
    """Forks; the child takes su's credentials (real uid and all gids the attacker's, effective
    uid 0 and saved uid 0), or every uid the attacker's when `unprivileged` (a screen locker),
    then the attack's umask, working directory, environment, limits and ignored signals; records
    what it then is (so a test can show the attack was in place), runs `login()` and sends back
    a dict. The parent's own state is untouched."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(reader)
        report = {}
        try:
            gids = attacker_groups()
            os.setgroups(gids)
            os.setresgid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
            if unprivileged:
                os.setresuid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
            else:
                os.setresuid(ATTACKER_UID, 0, 0)
            os.umask(umask)
            if cwd is not None:
                os.chdir(cwd)
            for name, value in (env or {}).items():
                os.environ[name] = value  # putenv: the C environment libpam's callee sees
            for limit, value in (rlimits or {}).items():
                resource.setrlimit(limit, value)
            for number in ignore_signals:
                signal.signal(number, signal.SIG_IGN)
            report["caller"] = {
                "resuid": list(os.getresuid()), "resgid": list(os.getresgid()),
                "groups": sorted(os.getgroups()), "cwd": os.getcwd(),
                "umask": os.umask(umask), "env": {name: os.environ.get(name) for name in env or {}},
            }
            report.update(login())
            libc = ctypes.CDLL(None)
            libc.getenv.restype = ctypes.c_char_p
            report["env_after"] = {name: (libc.getenv(name.encode()) or b"").decode()
                                   for name in env or {}}
        except BaseException:  # noqa: BLE001 - reported to the parent
            report["error"] = traceback.format_exc()
        os.write(writer, json.dumps(report).encode())
        os.close(writer)
        os._exit(0)
    os.close(writer)
    chunks = []
    while True:
        chunk = os.read(reader, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    os.waitpid(pid, 0)
    report = json.loads(b"".join(chunks) or b"{}")
    if "error" in report:
        raise AssertionError("the attacker's process failed:\n" + report["error"])
    return report


def pam_login(service, user, answer, items=()):
    """For run_as_caller: one login; its result as a dict."""
    def run():
        result = pc.authenticate(service, user, answer, rhost=None, items=items)
        return {"code": result.code, "module_code": result.module_code,
                "name": result.module_name, "prompts": result.prompts, "errors": result.errors,
                "syslog": result.syslog()}
    return run


# --------------------------------------------------------------------------------------------
# The test base

class AttackCase(suite.LoginCase):
    settings = {"fail_delay": "0", "connect_timeout": "3", "request_timeout": "5",
                "user_send_limit": "100/900", "source_send_limit": "100/900"}

    def setUp(self):
        self.reports = []
        super().setUp()

    def attack(self, login, **setup):
        report = run_as_caller(login, **setup)
        self.reports.append(report)
        return report

    def diagnostics(self):
        lines = []
        for number, report in enumerate(self.reports, 1):
            lines.append(f"login {number}: {report.get('name')}; prompts "
                         f"{report.get('prompts')!r}; errors {report.get('errors')!r}")
            lines.append(f"  caller: {report.get('caller')}")
            lines += [f"  log: {line}" for line in report.get("syslog", [])]
        lines += [f"request: {json.dumps(r)}" for r in self.new_requests()]
        return lines

    def outcome(self, report):
        lines = [line for line in report["syslog"] if "outcome=" in line]
        self.assertEqual(len(lines), 1, f"one outcome line: {lines}")
        return lines[0]

    def assertSuCredentials(self, report, umask=None):
        """The login ran as su runs it: the attacker's real uid and gids, effective uid 0."""
        caller = report["caller"]
        self.assertEqual(caller["resuid"], [ATTACKER_UID, 0, 0])
        self.assertEqual(caller["resgid"], [ATTACKER_UID] * 3)
        if umask is not None:
            self.assertEqual(caller["umask"], umask)


# --------------------------------------------------------------------------------------------
# Rule 2: the caller's environment never reaches libcurl or OpenSSL

def curl_control(url, ca_file):
    """A separate process, as a program linked with libcurl would be: libcurl's global init and
    one GET of `url` in the current environment. Returns (easy handle made?, CURLcode)."""
    code = ("import ctypes,sys\n"
            "c=ctypes.CDLL('libcurl.so.4')\n"
            "c.curl_easy_init.restype=ctypes.c_void_p\n"
            "c.curl_easy_setopt.argtypes=[ctypes.c_void_p,ctypes.c_int,ctypes.c_char_p]\n"
            "c.curl_easy_perform.argtypes=[ctypes.c_void_p]\n"
            "h=c.curl_easy_init()\n"
            "if not h: print('noinit'); sys.exit(0)\n"
            "c.curl_easy_setopt(h,10002,sys.argv[1].encode())\n"  # CURLOPT_URL
            "c.curl_easy_setopt(h,10065,sys.argv[2].encode())\n"  # CURLOPT_CAINFO
            "r=c.curl_easy_perform(h)\n"
            "print('\\nRESULT=%d' % r)\n")
    return code, [url, ca_file]


def run_curl_control(env_overrides, umask=0o000):
    code, args = curl_control(SANDBOX.url + "/_sandbox/sessions", SANDBOX.ca_file)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LD_PRELOAD",))}
    env.update(env_overrides)
    result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                            text=True, timeout=30, preexec_fn=lambda: os.umask(umask))
    last = result.stdout.strip().splitlines()[-1:] or [""]
    return last[0].replace("RESULT=", "")


class ProxyListener:
    """A TCP listener that records whether anything connected (a proxy the attacker runs)."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.2)
        self.received = []
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self):
        while not self.stop:
            try:
                connection, _ = self.socket.accept()
            except (socket.timeout, OSError):
                continue
            with connection:
                connection.settimeout(1)
                try:
                    self.received.append(connection.recv(4096).decode("latin-1"))
                except OSError:
                    self.received.append("")

    def close(self):
        self.stop = True
        self.thread.join(timeout=5)
        self.socket.close()


class CallerEnvironment(AttackCase):
    def hostile_environment(self, proxy):
        keylog = self.state_dir.parent / f"keylog-{secrets.token_hex(4)}"
        evil_conf = self.state_dir.parent / f"evil-{secrets.token_hex(4)}.cnf"
        # Leaves a client only TLS 1.3 with a cipher suite no usual server offers (CCM_8): an
        # OpenSSL that reads it cannot complete a handshake with the sandbox, so a login that
        # still succeeds shows OpenSSL never read it. (The same file could load a provider:
        # code, as root.)
        evil_conf.write_text("openssl_conf = evil\n[evil]\nssl_conf = ssl\n[ssl]\n"
                             "system_default = tls\n[tls]\nMinProtocol = TLSv1.3\n"
                             "Ciphersuites = TLS_AES_128_CCM_8_SHA256\n")
        return keylog, {
            "SSLKEYLOGFILE": str(keylog),
            "OPENSSL_CONF": str(evil_conf),
            "https_proxy": proxy.url, "HTTPS_PROXY": proxy.url, "ALL_PROXY": proxy.url,
            "SSL_CERT_FILE": str(evil_conf), "SSL_CERT_DIR": str(self.state_dir.parent),
            "CURL_CA_BUNDLE": str(evil_conf),
        }

    def test_libcurl_on_this_machine_honours_the_attack_variables(self):
        """The control: a program using libcurl in this environment writes $SSLKEYLOGFILE with
        the umask's mode, goes through $https_proxy, and takes its TLS settings from
        $OPENSSL_CONF. So these variables are live vectors here, and the next test means
        something."""
        proxy = ProxyListener()
        try:
            keylog, env = self.hostile_environment(proxy)
            self.assertEqual(run_curl_control({"SSLKEYLOGFILE": str(keylog)}), "0")
            self.assertTrue(keylog.exists(), "libcurl wrote no key log")
            self.assertEqual(stat.S_IMODE(keylog.stat().st_mode), 0o666,
                             "the key log is world-writable under umask 0")
            self.assertGreater(keylog.stat().st_size, 0)
            run_curl_control({"https_proxy": proxy.url})
            self.assertTrue(any("CONNECT" in text for text in proxy.received),
                            f"the proxy saw no CONNECT: {proxy.received!r}")
            self.assertNotEqual(run_curl_control({"OPENSSL_CONF": env["OPENSSL_CONF"]}), "0",
                                "OPENSSL_CONF did not change libcurl's handshake")
        finally:
            proxy.close()

    def test_su_with_hostile_variables_verifies_and_nothing_takes_effect(self):
        proxy = ProxyListener()
        try:
            keylog, env = self.hostile_environment(proxy)
            report = self.attack(pam_login("attack", "mallory", answer_code(ATTACKER_PHONE)),
                                 umask=0o000, env=env)
        finally:
            proxy.close()
        self.assertSuCredentials(report, umask=0)
        self.assertEqual(report["caller"]["env"]["SSLKEYLOGFILE"], str(keylog))
        # It got there: TLS connections to the API carried a send and a verified code.
        self.assertEqual(report["module_code"], pc.PAM_SUCCESS, report["name"])
        self.assertIn("outcome=verified", self.outcome(report))
        methods = [r["method"] for r in self.new_requests()]
        self.assertIn("POST", methods)
        self.assertIn("GET", methods)
        # And none of it took effect.
        self.assertFalse(keylog.exists(), "libcurl wrote the caller's SSLKEYLOGFILE")
        self.assertEqual(proxy.received, [], "a connection went to the caller's proxy")
        # The host's environment is as the caller left it.
        self.assertEqual(report["env_after"], env)
        # The attempt is in the log, by name only.
        warnings = [line for line in report["syslog"] if "caller's environment sets" in line]
        self.assertEqual(len(warnings), 1, report["syslog"])
        for name in ("SSLKEYLOGFILE", "OPENSSL_CONF", "https_proxy", "SSL_CERT_FILE",
                     "CURL_CA_BUNDLE"):
            self.assertIn(name, warnings[0])
        self.assertNotIn(str(keylog), "\n".join(report["syslog"]))


# --------------------------------------------------------------------------------------------
# Rule 2: files the module creates are root's, 0600, whatever the caller's umask and group

class CreatedFiles(AttackCase):
    def test_state_files_are_root_0600_under_umask_0_and_the_callers_group(self):
        state = self.state_dir / "fresh"
        self.configure(state_dir=str(state))
        self.assertFalse(state.exists())
        report = self.attack(pam_login("attack", "mallory", answer_code(ATTACKER_PHONE)),
                             umask=0o000)
        self.assertSuCredentials(report, umask=0)
        self.assertEqual(report["module_code"], pc.PAM_SUCCESS, report["name"])
        info = state.lstat()
        self.assertTrue(stat.S_ISDIR(info.st_mode))
        self.assertEqual((info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)), (0, 0, 0o700))
        made = list(state.rglob("*"))
        files = [path for path in made if path.is_file()]
        self.assertGreaterEqual(len(files), 3, f"the login wrote its state: {made}")
        for path in made:
            info = path.lstat()
            self.assertTrue(stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode), path)
            mode = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
            self.assertEqual((info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)),
                             (0, 0, mode), path)


# --------------------------------------------------------------------------------------------
# Rule 2: phone_command runs as root, in /, with nothing of the caller's

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


class PhoneCommandCaller(AttackCase):
    def phone_program(self, **config):
        scripts = WORK / "scripts"
        scripts.mkdir(exist_ok=True, mode=0o755)
        report_path = scripts / f"report-{secrets.token_hex(4)}"
        program = scripts / f"phone-lookup-{secrets.token_hex(4)}"
        program.write_text(PHONE_SCRIPT.format(report=report_path))
        os.chmod(program, 0o755)
        self.configure(phone_command=f"{program} %u", **config)
        return report_path

    def test_the_phone_program_runs_as_root_in_slash_with_nothing_of_the_callers(self):
        report_path = self.phone_program()
        # The attacker's directory and variables point the lookup at the attacker's phone.
        attacker_dir = Path(tempfile.mkdtemp(prefix="mallory-", dir=WORK))
        (attacker_dir / "ldaprc").write_text(f"{ATTACKER_PHONE} sms\n")
        os.chmod(attacker_dir, 0o755)
        os.chmod(attacker_dir / "ldaprc", 0o644)
        env = {"LDAPRC": str(attacker_dir / "ldaprc"), "HOME": str(attacker_dir),
               "PATH": f"{attacker_dir}:/usr/bin:/bin", "SSLKEYLOGFILE": "/tmp/x"}
        # Soft limits, which the caller may set anywhere under the hard ones (core dumps on,
        # files and descriptors short).
        hard_core = resource.getrlimit(resource.RLIMIT_CORE)[1]
        hard_fsize = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        self.assertNotEqual(hard_core, 0)  # core dumps can be turned on (RLIM_INFINITY is -1)
        limits = {resource.RLIMIT_CORE: (hard_core, hard_core),
                  resource.RLIMIT_FSIZE: (1 << 20, hard_fsize),
                  resource.RLIMIT_NOFILE: (200, hard_nofile)}
        report = self.attack(pam_login("attack", "dave", answer_code(phone_of("dave"))),
                             umask=0o000, cwd=str(attacker_dir), env=env, rlimits=limits,
                             ignore_signals=(signal.SIGTERM, signal.SIGPIPE, signal.SIGHUP))
        self.assertSuCredentials(report, umask=0)
        self.assertEqual(report["caller"]["cwd"], str(attacker_dir))
        # It got there: the program ran for this login.
        self.assertTrue(report_path.exists(), "the phone program did not run")
        seen = report_path.read_text()
        # The code went to dave's number, not to the one the caller's files name.
        destinations = [d["destination"] for d in self.new_deliveries()]
        self.assertEqual(destinations, [phone_of("dave")])
        self.assertEqual(report["module_code"], pc.PAM_SUCCESS, report["name"])
        # Every uid and gid 0, no supplementary groups.
        self.assertIn("ids=0 0 0 0", seen)
        self.assertRegex(seen, r"Uid:\s+0\s+0\s+0\s+0\n")
        self.assertRegex(seen, r"Gid:\s+0\s+0\s+0\s+0\n")
        self.assertRegex(seen, r"Groups:\s*\n")
        # No ignored signal (the caller ignored SIGTERM, SIGPIPE and SIGHUP), but those glibc
        # keeps below SIGRTMIN, which a parent may ignore and glibc lets nobody change.
        ignored = int(re.search(r"SigIgn:\s+([0-9a-f]+)\n", seen).group(1), 16)
        for number in range(32, signal.SIGRTMIN):
            ignored &= ~(1 << (number - 1))
        self.assertEqual(ignored, 0, f"ignored signals: {ignored:#x}")
        self.assertIn("cwd=/\n", seen)
        self.assertIn("umask=0077\n", seen)
        pid, sid = (int(value.split("=")[1]) for value in
                    next(line for line in seen.splitlines() if line.startswith("pid=")).split())
        self.assertEqual(pid, sid, "the program runs in a session of its own")
        env_lines = seen.split("env:\n")[1].split("limits:\n")[0].split()
        names = {line.split("=")[0] for line in env_lines}
        self.assertNotIn("LDAPRC", names)
        self.assertNotIn("SSLKEYLOGFILE", names)
        self.assertIn("PATH=/usr/sbin:/usr/bin:/sbin:/bin", env_lines)
        self.assertNotIn(str(attacker_dir), seen.split("limits:\n")[0].split("cwd=")[1])
        limits_text = seen.split("limits:\n")[1]
        self.assertRegex(limits_text, r"Max core file size\s+0\s+0")
        self.assertRegex(limits_text, r"Max file size\s+unlimited\s")
        self.assertRegex(limits_text, r"Max open files\s+1024\s")

    def test_a_hard_limit_the_module_cannot_lift_fails_closed(self):
        """The caller may also lower a hard limit, which root without CAP_SYS_RESOURCE (in many
        containers) cannot raise again: no processes for the caller's uid, so the program's own
        commands cannot start. Then the lookup fails, and a failed lookup is no "no phone":
        with unenrolled = ignore the login must not step aside."""
        report_path = self.phone_program(unenrolled="ignore")
        report = self.attack(pam_login("attack", "dave", answer_code(phone_of("dave"))),
                             rlimits={resource.RLIMIT_NPROC: (0, 0)})
        self.assertSuCredentials(report)
        # It got there: the program started (its shell opened the report file).
        self.assertTrue(report_path.exists(), "the phone program did not run")
        self.assertNotEqual(report["module_code"], pc.PAM_IGNORE, self.outcome(report))
        if report["module_code"] == pc.PAM_SUCCESS:
            # With CAP_SYS_RESOURCE the module lifted the limit and the lookup worked.
            self.assertEqual([d["destination"] for d in self.new_deliveries()],
                             [phone_of("dave")])
        else:
            self.assertEqual(report["module_code"], pc.PAM_SERVICE_ERR, report["name"])
            self.assertIn('reason="phone_command failed"', self.outcome(report))
            self.assertEqual(self.new_requests(), [])


# --------------------------------------------------------------------------------------------
# Rule 3: another spelling of the account gets the same treatment

class OtherSpellings(AttackCase):
    def test_an_unenrolled_user_is_let_through_with_unenrolled_ignore(self):
        """The control: with unenrolled = ignore, a name with no line steps aside."""
        self.configure(unenrolled="ignore")
        report = self.attack(pam_login("attack", "carol", always("000000")))
        self.assertEqual(report["module_code"], pc.PAM_IGNORE)
        self.assertIn("outcome=unenrolled_ignored user=carol", self.outcome(report))
        self.assertEqual(self.new_deliveries(), [])

    def spelled(self, name, enrolled_user, **config):
        self.configure(**config)
        report = self.attack(pam_login("attack", name, answer_code(phone_of(enrolled_user))))
        self.assertSuCredentials(report)
        # The name resolves: NSS knows it (a login that got past the user check).
        self.assertNotEqual(report["module_code"], pc.PAM_USER_UNKNOWN)
        # Same treatment as the account: asked for a code sent to its phone, and verified.
        self.assertEqual([d["destination"] for d in self.new_deliveries()],
                         [phone_of(enrolled_user)])
        self.assertEqual(report["module_code"], pc.PAM_SUCCESS, report["name"])
        line = self.outcome(report)
        self.assertIn(f"user={enrolled_user} as={name}", line)
        return report

    def test_upper_case_is_the_account_with_unenrolled_ignore(self):
        self.spelled("ALICE", "alice", unenrolled="ignore")

    def test_a_second_passwd_line_for_the_uid_is_the_account(self):
        self.spelled("alice2", "alice", unenrolled="ignore")

    def test_group_membership_is_the_accounts_with_only_groups(self):
        self.spelled("ERIN", "erin", only_groups="twofa")

    def test_exemptions_follow_the_account_not_the_spelling(self):
        # exempt_users names the spelling, not the account: ALICE gets no softer treatment.
        self.spelled("ALICE", "alice", exempt_users="ALICE")


# --------------------------------------------------------------------------------------------
# Rule 8: a password is never sent as a code

class PasswordAnswers(AttackCase):
    def answered_with(self, password, service, env=None):
        report = self.attack(pam_login(service, "bob", always(password)), env=env)
        self.assertSuCredentials(report)
        # It got there: a code was sent and the module's prompt was answered, every time.
        self.assertEqual([d["destination"] for d in self.new_deliveries()], [phone_of("bob")])
        code_prompts = [p for p in report["prompts"] if "Verification code:" in p]
        self.assertEqual(len(code_prompts), 3, report["prompts"])
        # And the password never left: no validate request at all.
        validates = [r for r in self.new_requests() if r["method"] == "GET"]
        self.assertEqual(validates, [])
        self.assertEqual(report["module_code"], pc.PAM_AUTH_ERR, report["name"])
        line = self.outcome(report)
        self.assertIn("outcome=too_many_wrong_codes", line)
        self.assertIn("answered with the password", line)
        self.assertTrue(any("the host answers prompts with the password" in entry
                            for entry in report["syslog"]))
        return report

    def test_a_host_answering_every_prompt_with_the_password_sends_none(self):
        """sshd's "password" method: the first factor (pam_unix; here pam_wrapper's
        pam_set_items) keeps the password as PAM_AUTHTOK, and sshd answers the code prompt with
        it too."""
        self.answered_with(BOB_PASSWORD, "attack_items", env={"PAM_AUTHTOK": BOB_PASSWORD})

    def test_a_numeric_password_is_not_sent_either(self):
        # A password that looks like a code would otherwise pass every plausibility check.
        password = str(100000 + secrets.randbelow(899999))
        self.answered_with(password, "attack_items", env={"PAM_AUTHTOK": password})

    def test_the_old_password_as_every_answer_is_never_validated(self):
        password = "0ld-Pa55word-" + secrets.token_hex(3)
        self.answered_with(password, "attack_items", env={"PAM_OLDAUTHTOK": password})


# --------------------------------------------------------------------------------------------
# Rule 10: a caller without root gets a refusal that says so

class NonRootCaller(AttackCase):
    def test_a_screen_locker_gets_not_root_not_a_config_error(self):
        report = self.attack(pam_login("attack", "mallory", always("000000")),
                             unprivileged=True)
        self.assertEqual(report["caller"]["resuid"], [ATTACKER_UID] * 3)
        # It got there: the module ran, and the config is one this caller cannot read.
        self.assertTrue(any("outcome=" in line for line in report["syslog"]))
        self.assertEqual(stat.S_IMODE(CONFIG.stat().st_mode), 0o600)
        self.assertEqual(report["module_code"], pc.PAM_AUTHINFO_UNAVAIL, report["name"])
        line = self.outcome(report)
        self.assertIn("outcome=not_root", line)
        self.assertIn("caller is not root (uid 2010)", line)
        self.assertNotIn("config_error", "\n".join(report["syslog"]))
        self.assertNotIn("Permission denied", "\n".join(report["syslog"]))
        self.assertEqual(self.new_requests(), [])

    def test_nonroot_ignore_steps_aside_for_the_callers_own_account_only(self):
        own = self.attack(pam_login("attack_nonroot_ignore", "mallory", always("000000")),
                          unprivileged=True)
        self.assertEqual(own["module_code"], pc.PAM_IGNORE, own["name"])
        self.assertIn("outcome=not_root_ignored", self.outcome(own))
        other = self.attack(pam_login("attack_nonroot_ignore", "alice", always("000000")),
                            unprivileged=True)
        self.assertEqual(other["module_code"], pc.PAM_AUTHINFO_UNAVAIL, other["name"])
        self.assertIn("outcome=not_root ", self.outcome(other))
        self.assertEqual(self.new_requests(), [])

    def test_nonroot_ignore_does_nothing_for_su(self):
        """su has effective uid 0: the argument is for unprivileged callers only."""
        report = self.attack(pam_login("attack_nonroot_ignore", "mallory",
                                       answer_code(ATTACKER_PHONE)))
        self.assertSuCredentials(report)
        self.assertEqual(report["module_code"], pc.PAM_SUCCESS, report["name"])
        self.assertIn("outcome=verified", self.outcome(report))


# --------------------------------------------------------------------------------------------
# Rule 2: the trust store is a file the module trusts like its config

class TrustStore(AttackCase):
    def ca_copy(self, mode):
        path = self.state_dir.parent / f"ca-{secrets.token_hex(4)}.pem"
        path.write_bytes(Path(SANDBOX.ca_file).read_bytes())
        os.chmod(path, mode)
        return path

    def test_a_ca_file_others_can_write_is_refused(self):
        # The control: the same CAs, root's and readable by all, are used and the login works.
        self.configure(ca_file=str(self.ca_copy(0o644)))
        good = self.attack(pam_login("attack", "mallory", answer_code(ATTACKER_PHONE)))
        self.assertEqual(good["module_code"], pc.PAM_SUCCESS, good["name"])
        before = len(SANDBOX.requests())
        for mode in (0o664, 0o666):
            with self.subTest(mode=oct(mode)):
                ca = self.ca_copy(mode)
                self.configure(ca_file=str(ca))
                report = self.attack(pam_login("attack", "mallory", always("000000")))
                self.assertEqual(report["module_code"], pc.PAM_SERVICE_ERR, report["name"])
                text = "\n".join(report["syslog"])
                self.assertIn(f"ca_file: {ca}: has mode", text)
                self.assertIn("outcome=config_error", self.outcome(report))
        self.assertEqual(SANDBOX.requests()[before:], [], "something was sent")


# --------------------------------------------------------------------------------------------
# Rules 5 and 6: a login the caller stops or kills locks nobody out and holds nobody up

def su_credentials():
    """For LoginInChild: su's credentials, the attacker's real uid and gids."""
    os.setgroups(attacker_groups())
    os.setresgid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
    os.setresuid(ATTACKER_UID, 0, 0)


def signal_as_attacker(pid, number):
    """Sends signal `number` to `pid` from a process of the attacker's (every uid theirs);
    returns 0 or the errno it got."""
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([ATTACKER_UID])
            os.setresgid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
            os.setresuid(ATTACKER_UID, ATTACKER_UID, ATTACKER_UID)
            os.kill(pid, number)
            os._exit(0)
        except PermissionError:
            os._exit(1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    _, status = os.waitpid(child, 0)
    return {0: 0, 1: 1, 2: -1}[os.waitstatus_to_exitcode(status)]


def lock_holders(path):
    """Pids holding a flock(2) on `path`, read from /proc/locks as any local user can."""
    inode = os.stat(path).st_ino
    holders = []
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].split(":")[-1] == str(inode):
            holders.append(int(fields[4]))
    return holders


def uids_of(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(value) for value in line.split()[1:]]
    return []


def state_of(pid):
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rfind(")") + 2]


class StoppedAndKilledLogins(AttackCase):
    def setUp(self):
        super().setUp()
        self.children = []

    def tearDown(self):
        for login in self.children:
            try:
                os.kill(login.pid, signal.SIGKILL)
                os.waitpid(login.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

    def su_login(self, user="mallory", env=None):
        def setup():
            su_credentials()
            for name, value in (env or {}).items():
                os.environ[name] = value
        login = pc.LoginInChild("attack", user, setup=setup)
        self.children.append(login)
        return login

    def login_as_root(self, user, answer):
        """A login from a root process (sshd's), with its result as a dict."""
        result = pc.authenticate("attack", user, answer, rhost="198.51.100.20")
        return {"module_code": result.module_code, "name": result.module_name,
                "prompts": result.prompts, "errors": result.errors, "infos": result.infos,
                "elapsed": result.elapsed, "syslog": result.syslog()}

    def deliveries_to(self, phone):
        return [d for d in self.new_deliveries() if d["destination"] == phone]

    def test_a_su_stopped_at_its_prompt_holds_only_its_number_and_only_for_its_time(self):
        self.configure(login_timeout="10", resend_interval="10")
        stopped = self.su_login()
        prompt = stopped.next_prompt()
        self.assertIn("Code sent by SMS", prompt)  # it got there: a code sent, the number held
        self.assertEqual(len(self.deliveries_to(ATTACKER_PHONE)), 1)
        started = time.monotonic()
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGSTOP), 0)
        time.sleep(0.2)
        self.assertEqual(state_of(stopped.pid), "T")
        # Another login for the same number is told at once, and nothing is sent for it.
        before = len(self.new_requests())
        busy = self.login_as_root("mallory", answer_code(ATTACKER_PHONE))
        self.assertEqual(busy["module_code"], pc.PAM_AUTH_ERR, busy)
        self.assertIn("outcome=phone_busy", "\n".join(busy["syslog"]))
        self.assertLess(busy["elapsed"], 2)
        self.assertEqual(len(self.new_requests()), before, "a refused login sent something")
        # Every other number goes on as if nothing were stopped.
        other = self.login_as_root("alice", answer_code(phone_of("alice")))
        self.assertEqual(other["module_code"], pc.PAM_SUCCESS, other)
        self.assertLess(other["elapsed"], 3)
        # Past the stopped login's login_timeout its claim binds nobody: the next login of the
        # number gets a prompt and passes with a new code, one send.
        time.sleep(max(0.0, started + 10.5 - time.monotonic()))
        after = self.login_as_root("mallory", answer_code(ATTACKER_PHONE))
        self.assertEqual(after["module_code"], pc.PAM_SUCCESS, after)
        self.assertEqual(len(self.deliveries_to(ATTACKER_PHONE)), 2)
        # Woken, the stopped login's code is too late whatever it types: its own deadline.
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGCONT), 0)
        stopped.answer(self.deliveries_to(ATTACKER_PHONE)[0]["code"])
        result = stopped.finish()
        self.assertNotEqual(result["module_code"], pc.PAM_SUCCESS, result)
        self.assertIn("outcome=login_timeout", "\n".join(result["syslog"]))

    def test_a_su_killed_at_its_prompt_locks_nobody_out(self):
        self.configure(resend_interval="10")
        killed = self.su_login()
        self.assertIn("Code sent by SMS", killed.next_prompt())
        table = (self.state_dir / "pending.a").read_text() + (
            self.state_dir / "pending.b").read_text()
        self.assertIn(f" {killed.pid} ", table, "the login's claim is in the table")
        self.assertEqual(signal_as_attacker(killed.pid, signal.SIGKILL), 0)
        self.assertIsNone(killed.finish(), "the login was killed")
        # The next login waits out what is left of resend_interval, then gets its own code.
        after = self.login_as_root("mallory", answer_code(ATTACKER_PHONE))
        self.assertEqual(after["module_code"], pc.PAM_SUCCESS, after)
        self.assertLess(after["elapsed"], 12)
        sent = self.deliveries_to(ATTACKER_PHONE)
        self.assertEqual(len(sent), 2, "one code per login that reached the prompt")
        self.assertNotEqual(sent[0]["code"], sent[1]["code"], "a new code, not the killed one's")

    def test_a_su_stopped_while_it_holds_the_state_lock_holds_up_nobody(self):
        # slow_lock (preloaded) makes whoever takes an exclusive lock in the su process hold it
        # 1.5 s (less than a login waits for a lock): long enough to stop the holder while it
        # holds it, as an attacker watching /proc/locks would, given enough tries.
        stopped = self.su_login(env={"VERIF8_SLOW_LOCK_MS": "1500"})
        table = self.state_dir / "pending.a"
        deadline = time.monotonic() + 10
        holders = []
        while not holders and time.monotonic() < deadline:
            if table.exists():
                holders = lock_holders(table)
            time.sleep(0.005)
        self.assertTrue(holders, "no lock on the session table was seen")  # it got there
        holder = holders[0]
        # The lock is held by a process of root's that the caller cannot stop; the caller can
        # stop su itself.
        self.assertNotEqual(holder, stopped.pid)
        self.assertEqual(uids_of(holder), [0, 0, 0, 0])
        self.assertEqual(signal_as_attacker(holder, signal.SIGSTOP), 1, "EPERM expected")
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGSTOP), 0)
        time.sleep(0.1)
        self.assertEqual(state_of(stopped.pid), "T")
        # Another user's login waits for the lock (at most the 1.5 s hold), then goes on.
        before = len(self.new_requests())
        other = self.login_as_root("alice", answer_code(phone_of("alice")))
        self.assertEqual(other["module_code"], pc.PAM_SUCCESS, other)
        self.assertLess(other["elapsed"], 5)
        self.assertEqual(len(self.new_requests()) - before, 3)  # its send, read and check
        self.assertEqual(state_of(stopped.pid), "T", "su stayed stopped throughout")
        self.assertEqual(signal_as_attacker(stopped.pid, signal.SIGCONT), 0)
        self.assertIn("Code sent by SMS", stopped.next_prompt())  # and su goes on, too
        stopped.abort()
        self.assertEqual(stopped.finish()["module_code"], pc.PAM_CONV_ERR)


CASES = [CallerEnvironment, CreatedFiles, TrustStore, PhoneCommandCaller, OtherSpellings,
         PasswordAnswers, NonRootCaller, StoppedAndKilledLogins]


# --------------------------------------------------------------------------------------------
# Entry points

def wrapped_main(world):
    global MODULE, WORK, WORLD_DIR, SANDBOX, CONFIG
    MODULE, WORK, WORLD_DIR, SANDBOX = world.module, world.work, world.dir, world.sandbox
    CONFIG = world.config
    return 0 if tap.run(CASES) else 1


def write_services(world, module, config, api_key):
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
