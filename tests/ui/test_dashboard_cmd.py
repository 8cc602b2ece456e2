"""`analyzer dashboard` and the Import page's import, end to end."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from dashboard_driver import free_port
from streamlit.testing.v1 import AppTest

from analyzer.api.database import sample_logs_dir
from analyzer.cli import main


def test_missing_database_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", "--db", str(tmp_path / "nope.duckdb")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("analyzer: error: database not found") and "\n" not in err


def test_dashboard_serves_the_given_database(fake_db_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "analyzer", "dashboard", "--db", str(fake_db_path),
         "--port", str(port), "--headless"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
            try:
                with urllib.request.urlopen(
                    f"http://localhost:{port}/_stcore/health", timeout=2
                ) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_import_page_imports_a_server_folder_into_a_new_database(
    fake_db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANALYZER_DB", str(fake_db_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the new database goes here
    at = AppTest.from_string(
        "from analyzer.ui.navigation import run\nrun(default='import')\n", default_timeout=180
    )
    at.run()
    at.text_input(key="import_folder").input(str(sample_logs_dir()))
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success], [e.value for e in at.error]
    shown = "\n".join(t.value for t in at.text)
    assert "import.duckdb" in shown  # this session now shows the new database
    files = {m.label: m.value for m in at.metric}
    assert files["Files imported"] == str(
        len([p for p in sample_logs_dir().iterdir() if not p.name.startswith("_")])
    )
