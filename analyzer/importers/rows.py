"""Insert events that another importer has already mapped (foreign formats, issue 8).

A foreign format maps its records to rows of the native ``events`` table, as dicts keyed by
the native fields (``analyzer.events.FIELD_TYPES``) plus ``ts_raw``, ``ts_naive``, ``extra``
(a dict of unmapped fields, a JSON string, or None), ``inferred`` and ``line_no`` -- or as an
Arrow table / pandas DataFrame with those columns. :func:`insert_rows` streams them in
batches into ``events`` and does what every importer must do the same way:

- allocates ``event_id`` (unique in the database, in input order);
- redacts secrets in every text column and in ``extra`` (:mod:`.redact`, in SQL);
- fills provenance: ``origin`` (the format name), ``file``, ``import_id``;
- counts events, naive timestamps and unknown event names into a :class:`FileResult`.

:func:`insert_rejected` does the same for records that could not be mapped
(``(line_no, raw, reason)``, raw text redacted and truncated). Call both from a format's
``import_file`` (``import_paths`` wraps it in a transaction and writes the ``imports`` row).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

import duckdb
import numpy as np
import pyarrow as pa

from analyzer.fields import FIELD_TYPES, KNOWN_EVENTS
from analyzer.importers.redact import redact_sql
from analyzer.importers.summary import FIRST_REASONS, FileResult, RejectedLine
from analyzer.importers.timestamps import current_window
from analyzer.store import MAX_RAW_CHARS, next_event_id
from analyzer.store import quote_identifier as q

if TYPE_CHECKING:
    import pandas as pd

BATCH_ROWS = 50_000

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}
ROW_SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[t]) for name, t in FIELD_TYPES.items()]
    + [
        pa.field("ts_raw", pa.string()),
        pa.field("ts_naive", pa.bool_()),
        pa.field("extra", pa.string()),
        pa.field("inferred", pa.bool_()),
        pa.field("line_no", pa.int64()),
    ]
)
_TEXT_COLUMNS = {n for n, t in FIELD_TYPES.items() if t == "VARCHAR"} | {"ts_raw"}


def _select_list() -> str:
    parts = []
    for name in FIELD_TYPES:
        col = q(name)
        parts.append(f"{redact_sql(col)} AS {col}" if name in _TEXT_COLUMNS else col)
    parts.append(f"{redact_sql('ts_raw')} AS ts_raw")
    parts.append("coalesce(ts_naive, false)")
    parts.append(f"CAST({redact_sql('extra')} AS JSON)")
    return ", ".join(parts)


_IN_WINDOW = "(ts IS NULL OR (ts >= $ts_lo AND ts < $ts_hi))"
_INSERT_SQL = f"""
INSERT INTO events (event_id, {", ".join(q(c) for c in FIELD_TYPES)}, ts_raw, ts_naive, extra,
                    origin, inferred, file, line_no, import_id)
SELECT $id_base + _idx, {_select_list()},
       $origin, coalesce(inferred, false), $file, line_no, $import_id
FROM _mapped_rows WHERE {_IN_WINDOW}
"""
_COUNTS_SQL = f"""
SELECT count(*), count(*) FILTER (WHERE ts_naive),
       count(*) FILTER (WHERE event NOT IN ({", ".join("'" + e + "'" for e in KNOWN_EVENTS)}))
