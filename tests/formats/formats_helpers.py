"""Shared helpers of the format tests: parse a file with one format, pick rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.importers.formats import FOREIGN_FORMATS
from analyzer.importers.formats.base import ParseContext, Rejected, Row, Skipped

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
"""Golden fixtures of the line formats (tests/formats/make_golden.py)."""
BY_NAME = {f.name: f for f in FOREIGN_FORMATS}


def parse_file(name: str, path: Path) -> tuple[list[Row], list[Rejected]]:
    """Every mapped row and every rejection of ``path`` read as format ``name``."""
    rows: list[Row] = []
    rejected: list[Rejected] = []
    with path.open(encoding="utf-8") as fh:
        for item in BY_NAME[name].parse(fh, ParseContext(path)):
            if isinstance(item, Rejected):
                rejected.append(item)
            elif not isinstance(item, Skipped):
                rows.append(item)
    return rows, rejected


def pick(rows: list[Row], **where: Any) -> list[Row]:
    """Rows whose fields equal every ``where`` value."""
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


def load_rows(con: Any, rows: list[Row], origin: str, file: str) -> None:
    """Insert mapped rows into ``events`` (test stand-in for the importer's insert helper)."""
    import json

    import pandas as pd

    from analyzer.store import next_event_id, quote_identifier

    first = next_event_id(con)
    records = []
    for offset, row in enumerate(rows):
        record = dict(row)
        record["extra"] = json.dumps(record["extra"], default=str) if record["extra"] else None
        record.update(event_id=first + offset, origin=origin, file=file, import_id=1)
        records.append(record)
    frame = pd.DataFrame.from_records(records)  # noqa: F841 - read by DuckDB below
    columns = ", ".join(quote_identifier(c) for c in records[0])
    con.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM frame")


def imported_vs_parsed(
    path: Path, name: str = "nginx"
) -> tuple[list[list[tuple[Any, ...]]], list[list[tuple[Any, ...]]]]:
    """Rows and rejections of a log as the importer stores them (``events``, ``rejected`` of a
    real database) and as the format's ``parse`` gives them: the one mapping, two ways out."""
    import tempfile

    from analyzer.importers import import_paths
    from analyzer.store import connect

    keys = (
        "line_no",
        "event",
        "request_id",
        "endpoint",
        "app",
        "runner_id",
        "attempt",
        "status",
        "error_type",
        "ts",
        "ts_naive",
        "inferred",
    )
    with tempfile.TemporaryDirectory() as tmp:
        con = connect(Path(tmp) / "db.duckdb")
        import_paths(con, [path], fmt=name)
        cur = con.execute(f"SELECT {', '.join(keys)} FROM events ORDER BY event_id")
        stored = [_key(dict(zip(keys, r, strict=True)), keys) for r in cur.fetchall()]
        bad = [
            (int(n), str(raw), str(reason))
            for n, raw, reason in con.execute(
                "SELECT line_no, raw, reason FROM rejected"
            ).fetchall()
        ]
        con.close()
    rows, rejected = parse_file(name, path)
    parsed = [_key(r, keys) for r in rows]
    return [sorted(stored, key=repr), sorted(bad)], [
        sorted(parsed, key=repr),
        sorted((r.line_no, r.raw, r.reason) for r in rejected),
    ]


def _key(row: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """The compared fields of a row, the time as a UTC ISO string (tz objects differ)."""
    return tuple(row["ts"].timestamp() if k == "ts" else row.get(k) for k in keys)
