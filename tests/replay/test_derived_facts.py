"""Derived facts computed once, in the replay: price per machine type, needless and legitimate
terminations, the stop_runner inference for request listings, and a listing's last answer
under the policy's retried statuses and attempt cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.replay import build
from analyzer.replay.policy import default_policy
from analyzer.store import connect

T0 = datetime(2026, 11, 20, tzinfo=UTC)


def insert(
    con: duckdb.DuckDBPyConnection, rows: list[tuple[float, str, str, dict[str, Any]]]
) -> None:
    """Events as (seconds, source, event, fields); ``origin`` / ``inferred`` may be fields."""
    for i, (dt, source, event, fields) in enumerate(rows, start=1):
        cols = {
            "event_id": i,
            "ts": T0 + timedelta(seconds=dt),
            "source": source,
            "event": event,
            "file": "t.jsonl",
            "line_no": i,
            "import_id": 1,
            **fields,
        }
        names = ", ".join(cols)
        marks = ", ".join("?" for _ in cols)
        con.execute(f"INSERT INTO events ({names}) VALUES ({marks})", list(cols.values()))


def listing_503(origin: str = "fal_requests") -> list[tuple[float, str, str, dict[str, Any]]]:
    """A listed 503 on runner w1, then another request dispatched to w1 (no headers known)."""
    r1 = {"request_id": "r1", "app": "a/b", "origin": origin}
    r2 = {"request_id": "r2", "app": "a/b", "origin": origin}
    return [
        (0.0, "gateway", "request.received", {**r1, "inferred": True}),
        (0.1, "gateway", "attempt.dispatched", {**r1, "attempt": 1, "runner_id": "w1"}),
        (0.1, "runner", "handler.started", {**r1, "runner_id": "w1", "inferred": True}),
        (
            0.5,
            "gateway",
            "attempt.finished",
            {**r1, "attempt": 1, "runner_id": "w1", "status": 503},
        ),
        (0.5, "gateway", "request.completed", {**r1, "status": 503, "inferred": True}),
        (2.0, "gateway", "request.received", {**r2, "inferred": True}),
        (2.1, "gateway", "attempt.dispatched", {**r2, "attempt": 1, "runner_id": "w1"}),
        (
            2.5,
            "gateway",
            "attempt.finished",
            {**r2, "attempt": 1, "runner_id": "w1", "status": 200},
        ),
        (2.5, "gateway", "request.completed", {**r2, "status": 200, "inferred": True}),
    ]


def test_listing_503_then_another_dispatch_means_stop_runner_false() -> None:
    con = connect(":memory:")
    insert(con, listing_503())
    build(con)
    row = con.execute(
        "SELECT stop_runner, stop_runner_inferred, expected_runner_impact FROM attempts "
        "WHERE request_id = 'r1'"
    ).fetchall()
    assert row == [(False, True, "healthy")]
    # the imported events keep what the listing says
    ev = con.execute("SELECT stop_runner FROM events WHERE event = 'attempt.finished'").fetchall()
    assert ev == [(None,), (None,)]


def test_native_503_is_not_inferred() -> None:
    con = connect(":memory:")
    insert(con, listing_503(origin="native"))
    build(con)
    row = con.execute(
        "SELECT stop_runner, stop_runner_inferred FROM attempts WHERE request_id = 'r1'"
    ).fetchall()
    assert row == [(None, False)]


def test_listing_completion_after_a_retried_status_waits_for_the_policy_cap() -> None:
    con = connect(":memory:")
    insert(con, listing_503())
    build(con)  # default policy: 503 retried, cap 10 -> a retry may still be queued
    assert con.execute(
        "SELECT outcome, completed_at IS NULL FROM requests WHERE request_id = 'r1'"
    ).fetchall() == [("in_flight", True)]
    capped = default_policy().model_copy(update={"max_attempts": 1})
    build(con, capped)  # the cap is reached: the listed answer is the end
    assert con.execute(
        "SELECT outcome, final_status FROM requests WHERE request_id = 'r1'"
    ).fetchall() == [("failed", 503)]
    # a 200 is never retried: completed under either policy
    assert con.execute("SELECT outcome FROM requests WHERE request_id = 'r2'").fetchall() == [
        ("success",)
    ]


def test_price_per_machine_type_is_one_column_the_findings_use() -> None:
    con = connect(":memory:")
    rq = {"request_id": "r1", "app": "a/b"}
    insert(
        con,
        [
            (0.0, "runner", "runner.started", {"runner_id": "w1", "machine_type": "GPU-H100"}),
            (10.0, "runner", "runner.ready", {"runner_id": "w1"}),
            (20.0, "gateway", "request.received", {**rq, "mode": "queue"}),
            (20.1, "gateway", "attempt.dispatched", {**rq, "attempt": 1, "runner_id": "w1"}),
            (20.2, "runner", "handler.started", {**rq, "runner_id": "w1"}),
            (
                380.2,
                "runner",
                "handler.error",
                {
                    **rq,
                    "runner_id": "w1",
                    "exc_type": "ValueError",
                    "message": "bad prompt",
                    "status": 503,
                },
            ),
            (
                380.3,
                "gateway",
                "attempt.finished",
                {**rq, "attempt": 1, "runner_id": "w1", "status": 503},
            ),
            (
                380.3,
                "gateway",
                "runner.terminated",
                {**rq, "runner_id": "w1", "reason": "status_503"},
            ),
            (380.4, "gateway", "request.completed", {**rq, "status": 503}),
        ],
    )
    result = analyze(con, Config(select=["S001"]))
    price = default_policy().gpu_hour_usd["GPU-H100"]
    runner = con.execute(
        "SELECT price_usd_per_gpu_hour, needless_termination FROM runners"
    ).fetchall()
    assert runner == [(price, True)]
    att = con.execute(
        "SELECT price_usd_per_gpu_hour, needless_termination, legitimate_termination, "
        "gpu_seconds_wasted, wasted_usd FROM attempts"
    ).fetchall()[0]
    assert att[:3] == (price, True, False)
    assert abs(att[3] - (360.0 + 10.0)) < 0.01  # the handler time + the cold start it costs
    assert abs(att[4] - att[3] / 3600 * price) < 1e-9
    (finding,) = result.findings
    assert abs(finding.cost.gpu_seconds - att[3]) < 1e-9
    assert abs(finding.cost.cost_usd - att[4]) < 1e-6
    assert con.execute(
        "SELECT runners_killed, runners_killed_needlessly FROM requests"
    ).fetchall() == [(1, 1)]
    # a flat price in the configuration is every runner's price, in the replay and findings
    flat = analyze(con, Config(select=["S001"], price_per_gpu_hour=4.0))
    assert con.execute("SELECT price_usd_per_gpu_hour FROM runners").fetchall() == [(4.0,)]
    assert abs(flat.findings[0].cost.cost_usd - att[3] / 3600 * 4.0) < 1e-6


def test_gpu_fault_termination_is_legitimate() -> None:
    con = connect(":memory:")
    rq = {"request_id": "r1", "app": "a/b"}
    insert(
        con,
        [
            (0.0, "gateway", "request.received", {**rq, "mode": "queue"}),
            (0.1, "gateway", "attempt.dispatched", {**rq, "attempt": 1, "runner_id": "w1"}),
            (0.2, "runner", "handler.started", {**rq, "runner_id": "w1"}),
            (
                1.0,
                "runner",
                "handler.error",
                {
                    **rq,
                    "runner_id": "w1",
                    "exc_type": "torch.cuda.OutOfMemoryError",
                    "message": "CUDA out of memory",
                    "status": 503,
                },
            ),
            (
                1.1,
                "gateway",
                "attempt.finished",
                {**rq, "attempt": 1, "runner_id": "w1", "status": 503},
            ),
            (
                1.1,
                "gateway",
                "runner.terminated",
                {**rq, "runner_id": "w1", "reason": "status_503"},
            ),
        ],
    )
    build(con)
    assert con.execute(
        "SELECT error_class, needless_termination, legitimate_termination FROM attempts"
    ).fetchall() == [("gpu_fault", False, True)]
    assert con.execute("SELECT needless_termination FROM runners").fetchall() == [(False,)]
