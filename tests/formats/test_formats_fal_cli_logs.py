"""``fal runners logs --json`` and ``--follow --json``, in the shapes the SDK's CLI prints them
(fal 1.83, ``fal/cli/runners.py``: ``{"logs": [items of /logs/history]}``, and one JSON item per
line when following)."""

from __future__ import annotations

import json
from pathlib import Path

from formats_helpers import parse_file, pick

ITEMS = [
    {
        "timestamp": "2026-11-20T14:00:01.000",
        "level": "INFO",
        "message": json.dumps(
            {"traceback": "ValueError: bad\nTraceback (most recent call last):\n"}
        ),
        "app": "sdxl",
        "labels": {"fal_job_id": "run-1"},
    },
    {
        "timestamp": "2026-11-20T14:00:01.001",
        "level": "INFO",
        "message": 'INFO:     10.0.0.1:5000 - "POST /predict HTTP/1.1" 500 Internal Server Error',
        "app": "sdxl",
        "labels": {"fal_job_id": "run-1"},
    },
]


def test_cli_logs_json_document(tmp_path: Path) -> None:
    path = tmp_path / "runner-logs.json"
    path.write_text(json.dumps({"logs": ITEMS}) + "\n")
    rows, rejected = parse_file("fal_logs", path)
    (error,) = pick(rows, event="handler.error")
    assert (error["exc_type"], error["status"], error["endpoint"]) == (
        "ValueError",
        500,
        "/predict",
    )
    assert error["extra"]["joined_lines"] == [1, 1] and not rejected


def test_cli_logs_follow_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "follow.ndjson"
    path.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    rows, rejected = parse_file("fal_logs", path)
    (error,) = pick(rows, event="handler.error")
    assert error["extra"]["joined_lines"] == [1, 2] and error["extra"]["unlabelled"]
    assert len(rows) == 1 and not rejected  # the access line is joined into the error
