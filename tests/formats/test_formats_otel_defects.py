"""OpenTelemetry defects found on real traces (issue 12 defects 1-3, 5-10, 13, 14; 17.5)."""

from __future__ import annotations

import json
from pathlib import Path

from formats_helpers import parse_file, pick
from otel_docs import TRACE, b64, span, traces, write_lines

from analyzer.analysis import analyze
from analyzer.cli import main
from analyzer.importers import import_paths
from analyzer.importers.formats.otel_read import norm_id
from analyzer.store import connect

SERVER, CLIENT = 2, 3


def _db(tmp_path: Path, *files: Path) -> tuple[object, object]:
    con = connect(tmp_path / "otel.duckdb")
    summary = import_paths(con, list(files))
    return con, summary


def test_downstream_server_span_is_child_work_not_a_retry(tmp_path: Path) -> None:
    """Defect 1: a SERVER span under another service's CLIENT span is downstream work."""
    f = write_lines(
        tmp_path / "t.jsonl",
        traces(
            [
                span("a" * 16, name="POST /predict", kind=SERVER, end_s=2, http__route="/predict"),
                span("c" * 16, "a" * 16, name="GET", kind=CLIENT, start_s=0.1, end_s=1.5),
            ]
        ),
        traces(
            [span("d" * 16, "c" * 16, name="GET /embed", kind=SERVER, start_s=0.2, end_s=1.4)],
            service="embedder",
            runner="embed-1",
        ),
    )
    rows, rejected = parse_file("otel", f)
    assert rejected == []
    assert len(pick(rows, event="handler.started")) == 1
    down = pick(rows, child_id="d" * 16)
    assert [r["event"] for r in down] == ["child.started", "child.finished"]
    assert {r["request_id"] for r in down} == {TRACE}
    con, _ = _db(tmp_path, f)
    result = analyze(con)
    assert con.execute("SELECT count(*) FROM attempts").fetchall() == [(1,)]  # type: ignore[attr-defined]
    assert [x.code for x in result.findings] == []


def test_captured_request_id_header_links_the_cancel_route(tmp_path: Path) -> None:
    """Defect 2 and 10: the captured header (underscores, a list) is the request id; the
    ``/cancel`` route's ``No task to cancel`` is a cancel outcome, not S002."""
    header = {"http__request__header__x_fal_request_id": ["req-h"]}
    f = write_lines(
        tmp_path / "t.jsonl",
        traces(
            [
                span(
                    "a" * 16,
                    name="POST /predict",
                    kind=SERVER,
                    end_s=1,
                    http__route="/predict",
                    http__response__status_code=200,
                    **header,
                ),
                span(
                    "b" * 16,
                    name="POST /predict/cancel",
                    kind=SERVER,
                    start_s=2,
                    end_s=2.1,
                    trace="1" * 32,
                    error=True,
                    http__route="/predict/cancel",
                    http__response__status_code=500,
                    exception=("ValueError", "No task to cancel"),
                    **header,
                ),
            ]
        ),
    )
    rows, _ = parse_file("otel", f)
    assert {r["request_id"] for r in rows} == {"req-h"}
    (cancel,) = pick(rows, event="cancel.received")
    assert (cancel["outcome"], cancel["endpoint"]) == ("no_task", "/predict")
    con, _ = _db(tmp_path, f)
    assert [x.code for x in analyze(con).findings] == []  # type: ignore[attr-defined]


def test_base64_ids_are_decoded_not_lower_cased(tmp_path: Path) -> None:
    """Defect 3: the same span exported as hex and as base64 has one id; base64 ids that differ
    only in case are different ids."""
    hex_trace, hex_span = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    assert norm_id(b64(hex_trace)) == hex_trace and norm_id(b64(hex_span)) == hex_span
    assert norm_id("0x" + hex_span.upper()) == hex_span
    assert norm_id("AAAAAAAAAAE=") != norm_id("aaaaaaaaaae=")
    doc = traces([span(hex_span, name="POST /p", kind=SERVER, trace=hex_trace)])
    as_b64 = json.loads(json.dumps(doc).replace(hex_trace, b64(hex_trace)))
    as_b64 = json.loads(json.dumps(as_b64).replace(hex_span, b64(hex_span)))
    a, _ = parse_file("otel", write_lines(tmp_path / "hex.jsonl", doc))
    b, _ = parse_file("otel", write_lines(tmp_path / "b64.jsonl", as_b64))
    assert [r["request_id"] for r in a] == [r["request_id"] for r in b] == [hex_trace] * 6
    assert {r["extra"]["span_id"] for r in b if r["extra"]} == {hex_span}


