"""Warm the caches when a database is opened: every page's default queries, and Plotly.

The first session that opens a database starts one background thread that runs, through
the same ``st.cache_data`` entries the pages use, the queries each page makes with the
default (empty) filters, then draws one figure of each kind (Plotly builds its validators
on first use, about half a second). The page being opened renders meanwhile; by the time
the user clicks to another page its data is already cached. Filtered views are computed on
demand and cached in the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from analyzer.api import aggregates, figures, queries
from analyzer.api.filters import Filters

log = logging.getLogger(__name__)

START_DELAY_S = 0.5

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def default_calls() -> list[Call]:
    """The calls every page makes with no filter (kept in step with the page modules)."""
    from analyzer.ui import cancellations, findings, import_page, overview, retries, timeline

    f = Filters()
    return [
        (aggregates.summary, (f,), {}),
        (queries.distinct_values, ("requests", "app"), {}),
        (aggregates.requests_over_time, (f,), {}),
        (aggregates.terminations_over_time, (f,), {}),
        (queries.findings, (f,), {"order": "cost", "limit": overview.TOP_N, "evidence": False}),
        (aggregates.findings_by_rule, (f,), {}),
        (queries.distinct_values, ("findings", "code"), {}),
        (queries.distinct_values, ("findings", "endpoint"), {}),
        (
            queries.findings,
            (f,),
            {"order": "severity", "limit": findings.MAX_ROWS, "evidence": False},
        ),
        (
            queries.findings,
            (f,),
            {"order": "cost", "limit": timeline.PICK_LIMIT, "evidence": False},
        ),
        (queries.runners, (f,), {}),
        (aggregates.cold_starts_by_app, (f,), {}),
        (aggregates.kills_by_request, (f,), {}),
        (aggregates.cancellation_totals, (f,), {}),
        (aggregates.propagation_histogram, (f,), {}),
        (aggregates.worst_cancellations, (f,), {"limit": cancellations.WORST_N}),
        (aggregates.leaks_by_endpoint, (f,), {}),
        (aggregates.attempts_per_request, (f,), {}),
        (aggregates.poison_requests, (f,), {}),
        (aggregates.retry_chains, (f,), {"limit": retries.CHAINS_N}),
        (queries.sql, (import_page.IMPORTS_SQL,), {}),
        (queries.sql, (import_page.REJECTED_SQL, [import_page.REJECTED_SHOWN]), {}),
    ]


_claimed: set[str] = set()
_claim_lock = threading.Lock()


def claim(path: str) -> bool:
    """True the first time a database is claimed for warming (each is warmed once)."""
    with _claim_lock:
        if path in _claimed:
            return False
        _claimed.add(path)
        return True


def _warm(run: Callable[..., Any], delay: float = START_DELAY_S) -> int:
    """Run every default call through ``run`` and draw one figure of each kind; returns how
    many calls succeeded."""
    time.sleep(delay)  # let the page that opened the database draw first
    results: dict[Callable[..., Any], Any] = {}  # each function's first result
    done = 0
    for fn, args, kwargs in default_calls():
        try:
            results.setdefault(fn, run(fn, *args, **kwargs))
            done += 1
        except Exception:  # warming is best effort; the page will show the error itself
            log.warning("warming %s failed", fn.__name__, exc_info=True)
    try:  # every page's figures once: Plotly validates each trace and layout kind on first use
        import plotly.io

        for fig in (
            figures.requests_over_time_figure(results[aggregates.requests_over_time]),
            figures.terminations_over_time_figure(results[aggregates.terminations_over_time]),
            figures.findings_by_rule_figure(results[aggregates.findings_by_rule]),
            figures.runners_figure(results[queries.runners], max_runners=20),
            figures.propagation_histogram_figure(results[aggregates.propagation_histogram]),
            figures.leaks_figure(results[aggregates.leaks_by_endpoint]),
            figures.attempts_figure(results[aggregates.attempts_per_request]),
        ):
            plotly.io.to_json(fig, validate=False)  # as st.plotly_chart serialises it
    except Exception:
        log.warning("warming figures failed", exc_info=True)
    return done


def quiet_outside_sessions() -> None:
    # Warming belongs to no session (it fills the shared cache), so it runs without a script
    # run context; Streamlit's warning about that is expected here and silenced.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR
    )


def run_now(run: Callable[..., Any]) -> int:
    """Warm in this thread, at once (the server, before it takes its first request); returns
    how many of the default calls succeeded."""
    quiet_outside_sessions()
    return _warm(run, delay=0.0)


def start(run: Callable[..., Any]) -> threading.Thread:
    """Start the warming thread (``run(fn, *args, **kwargs)`` calls through the cache)."""
    quiet_outside_sessions()
    thread = threading.Thread(target=_warm, args=(run,), name="analyzer-warm", daemon=True)
    thread.start()
    return thread
