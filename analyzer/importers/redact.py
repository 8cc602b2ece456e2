"""Secrets never land in the database: redaction of credentials, in SQL.

Three rules, all RE2 regular expressions run by DuckDB's ``regexp_replace`` (vectorised):

1. **Credential keys.** The value of any JSON key that looks like a credential becomes
   ``"[REDACTED]"``: a key (case-insensitive) equal to, or ending with ``_``/``-`` plus, one of
   ``authorization``, ``api_key``/``api-key``/``apikey``, ``token``, ``access_token``, ``secret``,
   ``client_secret``, ``secret_key``, ``access_key``, ``private_key``, ``password``, ``passwd``,
   ``cookie``/``set-cookie``, ``x-fal-key``/``fal_key``, ``credential(s)``, ``session_id``.
   ``max_tokens`` or ``token_count`` are not credentials and are kept. Scalar values, and object
   or array values without nested braces, are replaced whole.
2. **Authorization schemes in any string.** ``Bearer <token>`` and ``Key <id>:<secret>`` (the
   platform's key format, or any ``Key`` followed by a 20+ character token) keep the scheme
   word and lose the token: ``Bearer [REDACTED]``.
3. **Query-string style secrets** in free text: ``api_key=...``, ``token=...``,
   ``password=...``, ``secret=...`` keep the name and lose the value.

Where they run (so the fast path stays fast): the native importer applies rules 2 and 3 to
each raw line before parsing it, behind a cheap case-sensitive ``contains`` pre-filter
(:func:`scheme_redact_sql`); rule 1 only to the ``extra`` column (no known field of the
native format is a credential, so a credential key can only be an unknown field, at any
depth) and all three rules to the raw text of every rejected line (:func:`redact_sql`).
Mapped rows of other formats get :func:`redact_sql` on every text column.

Known limits (documented in docs/log-format.md): a key spelled with JSON escapes
(``"p\\u0061ssword"``) is not recognised; a credential key whose value is an object with
nested objects is only redacted at its inner credential keys; the scheme words are matched
as ``Bearer``/``bearer``/``BEARER`` and ``Key``/``KEY``, query names in lower case.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_KEY_WORDS = (
    r"authorization|api[_-]?key|apikey|token|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|secret|client[_-]?secret|secret[_-]?key|access[_-]?key|private[_-]?key"
    r"|password|passwd|cookie|set-cookie|x-fal-key|fal[_-]key|credentials?|session[_-]?id"
)
# a JSON key (no quotes or backslashes inside) that is, or ends with, a credential word
_KEY = r'"((?:[^"\\]*[_-])?(?:' + _KEY_WORDS + r'))"'
_JSON_STRING = r'"(?:[^"\\]|\\.)*"'
_JSON_SCALAR = r"-?[0-9][0-9.eE+-]*|true|false|null"
_FLAT_CONTAINER = r"\{[^{}]*\}|\[[^\[\]{}]*\]"
KEY_VALUE_PATTERN = (
    "(?i)" + _KEY + r"(\s*:\s*)(?:" + "|".join((_JSON_STRING, _FLAT_CONTAINER, _JSON_SCALAR)) + ")"
)
_KEY_VALUE_REPLACEMENT = r'"\1"\2"' + REDACTED + '"'

BEARER_PATTERN = r"\b([Bb]earer|BEARER)(\s+)[A-Za-z0-9._~+/=-]{4,}"
KEY_SCHEME_PATTERN = (
    r"\b(Key|KEY)(\s+)(?:[A-Za-z0-9._~+/=-]{6,}:[A-Za-z0-9._~+/=-]{6,}|[A-Za-z0-9._~+/=-]{20,})"
)
QUERY_PATTERN = (
    r"\b(api[_-]?key|apikey|access[_-]?token|token|password|passwd|secret)=([^&\s\"\\,;]+)"
)
_SCHEME_REPLACEMENT = r"\1\2" + REDACTED
_QUERY_REPLACEMENT = r"\1=" + REDACTED

# case-sensitive substrings at least one of which any text matched by rules 2-3 contains
# ("K" for Key/KEY, "=" for the query style). Each is one fast `contains` over every line,
# so they are few and short rather than precise: 4 of them cost 0.5 s of CPU on 1.5M
# lines, 8 longer words 0.75 s; the few lines they let through pay for the regexes.
SCHEME_HINTS = ("earer", "EARER", "K", "=")
# case-insensitive words at least one of which any text matched by rule 1 contains
_KEY_HINT = r"(?i)auth|key|token|secret|passw|cookie|credential|session"
_ANY_HINT = r"(?i)auth|key|token|secret|passw|cookie|credential|session|bearer"


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _replace(expr: str, pattern: str, replacement: str) -> str:
    return f"regexp_replace({expr}, {_sql(pattern)}, {_sql(replacement)}, 'g')"


def scheme_redact_sql(column: str) -> str:
    """``column`` with rules 2 and 3 applied, behind a cheap pre-filter: ``contains`` of each
    of :data:`SCHEME_HINTS`."""
    hint = " OR ".join(f"contains({column}, {_sql(h)})" for h in SCHEME_HINTS)
    body = _replace(column, BEARER_PATTERN, _SCHEME_REPLACEMENT)
    body = _replace(body, KEY_SCHEME_PATTERN, _SCHEME_REPLACEMENT)
    body = _replace(body, QUERY_PATTERN, _QUERY_REPLACEMENT)
    return f"CASE WHEN {hint} THEN {body} ELSE {column} END"


def key_redact_sql(column: str) -> str:
    """``column`` (JSON text) with rule 1 applied, behind a pre-filter."""
    body = _replace(column, KEY_VALUE_PATTERN, _KEY_VALUE_REPLACEMENT)
    return f"CASE WHEN regexp_matches({column}, {_sql(_KEY_HINT)}) THEN {body} ELSE {column} END"


def redact_sql(column: str) -> str:
    """``column`` (VARCHAR) with every rule applied (for the rarer paths: rejected lines,
    mapped rows of other formats)."""
    body = _replace(column, KEY_VALUE_PATTERN, _KEY_VALUE_REPLACEMENT)
    body = _replace(body, BEARER_PATTERN, _SCHEME_REPLACEMENT)
    body = _replace(body, KEY_SCHEME_PATTERN, _SCHEME_REPLACEMENT)
    body = _replace(body, QUERY_PATTERN, _QUERY_REPLACEMENT)
    return f"CASE WHEN regexp_matches({column}, {_sql(_ANY_HINT)}) THEN {body} ELSE {column} END"


_PY_RULES = (
    (re.compile(KEY_VALUE_PATTERN[4:], re.IGNORECASE), _KEY_VALUE_REPLACEMENT),
    (re.compile(BEARER_PATTERN), _SCHEME_REPLACEMENT),
    (re.compile(KEY_SCHEME_PATTERN), _SCHEME_REPLACEMENT),
    (re.compile(QUERY_PATTERN), _QUERY_REPLACEMENT),
)


def redact_text(text: str) -> str:
    """The same redaction in Python, for small texts (tests, single values)."""
    for pattern, replacement in _PY_RULES:
        text = pattern.sub(replacement, text)
    return text