def test_legacy_log_records_are_read(tmp_path: Path) -> None:
    """Defect 5 and 14: ``instrumentationLibraryLogs`` (pre-1.0) gives its events; a kvlist
    body is stored as JSON."""
    record = {
        "timeUnixNano": "1795000000000000000",
        "severityText": "INFO",
        "body": {"kvlistValue": {"values": [{"key": "step", "value": {"intValue": "3"}}]}},
    }
    doc = {
        "resourceLogs": [
            {"resource": {}, "instrumentationLibraryLogs": [{"logRecords": [record, record]}]}
        ]
    }
    rows, rejected = parse_file("otel", write_lines(tmp_path / "l.jsonl", doc))
    assert rejected == [] and len(rows) == 2
    assert json.loads(rows[0]["message"]) == {"step": 3}


def test_one_bad_span_is_rejected_alone(tmp_path: Path) -> None:
    """Defect 6: a span without ``startTimeUnixNano`` is one rejection; its 15 neighbours stay."""
    good = [span(f"{i:016x}", name=f"s{i}", start_s=i, end_s=i + 0.5) for i in range(1, 16)]
    bad = span("f" * 16, name="broken")
    del bad["startTimeUnixNano"]
    f = write_lines(tmp_path / "t.jsonl", traces([*good[:7], bad, *good[7:]]))
    rows, rejected = parse_file("otel", f)
    assert len(rows) == 15
    assert [(r.line_no, r.reason) for r in rejected] == [
        (1, "bad OpenTelemetry item: span without startTimeUnixNano")
    ]
    assert '"broken"' in rejected[0].raw


def test_duplicated_span_is_one_attempt(tmp_path: Path) -> None:
    """Defect 7: an exporter retry writes a span twice; it is one attempt, not a phantom."""
    root = span(
        "a" * 16, name="POST /predict", kind=SERVER, end_s=1, http__response__status_code=200
    )
    running = dict(root)
    del running["endTimeUnixNano"]
    f = write_lines(tmp_path / "t.jsonl", traces([running]), traces([root]), traces([root]))
    con, summary = _db(tmp_path, f)
    assert summary.skipped == 2 and summary.rejected == 0  # type: ignore[attr-defined]
    analyze(con)
    rows = con.execute(  # type: ignore[attr-defined]
        "SELECT attempt, handler_outcome, gpu_seconds FROM attempts"
    ).fetchall()
    assert len(rows) == 1 and rows[0][1] == "finished" and rows[0][2] < 1.5


def test_requests_complete_and_no_exception_is_invented(tmp_path: Path) -> None:
    """Defects 8 and 9: an ended server span completes its request; an ERROR status without an
    exception event has no exception type (S005 does not read "(Error: )")."""
    f = write_lines(
        tmp_path / "t.jsonl",
        traces(
            [
                span(
                    "a" * 16,
                    name="POST /predict",
                    kind=SERVER,
                    end_s=1,
                    http__response__status_code=200,
                ),
                span(
                    "b" * 16,
                    name="POST /predict",
                    kind=SERVER,
                    end_s=1,
                    trace="2" * 32,
                    error=True,
                    http__response__status_code=504,
                ),
            ]
        ),
    )
    rows, _ = parse_file("otel", f)
    (error,) = pick(rows, event="handler.error")
    assert error["exc_type"] is None
    con, _ = _db(tmp_path, f)
    result = analyze(con)
    outcomes = con.execute(  # type: ignore[attr-defined]
        "SELECT request_id, outcome, partial FROM requests ORDER BY request_id"
    ).fetchall()
    assert outcomes == [("2" * 32, "failed", False), (TRACE, "success", False)]
    (s005,) = [x for x in result.findings if x.code == "S005"]
    assert "Error:" not in s005.message and s005.request_id == "2" * 32


