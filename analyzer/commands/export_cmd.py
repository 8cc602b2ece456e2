"""`analyzer export DB --parquet DIR`: the database's tables as Parquet, for other engines."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write the database's tables as Parquet files (for other engines)",
        description="Write every table of DB (events, rejected, imports, meta, the replay "
        "tables, findings, summaries) as DIR/<table>.parquet. Views (timeline) are not written.",
    )
    p.add_argument("db", metavar="DB", help="the analyzer database")
    p.add_argument("--parquet", metavar="DIR", required=True, help="folder for the Parquet files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.shard.export import export_parquet

    written = export_parquet(args.db, args.parquet)
    for item in written:
        print(f"{item.table:<32} {item.rows:>12,} rows  {item.path}")
    print(f"analyzer: {len(written)} tables written to {args.parquet}", file=sys.stderr)
    return 0
