"""nginx on the output of the REAL server: a retrying proxy in front of a 503 upstream."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from formats_helpers import imported_vs_parsed, parse_file, pick
from nginx_server import nginx_available, nginx_proxy, post, wait_for_lines

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.importers import import_paths
from analyzer.importers.formats import nginx
from analyzer.replay import build
from analyzer.store import connect


def test_real_nginx_access_log_imports_attempts(tmp_path: Path) -> None:
    if not nginx_available():
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is required under CI=true but /usr/sbin/nginx is missing")
        pytest.skip("nginx not installed")
    with nginx_proxy(tmp_path) as proxy:
        statuses = [post(proxy.url + "/predict", f"req-ng-{i}") for i in range(4)]
        with pytest.raises(OSError):  # the client gives up: nginx logs 499
            post(proxy.url + "/predict?sleep=1.5", "req-ng-gone", timeout=0.3)
        time.sleep(0.3)
        post(proxy.url + "/health", None)
        wait_for_lines(proxy.access_log, 6)
    assert statuses == [200, 200, 200, 200]  # every 503 was retried on the other upstream
    text = proxy.access_log.read_text()
    assert nginx.sniff(text)
    rows, rejected = parse_file("nginx", proxy.access_log)
    assert rejected == []
    sql, python = imported_vs_parsed(
        proxy.access_log
    )  # what the importer stores is what parse gives
    assert sql == python
    retried = 0
    for i in range(4):
        mine = pick(rows, request_id=f"req-ng-{i}")
        answers = pick(mine, event="attempt.finished")
        assert answers[-1]["status"] == 200 and answers[-1]["runner_id"] == proxy.good
        if len(answers) == 2:  # round robin: every other request hits the 503 upstream first
            retried += 1
            assert (answers[0]["runner_id"], answers[0]["status"]) == (proxy.bad, 503)
            assert [r["attempt"] for r in pick(mine, event="attempt.dispatched")] == [1, 2]
        assert pick(mine, event="request.completed")[0]["status"] == 200
        assert pick(mine, event="request.received")[0]["endpoint"] == "/predict"
    assert retried >= 1
    gone = pick(rows, request_id="req-ng-gone")
    assert pick(gone, event="request.client_disconnected")
    assert pick(gone, event="request.completed")[0]["status"] == 499
    # no x-fal-request-id: nginx's own $request_id (32 hex characters) is the id
    health = [r for r in rows if r["endpoint"] == "/health"]
    assert health and len(health[0]["request_id"]) == 32

    # the same log through the importer (detected from content) and the replay
    con = connect(tmp_path / "nginx.duckdb")
    summary = import_paths(con, [proxy.access_log])
    assert [f.format for f in summary.files] == ["nginx"] and summary.rejected == 0
    build(con)
    attempts = con.execute(
        "SELECT request_id, list(status ORDER BY attempt), list(runner_id ORDER BY attempt) "
        "FROM attempts WHERE request_id LIKE 'req-ng-%' AND request_id <> 'req-ng-gone' "
        "GROUP BY request_id"
    ).fetchall()
    assert len(attempts) == 4
    assert any(statuses == [503, 200] for _, statuses, _ in attempts)
    assert all(
        statuses[-1] == 200 and runners[-1] == proxy.good for _, statuses, runners in attempts
    )
    outcome = con.execute(
        "SELECT outcome, disconnected_at IS NOT NULL FROM requests WHERE request_id = 'req-ng-gone'"
    ).fetchone()
    assert outcome is not None and outcome[1] is True
    con.close()


def test_real_nginx_failures_and_the_default_combined_format(tmp_path: Path) -> None:
    """A dead upstream group, a refused connection, and nginx's default ``combined`` log."""
    if not nginx_available():
        pytest.fail("nginx is required but /usr/sbin/nginx is missing")
    with nginx_proxy(tmp_path) as proxy:
        dead = post(proxy.url + "/dead/predict", "req-dead")
        refused = [post(proxy.url + "/refused/predict", f"req-ref-{i}") for i in range(2)]
        ok = post(proxy.url + "/predict", "req-ok")
        wait_for_lines(proxy.access_log, 4)
        wait_for_lines(proxy.combined_log, 4)
    assert (dead, refused, ok) == (502, [200, 200], 200)
    rows, rejected = parse_file("nginx", proxy.access_log)
    assert rejected == []
    assert imported_vs_parsed(proxy.access_log)[0] == imported_vs_parsed(proxy.access_log)[1]
    # the group name nginx logs for "no live upstreams" is no runner; nothing was dispatched
    assert {r["runner_id"] for r in rows} <= {None, proxy.good, proxy.bad, proxy.closed}
    mine = pick(rows, request_id="req-dead")
    assert [r["event"] for r in mine] == ["request.received", "request.completed"]
    assert mine[0]["extra"]["upstream_group"] == ["dead"] and mine[-1]["status"] == 502
    # round robin: one of the two /refused requests met the closed port first (nginx's 502)
    failed = pick(rows, event="attempt.failed", runner_id=proxy.closed)
    assert len(failed) == 1 and failed[0]["error_type"] == "runner_connection_error"
    assert not pick(rows, status=502, event="attempt.finished")

    con = connect(tmp_path / "real.duckdb")
    summary = import_paths(con, [proxy.access_log, proxy.combined_log])
    assert [f.format for f in summary.files] == ["nginx", "nginx"]
    assert summary.rejected == 0
    analyze(con, Config())
    answered = con.execute(
        "SELECT request_id, list(status ORDER BY attempt), list(runner_id ORDER BY attempt) "
        "FROM attempts WHERE request_id LIKE 'req-ref-%' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert sorted((s for _, s, _ in answered), key=len) == [[200], [None, 200]]
    assert all(r[-1] == proxy.good for _, _, r in answered)
    assert con.execute(
        "SELECT count(*) FROM attempts WHERE request_id = 'req-dead' OR runner_id = 'dead'"
    ).fetchone() == (0,)
    # the combined log: each request received and completed, with its status and path only
    combined = con.execute(
        "SELECT endpoint, list(event ORDER BY event), max(status) FROM events "
        "WHERE file LIKE '%combined.log' GROUP BY request_id, endpoint ORDER BY 1, 3"
    ).fetchall()
    assert combined == [
        ("/dead/predict", ["request.completed", "request.received"], 502),
        ("/predict", ["request.completed", "request.received"], 200),
        ("/refused/predict", ["request.completed", "request.received"], 200),
        ("/refused/predict", ["request.completed", "request.received"], 200),
    ]
    findings = con.execute("SELECT code, request_id FROM findings").fetchall()
    con.close()
    assert findings == []  # nginx's own failures are no app misuse
