"""The replay gives the same tables on every run, also where two logs hold the same event.

The bundled sample imported from both folders (``sample_logs/native`` and the fal export of the
same incident) holds some handler events twice, at the same time under two event ids: every
"first event" of the replay is taken by time, then by event id, never by the order DuckDB's
threads happen to meet the rows (that order made attempts' handler_end_event_id,
handler_started_event_id and exc_message alternate from run to run), and sums over attempts
are taken in attempt order.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from analyzer.importers import import_paths
from analyzer.replay import build
from analyzer.replay.schema import REPLAY_TABLES, VIEWS
from analyzer.store import connect

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"


def _replayed(path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    import_paths(con, [SAMPLE / "native", SAMPLE / "fal-export"])
    build(con, incremental=False)
    return con


def test_both_sample_folders_replay_to_the_same_tables_twice(tmp_path: Path) -> None:
    first = _replayed(tmp_path / "a.duckdb")
    ties = first.execute(
        "SELECT count(*) FROM (SELECT request_id, ts, event FROM events "
        "WHERE source = 'runner' AND event LIKE 'handler.%' AND request_id IS NOT NULL "
        "GROUP BY ALL HAVING count(DISTINCT event_id) > 1)"
    ).fetchall()[0][0]
    assert ties > 10, "the sample no longer holds the same handler event twice"
    first.close()
    second = _replayed(tmp_path / "b.duckdb")
    second.execute(f"ATTACH '{tmp_path / 'a.duckdb'}' AS a (READ_ONLY)")
    for name in REPLAY_TABLES:
        if name in VIEWS:
            continue
        rows = second.execute(f"SELECT count(*) FROM main.{name}").fetchall()[0][0]
        assert rows > 0 or name == "resources", name
        for x, y in (("main", "a"), ("a", "main")):
            differ = second.execute(
                f"SELECT count(*) FROM (SELECT * FROM {x}.{name} EXCEPT ALL "
                f"SELECT * FROM {y}.{name})"
            ).fetchall()[0][0]
            assert differ == 0, f"{name}: {differ} rows of {x} not in {y}"
