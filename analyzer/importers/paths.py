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

import contextlib
import errno
import glob
import gzip
import os
import re
import stat
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
    """Log files under ``root``, recursively, sorted; names starting with ``_``/``.`` skipped.

    Symbolic links to folders are not followed (no loops); special files (FIFOs, sockets,
    devices) are skipped, they are no logs.
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not _hidden(d))
        for name in sorted(filenames):
            if not _hidden(name) and is_log_name(name):
                path = Path(dirpath) / name
                with contextlib.suppress(OSError):  # a dangling or looping link: left to check
                    if not stat.S_ISREG(path.stat().st_mode):
                        continue
                found.append(path)
    return found


def _segment_regex(part: str) -> str:
    """One name of a glob pattern as a regex: ``*``, ``?`` and ``[...]`` never match ``/``."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in part[i + 2 :]:
            end = part.index("]", i + 2)
            body = part[i + 1 : end]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a glob pattern: ``**`` any number of folders, ``*``/``?``/``[...]`` within
    one name; names starting with ``.`` are matched only by a pattern part starting with one."""
    parts = []
    for part in pattern.split("/"):
        if part == "**":
            parts.append("(?:[^/.][^/]*/)*")
            continue
        body = _segment_regex(part)
        parts.append(("" if part.startswith(".") else "(?![.])") + body + "/")
    text = "".join(parts)
    text = text + "[^/.][^/]*" if pattern.split("/")[-1] == "**" else text[:-1]
    return re.compile(text + r"\Z", re.DOTALL)


def glob_paths(pattern: str) -> list[Path]:
    """What ``pattern`` matches, sorted. With ``**`` the folders below the fixed prefix are
    walked following symbolic links, each real folder ONCE (a link loop adds nothing)."""
    if "**" not in pattern:
        return [Path(m) for m in sorted(glob.glob(pattern))]
    parts = pattern.split("/")
    fixed = next(i for i, p in enumerate(parts) if _GLOB_CHARS & set(p))
    root = "/".join(parts[:fixed]) or ("/" if pattern.startswith("/") else ".")
    if pattern.startswith("/") and fixed == 1:
        root = "/"
    rest = "/".join(parts[fixed:])
    regex = _glob_regex(rest)
    dotted = any(p.startswith(".") for p in parts[fixed:])
    matches: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames[:] = sorted(d for d in dirnames if dotted or not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel + "/"
        for name in [*dirnames, *sorted(filenames)]:
            if regex.match(prefix + name):
                matches.append(Path(dirpath) / name)
    return sorted(matches)


def _display(path: Path | str) -> str:
    """A path as text that can always be printed (invalid UTF-8 bytes as \\x escapes)."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def check_file(path: Path) -> Path:
    """``path`` resolved, if it is a file the importer can read; else a one-line error.

    Refused: a file name that is not valid UTF-8 (it could not be stored or shown), a
    symbolic link loop, anything but a regular file (a FIFO would block the import forever,
    a device never ends), and a file that reports size 0 but has content (``/proc``-style
    files: their size cannot be known, so a resumable import cannot be planned).
    """
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputUnreadableError(
            f"file name is not valid UTF-8: {_display(path)} (rename the file)"
        ) from None
    try:
        info = path.stat()
        resolved = path.resolve(strict=True)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            raise InputUnreadableError(f"symbolic link loop: {_display(path)}") from None
        raise InputUnreadableError(f"cannot read {_display(path)}: {exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "special file")
        raise InputUnreadableError(f"not a regular file: {_display(path)} is a {kind}")
    if info.st_size == 0 and not is_compressed(path):
        try:
            with path.open("rb") as f:
                content = f.read(1)
        except OSError as exc:
            raise InputUnreadableError(f"cannot read {_display(path)}: {exc.strerror}") from None
        if content:
            raise InputUnreadableError(
                f"{_display(path)} reports size 0 but has content (a /proc-style file): "
                "copy it to a regular file first"
            )
    return resolved


_KINDS = {
    stat.S_IFIFO: "FIFO (named pipe)",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFDIR: "directory",
}


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand files, directories and globs into a sorted, de-duplicated list of files.

    Raises :class:`InputNotFoundError` for a path that does not exist or a glob or directory
    that matches no log file, :class:`InputUnreadableError` for a file that cannot be
    imported (see :func:`check_file`).
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
                raise InputNotFoundError(
                    f"no log files (*.jsonl, *.ndjson, ...) under {_display(text)}"
                )
        elif path.exists() or path.is_symlink():
            candidates = [path]
        elif _GLOB_CHARS & set(text):
            candidates = []
            for mp in glob_paths(text):
                if mp.is_dir():
                    candidates.extend(scan_directory(mp))
                elif not _hidden(mp.name):
                    candidates.append(mp)
            if not candidates:
                raise InputNotFoundError(f"no file matches {_display(text)}")
        else:
            raise InputNotFoundError(f"no such file or directory: {_display(text)}")
        for cand in candidates:
            resolved = check_file(cand)
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