FROM _mapped_rows WHERE {_IN_WINDOW}
"""
# a row whose time is outside the plausible window (analyzer.importers.timestamps) is kept
# in ``rejected`` (the row as JSON) with the reason, once per line of the file
_OUTSIDE_SQL = f"""
SELECT line_no, min(to_json(r)::VARCHAR), min($reason || ': ' || coalesce(ts_raw, ts::VARCHAR))
FROM _mapped_rows r WHERE NOT {_IN_WINDOW}
GROUP BY line_no ORDER BY line_no
"""
_REJECTED_SQL = f"""
INSERT INTO rejected (file, line_no, raw, reason, import_id)
SELECT $file, line_no, left({redact_sql("raw")}, {MAX_RAW_CHARS}), {redact_sql("reason")}, $import_id
FROM _mapped_rejected
"""


def _extra_text(value: Any) -> str | None:
    if value is None or value == {}:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _batches(rows: Iterable[Mapping[str, Any]]) -> Iterator[pa.Table]:
    it = iter(rows)
    while True:
        batch = list(islice(it, BATCH_ROWS))
        if not batch:
            return
        columns = {
            name: [r.get(name) for r in batch] for name in ROW_SCHEMA.names if name != "extra"
        }
        columns["extra"] = [_extra_text(r.get("extra")) for r in batch]
        yield pa.table(columns, schema=ROW_SCHEMA)


def _as_tables(rows: Iterable[Mapping[str, Any]] | pa.Table | pd.DataFrame) -> Iterator[pa.Table]:
    if type(rows).__name__ == "DataFrame":  # pandas, imported only by callers that use it
        rows = pa.Table.from_pandas(rows, preserve_index=False)
    if isinstance(rows, pa.Table):
        missing = [n for n in ROW_SCHEMA.names if n not in rows.column_names]
        for name in missing:
            rows = rows.append_column(name, pa.nulls(len(rows), ROW_SCHEMA.field(name).type))
        yield rows.select(ROW_SCHEMA.names).cast(ROW_SCHEMA)
        return
    yield from _batches(rows)  # type: ignore[arg-type]


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    rows: Iterable[Mapping[str, Any]] | pa.Table | pd.DataFrame,
    *,
    file: str,
    import_id: int,
    origin: str,
    result: FileResult | None = None,
) -> FileResult:
    """Insert mapped rows into ``events``; return (or update) the counts."""
    out = result or FileResult(path=file, format=origin, import_id=import_id)
    window = current_window()
    params = {"file": file, "import_id": import_id, "origin": origin}
    bounds = {"ts_lo": window.start, "ts_hi": window.end}
    for table in _as_tables(rows):
        if len(table) == 0:
            continue
        table = table.append_column("_idx", pa.array(np.arange(len(table), dtype=np.int64)))
        id_base = next_event_id(con)
        con.register("_mapped_rows", table)
        try:
            con.execute(_INSERT_SQL, {**params, **bounds, "id_base": id_base})
            n, naive, unknown = con.execute(_COUNTS_SQL, bounds).fetchall()[0]
            outside = con.execute(_OUTSIDE_SQL, {"reason": window.reason(), **bounds}).fetchall()
        finally:
            con.unregister("_mapped_rows")
        if outside:
            rejected = [(int(r[0] or 0), str(r[1]), str(r[2])) for r in outside]
            insert_rejected(con, rejected, file=file, import_id=import_id, result=out)
        out.events += int(n)
        out.naive_timestamps += int(naive)
        out.unknown_events += int(unknown)
    return out


def insert_rejected(
    con: duckdb.DuckDBPyConnection,
    rejected: Iterable[tuple[int, str, str]],
    *,
    file: str,
    import_id: int,
    result: FileResult,
) -> FileResult:
    """Insert ``(line_no, raw, reason)`` records into ``rejected``; update the counts."""
    it = iter(rejected)
    while True:
        batch = list(islice(it, BATCH_ROWS))
        if not batch:
            return result
        table = pa.table(
            {
                "line_no": pa.array([b[0] for b in batch], pa.int64()),
                "raw": pa.array([b[1] for b in batch], pa.string()),
                "reason": pa.array([b[2] for b in batch], pa.string()),
            }
        )
        con.register("_mapped_rejected", table)
        try:
            con.execute(_REJECTED_SQL, {"file": file, "import_id": import_id})
        finally:
            con.unregister("_mapped_rejected")
        result.rejected += len(batch)
        for line_no, _, reason in batch[: max(0, FIRST_REASONS - len(result.first_rejected))]:
            result.first_rejected.append(RejectedLine(file, int(line_no), reason))
