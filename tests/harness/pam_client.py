"""A PAM application in Python: drives the real libpam through ctypes (pam_start, pam_set_item,
pam_authenticate, pam_end) with a conversation that answers each prompt from a Python callable.

It must run under pam_wrapper and nss_wrapper, preloaded before the interpreter started, with
every service file written before (pam_wrapper copies them once): see `run_under_pam_wrapper`.
With PAM_WRAPPER_DEBUGLEVEL=3 pam_wrapper prints each pam_syslog line on stderr as `...
SYSLOG(priority): line`; `authenticate` captures fd 2 for one login and returns it."""

import ctypes
import dataclasses
import functools
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable, List, Optional

import verif8_harness

# <security/_pam_types.h>: return codes (NAMES holds only these), flags, items, message styles
PAM_SUCCESS, PAM_OPEN_ERR, PAM_SYMBOL_ERR, PAM_SERVICE_ERR, PAM_SYSTEM_ERR, PAM_BUF_ERR = range(6)
PAM_PERM_DENIED, PAM_AUTH_ERR, PAM_CRED_INSUFFICIENT, PAM_AUTHINFO_UNAVAIL = range(6, 10)
PAM_USER_UNKNOWN, PAM_MAXTRIES, PAM_CONV_ERR, PAM_IGNORE, PAM_ABORT = 10, 11, 19, 25, 26
NAMES = {value: name for name, value in globals().items() if name.startswith("PAM_")}
PAM_SILENT, PAM_RHOST = 0x8000, 4
PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PAM_ERROR_MSG, PAM_TEXT_INFO = 1, 2, 3, 4


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


@functools.lru_cache(maxsize=None)
def _load():
    """libpam's functions and malloc/free as the process's global scope resolves them: so that
    pam_wrapper's preloaded pam_start (which reads the copied service directory) is called, not
    the one libpam's own handle would give, and a reply allocated here is freed by the allocator
    libpam and the module use (ASan's in a sanitized run, not libc's)."""
    if "libpam_wrapper.so" not in os.environ.get("LD_PRELOAD", ""):
        raise RuntimeError("pam_client needs pam_wrapper preloaded (LD_PRELOAD set before the "
                           "interpreter started)")
    ctypes.CDLL("libpam.so.0", mode=ctypes.RTLD_GLOBAL)
    scope, p, i = ctypes.CDLL(None), ctypes.c_void_p, ctypes.c_int
    for name, restype, argtypes in (
            ("malloc", p, [ctypes.c_size_t]), ("calloc", p, [ctypes.c_size_t] * 2),
            ("free", None, [p]), ("pam_set_item", i, [p, i, ctypes.c_char_p]),
            ("pam_start", i, [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(PamConv),
                              ctypes.POINTER(p)]),
            ("pam_authenticate", i, [p, i]), ("pam_end", i, [p, i])):
        getattr(scope, name).restype, getattr(scope, name).argtypes = restype, argtypes
    return scope


@dataclasses.dataclass
class PamResult:
    code: int  # what pam_authenticate returned (the whole stack's result)
    prompts: List[str] = dataclasses.field(default_factory=list)  # echo-off and echo-on texts
    errors: List[str] = dataclasses.field(default_factory=list)  # PAM_ERROR_MSG texts
    infos: List[str] = dataclasses.field(default_factory=list)  # PAM_TEXT_INFO texts
    elapsed: float = 0.0  # seconds spent in pam_authenticate
    log: str = ""  # everything written to fd 2 during the login (pam_syslog through pam_wrapper)

    @property
    def module_code(self):
        """The module's own code for a stack of `auth required MODULE` alone: libpam reports a
        stack in which every module returned PAM_IGNORE as PAM_PERM_DENIED, and pam_verif8
        never returns PAM_PERM_DENIED itself, so that result means PAM_IGNORE."""
        return PAM_IGNORE if self.code == PAM_PERM_DENIED else self.code

    @property
    def module_name(self):
        return name_of(self.module_code)

    def syslog(self):
        """The pam_syslog lines of this login, without pam_wrapper's prefix."""
        return [line[line.find("SYSLOG("):].split("): ", 1)[-1]
                for line in self.log.splitlines() if "SYSLOG(" in line]

    def to_json(self):  # to cross a process boundary; from_json() makes it again
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


