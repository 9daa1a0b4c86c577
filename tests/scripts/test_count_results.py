#!/usr/bin/python3
"""scripts/count_results.py, which gives the whole suite its closing line and its exit status:
TAP cases are counted one by one, a crashed or cut-short runner is a failure, and every failed
case is printed with its diagnostics above the total (CI keeps only the end of the log)."""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "harness"))

import tap  # noqa: E402

SCRIPT = HERE.parent.parent / "scripts" / "count_results.py"
FAILED_CASE = ("1..3\nok 1 - first\nnot ok 2 - second\n# 0x1 != 0x2\n# x.cpp:6: error: Failure!"
               "\nok 3 - third\n# not ok - cmocka's own summary\n")
SKIPS_AND_TODO = ("1..4\nok 1 - a\nok 2 - b # SKIP no sshd\nnot ok 3 - c # TODO later\n"
                  "not ok 4 # SKIP d\n")

# name: (Meson testlog entries, exit status, every line printed)
TESTLOGS = {
    "counts_every_tap_case_and_plain_test": (
        [{"name": "unit", "result": "OK", "stdout": "1..3\nok 1 - a\nok 2 - b\nok 3 - c\n"},
         {"name": "plain", "result": "OK", "stdout": "no tap here\n"}],
        0, ["4 passed, 0 failed"]),
    "failed_case_is_printed_with_its_diagnostics_above_the_total": (
        [{"name": "pam_login", "result": "ERROR", "stdout": FAILED_CASE}],
        1, ["pam_login: not ok 2 - second", "    # 0x1 != 0x2", "    # x.cpp:6: error: Failure!",
            "2 passed, 1 failed"]),
    "a_runner_that_crashed_after_its_cases_is_a_failure": (
        [{"name": "e2e", "result": "ERROR", "stdout": "ok 1 - a\n"}],
        1, ["e2e: ERROR after its cases passed", "1 passed, 1 failed"]),
    "skips_and_todo": (
        [{"name": "t", "result": "OK", "stdout": SKIPS_AND_TODO}],
        0, ["1 passed, 0 failed, 2 skipped"]),
    "nothing_ran_is_a_failure": ([], 1, ["no test ran", "0 passed, 1 failed"]),
    "long_diagnostics_are_cut": (
        [{"name": "faults", "result": "FAIL", "stdout": "1..1\nnot ok 1 - noisy\n"
          + "".join(f"# line {n}\n" for n in range(100))}],
        1, ["faults: not ok 1 - noisy", *(f"    # line {n}" for n in range(30)),
            "0 passed, 1 failed"]),
}


class CountResults(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="verif8-count-")
        self.addCleanup(self.dir.cleanup)

    def write_testlog(self, *entries):
        path = Path(self.dir.name) / f"log{len(list(Path(self.dir.name).iterdir()))}.json"
        path.write_text("".join(json.dumps(entry) + "\n" for entry in entries))
        return str(path)

    def run_script(self, *args):
        result = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                                text=True, timeout=60)
        return result.returncode, result.stdout.splitlines()

    def test_a_long_diagnostic_line_is_cut(self):
        stdout = "1..1\nnot ok 1 - quoted\n# AssertionError: " + "x" * 5000 + "\n"
        status, lines = self.run_script(self.write_testlog(
            {"name": "sandbox", "result": "FAIL", "stdout": stdout}))
        self.assertEqual((status, len(lines), lines[1][-6:]), (1, 3, " [...]"))
        self.assertLess(len(lines[1]), 320)

    def test_outside_tap_without_a_plan_and_extras(self):
        tap_file = Path(self.dir.name) / "packages.tap"
        tap_file.write_text("ok 1 - built\nnot ok 2 - installed\n# apt-get failed\n")
        self.assertEqual(self.run_script("--tap", str(tap_file), "--extra", "demo=ok",
                                         "--extra", "bench=failed"),
                         (1, [f"{tap_file}: not ok 2 - installed", "    # apt-get failed",
                              f"{tap_file}: no TAP plan line: the runner did not finish",
                              "bench: failed", "2 passed, 3 failed"]))


# One test a row of TESTLOGS, named after it.
for _name, (_entries, _status, _lines) in TESTLOGS.items():
    setattr(CountResults, f"test_{_name}", lambda self, e=_entries, s=_status, out=_lines:
            self.assertEqual(self.run_script(self.write_testlog(*e)), (s, out)))

if __name__ == "__main__":
    sys.exit(0 if tap.run([CountResults]) else 1)
