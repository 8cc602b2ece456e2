"""nginx's own 504 (its proxy_read_timeout expired) against an app's own 504, on the REAL nginx.

nginx writes 504 in ``$upstream_status`` for an attempt it gave up waiting on: an attempt that
failed by timeout (``attempt.failed`` ``request_timeout``), not the app's answer. An app that
answers 504 itself stays an app answer where the log tells them apart: its
``$upstream_header_time`` is a time, nginx's own 504 has ``-`` there. Without that field (the
documented format before it was added) both read as nginx's timeout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from formats_helpers import imported_vs_parsed, parse_file, pick
from nginx_server import nginx_available, nginx_proxy, post, wait_for_lines

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.importers import import_paths
from analyzer.store import connect


def _attempts(rows: list[dict[str, object]], request_id: str) -> list[tuple[object, ...]]:
    return [
        (r["event"], r["runner_id"], r["status"], r["error_type"])
        for r in pick(rows, request_id=request_id)
        if str(r["event"]).startswith("attempt.") and r["event"] != "attempt.dispatched"
    ]


def test_real_nginx_timeout_is_no_app_answer_and_an_app_504_is(tmp_path: Path) -> None:
    if not nginx_available():
        pytest.fail("nginx is required but /usr/sbin/nginx is missing")
    with nginx_proxy(tmp_path) as proxy:
        retried = [post(proxy.url + "/timeout/predict", f"req-to-{i}") for i in range(2)]
        gave_up = post(proxy.url + "/timeout-only/predict", "req-to-only")
        app = post(proxy.url + "/app504/predict", "req-app504")
        for log in (proxy.access_log, proxy.no_header_log):
            wait_for_lines(log, 4)
    # nginx retried the timed-out attempt on the 200 upstream; alone, it answered 504 itself
    assert (retried, gave_up, app) == ([200, 200], 504, 504)
    text = proxy.access_log.read_text()
    assert '"504" "0.5' in text and '"-"' in text  # as nginx wrote it: no header came

    rows, rejected = parse_file("nginx", proxy.access_log)
    assert rejected == []
    sql, python = imported_vs_parsed(
        proxy.access_log
    )  # what the importer stores is what parse gives
    assert sql == python
    # round robin: one of the two /timeout requests met the slow server first
    timed_out = pick(rows, event="attempt.failed", runner_id=proxy.slow)
    assert [r["request_id"] for r in timed_out if r["request_id"] != "req-to-only"] in (
        ["req-to-0"],
        ["req-to-1"],
    )
    first = timed_out[0]["request_id"]
    assert _attempts(rows, str(first)) == [
        ("attempt.failed", proxy.slow, None, "request_timeout"),
        ("attempt.finished", proxy.good, 200, None),
    ]
    assert _attempts(rows, "req-to-only") == [
        ("attempt.failed", proxy.slow, None, "request_timeout")
    ]
    assert pick(rows, request_id="req-to-only", event="request.completed")[0]["status"] == 504
    # the app's own 504: a header came, so it is the app's answer
    assert _attempts(rows, "req-app504") == [("attempt.finished", proxy.app504, 504, None)]
    assert not pick(rows, event="attempt.finished", runner_id=proxy.slow)

    # without $upstream_header_time the two 504s cannot be told apart: both are nginx's timeout
    old, old_rejected = parse_file("nginx", proxy.no_header_log)
    assert old_rejected == []
    assert imported_vs_parsed(proxy.no_header_log)[0] == imported_vs_parsed(proxy.no_header_log)[1]
    assert _attempts(old, "req-to-only") == _attempts(rows, "req-to-only")
    assert _attempts(old, "req-app504") == [
        ("attempt.failed", proxy.app504, None, "request_timeout")
    ]

    con = connect(tmp_path / "timeout.duckdb")
    summary = import_paths(con, [proxy.access_log])
    assert [f.format for f in summary.files] == ["nginx"] and summary.rejected == 0
    analyze(con, Config())
    attempts = con.execute(
        "SELECT request_id, list(status ORDER BY attempt), list(runner_id ORDER BY attempt) "
        "FROM attempts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    by_id = {rid: (statuses, runners) for rid, statuses, runners in attempts}
    assert by_id[first] == ([None, 200], [proxy.slow, proxy.good])
    assert by_id["req-to-only"] == ([None], [proxy.slow])
    assert by_id["req-app504"] == ([504], [proxy.app504])
    findings = con.execute("SELECT code, request_id FROM findings ORDER BY 1, 2").fetchall()
    con.close()
    # S005 for the app that answered 504 at once (no upstream work of its own timed out: it
    # had none); nginx's own timeouts are no 504 answer, so no S005 for them
    assert findings == [("S005", "req-app504")]
