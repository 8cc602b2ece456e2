"""Each API function on the sample incident, through the real pipeline (import, replay, rules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.api import aggregates, database, figures, queries
from analyzer.api.filters import Filters

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def a(sample_db_path: Path) -> analyzer.Analysis:
    sample = analyzer.open_db()  # None: the cached sample, which the fixture already built
    assert sample.path == sample_db_path
    return sample


@pytest.fixture(scope="module")
def poison_id(a: analyzer.Analysis) -> str:
    found = a.findings(code="R001", order="cost")
    assert not found.empty, "the sample incident has poison requests"
    return str(found["request_id"].iloc[0])


def test_summary(a: analyzer.Analysis) -> None:
    s = a.summary()
    assert s["requests"] > 1000 and 0.5 < s["success_rate"] < 1
    assert s["runners_killed"] > 0 and s["findings"] > 0
    assert 0 < s["runners_killed"] <= s["runners_terminated"]
    # money wasted is the replay's per-attempt price, summed (no flat price of its own)
    priced = a.sql("SELECT sum(wasted_usd) AS usd FROM attempts")["usd"].iloc[0]
    assert s["usd_wasted"] == pytest.approx(priced) and s["usd_wasted"] > 0
    assert sum(s["outcomes"].values()) == s["requests"]
    app = a.requests()["app"].iloc[0]
    assert 0 < a.summary(app=app)["requests"] < s["requests"]


def test_findings_have_names_and_filters_work(a: analyzer.Analysis) -> None:
    f = a.findings()
    assert f["name"].notna().all() and set(f["severity"]) <= {"error", "warning", "info"}
    errors = a.findings(severity="error")
    assert len(errors) == (f["severity"] == "error").sum()
    costly = a.findings(order="cost")["cost_usd"].fillna(0).tolist()
    assert costly == sorted(costly, reverse=True)
    mid = f["ts"].dropna().sort_values().iloc[len(f) // 2]
    assert len(a.findings(since=mid)) + len(a.findings(until=mid)) == f["ts"].notna().sum()


def test_requests_attempts_timeline(a: analyzer.Analysis, poison_id: str) -> None:
    req = a.request(poison_id)
    assert req is not None and req["attempts"] >= 3
    att = a.attempts(poison_id)
    assert len(att) == req["attempts"] and att["runner_id"].nunique() >= 3
    tl = a.timeline(poison_id)
    assert tl["seq"].tolist() == list(range(1, len(tl) + 1))
    assert (tl["lane_kind"] == "runner").any() and (tl["lane"] == "gateway").any()
    assert len(a.requests(outcome="failed")) == a.summary()["outcomes"].get("failed", 0)


def test_runners_and_cancellations(a: analyzer.Analysis) -> None:
    runners = a.runners()
    assert len(runners) == a.summary()["runners"]
    assert (runners["end_kind"] == "terminated").sum() == a.summary()["runners_terminated"]
    canc = a.cancellations()
    assert not canc.empty and set(canc["kind"]) <= {"cancel", "disconnect"}
    leaks = a.leaks_by_endpoint()
    assert leaks["cancellations"].sum() == len(canc)


def test_evidence_points_at_files_and_lines(a: analyzer.Analysis) -> None:
    fid = int(a.findings(order="cost")["finding_id"].iloc[0])
    item = a.finding(fid)
    assert item is not None and item["evidence"]
    ev = a.evidence(fid)
    assert not ev.empty and ev["line_no"].min() >= 1
    assert all(Path(f).name.endswith(".jsonl") for f in ev["file"])


def test_sql_with_parameters(a: analyzer.Analysis, poison_id: str) -> None:
    df = a.sql("SELECT count(*) AS n FROM attempts WHERE request_id = ?", [poison_id])
    assert df["n"].iloc[0] == len(a.attempts(poison_id))


def test_figures(a: analyzer.Analysis, poison_id: str) -> None:
    fig = a.timeline_figure(poison_id)
    lanes = list(fig.layout.yaxis.categoryarray)
    assert lanes[-1] == "gateway" and sum(lane.startswith("attempt") for lane in lanes) >= 3
    assert any(t.name == "runner terminated" for t in fig.data)
    for fig in (
        a.runners_figure(),
        a.findings_over_time_figure(),
        a.requests_over_time_figure(),
        a.terminations_over_time_figure(),
        figures.findings_by_rule_figure(aggregates.findings_by_rule(a.con)),
        figures.propagation_figure(a.cancellations()),
        figures.attempts_figure(aggregates.attempts_per_request(a.con)),
    ):
        assert fig.data and fig.layout.title.text and fig.layout.xaxis.title.text


def test_aggregates_agree_with_tables(a: analyzer.Analysis) -> None:
    con = a.con
    dist = aggregates.attempts_per_request(con)
    assert dist["requests"].sum() == a.summary()["requests"]
    chains = aggregates.retry_chains(con, limit=5)
    assert (chains["attempts"] > 1).all() and chains["chain"].str.contains("→").all()
    kills = aggregates.kills_by_request(con)
    assert kills["runners_killed"].sum() == a.runners()["killed_by_request_id"].notna().sum()
    over = aggregates.requests_over_time(con, Filters())
    assert over["n"].sum() == a.summary()["requests"]
    assert queries.distinct_values(con, "findings", "code") == sorted(set(a.findings()["code"]))


def test_load_imports_into_a_new_database(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    shutil.copytree(database.sample_logs_dir(), logs)
    target = tmp_path / "incident.duckdb"
    loaded = analyzer.load(logs, db=target)
    try:
        assert loaded.path == target and loaded.summary()["findings"] > 0
        imported = loaded.sql("SELECT count(*) AS n FROM imports")["n"].iloc[0]
        assert imported == len([p for p in logs.iterdir() if not p.name.startswith("_")])
    finally:
        loaded.close()
    reopened = analyzer.open_db(target)  # already analysed: opens read-only at once
    assert isinstance(reopened.findings(), pd.DataFrame)
    reopened.close()


def test_the_sample_cache_follows_the_sample_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logs = tmp_path / "native"
    shutil.copytree(database.sample_logs_dir(), logs)
    monkeypatch.setenv("ANALYZER_SAMPLE_LOGS", str(logs))
    before = database.sample_db_path(build=False)
    with (logs / "gateway.jsonl").open("a") as f:
        f.write("\n")
    assert database.sample_db_path(build=False) != before


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(analyzer.api.database.InputNotFoundError, match="database not found"):
        analyzer.open_db(tmp_path / "nope.duckdb")


def test_load_without_db_uses_a_temporary_database_removed_on_close() -> None:
    one_file = next(database.sample_logs_dir().glob("runner-*.jsonl"))
    loaded = analyzer.load(one_file)
    assert loaded.path is not None and loaded.path.exists()
    assert loaded.sql("SELECT count(*) AS n FROM events")["n"].iloc[0] > 0
    loaded.close()
    assert not loaded.path.parent.exists()


def test_a_cancelled_request_timeline_marks_the_cancel(a: analyzer.Analysis) -> None:
    canc = a.cancellations()
    forwarded = canc[canc["forwarded_at"].notna() & canc["received_at"].notna()]
    assert not forwarded.empty, "the sample has cancels that reached a runner"
    fig = a.timeline_figure(str(forwarded["request_id"].iloc[0]))
    names = {t.name for t in fig.data}
    assert {"cancel requested", "cancel forwarded", "cancel received"} <= names, names


def test_cancellation_aggregates_agree_with_the_rows(a: analyzer.Analysis) -> None:
    """The Cancellations page's SQL aggregates say what its rows say (it no longer loads them)."""
    canc = a.cancellations()
    assert len(canc) > 10, "the sample has cancellations"
    assert not aggregates.propagation_histogram(a.con).empty
    apps = canc["app"].dropna().unique().tolist()
    for f in (Filters(), *(Filters(app=str(app)) for app in apps)):
        rows = queries.cancellations(a.con, f)
        tot = aggregates.cancellation_totals(a.con, f)
        assert tot["cancellations"] == len(rows)
        not_fwd = int(((rows["kind"] == "cancel") & rows["forwarded_at"].isna()).sum())
        assert tot["not_forwarded"] == not_fwd
        median = rows["propagation_s"].median()
        if pd.isna(median):
            assert tot["median_propagation_s"] is None
        else:
            assert tot["median_propagation_s"] == pytest.approx(median)
        assert tot["wasted_gpu_seconds"] == pytest.approx(rows["wasted_gpu_seconds"].sum())
        assert tot["leaked_child_seconds"] == pytest.approx(rows["leaked_child_seconds"].sum())
        hist = aggregates.propagation_histogram(a.con, f)
        assert hist["n"].sum() == rows["propagation_s"].notna().sum()
        if hist.empty:
            continue
        assert len(hist) <= aggregates.PROPAGATION_BINS
        assert (hist["lo"] < hist["hi"]).all()
        # binned in SQL and binned from the rows: the same bars
        drawn = figures.propagation_figure(rows).data[0].y
        assert list(drawn) == list(figures.propagation_histogram_figure(hist).data[0].y)
        worst = aggregates.worst_cancellations(a.con, f, limit=5)
        top = rows.sort_values("wasted_gpu_seconds", ascending=False, na_position="last")
        assert worst["wasted_gpu_seconds"].tolist() == top["wasted_gpu_seconds"].head(5).tolist()


def test_findings_without_evidence_are_the_same_rows(a: analyzer.Analysis) -> None:
    full = queries.findings(a.con, order="severity", limit=50)
    slim = queries.findings(a.con, order="severity", limit=50, evidence=False)
    assert "evidence" in full and "evidence" not in slim and len(slim) == len(full) > 0
    pd.testing.assert_frame_equal(slim, full.drop(columns=["evidence"]))
