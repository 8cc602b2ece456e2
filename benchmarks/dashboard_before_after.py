"""A fresh server's first overview, this checkout against another one, in one run.

    git worktree add --detach /tmp/before COMMIT
    python benchmarks/dashboard_before_after.py DATABASE --before /tmp/before [--runs 3]

Per run, alternating (the other checkout first): a fresh ``streamlit run app.py`` of that
checkout (its own code on ``PYTHONPATH``) on DATABASE, then a fresh Chromium: seconds from
starting the server to its health endpoint answering (``server_ready``), and from ``goto``
to the overview's heading (``heading``) and to the overview drawn (``drawn``). Reports the
medians and the ratios this checkout / the other. DATABASE must be current for both
(neither may re-analyse it). Not a test: run it by hand.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from dashboard_driver import (  # noqa: E402
    chromium_page,
    free_port,
    open_url_phases,
    report,
    served,
    streamlit_argv,
)


def first_load(root: Path, db: Path, pw: object) -> dict[str, float]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(root), "ANALYZER_DB": str(db)}
    started = time.perf_counter()
    argv = streamlit_argv(root / "app.py", port, "--server.address", "127.0.0.1")
    with served(argv, port, cwd=root, env=env) as url:
        times = {"server_ready": time.perf_counter() - started}
        with chromium_page(pw) as page:
            times.update(open_url_phases(page, url, "overview"))
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("--before", required=True, help="the other checkout's folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", help="also write the result here (JSON)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    db = Path(args.database).resolve()
    roots = {"before": Path(args.before).resolve(), "after": ROOT}
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in roots}
    with sync_playwright() as pw:
        for i in range(args.runs):
            for side, root in roots.items():
                runs[side].append(first_load(root, db, pw))
                print(f"run {i + 1} {side}: {runs[side][-1]}", file=sys.stderr)
    medians = {
        side: {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]}
        for side, rs in runs.items()
    }
    report(
        {
            "database": str(db),
            "before": str(roots["before"]),
            "runs": args.runs,
            "median_s": medians,
            "ratio_after_over_before": {
                k: round(medians["after"][k] / medians["before"][k], 2) for k in medians["after"]
            },
            "all_runs_s": {
                side: [{k: round(v, 2) for k, v in r.items()} for r in rs]
                for side, rs in runs.items()
            },
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
