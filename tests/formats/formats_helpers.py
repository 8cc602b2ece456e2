"""Shared helpers of the format tests: parse a file with one format, pick rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analyzer.importers.formats import FOREIGN_FORMATS
from analyzer.importers.formats.base import ParseContext, Rejected, Row

FIXTURES = Path(__file__).parent / "fixtures"
BY_NAME = {f.name: f for f in FOREIGN_FORMATS}


def parse_file(name: str, path: Path) -> tuple[list[Row], list[Rejected]]:
    """Every mapped row and every rejection of ``path`` read as format ``name``."""
    rows: list[Row] = []
    rejected: list[Rejected] = []
    with path.open(encoding="utf-8") as fh:
        for item in BY_NAME[name].parse(fh, ParseContext(path)):
            (rejected if isinstance(item, Rejected) else rows).append(item)
    return rows, rejected


def pick(rows: list[Row], **where: Any) -> list[Row]:
    """Rows whose fields equal every ``where`` value."""
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]
