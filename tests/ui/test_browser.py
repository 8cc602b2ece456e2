"""The dashboard in a real browser: ``streamlit run app.py`` + Debian's Chromium via Playwright.

``app.py`` is started with no database argument (it must open on the bundled sample). Every
page is visited through the sidebar; the test fails on any exception element, checks that a
finding code (with its rule name) is visible on the overview and that a finding's details
link to its request's timeline, and saves a screenshot of each page plus the render times to
``test-artifacts/dashboard/`` (gitignored).

A missing Chromium is a failure, not a skip (the ``browser`` fixture in conftest.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dashboard_driver import (
    ROOT,
    TITLES,
    click_nav,
    exceptions,
    open_url,
    settle,
    streamlit_server,
)

from analyzer.ui.navigation import PAGES

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def server(sample_db_path: Path, analyzer_cache: Path) -> Iterator[str]:
    env = {"ANALYZER_CACHE_DIR": str(analyzer_cache), "ANALYZER_DB": ""}
    with streamlit_server(env, ARTIFACTS / "streamlit.log") as url:
        yield url


def _finding_with_request(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT finding_id FROM findings WHERE request_id IS NOT NULL "
            "ORDER BY cost_usd DESC NULLS LAST, finding_id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    assert row is not None, "the sample has no finding about a request"
    return int(row[0])


def _shot(page: Any, name: str) -> None:
    page.wait_for_timeout(300)  # let Plotly finish its transitions
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_every_page_in_chromium(server: str, browser: Any, sample_db_path: Path) -> None:
    assert set(TITLES) == {p.key for p in PAGES}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    finding_id = _finding_with_request(sample_db_path)
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    timings: dict[str, Any] = {"first_load_overview": open_url(page, server, "overview")}
    try:
        assert not exceptions(page), exceptions(page)
        code = page.get_by_role("link", name=re.compile(r"\b[SRCL]\d{3} · [a-z]+\."))
        assert code.first.is_visible(), page.locator("body").inner_text()[:3000]
        for spec in (*PAGES[1:], PAGES[0]):
            timings[spec.key] = click_nav(page, spec.key)
            assert not exceptions(page), (spec.key, exceptions(page))
            _shot(page, spec.key)
        # a finding's details are one URL away, and its request's timeline one click further
        page.goto(f"{server}/findings?finding={finding_id}")
        settle(page, "Findings")
        assert page.get_by_text(f"Finding {finding_id}:").first.is_visible()
        _shot(page, "finding-details")
        page.get_by_role("link", name=re.compile("Open the timeline of request")).first.click()
        settle(page, "Request timeline")
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
        assert not exceptions(page), exceptions(page)
        _shot(page, "timeline-from-finding")
    finally:
        context.close()
        (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
