#!/usr/bin/python3
"""The module built from this tree and its unit, PAM and local-login tests (and the fault tests on
the oldest) run in a clean root of each supported Debian release (debian_root.RELEASES: 11, 12
and 13), with the compiler, Meson, libcurl, OpenSSL, libpam and Python that release ships. Debian 11's libcurl 7.74 is the
oldest the module supports (it stands in for RHEL 9's 7.76 and Ubuntu 22.04's 7.81) and its
Meson 0.56 the oldest that builds it (RHEL 9 has 0.63). Prints TAP: per release, one line for
the root, one for the build, and one per Meson test (its cases listed when one fails); then, for
each release the README promises but the machine's own, `scripts/demo --auto` in a bare root.

usage: run_root_tests.py [--work DIR] [--releases bullseye,bookworm,trixie]
  --work      where the roots and the cached debootstrap tarballs go (default: build/root-tests)
  --releases  default: the supported releases but the machine's own, which scripts/test builds
              and tests whole on the machine itself (named here, its root runs the unit and PAM
              tests)

Needs root and the Debian mirror of the machine's apt sources (read when it runs); a tarball of
each bootstrapped root is cached by date under --work, so later runs the same day skip
debootstrap. Nothing outside --work is changed."""

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / "tests" / "harness"))

from debian_root import (RELEASES, bootstrapped_tarball, debian_mirror, host_release,  # noqa: E402
                         kill_processes_in, log, remove_root, run, unmount_all, unpacked_root)

# What a minimal root needs to build the module and run those tests; the same names in every
# supported release (each gets its own versions).
PACKAGES = ["meson", "ninja-build", "pkg-config", "g++", "libpam0g-dev", "libaudit-dev",
            "libcurl4-openssl-dev", "rapidjson-dev", "ca-certificates", "libcmocka-dev",
            "libpam-wrapper", "libnss-wrapper", "pamtester", "python3",
            "openssl", "curl", "binutils"]
# The oldest release (libcurl 7.74, where the module works without the newer options) runs the
# fault tests too. The machine's own release runs every suite on the machine itself
# (scripts/test), and is left out by default: a clean root of it would only add that the
# package list suffices, which the other releases' clean roots show for the same names (and it
# cost the suite a full build, some 90 s). Named with --releases, its root runs the unit and PAM
# tests. (The fault tests take some 80 s a release, their two parts side by side; the suite must
# stay well under 30 min.)
OLDEST_SUITES = ["unit", "pam", "local", "faults"]
SUITES = ["unit", "pam", "local"]
OWN_RELEASE_SUITES = ["unit", "pam"]


def suites_for(suite):
    if suite == host_release():
        return OWN_RELEASE_SUITES
    return OLDEST_SUITES if suite == RELEASES[0] else SUITES
# The releases the README's commands are promised on (its first lines); the machine's own runs
# them itself.
README_RELEASES = ["bookworm", "trixie"]


def demo_releases(releases):
    return [suite for suite in releases.split(",")
            if suite in README_RELEASES and suite != host_release()]


class Results(list):
    """(ok, name, diagnostics) of one job, kept until the main thread prints them in order (the
    releases run side by side: their builds share the CPU, the fault tests mostly wait)."""

    def result(self, ok, name, diagnostics=()):
        self.append((ok, name, list(diagnostics)))


class Tap:
    number = failed = 0

    def result(self, ok, name, diagnostics=()):
        self.number += 1
        self.failed += 0 if ok else 1
        print(f"{'ok' if ok else 'not ok'} {self.number} - {name}", flush=True)
        for line in diagnostics:
            print(f"#   {line}"[:400], flush=True)


def source_files():
    """The tree as a clean clone has it: git's list when there is one (and git is installed:
    a clone copied to the machine need not bring it), else every file but build output."""
    listed = run(["git", "-C", str(TOP), "ls-files", "-z", "--cached", "--others",
                  "--exclude-standard"]) if shutil.which("git") else None
    if listed and listed.returncode == 0:
        return [name for name in listed.stdout.split("\0") if name]
    names = []
    for directory, subdirs, files in os.walk(TOP):
        relative = os.path.relpath(directory, TOP)
        subdirs[:] = [d for d in subdirs if d not in (".git", "build")]
        names += [os.path.normpath(os.path.join(relative, f)) for f in files]
    return names


def copy_tree(destination):
    for name in source_files():
        source = TOP / name
        if not source.is_file():
            continue  # deleted in the work tree, not yet in git's index
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def failed_cases(stdout):
    lines = stdout.splitlines()
    out = []
    for index, line in enumerate(lines):
        if line.startswith("not ok") and "# SKIP" not in line.upper():
            out.append(line)
            out += [follow for follow in lines[index + 1:index + 12] if follow.startswith("#")]
    return out[:60]


def cases(stdout):
    return sum(1 for line in stdout.splitlines() if line.startswith(("ok ", "not ok ")))


def build_release(tap, suite, mirror, work):
    """The root of `suite` with the tree built in it; None when a step failed (reported)."""
    started = time.monotonic()
    path = work / f"root-{suite}"
    try:
        tarball = bootstrapped_tarball(work / "cache", mirror, suite, PACKAGES)
        root = unpacked_root(tarball, path, recursive_dev=True)
        copy_tree(root.writable("/src"))
        versions = root.run("dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "meson", "g++",
                            "libcurl4-openssl-dev", "libpam0g-dev", "python3").stdout
    except Exception as error:  # noqa: BLE001 (any failure is this step's, with its words)
        tap.result(False, f"{suite}: root with the build packages", str(error).splitlines())
        return None
    tap.result(True, f"{suite}: root with the build packages "
                     f"({time.monotonic() - started:.0f} s; "
                     + ", ".join(" ".join(line.split()) for line in versions.splitlines()) + ")")
    try:
        started = time.monotonic()
        setup = root.run("meson", "setup", "/build", "/src", "-Dfuzz=false", check=False,
                         timeout=600)
        build = setup if setup.returncode != 0 else root.run("ninja", "-C", "/build",
                                                             check=False, timeout=1800)
    finally:
        kill_processes_in(path)
    if build.returncode != 0:
        output = (build.stdout + build.stderr).splitlines()
        tap.result(False, f"{suite}: meson setup and build", output[-40:])
        return None
    tap.result(True, f"{suite}: meson setup and build ({time.monotonic() - started:.0f} s)")
    return root