def authenticate(service: str, user: str, answer: Callable[[str], object],
                 rhost: Optional[str] = None, flags: int = 0, log_path: Optional[str] = None,
                 before: Optional[Callable[[], None]] = None) -> PamResult:
    """One login: pam_start(service, user), PAM_RHOST, pam_authenticate(flags), pam_end, with fd 2
    captured (in log_path, or a temp file) into result.log. `answer(prompt)` gives each reply: a
    str, ABORT or NULL_REPLY; an exception it raises fails the conversation and is raised again
    after pam_end. `before()` runs right before pam_authenticate (a barrier, say)."""
    libc = _load()
    result = PamResult(code=PAM_SYSTEM_ERR)
    problems = []

    def conversation(count, messages, replies, _appdata):
        array = None
        try:
            array = libc.calloc(count, ctypes.sizeof(PamResponse))
            if not array:
                return PAM_BUF_ERR
            responses = ctypes.cast(array, ctypes.POINTER(PamResponse))
            for index in range(count):
                message = messages[index].contents
                text = (message.msg or b"").decode("utf-8", "replace")
                if message.msg_style in (PAM_ERROR_MSG, PAM_TEXT_INFO):
                    (result.errors if message.msg_style == PAM_ERROR_MSG
                     else result.infos).append(text)
                    continue
                reply = ABORT
                if message.msg_style in (PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON):
                    result.prompts.append(text)
                    reply = answer(text)
                if reply is ABORT:
                    break
                if reply is not NULL_REPLY:  # a malloc'ed copy, cut at the first NUL as in C
                    data = (reply.encode("utf-8", "surrogateescape") if isinstance(reply, str)
                            else bytes(reply)).split(b"\0")[0] + b"\0"
                    responses[index].resp = libc.malloc(len(data))
                    ctypes.memmove(responses[index].resp, data, len(data))
            else:
                replies[0] = responses
                return PAM_SUCCESS
        except BaseException as error:  # noqa: BLE001 - must not unwind through libpam
            problems.append(error)
        if array:
            for index in range(count):
                libc.free(responses[index].resp)
            libc.free(array)
        return PAM_CONV_ERR

    conv = PamConv(CONV_FUNC(conversation), None)
    handle = ctypes.c_void_p()
    sys.stderr.flush()
    capture = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()
    saved_fd = os.dup(2)
    os.dup2(capture.fileno(), 2)
    try:
        result.code = libc.pam_start(service.encode(), user.encode(), ctypes.byref(conv),
                                     ctypes.byref(handle))
        if result.code == PAM_SUCCESS:
            if rhost is not None:
                libc.pam_set_item(handle, PAM_RHOST, rhost.encode())
            if before is not None:
                before()
            start = time.monotonic()
            result.code = libc.pam_authenticate(handle, flags)
            result.elapsed = time.monotonic() - start
            libc.pam_end(handle, result.code)
    finally:
        sys.stderr.flush()
        os.dup2(saved_fd, 2)
        os.close(saved_fd)
        capture.seek(0)
        result.log = capture.read().decode("utf-8", "replace")
        capture.close()
    if problems:
        raise problems[0]
    return result


def run_under_pam_wrapper(env, marker="VERIF8_UNDER_PAM_WRAPPER"):
    """For a script's main(): when `marker` is not in the environment, runs this same script
    again with `env` (PamWorld.env(), which preloads pam_wrapper and nss_wrapper) plus the marker,
    and returns its exit status; returns None when already running under the wrapper. A child
    process rather than exec, so that the caller can clean up after it; it runs with a /tmp of
    its own (verif8_harness.in_private_tmp), where pam_wrapper's dirs meet no other suite's."""
    if os.environ.get(marker):
        return None
    # The module keys a login on its process tree: a login forked from the run counts as a round
    # of the run, and the run's own logins as another connection only when the run's parent is
    # the same program (/proc/PID/exe) in the same mount namespace, where the path reads the
    # same (in a chroot it would not). So the namespace's first process is a Python that waits
    # for the run, not the run itself.
    shim = "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"
    command, env = verif8_harness.in_private_tmp(
        [sys.executable, "-c", shim, sys.executable, *sys.argv], {**env, marker: "1"})
    return subprocess.run(command, env=env).returncode


class LoginInChild:
    """One login in a forked process that waits at each prompt until the test answers it, so
    that a test can act while a login holds its prompt: stop it, kill it, or start another.

    setup() runs in the child first (credentials of su's caller, say) and may return a dict,
    kept in `report` with that of after() (run once the login is over). Each prompt is reported
    to next_prompt(); answer(text) or abort() replies, unless `answer` (a callable) answers in
    the child. finish() returns the PamResult, or None when the process died without one."""

    def __init__(self, service, user, rhost=None, setup=None, log_path=None, answer=None,
                 after=None):
        prompts_r, prompts_w = os.pipe()
        answers_r, answers_w = os.pipe()
        self.pid, self.report = os.fork(), {}
        if self.pid == 0:
            os.close(prompts_r)
            os.close(answers_w)
            answers = os.fdopen(answers_r, "r")

            def relay(prompt):
                os.write(prompts_w, (json.dumps({"prompt": prompt}) + "\n").encode())
                reply = json.loads(answers.readline() or '{"abort": true}')
                return ABORT if reply.get("abort") else reply["answer"]
            try:
                report = (setup or dict)() or {}
                report["result"] = authenticate(service, user, answer or relay, rhost=rhost,
                                                log_path=log_path).to_json()
                report.update((after or dict)())
            except BaseException:  # noqa: BLE001 - reported to the parent
                report = {"error": traceback.format_exc()}
            try:
                os.write(prompts_w, (json.dumps(report) + "\n").encode())
            finally:
                os._exit(0)  # never back into the test runner's code
        os.close(prompts_w)
        os.close(answers_r)
        self._in, self._out = os.fdopen(prompts_r, "r"), answers_w

    def _line(self, timeout):
        # One message at most is ever unread: the child waits for an answer after each.
        if not select.select([self._in], [], [], timeout)[0]:
            raise TimeoutError(f"login {self.pid}: nothing within {timeout} s")
        line = self._in.readline()
        return json.loads(line) if line else None

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
        """The login's PamResult, or None when its process died without one."""
        try:
            message = self._line(timeout)
        finally:
            os.close(self._out)
            self._in.close()
            os.waitpid(self.pid, 0)
            self.pid = None
        if message is not None and "result" not in message:
            raise AssertionError(f"the login failed or still prompts:\n"
                                 f"{message.get('error', message)}")
        self.report = message or {}
        return None if message is None else PamResult.from_json(message["result"])
