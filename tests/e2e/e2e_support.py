"""End-to-end support (also used by tests/packages): a real /usr/sbin/sshd on 127.0.0.1 around
the built pam_verif8.so, and a paramiko client that logs in through it.

Each sshd runs in mount and PID namespaces of its own (SSHD_BOOT): a tmpfs /run, empty files over
the machine's wtmp, btmp and lastlog, a private /tmp and a /dev/log of the test's. When sshd, the
namespace's first process, dies, the kernel kills all left in it, and `--kill-child` ties sshd to
`unshare`, a process group leader: stopping a server is one killpg, and nothing outlives it.
sshd is LD_PRELOADed with pam_wrapper and nss_wrapper (PamWorld.env()); the machine's /etc is
never touched."""

import contextlib
import io
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import namedtuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "harness"))

import verif8_harness as harness  # noqa: E402

import paramiko  # noqa: E402  (python3-paramiko: run with /usr/bin/python3)
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

# The harness's users plus two enrolled users whose numbers a broken phone_command must not
# fall back to.
E2E_USERS = {**harness.DEFAULT_USERS, "erin": (2005, "erin +6591230005 sms"),
             "frank": (2006, "frank +6591230006 sms")}
E2E_GROUPS = {"ops": ["bob"], "2fa": ["alice"]}
PASSWORDS = {name: f"{name}-pw-{uid}" for name, (uid, _) in E2E_USERS.items()}
PHONES = {name: line.split()[1] for name, (_, line) in E2E_USERS.items() if line}

# Runs in the new namespaces: $1 sshd_config, $2 the server's directory, $3 the syslog socket,
# $4 the run's work dir. /tmp must go with the namespace: a SIGKILLed process leaves its
# /tmp/pam.X with a PID of this namespace in it, which no pam_wrapper outside can tell is stale.
# /dev is rebuilt from the machine's nodes so that /dev/log can be ours. The wrappers are
# preloaded into sshd only.
SSHD_BOOT = r"""
set -e
mount -t tmpfs -o mode=0755,size=16m verif8-e2e-run /run
mkdir -m 0755 /run/sshd /run/host-dev /run/work
for f in /var/log/wtmp /var/log/btmp /var/log/lastlog; do
    [ ! -e "$f" ] || { : > "$2/${f##*/}"; mount --bind "$2/${f##*/}" "$f"; }
done
mount --bind "$4" /run/work
mount -t tmpfs -o mode=1777,size=64m verif8-e2e-tmp /tmp
mkdir -p "$4"
mount --bind /run/work "$4"
mount --rbind /dev /run/host-dev
mount -t tmpfs -o mode=0755,size=1m verif8-e2e-dev /dev
for node in null zero full random urandom tty ptmx; do
    h="/run/host-dev/$node"; [ ! -e "$h" ] || { : > "/dev/$node"; mount --bind "$h" "/dev/$node"; }
done
mkdir /dev/pts /dev/shm
mount --rbind /run/host-dev/pts /dev/pts
mount --rbind /run/host-dev/shm /dev/shm
ln -s /proc/self/fd /dev/fd
for n in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${n%%:*}" "/dev/${n#*:}"; done
: > /dev/log
mount --bind "$3" /dev/log
export LD_PRELOAD="$E2E_LD_PRELOAD"
exec /usr/sbin/sshd -D -e -f "$1"
"""

# The sshd_config of every server, before the test's own options.
SSHD_CONFIG = {
    "AddressFamily": "inet", "UsePAM": "yes", "UseDNS": "no", "PermitRootLogin": "no",
    "KbdInteractiveAuthentication": "yes", "PasswordAuthentication": "no",
    "PubkeyAuthentication": "yes", "AuthorizedKeysFile": "none", "StrictModes": "no",
    "PrintMotd": "no", "PrintLastLog": "no", "X11Forwarding": "no", "AllowTcpForwarding": "no",
    "AllowAgentForwarding": "no", "PermitTunnel": "no", "LoginGraceTime": "150",
    "MaxAuthTries": "6", "LogLevel": "VERBOSE",
}

_live = set()  # servers not stopped yet, so that any exit path can stop them all
_numbers = itertools.count(1)


def stop_all():
    for server in list(_live):
        server.stop()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ed25519_key():
    """A fresh ed25519 key: (paramiko key, OpenSSH private text, `ssh-ed25519 AAAA...` line)."""
    text = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    key = paramiko.Ed25519Key(file_obj=io.StringIO(text))
    return key, text, f"{key.get_name()} {key.get_base64()}"


