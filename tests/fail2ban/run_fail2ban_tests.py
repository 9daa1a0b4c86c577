#!/usr/bin/python3
"""The fail2ban filter (conf/fail2ban/pam-verif8.conf) with Debian's real fail2ban, against lines
the module really wrote: logins through the built module and real libpam
(tests/harness/login_suite.py) against verif8-sandbox end in each outcome the filter counts and in
those it must not; their pam_syslog messages become syslog lines; fail2ban-regex must find every
abuse line with its login's address, no other line, and never an address a hostile user name
carries; then a fail2ban server (private config, socket, pid and database files, the polling
backend on a temp log) with the shipped jail example and an action that only appends the banned
address to a file bans after the jail's count of failures, not before, and never for successes.
Of the machine's fail2ban only the programs and filter.d/common.conf (which every filter includes)
and sshd.conf (which must find none of these lines) are read; its configuration and service are
never touched. Prints TAP.

usage: run_fail2ban_tests.py MODULE_SO"""

import os
import re
import shutil
import subprocess
import sys
import time
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import login_suite as suite  # noqa: E402
import pam_client as pc  # noqa: E402
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from login_suite import after, code, script, wrong  # noqa: E402

FILTER = HERE.parents[1] / "conf" / "fail2ban" / "pam-verif8.conf"
JAIL = HERE.parents[1] / "conf" / "fail2ban" / "jail.d" / "pam-verif8.conf"
# Users with a number each (a login that ends leaves its session on the number, and the next
# login of that number would wait out resend_interval), a few more for the server's logins.
USERS = {**harness.DEFAULT_USERS,
         **{f"f2b{n:02d}": (2300 + n, f"f2b{n:02d} +659333{n:04d} sms") for n in range(12)}}
# Names that try to smuggle an address into the line: each is another name of an account (the
# uid of f2b10, f2b11), so a login under it is that account's, logged as user=f2b10 as="NAME".
INJECTED = "198.51.100.66"
HOSTILE = {"f2b10 rhost=198.51.100.66 service=sshd": 2310,
           'f2b11\\" rhost=198.51.100.66 service=sshd \\': 2311}
# The invalid-user placeholder password sshd hands PAM (design.md, "What a login looks like").
PLACEHOLDER = "\b\n\r\177INCORRECT"
NORMAL = ("too_many_wrong_codes", "session_failed", "send_limit", "resend_too_soon",
          "conversation_failed", "login_timeout")
AGGRESSIVE = NORMAL + ("invalid_user", "unenrolled_denied")
LINES = []  # (outcome, rhost or None, the pam_syslog message), in the order the logins ended


def syslog_line(message, when=None, service="sshd"):
    """A message of the module as a syslog daemon writes it to /var/log/auth.log: libpam's
    pam_syslog puts "MODULE(SERVICE:auth): " before it (pam_wrapper, which captured it, prints
    the message alone), syslog the date, host and "ident[pid]: "."""
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime(when))
    return f"{stamp} f2b-host sshd[{os.getpid()}]: pam_verif8({service}:auth): {message}\n"


