"""`analyzer schema`: print the JSON Schema of the native event log."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of the native log format",
        description="Print the JSON Schema of one line of the native event log (format version 1).",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.events import json_schema  # pydantic: imported only for this command

    print(json.dumps(json_schema(), indent=2))
    return 0
