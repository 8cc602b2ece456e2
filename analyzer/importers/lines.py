"""Stream a file as chunks of numbered lines (Arrow record batches), hashing the bytes read.

Lines are never turned into Python objects one by one. Each block of bytes is read straight
into a NumPy buffer (``readinto``, no intermediate ``bytes``), NumPy finds the newlines, and
the block becomes an Arrow ``large_string`` array *over the same memory* (offsets only), with
line numbers from ``np.arange``. A block always ends on a line boundary (the partial tail is
carried to the next block). Invalid UTF-8 becomes U+FFFD (the line is kept, usually rejected
as not JSON); a block of pure ASCII skips that check.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK_BYTES = 32 * 1024 * 1024
# a longer line is rejected without ever being held whole (DuckDB's maximum_object_size is
# the same 16 MiB); $ANALYZER_MAX_LINE_BYTES changes it
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_LINE_ENV = "ANALYZER_MAX_LINE_BYTES"
PREVIEW_BYTES = 2000
HASH_NAME = "sha256"
LINES_SCHEMA = pa.schema([("line_no", pa.int64()), ("line", pa.large_string())])
_BOM = b"\xef\xbb\xbf"


def new_hasher() -> _Hash:
    return hashlib.new(HASH_NAME)


@dataclass
class LineChunk:
    """Consecutive lines ``first_line .. first_line + count - 1`` of a file.

    ``table`` holds the non-blank ones (blank lines are counted in ``count`` but dropped).
    ``start_offset``/``end_offset`` are relative to where the reader started.
    """

    table: pa.Table  # columns line_no (int64), line (large_string)
    first_line: int
    count: int
    nbytes: int
    start_offset: int = 0
    end_offset: int = 0
    hash_state: _Hash | None = None
    # lines over the size limit, left out of ``table``: (line number, first bytes, length)
    oversize: list[tuple[int, str, int]] = field(default_factory=list)


def max_line_bytes() -> int:
    """The line-size limit in force (:data:`MAX_LINE_BYTES` or ``$ANALYZER_MAX_LINE_BYTES``)."""
    text = os.environ.get(MAX_LINE_ENV)
    return int(text) if text and text.isdigit() and int(text) > 0 else MAX_LINE_BYTES


@dataclass
class LineReader:
    """Reads ``stream`` from its current position; ``first_line`` numbers the first line.

    ``limit`` caps the bytes read (the file size when the import started, so a file that
    grows during the import is read up to a consistent point). ``hasher``, if given, is
    updated with the bytes of every chunk handed out; each chunk carries the offset just past
    its last line (``end_offset``, relative to where reading started) and a copy of the hash
    state at that point (``hash_state``), so a caller can record how far it got.
    ``strip_bom``: drop a UTF-8 byte order mark at the start (only where a file starts).
    """

    stream: BinaryIO
    first_line: int = 1
    limit: int | None = None
    hasher: _Hash | None = None
    chunk_bytes: int = CHUNK_BYTES
    strip_bom: bool = True
    max_line: int = field(default_factory=max_line_bytes)
    bytes_read: int = 0
    consumed: int = 0  # bytes of whole lines handed out so far
    lines_read: int = 0
    _eof: bool = field(default=False, repr=False)

    def _fill(self, view: memoryview) -> int:
        """Read into ``view`` until it is full or the input ends; the bytes read."""
        want = len(view)
        if self.limit is not None:
            want = max(0, min(want, self.limit - self.bytes_read))
        got = 0
        while got < want and not self._eof:
            n = self.stream.readinto(view[got:want])  # type: ignore[attr-defined]
            if not n:
                self._eof = True
                break
            got += n
        self.bytes_read += got
        if self.limit is not None and self.bytes_read >= self.limit:
            self._eof = True
        return got

    def chunks(self) -> Iterator[LineChunk]:
        carry = np.empty(0, dtype=np.uint8)
        next_line = self.first_line
        size = self.chunk_bytes
        while True:
            buf = np.empty(len(carry) + size, dtype=np.uint8)
            buf[: len(carry)] = carry
            got = self._fill(buf[len(carry) :].data)
            total = len(carry) + got
            if total == 0:
                return
            newlines = np.flatnonzero(buf[:total] == 10)
            if not self._eof:
                if len(newlines) == 0 and total > self.max_line:  # too long: skip it
                    chunk, carry = self._skip_line(buf[:total], next_line)
                    size = self.chunk_bytes
                    next_line += 1
                    self.lines_read += 1
                    yield chunk
                    if self._eof and len(carry) == 0:
                        return
                    continue
                if len(newlines) == 0:  # a line longer than a block: keep reading
                    carry = buf[:total]
                    size = max(size, total)
                    continue
                cut = int(newlines[-1]) + 1
                carry = buf[cut:total].copy()
            else:
                cut = total
                carry = np.empty(0, dtype=np.uint8)
            data = buf[:cut]
            if self.hasher is not None:
                self.hasher.update(data.data)
            chunk = self._to_chunk(data, newlines, next_line)
            chunk.start_offset = self.consumed
            self.consumed += cut
            chunk.end_offset = self.consumed
            chunk.hash_state = self.hasher.copy() if self.hasher is not None else None
            next_line += chunk.count
            self.lines_read += chunk.count
            yield chunk
            if self._eof and len(carry) == 0:
                return

    def _skip_line(self, head: np.ndarray, line_no: int) -> tuple[LineChunk, np.ndarray]:
        """Read past the rest of a line over the limit, a block at a time (never holding it):
        a chunk of that one line (no table row, in ``oversize``) and the bytes after it."""
        preview = codecs.decode(bytes(head[:PREVIEW_BYTES]), "utf-8", errors="replace")
        if self.hasher is not None:
            self.hasher.update(head.data)
        skipped = len(head)
        rest = np.empty(0, dtype=np.uint8)
        block = np.empty(self.chunk_bytes, dtype=np.uint8)
        while True:
            got = self._fill(block.data)
            if not got:
                break
            found = np.flatnonzero(block[:got] == 10)
            cut = int(found[0]) + 1 if len(found) else got
            if self.hasher is not None:
                self.hasher.update(block[:cut].data)
            skipped += cut
            if len(found):
                rest = block[cut:got].copy()
                break
        chunk = LineChunk(
            table=empty_lines(),
            first_line=line_no,
            count=1,
            nbytes=skipped,
            oversize=[(line_no, preview, skipped)],
        )
        chunk.start_offset = self.consumed
        self.consumed += skipped
        chunk.end_offset = self.consumed
        chunk.hash_state = self.hasher.copy() if self.hasher is not None else None
        self.strip_bom = False
        return chunk, rest

    def _to_chunk(self, data: np.ndarray, newlines: np.ndarray, first_line: int) -> LineChunk:
        skip = 0
        if self.strip_bom:
            self.strip_bom = False
            if bytes(data[:3]) == _BOM:
                skip = 3
        return make_chunk(data, first_line, newlines=newlines, skip=skip, max_line=self.max_line)


def numeric_array(values: np.ndarray) -> pa.Array:
    """An Arrow array over a NumPy array of numbers, zero-copy (``pa.array`` would import
    pandas, half a second of start-up for every command)."""
    values = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def empty_lines() -> pa.Table:
    """A chunk table with no lines."""
    return LINES_SCHEMA.empty_table()


_WHITESPACE = np.array([9, 10, 11, 12, 13, 32], dtype=np.uint8)


def make_chunk(
    data: np.ndarray | bytes,
    first_line: int,
    *,
    newlines: np.ndarray | None = None,
    skip: int = 0,
    max_line: int | None = None,
) -> LineChunk:
    """Split ``data`` (whole lines) into an Arrow table of its non-blank lines.

    The line strings are zero-copy views into ``data`` (offsets found with NumPy); each keeps
    its trailing newline. Blank lines (only whitespace) are dropped but still counted, so
    line numbers stay those of the file. ``newlines`` (positions of ``\\n`` in ``data``) may be
    given when already known; ``skip`` bytes at the start are left out of the first line.
    """
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    nbytes = len(buf)
    if nbytes == 0:
        return LineChunk(table=empty_lines(), first_line=first_line, count=0, nbytes=0)
    if buf.max() >= 0x80:
        try:
            codecs.decode(buf.data, "utf-8")
        except UnicodeDecodeError:  # keep the line; bad bytes become U+FFFD
            fixed = codecs.decode(buf.data, "utf-8", errors="replace").encode("utf-8")
            return make_chunk(fixed, first_line, skip=skip, max_line=max_line)
    if newlines is None:
        newlines = np.flatnonzero(buf == 10)
    count = len(newlines) + (0 if len(newlines) and newlines[-1] == nbytes - 1 else 1)
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = skip
    offsets[1 : len(newlines) + 1] = newlines + 1
    offsets[-1] = nbytes  # a last line without a newline (or the same end again)
    lines = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(buf))
    numbers = numeric_array(np.arange(first_line, first_line + count, dtype=np.int64))
    table = pa.Table.from_arrays([numbers, lines], schema=LINES_SCHEMA)
    starts = offsets[:-1]
    oversize: list[tuple[int, str, int]] = []
    keep_long = None
    if max_line is not None:
        lengths = offsets[1:] - starts
        long_lines = np.flatnonzero(lengths > max_line)
        if len(long_lines):
            keep_long = np.ones(count, dtype=bool)
            keep_long[long_lines] = False
            for i in long_lines:
                head = bytes(buf[starts[i] : starts[i] + PREVIEW_BYTES])
                text = codecs.decode(head, "utf-8", errors="replace")
                oversize.append((first_line + int(i), text, int(lengths[i])))
    maybe_blank = np.flatnonzero(np.isin(buf[starts.clip(max=nbytes - 1)], _WHITESPACE))
    if len(maybe_blank):  # lines starting with whitespace (rare): are they all whitespace?
        not_space = np.cumsum(~np.isin(buf, _WHITESPACE), dtype=np.int64)
        before = np.where(starts[maybe_blank] > 0, not_space[starts[maybe_blank] - 1], 0)
        inside = not_space[offsets[maybe_blank + 1] - 1] - before
        blank = maybe_blank[(inside == 0) | (starts[maybe_blank] >= nbytes)]
        if len(blank):
            keep_long = np.ones(count, dtype=bool) if keep_long is None else keep_long
            keep_long[blank] = False
    if keep_long is not None:
        table = table.take(numeric_array(np.flatnonzero(keep_long)))
    return LineChunk(
        table=table, first_line=first_line, count=count, nbytes=nbytes, oversize=oversize
    )
