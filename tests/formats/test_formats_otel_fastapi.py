"""A real instrumented FastAPI app and a real client (issue 12): the findings per request are
what the app really did, in each of its three exports.

``otel_fastapi_app.py`` runs (a subprocess, loopback only, bounded) the app under uvicorn with
opentelemetry-instrumentation-fastapi, calling a second local service through instrumented
httpx, driven by a plain httpx client through ten cases. Its spans are exported with the
ConsoleSpanExporter, as OTLP/JSON through ``MessageToJson`` (base64 ids), and rotated over two
files with the detached child in the second; its log records go to their own file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from otel_fastapi_app import CASES, run_exports

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.importers.formats.base import iter_json_values
from analyzer.importers.formats.otel_read import Span, read_document
from analyzer.store import connect

HERE = Path(__file__).parent
EXPECTED = {
    ("C003", "req-leak"),  # the detached child ran ~5 s after its handler stopped
    ("S001", "req-triton"),  # a 503 for a ValueError that merely mentions triton
    ("S002", "req-bug"),  # a ValueError escaping as 500
    ("S005", "req-fake504"),  # a 504 with no upstream timeout
}
EXPORTS = {
    "console": ["console.json"],
    "otlp": ["otlp.jsonl", "logs.jsonl"],
    "split": ["split.1.jsonl", "split.2.jsonl", "logs.jsonl"],
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("otel-app")
    return out, run_exports(out)


def _spans(path: Path) -> set[tuple[str, str]]:
    keys = set()
    for item in iter_json_values(path.read_text(encoding="utf-8")):
        assert isinstance(item, tuple)
        keys |= {r.key for r in read_document(item[1], item[0]) if isinstance(r, Span)}
    return keys


def test_the_client_saw_what_the_app_did(exports: tuple[Path, dict[str, str]]) -> None:
    _, seen = exports
    assert seen == {
        "req-normal": "200",
        "req-disconnect": "gave up",
        "cancel req-cancelled": "200",
        "req-cancelled": "499",
        "req-unknown": "500",
        "req-leak": "499",
        "req-triton": "503",
        "req-oom": "503",
        "req-bug": "500",
        "req-fake504": "504",
        "req-timeout504": "504",
    }


@pytest.mark.parametrize("export", list(EXPORTS))
def test_findings_per_request_equal_what_the_app_did(
    exports: tuple[Path, dict[str, str]], export: str, tmp_path: Path
) -> None:
    out, _ = exports
    files = [out / name for name in EXPORTS[export]]
    con = connect(tmp_path / f"{export}.duckdb")
    for path in files:  # one import each: rotation and one signal per file
        summary = import_paths(con, [path])
        assert [f.format for f in summary.files] == ["otel"]
        assert summary.rejected == 0
    result = analyze(con)
    assert {(f.code, f.request_id) for f in result.findings} == EXPECTED
    assert len(result.findings) == len(EXPECTED)  # once each: no L002, no S002 on /cancel

    # every span accounted for: one mapped span per span written, whichever encoding
    written = set().union(*(_spans(p) for p in files if "logs" not in p.name))
    mapped = con.execute(
        "SELECT DISTINCT extra->>'trace_id', extra->>'span_id' FROM events "
        "WHERE extra->>'otel_role' IN ('root', 'child', 'orphan', 'cancel')"
    ).fetchall()
    assert set(mapped) == written and len(mapped) == len(written)
    # one attempt per request: downstream SERVER spans are child work, not retries
    attempts = con.execute("SELECT request_id, count(*) FROM attempts GROUP BY 1").fetchall()
    assert sorted(attempts) == sorted((c, 1) for c in CASES if c != "req-unknown")
    assert con.execute(
        "SELECT count(*) FROM events WHERE event = 'log' AND request_id IS NULL"
    ).fetchall() == [(0,)]
    # the detached child is the leak's child work, also when it sits in the second file
    (leak,) = con.execute(
        "SELECT request_id, ran_after_parent_s FROM children WHERE name = 'encode-preview'"
    ).fetchall()
    assert leak[0] == "req-leak" and 4.0 < leak[1] < 6.0
    cancels = con.execute(
        "SELECT request_id, outcome FROM events WHERE event = 'cancel.received' ORDER BY 1"
    ).fetchall()
    assert cancels == [("req-cancelled", "cancelled"), ("req-unknown", "no_task")]
    con.close()


def test_the_three_encodings_give_one_set_of_ids(exports: tuple[Path, dict[str, str]]) -> None:
    out, _ = exports
    console = _spans(out / "console.json")
    assert console == _spans(out / "otlp.jsonl")  # base64 decoded = hex
    assert console == _spans(out / "split.1.jsonl") | _spans(out / "split.2.jsonl")
    text = (out / "otlp.jsonl").read_text(encoding="utf-8")
    first = json.loads(text.splitlines()[0])
    span_id = first["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"]
    assert len(span_id) == 12 and span_id.endswith("=")  # MessageToJson wrote base64
    assert "encode-preview" in (out / "split.2.jsonl").read_text(encoding="utf-8")
    assert "encode-preview" not in (out / "split.1.jsonl").read_text(encoding="utf-8")
