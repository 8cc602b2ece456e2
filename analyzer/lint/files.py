"""Which files ``analyzer lint PATH...`` reads: files, folders (recursively, ``*.py``) and
globs; ``exclude`` patterns (fnmatch on the path and on each of its parts) leave some out."""

from __future__ import annotations

import fnmatch
import glob
from collections.abc import Iterable, Sequence
from pathlib import Path

from analyzer.errors import InputNotFoundError

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "node_modules",
    "site-packages",
    "build",
    "dist",
    ".mypy_cache",
    ".ruff_cache",
)


def _excluded(path: Path, patterns: Sequence[str]) -> bool:
    parts = set(path.parts)
    if parts.intersection(patterns):  # a folder or file named as a pattern: most exclusions
        return True
    text = path.as_posix()
    return any(
        fnmatch.fnmatch(text, p) or any(fnmatch.fnmatch(part, p) for part in parts)
        for p in patterns
        if any(ch in p for ch in "*?[") or "/" in p
    )


def collect(paths: Iterable[str], exclude: Iterable[str] = ()) -> list[Path]:
    """The Python files to lint, sorted and without duplicates. A PATH that does not exist
    (or a glob that matches nothing) raises :class:`InputNotFoundError`."""
    patterns = (*DEFAULT_EXCLUDE, *exclude)
    found: dict[str, Path] = {}
    for raw in paths:
        p = Path(raw)
        if any(ch in raw for ch in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(raw, recursive=True))]
            if not matches:
                raise InputNotFoundError(f"no file matches {raw}")
        elif p.exists():
            matches = [p]
        else:
            raise InputNotFoundError(f"file not found: {raw}")
        for m in matches:
            if m.is_dir():
                for f in sorted(m.rglob("*.py")):
                    rel = f.relative_to(m)
                    if f.is_file() and not _excluded(rel, patterns):
                        found.setdefault(str(f.resolve()), f)
            elif m.is_file() and (m.suffix in (".py", ".pyi") or m == p):
                found.setdefault(str(m.resolve()), m)
    return sorted(found.values(), key=lambda f: f.as_posix())
