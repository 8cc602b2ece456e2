"""Sharding's edges: which shard an event goes to, `analyzer export --parquet`, `load(workers=)`,
and usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import analyzer
from analyzer import store
from analyzer.cli import main
from analyzer.replay.policy import default_policy
from analyzer.shard.plan import plan_shards
from tests.shard.compare import fingerprints

T0 = 1_790_000_000.0


def _write(path: Path, events: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def _req(rid: str, app: str | None, runner: str, t: float) -> list[dict[str, object]]:
    g: dict[str, object] = {"source": "gateway", "request_id": rid}
    if app:
        g["app"] = app
    return [
        {**g, "ts": t, "event": "request.received", "mode": "queue"},
        {**g, "ts": t + 0.1, "event": "attempt.dispatched", "attempt": 1, "runner_id": runner},
        {
            "ts": t + 0.2,
            "source": "runner",
            "event": "handler.started",
            "request_id": rid,
            "runner_id": runner,
        },
        {
            "ts": t + 0.5,
            "source": "runner",
            "event": "handler.finished",
            "request_id": rid,
            "runner_id": runner,
            "status": 200,
        },
        {
            **g,
            "ts": t + 0.6,
            "event": "attempt.finished",
            "attempt": 1,
            "runner_id": runner,
            "status": 200,
        },
        {**g, "ts": t + 0.7, "event": "request.completed", "status": 200},
    ]


def _groups(tmp_path: Path, events: list[dict[str, object]], buckets: int = 64) -> list[set[str]]:
    db = tmp_path / "plan.duckdb"
    assert main(["import", str(_write(tmp_path / "e.jsonl", events)), "--db", str(db)]) == 0
    con = store.connect(db)
    try:
        plan = plan_shards(con, tmp_path / "shards", buckets=buckets, policy=default_policy())
        files = {
            s.index: duckdb.sql(
                f"SELECT count(*) FROM read_parquet('{s.events_path}/*.parquet', "
                "hive_partitioning = false)"
            ).fetchall()[0][0]
            for s in plan.shards
        }
        assert sum(files.values()) == plan.events == len(events)  # each event in one shard
        return [set(s.apps) for s in plan.shards]
    finally:
        con.close()


def test_runner_lines_without_app_go_with_their_runners_app(tmp_path: Path) -> None:
    events = [
        {"ts": T0 - 5, "source": "runner", "event": "runner.started", "runner_id": "r-a"},
        {"ts": T0 - 4, "source": "runner", "event": "runner.ready", "runner_id": "r-a"},
        *_req("q1", "acme/a", "r-a", T0),
        *_req("q2", "acme/b", "r-b", T0),
        {"ts": T0 + 9, "source": "runner", "event": "log", "runner_id": "r-a", "message": "x"},
    ]
    groups = _groups(tmp_path, events)
    assert sorted(map(sorted, groups)) == [["acme/a"], ["acme/b"]]  # no "" (no-app) shard


def test_a_runner_seen_under_two_apps_joins_them(tmp_path: Path) -> None:
    events = [
        *_req("q1", "acme/a", "r-x", T0),
        *_req("q2", "acme/b", "r-x", T0 + 1),
        *_req("q3", "acme/c", "r-c", T0),
    ]
    groups = _groups(tmp_path, events)
    together = next(g for g in groups if "acme/a" in g)
    assert {"acme/a", "acme/b"} <= together  # c may share their bucket; a and b never part
    assert sum(1 for g in groups for app in g if app in ("acme/a", "acme/b")) == 2


def test_export_parquet(sample_reference: tuple[Path, object], tmp_path: Path) -> None:
    db = sample_reference[0]
    out = tmp_path / "pq"
    assert main(["export", str(db), "--parquet", str(out)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = dict(
            con.execute(
                "SELECT table_name, estimated_size FROM duckdb_tables() WHERE schema_name = 'main'"
            ).fetchall()
        )
        for table in ("events", "findings", "requests", "attempts", "meta"):
            assert table in tables
            n = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
            got = duckdb.sql(f"SELECT count(*) FROM '{out / (table + '.parquet')}'").fetchall()
            assert got[0][0] == n > 0
        assert {p.stem for p in out.glob("*.parquet")} == set(tables)
        assert not (out / "timeline.parquet").exists()  # a view
    finally:
        con.close()


def test_export_missing_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nope.duckdb"), "--parquet", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "database not found" in err and len(err.strip().splitlines()) == 1


def test_workers_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_load_with_workers(tmp_path: Path) -> None:
    """``analyzer.load(..., workers=2)``: the findings and requests of ``load(...)``."""
    events = [
        *_429("a1", "acme/a", "ra", T0, True),
        *_429("a2", "acme/a", "ra", T0 + 5, True),
        *_429("b1", "beta/b", "rb", T0 + 2, False),
        *_req("c1", "gamma/c", "rc", T0 + 1),
    ]
    logs = _write(tmp_path / "e.jsonl", events)
    got = {}
    for workers in (1, 2):
        a = analyzer.load([logs], workers=workers)
        try:
            got[workers] = (
                sorted(r[0] for r in a.con.execute("SELECT fingerprint FROM findings").fetchall()),
                a.con.execute("SELECT request_id, outcome FROM requests ORDER BY 1").fetchall(),
            )
        finally:
            a.close()
    assert got[2] == got[1]
    assert len(got[1][1]) == 4 and got[1][0]  # four requests, b1's L002


def _429(rid: str, app: str, runner: str, t: float, retried: bool) -> list[dict[str, object]]:
    g: dict[str, object] = {"source": "gateway", "request_id": rid, "app": app}
    r: dict[str, object] = {"source": "runner", "request_id": rid, "runner_id": runner}
    out: list[dict[str, object]] = [
        {**g, "ts": t, "event": "request.received", "mode": "queue"},
        {**g, "ts": t + 0.1, "event": "attempt.dispatched", "attempt": 1, "runner_id": runner},
        {**r, "ts": t + 0.2, "event": "handler.started"},
        {**r, "ts": t + 0.3, "event": "handler.finished", "status": 429},
        {
            **g,
            "ts": t + 0.4,
            "event": "attempt.finished",
            "attempt": 1,
            "runner_id": runner,
            "status": 429,
        },
    ]
    if not retried:
        return [*out, {**g, "ts": t + 0.5, "event": "request.completed", "status": 429}]
    return [
        *out,
        {**g, "ts": t + 0.5, "event": "request.requeued", "attempt": 2, "reason": "rate_limited"},
        {**g, "ts": t + 0.6, "event": "attempt.dispatched", "attempt": 2, "runner_id": runner},
        {**r, "ts": t + 0.7, "event": "handler.started"},
        {**r, "ts": t + 0.8, "event": "handler.finished", "status": 200},
        {
            **g,
            "ts": t + 0.9,
            "event": "attempt.finished",
            "attempt": 2,
            "runner_id": runner,
            "status": 200,
        },
        {**g, "ts": t + 1.0, "event": "request.completed", "status": 200},
    ]


def test_the_429_vote_is_the_whole_databases(tmp_path: Path) -> None:
    """One app's 429s are retried (2 votes), another's are not (1 vote): the database says
    retried, so the second app's shard is analysed again under that, as one database is."""
    from analyzer.analysis import analyze
    from analyzer.shard import ShardOptions, analyze_sharded
    from tests.shard.compare import table_differences

    events = [
        *_429("a1", "acme/a", "ra", T0, True),
        *_429("a2", "acme/a", "ra", T0 + 5, True),
        *_429("b1", "beta/b", "rb", T0 + 2, False),
    ]
    logs = _write(tmp_path / "e.jsonl", events)
    whole, sharded = tmp_path / "whole.duckdb", tmp_path / "sharded.duckdb"
    for db in (whole, sharded):
        assert main(["import", str(logs), "--db", str(db)]) == 0
    con = store.connect(whole)
    try:
        analyze(con)
        deviations = con.execute(
            "SELECT request_id FROM attempts WHERE deviation ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert deviations == [("b1",)]  # not retried though the logs say 429s are
    con = store.connect(sharded)
    try:
        result = analyze_sharded(con, None, ShardOptions(workers=2, buckets=64))
    finally:
        con.close()
    shards = {s["apps"][0]: s for s in result.summary["shards"]}
    assert set(shards) == {"acme/a", "beta/b"}
    assert shards["beta/b"]["rerun_429"] and not shards["acme/a"]["rerun_429"]
    diffs = table_differences(whole, sharded)
    assert {t: d for t, d in diffs.items() if d[2] or d[3] or d[0] != d[1]} == {}
    assert fingerprints(sharded) == fingerprints(whole)
