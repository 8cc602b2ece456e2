"""One bad value never aborts a file: nginx `$msec` 1e20, a huge `$request_time`, an Envoy
attempt count of 99999999999 or a huge duration reject that line with its reason and keep
the rest (they used to abort the whole import with a traceback)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analyzer.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def _import(tmp_path: Path, name: str, lines: list[str]) -> tuple[int, list[tuple[int, str]]]:
    log = tmp_path / name
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / (name + ".duckdb")
    assert main(["import", str(log), "--db", str(db)]) == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        events = con.execute("SELECT count(DISTINCT line_no) FROM events").fetchall()[0][0]
        rejected = con.execute("SELECT line_no, reason FROM rejected ORDER BY line_no").fetchall()
    finally:
        con.close()
    return int(events), [(int(n), str(r)) for n, r in rejected]


def _good_lines(name: str) -> list[str]:
    return [x for x in (FIXTURES / name).read_text().splitlines() if x.strip()]


def test_nginx_msec_and_request_time(tmp_path: Path) -> None:
    good = _good_lines("nginx_access.log")
    base = good[0]
    assert "1795269601.502" in base and " 1.502 " in base
    bad = [
        base.replace("1795269601.502", "1e20").replace("req-n1", "req-msec"),
        base.replace("1795269601.502", "inf").replace("req-n1", "req-inf"),
        base.replace(" 1.502 ", " 1e30 ").replace("req-n1", "req-rt"),
        base.replace('"0.120, 0.130, 1.250"', '"0.120, 1e300, 1.250"').replace("req-n1", "req-u"),
    ]
    (tmp_path / "clean").mkdir()
    _, before = _import(tmp_path / "clean", "n.log", good)  # the fixture's own bad lines
    events, rejected = _import(tmp_path, "ngx.log", [*good, *bad])
    n = len(good)
    reasons = dict(rejected)
    assert reasons[n + 1] == "implausible $msec: 1e20"
    assert reasons[n + 2].startswith("implausible $msec: inf")
    assert reasons[n + 3].startswith("implausible $request_time: 1e")
    assert n + 4 not in reasons  # an absurd upstream time is dropped, the line kept
    assert len(rejected) == len(before) + 3
    assert events >= n - len(before) + 1


def test_envoy_attempt_count_and_duration(tmp_path: Path) -> None:
    good = _good_lines("envoy_access.log")
    base = good[0]
    assert base.endswith(" 3") and " 1500 1480 " in base
    bad = [
        base[:-2] + " 99999999999",
        base[:-2] + " 99999999999999999999999",
        base.replace(" 1500 1480 ", " 999999999999999 1480 "),
        base[:-2] + " 2000",
    ]
    (tmp_path / "clean").mkdir()
    _, before = _import(tmp_path / "clean", "e.log", good)  # the fixture's own bad lines
    events, rejected = _import(tmp_path, "env.log", [*good, *bad])
    n = len(good)
    reasons = dict(rejected)
    assert reasons[n + 1] == "implausible attempt count: 99999999999 (at most 1000)"
    assert reasons[n + 2].startswith("implausible attempt count: 9999")
    assert reasons[n + 3] == "implausible duration: 999999999999999 ms"
    assert reasons[n + 4].startswith("implausible attempt count: 2000")
    assert len(rejected) == len(before) + 4
    assert events == n - len(before)
