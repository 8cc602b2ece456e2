"""Sharing the dashboard (issue 17, point 1) on a real Streamlit server, in real Chromium.

- an upload from the browser is imported, its file deleted at once, and the session's folder
  (with the new database) deleted when the browser goes away;
- read-only mode has no Import page: not in the navigation, not at its URL;
- ``streamlit run app.py`` with no address binds to the loopback interface only
  (``.streamlit/config.toml``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_driver import ROOT, TITLES, exceptions, open_url, settle, streamlit_server

ARTIFACTS = ROOT / "test-artifacts" / "sharing"
LINE = (
    '{"ts": "2026-11-20T14:00:0%d Z", "source": "gateway", "event": "request.received", '
    '"request_id": "req-up-%d", "app": "acme/x", "endpoint": "/predict"}\n'
)


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture(scope="module")
def tmpdir_of_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-tmp")


@pytest.fixture(scope="module")
def server(fake_db_path: Path, analyzer_cache: Path, tmpdir_of_server: Path) -> Iterator[str]:
    env = {
        "ANALYZER_DB": str(fake_db_path),
        "ANALYZER_CACHE_DIR": str(analyzer_cache),
        "TMPDIR": str(tmpdir_of_server),  # where the sessions' folders go
        "ANALYZER_UI_IMPORT_ROOT": "",
        "ANALYZER_UI_READ_ONLY": "",
    }
    with streamlit_server(env, ARTIFACTS / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def read_only_server(fake_db_path: Path, analyzer_cache: Path) -> Iterator[str]:
    """Read-only, and started with no address: the repository's config file decides."""
    env = {
        "ANALYZER_DB": str(fake_db_path),
        "ANALYZER_CACHE_DIR": str(analyzer_cache),
        "ANALYZER_UI_READ_ONLY": "1",
    }
    with streamlit_server(env, ARTIFACTS / "streamlit-read-only.log", address=None) as url:
        yield url


def _sessions(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("analyzer-ui-*"))


def test_an_upload_leaves_nothing_behind(
    server: str, browser: Any, tmpdir_of_server: Path, tmp_path: Path
) -> None:
    log = tmp_path / "gateway.jsonl"
    log.write_text("".join(LINE % (i, i) for i in range(3)))
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = context.new_page()
        open_url(page, f"{server}/import", "import")
        assert page.get_by_role("textbox").count() == 0, "a server-path field is offered"
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(log))
        page.get_by_text("gateway.jsonl").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Import into a new database").click()
        page.get_by_text("Imported. Every page now shows this database").wait_for(timeout=120_000)
        settle(page, TITLES["import"][1])
        assert not exceptions(page), exceptions(page)
        (folder,) = _sessions(tmpdir_of_server)
        left = [p.name for p in folder.iterdir()]
        assert len(left) == 1 and left[0].endswith(".duckdb"), left  # the upload is gone
        assert "gateway.jsonl" not in str(list(tmpdir_of_server.rglob("*")))
    finally:
        context.close()  # the browser goes away: its session ends
    _wait(
        lambda: not _sessions(tmpdir_of_server),
        30,
        f"the session's folder outlived the session: {_sessions(tmpdir_of_server)}",
    )


def test_read_only_mode_has_no_import_page(read_only_server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        page = context.new_page()
        open_url(page, read_only_server, "overview")
        nav = page.locator('[data-testid="stSidebarNav"] a')
        labels = [
            nav.nth(i).inner_text().split("\n")[-1] for i in range(nav.count())
        ]  # icon, label
        assert "Overview" in labels and "Findings" in labels, labels
        assert not any("Import" in label for label in labels), labels
        page.goto(f"{read_only_server}/import")
        settle(page, TITLES["overview"][1])  # an unknown page: Streamlit shows the default
        assert page.get_by_role("heading", name="Import", exact=True).count() == 0
        assert page.locator('[data-testid="stFileUploader"]').count() == 0
    finally:
        context.close()


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1


def test_streamlit_run_binds_to_localhost_by_default(read_only_server: str) -> None:
    addresses = _listening(int(read_only_server.rsplit(":", 1)[1]))
    assert addresses, "nothing listens on the dashboard's port"
    assert set(addresses) <= LOOPBACK, f"listening beyond this machine: {addresses}"
