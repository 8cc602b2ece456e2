"""`check --workers N` gives the answer of `--workers 1`: same findings, same replay tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from analyzer import store
from analyzer.cli import main
from analyzer.shard import ShardOptions, analyze_sharded
from tests.shard.compare import fingerprints, table_differences
from tests.shard.conftest import checked
from tests.shard.linked_day import APPS, write_linked_day

SUMMARY_KEYS = (
    "events",
    "requests",
    "runners",
    "findings",
    "findings_by_code",
    "findings_by_severity",
    "runners_killed",
    "gpu_seconds",
    "cost_usd",
)


def assert_same(ref: tuple[Path, dict[str, Any]], got: tuple[Path, dict[str, Any]]) -> None:
    (ref_db, ref_doc), (db, doc) = ref, got
    diffs = table_differences(ref_db, db)
    assert {t: d for t, d in diffs.items() if d[2] or d[3] or d[0] != d[1]} == {}
    assert diffs["findings"][0] > 0 and diffs["attempts"][0] > 0  # something was compared
    assert fingerprints(db) == fingerprints(ref_db)
    assert [f["fingerprint"] for f in doc["findings"]] == [
        f["fingerprint"] for f in ref_doc["findings"]
    ]
    for key in SUMMARY_KEYS:
        assert doc["summary"][key] == ref_doc["summary"][key], key


@pytest.mark.parametrize("workers", [2, 3])
def test_sample_same_answer(
    sample_base: Path, sample_reference: Any, tmp_path: Path, workers: int
) -> None:
    got = checked(sample_base, tmp_path, f"w{workers}", "--workers", str(workers))
    assert_same(sample_reference, got)
    shards = got[1]["summary"]["shards"]
    assert len(shards) >= 2  # really sharded
    apps = sorted(a for s in shards for a in s["apps"])
    assert len(apps) == len(set(apps))  # each app in one shard
    assert all(s["seconds"] > 0 and s["events"] > 0 for s in shards)
    assert got[1]["summary"]["sharding"]["workers"] == workers
    assert "shards" not in sample_reference[1]["summary"]  # --workers 1: today's analysis


@pytest.mark.parametrize("workers", [2, 3])
def test_day_same_answer(day_base: Path, day_reference: Any, tmp_path: Path, workers: int) -> None:
    got = checked(day_base, tmp_path, f"w{workers}", "--workers", str(workers))
    assert_same(day_reference, got)
    assert got[1]["summary"]["requests"] == 20000


def test_time_split_of_the_busiest_app(
    sample_base: Path, sample_reference: Any, tmp_path: Path
) -> None:
    """The busiest app cut into time slices (its requests by arrival; a margin and its
    runners' lifecycle as context) gives the answer of one shard. Only it is above the limit
    (more slices of more apps would cost CI time)."""
    db = tmp_path / "split.duckdb"
    db.write_bytes(sample_base.read_bytes())
    con = store.connect(db)
    try:
        (busiest, n), (_, second) = con.execute(
            "SELECT app, count(*) FROM events GROUP BY app ORDER BY 2 DESC LIMIT 2"
        ).fetchall()
        limit = max(second + 100, n * 2 // 3)
        result = analyze_sharded(con, None, ShardOptions(workers=2, max_shard_events=limit))
    finally:
        con.close()
    slices = [s for s in result.summary["shards"] if s["apps"] == [busiest]]
    k = len(slices)
    assert k >= 2 and [s["slice"] for s in slices] == [f"{i}/{k}" for i in range(1, k + 1)]
    assert result.summary["sharding"]["split"] == [busiest]
    assert max(s["events"] for s in slices) <= limit
    ref_con = duckdb.connect(str(sample_reference[0]), read_only=True)
    try:
        ref = ref_con.execute("SELECT count(*) FROM findings WHERE app = ?", [busiest]).fetchall()
    finally:
        ref_con.close()
    # each finding of the app came from exactly one slice, though slices overlap in context
    assert sum(s["findings"] for s in slices) == ref[0][0] > 0
    assert sum(s["events"] for s in slices) > n  # the context: slices share a margin
    diffs = table_differences(sample_reference[0], db)
    assert {t: d for t, d in diffs.items() if d[2] or d[3] or d[0] != d[1]} == {}
    assert fingerprints(db) == fingerprints(sample_reference[0])


def test_bounded_time_slices_of_a_group_linked_through_runners(tmp_path: Path) -> None:
    """Every runner serves every app (the apps are one group), so the group can only be cut by
    time; each slice is bounded (its own requests plus a margin, not its runners' whole lives)
    and the answer is one shard's: runners' clock offsets and rows are the whole day's, a slice
    whose view of a runner differed (a termination inferred in another slice) is run again."""
    logs = tmp_path / "linked.jsonl"
    n = write_linked_day(logs)
    base = tmp_path / "base.duckdb"
    assert main(["import", str(logs), "--db", str(base)]) == 0
    ref = checked(base, tmp_path / "ref", "w1", "--workers", "1")
    limit = int(n * 0.6)  # two slices (three would cost CI time; the sample test has three)
    got = checked(
        base, tmp_path / "split", "w2", "--workers", "2", "--max-shard-events", str(limit)
    )
    summary = got[1]["summary"]
    shards, sharding = summary["shards"], summary["sharding"]
    slices = [s for s in shards if s["slice"]]  # (and runners that never served: no app)
    assert all(s["apps"] == sorted(APPS) for s in slices)  # one group
    assert len(slices) >= 2 and all(s["apps"] == [""] for s in shards if not s["slice"])
    assert max(s["events"] for s in shards) <= limit == sharding["max_shard_events"]
    assert sharding["largest_shard_events"] <= limit
    assert sum(s["events"] for s in shards) > n  # the margins overlap
    assert max(s["events"] for s in slices) < 0.75 * n  # not the runners' whole lives
    assert sharding["reruns_runners"]  # the second round ran
    assert_same(ref, got)
    assert ref[1]["summary"]["findings"] > 0
