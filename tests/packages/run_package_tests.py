#!/usr/bin/python3
"""The packages: what the .deb and the .rpm that scripts/package built contain (paths, modes,
conffiles, the pam-auth-update profile, maintainer scripts, lintian), and the .deb installed,
used and purged in a throw-away Debian 12 root made with debootstrap. Prints TAP.

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
import glob
import functools
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

import tap  # noqa: E402
import verif8_harness as harness  # noqa: E402
from pty_session import PtySession  # noqa: E402

from debian_root import (RELEASES, DebianRoot, bootstrapped_tarball, debian_mirror,  # noqa: E402
                         host_release, kill_processes_in, log, remove_root, run, unmount_all,
                         unpacked_root)

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
import e2e_support as e2e  # noqa: E402  (paramiko: the ssh client of the sshd steps)

# The releases the .deb is installed in (debian_root.RELEASES are the supported ones).
INSTALL_RELEASES = ["bookworm", "trixie"]
# In every bootstrapped root: pamtester for a login through libpam, openssh-server for Debian's
# own sshd with its stock sshd_config.
BOOTSTRAP_PACKAGES = ["pamtester", "openssh-server"]
CONF = "/etc/security/pam_verif8.conf"
USERS = "/etc/security/pam_verif8.users"
PROFILE = "/usr/share/pam-configs/verif8"
EXAMPLES = "/usr/share/doc/libpam-verif8/examples"
SSHD_SNIPPETS = "/etc/ssh/sshd_config.d"
STATE_DIR = "/var/lib/pam_verif8"
PASSWORD = "correct horse"
PACKAGES = None
WORK = None


def source_man_pages():
    return sorted(p.name for p in (ROOT / "man").glob("*.[1-8]"))


def parse_profile(text):
    """A pam-auth-update profile: `Field: value` lines, indented lines continue the field."""
    fields = {}
    name = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name:
            fields[name].append(line.strip())
        elif ":" in line:
            name, _, value = line.partition(":")
            fields[name] = [value.strip()] if value.strip() else []
    return {key: "\n".join(" ".join(part.split()) for part in value) for key, value in
            fields.items()}


def pam_module_dir(listing):
    """Where libpam-modules keeps pam_unix.so, from its `dpkg -L` listing: the module's place."""
    return next(os.path.dirname(p) for p in listing.split() if p.endswith("/pam_unix.so"))


def unix_profile_priority():
    path = Path("/usr/share/pam-configs/unix")
    if path.exists():
        return int(parse_profile(path.read_text())["Priority"])
    return 256  # libpam-runtime's pam_unix profile


def find_one(pattern):
    found = [p for p in sorted(glob.glob(str(PACKAGES / pattern))) if "dbgsym" not in p
             and "debuginfo" not in p]
    if len(found) != 1:
        raise AssertionError(f"expected one {pattern} in {PACKAGES}, found {found}: "
                             "run scripts/package first")
    return Path(found[0])


class BuiltPackage(unittest.TestCase):
    """The package of PATTERN that scripts/package built: without it every test fails."""

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

    def test_man_pages(self):
        pages = source_man_pages()
        if not pages:
            self.skipTest("man/ has no pages yet")
        for page in pages:
            self.assertManPage(f"/usr/share/man/man{page.rsplit('.', 1)[1]}/{page}")


# ---------------------------------------------------------------------------------------------
# The .deb as built


