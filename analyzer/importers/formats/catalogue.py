"""The list of every format (native first, then the foreign ones) for ``analyzer formats``."""

from __future__ import annotations

from analyzer.importers.formats import FOREIGN_FORMATS

NATIVE_DESCRIPTION = "the analyzer's native event log (JSON lines with ts, source, event)"


def format_catalogue() -> list[tuple[str, str]]:
    """(name, description) of every format, in detection order."""
    return [("native", NATIVE_DESCRIPTION)] + [(f.name, f.description) for f in FOREIGN_FORMATS]