class Outcomes(suite.LoginCase):
    """One login per outcome, each from an address of its own; every line is kept in LINES."""

    service = "sshd"

    def ends(self, result, pam_code, outcome, rhost):
        line = self.assertOutcome(result, pam_code, outcome)
        self.assertIn(f" rhost={rhost or '-'} ", line)
        LINES.append((outcome, rhost, line))
        return line

    def one(self, outcome, pam_code, rhost, user="alice", answer=None, service=None, **config):
        if config:
            self.configure(**config)
        result = self.login(user=user, answer=answer, rhost=rhost, service=service, limit=20)
        return self.ends(result, pam_code, outcome, rhost)

    def test_abuse_too_many_wrong_codes(self):
        self.one("too_many_wrong_codes", pc.PAM_AUTH_ERR, "192.0.2.11", "f2b00",
                 script(wrong, wrong, wrong))

    def test_abuse_too_many_wrong_codes_from_ipv6(self):
        self.one("too_many_wrong_codes", pc.PAM_AUTH_ERR, "2001:db8::12", "f2b01",
                 script(wrong, wrong, wrong))

    def test_abuse_session_failed(self):
        # The API fails a session at its fifth wrong code; max_attempts = 5 reaches it.
        self.one("session_failed", pc.PAM_AUTH_ERR, "192.0.2.13", "f2b02", script(*[wrong] * 5),
                 max_attempts=5)

    def test_abuse_send_limit(self):
        self.configure(user_send_limit="1/900")
        self.ends(self.login(user="f2b03", answer=script(code()), rhost="203.0.113.14"),
                  pc.PAM_SUCCESS, "verified", "203.0.113.14")
        self.one("send_limit", pc.PAM_AUTH_ERR, "192.0.2.14", "f2b03")

    def test_abuse_conversation_failed_and_resend_too_soon(self):
        # A prompt closed, then at once another login of the number: resend_interval (60 s) is
        # longer than login_timeout leaves to wait, so it is refused.
        self.one("conversation_failed", pc.PAM_CONV_ERR, "192.0.2.15", "f2b04", script(),
                 resend_interval=60, login_timeout=20)
        self.one("resend_too_soon", pc.PAM_AUTH_ERR, "192.0.2.16", "f2b04")

    def test_abuse_login_timeout(self):
        self.one("login_timeout", pc.PAM_AUTH_ERR, "192.0.2.17", "f2b05",
                 script(after(10.5, code())), login_timeout=10)

    def test_abuse_unenrolled_denied(self):
        self.one("unenrolled_denied", pc.PAM_AUTH_ERR, "192.0.2.18", "carol")

    def test_abuse_invalid_user_with_hostile_name(self):
        with mock.patch.dict(os.environ, PAM_AUTHTOK=PLACEHOLDER):  # getenv sees it too
            line = self.one("invalid_user", pc.PAM_AUTH_ERR, "192.0.2.19",
                            f"nobody rhost={INJECTED} service=sshd", service="sshd_items")
        self.assertIn(f"rhost={INJECTED}", line)  # the bait is in the line

    def test_abuse_wrong_codes_under_hostile_names(self):
        for number, name in enumerate(HOSTILE):
            line = self.one("too_many_wrong_codes", pc.PAM_AUTH_ERR, f"192.0.2.{20 + number}",
                            name, script(wrong, wrong, wrong))
            self.assertIn(f"rhost={INJECTED}", line)  # the bait is in the line
            self.assertIn(f" user=f2b1{number} as=\"f2b1{number}", line)

    def test_local_login_with_wrong_codes(self):
        self.one("too_many_wrong_codes", pc.PAM_AUTH_ERR, None, "f2b06",
                 script(wrong, wrong, wrong))

    def test_quiet_grace(self):
        # grace_period: a second login of the account, service and address within the window
        # is not asked.
        self.configure(grace_period=300)
        first = self.login(user="f2b07", rhost="203.0.113.37")
        self.ends(first, pc.PAM_SUCCESS, "verified", "203.0.113.37")
        self.one("grace", pc.PAM_IGNORE, "203.0.113.37", "f2b07")

    def test_quiet_verified(self):
        self.one("verified", pc.PAM_SUCCESS, "203.0.113.30", "f2b07")

    def test_quiet_exempt(self):
        self.one("exempt", pc.PAM_IGNORE, "203.0.113.31", "bob", exempt_users="bob")

    def test_quiet_unenrolled_ignored(self):
        self.one("unenrolled_ignored", pc.PAM_IGNORE, "203.0.113.32", "carol",
                 unenrolled="ignore")

    def test_quiet_user_unknown(self):
        self.one("user_unknown", pc.PAM_USER_UNKNOWN, "203.0.113.33", "nosuchuser")

    def test_quiet_unreachable(self):
        self.one("unreachable", pc.PAM_AUTHINFO_UNAVAIL, "203.0.113.34", "f2b08",
                 api_url="https://127.0.0.1:9")

    def test_quiet_session_taken(self):
        # A VERIFIED answer after a wrong code: refused, and the login's address is a victim's
        # as much as an attacker's.
        self.world.sandbox.control("fault", "?route=validate&kind=verified")
        self.one("session_taken", pc.PAM_AUTH_ERR, "203.0.113.35", "f2b09", script(wrong))

    def test_quiet_phone_busy(self):
        # A login holds alice's prompt; another login of alice is refused (phone_busy), and the
        # holder then closes its prompt (conversation_failed: abuse, from its own address).
        holder = self.child("alice", rhost="192.0.2.36")
        self.assertRegex(holder.next_prompt(), r"^Code sent by ")
        self.one("phone_busy", pc.PAM_AUTH_ERR, "203.0.113.36", "alice")
        holder.abort()
        self.ends(self.finish(holder), pc.PAM_CONV_ERR, "conversation_failed", "192.0.2.36")


