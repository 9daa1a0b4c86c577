"""Runs unittest cases and prints TAP as each ends, so that Meson (and scripts/test) count each
case: `ok N - name`, `not ok N - name` with the failure and the test's own diagnostics as `#`
lines, `ok N - name # SKIP reason`, and how long each took."""

import os
import sys
import time
import unittest


def emit(line=""):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diagnostic(text):
    for line in str(text).rstrip("\n").splitlines() or [""]:
        emit(f"# {line}")


class TapResult(unittest.TestResult):
    """A test class may define diagnostics() -> list of lines, printed when one of its tests
    fails. `interrupted` (set by a signal handler) fails the test under way."""

    interrupted = None

    def __init__(self):
        super().__init__()
        self.number, self.any_failed = 0, False
        self._problems, self._skip, self._start = [], None, 0.0

    @staticmethod
    def name_of(test):
        cls, method = test.id().split(".")[-2:]
        return f"{cls}.{method[len('test_'):] if method.startswith('test_') else method}"

    def startTest(self, test):
        super().startTest(test)
        self._problems, self._skip, self._start = [], None, time.monotonic()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problems.append(self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._problems.append(self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._skip = reason

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:  # the row's parameters first: a table's failing row is named
            self._problems.append(f"in {subtest}:\n"
                                  + self._exc_info_to_string(err, test))

    def stopTest(self, test):
        super().stopTest(test)
        if self.interrupted and not self._problems:
            self._problems.append(f"interrupted by {self.interrupted}")
        self.number, name = self.number + 1, self.name_of(test)
        self.any_failed |= bool(self._problems)
        skip = "" if self._skip is None else f" # SKIP {self._skip}"
        emit(f"not ok {self.number} - {name}" if self._problems else
             f"ok {self.number} - {name}{skip}")
        for problem in self._problems:
            diagnostic(problem)
        if self._problems and hasattr(test, "diagnostics"):
            try:
                diagnostic("\n".join(test.diagnostics()))
            except Exception as error:  # noqa: BLE001
                diagnostic(f"(no diagnostics: {error!r})")
        diagnostic(f"{name}: {time.monotonic() - self._start:.1f} s")


def run(test_case_classes):
    """Runs every test of the given TestCase classes and the plan line; True when none failed.
    For a quick inner loop, VERIF8_TESTS=Name,Other runs only the tests whose id contains one
    of the names (scripts/test never sets it)."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in test_case_classes)
    wanted = [name for name in os.environ.get("VERIF8_TESTS", "").split(",") if name]
    if wanted:
        suite = unittest.TestSuite(test for group in suite for test in group
                                   if any(name in test.id() for name in wanted))
    suite.run(result := TapResult())
    emit(f"1..{result.number}" + ("" if result.number else "\n# no test ran"))
    return result.number > 0 and not result.any_failed
