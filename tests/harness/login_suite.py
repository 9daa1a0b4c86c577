"""The frame of the suites that log in through the built module and real libpam (pam_client under
pam_wrapper and nss_wrapper) against verif8-sandbox: tests/pam, tests/faults and tests/attacks.
pam_wrapper is preloaded and copies the service files once, as the interpreter starts: so `main`
builds the wrapper world, writes every service file, starts the sandbox and runs the suite again
with the wrappers preloaded, where the tests run against the `World` it left (LoginCase.world).
Here too: answers at the prompt, `LoginCase` (a test base that sees the requests, deliveries and
log lines of its own logins) and `table` (one test per row of a table)."""

import json
import os
import re
import secrets
import signal
import sys
import tempfile
import time
import unittest
from pathlib import Path
from typing import Callable, Optional

import pam_client as pc
import secret_scan
import verif8_harness as harness


class World:
    """What the second run finds: the built module, the run's temp dir and the sandbox. The dir
    holds world/ (services, passwd, users file, the suite's config), logs/ (one file per login),
    states/ (one state_dir per test), files/ (what tests write) and sandbox.out."""

    def __init__(self, name, module, work, sandbox):
        self.name, self.module, self.work, self.sandbox = name, module, work, sandbox
        self.dir, self.logs = work / "world", work / "logs"
        self.config = self.dir / f"{name}.conf"  # what the suite's services read
        self.users_file = self.dir / "pam_verif8.users"


def main(name, wrapped: Callable[[World], int], write_services, users=None, groups=None,
         sandbox_args=(), prepare_env: Optional[Callable[[dict], None]] = None):
    """The suite's entry point (argv[1] is the module). In the first run: a temp dir, the
    wrapper world with `users` and `groups`, `write_services(world, module, config, api_key)`,
    the sandbox (with `sandbox_args`), `prepare_env(env)` on the second run's environment, then
    the second run; returns its exit status. In the second run: `wrapped(World)`."""
    module = Path(sys.argv[1]).resolve()
    marker, work_variable, key_variable = (f"VERIF8_{name.upper()}_{what}"
                                           for what in ("UNDER_WRAPPER", "WORK", "API_KEY"))
    if os.environ.get(marker):
        work = Path(os.environ[work_variable])
        sandbox = harness.Sandbox(work / "sandbox", api_key=os.environ[key_variable])
        sandbox.info = json.loads((work / "sandbox" / "sandbox.json").read_text())
        LoginCase.world = World(name, module, work, sandbox)
        return wrapped(LoginCase.world)
    work = harness.temp_dir(f"verif8-{name}-")
    try:
        for directory in ("logs", "states", "files"):
            (work / directory).mkdir()
        world = harness.PamWorld(work / "world", users=users, groups=groups)
        api_key = f"{name}-key-" + secrets.token_hex(12)  # unique, so any sighting is a leak
        write_services(world, module, work / "world" / f"{name}.conf", api_key)
        with open(work / "sandbox.out", "w") as console, \
                harness.Sandbox(work / "sandbox", api_key=api_key, extra_args=sandbox_args,
                                stdout=console):
            env = {**world.env(), work_variable: str(work), key_variable: api_key}
            if prepare_env is not None:
                prepare_env(env)
            return pc.run_under_pam_wrapper(env, marker)
    finally:
        if os.environ.get("VERIF8_KEEP"):
            print(f"# kept {work}")
        else:
            harness.remove_tree(work)


def without_preloads():
    """The environment for a tool the tests run (openssl, a libcurl program): the run's
    preloads (wrappers, an ASan runtime) are not for it."""
    return {key: value for key, value in os.environ.items() if key != "LD_PRELOAD"}


def table(fields, *rows, variants=None):
    """A class decorator: test_NAME for each row (a tuple of the space-separated `fields`, the
    first of them `name`) running the class's check(**row); with `variants` ({suffix:
    {argument: value}}), one test_NAME_SUFFIX per row and variant, each with its arguments."""
    names = fields.split()

    def decorate(cls):
        for row in rows:
            arguments = dict(zip(names[1:], row[1:]))
            for suffix, extra in (variants or {"": {}}).items():
                def test(self, arguments={**arguments, **extra}):
                    self.check(**arguments)
                name = f"test_{row[0]}{'_' if suffix else ''}{suffix}"
                assert len(row) == len(names) and not hasattr(cls, name), row
                setattr(cls, name, test)
        return cls
    return decorate


def last_code(phone=None):
    """The code the sandbox delivered last (to `phone` when given)."""
    deliveries = [d for d in LoginCase.world.sandbox.deliveries()
                  if phone is None or d["destination"] == phone]
    if not deliveries:
        raise AssertionError("the sandbox delivered no code")
    return deliveries[-1]["code"]


def code(phone=None):
    """An answer: the code the sandbox delivered last (to `phone` when given)."""
    return lambda prompt=None: last_code(phone)


def wrong(prompt=None):
    """An answer: a well-formed code that is not the one delivered."""
    return "000000" if last_code() != "000000" else "111111"


def script(*steps):
    """An answer function that plays `steps` in order (str, callable(prompt), pc.ABORT or
    pc.NULL_REPLY) and aborts the conversation after the last."""
    remaining = list(steps)

    def answer(prompt):
        step = remaining.pop(0) if remaining else pc.ABORT
        return step(prompt) if callable(step) and step not in (pc.ABORT, pc.NULL_REPLY) else step
    return answer


def after(seconds, then, action=None):
    """A step that waits (as a slow user would), optionally does `action`, then answers."""
    def step(prompt):
        time.sleep(seconds)
        if action is not None:
            action()
        return then(prompt) if callable(then) else then
    return step


