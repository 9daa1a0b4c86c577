#!/usr/bin/python3
"""The shape of the production code: every file's length and its longest function.

Issue 12 set the limits: no production file over 300 lines, no function over 60. Files are
counted with every line (blank lines and comments too); a function from the line that names it
to its closing brace, as Universal Ctags reports them (`line:` and `end:`), so a lambda counts
inside the function that holds it. Prints one TAP line a file; `not ok` for a file over either
limit, and exits 1 when any is.

Usage: scripts/shape.py [ROOT]   (ROOT: the source tree, default: this script's parent's parent)
"""

import os
import subprocess
import sys

MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60
SOURCE_DIRS = ("src", "include")
SUFFIXES = (".cpp", ".hpp", ".h", ".c")


def production_files(root):
    found = []
    for top in SOURCE_DIRS:
        for folder, _, names in os.walk(os.path.join(root, top)):
            found += [os.path.join(folder, name) for name in names if name.endswith(SUFFIXES)]
    return sorted(found)


def functions_of(path):
    """(name, first line, length) of each function ctags finds in `path`."""
    listing = subprocess.run(
        ["ctags", "--fields=+ne", "--kinds-C++=f", "--language-force=C++", "-o", "-", path],
        check=True, capture_output=True, text=True).stdout
    found = []
    for line in listing.splitlines():
        fields = dict(part.split(":", 1) for part in line.split("\t") if ":" in part)
        if "line" in fields and "end" in fields:
            first, last = int(fields["line"]), int(fields["end"])
            scope = fields.get("class") or fields.get("struct") or fields.get("namespace") or ""
            scope = scope.rsplit("::", 1)[-1]
            name = line.split("\t", 1)[0]
            # Lambdas and unnamed namespaces have made-up names (__anon...): a lambda counts
            # within its function.
            if not name.startswith("__anon"):
                qualified = name if not scope or scope.startswith("__anon") else scope + "::" + name
                found.append((qualified, first, last - first + 1))
    return found


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    files = production_files(root)
    print("1..%d" % len(files))
    bad = 0
    for number, path in enumerate(files, 1):
        with open(path, encoding="utf-8") as source:
            lines = sum(1 for _ in source)
        functions = functions_of(path)
        longest = max(functions, key=lambda f: f[2], default=("-", 0, 0))
        over = [f for f in functions if f[2] > MAX_FUNCTION_LINES]
        ok = lines <= MAX_FILE_LINES and not over
        bad += not ok
        name = os.path.relpath(path, root)
        print("%s %d - %s: %d lines, longest function %s (%d lines)" % (
            "ok" if ok else "not ok", number, name, lines, longest[0], longest[2]))
        for function in over:
            print("# %s:%d: %s is %d lines" % (name, function[1], function[0], function[2]))
    print("# %d of %d production files over %d lines or with a function over %d lines" % (
        bad, len(files), MAX_FILE_LINES, MAX_FUNCTION_LINES))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
