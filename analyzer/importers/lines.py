"""Stream a file as chunks of numbered lines (Arrow tables), hashing the bytes read.

Lines are never turned into Python objects one by one: each block of bytes is decoded once
(invalid UTF-8 becomes U+FFFD, so such a line is kept, usually rejected as not JSON) and
split into lines by Arrow's vectorised ``split_pattern``; line numbers are a NumPy range.
A block always ends on a line boundary (the partial tail is carried to the next block).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.importers.redact import SCHEME_HINTS

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK_BYTES = 32 * 1024 * 1024
HASH_NAME = "sha256"


def new_hasher() -> _Hash:
    return hashlib.new(HASH_NAME)


@dataclass
class LineChunk:
    """Consecutive lines ``first_line .. first_line + len - 1`` of a file."""

    table: pa.Table  # columns line_no (int64), line (large_string), hint (bool)
    first_line: int
    count: int
    nbytes: int
    end_offset: int = 0
    hash_state: _Hash | None = None


@dataclass
class LineReader:
    """Reads ``stream`` from its current position; ``first_line`` numbers the first line.

    ``limit`` caps the bytes read (the file size when the import started, so a file that
    grows during the import is read up to a consistent point). ``hasher``, if given, is
    updated with the bytes of every chunk handed out; each chunk carries the offset just past
    its last line (``end_offset``, relative to where reading started) and a copy of the hash
    state at that point (``hash_state``), so a caller can record how far it got.
    """

    stream: BinaryIO
    first_line: int = 1
    limit: int | None = None
    hasher: _Hash | None = None
    chunk_bytes: int = CHUNK_BYTES
    bytes_read: int = 0
    consumed: int = 0  # bytes of whole lines handed out so far
    lines_read: int = 0
    _strip_bom: bool = field(default=True, repr=False)

    def _read(self, n: int) -> bytes:
        if self.limit is not None:
            n = min(n, self.limit - self.bytes_read)
            if n <= 0:
                return b""
        data = self.stream.read(n)
        self.bytes_read += len(data)
        return data

    def chunks(self) -> Iterator[LineChunk]:
        carry = b""
        next_line = self.first_line
        while True:
            block = self._read(self.chunk_bytes)
            at_eof = not block
            data = carry + block
            if not at_eof:
                cut = data.rfind(b"\n")
                if cut < 0:  # a line longer than a block: keep reading
                    carry = data
                    continue
                carry = data[cut + 1 :]
                data = data[: cut + 1]
            else:
                carry = b""
                if not data:
                    return
            if self.hasher is not None:
                self.hasher.update(data)
            self.consumed += len(data)
            chunk = self._to_chunk(data, next_line)
            chunk.end_offset = self.consumed
            chunk.hash_state = self.hasher.copy() if self.hasher is not None else None
            next_line += chunk.count
            self.lines_read += chunk.count
            yield chunk
            if at_eof:
                return

    def _to_chunk(self, data: bytes, first_line: int) -> LineChunk:
        if self._strip_bom:
            self._strip_bom = False
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
        return make_chunk(data, first_line)


def empty_lines() -> pa.Table:
    """A chunk table with no lines."""
    return pa.table(
        {
            "line_no": pa.array([], pa.int64()),
            "line": pa.array([], pa.large_string()),
            "hint": pa.array([], pa.bool_()),
        }
    )


_HINT_BYTES = np.frombuffer(
    "".join(sorted(h for h in SCHEME_HINTS if len(h) == 1)).encode(), dtype=np.uint8
)
_HINT_WORDS = tuple(h.encode() for h in SCHEME_HINTS if len(h) > 1)


def scheme_hints(data: bytes, buf: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per line: whether it contains one of :data:`~analyzer.importers.redact.SCHEME_HINTS`.

    Vectorised over the whole block (NumPy for the single characters, ``bytes.find`` for the
    rare words), so the SQL redaction only looks at the lines that may need it.
    """
    count = len(offsets) - 1
    mask = np.zeros(len(buf), dtype=bool)
    for byte in _HINT_BYTES:
        mask |= buf == byte
    hits = np.flatnonzero(mask)
    extra: list[int] = []
    for word in _HINT_WORDS:
        pos = data.find(word)
        while pos >= 0:
            extra.append(pos)
            pos = data.find(word, pos + 1)
    if extra:
        hits = np.concatenate([hits, np.array(extra, dtype=np.int64)])
    flags = np.zeros(count, dtype=bool)
    if len(hits):
        flags[np.searchsorted(offsets, hits, side="right") - 1] = True
    return flags


_WHITESPACE = np.array([9, 10, 11, 12, 13, 32], dtype=np.uint8)


def make_chunk(data: bytes, first_line: int) -> LineChunk:
    """Split ``data`` (whole lines) into an Arrow table of its non-blank lines.

    The line strings are zero-copy views into ``data`` (offsets found with NumPy); each keeps
    its trailing newline. Blank lines (only whitespace) are dropped but still counted, so
    line numbers stay those of the file.
    """
    nbytes = len(data)
    if not data:
        return LineChunk(table=empty_lines(), first_line=first_line, count=0, nbytes=0)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # keep the line; bad bytes become U+FFFD
        data = data.decode("utf-8", errors="replace").encode("utf-8")
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    if len(ends) == 0 or ends[-1] != len(buf):
        ends = np.append(ends, len(buf))  # a last line without a newline
    count = len(ends)
    offsets = np.empty(count + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends
    lines = pa.LargeStringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(data))
    numbers = np.arange(first_line, first_line + count, dtype=np.int64)
    starts = offsets[:-1]
    maybe_blank = np.flatnonzero(np.isin(buf[starts], _WHITESPACE))
    table = pa.table({"line_no": numbers, "line": lines, "hint": scheme_hints(data, buf, offsets)})
    if len(maybe_blank):
        trimmed = pc.utf8_trim_whitespace(lines.take(pa.array(maybe_blank)))
        blank = maybe_blank[np.asarray(pc.equal(trimmed, "").to_numpy(zero_copy_only=False))]
        if len(blank):
            keep = np.ones(count, dtype=bool)
            keep[blank] = False
            table = table.filter(pa.array(keep))
    return LineChunk(table=table, first_line=first_line, count=count, nbytes=nbytes)
