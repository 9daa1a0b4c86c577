"""Scans a test run's logs for secrets: every code the sandbox delivered (outbox.jsonl) and the API
key must appear in no log the module or the sandbox produced, except the sandbox's own delivery
lines (that is the "phone"). Any suite can call `scan_run` at its end, or `find_leaks` on texts of
its own.

Codes are short digit strings, so they are matched as whole tokens (not inside a longer run of
letters or digits), and the parts of the logs that are numbers by construction and carry no data
(requests.jsonl's "time" field, pam_wrapper's `PWRAP_...[program (pid)] - ` prefixes) are left
out, so that a timestamp or a pid cannot pass for a leaked code."""

import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional

# `[verif8-sandbox] SMS to +6591234567: Your verification code is 370761`: the delivery itself.
DELIVERY_LINE = re.compile(r"^\[verif8-sandbox\] .*? to \+?[0-9]+: ")
WRAPPER_PREFIX = re.compile(r"[A-Z]*WRAP_[A-Z]+\[[^\]]*\] - ")


def delivered_codes(outbox_path) -> List[str]:
    """Every code the sandbox delivered, in order (duplicates removed)."""
    path = Path(outbox_path)
    codes: List[str] = []
    if not path.exists():
        return codes
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            code = json.loads(line).get("code")
            if code and code not in codes:
                codes.append(code)
    return codes


def sandbox_console_text(path) -> str:
    """The sandbox's stdout and stderr without its delivery lines."""
    path = Path(path)
    if not path.exists():
        return ""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in lines if not DELIVERY_LINE.match(line))


def requests_text(path) -> str:
    """requests.jsonl with each record's arrival time removed (a float full of digits)."""
    path = Path(path)
    if not path.exists():
        return ""
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            records.append(line)
            continue
        if isinstance(record, dict):
            record.pop("time", None)
        records.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(records)


def pam_log_text(text: str) -> str:
    """Captured stderr of a PAM process (pam_syslog through pam_wrapper), without pam_wrapper's
    `PWRAP_DEBUG[program (pid)] - ` prefixes; everything else is kept."""
    return WRAPPER_PREFIX.sub("", text)


def _token_pattern(values: Iterable[str]) -> Optional[re.Pattern]:
    values = sorted({v for v in values if v}, key=len, reverse=True)
    if not values:
        return None
    alternatives = "|".join(re.escape(v) for v in values)
    return re.compile(r"(?<![0-9A-Za-z])(?:" + alternatives + r")(?![0-9A-Za-z])")


def find_leaks(texts: Dict[str, str], codes: Iterable[str] = (),
               secrets: Iterable[str] = ()) -> List[str]:
    """Where any code (as a whole token) or any other secret (anywhere) shows in `texts`
    ({name: text}). Returns one line per finding, naming the log and line, with the secret
    masked."""
    code_pattern = _token_pattern(codes)
    secrets = [s for s in secrets if s]
    findings = []
    for name, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            hits = []
            if code_pattern is not None:
                hits += [("a delivered code", m.group(0)) for m in code_pattern.finditer(line)]
            hits += [("a secret", s) for s in secrets if s in line]
            for what, value in hits:
                masked = value[:2] + "*" * max(0, len(value) - 2)
                shown = line.replace(value, masked)
                if len(shown) > 240:
                    shown = shown[:240] + "..."
                findings.append(f"{name}:{number}: {what} ({masked}): {shown}")
    return findings


def scan_run(outbox, api_key: str, pam_logs: Dict[str, str] = None, sandbox_stdout=None,
             requests_log=None, extra_secrets: Iterable[str] = ()) -> List[str]:
    """The whole check for one run: codes from `outbox`, `api_key` and `extra_secrets` against
    the PAM logs ({name: captured stderr}), the sandbox's console (minus deliveries) and
    requests.jsonl. Returns the findings (empty: nothing leaked)."""
    texts = {name: pam_log_text(text) for name, text in (pam_logs or {}).items()}
    if sandbox_stdout is not None:
        texts[str(sandbox_stdout)] = sandbox_console_text(sandbox_stdout)
    if requests_log is not None:
        texts[str(requests_log)] = requests_text(requests_log)
    return find_leaks(texts, delivered_codes(outbox), [api_key, *extra_secrets])


def read_logs(directory, pattern="*.log") -> Dict[str, str]:
    """{path: text} of the files in `directory` matching `pattern` (for scan_run's pam_logs)."""
    return {str(p): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(Path(directory).glob(pattern))}
