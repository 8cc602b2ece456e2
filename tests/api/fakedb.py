"""A tiny hand-made database with known rows, in the schema the real analysis creates.

Used by unit tests of the API and the pages so they can assert exact numbers; the
sample-log tests cover the real pipeline (import, replay, rules) end to end.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

T0 = datetime(2026, 11, 20, 14, 0, 0, tzinfo=UTC)


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    cols = [
        str(r[0])
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]
    marks = ", ".join("?" for _ in cols)
    for row in rows:
        con.execute(f'INSERT INTO "{table}" VALUES ({marks})', [row.get(c) for c in cols])


def _empty_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Replace a table (or a view) by an empty table with the same columns."""
    cols = con.execute(f'DESCRIBE "{name}"').fetchall()
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    con.execute(f'DROP {"VIEW" if kind and kind[0] == "VIEW" else "TABLE"} "{name}"')
    body = ", ".join(f'"{c[0]}" {c[1]}' for c in cols)
    con.execute(f'CREATE TABLE "{name}" ({body})')


def build(path: Path) -> Path:
    """Write the fake database to ``path`` and return it."""
    from analyzer.store import connect

    con = connect(path)
    events: list[dict[str, Any]] = []

    def ev(ts: float, source: str, event: str, **kw: Any) -> int:
        eid = len(events) + 1
        events.append(
            {
                "event_id": eid,
                "ts": t(ts),
                "source": source,
                "event": event,
                "app": "acme/sdxl",
                "endpoint": "/predict",
                "file": "gateway.jsonl",
                "line_no": eid,
                "import_id": 1,
                "origin": "native",
                **kw,
            }
        )
        return eid

    # req-poison: 3 attempts, each 503 with ValueError, each runner killed.
    ev(0, "gateway", "request.received", request_id="req-poison", mode="queue", deadline_s=60.0)
    timeline, attempts, runners = [], [], []
    seq = 1
    timeline.append(
        {
            "request_id": "req-poison",
            "seq": seq,
            "ts": t(0),
            "ts_raw": t(0),
            "lane": "gateway",
            "lane_kind": "gateway",
            "event": "request.received",
            "detail": "queue, deadline 60 s",
            "event_id": 1,
        }
    )
    for n in (1, 2, 3):
        rid = f"run-{n}"
        d = ev(
            n * 10,
            "gateway",
            "attempt.dispatched",
            request_id="req-poison",
            attempt=n,
            runner_id=rid,
        )
        e = ev(
            n * 10 + 2,
            "runner",
            "handler.error",
            request_id="req-poison",
            attempt=n,
            runner_id=rid,
            exc_type="ValueError",
            status=503,
            message="bad <b>input</b>",
        )
        a = ev(
            n * 10 + 2.1,
            "gateway",
            "attempt.finished",
            request_id="req-poison",
            attempt=n,
            runner_id=rid,
            status=503,
        )
        k = ev(
            n * 10 + 2.2,
            "gateway",
            "runner.terminated",
            request_id="req-poison",
            runner_id=rid,
            reason="status_503",
        )
        lane = f"attempt {n} · {rid}"
        for eid, lane_, kind, name, detail in (
            (d, "gateway", "gateway", "attempt.dispatched", f"attempt {n} → {rid}"),
            (e, lane, "runner", "handler.error", "ValueError: bad <b>input</b> → 503"),
            (a, "gateway", "gateway", "attempt.finished", "503"),
            (k, lane, "runner", "runner.terminated", "status_503"),
        ):
            seq += 1
            timeline.append(
                {
                    "request_id": "req-poison",
                    "seq": seq,
                    "ts": events[eid - 1]["ts"],
                    "ts_raw": events[eid - 1]["ts"],
                    "lane": lane_,
                    "lane_kind": kind,
                    "attempt": n,
                    "runner_id": rid,
                    "event": name,
                    "detail": detail,
                    "event_id": eid,
                }
            )
        attempts.append(
            {
                "request_id": "req-poison",
                "attempt": n,
                "app": "acme/sdxl",
                "endpoint": "/predict",
                "runner_id": rid,
                "dispatched_at": t(n * 10),
                "handler_started_at": t(n * 10 + 0.1),
                "handler_ended_at": t(n * 10 + 2),
                "handler_outcome": "error",
                "answered_at": t(n * 10 + 2.1),
                "status": 503,
                "exc_type": "ValueError",
                "exc_message": "bad input",
                "expected_runner_impact": "terminated",
                "expected_retry": n < 3,
                "runner_terminated": True,
                "termination_inferred": False,
                "terminated_at": t(n * 10 + 2.2),
                "retried": n < 3,
                "deviation": False,
                "gpu_seconds": 1.9,
                "dispatched_event_id": d,
                "answered_event_id": a,
                "handler_end_event_id": e,
                "terminated_event_id": k,
            }
        )
        runners.append(
            {
                "runner_id": rid,
                "app": "acme/sdxl",
                "machine_type": "GPU-H100",
                "started_at": t(n * 5 - 5),
                "ready_at": t(n * 5),
                "setup_s": 5.0,
                "first_seen_at": t(n * 5 - 5),
                "last_seen_at": t(n * 10 + 2.2),
                "requests_served": 1,
                "end_kind": "terminated",
                "ended_at": t(n * 10 + 2.2),
                "end_reason": "status_503",
                "end_inferred": False,
                "killed_by_request_id": "req-poison",
                "clock_offset_s": 0.5,
                "clock_samples": 2,
                "gpu_seconds": 10.0,
                "cold_start_s": 5.0,
            }
        )
    runners.append(
        {
            "runner_id": "run-ok",
            "app": "acme/llm",
            "started_at": t(0),
            "ready_at": t(3),
            "setup_s": 3.0,
            "first_seen_at": t(0),
            "last_seen_at": t(100),
            "requests_served": 1,
            "end_kind": "unknown",
            "clock_offset_s": 0.0,
            "clock_samples": 0,
            "gpu_seconds": 100.0,
            "cold_start_s": 3.0,
        }
    )
    ev(40, "gateway", "request.completed", request_id="req-poison", status=503)
    ev(
        50,
        "gateway",
        "request.received",
        request_id="req-cancel",
        mode="queue",
        app="acme/llm",
        endpoint="/generate",
    )
    cr = ev(
        55,
        "gateway",
        "request.cancel_requested",
        request_id="req-cancel",
        app="acme/llm",
        endpoint="/generate",
    )
    requests = [
        {
            "request_id": "req-poison",
            "app": "acme/sdxl",
            "endpoint": "/predict",
            "mode": "queue",
            "received_at": t(0),
            "completed_at": t(40),
            "final_status": 503,
            "outcome": "failed",
            "attempts": 3,
            "runners_killed": 3,
            "deadline_s": 60.0,
            "deadline_at": t(60),
            "deadline_met": True,
            "no_retry": False,
            "duration_s": 40.0,
            "gpu_seconds": 5.7,
            "gpu_seconds_wasted": 20.7,
            "wasted_usd": 20.7 / 3600 * 4.0,  # an H100 at $4 per GPU-hour
            "partial": False,
        },
        {
            "request_id": "req-cancel",
            "app": "acme/llm",
            "endpoint": "/generate",
            "mode": "queue",
            "received_at": t(50),
            "completed_at": t(70),
            "final_status": 499,
            "outcome": "cancelled",
            "attempts": 1,
            "runners_killed": 0,
            "no_retry": False,
            "cancel_requested_at": t(55),
            "duration_s": 20.0,
            "gpu_seconds": 19.0,
            "gpu_seconds_wasted": 14.0,
            "wasted_usd": 14.0 / 3600 * 1.5,
            "partial": False,
        },
        {
            "request_id": "req-ok",
            "app": "acme/llm",
            "endpoint": "/generate",
            "mode": "direct",
            "received_at": t(80),
            "completed_at": t(81),
            "final_status": 200,
            "outcome": "success",
            "attempts": 1,
            "runners_killed": 0,
            "no_retry": False,
            "duration_s": 1.0,
            "gpu_seconds": 0.9,
            "gpu_seconds_wasted": 0.0,
            "wasted_usd": 0.0,
            "partial": False,
        },
    ]
    cancellations = [
        {
            "request_id": "req-cancel",
            "app": "acme/llm",
            "endpoint": "/generate",
            "kind": "cancel",
            "requested_at": t(55),
            "attempt": 1,
            "runner_id": "run-ok",
            "forwarded_at": None,
            "handler_stopped_at": t(69),
            "handler_outcome": "finished",
            "handler_was_running": True,
            "propagation_s": 14.0,
            "children": 1,
            "children_leaked": 1,
            "leaked_child_seconds": 6.0,
            "resources_unreleased": 0,
            "wasted_gpu_seconds": 14.0,
            "requested_event_id": cr,
        },
    ]
    ev_list = [
        {
            "event_id": e["event_id"],
            "file": e["file"],
            "line": e["line_no"],
            "event": e["event"],
            "ts": e["ts"].isoformat(),
        }
        for e in events[1:5]
    ]
    findings = [
        {
            "finding_id": 1,
            "code": "R001",
            "name": "retry.poison-request",
            "severity": "error",
            "app": "acme/sdxl",
            "endpoint": "/predict",
            "request_id": "req-poison",
            "runner_id": "run-1",
            "ts": t(32),
            "message": "failed with 503 ValueError on 3 runners",
            "evidence": json.dumps(ev_list),
            "runners_killed": 3,
            "gpu_seconds": 20.7,
            "cost_usd": 0.0115,
            "fingerprint": "R001|acme/sdxl",
        },
        {
            "finding_id": 2,
            "code": "S001",
            "name": "status.503-for-ordinary-error",
            "severity": "error",
            "app": "acme/sdxl",
            "endpoint": "/predict",
            "request_id": "req-poison",
            "runner_id": "run-1",
            "ts": t(12),
            "message": "503 for ValueError <script>alert(1)</script>",
            "evidence": json.dumps(ev_list[:2]),
            "runners_killed": 3,
            "gpu_seconds": 5.7,
            "cost_usd": 0.003,
            "fingerprint": "S001|acme/sdxl",
        },
        {
            "finding_id": 3,
            "code": "C001",
            "name": "cancel.not-forwarded",
            "severity": "error",
            "app": "acme/llm",
            "endpoint": "/generate",
            "request_id": "req-cancel",
            "runner_id": "run-ok",
            "ts": t(55),
            "message": "cancel never forwarded",
            "evidence": json.dumps([]),
            "runners_killed": 0,
            "gpu_seconds": 14.0,
            "cost_usd": 0.008,
            "fingerprint": "C001|acme/llm",
        },
    ]
    _insert(con, "events", events)
    # The real analysis creates every table and its bookkeeping (so opening the database finds
    # it current); then its rows are replaced by the hand-made ones.
    from analyzer.analysis import analyze

    analyze(con)
    for name, rows in (
        ("requests", requests),
        ("attempts", attempts),
        ("timeline", timeline),
        ("runners", runners),
        ("cancellations", cancellations),
        ("findings", findings),
    ):
        _empty_table(con, name)
        _insert(con, name, rows)
    # the summary relations are derived from those tables: derive them from the hand-made rows
    from analyzer import summary

    summary.build(con)
    con.execute(
        "INSERT INTO imports (import_id, path, format, events, rejected) "
        "VALUES (1, '/logs/gateway.jsonl', 'native', ?, 1)",
        [len(events)],
    )
    con.execute("INSERT INTO rejected VALUES ('/logs/gateway.jsonl', 99, '{oops', 'not JSON', 1)")
    con.close()
    return path