class DebPackage(BuiltPackage):
    PATTERN = "libpam-verif8_*.deb"

    @classmethod
    def read_package(cls):
        data = run(["dpkg-deb", "--fsys-tarfile", str(cls.package)], text=False,
                   check=True).stdout
        cls.tar = tarfile.open(fileobj=io.BytesIO(data))
        cls.members = {m.name.lstrip(".").rstrip("/") or "/": m for m in cls.tar.getmembers()}

    def member(self, path):
        self.assertIn(path, self.members, f"{path} is not in {self.package.name}")
        return self.members[path]

    def content(self, path):
        return self.tar.extractfile(self.member(path)).read().decode()

    def control(self, name):
        return run(["dpkg-deb", "-I", str(self.package), name], check=True).stdout

    def test_module_goes_beside_pam_unix(self):
        directory = pam_module_dir(run(["dpkg", "-L", "libpam-modules"], check=True).stdout)
        module = self.member(f"{directory}/pam_verif8.so")
        self.assertTrue(module.isfile())
        self.assertEqual(stat.S_IMODE(module.mode), 0o644)
        self.assertEqual((module.uname, module.gname), ("root", "root"))

    def test_verif8ctl_is_in_usr_sbin(self):
        tool = self.member("/usr/sbin/verif8ctl")
        self.assertEqual(stat.S_IMODE(tool.mode), 0o755)
        self.assertEqual((tool.uname, tool.gname), ("root", "root"))

    def test_config_is_the_only_conffile_and_root_only(self):
        self.assertEqual(self.control("conffiles").split(), [CONF])
        conf = self.member(CONF)
        self.assertEqual(stat.S_IMODE(conf.mode), 0o600)
        self.assertEqual((conf.uname, conf.gname), ("root", "root"))
        # The commented example: every key commented out, so installing sets nothing.
        settings = [line for line in self.content(CONF).splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
        self.assertEqual(settings, [])
        self.assertIn("#api_key =", self.content(CONF))

    def test_users_file_is_an_example_only(self):
        self.assertNotIn(USERS, self.members)
        self.member("/usr/share/doc/libpam-verif8/examples/pam_verif8.users")
        self.member("/usr/share/doc/libpam-verif8/examples/pam.d/sshd-password-and-code")
        self.member("/usr/share/doc/libpam-verif8/examples/sshd_config.d/key-and-code.conf")

    def test_profile_is_off_by_default_and_runs_after_the_password(self):
        profile = parse_profile(self.content(PROFILE))
        self.assertTrue(profile.get("Name"))
        self.assertEqual(profile.get("Default"), "no")
        self.assertLess(int(profile["Priority"]), unix_profile_priority())
        self.assertEqual(profile.get("Auth-Type"), "Additional")
        # common-auth also serves screen lockers, which run as the desktop user: for them (their
        # own account only) the module steps aside instead of locking the session for good.
        self.assertEqual(profile.get("Auth"), "required pam_verif8.so nonroot=ignore")
        self.assertIn("screen lockers", profile.get("Name"))
        self.assertEqual(set(profile) - {"Name", "Default", "Priority", "Auth-Type", "Auth"},
                         set())

    def test_maintainer_scripts_call_pam_auth_update(self):
        self.assertRegex(self.control("postinst"), r"\n\s*pam-auth-update --package\n")
        self.assertRegex(self.control("prerm"),
                         r'if \[ "\$1" = remove \]; then\n\s*pam-auth-update --package '
                         r'--remove verif8\n')
        self.assertIn(f"rm -rf {STATE_DIR}", self.control("postrm"))

    def test_depends(self):
        depends = run(["dpkg-deb", "-f", str(self.package), "Depends"], check=True).stdout
        fields = [d.strip() for d in depends.split(",")]
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

    def assertManPage(self, path):
        self.member(f"{path}.gz")

    def test_lintian_reports_no_error_and_no_warning(self):
        result = run(["lintian", "--display-info", "--fail-on", "error,warning",
                      str(self.package)])
        tags = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
        self.assertEqual((result.returncode, tags), (0, []), result.stdout + result.stderr)
        for line in result.stdout.splitlines():
            log(f"lintian: {line}")


# ---------------------------------------------------------------------------------------------
# The .rpm as built


class RpmPackage(BuiltPackage):
    PATTERN = "pam_verif8-*.rpm"

    @classmethod
    def read_package(cls):
        cls.libdir = run(["rpm", "--eval", "%{_libdir}"], check=True).stdout.strip()
        cls.files = {}
        for line in run(["rpm", "-qlvp", str(cls.package)], check=True).stdout.splitlines():
            fields = line.split()
            cls.files[line.split(" -> ")[0].split()[-1]] = (fields[0], fields[2], fields[3])

    def query(self, *args):
        return run(["rpm", "-qp", *args, str(self.package)], check=True).stdout

    def test_config_is_noreplace_and_root_only(self):
        self.assertEqual(self.query("--configfiles").split(), [CONF])
        self.assertEqual(self.files[CONF], ("-rw-------", "root", "root"))
        flags = dict(line.split("\t") for line in self.query(
            "--qf", "[%{FILENAMES}\t%{FILEFLAGS:fflags}\n]").splitlines())
        self.assertIn("c", flags[CONF])
        self.assertIn("n", flags[CONF])

    def test_module_is_in_libdir_security(self):
        self.assertEqual(self.files[f"{self.libdir}/security/pam_verif8.so"][1:],
                         ("root", "root"))

    def test_verif8ctl_is_in_sbindir(self):
        self.assertEqual(self.files["/usr/sbin/verif8ctl"], ("-rwxr-xr-x", "root", "root"))

    def test_no_users_file_is_installed(self):
        self.assertNotIn(USERS, self.files)
        self.assertTrue(any(p.endswith("/pam_verif8.users") and "/doc/" in p for p in self.files))

    def test_requires_pam(self):
        self.assertIn("pam", self.query("--requires").split())

    def assertManPage(self, path):
        self.assertTrue(any(p.startswith(path) for p in self.files), path)


# ---------------------------------------------------------------------------------------------
# The .deb installed in a Debian 12 root


def install_suites():
    """The releases the .deb is installed in: the machine's own, where it was built (a package
    built on Debian 13 needs 13's libc), and each later supported one."""
    host = host_release()
    if host not in RELEASES:
        return []
    return [suite for suite in RELEASES[RELEASES.index(host):] if suite in INSTALL_RELEASES]


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
            pass
    except OSError as error:
        return f"the Debian mirror of the apt sources cannot be reached: {error}"
    return None


def step(number, *needs):
    """An install-test step: fails at once, without running, when a step it needs failed."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self):
            failed = type(self).failed_steps
            missing = sorted(failed & set(needs))
            if missing:
                failed.add(number)  # and so are the steps that need this one
                self.fail(f"not run: step {', '.join(missing)} failed")
            try:
                method(self)
            except unittest.SkipTest:
                raise
            except BaseException:
                failed.add(number)
                raise
        return wrapper
    return decorate


class InstalledDeb(unittest.TestCase):
    """One Debian root of SUITE for the whole class; the tests run in the order of their
    numbers, each step after the ones it needs. Debian's own sshd runs in the root with its
    stock sshd_config until a step changes it as the documentation says."""

    SUITE = None
    skip_reason = None
    root = None
    sandbox = None
    failed_steps = set()

    @classmethod
    def setUpClass(cls):
        cls.failed_steps = set()
        cls.skip_reason = install_test_skip_reason(cls.SUITE)

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

    def verif8ctl(self, *args):
        return self.root.run("verif8ctl", *args, check=False)

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
        result = self.root.run("apt-get", "install", "-y", "--no-install-recommends",
                               f"/tmp/{deb.name}", check=False)
        if result.returncode != 0:
            # Lists from the cache may be stale for a mirror that moved on: refresh, then retry.
            self.root.run("apt-get", "update", "-qq")
            self.root.run("apt-get", "install", "-y", "--no-install-recommends",
                          f"/tmp/{deb.name}")
        log(f"apt-get install in {self.SUITE}: {time.monotonic() - started:.1f} s")
        status = self.root.run("dpkg-query", "-W", "-f", "${Status} ${Version}",
                               "libpam-verif8").stdout
        self.assertEqual(status, "install ok installed 0.1.0-1")

    @step("02", "01")
    def test_02_files_and_modes(self):
        module_dir = pam_module_dir(self.root.run("dpkg", "-L", "libpam-modules").stdout)
        self.assertTrue((self.root / f"{module_dir}/pam_verif8.so").is_file())
        tool = os.stat(self.root / "/usr/sbin/verif8ctl")
        self.assertEqual(stat.S_IMODE(tool.st_mode), 0o755)
        conf = os.lstat(self.root / CONF)
        self.assertTrue(stat.S_ISREG(conf.st_mode))
        self.assertEqual((stat.S_IMODE(conf.st_mode), conf.st_uid, conf.st_gid), (0o600, 0, 0))
        conffiles = self.root.run("dpkg-query", "-W", "-f", "${Conffiles}",
                                  "libpam-verif8").stdout.split()
        self.assertEqual(conffiles[:1], [CONF])
        self.assertFalse((self.root / USERS).exists(), "installing must not create the users file")
        self.assertEqual(parse_profile(self.root.read(PROFILE))["Default"], "no")

    @step("03", "01")
    def test_03_installing_turns_nothing_on(self):
        self.assertNotIn("pam_verif8", self.common_auth())
        # verif8 is known to pam-auth-update, and off.
        self.assertIn("verif8", self.root.read("/var/lib/pam/seen"))

    @step("04", "01")
    def test_04_verif8ctl_accepts_a_config_for_the_sandbox(self):
        cls = type(self)
        (WORK / "sandbox").mkdir(exist_ok=True)
        cls.sandbox = harness.Sandbox(WORK / "sandbox", stdout=open(WORK / "sandbox.out", "w"))
        cls.sandbox.start()
        (self.root / "/root/verif8-test").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.sandbox.ca_file, self.root.writable("/root/verif8-test/ca.pem"))
        # alice logs in a dozen times here, more than the default user_send_limit allows.
        harness.write_secure(self.root.writable(CONF), harness.config_text(
            self.sandbox, USERS, state_dir=STATE_DIR, ca_file="/root/verif8-test/ca.pem",
            user_send_limit="50/900"))
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

    @step("05", "01", "04")
    def test_05_enable_refuses_debians_stock_sshd_and_changes_nothing(self):
        before = self.common_auth()
        requests_before = len(self.sandbox.requests())
        self.assertFalse(list((self.root / SSHD_SNIPPETS).glob("*.conf")),
                         "the stock root has sshd_config snippets")
        result = self.verif8ctl("enable", "--service", "sshd", "--user", "alice")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        # It got as far as sshd's own settings, read from sshd -T in the root.
        self.assertIn("OK: the module would accept this setup", result.stdout)
        self.assertIn("sshd: PROBLEM: KbdInteractiveAuthentication is no", result.stderr)
        self.assertIn("sshd: PROBLEM: PasswordAuthentication is yes", result.stderr)
        self.assertIn("    AuthenticationMethods keyboard-interactive", result.stderr)
        self.assertIn("refused; nothing was changed", result.stderr)
        self.assertEqual(self.common_auth(), before)
        self.assertEqual(self.sandbox.requests()[requests_before:], [],
                         "no code may be sent before the checks")

    @step("06", "01", "04", "05")
    def test_06_enable_after_the_documented_sshd_change_tries_a_code_then_enables(self):
        self.use_sshd_setup("password-and-code.conf")
        self.reset()
        sent_before = len(self.sandbox.deliveries())
        with self.root.mounted():
            session = PtySession(["chroot", str(self.root.path), "verif8ctl", "enable",
                                  "--service", "sshd", "--user", "alice"], env=DebianRoot.ENV)
            try:
                session.expect("Verification code: ")
                session.type(self.sandbox.deliveries()[-1]["code"])
                status = session.finish(timeout=120)
            finally:
                session.close()
        text = session.text()
        self.assertEqual(status, 0, text)
        self.assertIn("sshd: PAM through keyboard-interactive, no password method: ready", text)
        self.assertIn("result: verified", text)
        self.assertIn("Keep this root shell open", text)
        self.assertEqual(len(self.sandbox.deliveries()) - sent_before, 1)
        # "auth CONTROL MODULE [ARGS]", CONTROL possibly "[success=1 default=ignore]".
        lines = [re.match(r"auth\s+(\[[^]]*\]|\S+)\s+(\S+)", line)
                 for line in self.common_auth().splitlines()]
        stack = [(match[1], match[2]) for match in lines if match]
        modules = [module for _, module in stack]
        self.assertIn(("required", "pam_verif8.so"), stack, self.common_auth())
        # After the password, and after the requisite pam_deny.so that ends a failed one.
        self.assertLess(modules.index("pam_unix.so"), modules.index("pam_verif8.so"))
        self.assertLess(modules.index("pam_deny.so"), modules.index("pam_verif8.so"))
        self.assertEqual(stack[modules.index("pam_deny.so")][0], "requisite")

    def use_sshd_setup(self, name=None):
        """The shipped sshd_config snippet `name`, put where the documentation says (with no
        name: Debian's stock settings again)."""
        for old in (self.root / SSHD_SNIPPETS).glob("*.conf"):
            old.unlink()
        if name:
            shutil.copyfile(self.root / f"{EXAMPLES}/sshd_config.d/{name}",
                            self.root.writable(f"{SSHD_SNIPPETS}/pam_verif8.conf"))

    def pamtester(self):
        return PtySession(["chroot", str(self.root.path), "pamtester", "-v", "verif8-test",
                           "alice", "authenticate"], env=DebianRoot.ENV)

    def reset(self):
        """A sandbox that forgot every session, and a module table that agrees with it."""
        self.sandbox.control("reset")
        harness.forget_sessions(self.root / STATE_DIR)

    def login(self, code=None, password=PASSWORD, wrong_codes=0):
        self.reset()
        sent_before = len(self.sandbox.deliveries())
        with self.root.mounted():
            session = self.pamtester()
            try:
                session.expect("Password: ")
                session.type(password)
                for _ in range(wrong_codes):
                    session.expect("Verification code: ")
                    last = self.sandbox.deliveries()[-1]["code"]
                    session.type("0" * len(last) if last != "0" * len(last) else "1" * len(last))
                if code:
                    prompt = session.expect("Verification code: ")
                    self.assertIn("Code sent by SMS to", prompt)
                    session.type(self.sandbox.deliveries()[-1]["code"])
                status = session.finish(timeout=60)
            finally:
                session.close()
        return status, session.text(), self.sandbox.deliveries()[sent_before:]

    @step("07", "01", "04", "06")
    def test_07_the_right_code_logs_in(self):
        status, text, sent = self.login(code=True)
        self.assertEqual(status, 0, text)
        self.assertIn("successfully authenticated", text)
        self.assertEqual(len(sent), 1)
        self.assertEqual((sent[0]["destination"], sent[0]["channel"]), ("+6591234567", "sms"))

    @step("08", "01", "04", "06")
    def test_08_wrong_codes_fail(self):
        status, text, _ = self.login(wrong_codes=3)
        self.assertNotEqual(status, 0, text)
        self.assertNotIn("successfully authenticated", text)
        self.assertIn("Wrong code", text)

    @step("09", "01", "04", "06")
    def test_09_a_wrong_password_sends_no_code(self):
        status, text, sent = self.login(password="wrong password")
        self.assertNotEqual(status, 0, text)
        self.assertNotIn("Verification code", text)
        self.assertEqual(sent, [])

    @contextlib.contextmanager
    def sshd(self, *options):
        """The root's own sshd (its sshd_config, its /etc/pam.d/sshd) on a free loopback port."""
        port = e2e.free_port()
        with self.root.mounted():
            server = subprocess.Popen(
                ["chroot", str(self.root.path), "/usr/sbin/sshd", "-D", "-e", "-p", str(port),
                 "-o", "ListenAddress=127.0.0.1", "-o", "LogLevel=DEBUG1", *options],
                env=DebianRoot.ENV, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(WORK / f"sshd-{self.SUITE}.log", "a"), start_new_session=True)
            try:
                deadline = time.monotonic() + 20
                while True:
                    with contextlib.suppress(OSError), socket.create_connection(
                            ("127.0.0.1", port), timeout=1):
                        break
                    if server.poll() is not None or time.monotonic() > deadline:
                        self.fail(f"sshd in the {self.SUITE} root did not start: "
                                  + (WORK / f"sshd-{self.SUITE}.log").read_text()[-2000:])
                    time.sleep(0.1)
                yield port
            finally:
                kill_processes_in(self.root.path)
                server.wait(timeout=10)

    def sshd_login(self, port, *, key=None, password=PASSWORD):
        """A password+code (or, with `key`, key+code) login over ssh: (authenticated, prompts,
        deliveries sent during it)."""
        self.reset()
        sent_before = len(self.sandbox.deliveries())
        prompts = []

        def answer(_title, _instructions, prompt_list):
            replies = []
            for text, _echo in prompt_list:
                prompts.append(text)
                if "Password" in text:
                    replies.append(password)
                else:
                    replies.append(self.sandbox.deliveries()[-1]["code"])
            return replies

        client = e2e.Client(port)
        try:
            if key is not None:
                self.assertFalse(client.publickey("alice", key), "a key alone logged in")
                self.assertEqual(client.remaining, ["keyboard-interactive"])
            ok = client.kbdint("alice", answer)
        finally:
            client.close()
        return ok, prompts, self.sandbox.deliveries()[sent_before:]

    @step("10", "01", "04", "06")
    def test_10_sshd_password_then_code_logs_in(self):
        with self.sshd() as port:
            ok, prompts, sent = self.sshd_login(port)
            self.assertTrue(ok, prompts)
            self.assertEqual(len(prompts), 2, prompts)
            self.assertIn("Password", prompts[0])
            self.assertIn("Verification code", prompts[1])
            self.assertEqual(len(sent), 1)
            # The "password" method is off, as the documented set-up says.
            client = e2e.Client(port)
            try:
                self.assertFalse(client.password("alice", PASSWORD))
            finally:
                client.close()

    @step("11", "01", "04", "06")
    def test_11_the_password_method_never_sends_the_password_to_the_api(self):
        """An admin who enabled the module without the sshd change (Debian's stock settings):
        the module still never passes the password on as a code."""
        self.use_sshd_setup()
        self.reset()
        requests_before = len(self.sandbox.requests())
        with self.sshd() as port:
            client = e2e.Client(port)
            try:
                self.assertFalse(client.password("alice", PASSWORD))
            finally:
                client.close()
        new = self.sandbox.requests()[requests_before:]
        # It got to the code step: a code was sent, and the prompt was answered (by sshd, with
        # the password); no check was made, and no request carried the password.
        self.assertEqual([r["method"] for r in new], ["POST"], new)
        self.assertNotIn(PASSWORD, json.dumps(new))
        self.assertNotIn(PASSWORD.replace(" ", "%20"), json.dumps(new))

    @step("12", "01", "04", "06")
    def test_12_sshd_key_then_code_logs_in(self):
        self.use_sshd_setup("key-and-code.conf")
        shutil.copyfile(self.root / f"{EXAMPLES}/pam.d/sshd-key-and-code",
                        self.root.writable("/etc/pam.d/sshd"))
        key, _, public = e2e.ed25519_key()
        ssh_dir = self.root / "/home/alice/.ssh"
        ssh_dir.mkdir(mode=0o700, exist_ok=True)
        self.root.writable("/home/alice/.ssh/authorized_keys").write_text(public + "\n")
        self.root.run("chown", "-R", "alice:alice", "/home/alice/.ssh")
        with self.sshd() as port:
            ok, prompts, sent = self.sshd_login(port, key=key)
        self.assertTrue(ok, prompts)
        self.assertEqual(len(prompts), 1, prompts)
        self.assertIn("Verification code", prompts[0])
        self.assertEqual(len(sent), 1)

    @step("13", "01", "06")
    def test_13_disable_takes_it_out(self):
        result = self.verif8ctl("disable")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotIn("pam_verif8", self.common_auth())

    @step("14", "01")
    def test_14_purge_leaves_only_what_the_admin_wrote(self):
        # The logins made state_dir; should they have failed, make it as the module would.
        (self.root / STATE_DIR).mkdir(mode=0o700, exist_ok=True)
        self.root.run("pam-auth-update", "--enable", "verif8")
        self.assertIn("pam_verif8", self.common_auth())
        self.root.run("apt-get", "purge", "-y", "libpam-verif8")
        status = self.root.run("dpkg-query", "-W", "-f", "${Status}", "libpam-verif8",
                               check=False).stdout
        self.assertIn(status, ("", "unknown ok not-installed"))
        for gone in (CONF, PROFILE, STATE_DIR, "/usr/sbin/verif8ctl",
                     "/usr/share/doc/libpam-verif8"):
            self.assertFalse(os.path.lexists(self.root / gone), f"{gone} is left after purge")
        self.assertEqual(list((self.root / "/usr/lib").glob("*/security/pam_verif8.so")), [])
        self.assertNotIn("pam_verif8", self.common_auth())
        self.assertNotIn("verif8", self.root.read("/var/lib/pam/seen").split())
        # The users file is the administrator's, not the package's: policy keeps it.
        self.assertTrue((self.root / USERS).exists())


def installed_deb_classes():
    """One InstalledDeb per release the .deb is installed in (install_suites)."""
    return [type(f"InstalledDeb_{suite}", (InstalledDeb,), {"SUITE": suite})
            for suite in install_suites()]


def main():
    global PACKAGES, WORK
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", default=str(ROOT / "build" / "packages"))
    parser.add_argument("--work", default=str(ROOT / "build" / "package-tests"))
    parser.add_argument("--bootstrap-only", action="store_true",
                        help="only make the cached root tarballs (scripts/test runs this while "
                             "it builds)")
    args = parser.parse_args()
    if args.bootstrap_only:
        work = Path(args.work).resolve()
        for suite in install_suites():
            if not install_test_skip_reason(suite):
                bootstrapped_tarball(work / "cache", debian_mirror(), suite, BOOTSTRAP_PACKAGES)
        return 0
    PACKAGES = Path(args.packages).resolve()
    WORK = Path(args.work).resolve()
    WORK.mkdir(parents=True, exist_ok=True)

    # A kill (meson's timeout, Ctrl-C) still goes through the finally blocks that unmount.
    def interrupted(number, _frame):
        raise KeyboardInterrupt(f"signal {number}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        return 0 if tap.run([DebPackage, RpmPackage, *installed_deb_classes()]) else 1
    finally:
        for cls in InstalledDeb.__subclasses__():
            if cls.sandbox:
                cls.sandbox.stop()
        unmount_all(WORK)
        if (WORK / "root").exists():
            # A command the signal cut short may still be finishing in the root: try twice;
            # whatever is left goes at the start of the next run.
            for attempt in (1, 2):
                try:
                    remove_root(WORK / "root")
                    break
                except OSError as error:
                    log(f"removing {WORK / 'root'}: {error}")
                    time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
