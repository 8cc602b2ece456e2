"""The Import page's per-session folder: uploads while they import, then the new database.

Each browser session gets one temporary folder (``analyzer-ui-*`` in the system's temporary
directory), created on its first import. Uploaded files are written to a subfolder that is
removed as soon as their import ends (their lines are in the database by then); the
session's database lives there until the session imports again, goes back to the default
database, or ends (a session-scoped ``st.cache_resource`` releases the folder when the
browser disconnects). Whatever is left when the server stops is removed at exit.
"""

from __future__ import annotations

import atexit
import logging
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import streamlit as st

from analyzer.ui import data

PREFIX = "analyzer-ui-"
log = logging.getLogger(__name__)

_live: set[Path] = set()
_lock = threading.Lock()


class Upload(Protocol):
    name: str

    def getvalue(self) -> bytes: ...


def safe_name(name: str) -> str:
    """A browser-given file name reduced to one harmless path component (suffixes kept)."""
    base = re.sub(r"[^\w.+-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return base or "upload.log"


@dataclass
class Workspace:
    """One session's folder; ``database`` is the file the session currently shows, if any."""

    path: Path
    database: Path | None = None
    _n: int = field(default=0)

    @contextmanager
    def uploads(self, files: list[Upload]) -> Iterator[list[Path]]:
        """The uploaded files written to a fresh subfolder, removed when the block ends."""
        self._n += 1
        folder = self.path / f"uploads-{self._n}"
        folder.mkdir()
        try:
            written = []
            for i, f in enumerate(files):
                dest = folder / f"{i:03d}" / safe_name(f.name)
                dest.parent.mkdir()
                dest.write_bytes(f.getvalue())
                written.append(dest)
            yield written
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def next_database(self) -> Path:
        """Where the next import's database goes (not created yet)."""
        self._n += 1
        return self.path / f"import-{self._n}.duckdb"

    def show(self, db: Path | None) -> None:
        """Make ``db`` the session's database (``None``: the default); the previous one goes."""
        old, self.database = self.database, db
        if old is not None and old != db:
            _remove_database(old)


def _forget(db: Path) -> None:
    try:
        data.forget(str(db))
    except Exception:  # a closing connection must not keep the files
        log.exception("closing %s", db)


def _remove_database(db: Path) -> None:
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)  # open readers keep their handle; the name is gone
    # Closing waits for a query still running on it (the warm-up): not on this thread,
    # which may be the server's event loop (a session's release runs there).
    threading.Thread(target=_forget, args=(db,), name="analyzer-forget-db", daemon=True).start()


def remove(ws: Workspace) -> None:
    """Delete a session's folder and close its database."""
    shutil.rmtree(ws.path, ignore_errors=True)
    if ws.database is not None:
        _remove_database(ws.database)
    with _lock:
        _live.discard(ws.path)
    log.info("removed the session folder %s", ws.path)


@st.cache_resource(scope="session", on_release=remove, show_spinner=False)
def current() -> Workspace:
    """This session's workspace (created on first use, released when the session ends)."""
    ws = Workspace(Path(tempfile.mkdtemp(prefix=PREFIX)))
    with _lock:
        _live.add(ws.path)
    return ws


@atexit.register
def _remove_all() -> None:
    with _lock:
        left = list(_live)
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
