"""How the pages reach the database: one cached read-only connection, cached results.

- The database is the one the Import page switched this session to, else ``$ANALYZER_DB``
  (set by ``analyzer dashboard --db FILE``), else the bundled sample (built on first use).
- One read-only DuckDB connection per database file, shared by every session
  (``st.cache_resource``); each query runs on its own ``.cursor()`` (a connection is not
  thread-safe, a cursor per call is).
- Every API call is cached with ``st.cache_data`` keyed by the function, the database and
  the arguments, so heavy aggregates are computed once and reruns cost nothing.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import streamlit as st

from analyzer import safe_times
from analyzer.api.database import open_connection, sample_db_path

DB_ENV = "ANALYZER_DB"
SESSION_DB = "analyzer_db_path"

T = TypeVar("T")


def current_db() -> str:
    """The database file this session looks at."""
    chosen = st.session_state.get(SESSION_DB)
    if chosen and Path(chosen).exists():
        return str(chosen)
    if chosen:  # the session's imported database was removed (its session had ended)
        del st.session_state[SESSION_DB]
    return default_db()


def default_db() -> str:
    """The database every session starts on: ``$ANALYZER_DB``, else the bundled sample."""
    env = os.environ.get(DB_ENV)
    if env:
        return str(Path(env).resolve())
    return str(sample_db_path())


def warming_enabled() -> bool:
    """False when ``ANALYZER_UI_WARM=0`` asks not to pre-compute the pages' queries."""
    return os.environ.get("ANALYZER_UI_WARM", "1") != "0"


def is_sample(path: str) -> bool:
    """True when ``path`` is the bundled sample database."""
    return Path(path).name.startswith("sample-") and not os.environ.get(DB_ENV)


def _close(con: duckdb.DuckDBPyConnection) -> None:
    con.close()


@st.cache_resource(
    show_spinner="Opening the database (the first time builds the sample)…", on_release=_close
)
def connection(path: str) -> duckdb.DuckDBPyConnection:
    """The shared read-only connection to one database (analysed first if needed).

    Also starts warming every page's default queries in the background (see ``warm.py``),
    unless the server already warmed this database before it started listening
    (``startup.py``).
    """
    con = open_connection(path)
    if warming_enabled():
        from analyzer.ui import warm

        if warm.claim(path):
            warm.start(lambda fn, *a, **kw: run_on(path, fn, *a, **kw))
    return con


def forget(path: str) -> None:
    """Close the shared connection to ``path`` (a session's database about to be deleted)."""
    connection.clear(path)


@st.cache_data(show_spinner=False, max_entries=1024)
def _cached(name: str, path: str, args: tuple[Any, ...], kwargs: tuple[Any, ...]) -> Any:
    module_name, _, attr = name.rpartition(".")
    fn = getattr(importlib.import_module(module_name), attr)
    cur = safe_times.cursor(connection(path))  # sees the guard of stored times
    try:
        return fn(cur, *args, **dict(kwargs))
    finally:
        cur.close()


def run_on(path: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Like :func:`run`, on the database at ``path`` (usable outside a page)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    result: T = _cached(name, path, args, tuple(sorted(kwargs.items())))
    return result


def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call an API function ``fn(cursor, *args, **kwargs)`` on this session's database, cached.

    ``fn`` must be a module-level function of ``analyzer.api`` taking a connection first.
    """
    return run_on(current_db(), fn, *args, **kwargs)