class LoginCase(unittest.TestCase):
    """Each test: a sandbox with no sessions and no faults, a fresh state_dir, the suite's
    config written for it (`settings` below, then the test's own), and the requests, deliveries
    and log lines of its own logins."""

    world: World = None  # set by main() in the second run
    service = None  # login()'s service: the suite's own stack
    rhost = None
    settings = {"fail_delay": "0"}  # the suite's config defaults beyond config_text's
    counter = 0

    def setUp(self):
        self.world.sandbox.control("reset")
        self.requests_before = len(self.world.sandbox.requests())
        self.deliveries_before = len(self.world.sandbox.deliveries())
        self.state_dir = Path(tempfile.mkdtemp(prefix="state-", dir=self.world.work / "states"))
        self.results = []
        self.configure()

    def configure(self, path=None, mode=0o600, **overrides):
        """Writes the config for this test; an override of None removes a key."""
        settings = {"state_dir": str(self.state_dir), **self.settings, **overrides}
        users = settings.pop("users_file", self.world.users_file)
        text = harness.config_text(self.world.sandbox, users, **settings)
        return harness.write_secure(path or self.world.config, text, mode=mode)

    def login(self, user="alice", answer=None, service=None, rhost=..., flags=0, limit=8.0):
        """One login through `service` (the suite's by default), its stderr kept in logs/.
        Every login must end within `limit` seconds (generous: rows about waits check tighter
        bounds themselves)."""
        LoginCase.counter += 1
        name = f"{LoginCase.counter:04d}-{self.id().split('.')[-1][:80]}.log"
        result = pc.authenticate(service or self.service, user, answer or script(code()),
                                 rhost=self.rhost if rhost is ... else rhost, flags=flags,
                                 log_path=str(self.world.logs / name))
        self.results.append(result)
        self.assertLess(result.elapsed, limit, f"the login took {result.elapsed:.2f} s")
        return result

    def child(self, user="alice", service=None, rhost=..., **options):
        """A pc.LoginInChild of `user` (options: setup, answer, after), killed if the test
        leaves it running."""
        login = pc.LoginInChild(service or self.service, user,
                                rhost=self.rhost if rhost is ... else rhost, **options)
        self.addCleanup(lambda: login.pid and os.kill(login.pid, signal.SIGKILL))
        return login

    def finish(self, login, code=None, outcome=None):
        """The child login's PamResult (or None: killed), with `code` and `outcome` if given."""
        result = login.finish()
        self.results += [result] if result else []
        if outcome is not None:
            self.assertOutcome(result, code, outcome)
        return result

    def new_requests(self):
        return self.world.sandbox.requests()[self.requests_before:]

    def new_deliveries(self):
        return self.world.sandbox.deliveries()[self.deliveries_before:]

    def seen(self):
        """What reached the API since the test began: [(method, status), ...], with "READ" for
        a status read (a GET without a code: the module reads the status before each check)."""
        return [("READ" if r["method"] == "GET" and not r["codePresent"] else r["method"],
                 r["status"]) for r in self.new_requests()]

    def assertSeen(self, expected):
        """seen() written as "POST 200, READ 200, GET None" ("" for nothing) matches the regex
        `expected` whole."""
        self.assertRegex(", ".join(f"{method} {status}" for method, status in self.seen()),
                         f"^{expected}$")

    def diagnostics(self):
        lines = []
        for number, result in enumerate(self.results, 1):
            lines.append(f"login {number}: {pc.name_of(result.code)} (module "
                         f"{result.module_name}) in {result.elapsed:.2f} s; prompts "
                         f"{result.prompts!r}; errors {result.errors!r}")
            lines += [f"  log: {line}" for line in result.syslog()]
        return lines + [f"request: {json.dumps(r)}" for r in self.new_requests()]

    def outcome_line(self, result):
        lines = [line for line in result.syslog() if "outcome=" in line]
        self.assertEqual(len(lines), 1, f"one outcome line per login: {result.syslog()!r}")
        return lines[0]

    def assertOutcome(self, result, code, outcome, reason=None):
        """The module's PAM code, its outcome= line, and a reason matching `reason` (regex)."""
        self.assertEqual(result.module_name, pc.name_of(code))
        line = self.outcome_line(result)
        self.assertRegex(line, rf"(^| )outcome={re.escape(outcome)}( |$)")
        if reason is not None:
            match = re.search(r'reason="((?:[^"\\]|\\.)*)"|reason=(\S+)', line)
            self.assertIsNotNone(match, f"no reason in {line!r}")
            self.assertRegex(match.group(1) or match.group(2), reason)
        return line

    def assertLogged(self, result, pattern):
        """A pam_syslog line of `result` matches `pattern` (regex)."""
        self.assertTrue(any(re.search(pattern, line) for line in result.syslog()),
                        f"a log line matching {pattern!r}")

    def assertNothingSent(self):
        self.assertEqual(self.new_requests(), [], "nothing may reach the API")
        self.assertEqual(self.new_deliveries(), [], "nothing may be delivered")


class SecretScan(unittest.TestCase):
    """Last in a run: no delivered code and no API key in anything the run wrote (the PAM logs,
    the sandbox's console and request log)."""

    minimum_logs, minimum_codes = 15, 5

    def test_no_code_or_key_in_any_log(self):
        world = LoginCase.world
        logs = secret_scan.read_logs(world.logs)
        self.assertGreater(len(logs), self.minimum_logs, "the run's PAM logs were captured")
        self.assertGreater(len(secret_scan.delivered_codes(world.sandbox.outbox)),
                           self.minimum_codes, "the run delivered codes")
        findings = secret_scan.scan_run(world.sandbox.outbox, world.sandbox.api_key, logs,
                                        world.work / "sandbox.out", world.sandbox.requests_log)
        self.assertEqual(findings, [], "\n".join(findings[:20]))
