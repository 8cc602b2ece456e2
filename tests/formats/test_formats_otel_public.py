"""Public OpenTelemetry test data (spec examples, Jaeger's fixtures) and our own Tempo-shaped
files: every span is accounted for and nothing is found (see fixtures/public/README.md and
fixtures/shapes/README.md for their origin)."""

from __future__ import annotations

import base64
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import FIXTURES

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.store import connect

PUBLIC = FIXTURES / "public"
SHAPES = FIXTURES / "shapes"
# file under fixtures/ -> (spans rejected with a reason, spans skipped as duplicates)
EXPECTED = {
    "public/otlp-proto-trace.json": (0, 0),
    "shapes/tempo-vulture-shape.json": (0, 0),
    "shapes/tempo-batches-shape.json": (0, 0),
    "public/collector-pdatatest-traces.json": (2, 0),  # a time past 2^63 ns; no ids
    "public/jaeger-apiv3-GetTrace.json": (1, 0),  # a span without startTimeUnixNano
    "public/jaeger-otlp2jaeger-in.json": (0, 1),  # the same span twice
    "public/jaeger-storage-example_trace.json": (0, 0),
    "public/jaeger-storage-log_tags_trace.json": (0, 0),
}


def _written(doc: Any) -> int:
    """Spans in a document, counted by walking the JSON (independently of the importer)."""
    doc = doc.get("result", doc)
    total = 0
    for res in doc.get("resourceSpans") or doc.get("batches") or []:
        for scope in res.get("scopeSpans") or res.get("instrumentationLibrarySpans") or []:
            total += len(scope.get("spans") or [])
    return total


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_span_accounted_for_and_no_finding(tmp_path: Path, name: str) -> None:
    path = FIXTURES / name
    written = _written(json.loads(path.read_text(encoding="utf-8")))
    con = connect(tmp_path / "public.duckdb")
    summary = import_paths(con, [path])
    assert [f.format for f in summary.files] == ["otel"]
    mapped = con.execute(
        "SELECT count(DISTINCT (extra->>'trace_id', extra->>'span_id')) FROM events "
        "WHERE extra->>'otel_role' IN ('root', 'child', 'orphan', 'cancel')"
    ).fetchall()[0][0]
    rejected, skipped = EXPECTED[name]
    assert (summary.rejected, summary.skipped) == (rejected, skipped)
    assert written >= 1 and mapped + rejected + skipped == written
    assert list(analyze(con).findings) == []
    con.close()


def test_spec_examples_logs_join_their_trace_and_metrics_are_skipped(tmp_path: Path) -> None:
    con = connect(tmp_path / "spec.duckdb")
    files = [PUBLIC / f"otlp-proto-{s}.json" for s in ("metrics", "logs", "trace")]
    summary = import_paths(con, files)  # logs before their trace: resolved after the trace
    assert [(f.events, f.rejected, f.skipped) for f in summary.files] == [
        (0, 0, 1),
        (1, 0, 0),
        (6, 0, 0),
    ]
    (log,) = con.execute(
        "SELECT request_id, message, level FROM events WHERE event = 'log'"
    ).fetchall()
    assert log == ("5b8efff798038103d269b633813fc60c", "Example log record", "information")
    assert list(analyze(con).findings) == []
    assert con.execute("SELECT outcome, partial FROM requests").fetchall() == [("success", False)]
    con.close()


def test_our_tempo_shapes_are_what_the_generator_writes() -> None:
    """The committed Tempo-shaped files are exactly make_shapes.py's output (no hand edits)."""
    spec = importlib.util.spec_from_file_location("make_shapes", SHAPES / "make_shapes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    texts = module.texts()
    assert sorted(texts) == sorted(p.name for p in SHAPES.glob("*.json"))
    for name, text in texts.items():
        assert (SHAPES / name).read_text(encoding="utf-8") == text, name


def _b64_hex(text: str) -> str:
    return base64.b64decode(text).hex()


def test_tempo_vulture_shape_base64_ids_and_no_request(tmp_path: Path) -> None:
    path = SHAPES / "tempo-vulture-shape.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    spans = [s for r in doc["resourceSpans"] for sc in r["scopeSpans"] for s in sc["spans"]]
    con = connect(tmp_path / "vulture.duckdb")
    summary = import_paths(con, [path])
    assert (summary.events, summary.rejected, summary.skipped) == (len(spans), 0, 0)
    rows = con.execute(
        "SELECT event, extra->>'otel_role', extra->>'trace_id', extra->>'span_id', request_id "
        "FROM events ORDER BY event_id"
    ).fetchall()
    # no server span: each span is one 'log' outside any request, its ids decoded from base64
    assert {(e, role, req) for e, role, _, _, req in rows} == {("log", "orphan", None)}
    assert {(t, s) for _, _, t, s, _ in rows} == {
        (_b64_hex(s["traceId"]), _b64_hex(s["spanId"])) for s in spans
    }
    assert list(analyze(con).findings) == []
    con.close()


def test_tempo_batches_shape_one_request_with_its_downstream_work(tmp_path: Path) -> None:
    path = SHAPES / "tempo-batches-shape.json"
    con = connect(tmp_path / "batches.duckdb")
    summary = import_paths(con, [path])
    assert (summary.rejected, summary.skipped) == (0, 0)
    roles = con.execute(
        "SELECT extra->>'span_name', extra->>'otel_role', list(DISTINCT request_id) FROM events "
        "WHERE extra->>'span_name' IS NOT NULL GROUP BY 1, 2 ORDER BY 1"
    ).fetchall()
    (request_id,) = {r for _, _, ids in roles for r in ids}
    assert [(name, role) for name, role, _ in roles] == [
        ("POST", "child"),
        ("POST /charge", "child"),  # the downstream service's SERVER span: child work
        ("POST /checkout", "root"),
        ("charge card", "child"),  # under the pre-1.0 instrumentationLibrarySpans
    ]
    analysis = analyze(con)
    assert list(analysis.findings) == []
    assert con.execute("SELECT request_id, count(*) FROM attempts GROUP BY 1").fetchall() == [
        (request_id, 1)
    ]
    assert con.execute("SELECT outcome, partial FROM requests").fetchall() == [("success", False)]
    con.close()


def test_collector_golden_file_rejects_each_bad_span_with_its_reason(tmp_path: Path) -> None:
    con = connect(tmp_path / "collector.duckdb")
    import_paths(con, [PUBLIC / "collector-pdatatest-traces.json"])
    reasons = [r for (r,) in con.execute("SELECT reason FROM rejected ORDER BY 1").fetchall()]
    assert reasons == [
        "bad OpenTelemetry item: span without traceId or spanId",
        "bad OpenTelemetry item: startTimeUnixNano out of range: 11651379494838206464",
    ]
    assert con.execute("SELECT count(*) FROM events").fetchall() == [(0,)]
    con.close()
