"""A PAM application in Python: drives the real libpam through ctypes (pam_start, pam_set_item,
pam_authenticate, pam_end) with a conversation function that answers each echo-off prompt from a
Python callable and records every message.

The process must already run under pam_wrapper and nss_wrapper: LD_PRELOAD is read by the dynamic
loader when the interpreter starts, so set it (PamWorld.env()) before that, e.g. by re-running the
script with that environment (see `run_under_pam_wrapper`). pam_wrapper copies the service
directory once, when it is loaded: write every service file before the process starts.

With PAM_WRAPPER_DEBUGLEVEL=3, pam_wrapper prints each pam_syslog line on stderr as
`... SYSLOG(priority): line`; `authenticate` captures fd 2 for the length of one login and returns
what was written, so each login's log lines come back with its result."""

import ctypes
import json
import os
import select
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Tuple

# <security/_pam_types.h>
PAM_SUCCESS = 0
PAM_OPEN_ERR = 1
PAM_SYMBOL_ERR = 2
PAM_SERVICE_ERR = 3
PAM_SYSTEM_ERR = 4
PAM_BUF_ERR = 5
PAM_PERM_DENIED = 6
PAM_AUTH_ERR = 7
PAM_CRED_INSUFFICIENT = 8
PAM_AUTHINFO_UNAVAIL = 9
PAM_USER_UNKNOWN = 10
PAM_MAXTRIES = 11
PAM_CONV_ERR = 19
PAM_IGNORE = 25
PAM_ABORT = 26

PAM_SILENT = 0x8000
PAM_DISALLOW_NULL_AUTHTOK = 0x0001

PAM_SERVICE = 1
PAM_USER = 2
PAM_TTY = 3
PAM_RHOST = 4
PAM_CONV = 5
PAM_AUTHTOK = 6
PAM_RUSER = 8

PAM_PROMPT_ECHO_OFF = 1
PAM_PROMPT_ECHO_ON = 2
PAM_ERROR_MSG = 3
PAM_TEXT_INFO = 4

NAMES = {value: name for name, value in globals().items()
         if name.startswith("PAM_") and isinstance(value, int) and name not in (
             "PAM_SILENT", "PAM_DISALLOW_NULL_AUTHTOK", "PAM_SERVICE", "PAM_USER", "PAM_TTY",
             "PAM_RHOST", "PAM_CONV", "PAM_AUTHTOK", "PAM_RUSER", "PAM_PROMPT_ECHO_OFF",
             "PAM_PROMPT_ECHO_ON", "PAM_ERROR_MSG", "PAM_TEXT_INFO")}
NAMES[PAM_SUCCESS] = "PAM_SUCCESS"


def name_of(code):
    return NAMES.get(code, f"PAM code {code}")


class PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


CONV_FUNC = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int,
                             ctypes.POINTER(ctypes.POINTER(PamMessage)),
                             ctypes.POINTER(ctypes.POINTER(PamResponse)), ctypes.c_void_p)


class PamConv(ctypes.Structure):
    _fields_ = [("conv", CONV_FUNC), ("appdata_ptr", ctypes.c_void_p)]


# What an answer callable may return instead of a string.
ABORT = object()  # the conversation fails (PAM_CONV_ERR), as when the user presses Ctrl-D
NULL_REPLY = object()  # the conversation succeeds but hands back a NULL reply


_libs = None


def _load():
    """libpam's functions as the process's global scope resolves them, so that pam_wrapper's
    preloaded pam_start (which reads the copied service directory) is the one called, not the
    one a dlsym on libpam's own handle would find."""
    global _libs
    if _libs is None:
        if "libpam_wrapper.so" not in os.environ.get("LD_PRELOAD", ""):
            raise RuntimeError("pam_client needs pam_wrapper preloaded (LD_PRELOAD set before "
                               "the interpreter started)")
        ctypes.CDLL("libpam.so.0", mode=ctypes.RTLD_GLOBAL)
        scope = ctypes.CDLL(None)
        # malloc and free as the process resolves them, so that a reply allocated here is freed
        # by the same allocator libpam and the module use: in a sanitized run that is ASan's,
        # not libc's (a handle on libc itself would bypass ASan's interposition).
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.calloc.restype = ctypes.c_void_p
        libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        libc.free.restype = None
        scope.pam_start.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(PamConv),
                                    ctypes.POINTER(ctypes.c_void_p)]
        scope.pam_start.restype = ctypes.c_int
        scope.pam_set_item.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        scope.pam_set_item.restype = ctypes.c_int
        scope.pam_authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int]
        scope.pam_authenticate.restype = ctypes.c_int
        scope.pam_end.argtypes = [ctypes.c_void_p, ctypes.c_int]
        scope.pam_end.restype = ctypes.c_int
        _libs = (scope, libc)
    return _libs


