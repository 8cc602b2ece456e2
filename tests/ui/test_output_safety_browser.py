"""Log text cannot take over the dashboard (issue 17, point 7): a real server, real Chromium.

The hostile log's request and runner ids carry ``<a href>`` and ``<span style=font-size>``
markup and a right-to-left override. On the request's timeline and on the Runners page the
charts must show that text as written: no link to the attacker's site, no giant text, no raw
bidi control anywhere in the page's text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hostile
import pytest
from dashboard_driver import ROOT, exceptions, open_url, streamlit_server

from analyzer.api.database import build_database

ARTIFACTS = ROOT / "test-artifacts" / "output-safety"

_CHART_FACTS = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
  const all = charts.flatMap(c => [...c.querySelectorAll('*')]);
  return {
    charts: charts.length,
    text: charts.map(c => c.textContent).join('\\n'),
    links: all.filter(e => e.localName === 'a').map(e =>
      e.getAttribute('href') || e.getAttribute('xlink:href') || ''),
    big: all.filter(e => parseFloat(getComputedStyle(e).fontSize) > 60).length,
    body: document.body.innerText,
  };
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, analyzer_cache: Path) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("hostile")
    db = build_database([hostile.write(folder / "logs")], folder / "hostile.duckdb")
    env = {"ANALYZER_DB": str(db), "ANALYZER_CACHE_DIR": str(analyzer_cache)}
    with streamlit_server(env, ARTIFACTS / "streamlit.log") as url:
        yield url


def _facts(page: Any) -> dict[str, Any]:
    page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg', timeout=60_000)
    page.wait_for_timeout(500)  # Plotly draws its text after the first frame
    facts: dict[str, Any] = page.evaluate(_CHART_FACTS)
    return facts


@pytest.mark.parametrize(
    ("path", "key", "shown"),
    [
        (f"timeline?request={quote(hostile.REQUEST, safe='')}", "timeline", "click</a>"),
        ("runners", "runners", "HUGE</span>"),
    ],
)
def test_chart_text_is_shown_not_rendered(
    server: str, browser: Any, path: str, key: str, shown: str
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    try:
        page = context.new_page()
        open_url(page, f"{server}/{path}", key)
        assert not exceptions(page), exceptions(page)
        facts = _facts(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{key}.png"), full_page=True)
        assert facts["charts"] >= 1
        assert shown in facts["text"], facts["text"][:2000]  # the markup, as text
        assert not [h for h in facts["links"] if "evil.example" in h], facts["links"]
        assert facts["big"] == 0, "log text set a huge font"
        assert "[U+202E]" in facts["text"]
        assert "\u202e" not in facts["text"] and "\u202e" not in facts["body"]
    finally:
        context.close()
