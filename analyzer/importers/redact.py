"""Secrets never land in the database: THE redaction, one set of rules in two forms.

- :func:`redact` (Python) takes any value: a string (free text, JSON text, JSON inside a
  string), a dict or a list (walked: a credential key loses its whole value, a
  ``{"name"/"key": <credential name>, "value": ...}`` item loses its value) or a scalar
  (kept). Import code of every format, rejected-line reasons, summaries, reports and the UI
  call it on whatever they are about to store or show.
- :func:`redact_sql` is the same rules as a DuckDB SQL expression over a VARCHAR column
  (text or JSON text), vectorised (RE2 ``regexp_replace``), for the bulk paths.

Both run the rules of :data:`RULES` in order (Python ``re`` and RE2 accept the same
patterns and rewrites):

1. **Credential keys** in JSON text (also JSON escaped inside a JSON string,
   ``"{\\"password\\": ...}"``): the value of a key that *ends* with a credential word
   (case-insensitive, any prefix, so ``authToken``, ``userPassword``, ``db_password``,
   ``http.request.header.authorization``, ``x-fal-key``): ``authorization``, ``auth``,
   ``api_key``/``apikey``, ``token``, ``secret``, ``password``, ``passwd``, ``pwd``,
   ``passphrase``, ``cookie``, ``fal_key``, ``credential(s)``, ``session_id``,
   ``secret/access/private/signing_key``. ``max_tokens``, ``token_count`` do not end with a
   word and are kept. A string, a number, or an object/array up to 4 levels deep is
   replaced whole by ``"[REDACTED]"``.
2. **Header lists**: ``{"name": "Authorization", "value": ...}`` and OTel's
   ``{"key": "http.request.header.x-api-key", "value": {...}}``, either order.
3. **Schemes** in any text: ``Bearer <token>``, ``Basic <base64>``, ``Key <id>:<secret>``
   keep the scheme word.
4. **URLs with a password**: ``scheme://user:[REDACTED]@host``.
5. **Assignments in free text**: ``NAME=value`` or ``NAME: value`` where NAME ends with a
   credential word (``PASSWORD=``, ``FAL_KEY=id:secret``, ``OPENAI_API_KEY=``,
   ``client_secret: ...``, ``Authorization: Basic ...``, ``?api_key=...&``).

Known limits (docs/log-format.md): a key spelled with JSON escapes (``"p\\u0061ssword"``)
is not recognised; in SQL an object value nested deeper than 4 levels is only redacted at
its inner credential keys (the Python walk has no such limit).
"""

from __future__ import annotations

import json
import re
from typing import TypeVar

REDACTED = "[REDACTED]"

T = TypeVar("T")

_WORDS = (
    r"authorization|auth|api[_-]?key|apikey|token|secret|password|passwd|pwd|passphrase"
    r"|cookie|fal[_-]?key|credentials?|session[_-]?id"
    r"|(?:secret|access|private|signing|encryption)[_-]?key"
)
_NAME_RE = re.compile(r"(?i)^.*(?:" + _WORDS + r")$", re.DOTALL)

_STRING = r'"(?:[^"\\]|\\.)*"'
_SCALAR = r"-?[0-9][0-9.eE+-]*|true|false|null"


def _container(depth: int) -> str:
    """A JSON object or array nested at most ``depth`` levels (strings may hold brackets)."""
    inner = _STRING + r'|[^\[\]{}"]'
    pattern = r"[\[{](?:" + inner + r")*[\]}]"
    for _ in range(depth - 1):
        pattern = r"[\[{](?:" + inner + "|" + pattern + r")*[\]}]"
    return pattern


_VALUE = "(?:" + "|".join((_STRING, _container(4), _SCALAR)) + ")"
_KEY = r'"([^"\\]*(?:' + _WORDS + r'))"'
# JSON inside a JSON string (at any level of escaping): quotes are \" (or \\\", ...); a value
# string is one with no quote inside (a secret rarely has one)
_E_Q = r'(\\+")'
_E_VALUE = (
    "(?:" + "|".join((r'\\+"(?:[^"\\]|\\+[^"\\])*\\+"', r"[\[{][^\[\]{}]*[\]}]", _SCALAR)) + ")"
)
_E_KEY = _E_Q + r'([^"\\]*(?:' + _WORDS + r'))\\+"'
_PAIR_NAME = r'"(?:name|key)"\s*:\s*"[^"\\]*(?:' + _WORDS + r')"'
_TOKEN = r"[A-Za-z0-9._~+/=-]"
_Q = '"' + REDACTED + '"'

