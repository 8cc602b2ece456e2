"""Load native .jsonl files into a database for rule tests: the real importer.

``raw_load`` (read_json straight into ``events``) is kept only as a development aid for when the
importer is being rebuilt; the tests use :func:`load`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from analyzer.events import FIELD_TYPES


def load(con: duckdb.DuckDBPyConnection, paths: Iterable[Path | str]) -> None:
    from analyzer.importers import import_paths

    import_paths(con, [str(p) for p in paths])


def raw_load(con: duckdb.DuckDBPyConnection, paths: Iterable[Path | str]) -> None:
    for path in paths:
        for p in sorted(Path(path).glob("[!_.]*.jsonl")) if Path(path).is_dir() else [Path(path)]:
            cols = {n: ("JSON" if n == "ts" else t) for n, t in FIELD_TYPES.items()}
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _load AS SELECT *, row_number() OVER () AS line_no "
                "FROM read_json(?, format = 'newline_delimited', columns = ?)",
                [str(p), cols],
            )
            row = con.execute("SELECT coalesce(max(event_id), 0) FROM events").fetchone()
            base = int(row[0]) if row else 0
            names = [n for n in FIELD_TYPES if n != "ts"]
            con.execute(
                f"INSERT INTO events (event_id, ts, {', '.join(names)}, ts_raw, file, line_no, "
                "import_id) SELECT ? + line_no, CASE WHEN json_type(ts) IN ('DOUBLE', 'BIGINT', "
                "'UBIGINT') THEN to_timestamp(ts::DOUBLE) ELSE (ts ->> '$')::TIMESTAMPTZ END, "
                f"{', '.join(names)}, ts::VARCHAR, ?, line_no, 1 FROM _load",
                [base, str(p)],
            )
            con.execute("DROP TABLE _load")
