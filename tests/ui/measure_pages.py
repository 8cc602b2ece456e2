"""Measure each dashboard page's render time in Chromium (the figures in docs/performance.md).

    python tests/ui/measure_pages.py DATABASE [--out timings.json]

Starts ``streamlit run app.py`` on DATABASE, loads the overview once (the server opens the
database, imports its modules and starts warming every page's default queries), stays
there ``--pause`` seconds (10 by default, as a reader would), then clicks every page in
the sidebar twice:
the first visit computes that page's queries (nothing cached yet), the second is served from
``st.cache_data``. Times run from the click to the page fully drawn (script finished, no
skeleton left). Not a test: run it by hand on a large database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard_driver import chromium_page, click_every_page, open_url, report, streamlit_server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("--out", default=None)
    parser.add_argument(
        "--pause", type=float, default=10.0, help="seconds on the overview before clicking on"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    db = str(Path(args.database).resolve())
    result: dict[str, object] = {"database": db}
    log = Path("/tmp") / "analyzer-measure-streamlit.log"
    server = streamlit_server({"ANALYZER_DB": db}, log)
    with server as url, sync_playwright() as pw, chromium_page(pw) as page:
        result["warm_up_overview_s"] = round(open_url(page, url, "overview"), 2)
        page.wait_for_timeout(args.pause * 1000)  # a reader looks at the overview meanwhile
        result["pause_after_warm_up_s"] = args.pause
        for visit in ("first", "cached"):
            result[f"{visit}_render_s"] = click_every_page(page)
    report(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
