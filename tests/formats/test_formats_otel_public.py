"""Public OpenTelemetry test data (spec examples, Tempo's and Jaeger's fixtures): every span is
accounted for and nothing is found (see fixtures/public/README.md for their origin)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from formats_helpers import FIXTURES

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.store import connect

PUBLIC = FIXTURES / "public"
# file -> (spans rejected with a reason, spans skipped as duplicates)
EXPECTED = {
    "otlp-proto-trace.json": (0, 0),
    "tempo-vulture-trace.json": (0, 0),
    "tempo-batches-trace.json": (0, 0),
    "jaeger-apiv3-GetTrace.json": (1, 0),  # a span without startTimeUnixNano
    "jaeger-otlp2jaeger-in.json": (0, 1),  # the same span twice
    "jaeger-storage-example_trace.json": (0, 0),
    "jaeger-storage-log_tags_trace.json": (0, 0),
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
    path = PUBLIC / name
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
