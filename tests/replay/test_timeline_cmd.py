"""`analyzer timeline`: readable table, JSON, unknown request, stale replay rebuilt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.store import connect, get_meta
from tests.replay.helpers import load_jsonl

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "t.duckdb"
    con = connect(path)
    load_jsonl(con, FIXTURES / "retry_503_chain" / "input.jsonl")
    con.close()
    return path


def test_text_timeline(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "q1", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("request q1") and "attempts=3" in lines[0]
    assert "runners_killed=2" in lines[0]
    header = next(line for line in lines if line.startswith("time (UTC)"))
    assert header.split() == ["time", "(UTC)", "elapsed", "lane", "event", "detail"]
    body = lines[lines.index(header) + 1 :]
    assert "request.received" in body[0] and "request.completed" in body[-1]
    assert any("attempt 2 · r2" in line and "handler.error" in line for line in body)
    assert any("ValueError: invalid prompt: empty" in line for line in body)
    # columns are aligned: the lane column starts at the same offset on every row
    col = header.index("lane")
    assert all(line[col - 2 : col] == "  " for line in body)


def test_json_timeline(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "q1", "--db", str(db), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["request_id"] == "q1"
    assert doc["summary"]["outcome"] == "success"
    steps = doc["timeline"]
    assert [s["seq"] for s in steps] == list(range(1, len(steps) + 1))
    assert steps[0]["event"] == "request.received"
    assert all(s["ts"].endswith("Z") for s in steps)
    terminated = [s for s in steps if s["event"] == "runner.terminated"]
    assert [s["runner_id"] for s in terminated] == ["r1", "r2"]


def test_unknown_request_is_one_line_exit_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "nope", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown request: nope" in err[0]


def test_missing_database_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "q1", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "database not found" in capsys.readouterr().err


def test_bad_policy_file_is_exit_2(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text("max_attempts = -1\n")
    assert main(["timeline", "q1", "--db", str(db), "--policy", str(bad)]) == 2
    assert "max_attempts" in capsys.readouterr().err


def test_stale_replay_is_rebuilt(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "q1", "--db", str(db)]) == 0
    con = connect(db)
    before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    assert get_meta(con, "replay_events") == str(before)
    load_jsonl(con, FIXTURES / "oom" / "input.jsonl")  # same ids: q1 gains events
    con.close()
    capsys.readouterr()
    assert main(["timeline", "q1", "--db", str(db)]) == 0
    con = connect(db)
    after = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    assert after > before
    assert get_meta(con, "replay_events") == str(after)
    con.close()


def test_multiline_details_stay_on_one_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "l.jsonl"
    log.write_text(
        '{"ts":1795183391.0,"source":"gateway","event":"request.received","request_id":"m","mode":"queue"}\n'
        '{"ts":1795183391.1,"source":"gateway","event":"attempt.dispatched","request_id":"m","attempt":1,'
        '"runner_id":"r"}\n'
        '{"ts":1795183391.2,"source":"runner","event":"log","request_id":"m","runner_id":"r",'
        '"level":"error","message":"Traceback (most recent call last):\\n  ...\\nKeyError: x"}\n'
    )
    db = tmp_path / "m.duckdb"
    con = connect(db)
    load_jsonl(con, log)
    con.close()
    assert main(["timeline", "m", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    body = lines[lines.index(next(x for x in lines if x.startswith("time (UTC)"))) + 1 :]
    assert len(body) == 3
    assert body[2].endswith("Traceback (most recent call last): ... KeyError: x")
    assert "attempt 1 · r" in body[2]
