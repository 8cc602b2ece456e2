"""The format registry: which importer reads a file.

A format is any object with these members (the :class:`Format` protocol)::

    name: str                      # also the ``origin`` of its events and imports.format
    description: str               # one line, shown by ``analyzer formats``
    appendable: bool               # True: a grown file is read from where it stopped;
                                   # False: a changed file is re-imported whole (replaced)
    def sniff(self, head: bytes, path: Path) -> bool: ...
        # head = the first 64 KiB of the file, decompressed; True if this format reads it
    def import_file(self, con, path: Path, ctx: ImportContext) -> FileResult: ...
        # insert the file's events/rejected rows (already inside a transaction), set
        # ctx.content_hash if the format computes it, return the counts; a format reading
        # very large files may call ctx.checkpoint(...) to commit its progress

Plug a new format in with :func:`register` (detection tries formats in registration order,
the native format first), or force one with ``import_paths(..., fmt=NAME)`` /
``analyzer import --format NAME``. A format whose records are mapped in Python can skip most
of this by building rows and calling :func:`analyzer.importers.rows.insert_rows`, which
allocates ``event_id``, redacts secrets, fills provenance and returns the counts.

:func:`analyzer.importers.import_paths` does the rest for every format: path expansion,
decompression, the ``imports`` bookkeeping (unchanged files are skipped), one transaction per
file (or per progress checkpoint), and the summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import duckdb

from analyzer.errors import UnknownFormatError
from analyzer.importers import native
from analyzer.importers.bookkeeping import Plan
from analyzer.importers.paths import READ_ERRORS, open_binary
from analyzer.importers.summary import FileResult

if TYPE_CHECKING:
    from analyzer.progress import Progress

SNIFF_BYTES = 64 * 1024
_NATIVE_NAME = re.compile(r"\.(jsonl|ndjson)(\.gz|\.zst)?$", re.IGNORECASE)


@dataclass
class ImportContext:
    """What :func:`import_paths` hands to a format for one file.

    ``checkpoint(result, size, content_hash)``, when set, commits what the format inserted
    so far together with an ``imports`` row saying how far it got (``size`` bytes of the file,
    hashing to ``content_hash``), and opens a new transaction: long imports stay within a
    bounded memory, and an interrupted one resumes from there (see :mod:`.bookkeeping`).
    """

    import_id: int
    plan: Plan
    progress: Progress | None = None
    content_hash: str | None = None
    checkpoint: Callable[[FileResult, int, str], None] | None = None


class Format(Protocol):
    """A log format the importer can read (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def appendable(self) -> bool: ...

    def sniff(self, head: bytes, path: Path) -> bool: ...

    def import_file(
        self, con: duckdb.DuckDBPyConnection, path: Path, ctx: ImportContext
    ) -> FileResult: ...


@dataclass(frozen=True)
class SimpleFormat:
    """A :class:`Format` built from plain functions."""

    name: str
    description: str
    sniff_fn: Callable[[bytes, Path], bool]
    import_fn: Callable[[duckdb.DuckDBPyConnection, Path, ImportContext], FileResult]
    appendable: bool = False

    def sniff(self, head: bytes, path: Path) -> bool:
        return self.sniff_fn(head, path)

    def import_file(
        self, con: duckdb.DuckDBPyConnection, path: Path, ctx: ImportContext
    ) -> FileResult:
        return self.import_fn(con, path, ctx)


NATIVE = SimpleFormat(native.NAME, native.DESCRIPTION, native.sniff, native.import_file, True)

_FORMATS: dict[str, Format] = {NATIVE.name: NATIVE}


def register(fmt: Format) -> None:
    """Add a format; refuses a duplicate name."""
    if fmt.name in _FORMATS:
        raise ValueError(f"format {fmt.name!r} is already registered")
    _FORMATS[fmt.name] = fmt


def _register_foreign() -> None:
    """The foreign formats of issue 8 (analyzer/importers/formats), tried after native."""
    from analyzer.importers.formats.plugin import REGISTERED

    for fmt in REGISTERED:
        if fmt.name not in _FORMATS:
            register(fmt)


def formats() -> list[Format]:
    """All registered formats, in detection order."""
    return list(_FORMATS.values())


def get_format(name: str) -> Format:
    """The format called ``name``; an error naming the known ones otherwise."""
    try:
        return _FORMATS[name]
    except KeyError:
        known = ", ".join(_FORMATS)
        raise UnknownFormatError(f"unknown format {name!r} (known: {known})") from None


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of a file, decompressed."""
    from analyzer.errors import InputUnreadableError

    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except READ_ERRORS as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc}") from None


def detect(path: Path) -> Format:
    """The first registered format whose sniffer accepts the file.

    An empty file is native (it imports nothing), and so is a ``.jsonl``/``.ndjson`` file no
    sniffer recognises (its lines are then rejected one by one with their reasons, rather
    than the whole file refused).
    """
    head = read_head(path)
    if not head.strip():
        return NATIVE
    for fmt in _FORMATS.values():
        if fmt.sniff(head, path):
            return fmt
    if _NATIVE_NAME.search(path.name):
        return NATIVE
    tried = ", ".join(_FORMATS)
    raise UnknownFormatError(
        f"{path}: matches no known format (tried: {tried}); use --format NAME to force one"
    )


_register_foreign()
