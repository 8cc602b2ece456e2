"""`analyzer dashboard` and the Import page's import, end to end."""

from __future__ import annotations

import contextlib
import os
import re
import signal
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


def _session_processes(sid: int) -> list[str]:
    """Command lines of the live processes of session ``sid`` (zombies excluded)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # the process ended while we looked
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found.append(f"{stat.parent.name}: {cmdline}")
    return found


def _start_dashboard(db: Path, port: int) -> subprocess.Popen[bytes]:
    """``analyzer dashboard`` in a session of its own (so its descendants can be found)."""
    return subprocess.Popen(
        [sys.executable, "-m", "analyzer", "dashboard", "--db", str(db),
         "--port", str(port), "--host", "127.0.0.1", "--headless"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def _wait_healthy(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                assert r.status == 200
                return
        except OSError:
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop what this test started: the command, then anything left in its session."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the session (and group) this test created


def _printed_so_far(proc: subprocess.Popen[bytes]) -> str:
    """What the command has printed until now (without waiting for more)."""
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    return (proc.stdout.read() or b"").decode()


def test_dashboard_serves_the_given_database_warmed_before_it_answers(
    fake_db_path: Path,
) -> None:
    port = free_port()
    proc = _start_dashboard(fake_db_path, port)
    try:
        _wait_healthy(proc, port)
        printed = _printed_so_far(proc)  # by the time it answers, the server is prepared
        ready = re.search(r"analyzer dashboard: ready in .* \((.*)\)", printed)
        assert ready, printed
        warmed = re.search(r"(\d+) of (\d+) page queries warmed on (\S+)", ready[1])
        assert warmed, ready[1]
        assert warmed[1] == warmed[2] != "0" and warmed[3] == str(fake_db_path.resolve())
        assert "warming" not in printed, printed  # no query or figure failed to warm
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        _stop(proc)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_no_process_outlives_the_dashboard_command(fake_db_path: Path, sig: int) -> None:
    """A supervisor's SIGTERM (or Ctrl-C) to ``analyzer dashboard`` stops the server with it."""
    port = free_port()
    proc = _start_dashboard(fake_db_path, port)
    try:
        _wait_healthy(proc, port)
        assert _session_processes(proc.pid), "the dashboard's processes are not visible"
        proc.send_signal(sig)
        proc.wait(timeout=20)
        deadline = time.monotonic() + 5
        while _session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_processes(proc.pid) == [], "processes outlived `analyzer dashboard`"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
    finally:
        _stop(proc)


def test_import_page_imports_a_server_folder_into_a_new_database(
    fake_db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANALYZER_DB", str(fake_db_path))
    monkeypatch.setenv("ANALYZER_UI_IMPORT_ROOT", str(sample_logs_dir().parent))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the new database goes here
    at = AppTest.from_string(
        "from analyzer.ui.navigation import run\nrun(default='import')\n", default_timeout=180
    )
    at.run()
    at.text_input(key="import_folder").input(sample_logs_dir().name)  # inside the import root
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success], [e.value for e in at.error]
    shown = "\n".join(t.value for t in at.text)
    assert "/import-1.duckdb" in shown  # this session now shows the new database
    files = {m.label: m.value for m in at.metric}
    assert files["Files imported"] == str(
        len([p for p in sample_logs_dir().iterdir() if not p.name.startswith("_")])
    )
