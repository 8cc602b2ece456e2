"""The dashboard in a real browser: ``streamlit run app.py`` + Debian's Chromium via Playwright.

Visits every page, fails on any exception element, checks that a finding code (with its
name) is visible on the overview and that a finding links to its request's timeline, and
saves a screenshot of each page (and the first-render times) to ``test-artifacts/dashboard``.

Under ``CI=true`` a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from analyzer.ui.navigation import PAGES

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TITLES = {
    "overview": "Incident overview",
    "findings": "Findings",
    "timeline": "Request timeline",
    "runners": "Runners",
    "cancellations": "Cancellations",
    "retries": "Retries",
    "import": "Import",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def server(sample_db_path: Path, analyzer_cache: Path) -> Iterator[str]:
    """``streamlit run app.py`` with no database argument: it must open on the sample."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "ANALYZER_DB"}
    env["ANALYZER_CACHE_DIR"] = str(analyzer_cache)
    log = ARTIFACTS / "streamlit.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (install Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def _settle(page: object, title: str, timeout_ms: int = 30_000) -> None:
    """Wait for the page's title, then for Streamlit to finish running the script."""
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=timeout_ms)  # type: ignore[attr-defined]
    page.locator(  # type: ignore[attr-defined]
        '[data-testid="stApp"][data-test-script-state="notRunning"]'
    ).wait_for(timeout=timeout_ms)
    # elements whose code is still loading show as skeletons: the page is not drawn yet
    page.wait_for_function(  # type: ignore[attr-defined]
        '() => !document.querySelector(\'[data-testid^="stSkeleton"], '
        '[data-testid="stAppSkeleton"]\')',
        timeout=timeout_ms,
    )


def visit(page: object, url: str, key: str) -> float:
    """Open a page, wait for its first complete render, screenshot it; the seconds taken."""
    started = time.perf_counter()
    page.goto(url)  # type: ignore[attr-defined]
    _settle(page, TITLES[key])
    elapsed = time.perf_counter() - started
    page.wait_for_timeout(300)  # let Plotly finish drawing before the screenshot  # type: ignore[attr-defined]
    page.screenshot(path=str(ARTIFACTS / f"{key}.png"), full_page=True)  # type: ignore[attr-defined]
    exceptions = page.locator('[data-testid="stException"]')  # type: ignore[attr-defined]
    assert exceptions.count() == 0, exceptions.first.inner_text()
    return elapsed


def _finding_with_request(db: Path) -> int:
    import duckdb

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


def test_every_page_in_chromium(server: str, browser: object, sample_db_path: Path) -> None:
    assert set(TITLES) == {p.key for p in PAGES}
    finding_id = _finding_with_request(sample_db_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    timings: dict[str, float] = {}
    try:
        for spec in PAGES:
            path = "" if spec.key == "overview" else spec.key
            timings[spec.key] = visit(page, f"{server}/{path}", spec.key)
            if spec.key == "overview":
                code = page.get_by_role("link", name=re.compile(r"\b[SRCL]\d{3} · [a-z]+\."))
                assert code.first.is_visible(), page.locator("body").inner_text()[:3000]
        # a finding is one click from its request's timeline
        page.goto(f"{server}/findings?finding={finding_id}")
        _settle(page, "Findings")
        page.screenshot(path=str(ARTIFACTS / "finding-details.png"), full_page=True)
        link = page.get_by_role("link", name=re.compile("Open the timeline of request"))
        link.first.click()
        _settle(page, "Request timeline")
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
        assert page.locator('[data-testid="stException"]').count() == 0
        page.screenshot(path=str(ARTIFACTS / "timeline-from-finding.png"), full_page=True)
    finally:
        context.close()
        (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