class SshServer:
    """One sshd: its own directory, sshd_config, PAM service directory and port."""

    def __init__(self, directory, world, host_key, options, pam_stack, work):
        """work: the run's temp dir (everything sshd reads must be under it)."""
        self.dir, self.work, self.world = Path(directory), Path(work), world
        self.host_key, self.options = host_key, dict(options)
        self.syslog_path = self.work / "sock" / f"{next(_numbers)}.log.sock"  # sun_path: 108 B
        self.services = self.dir / "services"
        self.services.mkdir(parents=True)
        (self.services / "sshd").write_text(pam_stack)
        shutil.copy(world.services / "other", self.services)
        self.syslog_lines, self.process, self.port, self._syslog = [], None, None, None

    def start(self, timeout=15):
        self._syslog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # /dev/log inside
        self._syslog.bind(str(self.syslog_path))
        os.chmod(self.syslog_path, 0o666)
        self._syslog.settimeout(0.2)
        self._syslog_thread = threading.Thread(target=self._read_syslog, daemon=True)
        self._syslog_thread.start()
        for _ in range(5):  # a free port can be taken between the probe and sshd's bind
            self.port = free_port()
            settings = {"ListenAddress": f"127.0.0.1:{self.port}", "HostKey": self.host_key,
                        "PidFile": self.dir / "sshd.pid", **SSHD_CONFIG, **self.options}
            config = self.dir / "sshd_config"
            config.write_text("".join(f"{key} {value}\n" for key, value in settings.items()
                                      if value is not None))
            env = self.world.env(services=self.services)
            env.pop("PAM_WRAPPER_KEEP_DIR", None)
            # sshd's own processes: warnings and errors.
            env.update(PAM_WRAPPER_DEBUGLEVEL="1", E2E_LD_PRELOAD=env.pop("LD_PRELOAD"))
            # stderr through a pipe to a cat outside the namespace, not straight to a file:
            # sshd's pre-auth sandbox runs with RLIMIT_FSIZE 0, and any write to a file kills it.
            with open(self.dir / "sshd.log", "w") as log:
                self._cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=log,
                                             start_new_session=True)
            self.process = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                 "--mount-proc", "--kill-child", "sh", "-c", SSHD_BOOT, "sh", str(config),
                 str(self.dir), str(self.syslog_path), str(self.work)],
                env=env, stdin=subprocess.DEVNULL, stdout=self._cat.stdin,
                stderr=subprocess.STDOUT, start_new_session=True)
            self._cat.stdin.close()
            _live.add(self)
            if self._listening(timeout):
                return self
            self._kill()
            if "Address already in use" not in self.log():
                self.stop()
                raise RuntimeError(f"sshd did not start; its log:\n{self.log()[-3000:]}")
        self.stop()
        raise RuntimeError("sshd found no free port")

    def _listening(self, timeout):
        marker = f"Server listening on 127.0.0.1 port {self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log():
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.02)
        return False

    def _read_syslog(self):
        sock = self._syslog
        while self._syslog is not None:
            with contextlib.suppress(OSError):  # socket.timeout included
                self.syslog_lines.append(sock.recv(65536).decode(errors="replace").rstrip("\n"))

    def _kill(self):
        process, self.process = self.process, None
        if process is not None:
            for number in (signal.SIGTERM, signal.SIGKILL):  # the second after 5 s
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                        os.killpg(process.pid, number)
                        process.wait(timeout=5)
            self._cat.wait(timeout=5)  # the end of the log: cat stops when sshd's stderr closes

    def stop(self):
        self._kill()
        _live.discard(self)
        if self._syslog is not None:
            time.sleep(0.05)  # let the last datagrams in
            syslog, self._syslog = self._syslog, None
            self._syslog_thread.join(timeout=2)
            syslog.close()
        (self.dir / "syslog.log").write_text("".join(line + "\n" for line in self.syslog_lines))

    def log(self):
        path = self.dir / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def module_lines(self):
        """What PAM logged: pam_syslog lines of LOG_ERR and above, which pam_wrapper prints on
        stderr as `PWRAP_ERROR[...] - SYSLOG(3): ...`, and whatever reached syslog(3) itself
        (libpam's own errors). Lower priorities are lost: sshd empties the environment of its
        PAM process, so pam_wrapper falls back to errors only."""
        return [line for line in self.log().splitlines() if "SYSLOG(" in line] + \
            self.syslog_lines


# One keyboard-interactive info request as the client saw it; prompts: [(text, echo)].
Round = namedtuple("Round", "title instructions prompts")


class Client:
    """A paramiko Transport to one server; auth methods return True on full success."""

    def __init__(self, port, source=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15,
                                             source_address=(source, 0) if source else None)
        try:
            self.transport = paramiko.Transport(self.sock)
            self.transport.banner_timeout = 15
            self.transport.auth_timeout = 150  # some scenarios wait out resend intervals
            self.transport.start_client(timeout=15)
        except Exception:
            self.sock.close()
            raise
        self.remaining = None  # methods left after a partial success

    def _auth(self, call):
        try:
            self.remaining = call()
            return self.transport.is_authenticated()
        except paramiko.SSHException:  # AuthenticationException is one too
            return False

    def kbdint(self, user, answers):
        return self._auth(lambda: self.transport.auth_interactive(user, answers))

    def password(self, user, password):
        return self._auth(lambda: self.transport.auth_password(user, password, fallback=False))

    def publickey(self, user, key):
        return self._auth(lambda: self.transport.auth_publickey(user, key))

    def run(self, command, timeout=15):
        """(exit status, stdout) of a command in a session of the logged-in user."""
        with self.transport.open_session(timeout=timeout) as channel:
            channel.settimeout(timeout)
            channel.exec_command(command)
            output = channel.makefile("rb").read().decode(errors="replace")
            return channel.recv_exit_status(), output

    def close(self):
        with contextlib.closing(self.sock):
            self.transport.close()

