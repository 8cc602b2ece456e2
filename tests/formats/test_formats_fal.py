"""The platform's exports (request listing, logs, app events, runner listing) on fixtures."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from formats_helpers import FIXTURES, parse_file, pick

from analyzer.importers.formats.tracebacks import parse_traceback, sdk_status


def test_request_listing_rebuilds_attempts_across_pages() -> None:
    rows, _ = parse_file("fal_requests", FIXTURES / "requests_page.json")
    poison = pick(rows, request_id="req-poison-1")
    dispatched = pick(poison, event="attempt.dispatched")
    # three rows on two pages, ordered by sent_at: attempts 1..3 on three runners
    assert [(r["attempt"], r["runner_id"]) for r in dispatched] == [
        (1, "run-a1"),
        (2, "run-a2"),
        (3, "run-a3"),
    ]
    assert [r["status"] for r in pick(poison, event="attempt.finished")] == [503, 503, 503]
    # terminations come from app events or the replay's silence inference, not from here
    assert not pick(rows, event="runner.terminated")
    (received,) = pick(poison, event="request.received")
    assert received["ts"] == datetime(2026, 11, 20, 14, 0, tzinfo=UTC) and received["inferred"]
    assert (received["app"], received["endpoint"]) == ("acme/sdxl", "/predict")
    # the last listed answer is a completion; whether a retry may still be queued after it
    # (a 503 below the cap) is the replay's call, under the policy (tests/replay)
    (last,) = pick(poison, event="request.completed")
    assert last["status"] == 503 and last["inferred"]
    (completed,) = pick(rows, request_id="req-ok-1", event="request.completed")
    assert completed["status"] == 200 and completed["line_no"] == 25 and completed["inferred"]
    # a 5xx leaves the handler's end to the logs; a 2xx ends it
    assert not pick(poison, event="handler.finished")
    assert pick(rows, request_id="req-ok-1", event="handler.finished")[0]["status"] == 200
    # provenance: the pretty-printed first page gives each item its own line
    assert dispatched[0]["line_no"] == 3 and dispatched[1]["line_no"] == 15
    # unmapped fields are kept in extra
    first_answer = pick(poison, event="attempt.finished")[0]
    assert first_answer["extra"]["json_output"] == {"detail": "Internal Server Error"}


def test_request_listing_cancel_queue_and_rejects() -> None:
    rows, rejected = parse_file("fal_requests", FIXTURES / "requests_page.json")
    cancel = pick(rows, request_id="req-cancel-1")
    assert [r["event"] for r in cancel if r["source"] == "runner"] == [
        "handler.started",
        "handler.cancelled",
    ]
    assert all(r["ts_naive"] for r in cancel)  # no offset: taken as UTC
    # still in the queue: received, nothing else
    assert [r["event"] for r in pick(rows, request_id="req-queued")] == ["request.received"]
    assert [(r.line_no, r.reason) for r in rejected] == [(42, "missing request_id")]


def test_logs_history_tracebacks_and_cancel_route() -> None:
    rows, rejected = parse_file("fal_logs", FIXTURES / "logs_history.json")
    (error,) = pick(rows, event="handler.error", request_id="req-poison-1")
    assert error["exc_type"] == "ValueError"
    assert error["message"] == "unsupported triton kernel option 'fast'"
    assert error["runner_id"] == "run-a3" and error["endpoint"] == "/predict"
    assert error["status"] == 503  # the SDK's mapping: a GPU word in the message
    assert error["ts_naive"] and error["level"] == "error"
    assert error["extra"]["revision"] == "rev-7" and "traceback" in error["extra"]
    (oom,) = pick(rows, event="handler.error", request_id="req-oom-1")
    assert oom["exc_type"] == "torch.OutOfMemoryError"  # ordinary-order traceback: last line
    assert oom["message"].startswith("CUDA out of memory")
    (cancel,) = pick(rows, event="cancel.received")
    assert (cancel["outcome"], cancel["endpoint"], cancel["request_id"]) == (
        "no_task",
        "/predict",
        "req-cancel-1",
    )
    assert pick(rows, event="log")[0]["message"] == "loading input image"
    assert [r.line_no for r in rejected] == [42] and "invalid ts" in rejected[0].reason


def test_log_drain_ndjson() -> None:
    rows, rejected = parse_file("fal_logs", FIXTURES / "log_drain.ndjson")
    (error,) = pick(rows, event="handler.error")
    assert (error["exc_type"], error["message"], error["status"]) == ("KeyError", "'prompt'", 500)
    assert (error["app"], error["runner_id"], error["line_no"]) == ("acme/sdxl", "run-a1", 1)
    assert not pick(rows, event="child.started")  # not a timeout: no upstream inferred
    assert error["ts_naive"] is False
    # rows come in time order (the drain's lines are not): line 3, line 2, line 1
    assert [(r["event"], r["line_no"]) for r in rows] == [
        ("log", 3),
        ("log", 2),
        ("handler.error", 1),
    ]
    assert pick(rows, line_no=3)[0]["level"] == "warning"
    assert [(r.line_no, r.reason) for r in rejected] == [(4, "not JSON")]


def test_app_events_lifecycle() -> None:
    rows, rejected = parse_file("fal_events", FIXTURES / "app_events.json")
    got = [(r["event"], r["runner_id"], r["reason"], r["inferred"]) for r in rows]
    assert got[:4] == [
        ("runner.started", "run-a1", None, False),
        ("runner.ready", "run-a1", None, False),
        ("runner.terminated", "run-a1", "status_503", True),
        ("runner.stopped", "run-a1", "finished", False),
    ]
    (setup_failed,) = pick(rows, event="runner.setup_failed")
    assert (setup_failed["exc_type"], setup_failed["message"]) == (
        "RuntimeError",
        "model weights not found at /data/sdxl",
    )
    assert pick(rows, runner_id="run-b2")[0]["reason"] == "startup_timeout"
    assert pick(rows, runner_id="run-b3")[0]["reason"] == "crash"
    # draining and a scale-down stop are not failures
    assert [r["event"] for r in pick(rows, runner_id="run-a3")] == ["log", "log"]
    assert rows[0]["machine_type"] == "GPU-H100" and rows[0]["extra"]["event_id"] == "ev-1"
    assert [(r.line_no, r.reason) for r in rejected] == [(11, "missing ts")]


def test_runner_listing_snapshot() -> None:
    rows, rejected = parse_file("fal_runners", FIXTURES / "runners.json")
    started = pick(rows, event="runner.started")
    assert [(r["runner_id"], r["ts"].isoformat()) for r in started] == [
        ("run-a5", "2026-11-20T14:00:00+00:00"),
        ("run-a6", "2026-11-20T14:07:59.500000+00:00"),
    ]
    assert all(r["inferred"] and r["app"] == "acme/sdxl" for r in started)
    assert "state RUNNING" in pick(rows, event="log", runner_id="run-a5")[0]["message"]
    assert len(rejected) == 1 and "runner_id" in rejected[0].reason


def test_traceback_parsing_both_orders_and_sdk_status() -> None:
    reversed_tb = "KeyError: 'x'\n  File \"a.py\", line 1, in f\nTraceback (most recent call last):"
    assert parse_traceback(reversed_tb) is not None
    ordinary = 'Traceback (most recent call last):\n  File "a.py"\n    f()\nRuntimeError: boom'
    parsed = parse_traceback(ordinary)
    assert parsed is not None and (parsed.exc_type, parsed.message) == ("RuntimeError", "boom")
    assert sdk_status("ValueError", "bad prompt") == 500
    assert sdk_status("RuntimeError", "CUDA error: device-side assert") == 503
    # the SDK reads the message only: a marker word, never the type, decides (fal 1.83)
    assert sdk_status("torch.cuda.OutOfMemoryError", "CUDA out of memory. Tried to allocate") == 503
    assert sdk_status("torch.cuda.OutOfMemoryError", "Tried to allocate 2 GiB") == 500
    assert sdk_status("RuntimeError", "out of memory") == 500
    assert sdk_status("ValueError", "host out of memory") == 500
    assert sdk_status("OutOfMemoryError", "out of memory") == 500
    assert sdk_status("KeyError", "'cuda_device'") == 503
    # older SDKs knew three marker words: "triton" was not one of them
    assert sdk_status("ValueError", "bad triton option", "1.83.0") == 503
    assert sdk_status("ValueError", "bad triton option", "0.9.1") == 500
    assert sdk_status("ValueError", "cudnn failure", "0.9.1") == 503


def test_timeout_traceback_infers_the_upstream_that_timed_out(tmp_path: Path) -> None:
    line = {
        "timestamp": "2026-11-20T14:00:09.000Z",
        "level": "ERROR",
        "message": json.dumps(
            {
                "traceback": "httpx.ReadTimeout: The read operation timed out\n"
                '  File "/app/main.py", line 9, in predict\n'
                "Traceback (most recent call last):\n"
            }
        ),
        "fal_request_id": "req-t",
        "fal_job_id": "run-t",
        "fal_endpoint": "/predict",
    }
    drain = tmp_path / "drain.ndjson"
    drain.write_text(json.dumps(line) + "\n")
    rows, _ = parse_file("fal_logs", drain)
    assert [r["event"] for r in rows] == ["child.started", "child.finished", "handler.error"]
    child = rows[1]
    assert (child["outcome"], child["kind"], child["inferred"]) == ("timeout", "upstream", True)
    assert child["child_id"] == rows[0]["child_id"] and child["request_id"] == "req-t"
