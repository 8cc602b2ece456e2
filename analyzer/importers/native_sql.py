"""The SQL that turns raw lines into typed events and rejected lines.

Input: a relation ``chunk_lines(line_no BIGINT, line VARCHAR)``, one row per non-blank line
of the file (a line may still end with ``\\n`` or ``\\r\\n``: JSON allows trailing whitespace,
and only the ``raw`` text of a rejected line is trimmed). Two SELECTs over it share every
expression (:func:`_typed_query`) and the list of checks (:func:`_checks`):

- :func:`fast_query`, the common path, run over a whole segment of the file: the typed
  columns of the good lines only;
- :func:`stage_query`, the precise path, run only over the blocks that had bad lines: every
  line with ``_reject_reason`` (NULL for a good line, else the first check that failed) and
  ``_raw`` (the line).

Secrets are redacted (:mod:`.redact`): every rule on each line before parsing (behind one
case-insensitive pre-filter), so known fields, ``extra``, rejected lines and the values
quoted in reasons all come from the redacted text. Each line is parsed ONCE by ``json_transform`` into a struct of VARCHAR
(strings unescaped, numbers, booleans, objects and arrays as their JSON text); every known
field of ``analyzer.fields.FIELD_TYPES`` is then cast with plain, vectorised casts. A field
present (not null) whose cast fails is a wrong type. Unknown fields are found by counting
``json_keys`` against the known fields present; only those lines pay for ``json_merge_patch``.

Type rules (lax for clean values, strict otherwise):

- ``VARCHAR`` fields: a string; a number, boolean, object or array is kept as its JSON text.
- ``INTEGER``: an integer, a number with no fractional part (``503.0``), or a string holding
  one (``"503"``); anything else (``"abc"``, ``503.5``, ``true``) is a wrong type.
- ``DOUBLE``: a number or a string holding a number.
- ``BOOLEAN``: ``true``/``false``, ``0``/``1``, or the strings ``"true"``, ``"false"``,
  ``"1"``, ``"0"``, ``"yes"``, ``"no"`` (any case; headers are often logged as ``"1"``).
- ``null`` in a known field is the same as an absent field; an unknown field is kept in
  ``extra`` as written, ``null`` included.
- ``ts``: an RFC 3339 / ISO 8601 string (``Z``, ``+02:00``, ``+0200``, a zone name, or none
  = naive, taken as UTC), or Unix seconds as a number or a numeric string. ``ts_raw`` keeps
  the string as written (a number as the JSON parser prints it, e.g. ``1795176000.019``).
"""

from __future__ import annotations

import json
from functools import cache

from analyzer.fields import FIELD_TYPES, KNOWN_EVENTS
from analyzer.importers.redact import redact_sql
from analyzer.importers.timestamps import (
    BAD_OFFSET,
    BAD_OFFSET_PATTERN,
    NOT_FINITE,
    TsWindow,
    seconds_sql,
)
from analyzer.store import quote_identifier as q

# reasons (the exact strings stored in rejected.reason)
NOT_JSON = "not JSON"
NOT_OBJECT = "not an object"
MISSING_TS = "missing ts"
INVALID_TS = "invalid ts"
MISSING_SOURCE = "missing source"
UNKNOWN_SOURCE = "unknown source"
MISSING_EVENT = "missing event"

SOURCES = ("gateway", "runner")
_VALUE_PREVIEW = 60
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")

# an offset or zone after the time part: anything else is naive (taken as UTC)
_ZONED = (
    r"[T t]\d{1,2}:\d{2}(:\d{2}([.,]\d*)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?|[A-Za-z][A-Za-z_/+-]*)$"
)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return ", ".join(_lit(v) for v in values)


def _v(name: str) -> str:
    """The field's text (NULL when absent or null)."""
    return f"j.{q(name)}"


def typed_expr(name: str, sql_type: str) -> str:
    """The field cast to its SQL type; NULL when absent OR of the wrong type."""
    v = _v(name)
    if sql_type == "VARCHAR":
        return v
    if sql_type == "INTEGER":
        d = f"try_cast({v} AS DOUBLE)"
        return f"CASE WHEN {d} = trunc({d}) AND abs({d}) < 2147483648 THEN {d}::INTEGER END"
    if sql_type == "DOUBLE":
        return f"try_cast({v} AS DOUBLE)"
    if sql_type == "BOOLEAN":
        return (
            f"CASE WHEN lower(trim({v})) IN ({_list(_TRUE)}) THEN true "
            f"WHEN lower(trim({v})) IN ({_list(_FALSE)}) THEN false END"
        )
    raise ValueError(f"no type rule for {name}: {sql_type}")


