"""A program on a pseudo-terminal, driven the way a person at a terminal would: wait for a
prompt, type an answer, read what comes back. Used by the demo and the local-login tests."""

import contextlib
import os
import pty
import select
import subprocess
import time


class PtySession:
    def __init__(self, command, env):
        self.controller, terminal = pty.openpty()
        # stdout and stderr both on the terminal: misc_conv (pamtester) prompts on stderr.
        self.process = subprocess.Popen(command, env=env, stdin=terminal, stdout=terminal,
                                        stderr=terminal, close_fds=True, start_new_session=True)
        os.close(terminal)
        self.screen = b""

    def _read(self, timeout):
        """The next chunk, b"" when nothing came in time, None when the program closed it."""
        if not select.select([self.controller], [], [], timeout)[0]:
            return b""
        try:
            return os.read(self.controller, 4096) or None
        except OSError:
            return None

    def expect(self, marker, timeout=30):
        """Reads until `marker` (str) shows up after what was already matched; returns the text
        read since the previous expect."""
        marker, start = marker.encode(), len(self.screen)
        deadline = time.monotonic() + timeout
        while marker not in self.screen[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {marker!r} within {timeout} s; screen: {self.text()!r}")
            chunk = self._read(left)
            if chunk is None:
                raise EOFError(f"the program ended before {marker!r}; screen: {self.text()!r}")
            self.screen += chunk
        return self.screen[start:].decode(errors="replace")

    def type(self, text):
        os.write(self.controller, text.encode() + b"\n")

    def finish(self, timeout=30):
        """Reads to the end and returns the exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            chunk = self._read(0.2)
            if chunk is None:
                break
            self.screen += chunk
            if self.process.poll() is not None and not chunk:
                break
        try:
            return self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            self.close()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.controller)

    def text(self):
        return self.screen.decode(errors="replace").replace("\r", "")
