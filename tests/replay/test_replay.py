"""Replay behaviour beyond the golden rows: timeline, clocks, rebuilds, meta, report."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.replay import REPLAY_TABLES, build, is_stale
from analyzer.replay.schema import VIEWS
from analyzer.store import get_meta
from tests.replay.helpers import fresh_db, load_jsonl

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def test_report_and_meta() -> None:
    con = fresh_db(FIXTURES / "retry_503_chain" / "input.jsonl")
    assert is_stale(con)
    report = build(con)
    events = con.execute("SELECT count(*) FROM events").fetchone()
    assert events is not None
    assert report.events == events[0]
    assert get_meta(con, "replay_events") == str(events[0])
    assert get_meta(con, "policy_version") == report.policy_version
    assert report.counts["attempts"] == 3
    assert report.counts["runners"] == 3
    assert report.behaviour_429 == "unknown"
    assert not is_stale(con)
    assert set(report.counts) == set(REPLAY_TABLES) - VIEWS


def test_skew_is_estimated_and_reported() -> None:
    con = fresh_db(FIXTURES / "skewed_clocks" / "input.jsonl")
    report = build(con)
    offsets = {s.runner_id: s.offset_s for s in report.skew}
    assert offsets["r1"] == pytest.approx(7.5, abs=0.05)
    assert offsets["r2"] == pytest.approx(-4.0, abs=0.05)
    assert report.max_abs_skew_s == pytest.approx(7.5, abs=0.05)
    assert "2 runners" in report.skew_summary()
    # aligned: every handler starts after its dispatch and ends before its answer
    bad = con.execute(
        "SELECT count(*) FROM attempts WHERE handler_started_at < dispatched_at "
        "OR (status IS NOT NULL AND handler_ended_at > answered_at)"
    ).fetchone()
    assert bad == (0,)
    # raw runner times are kept in the timeline
    raw = con.execute(
        "SELECT epoch(ts_raw) - epoch(ts) FROM timeline "
        "WHERE runner_id = 'r1' AND event = 'handler.started' LIMIT 1"
    ).fetchone()
    assert raw is not None and raw[0] == pytest.approx(7.5, abs=0.05)


def test_timeline_is_causal_with_lanes() -> None:
    con = fresh_db(FIXTURES / "same_runner_twice" / "input.jsonl")
    build(con)
    rows = con.execute(
        "SELECT seq, lane, lane_kind, attempt, event FROM timeline "
        "WHERE request_id = 'q1' ORDER BY seq"
    ).fetchall()
    events = [r[4] for r in rows]
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert events[0] == "request.received" and events[-1] == "request.completed"
    assert events.index("attempt.dispatched") < events.index("handler.started")
    lanes = {r[1] for r in rows}
    assert {"gateway", "attempt 1 · r1", "attempt 2 · r1", "child up-1 (upstream)"} <= lanes
    child = [r for r in rows if r[2] == "child"]
    assert {r[3] for r in child} == {1, 2}


def test_inferred_termination_appears_in_timeline() -> None:
    con = fresh_db(FIXTURES / "missing_termination" / "input.jsonl")
    build(con)
    row = con.execute(
        "SELECT event, inferred, event_id, detail FROM timeline "
        "WHERE request_id = 'q1' AND inferred"
    ).fetchone()
    assert row is not None
    assert row[0] == "runner.terminated" and row[2] is None
    assert "inferred" in row[3]


def test_replay_after_more_imports_equals_replay_of_everything(tmp_path: Path) -> None:
    lines = (FIXTURES / "retry_503_chain" / "input.jsonl").read_text().splitlines(True)
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("".join(lines[::2]))
    second.write_text("".join(lines[1::2]))
    con = fresh_db(first)
    build(con)
    load_jsonl(con, second)
    assert is_stale(con)
    build(con)
    once = fresh_db(FIXTURES / "retry_503_chain" / "input.jsonl")
    build(once)
    for table in ("attempts", "runners", "requests"):
        cols = (
            "COLUMNS(* EXCLUDE ("
            + ", ".join(
                c
                for c in (
                    "dispatched_event_id",
                    "answered_event_id",
                    "handler_end_event_id",
                    "terminated_event_id",
                    "handler_started_event_id",
                    "end_event_id",
                    "received_event_id",
                    "completed_event_id",
                )
                if c in [n for n, _ in REPLAY_TABLES[table]]
            )
            + "))::VARCHAR"
        )
        a = con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
        b = once.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
        assert a == b, table
        assert a


def test_empty_database_replays() -> None:
    con = fresh_db()
    report = build(con)
    assert report.events == 0
    assert all(n == 0 for n in report.counts.values())


def test_429_behaviour_is_reported(tmp_path: Path) -> None:
    log = tmp_path / "l.jsonl"
    base = '{"source":"gateway","app":"a/b","endpoint":"/p",'
    log.write_text(
        base
        + '"ts":1795183391.0,"event":"request.received","request_id":"x","mode":"queue"}\n'
        + base
        + '"ts":1795183391.1,"event":"attempt.dispatched","request_id":"x","attempt":1,'
        '"runner_id":"r1"}\n'
        + base
        + '"ts":1795183391.5,"event":"attempt.finished","request_id":"x","attempt":1,'
        '"runner_id":"r1","status":429}\n'
        + base
        + '"ts":1795183391.6,"event":"attempt.dispatched","request_id":"x","attempt":2,'
        '"runner_id":"r2"}\n'
        + base
        + '"ts":1795183392.0,"event":"attempt.finished","request_id":"x","attempt":2,'
        '"runner_id":"r2","status":200}\n'
        + base
        + '"ts":1795183392.1,"event":"request.completed","request_id":"x","status":200}\n'
    )
    con = fresh_db(log)
    report = build(con)
    assert report.behaviour_429 == "retried"
    row = con.execute("SELECT expected_retry, deviation FROM attempts WHERE attempt = 1").fetchone()
    assert row == (True, False)


def test_a_failed_build_leaves_the_previous_tables() -> None:
    con = fresh_db(FIXTURES / "clean" / "input.jsonl")
    build(con)
    con.execute("ALTER TABLE events RENAME COLUMN status TO status_x")  # break the next replay
    with pytest.raises(Exception, match="status"):
        build(con)
    con.execute("ALTER TABLE events RENAME COLUMN status_x TO status")
    rows = con.execute("SELECT count(*) FROM attempts").fetchall()
    assert rows == [(1,)]
