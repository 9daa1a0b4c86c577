#!/usr/bin/python3
"""The man pages against groff, the shipped files and the built program. Prints TAP, one test
per check.

usage: check_docs.py VERIF8CTL

- every page renders without a single warning: groff -man -ww -z, groff -man -ww -Tutf8 -z,
  and `man --warnings -l` and `mandoc -T lint` where they are installed; no rendered line is
  wider than 80 columns;
- the config keys: every key of conf/pam_verif8.conf has an entry in pam_verif8.conf(5) and a
  row in README's key table; every key the built program accepts (found by offering every
  identifier in the binary to its loader) is in all three; every entry's "Example:" line is
  accepted by the module's own loader (`verif8ctl check-config`, as root), its documented number
  range is the parser's, and its documented default is the example file's, README's and the
  program's; an unknown key, a repeated key and the documented permission rules are refused as
  the page says;
- RETURN VALUES of pam_verif8(8) against README's "Return codes" table (the same PAM codes),
  the outcome names against the built program and README's log examples;
- verif8ctl(8) documents every command and option of `verif8ctl --help`, and the exit statuses
  are the program's;
- man/meson.build installs every page, and the pages name each other with the right section."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAN = ROOT / "man"
PAGES = ["pam_verif8.8", "pam_verif8.conf.5", "verif8ctl.8"]
CONF = ROOT / "conf" / "pam_verif8.conf"
README = ROOT / "README.md"
TOOL = None

RESULTS = []


class Skip(Exception):
    pass


def check(name):
    """Runs the decorated function at once as one TAP test: an AssertionError fails it, Skip
    skips it, any other exception fails it with the exception."""

    def run(function):
        try:
            function()
        except Skip as reason:
            RESULTS.append((name, "skip", str(reason)))
        except AssertionError as problem:
            RESULTS.append((name, "fail", str(problem)))
        except Exception as problem:  # noqa: BLE001 - a broken check is a failed check
            RESULTS.append((name, "fail", f"{type(problem).__name__}: {problem}"))
        else:
            RESULTS.append((name, "ok", ""))
        return function

    return run


def report():
    failed = 0
    for number, (name, status, text) in enumerate(RESULTS, 1):
        if status == "ok":
            print(f"ok {number} - {name}")
        elif status == "skip":
            print(f"ok {number} - {name} # SKIP {text}")
        else:
            failed += 1
            print(f"not ok {number} - {name}")
            for line in text.rstrip("\n").splitlines() or [""]:
                print(f"# {line}")
    print(f"1..{len(RESULTS)}")
    return 1 if failed else 0


# --- reading the pages -------------------------------------------------------------------------

def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)


def render(page, width=None):
    """Plain text of a page as groff formats it for a terminal (no bold, underline or SGR)."""
    args = ["groff", "-man", "-Tascii", "-P-cbou"]
    if width:
        args.append(f"-rLL={width}n")
    result = run(args + [str(MAN / page)], env=dict(os.environ, LC_ALL="C"))
    assert result.returncode == 0, result.stderr
    return result.stdout


def sections(text):
    """{SECTION NAME: its lines} of rendered text; headings start in column 0."""
    found = {}
    current = None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z0-9 .]+$", line):
            current = line.strip()
            found[current] = []
        elif current:
            found[current].append(line)
    return found


def source_sections(page):
    """{SECTION NAME: its roff source lines}."""
    found = {}
    current = None
    for line in (MAN / page).read_text().splitlines():
        heading = re.match(r'^\.SH\s+"?([^"]+?)"?\s*$', line)
        if heading:
            current = heading.group(1)
            found[current] = []
        elif current:
            found[current].append(line)
    return found


def tp_tags(lines):
    """The `.B word` tags that follow `.TP` lines."""
    return [re.match(r"^\.B\s+(\S+)$", lines[i + 1]).group(1)
            for i, line in enumerate(lines[:-1])
            if line == ".TP" and re.match(r"^\.B\s+(\S+)$", lines[i + 1])]


def key_entries():
    """{key: text of its entry} from SETTINGS of pam_verif8.conf(5), rendered unwrapped."""
    text = sections(render("pam_verif8.conf.5", width=2000)).get("SETTINGS", [])
    entries = {}
    current = None
    for line in text:
        start = re.match(r"^ {7}([a-z][a-z_]*)(?: +(.*))?$", line)
        if start:
            current = start.group(1)
            entries[current] = [start.group(2) or ""]
        elif re.match(r"^ {3}\S", line):  # a subsection heading ends the entry
            current = None
        elif current:
            entries[current].append(line.strip())
    return {key: " ".join(part for part in parts if part) for key, parts in entries.items()}


def example_keys():
    """Keys of conf/pam_verif8.conf, with the value written there (may be empty)."""
    keys = {}
    for line in CONF.read_text().splitlines():
        found = re.match(r"^#?([a-z][a-z_]*) =(?: (.*))?$", line)
        if found:
            keys[found.group(1)] = (found.group(2) or "").strip()
    return keys


def readme_section(title):
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def readme_keys():
    """{key: its default cell} of README's key table (in "Configure")."""
    keys = {}
    for line in readme_section("Configure").splitlines():
        row = re.match(r"^\| `([a-z][a-z_]*)` \|.*\|([^|]*)\|$", line)
        if row:
            keys[row.group(1)] = row.group(2).strip().strip("`")
    return keys


