"""nginx's own failure output: a dead upstream group and a refused connection (defect 12)."""

from __future__ import annotations

from pathlib import Path

from formats_helpers import imported_vs_parsed, parse_file, pick

from analyzer.analysis import analyze
from analyzer.config import Config
from analyzer.importers import import_paths
from analyzer.store import connect

_HEAD = '127.0.0.1 - - [20/Nov/2026:14:00:0{s} +0000] "POST /predict HTTP/1.1" {st} 157 "-" "py" '
LINES = [
    # no server of group `pool` is live: nginx logs the GROUP name and its own 502
    _HEAD.format(s=0, st=502) + '"pool" "502" "0.000" 0.001 1795269600.001 "req-dead" -',
    # the first server refused the connection (nginx's 502), the next one answered 200
    _HEAD.format(s=1, st=200)
    + '"127.0.0.1:1, 127.0.0.1:9002" "502, 200" "0.000, 0.020" 0.021 1795269601.021 "req-ref" -',
    # every server refused: the caller gets nginx's 502, no app answered at all
    _HEAD.format(s=2, st=502) + '"127.0.0.1:1" "502" "0.000" 0.001 1795269602.001 "req-all" -',
]


def _log(tmp_path: Path) -> Path:
    path = tmp_path / "access.log"
    path.write_text("\n".join(LINES) + "\n")
    return path


def test_a_group_name_is_no_runner_and_a_502_is_no_answer(tmp_path: Path) -> None:
    rows, rejected = parse_file("nginx", _log(tmp_path))
    assert rejected == []
    assert all(r["runner_id"] != "pool" for r in rows)
    dead = pick(rows, request_id="req-dead")
    assert [r["event"] for r in dead] == ["request.received", "request.completed"]
    assert dead[0]["extra"]["upstream_group"] == ["pool"]
    assert dead[-1]["status"] == 502
    refused = pick(rows, request_id="req-ref")
    assert [(r["event"], r["attempt"], r["status"], r["error_type"]) for r in refused[1:-1]] == [
        ("attempt.dispatched", 1, None, None),
        ("attempt.failed", 1, None, "runner_connection_error"),
        ("attempt.dispatched", 2, None, None),
        ("attempt.finished", 2, 200, None),
    ]
    assert not pick(rows, event="attempt.finished", status=502)
    sql, python = imported_vs_parsed(tmp_path / "access.log")  # stored = parsed: one mapping
    assert sql == python


def test_nginx_failures_give_no_runner_and_no_app_finding(tmp_path: Path) -> None:
    con = connect(tmp_path / "db.duckdb")
    summary = import_paths(con, [_log(tmp_path)])
    assert [f.format for f in summary.files] == ["nginx"] and summary.rejected == 0
    analyze(con, Config())
    runners = {r for (r,) in con.execute("SELECT runner_id FROM attempts").fetchall()}
    assert runners == {"127.0.0.1:1", "127.0.0.1:9002"}
    statuses = con.execute(
        "SELECT request_id, list(status ORDER BY attempt) FROM attempts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert 502 not in [s for _, lst in statuses for s in lst]
    findings = con.execute("SELECT code, request_id FROM findings").fetchall()
    con.close()
    assert findings == []


def test_upstream_header_time_tells_nginx_failures_from_app_answers(tmp_path: Path) -> None:
    """With ``$upstream_header_time``: ``-`` = nginx's own 502/504, a time = the app's answer."""
    lines = [
        # the app itself answered 502 (a header came): an answer, not a connection failure
        _HEAD.format(s=3, st=502)
        + '"127.0.0.1:9002" "502" "0.004" 0.005 1795269603.005 "req-app502" - "0.004"',
        # nginx timed out on the first server (no header: '-'), the second answered 504 itself
        _HEAD.format(s=4, st=504) + '"127.0.0.1:9001, 127.0.0.1:9002" "504, 504" "0.500, 0.003" '
        '0.503 1795269604.503 "req-to-app504" - "-, 0.003"',
        # nginx's own 502 with its header time '-': still nginx's failure
        _HEAD.format(s=5, st=502)
        + '"127.0.0.1:1" "502" "0.000" 0.001 1795269605.001 "req-r" - "-"',
    ]
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    rows, rejected = parse_file("nginx", path)
    assert rejected == []
    ends = [
        (r["request_id"], r["event"], r["status"], r["error_type"])
        for r in rows
        if r["event"] in ("attempt.finished", "attempt.failed")
    ]
    assert ends == [
        ("req-app502", "attempt.finished", 502, None),
        ("req-to-app504", "attempt.failed", None, "request_timeout"),
        ("req-to-app504", "attempt.finished", 504, None),
        ("req-r", "attempt.failed", None, "runner_connection_error"),
    ]
    sql, python = imported_vs_parsed(path)
    assert sql == python


def test_nginx_kills_no_upstream_so_its_failures_infer_no_termination(tmp_path: Path) -> None:
    """Failed attempts whose upstreams are never seen again (the end of the log) are no killed
    runners: nginx does not kill upstreams, so no R003 (two proxy timeouts) and no R001 (three
    refused upstreams), and no runner counted as terminated."""
    lines = [
        _HEAD.format(s=6, st=504) + '"127.0.0.1:9001, 127.0.0.1:9002" "504, 504" "0.500, 0.500" '
        '1.001 1795269607.001 "req-2to" - "-, -"',
        _HEAD.format(s=8, st=502) + '"127.0.0.1:9003, 127.0.0.1:9004, 127.0.0.1:9005" '
        '"502, 502, 502" "0.000, 0.000, 0.001" 0.002 1795269608.002 "req-3ref" - "-, -, -"',
    ]
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    con = connect(tmp_path / "db.duckdb")
    import_paths(con, [path])
    analyze(con, Config())
    failed = con.execute(
        "SELECT request_id, count(*), count(*) FILTER (WHERE error_type = 'request_timeout') "
        "FROM attempts GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert failed == [("req-2to", 2, 2), ("req-3ref", 3, 0)]
    terminated = con.execute(
        "SELECT count(*) FILTER (WHERE runner_terminated), count(*) FILTER (WHERE "
        "termination_inferred), sum(runners_killed_needlessly) FROM attempts, "
        "(SELECT sum(runners_killed_needlessly) AS runners_killed_needlessly FROM summary_by_app)"
    ).fetchall()
    assert terminated == [(0, 0, 0)]  # the replay infers no kill either (the rules rely on it)
    findings = con.execute("SELECT code, request_id FROM findings").fetchall()
    con.close()
    assert findings == []
