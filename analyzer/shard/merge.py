"""Reduce: union the shards' Parquet outputs into the database, in one transaction.

Each table is recreated with the DDL the shards' analysis used (so the types are the replay's
and the rules', not Parquet's), then filled from every shard's file; ``findings`` is numbered
again worst first across shards (the order the rules engine gives within one database). The
views of the analysis (``timeline``) are recreated over the unioned tables, and the meta keys
that make the stored analysis current are written for the whole database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import duckdb

from analyzer.rules.base import SEVERITY_RANK
from analyzer.shard.worker import ShardResult, output_tables
from analyzer.store import quote_identifier, set_meta

_COUNT_KEYS = ("replay_events", "analysis_events")


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    for (kind,) in con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ? "
        "AND table_schema = 'main'",
        [name],
    ).fetchall():
        what = "VIEW" if kind == "VIEW" else "TABLE"
        con.execute(f"DROP {what} IF EXISTS {quote_identifier(name)}")


def merge_outputs(
    con: duckdb.DuckDBPyConnection,
    results: Sequence[ShardResult],
    *,
    meta: dict[str, str],
    allowed: int,
    whole_day: dict[str, str] | None = None,
) -> None:
    """Replace the replay tables, ``findings`` and the analysis views by the shards' union;
    a table of ``whole_day`` (name -> Parquet file) is taken from that file instead (the
    runners' facts computed over the whole day when some group was cut into time slices)."""
    whole_day = whole_day or {}
    if not results:
        raise ValueError("no shard results to merge")
    schema = json.loads((Path(results[0].out_dir) / "schema.json").read_text(encoding="utf-8"))
    rank = " ".join(f"WHEN '{sev}' THEN {r}" for sev, r in SEVERITY_RANK.items())
    con.execute("BEGIN TRANSACTION")
    try:
        for name in schema["views"]:
            _drop(con, name)
        for table in output_tables():
            files = [str(Path(r.out_dir) / f"{table}.parquet") for r in results]
            if table in whole_day:
                files = [whole_day[table]]
            _drop(con, table)
            con.execute(schema["tables"][table])
            source = f"read_parquet({_list_sql(files)}, union_by_name = true)"
            if table == "findings":
                con.execute(
                    f"INSERT INTO findings BY NAME SELECT * REPLACE ("
                    f"row_number() OVER (ORDER BY CASE severity {rank} END DESC, code, ts, "
                    "request_id NULLS FIRST, runner_id NULLS FIRST, app, fingerprint, message"
                    f")::INTEGER AS finding_id) FROM {source}"
                )
            else:
                con.execute(f"INSERT INTO {quote_identifier(table)} BY NAME SELECT * FROM {source}")
        for sql in schema["views"].values():
            con.execute(sql)
        rows = con.execute("SELECT count(*) FROM events").fetchall()
        events = str(int(rows[0][0]))
        for key, value in sorted(meta.items()):
            if key != "schema_version":
                set_meta(con, key, value)
        for key in _COUNT_KEYS:
            set_meta(con, key, events)
        set_meta(con, "analysis_allowed", str(allowed))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _list_sql(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
