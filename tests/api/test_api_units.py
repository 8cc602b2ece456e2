"""The API on a small hand-made database (known rows, so exact numbers can be asserted)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.api import aggregates, figures, queries
from analyzer.api.filters import Filters, where_clause
from analyzer.api.rules_info import rule_doc, rule_label


@pytest.fixture(scope="module")
def fake(fake_db_path: Path) -> analyzer.Analysis:
    return analyzer.open_db(fake_db_path)


def test_filters_are_parameters_never_text() -> None:
    f = Filters.of(
        app="x'); DROP TABLE findings; --",
        severity=["error", "warning"],
        since="2026-11-20T14:00:00",
    )
    sql, params = where_clause(f, time_column="ts", columns={"app", "severity"})
    assert "DROP" not in sql and sql.count("?") == 4
    assert params[0] == "x'); DROP TABLE findings; --"
    assert params[-1] == datetime(2026, 11, 20, 14, tzinfo=UTC)


def test_a_filter_a_table_cannot_honour_is_an_error() -> None:
    with pytest.raises(ValueError, match="code"):
        where_clause(Filters.of(code="S001"), time_column=None, columns={"app"})


def test_findings_filters_and_orders(fake: analyzer.Analysis) -> None:
    assert fake.findings(order="cost")["finding_id"].tolist() == [1, 3, 2]
    assert fake.findings(code="S001")["finding_id"].tolist() == [2]
    assert set(fake.findings(app="acme/llm")["code"]) == {"C001"}
    assert fake.findings(app="x'; --").empty
    assert fake.findings(request_id="req-poison", order="time")["code"].tolist() == ["S001", "R001"]
    assert fake.findings(since="2026-11-20T14:00:30", until="2026-11-20T14:00:40")[
        "code"
    ].tolist() == ["R001"]


def test_requests_attempts_runners_cancellations(fake: analyzer.Analysis) -> None:
    assert fake.requests()["request_id"].tolist() == ["req-poison", "req-cancel", "req-ok"]
    assert fake.requests(outcome="success")["request_id"].tolist() == ["req-ok"]
    assert fake.attempts("req-poison")["attempt"].tolist() == [1, 2, 3]
    assert len(fake.runners(app="acme/sdxl")) == 3
    assert fake.cancellations(endpoint="/generate")["propagation_s"].tolist() == [14.0]
    assert fake.request("nope") is None and fake.request("req-ok")["final_status"] == 200


def test_summary_numbers(fake: analyzer.Analysis) -> None:
    s = fake.summary()
    assert s["requests"] == 3 and s["success_rate"] == pytest.approx(1 / 3)
    assert s["runners_terminated"] == 3 and s["terminations_by_reason"] == {"status_503": 3}
    assert s["findings_by_severity"] == {"error": 3, "warning": 0, "info": 0}
    assert s["rejected_lines"] == 1
    wasted_usd = fake.sql("SELECT sum(wasted_usd) AS usd FROM requests")["usd"].iloc[0]
    assert s["usd_wasted"] == pytest.approx(wasted_usd) and s["usd_wasted"] > 0
    assert fake.summary(app="acme/llm")["requests"] == 2


def test_evidence_keeps_log_text_verbatim(fake: analyzer.Analysis) -> None:
    item = fake.finding(2)
    assert item is not None and item["message"] == "503 for ValueError <script>alert(1)</script>"
    assert [e["line"] for e in item["evidence"]] == [2, 3]
    ev = fake.evidence(1)
    assert ev["line_no"].tolist() == [2, 3, 4, 5] and set(ev["file"]) == {"gateway.jsonl"}


def test_sql_binds_parameters(fake: analyzer.Analysis) -> None:
    df = fake.sql("SELECT count(*) AS n FROM requests WHERE app = ?", ["acme/llm"])
    assert df["n"].tolist() == [2]
    df = fake.sql("SELECT count(*) AS n FROM findings WHERE severity = $s", {"s": "error"})
    assert df["n"].tolist() == [3]


def test_aggregates(fake: analyzer.Analysis) -> None:
    chains = aggregates.retry_chains(fake.con)
    assert chains["chain"].tolist() == ["503 → 503 → 503"]
    kills = aggregates.kills_by_request(fake.con)
    assert kills["runners_killed"].tolist() == [3]
    assert aggregates.poison_requests(fake.con)["request_id"].tolist() == ["req-poison"]
    leaks = fake.leaks_by_endpoint()
    assert leaks[["not_forwarded", "leaked_child_seconds"]].values.tolist() == [[1, 6.0]]
    over = aggregates.requests_over_time(fake.con)
    assert over["n"].sum() == 3 and over.attrs["bucket_seconds"] == 1


def test_timeline_figure_lanes_markers_deadline(fake: analyzer.Analysis) -> None:
    fig = fake.timeline_figure("req-poison")
    assert "req-poison" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "time (UTC)" and fig.layout.yaxis.title.text == "lane"
    lanes = list(fig.layout.yaxis.categoryarray)[::-1]
    assert lanes == ["gateway", "attempt 1 · run-1", "attempt 2 · run-2", "attempt 3 · run-3"]
    names = {t.name for t in fig.data}
    assert {"runner terminated", "handler error"} <= names
    assert any(a.text == "caller's deadline" for a in fig.layout.annotations)


def test_other_figures_are_titled_with_axes(fake: analyzer.Analysis) -> None:
    con = fake.con
    figs = [
        fake.runners_figure(),
        fake.findings_over_time_figure(),
        fake.requests_over_time_figure(),
        fake.terminations_over_time_figure(),
        figures.propagation_figure(fake.cancellations()),
        figures.leaks_figure(fake.leaks_by_endpoint()),
        figures.attempts_figure(aggregates.attempts_per_request(con)),
    ]
    for fig in figs:
        assert fig.layout.title.text and fig.data, fig.layout.title.text
        assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
    assert "per" in figs[2].layout.yaxis.title.text  # "requests per <bucket>"


def test_empty_inputs_give_explained_empty_figures() -> None:
    fig = figures.timeline_figure(pd.DataFrame(columns=["lane", "ts", "event"]))
    assert fig.layout.annotations[0].text == "No events for this request"
    fig = figures.runners_figure(pd.DataFrame())
    assert "No runners" in fig.layout.annotations[0].text


def test_rule_labels_always_carry_names() -> None:
    assert rule_label("S001") == "S001 · status.503-for-ordinary-error"
    assert rule_label("C003", "cancel.orphaned-child-work").startswith("C003 · cancel.")
    doc = rule_doc("R001")
    assert doc.name == "retry.poison-request" and doc.docs


def test_lazy_public_api() -> None:
    assert analyzer.__version__
    assert callable(analyzer.open_db) and callable(analyzer.load)
    with pytest.raises(AttributeError):
        _ = analyzer.no_such_thing  # type: ignore[attr-defined]


def test_bucket_width_is_round() -> None:
    t0 = pd.Timestamp("2026-11-20T14:00Z")
    assert aggregates.bucket_seconds(t0, t0 + pd.Timedelta(minutes=30)) == 30
    assert aggregates.bucket_seconds(t0, t0 + pd.Timedelta(hours=5)) == 300
    assert aggregates.bucket_seconds(None, None) == 60
    assert queries.TABLES["findings"][0] == "ts"
