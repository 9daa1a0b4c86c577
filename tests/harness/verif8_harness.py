"""Shared test harness of every suite and the demo: starts verif8-sandbox, builds a pam_wrapper +
nss_wrapper world in a temp dir, and writes config files the way the module insists on
(root-owned, 0600). Nothing here touches the machine's /etc or running services."""

import contextlib
import functools
import glob
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "tests" / "sandbox" / "verif8-sandbox"  # test_sandbox.py points it elsewhere

PAM_WRAPPER_LIBS = ("libpam_wrapper.so", "libnss_wrapper.so")

# Users of the test world: name -> (uid, enrolment line or None).
DEFAULT_USERS = {"alice": (2001, "alice +6591234567 sms,voice"),
                 "bob": (2002, "bob +6598765432 voice"), "carol": (2003, None),
                 "dave": (2004, "dave +6587654321 whatsapp")}


def _jsonl(path):
    lines = Path(path).read_text().splitlines() if Path(path).exists() else []
    return [json.loads(line) for line in lines if line.strip()]


class Sandbox:
    """verif8-sandbox on 127.0.0.1 with a port it picks; stopped on exit, whatever happens."""

    def __init__(self, state_dir, api_key="sandbox-api-key", subaccount="sandbox-account",
                 extra_args=(), stdout=None):
        self.state_dir, self.api_key, self.subaccount = Path(state_dir), api_key, subaccount
        self.extra_args, self.stdout = list(extra_args), stdout
        self.process = self.info = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=30):
        info_path = self.state_dir / "sandbox.json"
        info_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            ["/usr/bin/python3", str(SANDBOX), "--state-dir", str(self.state_dir), "--port", "0",
             "--api-key", self.api_key, "--subaccount", self.subaccount, *self.extra_args],
            stdout=self.stdout, stderr=subprocess.STDOUT if self.stdout else None,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if info_path.exists():
                self.info = json.loads(info_path.read_text())
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"verif8-sandbox exited with {self.process.returncode}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("verif8-sandbox did not start in time")

    def stop(self):
        for number in (signal.SIGTERM, signal.SIGKILL):  # the second after 10 s
            if self.process and self.process.poll() is None:
                os.killpg(self.process.pid, number)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=10)

    url = property(lambda self: self.info["url"])
    ca_file = property(lambda self: self.info["ca_file"])
    outbox = property(lambda self: self.info["outbox"])
    requests_log = property(lambda self: self.info["requests"])

    def _call(self, method, action, query=""):
        context = ssl.create_default_context(cafile=self.ca_file)
        request = urllib.request.Request(f"{self.url}/_sandbox/{action}{query}", method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")

    control = functools.partialmethod(_call, "POST")  # control(action, query="")
    query = functools.partialmethod(_call, "GET")  # query("sessions"): the sandbox's own view

    def sessions(self):
        return self.query("sessions").get("sessions", [])

    def requests(self):
        return _jsonl(self.requests_log)

    def deliveries(self):
        return _jsonl(self.outbox)


def system_module(name):
    """Absolute path of one of the distribution's PAM modules (pam_wrapper needs full paths).
    pam.pc names libpam's directory from Linux-PAM 1.5; before (Debian 11) look where
    distributions keep them."""
    libdir = subprocess.run(["pkg-config", "--variable=libdir", "pam"], capture_output=True,
                            text=True).stdout.strip()
    patterns = [f"{libdir}/security"] * bool(libdir) + [
        "/lib/*/security", "/usr/lib/*/security", "/usr/lib64/security", "/lib64/security",
        "/usr/lib/security", "/lib/security"]
    for path in (path for pattern in patterns for path in sorted(glob.glob(f"{pattern}/{name}"))):
        return path
    raise FileNotFoundError(f"no {name} among the system's PAM modules")


def wrapper_module(name):
    """Absolute path of one of pam_wrapper's test modules (pam_matrix.so, pam_chatty.so...)."""
    directory = subprocess.run(["pkg-config", "--variable=modules", "pam_wrapper"],
                               capture_output=True, text=True).stdout.strip()
    for candidate in (directory, "/usr/lib/x86_64-linux-gnu/pam_wrapper", "/usr/lib/pam_wrapper"):
        if candidate and (Path(candidate) / name).exists():
            return str(Path(candidate) / name)
    raise FileNotFoundError(f"no {name} among pam_wrapper's modules (package libpam-wrapper)")


def write_secure(path, text, mode=0o600):
    """Writes a file as the module wants its settings: owned by us (root in CI), `mode`."""
    path = Path(path)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as handle:
        handle.write(text)
    os.chmod(path, mode)
    return path


class PamWorld:
    """A temp dir with pam_wrapper service files, nss_wrapper passwd/group, a users file and the
    environment that makes a process see them instead of the machine's."""

    def __init__(self, base_dir, users=None, groups=None):
        """groups: extra groups and their members, e.g. {"ops": ["alice"]}; each gets a gid
        from 3001 up, in the order given (users' own groups have gid = uid)."""
        self.dir, self.users = Path(base_dir), dict(users or DEFAULT_USERS)
        self.groups = {name: list(members) for name, members in (groups or {}).items()}
        self.services, self.users_file = self.dir / "services", self.dir / "pam_verif8.users"
        self.passwd, self.group = self.dir / "passwd", self.dir / "group"
        self.services.mkdir(parents=True, exist_ok=True)
        passwd, group = ["root:x:0:0:root:/root:/bin/sh\n"], ["root:x:0:\n"]
        for name, (uid, _) in self.users.items():
            home = self.dir / "home" / name
            home.mkdir(parents=True, exist_ok=True)
            passwd.append(f"{name}:x:{uid}:{uid}:{name}:{home}:/bin/sh\n")
            group.append(f"{name}:x:{uid}:\n")
        group += [f"{name}:x:{3001 + number}:{','.join(members)}\n"
                  for number, (name, members) in enumerate(self.groups.items())]
        self.passwd.write_text("".join(passwd))
        self.group.write_text("".join(group))
        # libpam reads "other" for services it does not know; without one it logs an error.
        (self.services / "other").write_text(f"auth required {system_module('pam_deny.so')}\n")
        write_secure(self.users_file, "".join(
            f"{line}\n" for _, line in self.users.values() if line), mode=0o644)

    def add_account(self, name, uid, gid, home, shell="/usr/sbin/nologin", group=None):
        """A system account (e.g. sshd's privilege-separation user) and, if named, its group."""
        self.passwd.write_text(self.passwd.read_text() + f"{name}:x:{uid}:{gid}::{home}:{shell}\n")
        if group:
            self.group.write_text(self.group.read_text() + f"{group}:x:{gid}:\n")

    def write_passdb(self, path, passwords, service):
        """A pam_matrix password file: `user:password:service` lines."""
        return write_secure(path, "".join(f"{user}:{password}:{service}\n"
                                          for user, password in passwords.items()))

    def service(self, name, module, args=""):
        path = self.services / name
        path.write_text(f"auth required {module} {args}\n")
        return path

    def env(self, base=None, services=None):
        """services: another directory of service files (one PAM stack per sshd, say)."""
        env = dict(os.environ if base is None else base)
        # VERIF8_PRELOAD_FIRST (scripts/test's sanitized stage): libraries to load before the
        # wrappers. ASan's runtime must come first in a process not built with it (pamtester,
        # libpam dlopen'ing an ASan-built module).
        preload = [lib for lib in env.get("VERIF8_PRELOAD_FIRST", "").split(":") if lib]
        preload += [*PAM_WRAPPER_LIBS, *([env["LD_PRELOAD"]] if env.get("LD_PRELOAD") else [])]
        env.update({
            "LD_PRELOAD": ":".join(preload), "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(services or self.services),
            "PAM_WRAPPER_DEBUGLEVEL": "3",  # pam_syslog lines reach stderr as "SYSLOG(...): "
            "NSS_WRAPPER_PASSWD": str(self.passwd), "NSS_WRAPPER_GROUP": str(self.group),
        })
        # The module must ignore proxies from the environment; make sure none is set by accident.
        for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            env.pop(name, None)
        return env


# pam_wrapper gives each process that starts a PAM transaction a runtime dir /tmp/pam.X and checks
# for a free name before making it: two suites side by side can take the same dir, and the first
# to exit removes it under the other. With a /tmp of its own, a suite meets only itself. The
# machine's /tmp entries that the command names are bound back in through a descriptor of the
# old /tmp (--no-canonicalize, or mount would resolve into the new one); preloads are the command's.
PRIVATE_TMP_BOOT = r"""
set -e
exec 3</tmp
mount -t tmpfs -o mode=1777 verif8-private-tmp /tmp
while [ "$1" != -- ]; do
    if [ -d "/proc/self/fd/3/$1" ]; then mkdir "/tmp/$1"; else : > "/tmp/$1"; fi
    mount --no-canonicalize --bind "/proc/self/fd/3/$1" "/tmp/$1"
    shift
done
shift
exec 3<&-
[ -z "${VERIF8_PRIVATE_TMP_PRELOAD:-}" ] || export LD_PRELOAD="$VERIF8_PRIVATE_TMP_PRELOAD"
unset VERIF8_PRIVATE_TMP_PRELOAD
exec "$@"
"""


def in_private_tmp(command, env):
    """`command` (argv) and `env` made to run with a /tmp of their own (PRIVATE_TMP_BOOT): every
    entry of /tmp that the command, its working directory or its environment names stays
    visible, anything made in /tmp afterwards is private and goes with the namespace."""
    env = dict(env)
    named = re.findall(r"(?<![\w./-])/tmp/([^/\s:=]+)",
                       "\n".join([os.getcwd(), *command, *env.values()]))
    keep = sorted({name for name in named if os.path.lexists(os.path.join("/tmp", name))})
    if "LD_PRELOAD" in env:
        env["VERIF8_PRIVATE_TMP_PRELOAD"] = env.pop("LD_PRELOAD")
    return (["unshare", "--mount", "--propagation", "private", "sh", "-c", PRIVATE_TMP_BOOT,
             "sh", *keep, "--", *command], env)


def forget_sessions(state_dir):
    """Removes the module's session table: after a sandbox reset (which forgets every session)
    its records are stale, and a login would wait out resend_interval for nothing."""
    for name in ("pending.a", "pending.b"):
        (Path(state_dir) / name).unlink(missing_ok=True)


def config_text(sandbox, users_file, state_dir=None, **overrides):
    """A pam_verif8.conf for the sandbox; overrides add or replace keys (None removes one).
    state_dir defaults to a "state" directory beside the users file, never the machine's."""
    settings = {
        "api_key": sandbox.api_key, "subaccount_id": sandbox.subaccount,
        "api_url": sandbox.url, "ca_file": sandbox.ca_file, "users_file": str(users_file),
        "state_dir": str(state_dir or Path(users_file).parent / "state"),
        # libpam's failure delay only slows tests down; tests of the delay set their own.
        "fail_delay": "0", "connect_timeout": "5", "request_timeout": "10",
        **overrides,
    }
    return "".join(f"{key} = {value}\n" for key, value in settings.items() if value is not None)


def temp_dir(prefix):
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
