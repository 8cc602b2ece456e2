"""Idempotent, incremental imports: the ``imports`` table decides what to read.

Each import of a file records its absolute path, its size, and a SHA-256 of the bytes imported
so far (the whole prefix ``0 .. size_bytes``, compressed bytes for ``.gz``/``.zst``), plus the
line range it read. On the next import of the same path:

- same size and same hash: **unchanged**, nothing is read or added;
- larger, and the first ``size_bytes`` bytes still hash the same: **appended**, only the new
  bytes are read (for compressed files, the stream is decompressed and the lines already
  imported are skipped), and line numbers continue where the last import stopped. If the last
  line read before had no newline yet (a writer was in the middle of it), its rows are
  forgotten and it is read again, whole, with what follows;
- anything else (smaller, the old prefix changed: a rotated or rewritten file, or a
  different format forced, or an interrupted import of a compressed file):
  **replaced**, the file's earlier events, rejected lines and import records are deleted
  and the whole file is imported again from line 1, so provenance (file, line) always points
  into the current content.

A long import commits after every segment of the file (about 512 MiB of input, one INSERT
statement each) with an ``imports`` row recording how far it got (bounded memory: DuckDB
keeps a transaction's rows in memory until it commits). If it is interrupted, what was
committed stays, and the next import of the file resumes after it (plain files) or replaces
it (compressed files: the recorded hash is ``partial``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analyzer.errors import InputUnreadableError
from analyzer.importers.lines import new_hasher
from analyzer.importers.paths import is_compressed

if TYPE_CHECKING:
    from hashlib import _Hash

_BLOCK = 8 * 1024 * 1024


@dataclass
class Plan:
    """What to read of a file: everything, the tail, or nothing."""

    status: str  # imported | appended | replaced | unchanged
    size: int  # bytes of the file now (compressed size for .gz/.zst)
    first_line: int = 1  # first line number to import
    offset: int = 0  # plain files: byte offset to start reading at
    hasher: _Hash | None = None  # plain files: hash state after ``offset`` bytes
    content_hash: str | None = None  # compressed files: hash of the whole file


def hash_prefix(path: Path, size: int) -> _Hash:
    """SHA-256 state after the first ``size`` bytes of the (raw, undecompressed) file."""
    hasher = new_hasher()
    remaining = size
    try:
        with path.open("rb") as fh:
            while remaining > 0:
                block = fh.read(min(_BLOCK, remaining))
                if not block:
                    break
                hasher.update(block)
                remaining -= len(block)
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc.strerror or exc}") from None
    return hasher


def plan_file(
    con: duckdb.DuckDBPyConnection, path: Path, format_name: str, *, appendable: bool = True
) -> Plan:
    """Compare the file with its last import and decide what to read.

    A format that cannot resume in the middle of a file (``appendable`` false: e.g. JSON
    pages) gets a grown file as ``replaced`` instead of ``appended``.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows = con.execute(
        "SELECT size_bytes, content_hash, first_line + lines - 1, format FROM imports "
        "WHERE path = ? ORDER BY import_id DESC LIMIT 1",
        [str(path)],
    ).fetchall()
    prev = rows[0] if rows else None
    compressed = is_compressed(path)
    if prev is None:
        if compressed:
            return Plan("imported", size, content_hash=hash_prefix(path, size).hexdigest())
        return Plan("imported", size, hasher=new_hasher())
    prev_size, prev_hash, prev_last_line = int(prev[0]), str(prev[1]), int(prev[2] or 0)
    if size >= prev_size and prev[3] == format_name:
        prefix = hash_prefix(path, prev_size)
        if prefix.hexdigest() == prev_hash:
            if size == prev_size:
                return Plan("unchanged", size, first_line=prev_last_line + 1)
            if not appendable:
                pass  # fall through: replaced
            elif compressed:
                full = hash_prefix(path, size).hexdigest()
                return Plan("appended", size, first_line=prev_last_line + 1, content_hash=full)
            else:
                start = line_start(path, prev_size)
                if start == prev_size:
                    return Plan(
                        "appended",
                        size,
                        first_line=prev_last_line + 1,
                        offset=prev_size,
                        hasher=prefix,
                    )
                # the last line read before had no newline yet (a writer was in the middle
                # of it): forget what it gave and read it again, whole, with what follows
                forget_lines(con, path, prev_last_line)
                return Plan(
                    "appended",
                    size,
                    first_line=prev_last_line,
                    offset=start,
                    hasher=hash_prefix(path, start),
                )
    forget_file(con, path)
    if compressed:
        return Plan("replaced", size, content_hash=hash_prefix(path, size).hexdigest())
    return Plan("replaced", size, hasher=new_hasher())


def forget_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Delete everything earlier imports of ``path`` brought (events, rejected, records)."""
    name = str(path)
    con.execute("DELETE FROM events WHERE file = ?", [name])
    con.execute("DELETE FROM rejected WHERE file = ?", [name])
    con.execute("DELETE FROM imports WHERE path = ?", [name])


def forget_lines(con: duckdb.DuckDBPyConnection, path: Path, first_line: int) -> None:
    """Delete the events and rejected lines of ``path`` from line ``first_line`` on."""
    name = str(path)
    con.execute("DELETE FROM events WHERE file = ? AND line_no >= ?", [name, first_line])
    con.execute("DELETE FROM rejected WHERE file = ? AND line_no >= ?", [name, first_line])


def line_start(path: Path, end: int) -> int:
    """Where the line holding byte ``end - 1`` starts: ``end`` itself when that byte is a
    newline (or ``end`` is 0), else just after the newline before it (0 if none)."""
    if end <= 0:
        return 0
    try:
        with path.open("rb") as fh:
            pos = end
            while pos > 0:
                begin = max(0, pos - _BLOCK)
                fh.seek(begin)
                block = fh.read(pos - begin)
                if pos == end and block.endswith(b"\n"):
                    return end
                cut = block.rfind(b"\n")
                if cut >= 0:
                    return begin + cut + 1
                pos = begin
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc.strerror or exc}") from None
    return 0


def next_import_id(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT coalesce(max(import_id), 0) + 1 FROM imports").fetchall()
    return int(rows[0][0]) if rows else 1


def record_import(
    con: duckdb.DuckDBPyConnection,
    *,
    import_id: int,
    path: Path,
    format_name: str,
    size: int,
    content_hash: str,
    first_line: int,
    lines: int,
    events: int,
    rejected: int,
    naive: int,
    unknown: int,
    seconds: float,
) -> None:
    """Insert (or update: progress checkpoints) the ``imports`` row of one file import."""
    con.execute(
        "INSERT OR REPLACE INTO imports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            import_id,
            str(path),
            format_name,
            size,
            content_hash,
            first_line,
            lines,
            events,
            rejected,
            naive,
            unknown,
            datetime.now(UTC),
            seconds,
        ],
    )
