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


@pytest.mark.timeout(280)
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
