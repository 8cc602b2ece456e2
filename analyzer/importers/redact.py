"""Secrets never land in the database: redaction of credentials, in SQL, before parsing.

The importer redacts the *raw text of each line* before it parses it, so the same rule
protects ``events`` (every column, ``extra`` included, at any nesting depth) and the raw text
kept in ``rejected``. Three rules, all RE2 regular expressions run by DuckDB's
``regexp_replace`` (vectorised; a cheap pre-filter skips the lines that cannot contain a
secret):

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

Known limits (documented in docs/log-format.md): a key spelled with JSON escapes
(``"p\\u0061ssword"``) is not recognised, and a credential key whose value is an object with
nested objects is only redacted at its inner credential keys.
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
    r"(?i)"
    + _KEY
    + r"(\s*:\s*)(?:"
    + _JSON_STRING
    + "|"
    + _FLAT_CONTAINER
    + "|"
    + _JSON_SCALAR
    + ")"
)
KEY_VALUE_REPLACEMENT = r'"\1"\2"' + REDACTED + '"'

QUERY_PATTERN = r"(?i)\b(api[_-]?key|access[_-]?token|token|password|passwd|secret)=([^&\s\"\\,;]+)"

# any line that may hold a secret contains one of these (case-insensitive); others skip regexes
PREFILTER = r"(?i)auth|key|token|secret|passw|passwd|cookie|bearer|credential|session"


def redact_sql(column: str) -> str:
    """A DuckDB expression: ``column`` (VARCHAR) with every secret redacted."""
    key_value = f"regexp_replace({column}, '{_sql(KEY_VALUE_PATTERN)}', '{_sql(KEY_VALUE_REPLACEMENT)}', 'g')"
    bearer = f"regexp_replace({key_value}, '{_sql(_BEARER)}', '\\1\\2{REDACTED}', 'g')"
    keyed = f"regexp_replace({bearer}, '{_sql(_KEYAUTH)}', '\\1\\2{REDACTED}', 'g')"
    query = f"regexp_replace({keyed}, '{_sql(QUERY_PATTERN)}', '\\1={REDACTED}', 'g')"
    return f"CASE WHEN regexp_matches({column}, '{_sql(PREFILTER)}') THEN {query} ELSE {column} END"


_BEARER = r"\b([Bb]earer|BEARER)(\s+)[A-Za-z0-9._~+/=-]{4,}"
_KEYAUTH = (
    r"\b(Key|KEY)(\s+)(?:[A-Za-z0-9._~+/=-]{6,}:[A-Za-z0-9._~+/=-]{6,}|[A-Za-z0-9._~+/=-]{20,})"
)


def _sql(text: str) -> str:
    return text.replace("'", "''")


_PY_RULES = (
    (re.compile(KEY_VALUE_PATTERN[4:], re.IGNORECASE), '"\\1"\\2"' + REDACTED + '"'),
    (re.compile(_BEARER), "\\1\\2" + REDACTED),
    (re.compile(_KEYAUTH), "\\1\\2" + REDACTED),
    (re.compile(QUERY_PATTERN[4:], re.IGNORECASE), "\\1=" + REDACTED),
)


def redact_text(text: str) -> str:
    """The same redaction in Python, for small texts (tests, single values)."""
    for pattern, replacement in _PY_RULES:
        text = pattern.sub(replacement, text)
    return text