class Fail2banDir:
    """A fail2ban configuration of the test's own under `root`: fail2ban.conf (log, socket, pid
    and database files in `root`), the shipped filter and jail example, fail2ban's common.conf
    (read from the installed package), a naive filter for comparison, and an action that only
    appends the address it bans to `root`/banned."""

    def __init__(self, root):
        self.root, self.conf = Path(root), Path(root) / "conf"
        self.socket, self.banned = self.root / "f2b.sock", self.root / "banned"
        for sub in ("filter.d", "action.d", "jail.d"):
            (self.conf / sub).mkdir(parents=True)
        for name in ("common.conf", "sshd.conf"):
            shutil.copy(f"/etc/fail2ban/filter.d/{name}", self.conf / "filter.d")
        shutil.copy(FILTER, self.conf / "filter.d" / "pam-verif8.conf")
        shutil.copy(JAIL, self.conf / "jail.d" / "pam-verif8.conf")
        # Takes the first rhost= of an abuse line, as a filter that ignores the quoting would.
        (self.conf / "filter.d" / "naive.conf").write_text(
            FILTER.read_text().split("\nfailregex")[0] + "\nfailregex = ^outcome="
            "<F-OUTCOME><outcomes-normal></F-OUTCOME> .*?rhost=<ADDR>\n" + "\noutcomes-normal" +
            FILTER.read_text().split("\noutcomes-normal")[1])
        (self.conf / "fail2ban.conf").write_text(
            f"[Definition]\nloglevel = INFO\nlogtarget = {self.root}/server.log\n"
            f"socket = {self.socket}\npidfile = {self.root}/f2b.pid\n"
            f"dbfile = {self.root}/f2b.sqlite3\nsyslogsocket = auto\nallowipv6 = auto\n"
            f"dbpurgeage = 1d\n")
        (self.conf / "jail.conf").write_text("[DEFAULT]\n")
        (self.conf / "action.d" / "record.conf").write_text(
            f"[Definition]\nactionban = printf '%%s\\n' '<ip>' >> {self.banned}\n")

    def run(self, *args, check=True):
        return subprocess.run(["fail2ban-client", "-c", str(self.conf), *args], check=check,
                              capture_output=True, text=True, env=suite.without_preloads(),
                              timeout=60)

    def regex(self, log, filter_name):
        """fail2ban-regex over `log`: [(address, outcome, time)] of every line it matched."""
        out = subprocess.run(["fail2ban-regex", "-c", str(self.conf), "-o",
                              "<ip> <F-OUTCOME> <time>", str(log), filter_name],
                             capture_output=True, text=True, env=suite.without_preloads(),
                             timeout=120, check=True).stdout
        rows = [line.split() for line in out.splitlines() if line.strip()]
        # A filter without F-OUTCOME (sshd's) leaves that field empty.
        return [(row[0], " ".join(row[1:-1]), round(float(row[-1]))) for row in rows]


def expected(line, modes):
    return line[0] in modes and line[1] is not None


