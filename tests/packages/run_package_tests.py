#!/usr/bin/python3
"""The packages: what the .deb and the .rpm that scripts/package built contain (paths, modes,
conffiles, the pam-auth-update profile, maintainer scripts, lintian), and the .deb installed,
used and purged in throw-away Debian roots made with debootstrap. Prints TAP.

usage: run_package_tests.py [--packages DIR] [--work DIR]
  --packages  where scripts/package left the artifacts (default: build/packages)
  --work      where the Debian root and its cache go (default: build/package-tests)

The install test needs root and the Debian mirror of the machine's apt sources (read when it runs,
never written down here); without either it reports SKIP with the reason. The bootstrapped root is
cached as a tarball keyed by date, so later runs the same day skip debootstrap. Nothing here
touches the machine's own /etc: everything happens under the work directory, and /proc and /dev
are mounted into the root only for the duration of each command, then unmounted."""

import argparse
import contextlib
import fnmatch
import functools
import glob
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import time
import unittest
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import e2e_support as e2e  # noqa: E402  (paramiko: the ssh client of the sshd steps)
import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from debian_root import (RELEASES, DebianRoot, bootstrapped_tarball, debian_mirror,  # noqa: E402
                         host_release, kill_processes_in, log, remove_root, run, unmount_all,
                         unpacked_root)
from pty_session import PtySession  # noqa: E402

# The releases the .deb is installed in (debian_root.RELEASES are the supported ones).
INSTALL_RELEASES = ["bookworm", "trixie"]
# In every bootstrapped root: pamtester for a login through libpam, openssh-server for Debian's
# own sshd with its stock sshd_config.
BOOTSTRAP_PACKAGES = ["pamtester", "openssh-server"]
CONF = "/etc/security/pam_verif8.conf"
# The fail2ban filter: a conffile too, byte for byte the source's.
FILTER = "/etc/fail2ban/filter.d/pam-verif8.conf"
FILTER_SOURCE = ROOT / "conf" / "fail2ban" / "pam-verif8.conf"
USERS = "/etc/security/pam_verif8.users"
PROFILE = "/usr/share/pam-configs/verif8"
EXAMPLES = "/usr/share/doc/libpam-verif8/examples"
SSHD_SNIPPETS = "/etc/ssh/sshd_config.d"
STATE_DIR = "/var/lib/pam_verif8"
PASSWORD = "correct horse"
PACKAGES = WORK = None


