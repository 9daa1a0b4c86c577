#!/usr/bin/python3
"""The man pages against groff, the shipped files and the built program. Prints TAP, one test
per check.

usage: check_docs.py VERIF8CTL

Every page renders without a warning (groff, and man and mandoc where installed) and no wider
than 80 columns; the keys of conf/pam_verif8.conf, pam_verif8.conf(5), README's key table and
the built program's loader (found by offering it every identifier in the binary) are the same;
each entry's example is accepted by the loader (`verif8ctl check-config`, as root), its range
and default are the parser's; api_key_file's modes are as documented; RETURN VALUES matches
README and the program; verif8ctl(8) matches --help and the exit statuses; man/meson.build
installs every page, and the pages name each other with the right section."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from unittest import SkipTest as Skip

ROOT = Path(__file__).resolve().parents[2]
MAN, CONF, README = ROOT / "man", ROOT / "conf" / "pam_verif8.conf", ROOT / "README.md"
PAGES = ["pam_verif8.8", "pam_verif8.conf.5", "verif8ctl.8"]
TOOL = None
RESULTS = []


def check(name):
    """Runs the decorated function at once (so loop variables need no binding) as one TAP test:
    Skip skips it, any exception fails it."""
    def run_it(function):
        try:
            function()
            RESULTS.append((name, "ok", ""))
        except Skip as reason:
            RESULTS.append((name, "skip", str(reason)))
        except Exception as problem:  # noqa: BLE001 - a broken check is a failed check
            RESULTS.append((name, "fail", str(problem) if isinstance(problem, AssertionError)
                            else f"{type(problem).__name__}: {problem}"))
    return run_it


def none_of(name, problems, root=False):
    """A check that passes when problems() finds none (and, with root, runs as root only)."""
    @check(name)
    def _():
        if root:
            need_root()
        found = problems()
        assert not found, found if isinstance(found, str) else f"{sorted(found)}"


def report():
    for number, (name, status, text) in enumerate(RESULTS, 1):
        skip = f" # SKIP {text}" if status == "skip" else ""
        print(f"{'not ' if status == 'fail' else ''}ok {number} - {name}{skip}")
        if status == "fail":
            print("\n".join(f"# {line}" for line in text.rstrip("\n").splitlines() or [""]))
    print(f"1..{len(RESULTS)}")
    return 1 if any(status == "fail" for _, status, _ in RESULTS) else 0


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)


def render(page, width=None):
    """Plain text of a page as groff formats it for a terminal (no bold, underline or SGR)."""
    width = [f"-rLL={width}n"] if width else []
    result = run(["groff", "-man", "-Tascii", "-P-cbou", *width, str(MAN / page)],
                 env=dict(os.environ, LC_ALL="C"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def sections(text, heading):
    """{name: the lines under it} for the lines matching `heading` (its group 1 is the name)."""
    parts = re.split(heading, text, flags=re.M)
    return {name.strip(): lines.splitlines()[1:] for name, lines in zip(parts[1::2], parts[2::2])}


def rendered(page, width=None):
    """{SECTION: lines} of the rendered page; headings start in column 0."""
    return sections(render(page, width), r"^([A-Z][A-Z0-9 .]+)$")


def source(page):
    """{SECTION: roff source lines}."""
    return sections((MAN / page).read_text(), r'^\.SH[ \t]+"?([^"\n]+?)"?[ \t]*$')


def tp_tags(lines, word=r"\S+"):
    """The `.B word` tags that follow `.TP` lines."""
    return [match.group(1) for previous, line in zip(lines, lines[1:])
            if previous == ".TP" and (match := re.match(rf"^\.B\s+({word})$", line))]


def key_entries():
    """{key: text of its entry} from SETTINGS of pam_verif8.conf(5), rendered unwrapped."""
    entries, current = {}, None
    for line in rendered("pam_verif8.conf.5", 2000).get("SETTINGS", []):
        start = re.match(r"^ {7}([a-z][a-z_]*)(?: +(.*))?$", line)
        if start:
            current = entries[start.group(1)] = [start.group(2) or ""]
        elif re.match(r"^ {3}\S", line):  # a subsection heading ends the entry
            current = None
        elif current is not None:
            current.append(line.strip())
    return {key: " ".join(filter(None, parts)) for key, parts in entries.items()}


def readme_section(title):
    return re.search(rf"\n## {title}\n.*?(?=\n## |\Z)", README.read_text(), re.S).group()


def check_config(path):
    return run([TOOL, "--conf", str(path), "check-config"], stdin=subprocess.DEVNULL)


class Setup:
    """A temp dir with a minimal valid setup (a users file, a state_dir path) and config files."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="verif8-docs-"))
        self.users, self.count = self.dir / "users", 0
        self.users.write_text("root +6591234567 sms\n")
        self.users.chmod(0o644)
        self.base = {"api_key": "docs-test-key", "subaccount_id": "docs_test",
                     "users_file": str(self.users), "state_dir": str(self.dir / "state")}

    def base_lines(self, drop=()):
        return [f"{k} = {v}" for k, v in self.base.items() if k not in drop]

    def write(self, lines, mode=0o600):
        self.count += 1
        path = self.dir / f"case{self.count}.conf"
        path.write_text("".join(f"{line}\n" for line in lines))
        path.chmod(mode)
        return path

    def check_config(self, key, value, drop=()):
        """check-config of the base config with `key = value` in place of the base's line for
        it: (result, the config path, the problems reported for that line)."""
        lines = ["# written by check_docs.py", *self.base_lines((key, *drop)), f"{key} = {value}"]
        path = self.write(lines)
        result = check_config(path)
        return result, path, [text for text in result.stderr.splitlines()
                              if text.startswith(f"{path}:{len(lines)}:")]

    def program_keys(self):
        """The keys the built program accepts. No command lists them, so every identifier in
        the binary (and each tail after an underscore, which the linker may have merged into a
        longer string) is offered to the loader as a key: the ones not called unknown are keys."""
        words = {word.decode() for word in re.findall(
            rb"(?<![a-z0-9_])[a-z][a-z0-9_]{2,40}(?![a-z0-9_])", Path(TOOL).read_bytes())}
        candidates = set(words)
        for parts in (word.split("_") for word in words):
            candidates.update("_".join(parts[i:]) for i in range(1, len(parts))
                              if len("_".join(parts[i:])) >= 3 and parts[i][:1].isalpha())
        candidates, known, base = sorted(candidates), set(), self.base_lines()
        for start in range(0, len(candidates), 1000):  # each file well under the 64 KiB cap
            chunk = candidates[start:start + 1000]
            path = self.write(base + [f"{word} = x" for word in chunk])
            unknown = {int(number) for number in re.findall(
                rf"^{re.escape(str(path))}:(\d+): unknown key ", check_config(path).stderr,
                flags=re.M)}
            known.update(word for number, word in enumerate(chunk, len(base) + 1)
                         if number not in unknown)
        return known


