"""The real fal SDK (fal 1.83) against the checked-in recordings of what its runners answer/print.

``tests/formats/fal_sdk/harness.py`` serves real ``fal.App`` classes with the SDK's own
``App.serve()`` on the loopback and drives them with real HTTP (scenarios in ``scenarios.py``);
running it as a script regenerates ``tests/formats/fixtures/fal_sdk/`` (the recordings and
their export shapes). Here the live SDK is run again and must answer and print what was
recorded: a new SDK version that behaves differently fails this test.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fal_sdk"))

import harness  # noqa: E402
import shapes  # noqa: E402
from scenarios import CASES  # noqa: E402


def recorded(name: str) -> list[dict[str, Any]]:
    path = harness.FIXTURES / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def live() -> dict[str, list[dict[str, Any]]]:
    return harness.record_all()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scenario", ["cases", "incident"])
def test_live_sdk_answers_and_prints_what_was_recorded(
    live: dict[str, list[dict[str, Any]]], scenario: str
) -> None:
    want = harness.comparable(recorded(scenario))
    got = harness.comparable(live[scenario])
    assert got["runners"] == want["runners"]
    assert got["calls"] == want["calls"]
    assert got["streams"].keys() == want["streams"].keys()
    for stream, lines in want["streams"].items():
        assert got["streams"][stream] == lines, stream


def test_the_recording_covers_every_row_of_the_mapping() -> None:
    calls = {r["request_id"]: r for r in recorded("cases") if r["kind"] == "call"}
    answers = {rid: (c["status"], c["body"]) for rid, c in calls.items()}
    assert answers["case-value_error"] == (500, {"detail": "Internal Server Error"})
    assert answers["case-triton"] == (503, {"detail": "GPU error"})  # a GPU word is enough
    assert answers["case-key_error_gpu_word"] == (503, {"detail": "GPU error"})
    for case in ("runtime_oom_no_cuda", "host_oom", "class_oom_no_cuda"):  # no "CUDA": 500
        assert answers[f"case-{case}"][0] == 500, case
    assert answers["case-cuda_oom"] == (503, {"detail": "CUDA error: out of memory"})
    assert answers["case-app_exception"] == (429, {"detail": "upstream quota exhausted"})
    assert answers["case-cancelled"] == (499, {"detail": "stopped by the caller"})
    assert answers["case-field_exception"][0] == answers["case-validation"][0] == 422
    assert calls["case-validation"]["headers"] == {"x-fal-billable-units": "0"}
    assert calls["case-stop_runner_false"]["headers"] == {"x-fal-stop-runner": "false"}
    assert calls["case-needs_retry"]["headers"] == {"x-fal-needs-retry": "1"}
    assert {f"case-{c}" for c in CASES} | {"case-validation"} <= calls.keys()
    cancels = [
        r for r in recorded("cases") if r["kind"] == "call" and r["path"].endswith("/cancel")
    ]
    assert [(c["request_id"], c["status"]) for c in cancels] == [
        ("cancel-known", 200),
        ("cancel-unknown", 500),
        ("cancel-finished", 500),
    ]
    # only unhandled exceptions print the SDK's traceback line, and never with a request id
    lines = [r for r in recorded("cases") if r["kind"] == "line"]
    tracebacks = [r for r in lines if r["text"].startswith('{"traceback"')]
    assert len(tracebacks) == 9 and not any(r["labels"] for r in tracebacks)


def test_checked_in_exports_are_the_recordings(tmp_path: Path) -> None:
    for scenario in ("cases", "incident"):
        for path in shapes.write(recorded(scenario), tmp_path / scenario):
            kept = harness.FIXTURES / scenario / path.name
            assert kept.read_text() == path.read_text(), (
                f"{kept} is stale: run python tests/formats/fal_sdk/harness.py"
            )


def _items(path: Path) -> int:
    """The records of an export file (pages of ``items``), counted from the file itself."""
    decoder, text, pos, n = json.JSONDecoder(), path.read_text(encoding="utf-8"), 0, 0
    while pos < len(text.rstrip()):
        doc, end = decoder.raw_decode(text, pos)
        n += len(doc["items"])
        pos = end + 1
    return n


@pytest.fixture(scope="module")
def incident_db(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from analyzer.analysis import analyze
    from analyzer.importers import import_paths
    from analyzer.store import connect

    con = connect(tmp_path_factory.mktemp("incident") / "incident.duckdb")
    summary = import_paths(con, [harness.FIXTURES / "incident"])
    findings = {(f.code, f.request_id) for f in analyze(con).findings}
    yield con, summary, findings
    con.close()


def test_incident_in_export_shapes_gives_exactly_the_misuse_it_shows(incident_db: Any) -> None:
    con, summary, findings = incident_db
    assert sorted(f.format for f in summary.files) == [
        "fal_events",
        "fal_logs",
        "fal_requests",
        "fal_runners",
    ]
    # no gateway cancel in an export: C002 rests on the runner's own failed /cancel
    assert not con.execute(
        "SELECT count(*) FROM events WHERE source = 'gateway' AND event LIKE 'request.cancel%'"
    ).fetchone()[0]
    assert findings == {
        ("S001", "req-triton"),
        ("R001", "req-triton"),
        ("C002", "req-cancel-late"),
    }
    # app names as each export names them (bare in logs and runner listing) become owner/app
    apps = con.execute("SELECT DISTINCT origin, app FROM events ORDER BY ALL").fetchall()
    assert {app for _, app in apps} == {"acme/cases", "acme/cancel-demo"}
    assert {origin for origin, _ in apps} == {
        "fal_events",
        "fal_logs",
        "fal_requests",
        "fal_runners",
    }
    # the three 503s of req-triton each stopped their runner; the OOM 503 was legitimate
    killed = con.execute(
        "SELECT request_id, count(*) FILTER (WHERE runner_terminated), count(*) FROM attempts "
        "WHERE status = 503 GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert killed == [("req-oom", 1, 1), ("req-triton", 3, 3)]


def test_unlabelled_lines_are_attributed_by_runner_and_time(incident_db: Any) -> None:
    con, summary, _ = incident_db
    errors = con.execute(
        "SELECT request_id, runner_id, attempt, status, exc_type, extra->>'attribution' "
        "FROM events WHERE event = 'handler.error' ORDER BY ts"
    ).fetchall()
    assert errors == [
        ("req-triton", "run-a1", 1, 503, "ValueError", "runner_time"),
        ("req-triton", "run-a2", 2, 503, "ValueError", "runner_time"),
        ("req-triton", "run-a3", 3, 503, "ValueError", "runner_time"),
        ("req-oom", "run-a4", 1, 503, "RuntimeError", "runner_time"),
    ]
    cancels = con.execute(
        "SELECT request_id, outcome, status, extra->>'attribution' FROM events "
        "WHERE event = 'cancel.received' ORDER BY ts"
    ).fetchall()
    assert cancels == [
        ("req-cancel-ok", "cancelled", 200, "labelled"),
        ("req-cancel-late", "no_task", 500, "runner_time"),
    ]
    # the second cancel of req-cancel-late came after its answer: no request in flight, so it
    # stays a log row with its reason and its exception, never guessed
    late = con.execute(
        "SELECT event, request_id, extra->>'kind', exc_type FROM events WHERE origin = 'fal_logs' "
        "AND extra->>'attribution' = 'no request in flight' AND exc_type IS NOT NULL"
    ).fetchall()
    assert late == [("log", None, "cancel.received", "ValueError")]
    # every record of every export file is an event, a record joined into one, or rejected
    for f in summary.files:
        path = Path(f.path)
        joined = con.execute(
            "SELECT coalesce(sum(json_array_length(extra->'joined_lines') - 1), 0) FROM events "
            "WHERE file = ?",
            [f.path],
        ).fetchone()[0]
        events = con.execute("SELECT count(*) FROM events WHERE file = ?", [f.path]).fetchone()[0]
        if path.name == "logs.json":
            assert events + joined + f.rejected == _items(path)
            assert summary.attribution["joined"] == joined
            assert sum(v for k, v in summary.attribution.items() if k != "joined") == events
        assert f.rejected == 0


def test_every_mapping_case_reads_back_from_its_export(tmp_path: Path) -> None:
    """The cases' export (every row of the SDK's mapping) imported: each unhandled exception is
    one handler.error attributed to its call, with the exception and the status the SDK gave."""
    from analyzer.importers import import_paths
    from analyzer.store import connect

    con = connect(tmp_path / "cases.duckdb")
    summary = import_paths(con, [harness.FIXTURES / "cases"])
    assert summary.rejected == 0
    timeline = recorded("cases")
    raised = {
        json.loads(r["text"])["traceback"].splitlines()[0] for r in timeline
        if r["kind"] == "line" and r["text"].startswith('{"traceback"')
    }  # fmt: skip
    calls = {
        r["request_id"]: r["status"]
        for r in timeline
        if r["kind"] == "call" and r["path"] == "/predict"
    }
    errors = con.execute(
        "SELECT request_id, exc_type || ': ' || message, status, extra->>'attribution' "
        "FROM events WHERE event = 'handler.error' ORDER BY ts"
    ).fetchall()
    assert {e[1] for e in errors} == raised - {"ValueError: No task to cancel"}
    for request_id, _, status, how in errors:
        assert (status, how) == (calls[request_id], "runner_time"), request_id
    # handled exceptions print no traceback: their evidence is the access line's status
    access = dict(
        con.execute(
            "SELECT request_id, status FROM events WHERE origin = 'fal_logs' AND event = 'log' "
            "AND extra->>'access' IS NOT NULL AND request_id LIKE 'case-%'"
        ).fetchall()
    )
    for case in ("app_exception", "field_exception", "validation", "gpu_exception", "cancelled"):
        assert access[f"case-{case}"] == calls[f"case-{case}"], case
    cancels = con.execute(
        "SELECT request_id, outcome FROM events WHERE event = 'cancel.received' ORDER BY ts"
    ).fetchall()
    assert cancels == [("cancel-known", "cancelled")]
    # the cancels for an unknown and for a finished request: no request in flight on the runner
    failed = con.execute(
        "SELECT event, exc_type || ': ' || message, extra->>'attribution' FROM events "
        "WHERE extra->>'kind' = 'cancel.received' AND request_id IS NULL"
    ).fetchall()
    assert failed == [("log", "ValueError: No task to cancel", "no request in flight")] * 2
    con.close()