def parse_profile(text):
    """A pam-auth-update profile: `Field: value` lines, indented lines continue the field."""
    fields, name = {}, None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name:
            fields[name].append(line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            fields[name] = [value.strip()] if value.strip() else []
    return {key: "\n".join(" ".join(part.split()) for part in value)
            for key, value in fields.items()}


def pam_module_dir(listing):
    """Where libpam-modules keeps pam_unix.so, from its `dpkg -L` listing: the module's place."""
    return next(os.path.dirname(p) for p in listing.split() if p.endswith("/pam_unix.so"))


def find_one(pattern):
    found = [p for p in sorted(glob.glob(str(PACKAGES / pattern)))
             if "dbgsym" not in p and "debuginfo" not in p]
    if len(found) != 1:
        raise AssertionError(f"expected one {pattern} in {PACKAGES}, found {found}: "
                             "run scripts/package first")
    return Path(found[0])


@contextlib.contextmanager
def ssh_client(port):
    client = e2e.Client(port)
    try:
        yield client
    finally:
        client.close()


class BuiltPackage(unittest.TestCase):
    """The package of PATTERN that scripts/package built (without it every test fails), read
    into files = {path: (mode as ls shows it, owner, group)}."""

    PATTERN = None

    @classmethod
    def setUpClass(cls):
        try:
            cls.package, cls.missing = find_one(cls.PATTERN), None
        except AssertionError as error:
            cls.package, cls.missing = None, str(error)
            return
        cls.read_package()

    def setUp(self):
        if self.package is None:
            self.fail(self.missing)

    def test_files_modes_and_owners(self):
        """Each row of expected_files(): one path matches the pattern, a root:root file of that
        mode (None: any). Every man page of man/ is there. The users file is the admin's: only
        its example is shipped."""
        pages = [f"/usr/share/man/man{p.suffix[1:]}/{p.name}{self.MAN_SUFFIX}"
                 for p in sorted((ROOT / "man").glob("*.[1-8]"))]
        self.assertTrue(pages, "man/ has no pages")
        for pattern, mode in self.expected_files() + [(page, None) for page in pages]:
            found = fnmatch.filter(self.files, pattern)
            self.assertEqual(len(found), 1, f"{pattern} in {self.package.name}: {found}")
            mode = mode or self.files[found[0]][0]
            self.assertEqual(self.files[found[0]], (mode, "root", "root"), found[0])
        self.assertNotIn(USERS, self.files)


class DebPackage(BuiltPackage):
    PATTERN = "libpam-verif8_*.deb"
    MAN_SUFFIX = ".gz"

    @classmethod
    def read_package(cls):
        data = run(["dpkg-deb", "--fsys-tarfile", str(cls.package)], text=False,
                   check=True).stdout
        cls.tar = tarfile.open(fileobj=io.BytesIO(data))

        def kind(m):  # TarInfo.mode has no file type bits
            return "d" if m.isdir() else "l" if m.issym() else "-" if m.isfile() else "?"
        cls.files = {m.name.lstrip(".").rstrip("/") or "/":
                     (kind(m) + stat.filemode(m.mode)[1:], m.uname, m.gname) for m in cls.tar}

    def expected_files(self):
        directory = pam_module_dir(run(["dpkg", "-L", "libpam-modules"], check=True).stdout)
        return [(f"{directory}/pam_verif8.so", "-rw-r--r--"),
                ("/usr/sbin/verif8ctl", "-rwxr-xr-x"), (CONF, "-rw-------"),
                (f"{EXAMPLES}/pam_verif8.users", None),
                (f"{EXAMPLES}/pam.d/sshd-password-and-code", None),
                (f"{EXAMPLES}/sshd_config.d/key-and-code.conf", None),
                (FILTER, "-rw-r--r--"), (f"{EXAMPLES}/jail.d/pam-verif8.conf", None)]

    def content(self, path):
        return self.tar.extractfile("." + path).read().decode()

    def control(self, name):
        return run(["dpkg-deb", "-I", str(self.package), name], check=True).stdout

    def test_conffiles_are_the_config_and_the_fail2ban_filter_and_set_nothing(self):
        self.assertEqual(sorted(self.control("conffiles").split()), sorted([CONF, FILTER]))
        self.assertEqual(self.content(FILTER), FILTER_SOURCE.read_text())
        # The commented example: every key commented out, so installing sets nothing.
        self.assertEqual([line for line in self.content(CONF).splitlines()
                          if line.strip() and not line.lstrip().startswith("#")], [])
        self.assertIn("#api_key =", self.content(CONF))

    def test_profile_is_off_by_default_and_runs_after_the_password(self):
        profile = parse_profile(self.content(PROFILE))
        unix = Path("/usr/share/pam-configs/unix")  # else libpam-runtime's pam_unix priority
        unix = int(parse_profile(unix.read_text())["Priority"]) if unix.exists() else 256
        self.assertLess(int(profile["Priority"]), unix)
        # common-auth also serves screen lockers, which run as the desktop user: for them (their
        # own account only) the module steps aside instead of locking the session for good.
        self.assertIn("screen lockers", profile.pop("Name"))
        self.assertEqual(profile, {"Default": "no", "Priority": profile["Priority"],
                                   "Auth-Type": "Additional",
                                   "Auth": "required pam_verif8.so nonroot=ignore"})

    def test_maintainer_scripts_call_pam_auth_update(self):
        self.assertRegex(self.control("postinst"), r"\n\s*pam-auth-update --package\n")
        self.assertRegex(self.control("prerm"), r'if \[ "\$1" = remove \]; then\n\s*'
                                                r'pam-auth-update --package --remove verif8\n')
        self.assertIn(f"rm -rf {STATE_DIR}", self.control("postrm"))

    def test_depends(self):
        fields = [d.strip() for d in run(["dpkg-deb", "-f", str(self.package), "Depends"],
                                         check=True).stdout.split(",")]
        names = {d.split()[0] for d in fields}
        self.assertTrue({"libpam-runtime", "libpam0g", "libc6", "ca-certificates"} <= names,
                        names)
        # libcurl is opened with dlopen, so the dependency is declared by hand: on the package
        # that ships this machine's libcurl.so.4 (libcurl4, or libcurl4t64 on Debian 13), at the
        # oldest version the module supports.
        library = os.path.realpath(run(["pkg-config", "--variable=libdir", "libcurl"],
                                       check=True).stdout.strip() + "/libcurl.so.4")
        owner = run(["dpkg-query", "-S", library], check=True).stdout.split(":")[0]
        self.assertIn(f"{owner} (>= 7.74.0)", fields)

    def test_lintian_reports_no_error_and_no_warning(self):
        result = run(["lintian", "--display-info", "--fail-on", "error,warning",
                      str(self.package)])
        tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
        self.assertEqual((result.returncode, tags), (0, []), result.stdout + result.stderr)
        for line in result.stdout.splitlines():
            log(f"lintian: {line}")


class RpmPackage(BuiltPackage):
    PATTERN = "pam_verif8-*.rpm"
    MAN_SUFFIX = "*"

    @classmethod
    def read_package(cls):
        cls.libdir = run(["rpm", "--eval", "%{_libdir}"], check=True).stdout.strip()
        cls.files = {}
        for line in run(["rpm", "-qlvp", str(cls.package)], check=True).stdout.splitlines():
            fields = line.split()
            cls.files[line.split(" -> ")[0].split()[-1]] = (fields[0], fields[2], fields[3])

    def expected_files(self):
        return [(f"{self.libdir}/security/pam_verif8.so", None),
                ("/usr/sbin/verif8ctl", "-rwxr-xr-x"), (CONF, "-rw-------"),
                ("*/doc/*/pam_verif8.users", None), (FILTER, "-rw-r--r--"),
                ("*/doc/*/jail.d/pam-verif8.conf", None)]

    def query(self, *args):
        return run(["rpm", "-qp", *args, str(self.package)], check=True).stdout

    def test_config_and_fail2ban_filter_are_noreplace_and_pam_required(self):
        self.assertEqual(sorted(self.query("--configfiles").split()), sorted([CONF, FILTER]))
        flags = dict(line.split("\t") for line in self.query(
            "--qf", "[%{FILENAMES}\t%{FILEFLAGS:fflags}\n]").splitlines())
        for path in (CONF, FILTER):
            self.assertTrue({"c", "n"} <= set(flags[path]), (path, flags[path]))
        self.assertIn("pam", self.query("--requires").split())


def install_suites():
    """The releases the .deb is installed in: the machine's own, where it was built (a package
    built on Debian 13 needs 13's libc), and each later supported one."""
    host = host_release()
    return [suite for suite in RELEASES[RELEASES.index(host):] if suite in INSTALL_RELEASES] \
        if host in RELEASES else []


def install_test_skip_reason(suite):
    if os.geteuid() != 0:
        return "needs root (debootstrap, chroot, mount)"
    for tool in ("debootstrap", "chroot", "mount", "unshare"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    mirror = debian_mirror()
    if not mirror:
        return f"the machine's apt sources name no Debian mirror for {host_release()}"
    try:
        with urllib.request.urlopen(f"{mirror}/dists/{suite}/InRelease", timeout=20):
            return None
    except OSError as error:
        return f"the Debian mirror of the apt sources cannot be reached: {error}"


def step(number, *needs):
    """An install-test step: fails at once, without running, when a step it needs failed (and
    then the steps that need this one fail too)."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self):
            missing = sorted(type(self).failed_steps & set(needs))
            try:
                if missing:
                    self.fail(f"not run: step {', '.join(missing)} failed")
                method(self)
            except unittest.SkipTest:
                raise
            except BaseException:
                type(self).failed_steps.add(number)
                raise
        return wrapper
    return decorate


def right(code):
    """Answers for InstalledDeb.terminal(): the code last sent, or a wrong one."""
    return code


def wrong(code):
    return ("1" if code == "0" * len(code) else "0") * len(code)


class InstalledDeb(unittest.TestCase):
    """One Debian root of SUITE for the whole class; the tests run in the order of their
    numbers, each step after the ones it needs. Debian's own sshd runs in the root with its
    stock sshd_config until a step changes it as the documentation says."""

    SUITE = skip_reason = root = sandbox = None
    failed_steps = set()

    @classmethod
    def setUpClass(cls):
        cls.failed_steps, cls.skip_reason = set(), install_test_skip_reason(cls.SUITE)

    @classmethod
    def tearDownClass(cls):
        if cls.sandbox:
            cls.sandbox.stop()
            cls.sandbox = None
        if cls.root:
            remove_root(cls.root.path)

    def setUp(self):
        if self.skip_reason:
            self.skipTest(self.skip_reason)

    def common_auth(self):
        return self.root.read("/etc/pam.d/common-auth")

    def reset(self):
        """A sandbox that forgot every session, and a module table that agrees with it."""
        self.sandbox.control("reset")
        harness.forget_sessions(self.root / STATE_DIR)

    def use_sshd_setup(self, name=None):
        """The shipped sshd_config snippet `name`, put where the documentation says (with no
        name: Debian's stock settings again)."""
        for old in (self.root / SSHD_SNIPPETS).glob("*.conf"):
            old.unlink()
        if name:
            shutil.copyfile(self.root / f"{EXAMPLES}/sshd_config.d/{name}",
                            self.root.writable(f"{SSHD_SNIPPETS}/pam_verif8.conf"))

    def terminal(self, *command, answers=()):
        """`command` in the root on a terminal, answering each (prompt, text) in turn; a text
        may be a function of the code last sent. (exit status, screen, deliveries sent)."""
        self.reset()
        sent_before = len(self.sandbox.deliveries())
        with self.root.mounted():
            session = PtySession(["chroot", str(self.root.path), *command], env=DebianRoot.ENV)
            try:
                for prompt, text in answers:
                    session.expect(prompt)
                    session.type(text(self.sandbox.deliveries()[-1]["code"]) if callable(text)
                                 else text)
                status = session.finish(timeout=120)
            finally:
                session.close()
        return status, session.text(), self.sandbox.deliveries()[sent_before:]

    @step("01")
    def test_01_apt_installs_the_deb(self):
        cls = type(self)
        deb = find_one(DebPackage.PATTERN)
        tarball = bootstrapped_tarball(WORK / "cache", debian_mirror(), self.SUITE,
                                       BOOTSTRAP_PACKAGES)
        started = time.monotonic()
        cls.root = unpacked_root(tarball, WORK / f"root-{self.SUITE}")
        # The root's own files: name resolution for its apt, no service may start in it, and
        # the privilege-separation directory that sshd (and sshd -T in doctor) wants.
        shutil.copyfile("/etc/resolv.conf", self.root.writable("/etc/resolv.conf"))
        self.root.writable("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        policy = self.root.writable("/usr/sbin/policy-rc.d")
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        shutil.copyfile(deb, self.root.writable(f"/tmp/{deb.name}"))
        log(f"{self.SUITE} root unpacked in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        install = ["apt-get", "install", "-y", "--no-install-recommends", f"/tmp/{deb.name}"]
        if self.root.run(*install, check=False).returncode != 0:
            # Lists from the cache may be stale for a mirror that moved on: refresh, then retry.
            self.root.run("apt-get", "update", "-qq")
            self.root.run(*install)
        log(f"apt-get install in {self.SUITE}: {time.monotonic() - started:.1f} s")
        self.assertEqual(self.root.run("dpkg-query", "-W", "-f", "${Status} ${Version}",
                                       "libpam-verif8").stdout, "install ok installed 0.1.0-1")

    @step("02", "01")
    def test_02_files_and_modes_and_nothing_turned_on(self):
        module_dir = pam_module_dir(self.root.run("dpkg", "-L", "libpam-modules").stdout)
        self.assertTrue((self.root / f"{module_dir}/pam_verif8.so").is_file())
        self.assertEqual(stat.S_IMODE(os.stat(self.root / "/usr/sbin/verif8ctl").st_mode), 0o755)
        conf = os.lstat(self.root / CONF)
        self.assertTrue(stat.S_ISREG(conf.st_mode))
        self.assertEqual((stat.S_IMODE(conf.st_mode), conf.st_uid, conf.st_gid), (0o600, 0, 0))
        conffiles = self.root.run("dpkg-query", "-W", "-f", "${Conffiles}",
                                  "libpam-verif8").stdout.split()
        self.assertEqual(sorted(conffiles[::2]), sorted([CONF, FILTER]))  # path, md5sum, ...
        self.assertEqual(self.root.read(FILTER), FILTER_SOURCE.read_text())
        self.assertFalse((self.root / USERS).exists(), "installing must not create the users file")
        self.assertEqual(parse_profile(self.root.read(PROFILE))["Default"], "no")
        self.assertNotIn("pam_verif8", self.common_auth())
        # verif8 is known to pam-auth-update, and off.
        self.assertIn("verif8", self.root.read("/var/lib/pam/seen"))

    @step("03", "01")
    def test_03_verif8ctl_accepts_a_config_for_the_sandbox(self):
        cls = type(self)
        (WORK / "sandbox").mkdir(exist_ok=True)
        cls.sandbox = harness.Sandbox(WORK / "sandbox", stdout=open(WORK / "sandbox.out", "w"))
        cls.sandbox.start()
        (self.root / "/root/verif8-test").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sandbox.ca_file, self.root.writable("/root/verif8-test/ca.pem"))
        # alice logs in a dozen times here, more than the default user_send_limit and
        # phone_send_limit allow.
        harness.write_secure(self.root.writable(CONF), harness.config_text(
            self.sandbox, USERS, state_dir=STATE_DIR, ca_file="/root/verif8-test/ca.pem",
            user_send_limit="50/900", phone_send_limit="50/3600"))
        harness.write_secure(self.root.writable(USERS), "alice +6591234567 sms\n", mode=0o644)
        self.root.run("useradd", "--create-home", "alice")
        self.root.run("chpasswd", input=f"alice:{PASSWORD}\n")
        # A service of the root's own that is just Debian's common stacks, as login would use.
        self.root.writable("/etc/pam.d/verif8-test").write_text(
            "@include common-auth\n@include common-account\n")
        result = self.root.run("verif8ctl", "check-config", check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        # Without ca_file or ca_path: Debian's hashed directory, pinned by debian/rules whatever
        # the build machine had.
        harness.write_secure(self.root.writable("/root/verif8-test/no-ca.conf"),
                             harness.config_text(self.sandbox, USERS, state_dir=STATE_DIR,
                                                 ca_file=None))
        result = self.root.run("verif8ctl", "--conf", "/root/verif8-test/no-ca.conf",
                               "check-config", check=False)
        self.assertIn("  CA               /etc/ssl/certs (built-in default)\n", result.stdout)

    @step("04", "01", "03")
    def test_04_enable_refuses_debians_stock_sshd_and_changes_nothing(self):
        before, requests_before = self.common_auth(), len(self.sandbox.requests())
        self.assertFalse(list((self.root / SSHD_SNIPPETS).glob("*.conf")),
                         "the stock root has sshd_config snippets")
        result = self.root.run("verif8ctl", "enable", "--service", "sshd", "--user", "alice",
                               check=False)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        # It got as far as sshd's own settings, read from sshd -T in the root.
        self.assertIn("OK: the module would accept this setup", result.stdout)
        for text in ("sshd: PROBLEM: KbdInteractiveAuthentication is no",
                     "sshd: PROBLEM: PasswordAuthentication is yes",
                     "    AuthenticationMethods keyboard-interactive",
                     "refused; nothing was changed"):
            self.assertIn(text, result.stderr)
        self.assertEqual(self.common_auth(), before)
        self.assertEqual(self.sandbox.requests()[requests_before:], [],
                         "no code may be sent before the checks")

    @step("05", "01", "03", "04")
    def test_05_enable_after_the_documented_sshd_change_tries_a_code_then_enables(self):
        self.use_sshd_setup("password-and-code.conf")
        status, text, sent = self.terminal("verif8ctl", "enable", "--service", "sshd", "--user",
                                           "alice", answers=[("Verification code: ", right)])
        self.assertEqual(status, 0, text)
        for line in ("sshd: PAM through keyboard-interactive, no password method: ready",
                     "result: verified", "Keep this root shell open"):
            self.assertIn(line, text)
        self.assertEqual(len(sent), 1)
        # "auth CONTROL MODULE [ARGS]", CONTROL possibly "[success=1 default=ignore]".
        stack = [(match[1], match[2]) for line in self.common_auth().splitlines()
                 if (match := re.match(r"auth\s+(\[[^]]*\]|\S+)\s+(\S+)", line))]
        modules = [module for _, module in stack]
        self.assertIn(("required", "pam_verif8.so"), stack, self.common_auth())
        # After the password, and after the requisite pam_deny.so that ends a failed one.
        self.assertLess(modules.index("pam_unix.so"), modules.index("pam_verif8.so"))
        self.assertLess(modules.index("pam_deny.so"), modules.index("pam_verif8.so"))
        self.assertEqual(stack[modules.index("pam_deny.so")][0], "requisite")

    @step("06", "01", "03", "05")
    def test_06_pamtester_logins(self):
        """Each row: the answers, whether the login succeeds, texts shown and not shown, the
        (destination, channel) of the codes sent (None: not checked)."""
        code = [("Verification code: ", right)]
        for answers, ok, shown, hidden, sent in (
                # The right code logs in.
                ([("Password: ", PASSWORD)] + code, True,
                 ["Code sent by SMS to", "successfully authenticated"], [],
                 [("+6591234567", "sms")]),
                # Wrong codes fail.
                ([("Password: ", PASSWORD)] + [("Verification code: ", wrong)] * 3, False,
                 ["Wrong code"], ["successfully authenticated"], None),
                # A wrong password sends no code.
                ([("Password: ", "wrong password")], False, [], ["Verification code"], [])):
            status, text, deliveries = self.terminal(
                "pamtester", "-v", "verif8-test", "alice", "authenticate", answers=answers)
            self.assertEqual(status == 0, ok, text)
            for line in shown:
                self.assertIn(line, text)
            for line in hidden:
                self.assertNotIn(line, text)
            if sent is not None:
                self.assertEqual([(d["destination"], d["channel"]) for d in deliveries], sent)

    @contextlib.contextmanager
    def sshd(self):
        """The root's own sshd (its sshd_config, its /etc/pam.d/sshd) on a free loopback port."""
        port, log_file = e2e.free_port(), WORK / f"sshd-{self.SUITE}.log"
        with self.root.mounted():
            server = subprocess.Popen(
                ["chroot", str(self.root.path), "/usr/sbin/sshd", "-D", "-e", "-p", str(port),
                 "-o", "ListenAddress=127.0.0.1", "-o", "LogLevel=DEBUG1"],
                env=DebianRoot.ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(log_file, "a"), start_new_session=True)
            try:
                deadline = time.monotonic() + 20
                while True:
                    with contextlib.suppress(OSError), socket.create_connection(
                            ("127.0.0.1", port), timeout=1):
                        break
                    if server.poll() is not None or time.monotonic() > deadline:
                        self.fail(f"sshd in the {self.SUITE} root did not start: "
                                  + log_file.read_text()[-2000:])
                    time.sleep(0.1)
                yield port
            finally:
                kill_processes_in(self.root.path)
                server.wait(timeout=10)

    def sshd_login(self, wanted, key=None):
        """A password+code (or, with `key`, key+code) login over ssh: it gets in after the
        `wanted` prompts (one text each), and one code was sent."""
        self.reset()
        sent_before, prompts = len(self.sandbox.deliveries()), []

        def answer(_title, _instructions, prompt_list):
            prompts.extend(text for text, _echo in prompt_list)
            return [PASSWORD if "Password" in text else self.sandbox.deliveries()[-1]["code"]
                    for text, _echo in prompt_list]

        with self.sshd() as port, ssh_client(port) as client:
            if key is not None:
                self.assertFalse(client.publickey("alice", key), "a key alone logged in")
                self.assertEqual(client.remaining, ["keyboard-interactive"])
            ok = client.kbdint("alice", answer)
            if key is None:  # The "password" method is off, as the documented set-up says.
                with ssh_client(port) as other:
                    self.assertFalse(other.password("alice", PASSWORD))
        self.assertTrue(ok, prompts)
        self.assertEqual(len(prompts), len(wanted), prompts)
        for prompt, text in zip(prompts, wanted):
            self.assertIn(text, prompt)
        self.assertEqual(len(self.sandbox.deliveries()) - sent_before, 1)

    @step("07", "01", "03", "05")
    def test_07_sshd_password_then_code_logs_in(self):
        self.sshd_login(["Password", "Verification code"])

    @step("08", "01", "03", "05")
    def test_08_the_password_method_never_sends_the_password_to_the_api(self):
        """An admin who enabled the module without the sshd change (Debian's stock settings):
        the module still never passes the password on as a code."""
        self.use_sshd_setup()
        self.reset()
        requests_before = len(self.sandbox.requests())
        with self.sshd() as port, ssh_client(port) as client:
            self.assertFalse(client.password("alice", PASSWORD))
        new = self.sandbox.requests()[requests_before:]
        # It got to the code step: a code was sent, and the prompt was answered (by sshd, with
        # the password); no check was made, and no request carried the password.
        self.assertEqual([r["method"] for r in new], ["POST"], new)
        self.assertNotIn(PASSWORD, json.dumps(new))
        self.assertNotIn(PASSWORD.replace(" ", "%20"), json.dumps(new))

    @step("09", "01", "03", "05")
    def test_09_sshd_key_then_code_logs_in(self):
        self.use_sshd_setup("key-and-code.conf")
        shutil.copyfile(self.root / f"{EXAMPLES}/pam.d/sshd-key-and-code",
                        self.root.writable("/etc/pam.d/sshd"))
        key, _, public = e2e.ed25519_key()
        (self.root / "/home/alice/.ssh").mkdir(mode=0o700, exist_ok=True)
        self.root.writable("/home/alice/.ssh/authorized_keys").write_text(public + "\n")
        self.root.run("chown", "-R", "alice:alice", "/home/alice/.ssh")
        self.sshd_login(["Verification code"], key=key)

    @step("10", "01", "05")
    def test_10_disable_takes_it_out(self):
        result = self.root.run("verif8ctl", "disable", check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("pam_verif8", self.common_auth())

    @step("11", "01")
    def test_11_purge_leaves_only_what_the_admin_wrote(self):
        # The logins made state_dir; should they have failed, make it as the module would.
        (self.root / STATE_DIR).mkdir(mode=0o700, exist_ok=True)
        self.root.run("pam-auth-update", "--enable", "verif8")
        self.assertIn("pam_verif8", self.common_auth())
        self.root.run("apt-get", "purge", "-y", "libpam-verif8")
        self.assertIn(self.root.run("dpkg-query", "-W", "-f", "${Status}", "libpam-verif8",
                                    check=False).stdout, ("", "unknown ok not-installed"))
        for gone in (CONF, FILTER, PROFILE, STATE_DIR, "/usr/sbin/verif8ctl",
                     "/usr/share/doc/libpam-verif8"):
            self.assertFalse(os.path.lexists(self.root / gone), f"{gone} is left after purge")
        self.assertEqual(list((self.root / "/usr/lib").glob("*/security/pam_verif8.so")), [])
        self.assertNotIn("pam_verif8", self.common_auth())
        self.assertNotIn("verif8", self.root.read("/var/lib/pam/seen").split())
        # The users file is the administrator's, not the package's: policy keeps it.
        self.assertTrue((self.root / USERS).exists())


def main():
    global PACKAGES, WORK
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", default=str(ROOT / "build" / "packages"))
    parser.add_argument("--work", default=str(ROOT / "build" / "package-tests"))
    parser.add_argument("--bootstrap-only", action="store_true",
                        help="only make the cached root tarballs (scripts/test runs this while "
                             "it builds)")
    args = parser.parse_args()
    PACKAGES, WORK = Path(args.packages).resolve(), Path(args.work).resolve()
    suites = install_suites()
    if args.bootstrap_only:
        for suite in suites:
            if not install_test_skip_reason(suite):
                bootstrapped_tarball(WORK / "cache", debian_mirror(), suite, BOOTSTRAP_PACKAGES)
        return 0
    WORK.mkdir(parents=True, exist_ok=True)

    # A kill (meson's timeout, Ctrl-C) still goes through the finally blocks that unmount.
    def interrupted(number, _frame):
        raise KeyboardInterrupt(f"signal {number}")

    signal.signal(signal.SIGTERM, interrupted)
    installed = [type(f"InstalledDeb_{suite}", (InstalledDeb,), {"SUITE": suite})
                 for suite in suites]
    try:
        return 0 if tap.run([DebPackage, RpmPackage, *installed]) else 1
    finally:
        for cls in installed:
            if cls.sandbox:
                cls.sandbox.stop()
        unmount_all(WORK)
        if (WORK / "root").exists():
            # A command the signal cut short may still be finishing in the root: try twice;
            # whatever is left goes at the start of the next run.
            for _ in (1, 2):
                try:
                    remove_root(WORK / "root")
                    break
                except OSError as error:
                    log(f"removing {WORK / 'root'}: {error}")
                    time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
