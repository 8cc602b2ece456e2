"""The SQL that turns a chunk of raw lines into typed events and rejected lines.

Input: a relation ``chunk_lines(line_no BIGINT, line VARCHAR)`` (one row per physical line
of the file, blank lines included). :data:`STAGE_SQL` builds the temporary table ``_stage``
with one row per non-blank line: every column of ``events`` (typed), plus ``reject_reason`` (NULL
for a good line) and ``raw`` (the redacted line, kept for rejected rows). Each line's JSON is
parsed once into a struct of JSON values (``json_transform``); every known field of
``analyzer.events.FIELD_TYPES`` is then type-checked and cast with vectorised expressions.

Type rules (lax for clean values, strict otherwise):

- ``VARCHAR`` fields take a string, or a number or boolean (kept as its JSON text);
  an object or array is a wrong type.
- ``INTEGER``: an integer, a float with no fractional part (``503.0``) or a string holding
  an integer (``"503"``); anything else (``"abc"``, ``503.5``, ``true``) is a wrong type.
- ``DOUBLE``: a number or a string holding a number.
- ``BOOLEAN``: ``true``/``false``, ``0``/``1``, or the strings ``"true"``, ``"false"``,
  ``"1"``, ``"0"``, ``"yes"``, ``"no"`` (any case; headers are often logged as ``"1"``).
- ``null`` is the same as an absent field.
- ``ts``: an RFC 3339 / ISO 8601 string (``Z``, ``+02:00``, ``+0200``, a zone name, or none
  = naive, taken as UTC), or Unix seconds as a number or a numeric string.
"""

from __future__ import annotations

import json

from analyzer.events import FIELD_TYPES, KNOWN_EVENTS
from analyzer.importers.redact import redact_sql
from analyzer.store import quote_identifier as q

# reasons (the exact strings stored in rejected.reason)
NOT_JSON = "not JSON"
NOT_OBJECT = "not an object"
MISSING_TS = "missing ts"
INVALID_TS = "invalid ts"
MISSING_SOURCE = "missing source"
UNKNOWN_SOURCE = "unknown source"
MISSING_EVENT = "missing event"
WRONG_TYPE = "wrong type for {field}: {value}"

SOURCES = ("gateway", "runner")
_VALUE_PREVIEW = 60

# an offset or zone after the time part: anything else is naive (taken as UTC)
_ZONED = (
    r"[T t]\d{1,2}:\d{2}(:\d{2}([.,]\d*)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?|[A-Za-z][A-Za-z_/+-]*)$"
)
_INT_TEXT = r"^\s*[+-]?\d+\s*$"


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _v(name: str) -> str:
    """The JSON value of a field (NULL when absent or null)."""
    return f"j.{q(name)}"


def _t(name: str) -> str:
    return f"json_type({_v(name)})"


def _text(name: str) -> str:
    """A JSON string unquoted; other scalars as their JSON text."""
    return f"CASE WHEN {_t(name)} = 'VARCHAR' THEN {_v(name)} ->> '$' ELSE {_v(name)}::VARCHAR END"


def typed_expr(name: str, sql_type: str) -> str:
    """Expression of the field cast to its SQL type; NULL when absent OR of the wrong type."""
    v, t = _v(name), _t(name)
    if sql_type == "VARCHAR":
        return f"CASE WHEN {t} IN ('OBJECT', 'ARRAY') THEN NULL ELSE {_text(name)} END"
    if sql_type == "INTEGER":
        return (
            f"CASE {t} WHEN 'BIGINT' THEN try_cast({v} AS INTEGER) "
            f"WHEN 'UBIGINT' THEN try_cast({v} AS INTEGER) "
            f"WHEN 'DOUBLE' THEN CASE WHEN try_cast({v} AS DOUBLE) = round(try_cast({v} AS DOUBLE)) "
            f"THEN try_cast(try_cast({v} AS DOUBLE) AS INTEGER) END "
            f"WHEN 'VARCHAR' THEN CASE WHEN regexp_matches({v} ->> '$', {_lit(_INT_TEXT)}) "
            f"THEN try_cast(trim({v} ->> '$') AS INTEGER) END END"
        )
    if sql_type == "DOUBLE":
        return (
            f"CASE WHEN {t} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN try_cast({v} AS DOUBLE) "
            f"WHEN {t} = 'VARCHAR' THEN try_cast(trim({v} ->> '$') AS DOUBLE) END"
        )
    if sql_type == "BOOLEAN":
        return (
            f"CASE {t} WHEN 'BOOLEAN' THEN {v} = 'true' "
            f"WHEN 'UBIGINT' THEN CASE {v} WHEN '1' THEN true WHEN '0' THEN false END "
            f"WHEN 'BIGINT' THEN CASE {v} WHEN '1' THEN true WHEN '0' THEN false END "
            f"WHEN 'VARCHAR' THEN CASE lower(trim({v} ->> '$')) "
            f"WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN true "
            f"WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END END"
        )
    raise ValueError(f"no type rule for {name}: {sql_type}")


_TS_TEXT = f"CASE WHEN {_t('ts')} = 'VARCHAR' THEN {_v('ts')} ->> '$' END"
_TS_EXPR = (
    f"CASE WHEN {_t('ts')} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
    f"THEN try(to_timestamp(try_cast({_v('ts')} AS DOUBLE))) "
    f"WHEN {_t('ts')} = 'VARCHAR' THEN coalesce(try_cast({_TS_TEXT} AS TIMESTAMPTZ), "
    f"try(to_timestamp(try_cast(trim({_TS_TEXT}) AS DOUBLE)))) END"
)
_TS_NAIVE = (
    f"coalesce({_t('ts')} = 'VARCHAR' AND try_cast(trim({_TS_TEXT}) AS DOUBLE) IS NULL "
    f"AND NOT regexp_matches(trim({_TS_TEXT}), {_lit(_ZONED)}), false)"
)