def test_tempo_jaeger_and_metrics_shapes(tmp_path: Path) -> None:
    """Defect 13 (OTel shapes): Tempo's ``batches`` with legacy scope names and base64 ids,
    Jaeger api_v3's ``{"result": ...}``, OTLP metrics lines skipped and counted."""
    tempo = traces(
        [span(b64("a" * 16), name="GET /t", kind=SERVER, trace=b64("3" * 32))],
        resource_key="batches",
        scope_key="instrumentationLibrarySpans",
    )
    jaeger = {"result": traces([span("b" * 16, name="GET /j", kind=SERVER, trace="4" * 32)])}
    metrics = {"resourceMetrics": [{"resource": {}, "scopeMetrics": []}]}
    f = write_lines(tmp_path / "mixed.jsonl", metrics, tempo, jaeger, metrics)
    con, summary = _db(tmp_path, f)
    assert [x.format for x in summary.files] == ["otel"]  # type: ignore[attr-defined]
    assert (summary.rejected, summary.skipped) == (0, 2)  # type: ignore[attr-defined]
    got = con.execute(  # type: ignore[attr-defined]
        "SELECT DISTINCT request_id FROM events WHERE event = 'handler.started' ORDER BY 1"
    ).fetchall()
    assert got == [("3" * 32,), ("4" * 32,)]
    only_metrics = write_lines(tmp_path / "metrics.jsonl", metrics, metrics, metrics)
    summary = import_paths(con, [only_metrics])  # type: ignore[arg-type]
    assert (summary.files[0].format, summary.rejected, summary.skipped) == ("otel", 0, 3)


def test_bad_values_reject_the_item_and_keep_the_rest(tmp_path: Path, capsys: object) -> None:
    """Issue 17.5: ``{"resourceSpans": ["x"]}`` and a huge ``startTimeUnixNano`` reject that
    item with a reason; the rest of the file is imported, exit 0, no traceback."""
    huge = span("e" * 16, name="huge")
    huge["startTimeUnixNano"] = "9" * 40
    f = write_lines(
        tmp_path / "t.jsonl",
        {"resourceSpans": ["x"]},
        traces([huge, span("a" * 16, name="POST /p", kind=SERVER)]),
        {"resourceSpans": "x"},
    )
    db = tmp_path / "cli.duckdb"
    assert main(["import", str(f), "--db", str(db)]) == 0
    con = connect(db)
    reasons = con.execute("SELECT line_no, reason FROM rejected ORDER BY line_no").fetchall()
    assert reasons == [
        (1, "resourceSpans[0] is not an object"),
        (2, "bad OpenTelemetry item: startTimeUnixNano out of range: " + "9" * 40),
        (3, "resourceSpans is not a list"),
    ]
    assert con.execute(
        "SELECT count(*) FROM events WHERE event = 'handler.started'"
    ).fetchall() == [(1,)]


def test_captured_credential_headers_are_redacted(tmp_path: Path) -> None:
    """Span attributes go through the one redaction (analyzer/importers/redact.py)."""
    secret = "sk-live-abcdef123456"
    f = write_lines(
        tmp_path / "t.jsonl",
        traces(
            [
                span(
                    "a" * 16,
                    name="POST /p",
                    kind=SERVER,
                    http__request__header__authorization=[f"Bearer {secret}"],
                    http__request__header__x_fal_key=["key-id:secret-part-xyz"],
                )
            ]
        ),
    )
    con, _ = _db(tmp_path, f)
    stored = con.execute("SELECT extra::VARCHAR FROM events").fetchall()  # type: ignore[attr-defined]
    assert stored and not any(secret in s or "secret-part" in s for (s,) in stored)
    assert any("http.request.header.authorization" in s for (s,) in stored)


def test_a_value_nested_too_deeply_rejects_its_line_only(tmp_path: Path) -> None:
    """Issue 17.5 (any foreign format): a line nested 5,000 deep is rejected with its reason."""
    deep = "[" * 5000 + "]" * 5000
    f = tmp_path / "t.jsonl"
    good = json.dumps(traces([span("a" * 16, name="POST /p", kind=SERVER)]))
    attr = '{"key": "deep", "value": {"arrayValue": {"values": ' + deep + "}}}"
    bad = good.replace('"attributes": []', '"attributes": [' + attr + "]")
    assert bad != good
    f.write_text(good + "\n" + bad + "\n" + good.replace("a" * 16, "b" * 16) + "\n")
    rows, rejected = parse_file("otel", f)
    assert [(r.line_no, r.reason) for r in rejected] == [(2, "nested too deeply")]
    assert len(pick(rows, event="handler.started")) == 2
