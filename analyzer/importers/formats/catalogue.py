"""The list of every registered format, in detection order, for ``analyzer formats``."""

from __future__ import annotations


def format_catalogue() -> list[tuple[str, str]]:
    """(name, description) of every format the importer knows, in detection order."""
    from analyzer.importers.registry import formats

    return [(f.name, f.description) for f in formats()]
