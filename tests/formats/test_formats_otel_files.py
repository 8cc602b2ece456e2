"""Spans resolved over every imported file (issue 12 defect 4, and 1 and 7 across files).

A request's root span in one file, its forgotten child (exported late, after a rotation) and a
downstream service's span in a second, its log records in a third (one signal per file): in
any import order, the child is the request's child work (C003), the downstream span is no
second attempt, the log records carry the request id, and a copy of the root in the second
file is no second attempt either.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from otel_docs import T0, TRACE, request_root, span, traces, write_lines

from analyzer.analysis import analyze
from analyzer.importers import import_paths
from analyzer.store import connect

SERVER, CLIENT = 2, 3
ROOT, CALL, LEAK, DOWN = "a" * 16, "c" * 16, "e" * 16, "d" * 16


def _files(tmp_path: Path) -> list[Path]:
    root = request_root(ROOT)
    first = write_lines(
        tmp_path / "spans.1.jsonl",
        traces([root, span(CALL, ROOT, name="GET", kind=CLIENT, start_s=0.1, end_s=1.0)]),
    )

    def logs(span_id: str, text: str) -> dict[str, object]:
        record = {
            "timeUnixNano": str(T0 + 300_000_000),
            "severityText": "INFO",
            "body": {"stringValue": text},
            "traceId": TRACE,
            "spanId": span_id,
        }
        return {"resourceLogs": [{"resource": {}, "scopeLogs": [{"logRecords": [record]}]}]}

    second = write_lines(
        tmp_path / "spans.2.jsonl",
        traces([span(LEAK, ROOT, name="encode-preview", start_s=0.5, end_s=7.0), root]),
        traces(
            [span(DOWN, CALL, name="GET /embed", kind=SERVER, start_s=0.2, end_s=0.9)],
            service="embedder",
            runner="embed-1",
        ),
        logs(DOWN, "embedding"),  # its span looks like a request root until spans.1 comes
    )
    logs_file = write_lines(tmp_path / "logs.jsonl", logs(LEAK, "step 1"))
    return [first, second, logs_file]


def _state(con: object) -> tuple[object, ...]:
    events = con.execute(  # type: ignore[attr-defined]
        "SELECT event, request_id, child_id, outcome, runner_id FROM events "
        "WHERE event <> 'log' OR request_id IS NOT NULL ORDER BY ALL"
    ).fetchall()
    findings = sorted((f.code, f.request_id) for f in analyze(con).findings)  # type: ignore[arg-type]
    attempts = con.execute("SELECT request_id, attempt FROM attempts").fetchall()  # type: ignore[attr-defined]
    children = con.execute(  # type: ignore[attr-defined]
        "SELECT request_id, child_id, outcome FROM children ORDER BY child_id"
    ).fetchall()
    return events, findings, attempts, children


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_parents_request_ids_and_child_work_across_files(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    files = _files(tmp_path)
    con = connect(tmp_path / f"otel-{''.join(map(str, order))}.duckdb")
    for index in order:  # one import per file: each resolves over everything imported so far
        import_paths(con, [files[index]])
    events, findings, attempts, children = _state(con)
    assert findings == [("C003", "req-x")]
    assert attempts == [("req-x", 1)]
    assert children == [
        ("req-x", CALL, "ok"),
        ("req-x", DOWN, "ok"),
        ("req-x", LEAK, "ok"),
    ]
    logs = con.execute("SELECT request_id FROM events WHERE event = 'log'").fetchall()
    assert logs == [("req-x",), ("req-x",)]
    # the same rows whatever the order, and the same as importing everything at once
    once = connect(tmp_path / "once.duckdb")
    import_paths(once, files)
    assert _state(once)[0] == events
    once.close()
    con.close()
