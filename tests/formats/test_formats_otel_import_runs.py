"""Spans resolved across SEPARATE `analyzer import` runs into one database, in any order.

One request's spans spread the ways real exporters spread them: the caller's file
(``traces.jsonl``: the request root and its CLIENT call), the rotated file after it
(``traces.1.jsonl``: a task that outlived the handler, C003, and that task's own child), the
downstream service's own file (``embedder.jsonl``: its SERVER span under the CLIENT call, and
that span's child), and the logs in their own file (``logs.jsonl``: one signal per file, records
of spans of every other file, one with a trace id only). Each order below is run as separate
``analyzer import`` commands into the same database (an ``analyzer check``, an incremental
replay, between two of them in one order) and must end where importing all files at once ends.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from otel_docs import T0, TRACE, request_root, span, traces, write_lines

from analyzer.cli import main
from analyzer.store import connect

SERVER, CLIENT = 2, 3
ROOT, CALL, LEAK, GRAND, DOWN, INNER = (c * 16 for c in "acefdb")
FILES = ("traces.jsonl", "traces.1.jsonl", "embedder.jsonl", "logs.jsonl")
# each order is also a "parent last" one for some span: the root comes last in the second
ORDERS = {
    "rotation, child file before parent file": (1, 0, 2, 3),
    "logs file before the traces": (3, 1, 2, 0),
    "downstream service before its caller": (2, 3, 0, 1),
}


def _log(span_id: str | None, text: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "timeUnixNano": str(T0 + 300_000_000),
        "severityText": "INFO",
        "body": {"stringValue": text},
        "traceId": TRACE,
    }
    if span_id:
        record["spanId"] = span_id
    return {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [record]}]}]}


def _write(folder: Path) -> list[Path]:
    folder.mkdir()
    root = request_root(ROOT)
    call = span(CALL, ROOT, name="POST", kind=CLIENT, start_s=0.1, end_s=1.0)
    leak = span(LEAK, ROOT, name="encode-preview", start_s=0.5, end_s=7.0)
    grand = span(GRAND, LEAK, name="upload-preview", start_s=1.0, end_s=6.5)
    down = span(DOWN, CALL, name="POST /embed", kind=SERVER, start_s=0.2, end_s=0.9)
    inner = span(INNER, DOWN, name="tokenize", start_s=0.3, end_s=0.4)
    return [
        write_lines(folder / FILES[0], traces([root, call])),
        write_lines(folder / FILES[1], traces([grand, leak])),
        write_lines(folder / FILES[2], traces([down, inner], service="embedder", runner="e-1")),
        write_lines(
            folder / FILES[3],
            _log(LEAK, "step 1"),
            _log(DOWN, "embedding"),
            _log(INNER, "tokens: 12"),
            _log(None, "trace only"),
        ),
    ]


def _cli(*args: str) -> int:
    return main(list(args))


def _state(db: Path) -> dict[str, Any]:
    """What the database says once the replay is built (by the check run before)."""
    con = connect(db)
    try:
        events = con.execute(
            "SELECT event, request_id, runner_id, child_id, outcome, status, inferred, "
            "extra->>'otel_role' FROM events ORDER BY ALL"
        ).fetchall()
        return {
            "events": events,
            "attempts": con.execute(
                "SELECT request_id, attempt, runner_id, status FROM attempts ORDER BY ALL"
            ).fetchall(),
            "children": con.execute(
                "SELECT request_id, child_id, outcome FROM children ORDER BY ALL"
            ).fetchall(),
            "logs": con.execute(
                "SELECT message, request_id FROM events WHERE event = 'log' ORDER BY 1"
            ).fetchall(),
            "findings": con.execute(
                "SELECT code, request_id FROM findings ORDER BY ALL"
            ).fetchall(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def all_at_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("once")
    files = _write(folder / "logs")
    db = folder / "once.duckdb"
    assert _cli("import", *map(str, files), "--db", str(db)) == 0
    assert _cli("check", "--db", str(db), "--fail-on", "never") == 0
    return _state(db)


def test_all_at_once_is_one_request_with_its_work(all_at_once: dict[str, Any]) -> None:
    assert all_at_once["findings"] == [("C003", "req-x")]
    assert all_at_once["attempts"] == [("req-x", 1, "runner-1", 200)]
    assert all_at_once["children"] == [
        ("req-x", c, "ok") for c in sorted((CALL, LEAK, GRAND, DOWN, INNER))
    ]
    assert all_at_once["logs"] == [
        ("embedding", "req-x"),
        ("step 1", "req-x"),
        ("tokens: 12", "req-x"),
        ("trace only", "req-x"),
    ]


@pytest.mark.parametrize("order", list(ORDERS), ids=list(ORDERS))
def test_separate_import_runs_in_any_order(
    tmp_path: Path, all_at_once: dict[str, Any], order: str
) -> None:
    files = _write(tmp_path / "logs")
    db = tmp_path / "runs.duckdb"
    for step, index in enumerate(ORDERS[order]):
        assert _cli("import", str(files[index]), "--db", str(db)) == 0
        if step == 1 and order.startswith("rotation"):
            # a replay in between: the next imports rewrite rows it has replayed
            assert _cli("check", "--db", str(db), "--fail-on", "never") == 0
    assert _cli("check", "--db", str(db), "--fail-on", "never") == 0
    assert _state(db) == all_at_once


def test_separate_processes(tmp_path: Path, all_at_once: dict[str, Any]) -> None:
    """Real separate processes for the first runs (the logs, then the rotated child file), then
    the caller's file with the downstream service's in a later run."""
    files = _write(tmp_path / "logs")
    db = tmp_path / "procs.duckdb"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "analyzer", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    for index in (3, 1):
        assert run("import", str(files[index]), "--db", str(db)).returncode == 0
    assert _cli("check", "--db", str(db), "--fail-on", "never") == 0
    assert _state(db)["findings"] == []  # no request root yet: nothing to judge
    assert _cli("import", str(files[0]), str(files[2]), "--db", str(db)) == 0
    assert _cli("check", "--db", str(db), "--fail-on", "never") == 0
    assert _state(db) == all_at_once  # C003 for req-x only, as all at once