def need_root():
    if os.geteuid() != 0:
        raise Skip("the module reads only root-owned files: run as root")


# (label, command before the page, the program it needs or None, extra environment); the
# output must be empty and the status 0.
RENDERERS = [
    ("groff -man -ww -z", ["groff", "-man", "-ww", "-z"], None, {}),
    ("groff -man -ww -Tutf8 -z", ["groff", "-man", "-ww", "-Tutf8", "-z"], None, {}),
    ("man --warnings -l", ["man", "--warnings", "-l"], "man (man-db)",
     {"MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}),
    ("mandoc -T lint", ["mandoc", "-T", "lint", "-W", "warning"], "mandoc", {}),
]
WANTED_SECTIONS = {
    "pam_verif8.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "MODULE TYPES PROVIDED",
                     "RETURN VALUES", "FILES", "EXAMPLES", "LOGGING", "SECURITY NOTES",
                     "SEE ALSO"],
    "pam_verif8.conf.5": ["NAME", "SYNOPSIS", "DESCRIPTION", "SETTINGS", "THE USERS FILE",
                          "EXAMPLES", "FILES", "SEE ALSO"],
    "verif8ctl.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                    "EXAMPLES", "SEE ALSO"],
}
SECTION_OF = {"pam_verif8": 8, "pam_verif8.conf": 5, "verif8ctl": 8}


def page_checks():
    for page in PAGES:
        for label, args, needs, env in RENDERERS:
            @check(f"{page}: {label} gives no warning")
            def _():
                if needs and not shutil.which(args[0]):
                    raise Skip(f"{needs} is not installed")
                result = run(args + [str(MAN / page)],
                             env=dict(os.environ, LC_ALL="C.UTF-8", **env))
                output = (result.stdout if args[0] == "mandoc" else "") + result.stderr
                assert result.returncode == 0 and not output.strip(), \
                    f"status {result.returncode}\n{output}"

        none_of(f"{page}: no rendered line is wider than 80 columns",
                lambda: {line for line in render(page).splitlines() if len(line) > 80})

    for page, names in WANTED_SECTIONS.items():
        none_of(f"{page}: has the sections {', '.join(names)}",
                lambda: set(names) - set(source(page)))
        none_of(f"{page}: names the project's pages with their right sections",
                lambda: {f"{name}({number})" for name, number in re.findall(
                    r"\b(pam_verif8\.conf|pam_verif8|verif8ctl)\((\d)\)", render(page, 2000))
                    if SECTION_OF[name] != int(number)})
    refs = ("pam_verif8.conf(5)", "verif8ctl(8)", "pam(8)", "sshd_config(5)", "pam.d(5)")
    none_of(f"pam_verif8.8: SEE ALSO names {', '.join(refs)}", lambda: {
        ref for ref in refs if ref not in " ".join(rendered("pam_verif8.8").get("SEE ALSO", []))})

    @check("man/meson.build installs every page in man/")
    def _():
        build = (MAN / "meson.build").read_text()
        on_disk = sorted(path.name for path in MAN.iterdir() if re.search(r"\.[1-8]$", path.name))
        installed = sorted(re.findall(r"'([^']+\.[1-8])'", build))
        assert "install_man(" in build, "no install_man() call"
        assert on_disk == installed == sorted(PAGES), \
            f"pages {on_disk}, installed {installed}, checked {sorted(PAGES)}"


def key_checks(setup):
    conf = {m.group(1): (m.group(2) or "").strip() for m in re.finditer(
        r"^#?([a-z][a-z_]*) =(?: (.*))?$", CONF.read_text(), flags=re.M)}
    entries = key_entries()
    readme = {m.group(1): m.group(2).strip().strip("`") for m in re.finditer(
        r"^\| `([a-z][a-z_]*)` \|.*\|([^|]*)\|$", readme_section("Configure"), flags=re.M)}
    tagged = tp_tags(source("pam_verif8.conf.5").get("SETTINGS", []))
    examples = {key: re.findall(r"Example: ([a-z_]+) = (.+?)(?= Example:|$)", text)
                for key, text in entries.items()}

    # (name, its problems): the first is the control for the rest.
    for name, problems in (
            ("conf/pam_verif8.conf lists keys", lambda: "" if len(conf) >= 30 else f"{conf}"),
            ("every key of conf/pam_verif8.conf has an entry in pam_verif8.conf(5)",
             lambda: {*(set(conf) - set(tagged)), *(k for k in tagged if tagged.count(k) > 1)}),
            ("every key of conf/pam_verif8.conf is in README's key table, and no other",
             lambda: set(conf) ^ set(readme)),
            ("every entry of pam_verif8.conf(5) has one Example line, for its own key",
             lambda: {*(set(tagged) - set(entries)), *(
                 f"{key}: {found}" for key, found in examples.items()
                 if len(found) != 1 or found[0][0] != key)})):
        none_of(name, problems)

    @check("every documented default is the example file's and README's")
    def _():
        problems, compared = [], 0
        for key, text in sorted(entries.items()):
            default = re.search(r"Default: (.+?)\.(?: |$)", text)
            if not default or " " in default.group(1):
                continue  # "Not set by default", "the system store": nothing to compare
            value, compared = default.group(1), compared + 1
            if readme.get(key) != value:
                problems.append(f"{key}: page {value!r}, README {readme.get(key)!r}")
            # The example file writes each default; "none" keys carry an example instead.
            if value != "none" and conf.get(key) != value:
                problems.append(f"{key}: page {value!r}, conf/pam_verif8.conf {conf.get(key)!r}")
        assert not problems, "\n".join(problems)
        assert compared >= 15, f"only {compared} defaults compared"

    for key, found in sorted(examples.items()):
        if len(found) != 1:
            continue
        value = found[0][1]

        @check(f"pam_verif8.conf(5): the module accepts its example {key} = {value}")
        def _():
            need_root()
            # api_key and api_key_file may not both be set.
            result, path, problems = setup.check_config(
                key, value, ("api_key",) if key == "api_key_file" else ())
            output = result.stdout + result.stderr
            assert "unknown key" not in output and not problems, output
            if key != "api_key_file":  # its example names a file that is not here
                assert f"{path}: accepted" in result.stdout, output

        documented = re.search(r"\b(\d+) to (\d+)\b", entries[key])
        if not (re.fullmatch(r"\d+", value) and documented):
            continue
        low, high = map(int, documented.groups())

        @check(f"pam_verif8.conf(5): {key} is documented as {low} to {high}, as the module checks")
        def _():
            need_root()
            wrong = [f"{key} = {number}: {'refused' if good else 'accepted'}\n{result.stderr}"
                     for number, good in ((low, True), (high, True), (low - 1, False),
                                          (high + 1, False))
                     for result, _, problems in [setup.check_config(key, str(number))]
                     if bool(problems) == good]
            assert not wrong, "\n".join(wrong)

    @check("pam_verif8.conf(5): the documented defaults are the ones the module uses")
    def _():
        need_root()
        d = {key: (re.search(r"Default: (\S+?)\.(?: |$)", text) or [None, None])[1]
             for key, text in entries.items()}
        region_host = re.search(rf"{d['region']} \((https://[^)]+)\)", entries["region"])
        assert region_host, "no host documented for the default region"
        # Only the account: everything else at its default.
        result = check_config(setup.write(setup.base_lines(("users_file", "state_dir"))))
        expected = [
            f"API              {region_host.group(1)}",
            f"timeouts         connect {d['connect_timeout']} s, request {d['request_timeout']} "
            f"s, login {d['login_timeout']} s",
            f"fail_mode        {d['fail_mode']}",
            f"code             {d['code_length']} digits, valid {d['code_validity']} s, "
            f"{d['max_attempts']} attempts, resend after {d['resend_interval']} s",
            f"default channel  {d['channel']}",
            f"phones from      {d['users_file']}",
            f"unenrolled       {d['unenrolled']}",
            f"send limits      user {d['user_send_limit']} s, source {d['source_send_limit']} s",
            f"state_dir        {d['state_dir']}",
        ]
        missing = [line for line in expected if f"  {line}\n" not in result.stdout]
        assert not missing, "not in the summary:\n" + "\n".join(missing) + \
            "\n--- summary:\n" + result.stdout + result.stderr

    # The keys the built program accepts against each list of them; the first is the control.
    accepted = setup.program_keys() if setup else set()
    for name, missing in (
            ("the built program knows every key of conf/pam_verif8.conf (the control for the "
             "next checks)", lambda: set(conf) - accepted),
            ("every key the built program accepts has an entry in pam_verif8.conf(5)",
             lambda: accepted - set(tagged)),
            ("every key the built program accepts is in conf/pam_verif8.conf",
             lambda: accepted - set(conf)),
            ("every key the built program accepts is in README's key table",
             lambda: accepted - set(readme))):
        none_of(name, missing, root=True)

    # The other refusals the page documents (unknown, repeated, symlinked, oversized configs)
    # are checked by the cli, unit, pam and faults suites.
    @check("pam_verif8.conf(5): api_key_file is read at 0600 and refused at 0644")
    def _():
        need_root()
        keyfile = setup.dir / "api.key"
        keyfile.write_text("docs-test-key\n")
        for mode, status, stream, says in ((0o600, 0, "stdout", f"from {keyfile}"),
                                           (0o644, 1, "stderr", "has mode 0644")):
            keyfile.chmod(mode)
            result, _, _ = setup.check_config("api_key_file", str(keyfile), ("api_key",))
            assert result.returncode == status and says in getattr(result, stream), \
                result.stdout + result.stderr


def return_value_checks():
    lines = source("pam_verif8.8").get("RETURN VALUES", [])
    codes = tp_tags(lines, "PAM_[A-Z_]+")
    outcomes = tp_tags(lines, "[a-z][a-z_]*")
    readme_codes = set(re.findall(r"\| (PAM_[A-Z_]+) \|$", readme_section("Return codes"),
                                  flags=re.M))

    @check("pam_verif8.8: RETURN VALUES has the PAM codes of README's Return codes table")
    def _():
        assert readme_codes, "no codes found in README"
        assert set(codes) == readme_codes, f"page only: {sorted(set(codes) - readme_codes)}; " \
                                           f"README only: {sorted(readme_codes - set(codes))}"
        assert len(codes) == len(set(codes)), f"a code listed twice: {codes}"

    binary = Path(TOOL).read_bytes()
    shown = set(re.findall(r"outcome=([a-z_]+)", README.read_text()))
    for name, problems in (
            ("pam_verif8.8: each outcome is listed once in RETURN VALUES",
             lambda: f"{outcomes}" if len(outcomes) < 10 or len(set(outcomes)) < len(outcomes)
             else ""),
            ("pam_verif8.8: every outcome in RETURN VALUES is a name the built program has",
             lambda: {name for name in outcomes if name.encode() + b"\0" not in binary}),
            ("pam_verif8.8: every outcome= that README shows is in RETURN VALUES",
             lambda: (shown - set(outcomes)) if shown else "README shows no outcome=")):
        none_of(name, problems)

    @check("pam_verif8.8: every outcome named in LOGGING is in RETURN VALUES")
    def _():
        logging = " ".join(rendered("pam_verif8.8", 2000).get("LOGGING", []))
        levels = re.search(r"Levels: (.*?) for the rest", logging)
        assert levels, "no Levels paragraph in LOGGING"
        named = set(re.findall(r"\b[a-z]+_[a-z_]+\b|\b(?:verified|exempt|unreachable)\b",
                               levels.group(1)))
        assert named and named <= set(outcomes), f"missing: {sorted(named - set(outcomes))}"


def verif8ctl_checks():
    page = rendered("verif8ctl.8", 2000)
    synopsis = " ".join(page.get("SYNOPSIS", []))
    tags = {name: " ".join(line.strip() for line in page.get(name, [])
                           if re.match(r"^ {7}\S", line)) for name in ("COMMANDS", "OPTIONS")}
    help_result = run([TOOL, "--help"])
    text = help_result.stdout
    commands = [" ".join(filter(None, found)) for found in re.findall(
        r"^  ([a-z][a-z-]+)(?: ([A-Z]+))?\s", text.split("options:")[0], flags=re.M)]
    options = sorted(set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text)))

    @check("verif8ctl --help exits 0 with the usage; verif8ctl(8) has each command and argument")
    def _():
        assert help_result.returncode == 0 and text.startswith("usage: verif8ctl"), \
            f"status {help_result.returncode}\n{text}{help_result.stderr}"
        assert commands, text
        missing = [command for command in commands if command not in tags["COMMANDS"]
                   or command.split()[0] not in synopsis]
        assert not missing, f"missing from COMMANDS or SYNOPSIS: {missing}"

    @check("verif8ctl(8) documents every option of verif8ctl --help, and -h")
    def _():
        assert "--conf" in options, text
        missing = [option for option in options + ["-h"]
                   if not re.search(rf"(?<![\w-]){option}\b", tags["OPTIONS"])]
        assert not missing, f"missing from OPTIONS: {missing}"

    @check("verif8ctl(8) EXIT STATUS lists 0, 1 and 2, as the program uses them")
    def _():
        statuses = re.findall(r"^ {7}(\d+)\b", "\n".join(page.get("EXIT STATUS", [])), flags=re.M)
        assert statuses == ["0", "1", "2"], statuses
        # One call per status (run_cli_tests.py's Verif8ctl tests run the other bad arguments).
        for args, status in ((["-h"], 0), (["bogus"], 2),
                             (["--conf", "/nonexistent/verif8.conf", "check-config"], 1)):
            result = run([TOOL] + args, stdin=subprocess.DEVNULL)
            assert result.returncode == status, \
                f"verif8ctl {' '.join(args)}: {result.returncode}, not {status}\n{result.stderr}"
            assert status != 2 or "usage: verif8ctl" in result.stderr, result.stderr


def main():
    global TOOL
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    TOOL = str(Path(sys.argv[1]).resolve())

    @check("groff is installed (Debian package groff-base)")
    def _():
        assert shutil.which("groff"), "groff not found on PATH"

    if RESULTS[-1][1] != "ok":
        return report()
    page_checks()
    setup = Setup() if os.geteuid() == 0 else None
    try:
        key_checks(setup)
    finally:
        if setup:
            shutil.rmtree(setup.dir, ignore_errors=True)
    return_value_checks()
    verif8ctl_checks()
    return report()


if __name__ == "__main__":
    sys.exit(main())