_TS = _v("ts")
# a number is a Unix time in s/ms/us/ns (by magnitude); a string with an impossible offset
# (+99:99) is no time (DuckDB would shift it by 99 hours)
_TS_EXPR = (
    f"CASE WHEN _ts_num IS NOT NULL THEN try(to_timestamp({seconds_sql('_ts_num')})) "
    f"WHEN _ts_bad_offset THEN NULL ELSE try_cast({_TS} AS TIMESTAMPTZ) END"
)
# the timestamp as written, unless it is an RFC 3339 UTC time ending in "Z": ``ts`` holds that
# one exactly (to the microsecond). Storing every "...Z" string again cost 15% of the import.
_TS_RAW = f"CASE WHEN suffix({_TS}, 'Z') THEN NULL ELSE {_TS} END"
_TS_NAIVE = (
    f"CASE WHEN suffix({_TS}, 'Z') THEN false ELSE coalesce(try_cast({_TS} AS DOUBLE) IS NULL "
    f"AND NOT regexp_matches(trim({_TS}), {_lit(_ZONED)}), false) END"
)

_OTHER_FIELDS = [(n, t) for n, t in FIELD_TYPES.items() if n not in ("ts", "source", "event")]
_STRUCT_SPEC = json.dumps(dict.fromkeys(FIELD_TYPES, "VARCHAR"))
_REMOVE_KNOWN = json.dumps(dict.fromkeys(FIELD_TYPES))
_PRESENT = " + ".join(f"({_v(n)} IS NOT NULL)::INTEGER" for n in FIELD_TYPES)


def _checks(window: TsWindow) -> list[tuple[str, str]]:
    """Every check of a line, in order: (condition that makes the line bad, reason SQL).

    The fast path keeps the lines for which none holds; the precise path names the first
    that holds. Both are built from this one list, so they cannot disagree.
    """
    checks = [
        ("j IS NULL AND NOT json_valid(line)", _lit(NOT_JSON)),
        ("j IS NULL", _lit(NOT_OBJECT)),
        (f"{_TS} IS NULL", _lit(MISSING_TS)),
        ("_ts_num IS NOT NULL AND NOT isfinite(_ts_num)", _lit(NOT_FINITE)),
        ("_ts_bad_offset", _lit(BAD_OFFSET)),
        ("ts_value IS NULL", _lit(INVALID_TS)),
        (
            f"ts_value < {_lit(window.start.isoformat())}::TIMESTAMPTZ "
            f"OR ts_value >= {_lit(window.end.isoformat())}::TIMESTAMPTZ",
            f"{_lit(window.reason() + ': ')} || left({_TS}, {_VALUE_PREVIEW})",
        ),
        (f"{_v('source')} IS NULL", _lit(MISSING_SOURCE)),
        (f"{_v('source')} NOT IN ({_list(SOURCES)})", _lit(UNKNOWN_SOURCE)),
        (f"trim(coalesce({_v('event')}, '')) = ''", _lit(MISSING_EVENT)),
    ]
    for name, sql_type in _OTHER_FIELDS:
        if sql_type == "VARCHAR":
            continue
        checks.append(
            (
                f"{_v(name)} IS NOT NULL AND {q('_c_' + name)} IS NULL",
                f"{_lit(f'wrong type for {name}: ')} || left(json_extract(line, "
                f"{_lit('$.' + name)})::VARCHAR, {_VALUE_PREVIEW})",
            )
        )
    return checks


def _reason_expr(window: TsWindow) -> str:
    """The first problem of a line, in a fixed order; NULL for a good line."""
    return "CASE " + " ".join(f"WHEN {c} THEN {r}" for c, r in _checks(window)) + " END"


def _good_expr(window: TsWindow) -> str:
    """True for a line with no problem.

    DuckDB pushes a filter down through the projections below it by inlining what they
    compute: a bare boolean would parse the JSON once per condition (5x slower), a CASE still
    computes the timestamp and the casts twice. ``random()`` is volatile, which stops the
    pushdown: the filter stays on top and reuses the columns (about 10% less CPU).
    """
    checks = " ".join(f"WHEN {c} THEN false" for c, _ in _checks(window)[1:])
    return f"(CASE {checks} ELSE true END) AND random() >= 0.0"


