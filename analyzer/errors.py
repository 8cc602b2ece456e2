"""Errors the user can cause and fix; the CLI prints them as one line and exits 2."""

from __future__ import annotations


class AnalyzerError(Exception):
    """Base of the errors reported to the user as one line (exit code 2)."""


class InputNotFoundError(AnalyzerError):
    """A path given on the command line does not exist or matches nothing."""


class InputUnreadableError(AnalyzerError):
    """A file exists but cannot be read or decompressed."""


class DatabaseLockedError(AnalyzerError):
    """Another process holds the DuckDB file open for writing."""


class UnknownFormatError(AnalyzerError):
    """A file matches none of the known log formats."""
