"""The runtime's one redaction point: every event (events.EventWriter), every log line
(events.log) and every JSON document it writes (manifest.write_json_atomic) passes through here.

The patterns are the CLI's (src/core/redact.ts SECRET_PATTERNS), written the same way:
test/redact.test.ts checks that both lists are the same and give the same text on a table of
samples. JSON is redacted value by value (redact_value), never as text.

Besides the patterns, the literal values of secrets the runtime itself read (a database
password from the environment or a Databricks secret scope) are registered with
register_secret and replaced wherever they appear, as written and as JSON escapes them.
A value shorter than MIN_SECRET_LENGTH is refused (MM453) instead: replacing every "ab"
would garble every line (and the keys of every event), and replacing it only as a whole word
would still print it inside longer text (`user=ab;`), so no output could be trusted to hide it.
The error names where the secret came from, never the value.
"""
from __future__ import annotations

import json
import re

# (pattern, flags, replacement) exactly as in src/core/redact.ts; "i" = ignore case,
# "$1" = group 1. Converted to Python's re below.
SECRET_PATTERNS: list[tuple[str, str, str]] = [
    (r"""(authorization\s*[:=]\s*)(bearer|basic)\s+[^\s"',]+""", "gi", "$1$2 ***"),
    (r"""\bbearer\s+[A-Za-z0-9._~+/=-]{8,}""", "gi", "Bearer ***"),
    (r"""\bdapi[a-f0-9]{20,}(-\d+)?\b""", "gi", "dapi***"),
    (r"""\bdose[a-f0-9]{20,}\b""", "gi", "dose***"),
    (r"""\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b""", "g", "***jwt***"),
    (r"""([?&](?:sig|se|sv|sp|spr|srt|ss|st|skoid|sktid|skt|ske|sks|skv|saoid|suoid|scid|sr|sdd)=)[^&\s"']+""", "gi", "$1***"),
    (r"""((?:password|pwd|secret|client_secret|access_token|token|accountkey|sharedaccesskey)\s*[=:]\s*)("?)[^;&\s"',}]+""", "gi", "$1$2***"),
]

_COMPILED = [
    (re.compile(p, re.IGNORECASE if "i" in flags else 0), re.sub(r"\$(\d)", r"\\g<\1>", repl))
    for p, flags, repl in SECRET_PATTERNS
]


MIN_SECRET_LENGTH = 4
_REGISTERED: list[str] = []      # longest first, so a secret inside another goes with it


def register_secret(value: str | None, source: str = "a secret the runtime read") -> None:
    """Redacts `value` (and its JSON-escaped form) from everything written from now on; MM453
    for a value shorter than MIN_SECRET_LENGTH (`source` says where it came from)."""
    if not value:
        return
    if len(value) < MIN_SECRET_LENGTH:
        from .errors import InputError
        raise InputError("MM453", f"{source} is shorter than {MIN_SECRET_LENGTH} characters, too short to keep "
                                  "out of the output; use a longer one")
    for form in {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1]}:
        if form not in _REGISTERED:
            _REGISTERED.append(form)
    _REGISTERED.sort(key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every registered secret and every known kind of secret replaced by `***`."""
    for secret in _REGISTERED:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern, repl in _COMPILED:
        text = pattern.sub(repl, text)
    return text


def redact_value(value):
    """A JSON-like value with every string in it (keys too) redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def redact_json(value, dumps) -> str:
    """`dumps(value)`, redacted: a text with no secret in it is returned as it is (one pass of
    the patterns over it, fast for a large manifest); otherwise each string is redacted."""
    text = dumps(value)
    if redact(text) == text:
        return text
    return dumps(redact_value(value))
