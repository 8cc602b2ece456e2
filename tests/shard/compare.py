"""Compare the analysis tables of two databases: every row, both ways (``EXCEPT ALL``)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analyzer.shard.worker import output_tables

TABLES = [*output_tables(), "timeline"]


def _select(con: duckdb.DuckDBPyConnection, db: str, table: str) -> str:
    """Every column; ``finding_id`` left out of findings (the order is checked apart), and
    doubles rounded to 1e-9: a sum of the same doubles in another order (DuckDB aggregates in
    parallel) can differ in the last bit."""
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = ? AND table_name = ? ORDER BY ordinal_position",
        [db, table],
    ).fetchall()
    parts = [
        f'round("{c}", 9) AS "{c}"' if t == "DOUBLE" else f'"{c}"'
        for c, t in cols
        if not (table == "findings" and c == "finding_id")
    ]
    return f"SELECT {', '.join(parts)} FROM {db}.{table}"


def table_differences(
    a: Path, b: Path, tables: list[str] | None = None
) -> dict[str, tuple[int, int, int, int]]:
    """``table -> (rows in a, rows in b, a EXCEPT ALL b, b EXCEPT ALL a)`` for every table."""
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        out = {}
        for t in tables or TABLES:
            sa, sb = _select(con, "a", t), _select(con, "b", t)
            row = con.execute(
                f"SELECT (SELECT count(*) FROM a.{t}), (SELECT count(*) FROM b.{t}), "
                f"(SELECT count(*) FROM ({sa} EXCEPT ALL {sb})), "
                f"(SELECT count(*) FROM ({sb} EXCEPT ALL {sa}))"
            ).fetchall()[0]
            out[t] = (int(row[0]), int(row[1]), int(row[2]), int(row[3]))
        return out
    finally:
        con.close()


def fingerprints(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return sorted(r[0] for r in con.execute("SELECT fingerprint FROM findings").fetchall())
    finally:
        con.close()