def _c_string(libc, text):
    """A malloc'ed NUL-terminated copy: libpam and its modules free() replies."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    if b"\0" in data:
        data = data[:data.index(b"\0")]  # C strings end at the first NUL anyway
    pointer = libc.malloc(len(data) + 1)
    if not pointer:
        raise MemoryError
    ctypes.memmove(pointer, data + b"\0", len(data) + 1)
    return pointer


@dataclass
class PamResult:
    code: int  # what pam_authenticate returned (the whole stack's result)
    prompts: List[str] = field(default_factory=list)  # echo-off and echo-on prompt texts
    errors: List[str] = field(default_factory=list)  # PAM_ERROR_MSG texts
    infos: List[str] = field(default_factory=list)  # PAM_TEXT_INFO texts
    elapsed: float = 0.0  # seconds spent in pam_authenticate
    log: str = ""  # everything written to fd 2 during the login (pam_syslog through pam_wrapper)
    start_code: int = PAM_SUCCESS

    @property
    def name(self):
        return name_of(self.code)

    @property
    def module_code(self):
        """The module's own return code, for a stack whose only auth line is the module
        (`auth required MODULE`): libpam reports a stack in which every module returned
        PAM_IGNORE as PAM_PERM_DENIED (nothing decided, so it fails), and pam_verif8 never
        returns PAM_PERM_DENIED itself, so that result means the module returned PAM_IGNORE."""
        return PAM_IGNORE if self.code == PAM_PERM_DENIED else self.code

    @property
    def module_name(self):
        return name_of(self.module_code)

    def syslog(self):
        """The pam_syslog lines of this login, without pam_wrapper's prefix."""
        lines = []
        for line in self.log.splitlines():
            at = line.find("SYSLOG(")
            if at >= 0:
                end = line.find("): ", at)
                lines.append(line[end + 3:] if end >= 0 else line[at:])
        return lines


def authenticate(service: str, user: str, answer: Callable[[str], object],
                 rhost: Optional[str] = None, flags: int = 0,
                 items: Tuple[Tuple[int, str], ...] = (), capture_stderr: bool = True,
                 log_path: Optional[str] = None,
                 before: Optional[Callable[[], None]] = None) -> PamResult:
    """One login: pam_start(service, user), PAM_RHOST and other items, pam_authenticate(flags),
    pam_end. `answer(prompt)` gives the reply to each prompt: a str, ABORT or NULL_REPLY. An
    exception raised by `answer` fails the conversation and is raised again after pam_end.

    capture_stderr: fd 2 goes to a temp file (or log_path) during the login; its text is
    returned in result.log.

    before: called once the handle is set up, right before pam_authenticate (a barrier, say)."""
    scope, libc = _load()
    result = PamResult(code=PAM_SYSTEM_ERR)
    problems = []

    def conversation(count, messages, replies, _appdata):
        try:
            array = libc.calloc(count, ctypes.sizeof(PamResponse))
            if not array:
                return PAM_BUF_ERR
            responses = ctypes.cast(array, ctypes.POINTER(PamResponse))
            for index in range(count):
                message = messages[index].contents
                text = (message.msg or b"").decode("utf-8", "replace")
                style = message.msg_style
                if style in (PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON):
                    result.prompts.append(text)
                    reply = answer(text)
                    if reply is ABORT:
                        _free_responses(libc, responses, index)
                        libc.free(array)
                        return PAM_CONV_ERR
                    if reply is NULL_REPLY:
                        continue
                    responses[index].resp = _c_string(libc, reply)
                elif style == PAM_ERROR_MSG:
                    result.errors.append(text)
                elif style == PAM_TEXT_INFO:
                    result.infos.append(text)
                else:
                    _free_responses(libc, responses, index)
                    libc.free(array)
                    return PAM_CONV_ERR
            replies[0] = responses
            return PAM_SUCCESS
        except BaseException as error:  # noqa: BLE001 - must not unwind through libpam
            problems.append(error)
            return PAM_CONV_ERR

    callback = CONV_FUNC(conversation)
    conv = PamConv(callback, None)
    handle = ctypes.c_void_p()

    saved_fd = None
    capture = None
    if capture_stderr:
        sys.stderr.flush()
        if log_path:
            capture = open(log_path, "w+b")
        else:
            capture = tempfile.TemporaryFile()
        saved_fd = os.dup(2)
        os.dup2(capture.fileno(), 2)
    try:
        result.start_code = scope.pam_start(service.encode(), user.encode(), ctypes.byref(conv),
                                            ctypes.byref(handle))
        if result.start_code != PAM_SUCCESS:
            result.code = result.start_code
            return result
        keep = []
        all_items = list(items)
        if rhost is not None:
            all_items.append((PAM_RHOST, rhost))
        for item, value in all_items:
            data = ctypes.c_char_p(value.encode())
            keep.append(data)
            scope.pam_set_item(handle, item, ctypes.cast(data, ctypes.c_void_p))
        if before is not None:
            before()
        start = time.monotonic()
        result.code = scope.pam_authenticate(handle, flags)
        result.elapsed = time.monotonic() - start
        scope.pam_end(handle, result.code)
    finally:
        if capture_stderr:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            capture.seek(0)
            result.log = capture.read().decode("utf-8", "replace")
            capture.close()
    if problems:
        raise problems[0]
    return result


