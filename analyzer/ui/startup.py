"""What the dashboard's server does before it takes its first request.

``app.py`` (``streamlit run app.py``) and ``serve.py`` (``analyzer dashboard``) declare the
dashboard as an ``st.App`` whose lifespan is :func:`lifespan`: Streamlit's runtime starts,
then :func:`prepare` runs, and only then does the server answer requests (its health
endpoint included). :func:`prepare` imports every page's modules (pandas, Plotly, DuckDB,
ours), opens the default database and runs every page's default queries and one figure of
each kind into the shared caches (``warm.py``), so the first visitor's overview is drawn
from memory instead of paying for all of that. Each session then runs the pages script
(:data:`PAGES_SCRIPT`) as any Streamlit app does.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st

log = logging.getLogger(__name__)

PAGES_SCRIPT = str(Path(__file__).resolve().parent / "streamlit_app.py")
"""The script each session runs: the navigation and the selected page."""

READY = "analyzer dashboard: ready"
"""How the line the server prints once prepared begins (before it answers any request)."""


def prepare() -> str:
    """Import what the pages need, then open and warm the default database (unless
    ``ANALYZER_UI_WARM=0``); returns the line it prints."""
    from analyzer.ui import data, warm
    from analyzer.ui.navigation import PAGES

    started = time.perf_counter()
    warm.quiet_outside_sessions()
    for spec in PAGES:
        importlib.import_module(f"analyzer.ui.{spec.module}")
    # Streamlit checks once per process, on the first element, whether it runs in a REPL (it
    # inspects the whole stack: 0.2-0.6 s inside a session's script run); outside a session
    # the element goes nowhere and the check is done here.
    st.empty()
    done = "pages imported"
    if data.warming_enabled():
        try:
            path = data.default_db()
            claimed = warm.claim(path)  # then the connection starts no background warm-up
            data.connection(path)
            if claimed:
                n = warm.run_now(lambda fn, *a, **kw: data.run_on(path, fn, *a, **kw))
                done += f", {n} of {len(warm.default_calls())} page queries warmed on {path}"
        except Exception as exc:  # the page shows the error (a missing database...) itself
            log.warning("could not open the default database", exc_info=True)
            done += f", the default database could not be opened ({exc})"
    line = f"{READY} in {time.perf_counter() - started:.1f} s ({done})"
    print(line, file=sys.stderr, flush=True)
    return line


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """The ``st.App`` lifespan: :func:`prepare` before the first request."""
    await asyncio.to_thread(prepare)
    yield
