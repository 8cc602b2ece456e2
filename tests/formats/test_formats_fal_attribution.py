"""Unlabelled platform log lines: attributed by runner and time, or kept with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from analyzer.importers import import_paths
from analyzer.store import connect

T = "2026-11-20T14:00:{:06.3f}Z"


def _attempt(rid: str, runner: str, start: float, end: float, status: int) -> dict[str, object]:
    return {
        "request_id": rid,
        "endpoint_id": "acme/sdxl/predict",
        "runner_id": runner,
        "sent_at": T.format(start),
        "started_at": T.format(start),
        "ended_at": T.format(end),
        "status_code": status,
    }


def _traceback(at: float, runner: str, exc: str) -> dict[str, object]:
    return {
        "timestamp": T.format(at).rstrip("Z"),
        "level": "INFO",
        "message": json.dumps({"traceback": f"{exc}\nTraceback (most recent call last):\n"}),
        "app": "sdxl",
        "labels": {"fal_job_id": runner},
    }


def test_time_decides_or_the_line_stays_unattributed(tmp_path: Path) -> None:
    export = tmp_path / "export"
    export.mkdir()
    items = [
        _attempt("req-alone", "run-1", 1.0, 2.0, 500),  # alone on run-1
        _attempt("req-m1", "run-2", 1.0, 5.0, 500),  # two in flight on multiplexed run-2
        _attempt("req-m2", "run-2", 2.0, 6.0, 200),
    ]
    (export / "requests.json").write_text(json.dumps({"items": items, "has_more": False}))
    logs = [
        _traceback(1.5, "run-1", "ValueError: bad prompt"),
        _traceback(3.0, "run-2", "KeyError: 'x'"),  # req-m1 and req-m2 both running
        _traceback(9.0, "run-1", "RuntimeError: after the end"),  # nothing in flight
        _traceback(1.2, "run-9", "RuntimeError: unknown runner"),
    ]
    (export / "logs.json").write_text(json.dumps({"items": logs, "next_until": None}))
    con = connect(tmp_path / "x.duckdb")
    summary = import_paths(con, [export])
    rows = con.execute(
        "SELECT runner_id, event, request_id, exc_type, extra->>'attribution' FROM events "
        "WHERE origin = 'fal_logs' ORDER BY ts"
    ).fetchall()
    assert rows == [
        ("run-9", "log", None, "RuntimeError", "runner not in the request listing"),
        ("run-1", "handler.error", "req-alone", "ValueError", "runner_time"),
        ("run-2", "log", None, "KeyError", "several requests in flight"),
        ("run-1", "log", None, "RuntimeError", "no request in flight"),
    ]
    assert summary.attribution == {
        "no request in flight": 1,
        "runner not in the request listing": 1,
        "runner_time": 1,
        "several requests in flight": 1,
        "joined": 0,
    }
    # the attributed traceback takes the listing's status; the app name gains its owner
    status, app = con.execute(
        "SELECT status, app FROM events WHERE event = 'handler.error'"
    ).fetchone()
    assert (status, app) == (500, "acme/sdxl")
    con.close()