def test_release(tap, suite, root):
    """meson test in the built root: one result per Meson test."""
    started = time.monotonic()
    try:
        arguments = ["meson", "test", "-C", "/build", "--num-processes", "2", "--print-errorlogs"]
        for name in suites_for(suite):
            arguments += ["--suite", name]
        tested = root.run(*arguments, check=False, timeout=2400)
    finally:
        kill_processes_in(root.path)
    log_path = root / "/build/meson-logs/testlog.json"
    if not log_path.exists():
        tap.result(False, f"{suite}: meson test wrote no testlog.json",
                   (tested.stdout + tested.stderr).splitlines()[-40:])
        return
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line]
    for entry in entries:
        stdout = entry.get("stdout") or ""
        ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
        output = (stdout + (entry.get("stderr") or "")).splitlines()
        tap.result(ok, f"{suite}: {entry['name']} ({entry.get('result')}, {cases(stdout)} "
                       "cases)", [] if ok else failed_cases(stdout) or output[-30:])
    log(f"{suite}: meson test {time.monotonic() - started:.0f} s")


def demo_release(tap, suite, mirror, work):
    """The README's first command as a new user runs it: scripts/demo --auto, as root, in a bare
    minbase root, installing what it needs with apt-get itself."""
    started = time.monotonic()
    path = work / f"demo-{suite}"
    try:
        root = unpacked_root(bootstrapped_tarball(work / "cache", mirror, suite, []), path,
                             recursive_dev=True)
        shutil.copyfile("/etc/resolv.conf", root.writable("/etc/resolv.conf"))
        copy_tree(root.writable("/src"))
        demo = root.run("sh", "-c", "cd /src && scripts/demo --auto", check=False, timeout=1800)
        output = (demo.stdout + demo.stderr).splitlines()
        ok = demo.returncode == 0 and "pamtester: successfully authenticated" in demo.stdout
        tap.result(ok, f"{suite}: scripts/demo --auto in a bare root "
                       f"({time.monotonic() - started:.0f} s)", [] if ok else output[-40:])
    except Exception as error:  # noqa: BLE001 (any failure is this step's, with its words)
        tap.result(False, f"{suite}: scripts/demo --auto in a bare root", str(error).splitlines())
    finally:
        kill_processes_in(path)
        unmount_all(path)
        remove_root(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default=str(TOP / "build" / "root-tests"))
    parser.add_argument("--releases", default=",".join(
        suite for suite in RELEASES if suite != host_release()))
    parser.add_argument("--keep", action="store_true",
                        help="leave the roots in --work (unmounted) to look into them")
    parser.add_argument("--bootstrap-only", action="store_true",
                        help="only make the cached tarballs (network-bound: scripts/test runs "
                             "this while it builds)")
    args = parser.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    tap = Tap()

    def interrupted(number, _frame):
        raise KeyboardInterrupt(f"signal {number}")

    signal.signal(signal.SIGTERM, interrupted)
    try:
        if os.geteuid() != 0:
            tap.result(False, "the release roots need root (debootstrap, chroot, mount)")
        elif not shutil.which("debootstrap"):
            tap.result(False, "debootstrap is not installed")
        elif not debian_mirror():
            tap.result(False, "the machine's apt sources name no Debian mirror")
        elif args.bootstrap_only:
            for suite in args.releases.split(","):
                try:
                    bootstrapped_tarball(work / "cache", debian_mirror(), suite, PACKAGES)
                    if suite in demo_releases(args.releases):
                        bootstrapped_tarball(work / "cache", debian_mirror(), suite, [])
                    tap.result(True, f"{suite}: bootstrapped")
                except Exception as error:  # noqa: BLE001 (reported; the test run retries)
                    tap.result(False, f"{suite}: debootstrap", str(error).splitlines()[-20:])
        else:
            # The roots are made and built side by side (CPU and network), then tested one
            # after the other: the fault tests time what the module does, and must not share
            # the CPU with a compiler. The demo runs whole in the first phase.
            mirror = debian_mirror()
            suites = args.releases.split(",")
            # Two at a time (three builds at once on two cores were slower than one by one);
            # the demo first, whose apt-get waits on the network while a build runs.
            jobs = [(demo_release, suite) for suite in demo_releases(args.releases)]
            jobs += [(build_release, suite) for suite in suites]
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                running = []
                for job, suite in jobs:
                    results = Results()
                    running.append((results, pool.submit(job, results, suite, mirror, work)))
                roots = {}
                for (job, suite), (results, future) in zip(jobs, running):
                    error = future.exception()
                    for ok, name, diagnostics in results:
                        tap.result(ok, name, diagnostics)
                    if error is not None:
                        tap.result(False, f"{suite}: {job.__name__}", repr(error).splitlines())
                    elif job is build_release and future.result() is not None:
                        roots[suite] = future.result()
            for suite in suites:
                if suite in roots:
                    test_release(tap, suite, roots[suite])
    finally:
        unmount_all(work)
        for suite in RELEASES if not args.keep else []:
            remove_root(work / f"root-{suite}")
            remove_root(work / f"demo-{suite}")
    print(f"1..{tap.number}", flush=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
