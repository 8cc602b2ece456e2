"""Incremental replay: after an append only the apps whose events changed are replayed, and the
tables are the same as a full replay of everything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analyzer.importers import import_paths
from analyzer.replay import build, incremental
from analyzer.replay.schema import REPLAY_TABLES, SCOPE_TABLE
from analyzer.store import connect
from tests.replay.relation_fixtures import same

CASES = Path(__file__).resolve().parent / "fixtures"
IDS = ("request_id", "runner_id", "child_id", "resource_id")


def case_lines(case: str, app: str, *, runner_prefix: str | None = None) -> list[dict[str, Any]]:
    """A golden case's events as app ``app``, its ids prefixed so cases do not collide."""
    out = []
    for line in (CASES / case / "input.jsonl").read_text().splitlines():
        ev = json.loads(line)
        for k in IDS:
            if ev.get(k) is not None:
                prefix = runner_prefix if k == "runner_id" and runner_prefix else case
                ev[k] = f"{prefix}-{ev[k]}"
        ev["app"] = app
        out.append(ev)
    return out


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    out = {}
    for name in [*REPLAY_TABLES, SCOPE_TABLE]:
        rows = con.execute(f"SELECT to_json(t) FROM (SELECT * FROM {name} ORDER BY ALL) t")
        out[name] = [json.loads(r[0]) for r in rows.fetchall()]
    return out


def assert_same_tables(a: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection) -> None:
    ta, tb = tables(a), tables(b)
    for name in ta:
        assert len(ta[name]) == len(tb[name]), name
        for x, y in zip(ta[name], tb[name], strict=True):
            assert same(x, y), f"{name}: {x} != {y}"


def scenario(tmp_path: Path, *, share_runner: bool) -> tuple[list[Path], list[Path]]:
    """Day 1: six apps; then an append: more events of one app and a new app."""
    chain = case_lines("retry_503_chain", "acme/chain")
    half = len(chain) // 2
    day1 = [
        write(tmp_path / "a.jsonl", case_lines("skewed_clocks", "acme/clock")),
        write(tmp_path / "b.jsonl", case_lines("cancel_orphaned_child", "acme/child")),
        write(tmp_path / "c1.jsonl", chain[:half]),
        write(tmp_path / "e.jsonl", case_lines("timeout_loop", "acme/timeout")),
        write(tmp_path / "f.jsonl", case_lines("cancel_resource_leak", "acme/leak")),
        write(tmp_path / "g.jsonl", case_lines("kept_serving", "acme/kept")),
    ]
    newcomer = case_lines(
        "missing_termination", "beta/new", runner_prefix="skewed_clocks" if share_runner else None
    )
    append = [write(tmp_path / "c2.jsonl", chain[half:]), write(tmp_path / "d.jsonl", newcomer)]
    return day1, append


def test_append_replays_only_the_changed_apps_with_the_same_tables(tmp_path: Path) -> None:
    day1, append = scenario(tmp_path, share_runner=False)
    con = connect(tmp_path / "incr.duckdb")
    import_paths(con, day1)
    first = build(con)
    assert first.apps_replayed is None  # nothing replayed before: everything
    import_paths(con, append)
    second = build(con)
    assert second.apps_replayed == ("acme/chain", "beta/new")
    full = connect(tmp_path / "full.duckdb")
    import_paths(full, [*day1, *append])
    assert build(full).apps_replayed is None
    assert_same_tables(con, full)
    # the kept apps' rows are untouched, the replayed ones complete
    assert con.execute(
        "SELECT count(DISTINCT app) FROM requests WHERE app IN ('acme/clock', 'acme/child')"
    ).fetchall() == [(2,)]
    # nothing changed: nothing replayed, tables as they were
    assert build(con).apps_replayed == ()
    assert_same_tables(con, full)


def test_an_app_sharing_a_runner_with_a_changed_one_is_replayed_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(incremental, "MAX_SHARE", 0.9)  # most events are in scope here
    day1, append = scenario(tmp_path, share_runner=True)
    con = connect(tmp_path / "incr.duckdb")
    import_paths(con, day1)
    build(con)
    import_paths(con, append)
    report = build(con)
    assert report.apps_replayed == ("acme/chain", "acme/clock", "beta/new")
    monkeypatch.setattr(incremental, "MAX_SHARE", 0.1)  # ... and above the share: everything
    import_paths(con, [write(tmp_path / "h.jsonl", case_lines("clean", "acme/chain"))])
    assert build(con).apps_replayed is None
    append.append(tmp_path / "h.jsonl")
    full = connect(tmp_path / "full.duckdb")
    import_paths(full, [*day1, *append])
    build(full)
    assert_same_tables(con, full)


def test_another_policy_replays_everything(tmp_path: Path) -> None:
    from analyzer.replay.policy import default_policy

    day1, append = scenario(tmp_path, share_runner=False)
    con = connect(tmp_path / "incr.duckdb")
    import_paths(con, [*day1, *append])
    build(con)
    other = default_policy().model_copy(update={"max_attempts": 3})
    assert build(con, other).apps_replayed is None
    assert build(con, other).apps_replayed == ()
