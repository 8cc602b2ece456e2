"""``export_parquet(db, folder)``: every table of a database as one Parquet file each.

For other engines (Spark, Polars, Trino, a notebook's pandas): ``events``, ``rejected``,
``imports``, ``meta``, the replay tables, ``findings`` and the summary tables, as they are in the
database. Views (``timeline``) are not written: they are computed from the tables. Types map as
DuckDB writes them (TIMESTAMPTZ as UTC timestamps, JSON as strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analyzer import store
from analyzer.errors import AnalyzerError


@dataclass(frozen=True)
class Exported:
    table: str
    rows: int
    path: Path


def export_parquet(db: str | Path, folder: str | Path) -> list[Exported]:
    """Write ``folder/<table>.parquet`` for every table of ``db`` (opened read-only)."""
    target = Path(folder)
    con = store.open_existing(db)
    try:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AnalyzerError(f"cannot create {target}: {exc.strerror}") from None
        tables = [
            str(r[0])
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "AND database_name = current_database() AND NOT temporary ORDER BY table_name"
            ).fetchall()
        ]
        out = []
        for table in tables:
            path = target / f"{table}.parquet"
            con.execute(
                f"COPY {store.quote_identifier(table)} TO "
                f"'{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)"
            )
            rows = con.execute(f"SELECT count(*) FROM {store.quote_identifier(table)}").fetchall()
            out.append(Exported(table=table, rows=int(rows[0][0]), path=path))
        return out
    finally:
        con.close()