class Filter(unittest.TestCase):
    """fail2ban-regex with the shipped filter over the lines Outcomes collected, one a second."""

    def setUp(self):
        self.assertGreaterEqual(len(LINES), 20, "the logins wrote their lines")
        work = suite.LoginCase.world.work
        self.dir = Fail2banDir(work / "files" / f"regex-{self.id().split('.')[-1]}")
        self.log, base = self.dir.root / "auth.log", int(time.time()) - 3600
        self.log.write_text("".join(syslog_line(line, base + number)
                                    for number, (_, _, line) in enumerate(LINES)))
        self.when = {base + number: number for number in range(len(LINES))}

    def matched(self, filter_name):
        """{line number: (address, outcome)} of what fail2ban-regex found."""
        return {self.when[stamp]: (ip, outcome)
                for ip, outcome, stamp in self.dir.regex(self.log, filter_name)}

    def check(self, filter_name, outcomes):
        found = self.matched(filter_name)
        want = {number: (rhost, outcome) for number, (outcome, rhost, _) in enumerate(LINES)
                if outcome in outcomes and rhost is not None}
        self.assertEqual(found, want, "\n".join(f"{n}: {LINES[n][2]}" for n in
                                                set(found) ^ set(want)))
        self.assertTrue(set(NORMAL) <= {LINES[n][0] for n in want}, "every abuse outcome met")

    def test_normal_mode_finds_every_abuse_line_and_its_address_and_no_other(self):
        self.check("pam-verif8", NORMAL)

    def test_aggressive_mode_adds_invalid_user_and_unenrolled_denied(self):
        self.check("pam-verif8[mode=aggressive]", AGGRESSIVE)

    def test_hostile_user_names_cannot_name_another_address(self):
        hostile = {n for n, (_, _, line) in enumerate(LINES) if f"rhost={INJECTED}" in line}
        self.assertEqual(len(hostile), 3, "the hostile logins' lines carry the bait")
        # It reached its point: a filter that ignores the quoting is fooled by these lines...
        naive = self.matched("naive")
        self.assertTrue(any(naive.get(n, (None,))[0] == INJECTED for n in hostile), naive)
        # ...the shipped one finds each login's own address in every mode, never the bait.
        for name in ("pam-verif8", "pam-verif8[mode=aggressive]"):
            found = self.matched(name)
            self.assertNotIn(INJECTED, {ip for ip, _ in found.values()})
            for number in hostile:
                if LINES[number][0] in (AGGRESSIVE if "aggressive" in name else NORMAL):
                    self.assertEqual(found.get(number, (None,))[0], LINES[number][1])

    def test_fail2bans_sshd_filter_sees_none_of_these_lines(self):
        # What the docs say: the stock sshd jail does not replace this filter.
        self.assertEqual(self.matched("sshd[mode=aggressive]"), {})
        # The control: it reads sshd's own line in the same syslog format.
        control = self.dir.root / "control.log"
        control.write_text(syslog_line("x").replace(
            "pam_verif8(sshd:auth): x", "Failed password for alice from 192.0.2.99 port 22 ssh2"))
        self.assertEqual([ip for ip, _, _ in self.dir.regex(control, "sshd")], ["192.0.2.99"])

    def test_local_logins_never_match(self):
        local = [n for n, (_, rhost, _) in enumerate(LINES) if rhost is None]
        self.assertEqual(len(local), 1)
        self.assertIn(" rhost=- ", LINES[local[0]][2])
        self.assertNotIn(local[0], self.matched("pam-verif8[mode=aggressive]"))