def _free_responses(libc, responses, count):
    for index in range(count):
        if responses[index].resp:
            libc.free(responses[index].resp)
            responses[index].resp = None


def run_under_pam_wrapper(env, marker="VERIF8_UNDER_PAM_WRAPPER"):
    """For a script's main(): when `marker` is not in the environment, runs this same script
    again with `env` (PamWorld.env(), which preloads pam_wrapper and nss_wrapper) plus the marker,
    and returns its exit status; returns None when already running under the wrapper. A child
    process rather than exec, so that the caller can clean up after it; it runs with a /tmp of
    its own (verif8_harness.in_private_tmp), where pam_wrapper's dirs meet no other suite's."""
    import subprocess
    import verif8_harness
    if os.environ.get(marker):
        return None
    env = dict(env)
    env[marker] = "1"
    command, env = verif8_harness.in_private_tmp([sys.executable, *sys.argv], env)
    return subprocess.run(command, env=env).returncode


class LoginInChild:
    """One login in a forked process that waits at each prompt until the test answers it, so
    that a test can act while a login holds its prompt: stop it, kill it, or start another.

    setup(): run in the child first (credentials of su's caller, say). Each prompt is reported
    to next_prompt(); answer(text) or abort() replies. finish() returns the result as a dict, or
    None when the process died without one (killed)."""

    def __init__(self, service, user, rhost=None, setup=None, log_path=None):
        self.pid = None
        prompts_r, prompts_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(prompts_r)
            os.close(answers_w)
            code = 0
            try:
                if setup is not None:
                    setup()
                answers = os.fdopen(answers_r, "r")

                def answer(prompt):
                    os.write(prompts_w, (json.dumps({"prompt": prompt}) + "\n").encode())
                    line = answers.readline()
                    reply = json.loads(line) if line else {"abort": True}
                    return ABORT if reply.get("abort") else reply["answer"]

                result = authenticate(service, user, answer, rhost=rhost, log_path=log_path)
                report = {"result": {"code": result.code, "name": result.name,
                                     "module_code": result.module_code,
                                     "module_name": result.module_name,
                                     "prompts": result.prompts, "errors": result.errors,
                                     "infos": result.infos, "elapsed": result.elapsed,
                                     "syslog": result.syslog()}}
            except BaseException:  # noqa: BLE001 - reported to the parent
                import traceback
                report = {"error": traceback.format_exc()}
                code = 1
            try:
                os.write(prompts_w, (json.dumps(report) + "\n").encode())
            finally:
                os._exit(code)  # never back into the test runner's code
        os.close(prompts_w)
        os.close(answers_r)
        self.pid = pid
        self._in = prompts_r
        self._out = answers_w
        self._buffer = b""

    def _line(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"login {self.pid}: nothing within {timeout} s")
            ready, _, _ = select.select([self._in], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._in, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def next_prompt(self, timeout=30):
        message = self._line(timeout)
        if message is None or "prompt" not in message:
            raise AssertionError(f"login {self.pid} ended instead of prompting: {message!r}")
        return message["prompt"]

    def answer(self, text):
        os.write(self._out, (json.dumps({"answer": text}) + "\n").encode())

    def abort(self):
        os.write(self._out, (json.dumps({"abort": True}) + "\n").encode())

    def finish(self, timeout=60):
        """The login's result (a dict), or None when its process died without one."""
        try:
            message = self._line(timeout)
        finally:
            os.close(self._out)
            os.close(self._in)
            os.waitpid(self.pid, 0)
        if message is not None and "error" in message:
            raise AssertionError(f"login {self.pid} failed:\n{message['error']}")
        if message is not None and "result" not in message:
            raise AssertionError(f"login {self.pid} still prompts: {message!r}")
        return None if message is None else message["result"]
