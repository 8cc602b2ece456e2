"""`analyzer simulate`: write a simulated day of gateway and runner logs with its ground truth."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate the platform: write gateway/runner logs and their ground truth",
        description=(
            "Run the platform simulator over healthy traffic plus the named scenarios "
            "(default: incident_day, which mixes them all). Writes gateway.jsonl, one "
            "runner-<app>.jsonl per app and _ground_truth.jsonl into --out. "
            "The same seed gives byte-identical output."
        ),
    )
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario names (see --list)")
    p.add_argument(
        "--out",
        type=Path,
        help="output directory (created if missing; log files of an earlier run there are replaced)",
    )
    p.add_argument(
        "--requests", type=int, default=2500, help="approximate number of requests (default 2500)"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--gzip", action="store_true", help="write .jsonl.gz files")
    p.add_argument(
        "--split-mb",
        type=float,
        default=None,
        metavar="M",
        help="rotate files every M MB (uncompressed)",
    )
    p.add_argument(
        "--start", default=None, help="start of the window, RFC 3339 (default 2026-11-20T08:00:00Z)"
    )
    p.add_argument("--list", action="store_true", help="list the scenarios and exit")
    p.add_argument(
        "--fal-export",
        type=Path,
        default=None,
        metavar="DIR",
        help="also write the same incident in the platform's export shapes into DIR "
        "(request listing, logs, app events, runner listing; see docs/formats.md)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.simulate import DEFAULT_START, list_scenarios, simulate

    if args.list:
        for name, desc in list_scenarios():
            print(f"{name:22s} {desc}")
        return 0
    if args.out is None:
        raise AnalyzerError("--out DIR is required (or --list)")
    if args.split_mb is not None and args.split_mb <= 0:
        raise AnalyzerError("--split-mb must be > 0")
    began = time.monotonic()
    res = simulate(
        args.out,
        args.scenarios,
        requests=args.requests,
        seed=args.seed,
        gz=args.gzip,
        split_mb=args.split_mb,
        start=args.start or DEFAULT_START,
    )
    took = time.monotonic() - began
    print(
        f"simulated {res.requests} requests, {res.attempts} attempts, {res.runners} runners "
        f"over {res.duration_s / 3600:.1f} h: {res.lines} lines in {len(res.files)} files, "
        f"{len(res.truth)} expected findings in {res.truth_path} ({took:.1f} s)"
    )
    if args.fal_export is not None:
        from analyzer.simulate.export_writer import read_native, write_export

        exported = write_export(read_native(args.out), args.fal_export)
        print(
            f"wrote the platform's export shapes to {args.fal_export}: {exported.items} request "
            f"items, {exported.log_lines} log lines, {exported.app_events} app events"
        )
    return 0