# --- the module's loader, through verif8ctl -----------------------------------------------------

class Setup:
    """A temp dir with a minimal valid setup: a users file and a state_dir path."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="verif8-docs-"))
        self.users = self.dir / "users"
        self.users.write_text("root +6591234567 sms\n")
        self.users.chmod(0o644)
        self.state = self.dir / "state"
        self.count = 0

    def base(self):
        return {"api_key": "docs-test-key", "subaccount_id": "docs_test",
                "users_file": str(self.users), "state_dir": str(self.state)}

    def write(self, lines, mode=0o600):
        self.count += 1
        path = self.dir / f"case{self.count}.conf"
        path.write_text("".join(f"{line}\n" for line in lines))
        path.chmod(mode)
        return path

    def check_config(self, key, value, drop=()):
        """Writes the base config with `key = value` (replacing the base's line for it), runs
        check-config; returns (result, the config path, the line number of the key)."""
        settings = {k: v for k, v in self.base().items() if k != key and k not in drop}
        lines = ["# written by check_docs.py"] + [f"{k} = {v}" for k, v in settings.items()]
        lines.append(f"{key} = {value}")
        path = self.write(lines)
        return check_config(path), path, len(lines)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def program_keys(setup):
    """The keys the built program accepts. No command lists them, so every identifier in the
    binary (and each tail after an underscore, which the linker may have merged into a longer
    string) is offered to the loader as a key: the ones it does not call unknown are keys."""
    binary = Path(TOOL).read_bytes()
    words = {word.decode() for word in
             re.findall(rb"(?<![a-z0-9_])[a-z][a-z0-9_]{2,40}(?![a-z0-9_])", binary)}
    candidates = set(words)
    for word in words:
        parts = word.split("_")
        candidates.update("_".join(parts[i:]) for i in range(1, len(parts))
                          if len("_".join(parts[i:])) >= 3 and parts[i][:1].isalpha())
    candidates = sorted(candidates)
    known = set()
    base = [f"{k} = {v}" for k, v in setup.base().items()]
    for start in range(0, len(candidates), 1000):  # each file well under the 64 KiB cap
        chunk = candidates[start:start + 1000]
        path = setup.write(base + [f"{word} = x" for word in chunk])
        result = check_config(path)
        unknown = {int(number) for number in
                   re.findall(rf"^{re.escape(str(path))}:(\d+): unknown key ", result.stderr,
                              flags=re.M)}
        known.update(word for number, word in enumerate(chunk, len(base) + 1)
                     if number not in unknown)
    return known


def need_root():
    if os.geteuid() != 0:
        raise Skip("the module reads only root-owned files: run as root")


def line_problems(result, path, line):
    """Problems the loader reported for that line of that file."""
    return [text for text in result.stderr.splitlines() if text.startswith(f"{path}:{line}:")]


# --- the checks ---------------------------------------------------------------------------------

# (label, command before the page, the program it needs or None, extra environment); the
# output must be empty and the status 0.
RENDERERS = [
    ("groff -man -ww -z", ["groff", "-man", "-ww", "-z"], None, {}),
    ("groff -man -ww -Tutf8 -z", ["groff", "-man", "-ww", "-Tutf8", "-z"], None, {}),
    ("man --warnings -l", ["man", "--warnings", "-l"], "man (man-db)",
     {"MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}),
    ("mandoc -T lint", ["mandoc", "-T", "lint", "-W", "warning"], "mandoc", {}),
]


def rendering_checks():
    for page in PAGES:
        for label, args, needs, env in RENDERERS:
            @check(f"{page}: {label} gives no warning")
            def _(args=args, page=page, needs=needs, env=env):
                if needs and not shutil.which(args[0]):
                    raise Skip(f"{needs} is not installed")
                result = run(args + [str(MAN / page)],
                             env=dict(os.environ, LC_ALL="C.UTF-8", **env))
                output = (result.stdout if args[0] == "mandoc" else "") + result.stderr
                assert result.returncode == 0 and not output.strip(), \
                    f"status {result.returncode}\n{output}"

        @check(f"{page}: no rendered line is wider than 80 columns")
        def _(page=page):
            wide = [line for line in render(page).splitlines() if len(line) > 80]
            assert not wide, "\n".join(wide)


def structure_checks():
    wanted = {
        "pam_verif8.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "MODULE TYPES PROVIDED",
                         "RETURN VALUES", "FILES", "EXAMPLES", "LOGGING", "SECURITY NOTES",
                         "SEE ALSO"],
        "pam_verif8.conf.5": ["NAME", "SYNOPSIS", "DESCRIPTION", "SETTINGS", "THE USERS FILE",
                              "EXAMPLES", "FILES", "SEE ALSO"],
        "verif8ctl.8": ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "EXIT STATUS",
                        "EXAMPLES", "SEE ALSO"],
    }
    sections_of_page = {"pam_verif8": 8, "pam_verif8.conf": 5, "verif8ctl": 8}
    for page, names in wanted.items():
        @check(f"{page}: has the sections {', '.join(names)}")
        def _(page=page, names=names):
            found = list(source_sections(page))
            missing = [name for name in names if name not in found]
            assert not missing, f"missing: {missing}; found: {found}"

        @check(f"{page}: names the project's pages with their right sections")
        def _(page=page):
            text = render(page, width=2000)
            wrong = sorted({f"{name}({section})" for name, section in
                            re.findall(r"\b(pam_verif8\.conf|pam_verif8|verif8ctl)\((\d)\)", text)
                            if sections_of_page[name] != int(section)})
            assert not wrong, f"wrong sections: {wrong}"

    @check("pam_verif8.8: SEE ALSO names pam_verif8.conf(5), verif8ctl(8), pam(8), "
           "sshd_config(5), pam.d(5)")
    def _():
        see_also = " ".join(sections(render("pam_verif8.8")).get("SEE ALSO", []))
        missing = [ref for ref in ("pam_verif8.conf(5)", "verif8ctl(8)", "pam(8)",
                                   "sshd_config(5)", "pam.d(5)") if ref not in see_also]
        assert not missing, f"missing: {missing}"

    @check("man/meson.build installs every page in man/")
    def _():
        build = (MAN / "meson.build").read_text()
        on_disk = sorted(path.name for path in MAN.iterdir() if re.search(r"\.[1-8]$", path.name))
        installed = sorted(re.findall(r"'([^']+\.[1-8])'", build))
        assert "install_man(" in build, "no install_man() call"
        assert on_disk == installed, f"pages {on_disk}, installed {installed}"
        assert on_disk == sorted(PAGES), f"pages {on_disk}, checked {sorted(PAGES)}"


class KeyDocs:
    """The config keys as the example file, the page and README give them."""

    def __init__(self):
        self.conf = example_keys()
        self.entries = key_entries()
        self.readme = readme_keys()
        self.tagged = tp_tags(source_sections("pam_verif8.conf.5").get("SETTINGS", []))
        self.examples = {key: re.findall(r"Example: ([a-z_]+) = (.+?)(?= Example:|$)", text)
                         for key, text in self.entries.items()}


def check_config(path):
    return run([TOOL, "--conf", str(path), "check-config"], stdin=subprocess.DEVNULL)


def key_list_checks(docs):
    @check("conf/pam_verif8.conf lists keys")
    def _():
        assert len(docs.conf) >= 30, f"only {sorted(docs.conf)}"

    @check("every key of conf/pam_verif8.conf has an entry in pam_verif8.conf(5)")
    def _():
        missing = sorted(set(docs.conf) - set(docs.tagged))
        assert not missing, f"undocumented: {missing}"
        twice = sorted({key for key in docs.tagged if docs.tagged.count(key) > 1})
        assert not twice, f"documented twice: {twice}"

    @check("every key of conf/pam_verif8.conf is in README's key table, and no other")
    def _():
        missing = sorted(set(docs.conf) - set(docs.readme))
        extra = sorted(set(docs.readme) - set(docs.conf))
        assert not missing and not extra, f"not in README: {missing}; not in the example: {extra}"

    @check("every entry of pam_verif8.conf(5) has one Example line, for its own key")
    def _():
        bad = {key: found for key, found in docs.examples.items()
               if len(found) != 1 or found[0][0] != key}
        missing = sorted(set(docs.tagged) - set(docs.entries))
        assert not bad and not missing, f"bad examples: {bad}; entries not rendered: {missing}"


def documented_default_checks(docs):
    @check("every documented default is the example file's and README's")
    def _():
        problems = []
        compared = 0
        for key, text in sorted(docs.entries.items()):
            default = re.search(r"Default: (.+?)\.(?: |$)", text)
            if not default or " " in default.group(1):
                continue  # "Not set by default", "the system store": nothing to compare
            value = default.group(1)
            compared += 1
            if docs.readme.get(key) != value:
                problems.append(f"{key}: page {value!r}, README {docs.readme.get(key)!r}")
            # The example file writes each default; "none" keys carry an example instead.
            if value != "none" and docs.conf.get(key) != value:
                problems.append(f"{key}: page {value!r}, conf/pam_verif8.conf "
                                f"{docs.conf.get(key)!r}")
        assert not problems, "\n".join(problems)
        assert compared >= 15, f"only {compared} defaults compared"


def example_checks(docs, setup):
    """Per key: the module accepts the page's example, and a documented range is its own."""
    for key in sorted(docs.entries):
        if len(docs.examples.get(key, [])) != 1:
            continue
        value = docs.examples[key][0][1]

        @check(f"pam_verif8.conf(5): the module accepts its example {key} = {value}")
        def _(key=key, value=value):
            need_root()
            # api_key and api_key_file may not both be set.
            drop = ("api_key",) if key == "api_key_file" else ()
            result, path, line = setup.check_config(key, value, drop)
            output = result.stdout + result.stderr
            assert "unknown key" not in output, output
            assert not line_problems(result, path, line), output
            if key != "api_key_file":  # its example names a file that is not here
                assert f"{path}: accepted" in result.stdout, output

        documented = re.search(r"\b(\d+) to (\d+)\b", docs.entries[key])
        if re.fullmatch(r"\d+", value) and documented:
            range_check(setup, key, int(documented.group(1)), int(documented.group(2)))


def range_check(setup, key, low, high):
    @check(f"pam_verif8.conf(5): {key} is documented as {low} to {high}, as the module checks")
    def _():
        need_root()
        problems = []
        for number, good in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
            result, path, line = setup.check_config(key, str(number))
            if bool(line_problems(result, path, line)) == good:
                problems.append(f"{key} = {number}: {'refused' if good else 'accepted'}\n"
                                f"{result.stderr}")
        assert not problems, "\n".join(problems)


def module_default_check(docs, setup):
    @check("pam_verif8.conf(5): the documented defaults are the ones the module uses")
    def _():
        need_root()
        d = {key: (re.search(r"Default: (\S+?)\.(?: |$)", text) or [None, None])[1]
             for key, text in docs.entries.items()}
        region_host = re.search(rf"{d['region']} \((https://[^)]+)\)", docs.entries["region"])
        assert region_host, "no host documented for the default region"
        # Only the account: everything else at its default.
        result = check_config(setup.write(["api_key = docs-test-key",
                                           "subaccount_id = docs_test"]))
        expected = [
            f"API              {region_host.group(1)}",
            f"timeouts         connect {d['connect_timeout']} s, request "
            f"{d['request_timeout']} s, login {d['login_timeout']} s",
            f"fail_mode        {d['fail_mode']}",
            f"code             {d['code_length']} digits, valid {d['code_validity']} s, "
            f"{d['max_attempts']} attempts, resend after {d['resend_interval']} s",
            f"default channel  {d['channel']}",
            f"phones from      {d['users_file']}",
            f"unenrolled       {d['unenrolled']}",
            f"send limits      user {d['user_send_limit']} s, source "
            f"{d['source_send_limit']} s",
            f"state_dir        {d['state_dir']}",
        ]
        missing = [line for line in expected if f"  {line}\n" not in result.stdout]
        assert not missing, "not in the summary:\n" + "\n".join(missing) + \
            "\n--- summary:\n" + result.stdout + result.stderr


def program_key_checks(docs, setup):
    """The keys the built program accepts against each list of them; the first is the control."""
    accepted = program_keys(setup) if setup else set()
    for name, missing_from in (
            ("the built program knows every key of conf/pam_verif8.conf (the control for the "
             "next checks)", lambda: set(docs.conf) - accepted),
            ("every key the built program accepts has an entry in pam_verif8.conf(5)",
             lambda: accepted - set(docs.tagged)),
            ("every key the built program accepts is in conf/pam_verif8.conf",
             lambda: accepted - set(docs.conf)),
            ("every key the built program accepts is in README's key table",
             lambda: accepted - set(docs.readme))):
        @check(name)
        def _(missing_from=missing_from):
            need_root()
            missing = sorted(missing_from())
            assert not missing, f"missing: {missing}"


def refusal_checks(setup):
    """Config files the page says the module refuses: (name, extra lines, mode, symlink,
    what the refusal says)."""
    for name, extra, mode, symlink, says in (
            ("the module refuses an unknown key (the control for the checks above)",
             ["no_such_key = 1"], 0o600, False, "{path}:5: unknown key 'no_such_key'"),
            ("pam_verif8.conf(5): a repeated key is refused, naming the first line",
             ["code_length = 6", "code_length = 7"], 0o600, False,
             "duplicate key 'code_length' (first on line 5)"),
            ("pam_verif8.conf(5): a config file of mode 0644 is refused",
             [], 0o644, False, "has mode 0644"),
            ("pam_verif8.conf(5): a config file that is a symlink is refused",
             [], 0o600, True, "symbolic link"),
            ("pam_verif8.conf(5): a file larger than 64 KiB is refused",
             ["#" + "x" * 65536], 0o600, False, "larger than 65536 bytes")):
        @check(name)
        def _(extra=extra, mode=mode, symlink=symlink, says=says):
            need_root()
            path = setup.write([f"{k} = {v}" for k, v in setup.base().items()] + extra, mode)
            if symlink:
                link = setup.dir / f"link{setup.count}.conf"
                link.symlink_to(path)
                path = link
            result = check_config(path)
            assert result.returncode == 1, result.stdout + result.stderr
            assert says.format(path=path) in result.stderr, result.stderr


def key_file_checks(setup):
    @check("pam_verif8.conf(5): api_key_file is read at 0600 and refused at 0644")
    def _():
        need_root()
        keyfile = setup.dir / "api.key"
        keyfile.write_text("docs-test-key\n")
        keyfile.chmod(0o600)
        result, _path, _line = setup.check_config("api_key_file", str(keyfile), ("api_key",))
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"from {keyfile}" in result.stdout, result.stdout
        keyfile.chmod(0o644)
        result, _path, _line = setup.check_config("api_key_file", str(keyfile), ("api_key",))
        assert result.returncode == 1 and "has mode 0644" in result.stderr, result.stderr

    @check("pam_verif8.conf(5): a bad users-file line is reported with its number")
    def _():
        need_root()
        setup.users.write_text("root +6591234567 sms\nbob 12345 sms\n")
        try:
            result, _path, _line = setup.check_config("channel", "sms")
            assert result.returncode == 1, result.stdout
            assert f"{setup.users}:2: the phone number" in result.stderr, result.stderr
            assert "1 users, 1 bad lines" in result.stdout, result.stdout
        finally:
            setup.users.write_text("root +6591234567 sms\n")


def key_checks():
    docs = KeyDocs()
    key_list_checks(docs)
    documented_default_checks(docs)
    setup = Setup() if os.geteuid() == 0 else None
    try:
        example_checks(docs, setup)
        module_default_check(docs, setup)
        program_key_checks(docs, setup)
        refusal_checks(setup)
        key_file_checks(setup)
    finally:
        if setup:
            setup.remove()


def return_value_checks():
    source = source_sections("pam_verif8.8").get("RETURN VALUES", [])
    codes = [re.match(r"^\.B (PAM_[A-Z_]+)$", source[i + 1]).group(1)
             for i, line in enumerate(source[:-1])
             if line == ".TP" and re.match(r"^\.B (PAM_[A-Z_]+)$", source[i + 1])]
    outcomes = [tag for tag in tp_tags(source) if re.fullmatch(r"[a-z][a-z_]*", tag)]
    table = readme_section("Return codes")
    readme_codes = set(re.findall(r"\| (PAM_[A-Z_]+) \|$", table, flags=re.M))

    @check("pam_verif8.8: RETURN VALUES has the PAM codes of README's Return codes table")
    def _():
        assert readme_codes, "no codes found in README"
        assert set(codes) == readme_codes, \
            f"page only: {sorted(set(codes) - readme_codes)}; " \
            f"README only: {sorted(readme_codes - set(codes))}"
        assert len(codes) == len(set(codes)), f"a code listed twice: {codes}"

    @check("pam_verif8.8: each outcome is listed once in RETURN VALUES")
    def _():
        assert len(outcomes) >= 10, f"only {outcomes}"
        twice = sorted({name for name in outcomes if outcomes.count(name) > 1})
        assert not twice, f"listed twice: {twice}"

    @check("pam_verif8.8: every outcome in RETURN VALUES is a name the built program has")
    def _():
        binary = Path(TOOL).read_bytes()
        unknown = [name for name in outcomes if name.encode() + b"\0" not in binary]
        assert not unknown, f"not in {TOOL}: {unknown}"

    @check("pam_verif8.8: every outcome= that README shows is in RETURN VALUES")
    def _():
        named = set(re.findall(r"outcome=([a-z_]+)", README.read_text()))
        missing = sorted(named - set(outcomes))
        assert named and not missing, f"missing: {missing}"

    @check("pam_verif8.8: every outcome named in LOGGING is in RETURN VALUES")
    def _():
        logging = " ".join(sections(render("pam_verif8.8", width=2000)).get("LOGGING", []))
        levels = re.search(r"Levels: (.*?) for the rest", logging)
        assert levels, "no Levels paragraph in LOGGING"
        named = set(re.findall(r"\b[a-z]+_[a-z_]+\b|\b(?:verified|exempt|unreachable)\b",
                               levels.group(1)))
        missing = sorted(named - set(outcomes))
        assert named and not missing, f"missing: {missing}"


def verif8ctl_checks():
    page = sections(render("verif8ctl.8", width=2000))
    synopsis = " ".join(page.get("SYNOPSIS", []))
    commands_text = page.get("COMMANDS", [])
    options_text = page.get("OPTIONS", [])
    tags = lambda lines: " ".join(line.strip() for line in lines if re.match(r"^ {7}\S", line))
    help_result = run([TOOL, "--help"])

    @check("verif8ctl --help exits 0 and prints the usage on standard output")
    def _():
        assert help_result.returncode == 0, help_result.stderr
        assert help_result.stdout.startswith("usage: verif8ctl"), help_result.stdout

    text = help_result.stdout
    commands = re.findall(r"^  ([a-z][a-z-]+)(?: ([A-Z]+))?\s", text.split("options:")[0],
                          flags=re.M)
    options = sorted(set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text)))

    @check("verif8ctl(8) documents every command of verif8ctl --help, with its argument")
    def _():
        assert commands, text
        missing = [" ".join(filter(None, command)) for command in commands
                   if " ".join(filter(None, command)) not in tags(commands_text)
                   or command[0] not in synopsis]
        assert not missing, f"missing from COMMANDS or SYNOPSIS: {missing}"

    @check("verif8ctl(8) documents every option of verif8ctl --help, and -h")
    def _():
        assert "--conf" in options, text
        missing = [option for option in options + ["-h"]
                   if not re.search(rf"(?<![\w-]){option}\b", tags(options_text))]
        assert not missing, f"missing from OPTIONS: {missing}"

    @check("verif8ctl(8) EXIT STATUS lists 0, 1 and 2, as the program uses them")
    def _():
        statuses = re.findall(r"^ {7}(\d+)\b", "\n".join(page.get("EXIT STATUS", [])), flags=re.M)
        assert statuses == ["0", "1", "2"], statuses
        for args, status in ((["--version"], 0), (["-h"], 0), ([], 2), (["bogus"], 2),
                             (["--frobnicate", "check-config"], 2), (["lookup"], 2),
                             (["--conf"], 2),
                             (["--conf", "/nonexistent/verif8.conf", "check-config"], 1)):
            result = run([TOOL] + args, stdin=subprocess.DEVNULL)
            assert result.returncode == status, \
                f"verif8ctl {' '.join(args)}: {result.returncode}, not {status}\n{result.stderr}"
            if status == 2:
                assert "usage: verif8ctl" in result.stderr, result.stderr


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
    rendering_checks()
    structure_checks()
    key_checks()
    return_value_checks()
    verif8ctl_checks()
    return report()


if __name__ == "__main__":
    sys.exit(main())