_OTHER_FIELDS = [(n, t) for n, t in FIELD_TYPES.items() if n not in ("ts", "source", "event")]
_STRUCT_SPEC = json.dumps(dict.fromkeys(FIELD_TYPES, "JSON"))
_REMOVE_KNOWN = json.dumps(dict.fromkeys(FIELD_TYPES))


def _reason_expr() -> str:
    """The first problem of a line, in a fixed order; NULL for a good line."""
    whens = [
        f"WHEN NOT is_json THEN {_lit(NOT_JSON)}",
        f"WHEN json_type(line) <> 'OBJECT' THEN {_lit(NOT_OBJECT)}",
        f"WHEN {_v('ts')} IS NULL THEN {_lit(MISSING_TS)}",
        f"WHEN ts_value IS NULL THEN {_lit(INVALID_TS)}",
        f"WHEN {_v('source')} IS NULL THEN {_lit(MISSING_SOURCE)}",
        f"WHEN {_t('source')} <> 'VARCHAR' OR ({_v('source')} ->> '$') NOT IN "
        f"({', '.join(_lit(s) for s in SOURCES)}) THEN {_lit(UNKNOWN_SOURCE)}",
        f"WHEN {_v('event')} IS NULL OR ({_t('event')} = 'VARCHAR' AND "
        f"trim({_v('event')} ->> '$') = '') THEN {_lit(MISSING_EVENT)}",
        f"WHEN {_t('event')} <> 'VARCHAR' THEN "
        f"'wrong type for event: ' || left({_v('event')}, {_VALUE_PREVIEW})",
    ]
    for name, _ in _OTHER_FIELDS:
        whens.append(
            f"WHEN {_v(name)} IS NOT NULL AND {q('_c_' + name)} IS NULL THEN "
            f"{_lit(f'wrong type for {name}: ')} || left({_v(name)}, {_VALUE_PREVIEW})"
        )
    return "CASE " + " ".join(whens) + " END"


def build_stage_sql() -> str:
    """CREATE the ``_stage`` temp table from ``chunk_lines`` (see the module docstring)."""
    casts = ",\n        ".join(
        f"{typed_expr(name, sql_type)} AS {q('_c_' + name)}" for name, sql_type in _OTHER_FIELDS
    )
    known = ", ".join(_lit(e) for e in KNOWN_EVENTS)
    return f"""
CREATE OR REPLACE TEMP TABLE _stage AS
WITH lines AS (
    SELECT line_no, {redact_sql("rtrim(line, chr(13))")} AS line
    FROM chunk_lines
    WHERE trim(line, ' ' || chr(9) || chr(13) || chr(11) || chr(12)) <> ''
), parsed AS (
    SELECT line_no, line, json_valid(line) AS is_json FROM lines
), objects AS (
    SELECT line_no, line, is_json,
        CASE WHEN is_json AND json_type(line) = 'OBJECT'
             THEN json_transform(line, {_lit(_STRUCT_SPEC)}) END AS j
    FROM parsed
), typed AS (
    SELECT *,
        {_TS_EXPR} AS ts_value,
        {casts}
    FROM objects
)
SELECT
    line_no,
    {_reason_expr()} AS reject_reason,  -- not `reason`: that is an event field
    line AS raw,
    ts_value AS ts,
    {_v("source")} ->> '$' AS source,
    CASE WHEN {_t("event")} = 'VARCHAR' THEN {_v("event")} ->> '$' END AS event,
    {", ".join(q("_c_" + n) + " AS " + q(n) for n, _ in _OTHER_FIELDS)},
    CASE WHEN {_t("ts")} = 'VARCHAR' THEN {_v("ts")} ->> '$' ELSE {_v("ts")}::VARCHAR END AS ts_raw,
    {_TS_NAIVE} AS ts_naive,
    CASE WHEN j IS NOT NULL THEN nullif(json_merge_patch(line, {_lit(_REMOVE_KNOWN)}), '{{}}') END
        AS extra,
    CASE WHEN {_t("event")} = 'VARCHAR' THEN ({_v("event")} ->> '$') NOT IN ({known}) END
        AS unknown_event
FROM typed
"""


STAGE_SQL = build_stage_sql()

EVENT_COLUMNS = (*FIELD_TYPES, "ts_raw", "ts_naive", "extra")

INSERT_EVENTS_SQL = f"""
INSERT INTO events (event_id, {", ".join(q(c) for c in EVENT_COLUMNS)},
                    origin, inferred, file, line_no, import_id)
SELECT $id_base + line_no, {", ".join(q(c) for c in EVENT_COLUMNS)},
       'native', false, $file, line_no, $import_id
FROM _stage WHERE reject_reason IS NULL
"""

INSERT_REJECTED_SQL = """
INSERT INTO rejected (file, line_no, raw, reason, import_id)
SELECT $file, line_no, left(raw, $max_raw), reject_reason, $import_id
FROM _stage WHERE reject_reason IS NOT NULL
"""

COUNTS_SQL = """
SELECT count(*) FILTER (WHERE reject_reason IS NULL),
       count(*) FILTER (WHERE reject_reason IS NOT NULL),
       count(*) FILTER (WHERE reject_reason IS NULL AND ts_naive),
       count(*) FILTER (WHERE reject_reason IS NULL AND unknown_event)
FROM _stage
"""

FIRST_REJECTED_SQL = """
SELECT line_no, reject_reason FROM _stage WHERE reject_reason IS NOT NULL ORDER BY line_no LIMIT $n
"""
