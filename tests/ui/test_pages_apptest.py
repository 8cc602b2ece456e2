"""AppTest smoke tests: every page renders without an exception, with its key elements."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from analyzer.ui import startup
from analyzer.ui.navigation import PAGES

SCRIPT = "from analyzer.ui.navigation import run\nrun(default={page!r})\n"


@pytest.fixture
def on_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    def use(path: Path) -> None:
        monkeypatch.setenv("ANALYZER_DB", str(path))

    yield use


def render(page: str, params: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_string(SCRIPT.format(page=page), default_timeout=60)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for e in (*at.title, *at.subheader, *at.caption, *at.markdown, *at.text, *at.info, *at.code)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


# (page, query params, what a newcomer must see) on the hand-made database
EXPECTED = {
    "overview": (
        {},
        [
            "Incident overview",
            "Top findings by cost",
            "Requests 3",
            "Runners terminated 3",
            "status_503 × 3",
            "Money wasted",
        ],
    ),
    "findings": ({"finding": "1"}, ["Finding 1", "retry", "Evidence", "Runners killed 3"]),
    "timeline": (
        {"request": "req-poison"},
        ["Request timeline", "Attempts", "Events, in causal order", "Outcome failed"],
    ),
    "runners": ({}, ["Runners", "Cold starts by app", "Which requests killed which runners"]),
    "cancellations": ({}, ["Cancellations", "Cancels not forwarded 1", "By app and endpoint"]),
    "retries": ({}, ["Retries", "Poison requests", "Retry chains"]),
    "import": ({}, ["Import", "What this database holds", "not JSON"]),
}


def test_every_page_is_tested() -> None:
    assert set(EXPECTED) == {p.key for p in PAGES}


@pytest.mark.parametrize("page", list(EXPECTED))
def test_page_renders_on_known_data(page: str, fake_db_path: Path, on_db) -> None:  # type: ignore[no-untyped-def]
    on_db(fake_db_path)
    params, wanted = EXPECTED[page]
    at = render(page, params)
    shown = texts(at)
    if page == "import":
        shown += "\n".join(str(df.value.to_dict()) for df in at.dataframe)
    for piece in wanted:
        assert piece in shown, (piece, shown[:2000])
    assert [m for m in at.sidebar.multiselect if m.label == "Apps"]


def test_charts_and_tables_are_present(fake_db_path: Path, on_db) -> None:  # type: ignore[no-untyped-def]
    on_db(fake_db_path)
    at = render("overview")
    assert len(at.get("plotly_chart")) == 3
    links = at.get("page_link")
    labels = [link.proto.label for link in links]
    assert (
        labels[0].startswith("**\\$0.01** · R001 · retry.poison-request") and "(error)" in labels[0]
    )
    assert links[0].proto.page.endswith("findings") and "finding=1" in links[0].proto.query_string
    assert labels[1] == "timeline" and "request=req-poison" in links[1].proto.query_string


def test_log_text_is_shown_as_text_not_html(fake_db_path: Path, on_db) -> None:  # type: ignore[no-untyped-def]
    on_db(fake_db_path)
    at = render("findings", {"finding": "2"})
    assert any(c.value == "503 for ValueError <script>alert(1)</script>" for c in at.code)
    assert all("<script>" not in m.value for m in at.markdown)


def test_empty_states_say_what_to_do(fake_db_path: Path, on_db) -> None:  # type: ignore[no-untyped-def]
    on_db(fake_db_path)
    at = render("timeline")
    assert "Type a request id" in texts(at)
    at = render("timeline", {"request": "no-such-request"})
    assert "No request with this id" in at.warning[0].value
    at = render("findings")
    assert "Select a finding" in texts(at)


def test_unknown_database_is_an_error_message_not_a_traceback(
    tmp_path: Path,
    on_db,  # type: ignore[no-untyped-def]
) -> None:
    on_db(tmp_path / "missing.duckdb")
    at = AppTest.from_string(SCRIPT.format(page="overview"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("database not found" in e.value for e in at.error)


def test_app_py_opens_on_the_sample(sample_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py's ``st.App`` runs the pages script, which opens on the bundled sample."""
    monkeypatch.delenv("ANALYZER_DB", raising=False)
    root = Path(__file__).resolve().parents[2]
    namespace: dict[str, object] = {}
    exec(compile((root / "app.py").read_text(), "app.py", "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, st.App) and str(app.script_path) == startup.PAGES_SCRIPT
    at = AppTest.from_file(startup.PAGES_SCRIPT, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Incident overview"
    labels = [link.proto.label for link in at.get("page_link")]
    assert any(re.search(r"[SRCL]\d{3} · [a-z]+\.", label) for label in labels), labels


def test_warming_covers_every_page_default_query(
    fake_db_path: Path,
    on_db,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """Each page's unfiltered queries are among those warmed when the database opens."""
    from analyzer.api import queries
    from analyzer.ui import data, warm

    on_db(fake_db_path)
    seen: list[tuple[object, tuple[object, ...], dict[str, object]]] = []
    real = data.run_on

    def record(path: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((fn, args, kwargs))
        return real(path, fn, *args, **kwargs)

    monkeypatch.setattr(data, "run_on", record)
    for page in EXPECTED:
        render(page)
    per_item = {queries.request, queries.timeline, queries.attempts, queries.raw_events,
                queries.finding, queries.evidence}  # fmt: skip
    wanted = [c for c in seen if c[0] not in per_item and "request_id" not in c[2]]
    warmed = warm.default_calls()
    missing = [(fn.__name__, a, k) for fn, a, k in wanted if (fn, a, k) not in warmed]  # type: ignore[attr-defined]
    assert wanted and not missing, missing


def test_sidebar_app_filter_applies_to_the_page(fake_db_path: Path, on_db) -> None:  # type: ignore[no-untyped-def]
    on_db(fake_db_path)
    at = render("overview")
    apps = next(m for m in at.sidebar.multiselect if m.label == "Apps")
    apps.set_value(["acme/llm"]).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Requests"] == "2" and metrics["Runners terminated"] == "0"
