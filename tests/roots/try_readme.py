#!/usr/bin/python3
"""The README's test command as a new user runs it: `scripts/test`, as root, from a copy of this
tree in /root (root's home, closed to other users, as a clone made there is), in a bare minbase
root of a Debian release that has nothing installed but what scripts/test installs itself. Not
part of scripts/test (it takes as long again); run it before a release, or after a change to
what the suite installs or where it runs things. Prints the suite's own output and ends with its
exit status.

usage: try_readme.py RELEASE [--work DIR] [--keep]
  RELEASE  bookworm or trixie (the releases the README promises)
  --work   where the root and the cached debootstrap tarball go (default: build/root-tests)
  --keep   leave the root (unmounted) to look into it

Needs root and the machine's Debian mirror (from its apt sources, as the roots stage). The
project's shared folder (../shared), when there is one, is copied beside the tree, as CI has it."""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOP = HERE.parents[1]
sys.path.insert(0, str(TOP / "tests" / "harness"))

from debian_root import (bootstrapped_tarball, debian_mirror, kill_processes_in,  # noqa: E402
                         remove_root, unmount_all, unpacked_root)
from run_root_tests import README_RELEASES, copy_tree  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("release", choices=README_RELEASES)
    parser.add_argument("--work", default=str(TOP / "build" / "root-tests"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    mirror = debian_mirror()
    if not mirror:
        print("the machine's apt sources name no Debian mirror", file=sys.stderr)
        return 1
    work = Path(args.work).resolve()
    path = work / f"readme-{args.release}"
    root = unpacked_root(bootstrapped_tarball(work / "cache", mirror, args.release, []), path,
                         recursive_dev=True)
    try:
        shutil.copyfile("/etc/resolv.conf", root.writable("/etc/resolv.conf"))
        copy_tree(root.writable("/root/pam_verif8"))
        if (TOP.parent / "shared").is_dir():
            shutil.copytree(TOP.parent / "shared", root.writable("/root/shared"))
        with root.mounted():
            # Not root.run(): the suite's output goes straight to ours, as it runs.
            return subprocess.run(["chroot", str(path), "sh", "-c",
                                   "cd /root/pam_verif8 && scripts/test"],
                                  env=root.ENV).returncode
    finally:
        kill_processes_in(path)
        unmount_all(path)
        if not args.keep:
            remove_root(path)


if __name__ == "__main__":
    sys.exit(main())
