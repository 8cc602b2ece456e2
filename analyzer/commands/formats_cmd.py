"""`analyzer formats`: the log formats `import` and `check` detect, in detection order."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "formats",
        help="list the log formats import and check detect",
        description="List the log formats `analyzer import` and `analyzer check` detect from a "
        "file's content, in the order they are tried. Force one with --format NAME. "
        "Details: docs/formats.md.",
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.importers.formats.catalogue import format_catalogue

    entries = format_catalogue()
    if args.json:
        print(json.dumps([{"name": n, "description": d} for n, d in entries], indent=2))
        return 0
    width = max(len(n) for n, _ in entries)
    print("Formats, in detection order (force one with --format NAME):")
    for name, description in entries:
        print(f"  {name:<{width}}  {description}")
    return 0
