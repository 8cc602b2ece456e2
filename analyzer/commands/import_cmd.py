"""`analyzer import PATH... [--db FILE]` (being built: see analyzer/importers)."""

from __future__ import annotations

import argparse
from typing import Any

from analyzer.store import DEFAULT_DB


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="import log files into the database")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--db", default=DEFAULT_DB)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("analyzer import: not built yet")
    return 2
