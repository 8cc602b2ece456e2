"""One number per fact: the overview, ``check --format json`` and the notebook API agree.

The bundled sample (both folders: ``sample_logs/native`` and ``sample_logs/fal-export``) is
imported and checked by the real CLI into one database. Then:

- ``Analysis.summary()`` (what the notebook and the overview read) has, for every key it
  shares with the JSON document's ``summary``, the same value;
- the overview, drawn by ``streamlit run app.py`` in Debian's Chromium on that database,
  shows each headline number as the JSON summary says it (read from the page's text, and
  compared with the JSON value formatted the way the overview formats it).

Under ``CI=true`` a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from dashboard_driver import CHROMIUM, CHROMIUM_ARGS, ROOT, exceptions, settle, streamlit_server

import analyzer
from analyzer.cli import main
from analyzer.ui import widgets

SAMPLE_FOLDERS = [ROOT / "sample_logs" / "native", ROOT / "sample_logs" / "fal-export"]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The sample (both folders) checked into a database; the JSON document's summary."""
    tmp = tmp_path_factory.mktemp("agree")
    db, out = tmp / "both.duckdb", tmp / "check.json"
    code = main(
        ["check", "--db", str(db), *map(str, SAMPLE_FOLDERS), "--format", "json",
         "--output", str(out)]
    )  # fmt: skip
    assert code == 1  # the sample has error findings
    summary = json.loads(out.read_text())["summary"]
    assert summary["requests"] > 2000 and summary["findings"] > 0
    return db, summary


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        # the JSON rounds GPU-seconds to 3 decimals and dollars to 6
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-3)
    return bool(a == b)


def test_the_api_summary_is_the_check_summary(checked: tuple[Path, dict[str, Any]]) -> None:
    db, js = checked
    api = analyzer.open_db(db).summary()
    shared = sorted(set(api) & set(js) - {"window_start", "window_end"})
    headline = {"requests", "runners", "runners_terminated", "runners_killed", "gpu_seconds",
                "cost_usd", "gpu_seconds_wasted", "usd_wasted", "findings", "success_rate",
                "runners_killed_needlessly"}  # fmt: skip
    assert headline <= set(shared), sorted(headline - set(shared))
    wrong = {k: (api[k], js[k]) for k in shared if not _same(api[k], js[k])}
    assert not wrong, wrong
    # two quantities, two names: every termination is not a kill the findings blame
    assert js["runners_killed"] < js["runners_terminated"]
    assert js["runners_killed_needlessly"] <= js["runners_terminated"]
    # the findings' GPU time is the part of all the waste their attempts account for
    assert 0 < js["gpu_seconds"] <= js["gpu_seconds_wasted"]
    assert 0 < js["cost_usd"] <= js["usd_wasted"]


def _overview_metrics(db: Path) -> dict[str, str]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    env = {"ANALYZER_DB": str(db), "ANALYZER_UI_WARM": "0"}
    with streamlit_server(env, ARTIFACTS / "streamlit-agree.log") as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1600, "height": 1400}).new_page()
            page.goto(url)
            settle(page, "Incident overview", timeout_ms=180_000)  # the machine may be busy
            assert not exceptions(page), exceptions(page)
            metrics = page.locator('[data-testid="stMetric"]')
            shown = {}
            for i in range(metrics.count()):
                label = metrics.nth(i).locator('[data-testid="stMetricLabel"]').inner_text()
                value = metrics.nth(i).locator('[data-testid="stMetricValue"]').inner_text()
                shown[label.strip()] = value.strip()
        finally:
            browser.close()
    return shown


def test_the_overview_in_chromium_shows_the_check_summary(
    checked: tuple[Path, dict[str, Any]],
) -> None:
    db, js = checked
    shown = _overview_metrics(db)
    expected = {
        "Requests": f"{js['requests']:,}",
        "Success rate": widgets.percent(js["success_rate"]),
        "Runners": f"{js['runners']:,}",
        "Runners terminated": f"{js['runners_terminated']:,}",
        "GPU time wasted": widgets.gpu_seconds(js["gpu_seconds_wasted"]),
        "Money wasted": widgets.usd(js["usd_wasted"]),
        "Findings: errors": f"{js['findings_by_severity']['error']:,}",
        "Findings: warnings": f"{js['findings_by_severity']['warning']:,}",
        "Findings: info": f"{js['findings_by_severity']['info']:,}",
        "Runners killed (findings)": f"{js['runners_killed']:,}",
        "GPU time (findings)": widgets.gpu_seconds(js["gpu_seconds"]),
        "Cost (findings)": widgets.usd(js["cost_usd"]),
        "Attempts": f"{js['attempts']:,}",
        "Cold-start time": widgets.seconds(js["cold_start_seconds"]),
        "Runners failing setup": f"{js['runners_setup_failed']:,}",
        "Runners killed needlessly": f"{js['runners_killed_needlessly']:,}",
        "Rejected log lines": f"{js['rejected_lines']:,}",
    }
    wrong = {k: (shown.get(k), v) for k, v in expected.items() if shown.get(k) != v}
    assert not wrong, f"overview vs check JSON (shown, expected): {wrong}; all shown: {shown}"
