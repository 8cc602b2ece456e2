"""Format detection: which format a file is in, from its first kilobytes (not its name).

Each format has a sniffer over the decoded head of the file; the first that accepts wins, in
the order given (most specific first). A file that no sniffer accepts is an
:class:`~analyzer.errors.UnknownFormatError` naming every format tried.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from analyzer.errors import InputUnreadableError, UnknownFormatError

SNIFF_BYTES = 64 * 1024


class Sniffable(Protocol):
    """Anything with a ``name`` and a ``sniff(head) -> bool``."""

    @property
    def name(self) -> str: ...

    def sniff(self, head: str) -> bool: ...


def read_head(path: Path, size: int = SNIFF_BYTES) -> str:
    """The first ``size`` bytes of a file (decompressed for .gz/.zst), decoded leniently."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read(size)
        elif path.suffix == ".zst":
            import zstandard

            with path.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as fh:
                data = fh.read(size)
        else:
            with path.open("rb") as fh:
                data = fh.read(size)
    except (OSError, EOFError) as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc}") from None
    text = data.decode("utf-8", errors="replace")
    # a cut in the middle of a line: drop the partial last line unless it is the only one
    if len(data) == size and "\n" in text:
        text = text[: text.rfind("\n") + 1]
    return text.lstrip("\ufeff")


def detect(head: str, formats: Sequence[Sniffable]) -> str | None:
    """The name of the first format whose sniffer accepts ``head``, or None."""
    for fmt in formats:
        if fmt.sniff(head):
            return fmt.name
    return None


def detect_file(path: Path, formats: Sequence[Sniffable]) -> str:
    """The format of a file; an error naming the formats tried when none matches."""
    name = detect(read_head(path), formats)
    if name is None:
        tried = ", ".join(f.name for f in formats)
        raise UnknownFormatError(
            f"{path}: matches no known format (tried: {tried}); use --format NAME to force one"
        )
    return name