RULES: tuple[tuple[str, str], ...] = (
    ("(?i)" + _KEY + r"(\s*:\s*)" + _VALUE, r'"\1"\2' + _Q),
    ("(?i)" + _E_KEY + r"(\s*:\s*)" + _E_VALUE, r"\1\2\1\3\1" + REDACTED + r"\1"),
    ("(?i)(" + _PAIR_NAME + r'\s*,\s*"value"\s*:\s*)' + _VALUE, r"\1" + _Q),
    ('(?i)("value"\\s*:\\s*)' + _VALUE + r"(\s*,\s*" + _PAIR_NAME + ")", r"\1" + _Q + r"\2"),
    (r"\b([Bb]earer|BEARER)(\s+)" + _TOKEN + "{4,}", r"\1\2" + REDACTED),
    (r"\b(Basic|BASIC)(\s+)[a-z]*[A-Z0-9+/][A-Za-z0-9+/]*={0,2}", r"\1\2" + REDACTED),
    (
        r"\b(Key|KEY)(\s+)(?:" + _TOKEN + "{6,}:" + _TOKEN + "{6,}|" + _TOKEN + "{20,})",
        r"\1\2" + REDACTED,
    ),
    (r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@\"'\\]*):[^@\s/\"'\\]+@", r"\1:" + REDACTED + "@"),
    (
        r"(?i)\b([A-Za-z0-9_.-]*(?:" + _WORDS + r"))(\s*[:=]\s*)'?"
        r"((?:bearer|basic|key|token|digest)\s+)?[^\s\"'\\&,;]+",
        r"\1\2\3" + REDACTED,
    ),
)
# case-insensitive words, one of which any text that a rule changes contains
HINT = r"(?i)auth|key|token|secret|passw|pwd|passphrase|cookie|credential|session|bearer|basic|://"

_PY_RULES = tuple((re.compile(p), r) for p, r in RULES)
_PY_HINT = re.compile(HINT)


def is_secret_key(name: str) -> bool:
    """A key or header name whose value is a credential (``authToken``, ``x-fal-key``...)."""
    return bool(_NAME_RE.match(name))


def _text(text: str) -> str:
    if not _PY_HINT.search(text):
        return text
    for pattern, replacement in _PY_RULES:
        text = pattern.sub(replacement, text)
    return text


def _pair_name(item: dict[object, object]) -> object:
    return item.get("name", item.get("key"))


def redact(value: T) -> T:
    """``value`` without its secrets: the one redaction (see the module's rules).

    A ``str`` gets the text rules; a ``dict`` loses the values of its credential keys (whole,
    at any depth) and of ``{"name"/"key": <credential name>, "value": ...}`` items, other
    values are redacted in turn; a list or tuple item by item; anything else is returned
    as is. The result has the same shape (a new object; the input is not changed).
    """
    if isinstance(value, str):
        return _text(value)  # type: ignore[return-value]
    if isinstance(value, dict):
        name = _pair_name(value)
        pair = isinstance(name, str) and "value" in value and is_secret_key(name)
        out: dict[object, object] = {}
        for k, v in value.items():
            if (isinstance(k, str) and is_secret_key(k)) or (pair and k == "value"):
                out[k] = REDACTED
            else:
                out[k] = redact(v)
        return out  # type: ignore[return-value]
    if isinstance(value, list):
        return [redact(v) for v in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)  # type: ignore[return-value]
    return value


def redact_text(text: str) -> str:
    """:func:`redact` of a string (kept for callers that want the ``str`` type spelled)."""
    return _text(text)


def redact_json_text(text: str) -> str:
    """JSON text redacted by walking it (no depth limit); other text by the text rules."""
    try:
        value = json.loads(text)
    except ValueError:
        return _text(text)
    return json.dumps(redact(value), ensure_ascii=False, separators=(",", ":"))


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def redact_sql(column: str) -> str:
    """``column`` (a VARCHAR SQL expression) with every rule applied, behind a pre-filter
    (one case-insensitive ``regexp_matches`` of :data:`HINT`)."""
    body = column
    for pattern, replacement in RULES:
        body = f"regexp_replace({body}, {_sql(pattern)}, {_sql(replacement)}, 'g')"
    return f"CASE WHEN regexp_matches({column}, {_sql(HINT)}) THEN {body} ELSE {column} END"
