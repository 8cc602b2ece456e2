"""What a dashboard visitor may reach on the server: the settings and the server-path check.

A visitor of the dashboard is not the server's user. By default the Import page takes
uploads only; importing a file or folder *on the server* is enabled by naming one folder
(``ANALYZER_UI_IMPORT_ROOT``, or ``analyzer dashboard --import-root DIR``), and then only
what lies inside it, symlinks resolved, is importable. ``ANALYZER_UI_READ_ONLY=1`` (or
``analyzer dashboard --read-only``) removes the Import page altogether.

Every refusal of a typed path is the same sentence, so the answer never tells whether a
path outside the folder exists; only regular files are taken (a FIFO would block the import
on its first read; devices and sockets are not logs). No Streamlit here: it is tested alone.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.importers.paths import scan_directory

IMPORT_ROOT_ENV = "ANALYZER_UI_IMPORT_ROOT"
READ_ONLY_ENV = "ANALYZER_UI_READ_ONLY"

_TRUE = {"1", "true", "yes", "on"}


def read_only() -> bool:
    """True when the dashboard is shared read-only (no Import page)."""
    return os.environ.get(READ_ONLY_ENV, "").strip().lower() in _TRUE


def import_root() -> Path | None:
    """The one server folder visitors may import from (resolved), or ``None``: disabled."""
    configured = os.environ.get(IMPORT_ROOT_ENV, "").strip()
    if not configured:
        return None
    return Path(os.path.realpath(configured))


class PathRefused(Exception):
    """A typed server path that is not importable (one message whatever the reason)."""


@dataclass
class ServerFiles:
    """The files a typed server path means, and how many entries under it were passed over."""

    files: list[Path] = field(default_factory=list)
    skipped: int = 0


def refusal(root: Path) -> str:
    return (
        f"Not importable: give a log file or a folder of log files inside {root} "
        "(the folder this dashboard may import from)."
    )


def _inside(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep)


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)  # stat never opens: a FIFO cannot block
    except (OSError, ValueError):
        return False


def server_files(text: str, root: Path) -> ServerFiles:
    """The regular files inside ``root`` that ``text`` (relative to ``root``, or absolute) names.

    Symlinks are resolved before the check, for the path typed and for every file found
    under a folder; each file is returned by its real path (what the check saw is what is
    read). Raises :class:`PathRefused` for anything else: outside ``root``, missing,
    unreadable, not a regular file, a folder with no log file inside ``root``.
    """
    if not root.is_dir():
        raise PathRefused(f"The import folder {root} is not a folder on this server.")
    typed = text.strip()
    if not typed or "\0" in typed:
        raise PathRefused(refusal(root))
    real = os.path.realpath(root / typed)  # an absolute `typed` replaces `root`
    if not _inside(real, root):
        raise PathRefused(refusal(root))  # decided before anything outside is even stat'ed
    if os.path.isdir(real):
        result = ServerFiles()
        seen: set[str] = set()
        for found in scan_directory(Path(real)):
            target = os.path.realpath(found)
            if not (_inside(target, root) and _regular(target)):
                result.skipped += 1
            elif target not in seen:  # two links to one file: imported once
                seen.add(target)
                result.files.append(Path(target))
        if not result.files:
            raise PathRefused(refusal(root))
        return result
    if not _regular(real):
        raise PathRefused(refusal(root))
    return ServerFiles([Path(real)])