def _typed_query(extra_columns: str, passthrough: str = "") -> str:
    """The lines of ``chunk_lines`` redacted, parsed once and cast: ``line_no``, ``line``,
    ``j`` (the struct of field texts), ``ts_value`` and ``_c_<field>`` for the casts.
    ``passthrough``: more columns of ``chunk_lines`` carried to the output (``"a, b, "``)."""
    casts = ",\n        ".join(
        f"{typed_expr(n, t)} AS {q('_c_' + n)}" for n, t in _OTHER_FIELDS if t != "VARCHAR"
    )
    line = redact_sql("line")
    return f"""
WITH lines AS (
    SELECT {passthrough}line_no, {line} AS line FROM chunk_lines
), objects AS (
    SELECT {passthrough}line_no, line,
        CASE WHEN starts_with(line, '{{') OR starts_with(ltrim(line), '{{')
             THEN try(json_transform(line, {_lit(_STRUCT_SPEC)})) END AS j
    FROM lines
), timed AS (
    SELECT *, try_cast({_TS} AS DOUBLE) AS _ts_num,
        coalesce(NOT suffix({_TS}, 'Z') AND regexp_matches({_TS}, {_lit(BAD_OFFSET_PATTERN)}),
                 false) AS _ts_bad_offset
    FROM objects
), typed AS (
    SELECT *,
        {_TS_EXPR} AS ts_value,
        {casts},
        CASE WHEN j IS NOT NULL AND len(json_keys(line)) > {_PRESENT}
            THEN nullif(json_merge_patch(line, {_lit(_REMOVE_KNOWN)}), '{{}}') END AS unknown
    FROM timed
)
SELECT
    {passthrough}line_no,
    {extra_columns}
    ts_value AS ts,
    {_v("source")} AS source,
    {_v("event")} AS event,
    {", ".join(_output_columns())},
    {_TS_RAW} AS ts_raw,
    {_TS_NAIVE} AS ts_naive,
    unknown AS extra
FROM typed
"""


def _output_columns() -> list[str]:
    columns = []
    for name, sql_type in _OTHER_FIELDS:
        src = _v(name) if sql_type == "VARCHAR" else q("_c_" + name)
        columns.append(f"{src} AS {q(name)}")
    return columns


def stage_query(window: TsWindow) -> str:
    """One SELECT from ``chunk_lines``: typed columns, ``reason`` and ``raw`` per line."""
    return _typed_query(f"{_reason_expr(window)} AS _reject_reason,\n    line AS _raw,")


def fast_query(window: TsWindow, passthrough: str = "") -> str:
    """One SELECT from ``chunk_lines``: the typed columns of its good lines only (no
    reasons, no raw text: the bad lines are found afterwards and go through
    :func:`stage_query`)."""
    typed = _typed_query(f"{_good_expr(window)} AS _good,", passthrough)
    return f"SELECT * EXCLUDE (_good) FROM ({typed}) WHERE _good"


EVENT_COLUMNS = (*FIELD_TYPES, "ts_raw", "ts_naive", "extra")
KNOWN_EVENTS_SQL = _list(KNOWN_EVENTS)


@cache
def insert_events_sql(window: TsWindow) -> str:
    """INSERT the good lines of ``chunk_lines`` into ``events`` (returns the row count)."""
    cols = ", ".join(q(c) for c in EVENT_COLUMNS)
    return f"""
INSERT INTO events (event_id, {cols}, origin, inferred, file, line_no, import_id)
SELECT $id_base + line_no, {cols}, 'native', false, $file, line_no, $import_id
FROM ({fast_query(window)})
"""


@cache
def insert_events_many_sql(window: TsWindow) -> str:
    """INSERT the good lines of ``chunk_lines`` coming from several files: each line carries
    ``src`` (the file's index in ``chunk_files(src, file, import_id)``) and ``id_base``."""
    cols = ", ".join(q(c) for c in EVENT_COLUMNS)
    return f"""
INSERT INTO events (event_id, {cols}, origin, inferred, file, line_no, import_id)
SELECT l.id_base + l.line_no, {", ".join("l." + q(c) for c in EVENT_COLUMNS)}, 'native', false,
       f.file, l.line_no, f.import_id
FROM ({fast_query(window, "src, id_base, ")}) l JOIN chunk_files f ON f.src = l.src
"""


@cache
def insert_rejected_sql(window: TsWindow) -> str:
    """INSERT the bad lines of ``chunk_lines`` into ``rejected``."""
    return f"""
INSERT INTO rejected (file, line_no, raw, reason, import_id)
SELECT $file, line_no, left(rtrim(_raw, chr(10) || chr(13)), $max_raw), _reject_reason,
       $import_id
FROM ({stage_query(window)}) WHERE _reject_reason IS NOT NULL
"""


FIRST_REJECTED_SQL = """
SELECT line_no, reason FROM rejected WHERE import_id = $import_id ORDER BY line_no LIMIT $n
"""

COUNTS_SQL = f"""
SELECT count(*) FILTER (WHERE ts_naive),
       count(*) FILTER (WHERE event NOT IN ({KNOWN_EVENTS_SQL}))
FROM events WHERE import_id = $import_id
"""
