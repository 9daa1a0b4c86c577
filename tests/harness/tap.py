"""Runs unittest cases and prints TAP, so that Meson (and scripts/test) count each case: `ok N -
name`, `not ok N - name` with the failure as `#` lines, `ok N - name # SKIP reason`."""

import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.number = 0

    def _line(self, text):
        self.stream.write(text + "\n")
        self.stream.flush()

    def _diagnostics(self, text):
        for line in text.rstrip().splitlines():
            self._line(f"# {line}")

    def addSuccess(self, test):
        super().addSuccess(test)
        self.number += 1
        self._line(f"ok {self.number} - {test._testMethodName}")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.number += 1
        self._line(f"not ok {self.number} - {test._testMethodName}")
        self._diagnostics(self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self.number += 1
        name = getattr(test, "_testMethodName", str(test))
        self._line(f"not ok {self.number} - {name}")
        self._diagnostics(self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.number += 1
        self._line(f"ok {self.number} - {test._testMethodName} # SKIP {reason}")


def run(test_case_classes, stream=sys.stdout):
    """Runs every test of the given TestCase classes; returns True when none failed."""
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in test_case_classes)
    result = TapResult(stream)
    suite.run(result)
    stream.write(f"1..{result.number}\n")
    if result.number == 0:
        stream.write("# no test ran\n")
        return False
    return result.wasSuccessful()
