"""Each dashboard page's first render on a freshly started server, large database vs small.

    python benchmarks/dashboard.py LARGE.duckdb [--baseline SMALL.duckdb] [--runs 3]
        [--via dashboard|app]

The server is started the way users start it on their own database: ``analyzer dashboard
--db FILE`` (``--via app``: ``ANALYZER_DB=FILE streamlit run app.py`` instead; both serve
the same ``st.App``, which prepares itself before it answers). Per run and per database
(the baseline first, then the large one):

- ``server_ready``: from starting the command to its health endpoint answering (the
  analysis check, imports, opening and warming the database: before any visitor);
- fresh server, fresh Chromium (an empty profile: nothing cached, the first visit ever):
  ``first_load`` from ``goto`` to the overview drawn (script finished, no skeleton left),
  ``first_load_heading`` until its heading shows (the server's answer is in); then one
  click on every other page in the sidebar and back to the overview: each page's first
  render (from the click to the page drawn);
- another fresh server on the same address, Chromium with a profile that has shown the
  dashboard before (its HTTP and code caches warm, as a user's browser reopening the
  dashboard after a restart): ``first_load_returning``.

``floor``: the same two first loads of two scripts that are not ours, served by a fresh
``streamlit run`` in the same browser set-up: a title and six metrics (``plain``), and the
same plus one three-bar Plotly chart (``plotly``) or the same bars as Streamlit's own
Vega-Lite chart (``vega``): what Streamlit's frontend, Plotly.js and Vega-Lite cost in this
browser on this machine, whatever the page reads.

Reports the medians over the runs for both databases and their ratio (large / baseline,
measured in the same run). The baseline defaults to the bundled sample (2,500 requests).
Not a test: run it by hand; it starts one server at a time and stops it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from dashboard_driver import (  # noqa: E402
    chromium_page,
    chromium_profile_page,
    click_every_page,
    dashboard_server,
    free_port,
    open_url_phases,
    report,
    served,
    settle,
    streamlit_argv,
    streamlit_server,
)

FLOOR_SCRIPTS = {
    "plain": 'import streamlit as st\nst.title("Incident overview")\n'
    "for i, c in enumerate(st.columns(6)):\n    c.metric(f'metric {i}', i)\n",
    "plotly": 'import streamlit as st\nimport plotly.graph_objects as go\nst.title("Incident overview")\n'
    "for i, c in enumerate(st.columns(6)):\n    c.metric(f'metric {i}', i)\n"
    "st.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[1, 2, 3])))\n",
    "vega": 'import streamlit as st\nst.title("Incident overview")\n'
    "for i, c in enumerate(st.columns(6)):\n    c.metric(f'metric {i}', i)\n"
    "st.bar_chart({'x': [1, 2, 3], 'y': [1, 2, 3]}, x='x', y='y')\n",
}

Server = Callable[[int | None], AbstractContextManager[str]]


def server_for(db: Path | None, via: str) -> Server:
    """Start a fresh server on ``db`` (``None``: the sample) the chosen way, on ``port``."""
    log = Path("/tmp") / f"analyzer-bench-dashboard-{db.stem if db else 'sample'}.log"
    if via == "dashboard":
        return lambda port: dashboard_server(db, log, port)
    env = {"ANALYZER_DB": str(db)} if db else {}
    return lambda port: streamlit_server(env, log, port=port)


@contextmanager
def floor_server(script: Path, port: int | None) -> Iterator[str]:
    """``streamlit run SCRIPT`` (a page that is not ours) on 127.0.0.1."""
    port = port or free_port()
    argv = streamlit_argv(script, port, "--server.address", "127.0.0.1")
    with served(argv, port, cwd=script.parent) as url:
        yield url


def measure(server: Server, pw: Any, profile: Path, port: int, clicks: bool) -> dict[str, float]:
    """One run on one database: fresh server + fresh browser (and the clicks), then a fresh
    server + the returning browser."""
    import time

    times: dict[str, float] = {}
    started = time.perf_counter()
    with server(None) as url, chromium_page(pw) as page:
        times["server_ready"] = time.perf_counter() - started
        first = open_url_phases(page, url, "overview")
        times["first_load"], times["first_load_heading"] = first["drawn"], first["heading"]
        if clicks:
            times.update(click_every_page(page))
    with server(port) as url, chromium_profile_page(pw, profile) as page:
        times["first_load_returning"] = open_url_phases(page, url, "overview")["drawn"]
    return times


def visit(server: Server, pw: Any, profile: Path, port: int) -> None:
    """Show the page once in ``profile`` (not timed): it becomes a returning browser."""
    with server(port) as url, chromium_profile_page(pw, profile) as page:
        page.goto(url)
        try:
            settle(page, "Incident overview")
        except Exception:
            print(page.inner_text("body")[:3000], file=sys.stderr)
            raise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="the large analysed database")
    parser.add_argument("--baseline", help="a small analysed database (default: the sample)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--via", choices=("dashboard", "app"), default="dashboard")
    parser.add_argument("--out", help="also write the result here (JSON)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from analyzer.api.database import open_connection, sample_db_path

    large = Path(args.database).resolve()
    small = Path(args.baseline).resolve() if args.baseline else None
    for db in (small or sample_db_path(), large):  # analysed before any timing (no-op if current)
        open_connection(db).close()
    work = Path(tempfile.mkdtemp(prefix="analyzer-bench-dashboard-"))
    sides: dict[str, Server] = {
        "baseline": server_for(small, args.via),
        "large": server_for(large, args.via),
    }
    for name, text in FLOOR_SCRIPTS.items():
        (work / f"floor_{name}.py").write_text(text)  # not plotly.py: it would shadow Plotly
        sides[f"floor_{name}"] = lambda port, s=work / f"floor_{name}.py": floor_server(s, port)
    ports = {side: free_port() for side in sides}
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    with sync_playwright() as pw:
        for side, server in sides.items():
            visit(server, pw, work / f"profile-{side}", ports[side])
        for i in range(args.runs):
            for side, server in sides.items():
                clicks = not side.startswith("floor")
                runs[side].append(
                    measure(server, pw, work / f"profile-{side}", ports[side], clicks)
                )
            print(f"run {i + 1}: {json.dumps(runs['large'][-1])}", file=sys.stderr)
    medians = {
        side: {p: round(statistics.median(r[p] for r in rs), 2) for p in rs[0]}
        for side, rs in runs.items()
    }
    result = {
        "large": str(large),
        "baseline": str(small or sample_db_path()),
        "via": args.via,
        "runs": args.runs,
        "median_s": medians,
        "ratio_large_over_baseline": {
            p: round(medians["large"][p] / medians["baseline"][p], 2) for p in medians["large"]
        },
        "all_runs_s": {
            side: [{p: round(t, 2) for p, t in r.items()} for r in rs] for side, rs in runs.items()
        },
    }
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
