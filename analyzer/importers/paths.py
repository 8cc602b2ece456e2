"""Which files a list of command-line paths means, and how to read them.

A path may be a file, a directory (searched recursively) or a glob (``logs/**/*.jsonl``).
Directory scans skip every file or folder whose name starts with ``_`` or ``.`` (so a
simulator's ``_ground_truth.jsonl`` or an editor's ``.swp`` never gets imported) and keep
only log files: ``.jsonl``, ``.ndjson``, ``.json``, ``.log`` and ``.txt``, plain or compressed
with ``.gz`` / ``.zst``. A file named explicitly is always taken, whatever its name.

Compressed files are decompressed as a stream (gzip from the standard library, zstd through
``zstandard``), so memory stays flat whatever the size.
"""

from __future__ import annotations

import glob
import gzip
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, cast

from analyzer.errors import InputNotFoundError, InputUnreadableError

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log", ".txt")
COMPRESSED_SUFFIXES = (".gz", ".zst")
_GLOB_CHARS = set("*?[")


def is_log_name(name: str) -> bool:
    """A file name a directory scan imports (``x.jsonl``, ``x.ndjson.gz``, ...)."""
    lower = name.lower()
    for comp in COMPRESSED_SUFFIXES:
        if lower.endswith(comp):
            lower = lower[: -len(comp)]
            break
    return lower.endswith(LOG_SUFFIXES)


def _hidden(name: str) -> bool:
    return name.startswith(("_", "."))


def scan_directory(root: Path) -> list[Path]:
    """Log files under ``root``, recursively, sorted; names starting with ``_``/``.`` skipped."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        found.extend(
            Path(dirpath) / f for f in sorted(filenames) if not _hidden(f) and is_log_name(f)
        )
    return found


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files, directories and globs into a sorted, de-duplicated list of files.

    Raises :class:`InputNotFoundError` for a path that does not exist or a glob or directory
    that matches no log file.
    """
    result: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        text = os.fspath(item)
        candidates: list[Path]
        path = Path(text)
        if path.is_dir():
            candidates = scan_directory(path)
            if not candidates:
                raise InputNotFoundError(f"no log files (*.jsonl, *.ndjson, ...) under {text}")
        elif path.exists():
            candidates = [path]
        elif _GLOB_CHARS & set(text):
            matches = sorted(glob.glob(text, recursive=True))
            candidates = []
            for match in matches:
                mp = Path(match)
                if mp.is_dir():
                    candidates.extend(scan_directory(mp))
                elif not _hidden(mp.name):
                    candidates.append(mp)
            if not candidates:
                raise InputNotFoundError(f"no file matches {text}")
        else:
            raise InputNotFoundError(f"no such file or directory: {text}")
        for cand in candidates:
            resolved = cand.resolve()
            if resolved not in seen:
                seen.add(resolved)
                result.append(resolved)
    return result


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading, decompressing ``.gz`` / ``.zst`` on the fly."""
    try:
        if path.name.lower().endswith(".gz"):
            return cast(BinaryIO, gzip.open(path, "rb"))
        if path.name.lower().endswith(".zst"):
            import zstandard

            raw = path.open("rb")
            return cast(BinaryIO, zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
        return path.open("rb")
    except OSError as exc:
        raise InputUnreadableError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_errors() -> tuple[type[BaseException], ...]:
    import zlib

    import zstandard

    return (OSError, EOFError, zlib.error, zstandard.ZstdError)


READ_ERRORS: tuple[type[BaseException], ...] = _read_errors()
"""What reading or decompressing a file may raise (reported as InputUnreadableError)."""


def is_compressed(path: Path) -> bool:
    return path.name.lower().endswith(COMPRESSED_SUFFIXES)
