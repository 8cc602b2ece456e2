"""OpenTelemetry on a REAL trace: the SDK's console exporter output of a small asyncio app."""

from __future__ import annotations

from pathlib import Path

from formats_helpers import parse_file, pick
from otel_app import LEAK_SECONDS, run_app

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.importers.formats import otel
from analyzer.store import connect


def test_real_sdk_trace_finds_the_orphaned_child(tmp_path: Path) -> None:
    trace_file = tmp_path / "spans.json"
    with trace_file.open("w", encoding="utf-8") as out:
        run_app(out)
    assert otel.sniff(trace_file.read_text()[:65536])
    rows, rejected = parse_file("otel", trace_file)
    assert rejected == []
    cancelled = pick(rows, request_id="req-otel-cancelled")
    assert {r["runner_id"] for r in cancelled} == {"runner-otel-1"}
    assert pick(cancelled, event="handler.cancelled")
    assert [r["name"] for r in pick(cancelled, event="child.cancelled")] == [None]
    assert {r["name"] for r in pick(cancelled, event="child.started")} == {
        "fetch-upstream",
        "encode-preview",
    }
    assert pick(rows, request_id="req-otel-clean", event="handler.finished")[0]["status"] == 200

    con = connect(tmp_path / "otel.duckdb")
    summary = import_paths(con, [trace_file])  # detected from its content
    assert [f.format for f in summary.files] == ["otel"] and summary.rejected == 0
    result = analyze(con)
    c003 = [f for f in result.findings if f.code == "C003"]
    assert [f.request_id for f in c003] == ["req-otel-cancelled"]
    assert c003[0].runner_id == "runner-otel-1"
    # the evidence leads back to the trace file
    assert any(e.file == str(trace_file) for e in c003[0].evidence)
    assert not [f for f in result.findings if f.request_id == "req-otel-clean"]
    children = con.execute(
        "SELECT request_id, name, outcome, ran_after_parent_s FROM children "
        "ORDER BY request_id, name"
    ).fetchall()
    by_key = {(r[0], r[1]): (r[2], r[3]) for r in children}
    # the forgotten child kept running after its handler was cancelled ...
    outcome, after = by_key[("req-otel-cancelled", "encode-preview")]
    assert outcome == "ok" and LEAK_SECONDS - 0.5 < after < LEAK_SECONDS + 1.0
    # ... the cancelled one stopped with its handler, and the clean request left nothing behind
    outcome, after = by_key[("req-otel-cancelled", "fetch-upstream")]
    assert outcome == "cancelled" and after < 0.5
    assert all(after < 0.5 for (rid, _), (_, after) in by_key.items() if rid == "req-otel-clean")
    con.close()
