"""Each dashboard page's first render on a freshly started server, large database vs small.

    python benchmarks/dashboard.py LARGE.duckdb [--baseline SMALL.duckdb] [--runs 3]

Per run and per database (the baseline first, then the large one): a fresh
``streamlit run app.py`` on the database (``ANALYZER_DB``), Debian's Chromium via Playwright,
then

- ``server_first_load``: the first full load of the overview (the server imports its
  modules, opens the database, runs the page), from ``goto`` to the page drawn;
- one click on every other page in the sidebar, then back to the overview: each page's
  first render (from the click to the page drawn: script finished, no skeleton left).

Reports the medians over the runs of each page for both databases and their ratio
(large / baseline, measured in the same run). The baseline defaults to the bundled sample
(2,500 requests, built on first use): what the same machine, browser and server do when the
data is small, so the ratio shows what the size of the data costs. Not a test: run it by
hand; it starts one server at a time and stops it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from dashboard_driver import (  # noqa: E402
    chromium_page,
    click_every_page,
    open_url,
    report,
    streamlit_server,
)


def one_server(db: Path, pw: Any) -> dict[str, float]:
    """Fresh server on ``db``: the first overview load, then every page's first render."""
    log = Path("/tmp") / f"analyzer-bench-dashboard-{db.stem}.log"
    with streamlit_server({"ANALYZER_DB": str(db)}, log) as url, chromium_page(pw) as page:
        times = {"server_first_load": open_url(page, url, "overview")}
        times.update(click_every_page(page, f"{db.name} "))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="the large analysed database")
    parser.add_argument("--baseline", help="a small analysed database (default: the sample)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", help="also write the result here (JSON)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from analyzer.api.database import open_connection, sample_db_path

    large = Path(args.database).resolve()
    small = Path(args.baseline).resolve() if args.baseline else sample_db_path()
    for db in (small, large):  # analysed before any timing (a no-op when current)
        open_connection(db).close()
    runs: dict[str, list[dict[str, float]]] = {"baseline": [], "large": []}
    with sync_playwright() as pw:
        for i in range(args.runs):
            runs["baseline"].append(one_server(small, pw))
            runs["large"].append(one_server(large, pw))
            print(f"run {i + 1}: {json.dumps(runs['large'][-1])}", file=sys.stderr)
    pages = list(runs["large"][0])
    medians = {
        side: {p: round(statistics.median(r[p] for r in rs), 2) for p in pages}
        for side, rs in runs.items()
    }
    result = {
        "large": str(large),
        "baseline": str(small),
        "runs": args.runs,
        "median_s": medians,
        "ratio_large_over_baseline": {
            p: round(medians["large"][p] / medians["baseline"][p], 2) for p in pages
        },
        "all_runs_s": {
            side: [{p: round(t, 2) for p, t in r.items()} for r in rs] for side, rs in runs.items()
        },
    }
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
