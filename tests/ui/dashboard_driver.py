"""Drive the real dashboard: start ``streamlit run app.py``, open pages in Chromium, time them.

Used by ``test_browser.py``, ``measure_pages.py`` (the timings in docs/performance.md) and
``benchmarks/dashboard.py`` (first renders, large vs small database).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
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
    "overview": ("Overview", "Incident overview"),
    "findings": ("Findings", "Findings"),
    "timeline": ("Request timeline", "Request timeline"),
    "runners": ("Runners", "Runners"),
    "cancellations": ("Cancellations", "Cancellations"),
    "retries": ("Retries", "Retries"),
    "import": ("Import", "Import"),
}
"""page key -> (navigation label, page heading)"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
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


def streamlit_argv(script: Path, port: int, *extra: str) -> list[str]:
    """``streamlit run SCRIPT`` headless on ``port``, without usage stats or file watching."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
        "--server.port", str(port), "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", *extra,
    ]  # fmt: skip


@contextmanager
def served(
    argv: list[str],
    port: int,
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> Iterator[str]:
    """Run the server ``argv`` (listening on 127.0.0.1:``port``), output into ``log`` or
    nowhere; yields its URL once its health endpoint answers, stops it after."""
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    with open(log or os.devnull, "wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc)
            yield url
        finally:
            stop(proc)


@contextmanager
def streamlit_server(
    env: dict[str, str],
    log: Path,
    address: str | None = "127.0.0.1",
    port: int | None = None,
) -> Iterator[str]:
    """``streamlit run app.py`` on ``port`` or a free one (headless); yields its URL once it
    answers, kills it after.

    ``address=None`` passes no address: the repository's ``.streamlit/config.toml`` decides.
    """
    port = port or free_port()
    bind = ["--server.address", address] if address else []
    argv = streamlit_argv(ROOT / "app.py", port, *bind)
    with served(argv, port, env={**os.environ, **env}, log=log) as url:
        yield url


@contextmanager
def dashboard_server(db: Path | None, log: Path, port: int | None = None) -> Iterator[str]:
    """``analyzer dashboard [--db DB]`` (headless, on 127.0.0.1, on ``port`` or a free one);
    yields its URL once it answers, stops it after. Without ``db``: the bundled sample."""
    port = port or free_port()
    where = ["--db", str(db)] if db is not None else []
    argv = [sys.executable, "-m", "analyzer", "dashboard", *where, "--port", str(port),
            "--host", "127.0.0.1", "--headless"]  # fmt: skip
    with served(argv, port, log=log) as url:
        yield url


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def settle(page: Any, heading: str, timeout_ms: int = 60_000) -> None:
    """Wait for the page's heading, the end of the script run, and every element drawn."""
    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=timeout_ms)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout_ms
    )
    # elements whose code is still loading show as skeletons: the page is not drawn yet
    page.wait_for_function(
        '() => !document.querySelector(\'[data-testid^="stSkeleton"], '
        '[data-testid="stAppSkeleton"]\')',
        timeout=timeout_ms,
    )


def open_url(page: Any, url: str, key: str) -> float:
    """Load a URL (a full page load) and wait until drawn; seconds taken."""
    return open_url_phases(page, url, key)["drawn"]


def open_url_phases(page: Any, url: str, key: str) -> dict[str, float]:
    """Load a URL and wait until drawn: seconds until the page's heading shows (the server's
    answer has arrived) and until the page is drawn (``settle``)."""
    started = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=TITLES[key][1], exact=True).first.wait_for(timeout=60_000)
    heading = time.perf_counter() - started
    settle(page, TITLES[key][1])
    return {"heading": heading, "drawn": time.perf_counter() - started}


def click_nav(page: Any, key: str) -> float:
    """Click a page in the sidebar navigation and wait until drawn; seconds taken."""
    label, heading = TITLES[key]
    link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=label).first
    started = time.perf_counter()
    link.click()
    settle(page, heading)
    return time.perf_counter() - started


def exceptions(page: Any) -> list[str]:
    """The text of every Streamlit exception element on the page."""
    loc = page.locator('[data-testid="stException"]')
    return [loc.nth(i).inner_text() for i in range(loc.count())]


def click_every_page(page: Any, name: str = "") -> dict[str, float]:
    """Click every page of the sidebar but the overview, then the overview again: seconds each
    took to draw. Stops (SystemExit) at the first page that shows a Streamlit exception."""
    times: dict[str, float] = {}
    for key in [k for k in TITLES if k != "overview"] + ["overview"]:
        times[key] = round(click_nav(page, key), 2)
        if exceptions(page):
            raise SystemExit(f"{name}{key}: {exceptions(page)[0]}")
    return times


@contextmanager
def chromium_page(pw: Any) -> Iterator[Any]:
    """A fresh Chromium (Debian's, our arguments) and one page at 1400 x 1000, closed after."""
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    finally:
        browser.close()


@contextmanager
def chromium_profile_page(pw: Any, profile: Path) -> Iterator[Any]:
    """A Chromium with a persistent profile (its HTTP and code caches survive between
    launches, as a user's browser does) and one page at 1400 x 1000, closed after."""
    ctx = pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def report(result: dict[str, Any], out: str | None) -> None:
    """Print a measurement as JSON, and write it to ``out`` too when given."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).write_text(text)
