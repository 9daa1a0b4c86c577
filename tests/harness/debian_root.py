"""Throw-away Debian roots for the tests: the machine's Debian mirror (read from its apt sources
when a test runs, never written down), debootstrap into a cached tarball, chroot with /proc and
/dev mounted only while a command runs, and removal that never follows a mount out."""

import contextlib
import datetime
import glob
import os
import re
import shutil
import signal
import subprocess
import time
import zlib
from pathlib import Path

# Debian releases, oldest first: the ones the module supports.
RELEASES = ["bullseye", "bookworm", "trixie"]


def log(text):
    print(f"# {text}", flush=True)


def run(command, **kwargs):
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    return subprocess.run(command, **kwargs)


def apt_sources():
    """(types, uri, suites, components) of every entry of the machine's apt sources."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for stanza in re.split(r"\n\s*\n", Path(path).read_text()):
            fields = {}
            name = None
            for line in stanza.splitlines():
                if line.startswith("#"):
                    continue
                if line[:1] in (" ", "\t") and name:
                    fields[name] += " " + line.strip()
                elif ":" in line:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    fields[name] = value.strip()
            if fields.get("enabled", "yes").lower() == "no":
                continue
            for uri in fields.get("uris", "").split():
                entries.append((fields.get("types", "").split(), uri,
                                fields.get("suites", "").split(),
                                fields.get("components", "").split()))
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if not os.path.exists(path):
            continue
        for line in Path(path).read_text().splitlines():
            line = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(line) >= 3:
                entries.append(([line[0]], line[1], [line[2]], line[3:]))
    return entries


def host_release():
    """The machine's own Debian release (VERSION_CODENAME of /etc/os-release)."""
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def debian_mirror():
    """The machine's Debian mirror, from its apt sources (the entry for its own release); the
    other releases are on the same mirror. None if it has none."""
    host = host_release()
    for types, uri, suites, components in apt_sources():
        if "deb" in types and host in suites and "main" in components and \
                uri.startswith(("http://", "https://")):
            return uri.rstrip("/")
    return None


def mounts_under(path):
    """Mount points at or below `path`, deepest first."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or point.startswith(path + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(path):
    for point in mounts_under(path):
        if run(["umount", point]).returncode != 0:
            run(["umount", "-l", point])


def remove_root(path):
    """rm -rf for a Debian root, refusing while anything is mounted inside (a bind-mounted /dev
    would take the machine's device nodes with it)."""
    if not os.path.lexists(path):
        return
    unmount_all(path)
    left = mounts_under(path)
    if left:
        raise RuntimeError(f"still mounted, not removing {path}: {left}")
    shutil.rmtree(path)


class DebianRoot:
    """A Debian root under the work directory; commands run in it through chroot, with the
    root bound onto itself, /proc and /dev mounted only while they run."""

    ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root",
           "DEBIAN_FRONTEND": "noninteractive", "TERM": "dumb"}

    def __init__(self, path, recursive_dev=False):
        """recursive_dev: /dev with what is mounted under it (/dev/pts, /dev/shm), for tests
        that open pseudo-terminals inside the root."""
        self.path = Path(path)
        self.recursive_dev = recursive_dev

    def __truediv__(self, inside):
        return self.path / inside.lstrip("/")

    def writable(self, inside):
        """The host path of a file to write in the root: never through a symlink, which the
        root's own tools could point at the machine's files."""
        path = self / inside
        parent = os.path.realpath(path.parent)
        if not (parent + "/").startswith(os.path.realpath(self.path) + "/"):
            raise RuntimeError(f"{inside} leads out of the root ({parent})")
        if path.is_symlink():
            path.unlink()
        return path

    @contextlib.contextmanager
    def mounted(self):
        if getattr(self, "_mounted", False):  # inside another mounted(): all there already
            yield
            return
        self._mounted, mounted = True, []
        try:
            # The root bound onto itself and private: its / is then a mount point, which
            # `unshare --mount --propagation private` inside it needs (the suites' private /tmp,
            # verif8_harness.in_private_tmp), and nothing mounted in it reaches the machine.
            run(["mount", "--bind", str(self.path), str(self.path)], check=True)
            mounted.append(self.path)
            run(["mount", "--make-private", str(self.path)], check=True)
            # rslave: an unmount in the root never reaches the machine's own /dev.
            dev = ["--rbind", "--make-rslave"] if self.recursive_dev else ["--bind"]
            for source, target, args in (("proc", "proc", ["-t", "proc"]),
                                         ("/dev", "dev", dev)):
                if (self.path / target).is_symlink():
                    raise RuntimeError(f"/{target} in the root is a symlink: not mounting on it")
                run(["mount", *args, source, str(self.path / target)], check=True)
                mounted.append(self.path / target)
            yield
        finally:
            self._mounted = False
            for target in reversed(mounted):
                if run(["umount", "-R", str(target)]).returncode != 0:
                    run(["umount", "-R", "-l", str(target)])

    def run(self, *command, check=True, input=None, timeout=600):
        with self.mounted():
            result = run(["chroot", str(self.path), *command], env=self.ENV, input=input,
                         timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} in the root exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def read(self, inside):
        return (self / inside).read_text()


def unpacked_root(tarball, path, recursive_dev=False):
    """A fresh root at `path` (whatever was there is removed) from a bootstrapped tarball."""
    remove_root(path)
    path.mkdir(parents=True)
    run(["tar", "-C", str(path), "-xf", str(tarball)], check=True)
    return DebianRoot(path, recursive_dev)


def bootstrapped_tarball(cache, mirror, suite, packages):
    """A minbase root of `suite` with `packages` and fresh apt lists, as a tarball cached by
    date (and by the package list)."""
    cache.mkdir(parents=True, exist_ok=True)
    kind = f"{suite}-minbase-{zlib.crc32(' '.join(packages).encode()):08x}"
    tarball = cache / f"{kind}-{datetime.date.today():%Y%m%d}.tar"
    if tarball.exists():
        log(f"debootstrap: cached {tarball.name}")
        return tarball
    building = cache / f"bootstrap-{kind}"
    remove_root(building)
    started = time.monotonic()
    try:
        include = ["--include=" + ",".join(packages)] if packages else []
        result = run(["debootstrap", "--variant=minbase", *include, suite, str(building),
                      mirror], timeout=1800)
        if result.returncode != 0:
            raise AssertionError(f"debootstrap {suite} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
        root = DebianRoot(building)
        root.run("apt-get", "update", "-qq")
        root.run("apt-get", "clean")
        log(f"debootstrap {suite} + apt-get update: {time.monotonic() - started:.0f} s "
            f"from {mirror}")
        partial = tarball.with_suffix(".part")
        run(["tar", "-C", str(building), "-cf", str(partial), "."], check=True)
        partial.rename(tarball)
    finally:
        remove_root(building)
    # Older days' tarballs of this kind only: another package list of the release is its own.
    for old in cache.glob(f"{kind}-*.tar"):
        if old != tarball:
            old.unlink()
    return tarball


def kill_processes_in(root):
    """SIGKILL every process whose root directory is `root` (sshd and its children), and wait
    until they are gone, so that the root can be unmounted."""
    root = os.path.realpath(root)
    for _ in range(100):
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{entry}/root") == root:
                        found.append(int(entry))
        if not found:
            return
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)
