"""OpenTelemetry OTLP JSON (collector file exporter shape) on a hand-written fixture."""

from __future__ import annotations

from formats_helpers import FIXTURES, parse_file, pick


def test_otlp_server_spans_children_and_cancellation() -> None:
    rows, rejected = parse_file("otel", FIXTURES / "otlp_traces.jsonl")
    req = pick(rows, request_id="req-o1")  # from http.request.header.x-fal-request-id
    assert {r["runner_id"] for r in req} == {"run-o1"}
    assert {r["app"] for r in req} == {"acme/sdxl"}
    assert [r["event"] for r in req if r["event"].startswith("handler.")] == [
        "handler.started",
        "handler.cancelled",
    ]
    started = {r["name"]: r for r in pick(req, event="child.started")}
    assert set(started) == {"fetch-weights", "encode-preview", "upload"}
    assert started["fetch-weights"]["kind"] == "upstream"  # a CLIENT span
    assert started["encode-preview"]["deadline_s"] == 30.0
    assert started["upload"]["line_no"] == 2  # a grandchild, on the next TracesData line
    assert pick(req, event="child.cancelled")[0]["child_id"] == "aaa19b7ec3c1b101"
    ends = {r["child_id"]: r["outcome"] for r in pick(req, event="child.finished")}
    assert ends == {"aaa19b7ec3c1b102": "ok", "aaa19b7ec3c1b103": "timeout"}
    (error,) = pick(rows, request_id="req-o2", event="handler.error")
    assert (error["exc_type"], error["message"], error["status"]) == ("KeyError", "'prompt'", 500)
    # a span outside any request and a log record are log events
    assert pick(rows, event="log", request_id=None)[0]["message"].startswith("span 'warmup'")
    (log,) = pick(rows, event="log", request_id="req-o1")
    assert (log["message"], log["level"]) == ("generating", "info")
    assert len(rejected) == 1 and rejected[0].line_no == 5
