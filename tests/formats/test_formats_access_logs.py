"""nginx and Envoy access logs on hand-written fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from formats_helpers import FIXTURES, GOLDEN, imported_vs_parsed, parse_file, pick

from analyzer.importers import import_paths
from analyzer.store import connect


def test_nginx_upstream_lists_are_attempts() -> None:
    rows, rejected = parse_file("nginx", FIXTURES / "nginx_access.log")
    first = pick(rows, request_id="req-n1")  # the caller's x-fal-request-id wins
    answers = pick(first, event="attempt.finished")
    assert [(r["attempt"], r["runner_id"], r["status"]) for r in answers] == [
        (1, "127.0.0.1:9001", 503),
        (2, "127.0.0.1:9002", 503),
        (3, "127.0.0.1:9003", 200),
    ]
    # times from the cumulated upstream response times, ending at $msec
    assert [round(r["ts"].timestamp() - 1795269600, 3) for r in answers] == [0.12, 0.25, 1.5]
    (received,) = pick(first, event="request.received")
    assert round(received["ts"].timestamp() - 1795269600, 3) == 0.0
    assert received["endpoint"] == "/predict"
    assert pick(first, event="request.completed")[0]["status"] == 200
    assert not pick(rows, event="runner.terminated")  # nginx kills nothing
    assert [(r.line_no, r.reason) for r in rejected] == [(5, "not an nginx combined+upstream line")]


def test_nginx_client_went_away_and_fallback_ids() -> None:
    rows, _ = parse_file("nginx", FIXTURES / "nginx_access.log")
    gone = [r for r in rows if r["line_no"] == 2]
    assert gone[0]["request_id"] == "6c2f0c7e9d0a4c1e8f2a3b4c5d6e7f81"  # nginx's $request_id
    assert [r["event"] for r in gone] == [
        "request.received",
        "attempt.dispatched",
        "request.client_disconnected",
        "request.completed",
    ]
    assert gone[-1]["status"] == 499
    # unquoted lists and no request id at all: a stable synthetic id
    health = [r for r in rows if r["line_no"] == 3]
    assert health[0]["request_id"] == "nginx:nginx_access.log:3"
    assert pick(health, event="attempt.finished")[0]["status"] == 200
    # upstream groups after an internal redirect (" : ") are attempts too (golden case "edges")
    golden = json.loads((GOLDEN / "nginx-edges.json").read_text())
    redirected = [r for r in golden["rows"] if r["event"] == "attempt.dispatched"][:3]
    assert [r["runner_id"] for r in redirected] == ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]


def test_envoy_flags_and_attempt_count() -> None:
    rows, rejected = parse_file("envoy", FIXTURES / "envoy_access.log")
    three = pick(rows, request_id="req-e1", event="attempt.dispatched")
    assert [(r["attempt"], r["runner_id"], r["inferred"]) for r in three] == [
        (1, None, True),
        (2, None, True),
        (3, "10.1.0.5:8080", False),
    ]
    retry = pick(rows, request_id="req-e2")
    assert pick(retry, event="attempt.finished")[0]["status"] == 503
    assert len(pick(retry, event="attempt.dispatched")) == 2
    gone = pick(rows, request_id="req-e3")
    assert pick(gone, event="request.client_disconnected")
    assert pick(gone, event="request.completed")[0]["status"] == 499
    assert not pick(gone, event="attempt.finished")
    timeout = pick(rows, request_id="req-e4", event="attempt.failed")
    assert timeout[0]["error_type"] == "request_timeout"
    assert (
        round((timeout[0]["ts"] - pick(rows, request_id="req-e4")[0]["ts"]).total_seconds()) == 15
    )
    assert not pick(rows, request_id="req-e5", event="attempt.dispatched")  # UH: no upstream
    failed = pick(rows, request_id="envoy:envoy_access.log:6", event="attempt.failed")
    assert failed[0]["error_type"] == "runner_connection_error"
    assert [(r.line_no, r.reason) for r in rejected] == [(7, "not an Envoy default-format line")]


def test_grown_access_log_imports_only_new_lines(tmp_path: Path) -> None:
    lines = (FIXTURES / "nginx_access.log").read_text().splitlines(keepends=True)
    log = tmp_path / "access.log"
    log.write_text("".join(lines[:2]))
    con = connect(tmp_path / "a.duckdb")
    first = import_paths(con, [log])
    log.write_text("".join(lines[:4]))
    second = import_paths(con, [log])
    assert [f.status for f in first.files + second.files] == ["imported", "appended"]
    assert second.files[0].first_line == 3 and second.files[0].lines == 2
    got = con.execute(
        "SELECT line_no, count(*) FROM events WHERE event = 'request.completed' GROUP BY 1 "
        "ORDER BY 1"
    ).fetchall()
    con.close()
    assert got == [(1, 1), (2, 1), (3, 1), (4, 1)]  # each request once, at its own line


def test_nginx_import_stores_what_parse_gives(tmp_path: Path) -> None:
    sql, python = imported_vs_parsed(FIXTURES / "nginx_access.log")
    assert sql == python and len(sql[0]) == 22


def test_envoy_import_stores_what_parse_gives(tmp_path: Path) -> None:
    log = tmp_path / "envoy.log"
    extra = (
        '[2026-11-20 14:00:07.000] "GET /health HTTP/1.1" 200 - 0 2 1 1 "-" "probe" "-" "h" '
        '"10.1.0.5:8080" 0 x y\n'
        '[not a time] "GET / HTTP/1.1" 200 - 0 2 1 1 "-" "probe" "-" "h" "-"\n'
    )
    log.write_text((FIXTURES / "envoy_access.log").read_text() + extra)
    sql, python = imported_vs_parsed(log, "envoy")
    assert sql == python
    assert len(python[1]) == 2 and "invalid ts" in python[1][1][2]
    assert any(row[-2] for row in python[0])  # the naive timestamp is marked