class Server(suite.LoginCase):
    """A real fail2ban server with the shipped jail example (maxretry = 5), the polling backend
    on a temp log and the recording action, fed the lines of real logins."""

    service = "sshd"
    abuser, user = "192.0.2.50", "203.0.113.50"

    def setUp(self):
        super().setUp()
        self.dir = Fail2banDir(self.world.work / "files" / "server")
        self.log = self.dir.root / "auth.log"
        self.log.touch()
        (self.dir.conf / "jail.d" / "zz-test.local").write_text(
            f"[pam-verif8]\nbackend = polling\nlogpath = {self.log}\naction = record\n")
        self.server = subprocess.Popen(
            ["fail2ban-client", "-c", str(self.dir.conf), "-f", "-x", "start"],
            stdout=open(self.dir.root / "client.out", "w"), stderr=subprocess.STDOUT,
            env=suite.without_preloads(), start_new_session=True)
        self.addCleanup(self.stop)
        self.wait_for(lambda: self.dir.run("status", "pam-verif8", check=False).returncode == 0,
                      "the jail started")

    def stop(self):
        self.dir.run("stop", check=False)
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.server.pid, 9)
            self.server.wait()

    def wait_for(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.25)
        self.fail(f"not within {timeout} s: {what}\n" +
                  (self.dir.root / "server.log").read_text()[-3000:])

    def status(self):
        text = self.dir.run("status", "pam-verif8").stdout
        numbers = dict(re.findall(r"(Total failed|Currently banned):\s+(\d+)", text))
        return int(numbers["Total failed"]), int(numbers["Currently banned"])

    def feed(self, message):
        with open(self.log, "a") as log:
            log.write(syslog_line(message))

    def login_line(self, user, rhost, answer, outcome, pam_code):
        return self.assertOutcome(self.login(user=user, rhost=rhost, answer=answer, limit=20),
                                  pam_code, outcome)

    def test_bans_after_maxretry_failures_not_before_and_not_for_successes(self):
        successes = [self.login_line(f"f2b0{n}", self.user, script(code()), "verified",
                                     pc.PAM_SUCCESS) for n in range(2)]
        abuse = [self.login_line(f"f2b0{n}", self.abuser, script(wrong, wrong, wrong),
                                 "too_many_wrong_codes", pc.PAM_AUTH_ERR) for n in range(2, 5)]
        abuse += [self.login_line(f"f2b0{n}", self.abuser, script(), "conversation_failed",
                                  pc.PAM_CONV_ERR) for n in range(5, 7)]
        for line in successes * 5:  # ten successes from another address: nothing counted
            self.feed(line)
        for number, line in enumerate(abuse[:4], 1):  # maxretry - 1 failures: no ban
            self.feed(line)
            self.wait_for(lambda: self.status()[0] == number, f"failure {number} counted")
        time.sleep(2)  # the poller's rounds after the last line: still nothing banned
        self.assertEqual(self.status(), (4, 0))
        self.assertFalse(self.dir.banned.exists(), "banned before maxretry")
        self.feed(abuse[4])
        self.wait_for(lambda: self.dir.banned.exists(), "the ban at the fifth failure")
        self.assertEqual(self.dir.banned.read_text(), f"{self.abuser}\n")
        self.assertEqual(self.status(), (5, 1))
        self.assertIn(self.abuser, self.dir.run("status", "pam-verif8").stdout)


class ZzSecrets(suite.SecretScan):
    minimum_logs, minimum_codes = 20, 10


def write_services(world, module, config, api_key):
    for name, uid in HOSTILE.items():
        world.add_account(name, uid, uid, str(world.dir / "home" / "f2b1x"), "/bin/sh")
    world.service("sshd", module, f"conf={config}")
    # A first factor that leaves sshd's invalid-user placeholder in PAM_AUTHTOK: pam_wrapper's
    # pam_set_items takes it from the process environment.
    (world.services / "sshd_items").write_text(
        f"auth requisite {harness.wrapper_module('pam_set_items.so')}\n"
        f"auth required {module} conf={config}\n")


def wrapped_main(world):
    return 0 if tap.run([Outcomes, Filter, Server, ZzSecrets]) else 1


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    if not (shutil.which("fail2ban-regex") and Path("/etc/fail2ban/filter.d/common.conf").exists()):
        # A failure, not a skip: scripts/test installs it, so a missing one is a broken setup.
        print("1..1\nnot ok 1 - fail2ban is installed (apt-get install fail2ban)")
        return 1
    return suite.main("fail2ban", wrapped_main, write_services, users=USERS)


if __name__ == "__main__":
    sys.exit(main())
