"""Issue 17.5's platform-export items: absurd numbers and deep nesting are rejected per item,
with their reason, and the rest of each file is kept."""

from __future__ import annotations

import json
from pathlib import Path

from analyzer.importers import import_paths
from analyzer.store import connect

DEEP = "[" * 5000 + "]" * 5000


def _write(tmp_path: Path) -> Path:
    out = tmp_path / "export"
    out.mkdir()
    runners = [
        {"runner_id": "r-bad", "uptime_seconds": 1e40, "alias": "sdxl"},
        {"runner_id": "r-ok", "uptime_seconds": 5, "alias": "sdxl"},
    ]
    (out / "runners.json").write_text(
        json.dumps({"timestamp": "2026-11-20T14:00:00Z", "runners": runners}) + "\n"
    )
    events = [
        {"event_id": "e1", "created_at": 1e300, "category": "runner_started",
         "payload": {"job_id": "r1"}},
        {"event_id": "e2", "created_at": "2026-11-20T14:00:00Z", "category": "runner_started",
         "payload": {"job_id": "r2"}},
    ]  # fmt: skip
    last = {"event_id": "e3", "created_at": "2026-11-20T14:00:01Z", "category": "runner_started",
            "payload": {"job_id": "r3"}}  # fmt: skip
    (out / "app-events.json").write_text(
        json.dumps({"items": events, "next_cursor": "c2"})
        + "\n"
        + '{"items": '
        + DEEP
        + ', "next_cursor": "c3"}\n'
        + json.dumps({"items": [last], "next_cursor": None})
        + "\n"
    )
    logs = [
        {"timestamp": 1e18, "level": "INFO", "message": "x", "labels": {"fal_job_id": "r1"}},
        {"timestamp": "2026-11-20T14:00:00", "level": "INFO", "message": "ok",
         "labels": {"fal_job_id": "r1"}},
    ]  # fmt: skip
    (out / "logs.ndjson").write_text(
        "".join(json.dumps(line) + "\n" for line in logs)
        + '{"timestamp": "2026-11-20T14:00:02", "message": '
        + DEEP
        + ', "labels": {}}\n'
    )
    return out


def test_absurd_values_and_deep_pages_are_rejected_one_by_one(tmp_path: Path) -> None:
    con = connect(tmp_path / "x.duckdb")
    summary = import_paths(con, [_write(tmp_path)])
    rejected = con.execute(
        "SELECT regexp_extract(file, '[^/]+$'), line_no, reason FROM rejected ORDER BY ALL"
    ).fetchall()
    assert rejected == [
        ("app-events.json", 1, "timestamp out of range (Unix seconds 0001..9999): 1e+300"),
        ("app-events.json", 2, "nested too deeply"),
        ("logs.ndjson", 1, "timestamp out of range (Unix seconds 0001..9999): 1e+18"),
        ("logs.ndjson", 3, "nested too deeply"),
        ("runners.json", 1, "uptime_seconds out of range: 1e+40"),
    ]
    assert not any("Errno" in r[2] for r in rejected)  # not the OS's misleading [Errno 75]
    kept = con.execute(
        "SELECT event, runner_id FROM events WHERE event IN ('runner.started', 'log') ORDER BY ALL"
    ).fetchall()
    # the good items around the bad ones are all there (r-ok's listing gives a started + log)
    assert ("runner.started", "r2") in kept and ("runner.started", "r3") in kept
    assert ("runner.started", "r-ok") in kept and ("log", "r1") in kept
    assert not any(rid == "r-bad" for _, rid in kept)
    assert summary.rejected == len(rejected)
    con.close()
