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

if TYPE_CHECKING:
    from hashlib import _Hash

CHUNK_BYTES = 32 * 1024 * 1024
HASH_NAME = "sha256"


def new_hasher() -> _Hash:
    return hashlib.new(HASH_NAME)


@dataclass
class LineChunk:
    """Consecutive lines ``first_line .. first_line + len - 1`` of a file."""

    table: pa.Table  # columns line_no (int64), line (large_string)
    first_line: int
    count: int
    nbytes: int


@dataclass
class LineReader:
    """Reads ``stream`` from its current position; ``first_line`` numbers the first line.

    ``limit`` caps the bytes read (the file size when the import started, so a file that
    grows during the import is read up to a consistent point). ``hasher``, if given, is
    updated with every byte read.
    """

    stream: BinaryIO
    first_line: int = 1
    limit: int | None = None
    hasher: _Hash | None = None
    chunk_bytes: int = CHUNK_BYTES
    bytes_read: int = 0
    lines_read: int = 0
    _strip_bom: bool = field(default=True, repr=False)

    def _read(self, n: int) -> bytes:
        if self.limit is not None:
            n = min(n, self.limit - self.bytes_read)
            if n <= 0:
                return b""
        data = self.stream.read(n)
        if self.hasher is not None and data:
            self.hasher.update(data)
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
            chunk = self._to_chunk(data, next_line)
            next_line += chunk.count
            self.lines_read += chunk.count
            yield chunk
            if at_eof:
                return

    def _to_chunk(self, data: bytes, first_line: int) -> LineChunk:
        text = data.decode("utf-8", errors="replace")
        if self._strip_bom:
            self._strip_bom = False
            if text.startswith("\ufeff"):
                text = text[1:]
        if text.endswith("\n"):
            text = text[:-1]
        lines = pc.split_pattern(pa.array([text], pa.large_string()), "\n").flatten()
        count = len(lines)
        numbers = pa.array(np.arange(first_line, first_line + count, dtype=np.int64))
        table = pa.table({"line_no": numbers, "line": lines})
        return LineChunk(table=table, first_line=first_line, count=count, nbytes=len(data))
