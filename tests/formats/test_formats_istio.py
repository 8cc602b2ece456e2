"""Istio's sidecar access log (Envoy with Istio's default text format, 1.8 on): detected, read."""

from __future__ import annotations

from pathlib import Path

from formats_helpers import imported_vs_parsed, parse_file, pick

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.importers import import_paths
from analyzer.store import connect

_TAIL = (
    ' "-" "python-httpx/0.27" "{rid}" "myapp.default.svc:8080" "{host}" {cluster} '
    "10.44.1.23:41854 10.44.1.27:8080 10.44.1.9:37652 - default"
)
LINES = [
    '[2026-11-20T14:00:00.000Z] "POST /predict HTTP/1.1" 200 - via_upstream - "-" 12 2 150 148'
    + _TAIL.format(rid="req-i1", host="10.44.1.27:8080", cluster="inbound|8080||"),
    '[2026-11-20T14:00:01.000Z] "POST /predict HTTP/1.1" 503 UF '
    'upstream_reset_before_response_started{connection_failure} - "delayed_connect_error:_111" '
    "0 91 2 -" + _TAIL.format(rid="req-i2", host="10.44.1.28:8080", cluster="outbound|8080||m"),
    '[2026-11-20T14:00:02.000Z] "POST /predict HTTP/1.1" 503 UH no_healthy_upstream - "-" '
    "0 19 0 -" + _TAIL.format(rid="req-i3", host="-", cluster="outbound|8080||m"),
]


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "istio-proxy.log"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_istio_sidecar_lines_are_envoy_requests(tmp_path: Path) -> None:
    rows, rejected = parse_file("envoy", _log(tmp_path))
    assert rejected == []
    ok = pick(rows, request_id="req-i1")
    assert [(r["event"], r["runner_id"], r["status"]) for r in ok] == [
        ("request.received", None, None),
        ("attempt.dispatched", "10.44.1.27:8080", None),
        ("attempt.finished", "10.44.1.27:8080", 200),
        ("request.completed", None, 200),
    ]
    assert ok[0]["extra"]["response_code_details"] == "via_upstream"
    assert ok[0]["extra"]["attempt_count"] is None  # Istio logs no attempt count
    assert ok[0]["app"] == "myapp.default.svc:8080" and ok[0]["endpoint"] == "/predict"
    refused = pick(rows, request_id="req-i2")
    assert [(r["event"], r["error_type"]) for r in refused[1:3]] == [
        ("attempt.dispatched", None),
        ("attempt.failed", "runner_connection_error"),
    ]
    assert refused[0]["extra"]["upstream_transport_failure_reason"] == "delayed_connect_error:_111"
    no_host = pick(rows, request_id="req-i3")  # no healthy upstream: nothing dispatched
    assert [r["event"] for r in no_host] == ["request.received", "request.completed"]
    sql, python = imported_vs_parsed(tmp_path / "istio-proxy.log", "envoy")
    assert sql == python and len(sql[0]) == len(rows)


def test_istio_sidecar_log_is_detected_and_gives_no_false_finding(tmp_path: Path) -> None:
    con = connect(tmp_path / "db.duckdb")
    summary = import_paths(con, [_log(tmp_path)])
    assert [f.format for f in summary.files] == ["envoy"] and summary.rejected == 0
    analyze(con, Config())
    got = con.execute("SELECT request_id, count(*) FROM attempts GROUP BY 1 ORDER BY 1").fetchall()
    findings = con.execute("SELECT code, request_id FROM findings").fetchall()
    con.close()
    assert got == [("req-i1", 1), ("req-i2", 1)]
    assert findings == []
