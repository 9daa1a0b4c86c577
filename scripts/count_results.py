#!/usr/bin/python3
"""Counts test results from Meson's testlog.json files: every case of a TAP test (CMocka and our
Python tests print TAP), one for any other test. Prints every failed case with the diagnostic
lines under it (CI keeps only the end of a long log, so they go right above the total), then
the suite's closing line, "N passed, N failed" (", N skipped" when any), and exits 1 if
anything failed or nothing ran.

usage: count_results.py TESTLOG.json... [--extra NAME=ok|failed ...] [--tap FILE ...]
  --tap FILE  the TAP output of a runner started outside Meson (tests/packages); a file without
              its plan line ("1..N") counts one failure more, as a runner that died part-way"""

import json
import sys


MAX_DIAGNOSTIC_LINES = 30
MAX_LINE = 300  # an assertion may quote a whole log in one line


def failed_cases(name, stdout):
    """The "not ok" lines of a TAP stream, each with the "#" lines that follow it."""
    out = []
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if (not line.strip().startswith("not ok") or "# TODO" in line
                or "# SKIP" in line.upper()):
            continue
        out.append(f"{name}: {line.strip()}")
        for following in lines[index + 1:index + 1 + MAX_DIAGNOSTIC_LINES]:
            if not following.strip().startswith("#"):
                break
            text = following.rstrip()
            out.append(f"    {text[:MAX_LINE]}" + (" [...]" if len(text) > MAX_LINE else ""))
    return out


def count_tap(stdout):
    passed = failed = skipped = 0
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("not ok"):
            if "# TODO" in line:
                continue
            if "# SKIP" in line.upper():
                skipped += 1  # CMocka reports a skipped case as "not ok N # SKIP name"
                continue
            failed += 1
        elif line.startswith("ok"):
            if "# SKIP" in line.upper():
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def main(argv):
    passed = failed = skipped = 0
    extras = []
    logs = []
    taps = []
    args = iter(argv)
    for arg in args:
        if arg == "--extra":
            extras.append(next(args))
        elif arg == "--tap":
            taps.append(next(args))
        else:
            logs.append(arg)
    for path in logs:
        with open(path) as handle:
            for line in handle:
                entry = json.loads(line)
                result = entry.get("result")
                stdout = entry.get("stdout") or ""
                tap_passed, tap_failed, tap_skipped = count_tap(stdout)
                if tap_passed + tap_failed + tap_skipped > 0:
                    for text in failed_cases(entry["name"], stdout):
                        print(text)
                    passed += tap_passed
                    failed += tap_failed
                    skipped += tap_skipped
                    # A TAP program that crashed after its last "ok" still failed.
                    if result not in ("OK", "EXPECTEDFAIL") and tap_failed == 0:
                        failed += 1
                        print(f"{entry['name']}: {result} after its cases passed")
                elif result == "SKIP":
                    skipped += 1
                elif result in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                else:
                    failed += 1
                    print(f"{entry['name']}: {result}")
    for path in taps:
        try:
            with open(path) as handle:
                text = handle.read()
        except OSError as error:
            text = ""
            print(f"{path}: {error.strerror}")
        tap_passed, tap_failed, tap_skipped = count_tap(text)
        for line in failed_cases(path, text):
            print(line)
        passed += tap_passed
        failed += tap_failed
        skipped += tap_skipped
        if not any(line.strip().startswith("1..") for line in text.splitlines()):
            failed += 1
            print(f"{path}: no TAP plan line: the runner did not finish")
    for extra in extras:
        name, _, outcome = extra.partition("=")
        if outcome == "ok":
            passed += 1
        else:
            failed += 1
            print(f"{name}: {outcome}")
    if passed + failed == 0:
        failed += 1
        print("no test ran")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
