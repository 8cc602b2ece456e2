"""The Import page gives a visitor no access to the server's files (issue 17, point 1).

Rendered by Streamlit's AppTest (the real script runner) on a hand-made database:
server paths are off unless an import folder is configured; then only regular files inside
it, symlinks resolved, are imported, and every refusal is the same sentence; uploads are
deleted once imported; the session's database is deleted when it goes back.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzer.ui import access

SCRIPT = "from analyzer.ui.navigation import run\nrun(default='import')\n"
APPTEST_SESSION = "test session id"  # AppTest's one session (streamlit/testing/v1)


def _end_session() -> None:
    """What Streamlit does when a browser disconnects: release the session's resources."""
    from streamlit.runtime import caching

    caching.clear_session_resource_cache(APPTEST_SESSION)


LINE = (
    '{"ts": "2026-11-20T14:00:00Z", "source": "gateway", "event": "request.received", '
    '"request_id": "req-%d", "app": "acme/x", "endpoint": "/predict"}\n'
)


@pytest.fixture
def page(fake_db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """The environment of a dashboard on the fake database; yields its temporary dir."""
    monkeypatch.setenv("ANALYZER_DB", str(fake_db_path))
    monkeypatch.delenv(access.IMPORT_ROOT_ENV, raising=False)
    monkeypatch.delenv(access.READ_ONLY_ENV, raising=False)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # the session's folder goes here
    _end_session()  # AppTests share one session id: start from a new session
    yield tmp
    _end_session()


def _render() -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _submit_path(at: AppTest, text: str) -> AppTest:
    at.text_input(key="import_folder").input(text)
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _log(path: Path, n: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(LINE % i for i in range(n)))
    return path


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An import folder (configured) and a secret file next to it, outside."""
    r = tmp_path / "shared-logs"
    _log(r / "incident" / "gateway.jsonl")
    (tmp_path / "secret.jsonl").write_text('{"password": "hunter2"}\nroot:x:0:0:root:/root\n')
    monkeypatch.setenv(access.IMPORT_ROOT_ENV, str(r))
    return r


def test_server_paths_are_off_by_default(page: Path, tmp_path: Path) -> None:
    at = _render()
    assert [w.key for w in at.text_input] == [], "a server-path field is offered by default"
    assert at.get("file_uploader"), "uploads stay available"


def test_outside_the_import_folder_is_refused_like_a_missing_path(
    page: Path, root: Path, tmp_path: Path
) -> None:
    answers = []
    for typed in (
        str(tmp_path / "secret.jsonl"),  # exists, outside
        str(tmp_path / "no-such-file.jsonl"),  # missing, outside
        "../secret.jsonl",  # relative escape
        "incident/missing.jsonl",  # missing, inside
        "/etc/passwd",
    ):
        at = _submit_path(_render(), typed)
        assert not at.success, typed
        answers.append([e.value for e in at.error])
    assert all(a == answers[0] for a in answers), answers
    assert len(answers[0]) == 1 and "Not importable" in answers[0][0]
    assert "hunter2" not in str(answers)


def test_symlinks_are_resolved_before_the_check(page: Path, root: Path, tmp_path: Path) -> None:
    (root / "link.jsonl").symlink_to(tmp_path / "secret.jsonl")
    (root / "incident" / "sneaky.jsonl").symlink_to(tmp_path / "secret.jsonl")
    (root / "escape").symlink_to(tmp_path, target_is_directory=True)
    for typed in ("link.jsonl", "escape/secret.jsonl", "escape"):
        at = _submit_path(_render(), typed)
        assert not at.success and "Not importable" in at.error[0].value, typed
    # a folder inside: its own file is imported, the link leading outside is passed over
    at = _submit_path(_render(), "incident")
    assert [s.value for s in at.success], [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Files imported"] == "1"
    assert metrics["Rejected lines"] == "0"  # the secret's lines never became rejected rows
    assert any("1 entries passed over" in c.value for c in at.caption)


def test_a_fifo_is_refused_without_blocking(page: Path, root: Path) -> None:
    os.mkfifo(root / "incident" / "pipe.jsonl")  # nobody ever writes to it
    started = time.monotonic()
    at = _submit_path(_render(), "incident/pipe.jsonl")
    assert not at.success and "Not importable" in at.error[0].value
    at = _submit_path(_render(), "incident")  # in a folder: passed over, the rest imported
    assert [s.value for s in at.success], [e.value for e in at.error]
    assert time.monotonic() - started < 60


def test_uploads_are_deleted_once_imported_and_the_database_on_going_back(page: Path) -> None:
    at = _render()
    at.get("file_uploader")[0].set_value(  # type: ignore[attr-defined]
        [("gateway.jsonl", (LINE % 1 + LINE % 2).encode(), "application/octet-stream")]
    )
    at.button[0].click()
    at.run()
    assert [s.value for s in at.success], [e.value for e in at.error]
    folders = list(page.glob("analyzer-ui-*"))
    assert len(folders) == 1, list(page.iterdir())
    left = [p.name for p in folders[0].iterdir()]
    assert len(left) == 1 and left[0].startswith("import-"), left  # no upload left
    at.button(key="import_back").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(folders[0].iterdir()) == [], "the session's database is still there"
    _end_session()
    assert not folders[0].exists(), "the session's folder outlived the session"


def test_the_session_folder_goes_with_the_session(page: Path) -> None:
    at = _render()
    at.get("file_uploader")[0].set_value(  # type: ignore[attr-defined]
        [("../../evil name.jsonl", (LINE % 1).encode(), "application/octet-stream")]
    )
    at.button[0].click()
    at.run()
    assert [s.value for s in at.success], [e.value for e in at.error]
    (folder,) = page.glob("analyzer-ui-*")
    assert list(page.iterdir()) == [folder], "an upload was written outside its folder"
    _end_session()
    assert list(page.iterdir()) == []


def test_refused_import_root_setting_is_said(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(access.IMPORT_ROOT_ENV, str(page / "not-a-folder"))
    at = _submit_path(_render(), "x.jsonl")
    assert "is not a folder on this server" in at.error[0].value
