"""Scans a test run's logs for secrets: no code the sandbox delivered (outbox.jsonl) and not the
API key may appear in any log of the module or the sandbox, except the sandbox's own delivery
lines (that is the "phone"). Codes are matched as whole tokens, and the parts of the logs that are
numbers by construction (requests.jsonl's "time", pam_wrapper's `PWRAP_...[program (pid)] - `
prefixes) are left out, so that a timestamp or a pid cannot pass for a leaked code."""

import json
import re
from pathlib import Path

# `[verif8-sandbox] SMS to +6591234567: Your verification code is 370761`: the delivery itself.
DELIVERY_LINE = re.compile(r"^\[verif8-sandbox\] .*? to \+?[0-9]+: ")
WRAPPER_PREFIX = re.compile(r"[A-Z]*WRAP_[A-Z]+\[[^\]]*\] - ")


def _lines(path):
    path = Path(path)
    return path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []


def delivered_codes(outbox_path):
    """Every code the sandbox delivered, in order, without duplicates."""
    codes = (json.loads(line).get("code") for line in _lines(outbox_path) if line.strip())
    return list(dict.fromkeys(code for code in codes if code))


def sandbox_console_text(path):
    """The sandbox's stdout and stderr without its delivery lines."""
    return "\n".join(line for line in _lines(path) if not DELIVERY_LINE.match(line))


def requests_text(path):
    """requests.jsonl with each record's arrival time removed (a float full of digits)."""
    def without_time(line):
        try:
            record = json.loads(line)
        except ValueError:
            return line
        if isinstance(record, dict):
            record.pop("time", None)
        return json.dumps(record, ensure_ascii=False)
    return "\n".join(map(without_time, filter(str.strip, _lines(path))))


def pam_log_text(text):
    """Captured stderr of a PAM process without pam_wrapper's `PWRAP_DEBUG[...] - ` prefixes."""
    return WRAPPER_PREFIX.sub("", text)


def find_leaks(texts, codes=(), secrets=()):
    """Where any code (as a whole token) or any other secret (anywhere) shows in `texts`
    ({name: text}): one line per finding, naming the log and line, the secret masked."""
    codes = sorted({c for c in codes if c}, key=len, reverse=True)
    code_pattern = codes and re.compile(
        r"(?<![0-9A-Za-z])(?:" + "|".join(map(re.escape, codes)) + r")(?![0-9A-Za-z])")
    secrets = [s for s in secrets if s]
    findings = []
    for name, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            hits = [("a delivered code", m.group(0))
                    for m in (code_pattern.finditer(line) if code_pattern else [])]
            hits += [("a secret", s) for s in secrets if s in line]
            for what, value in hits:
                masked = value[:2] + "*" * max(0, len(value) - 2)
                shown = line.replace(value, masked)
                findings.append(f"{name}:{number}: {what} ({masked}): {shown[:240]}"
                                + ("..." if len(shown) > 240 else ""))
    return findings


def scan_run(outbox, api_key, pam_logs=None, sandbox_stdout=None, requests_log=None,
             extra_secrets=()):
    """The whole check for one run: codes from `outbox`, `api_key` and `extra_secrets` against
    the PAM logs ({name: captured stderr}), the sandbox's console (minus deliveries) and
    requests.jsonl. Returns the findings (empty: nothing leaked)."""
    texts = {name: pam_log_text(text) for name, text in (pam_logs or {}).items()}
    if sandbox_stdout is not None:
        texts[str(sandbox_stdout)] = sandbox_console_text(sandbox_stdout)
    if requests_log is not None:
        texts[str(requests_log)] = requests_text(requests_log)
    return find_leaks(texts, delivered_codes(outbox), [api_key, *extra_secrets])


def read_logs(directory, pattern="*.log"):
    """{path: text} of the files in `directory` matching `pattern` (for scan_run's pam_logs)."""
    return {str(p): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(Path(directory).glob(pattern))}
