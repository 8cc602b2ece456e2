"""`analyzer import PATH... [--db FILE] [--format NAME]`: import logs into the database.

Prints a one-screen summary (files, events, rejected lines with the first reasons, naive
timestamps, unknown events, time, events/s). A progress bar is drawn on stderr when it is a
terminal. A missing path, an unreadable file or a locked database is one line on stderr and
exit code 2 (raised as :class:`~analyzer.errors.AnalyzerError`, printed by the CLI).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from analyzer.log_formats import LOG_FORMAT_NAMES
from analyzer.progress import Progress
from analyzer.store import DEFAULT_DB, connect
from analyzer.textsafe import visible


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import",
        help="import log files (files, directories, globs; .gz/.zst) into the database",
        description="Import log files into the DuckDB database. Files already imported are "
        "skipped, grown files import only their new lines; bad lines are kept in the "
        "`rejected` table with their reason.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or glob")
    p.add_argument("--db", default=DEFAULT_DB, help=f"database file (default: {DEFAULT_DB})")
    p.add_argument(
        "--format",
        dest="fmt",
        default=None,
        metavar="NAME",
        help="force a format instead of detecting it (" + ", ".join(LOG_FORMAT_NAMES) + ")",
    )
    p.add_argument(
        "--ts-window",
        default=None,
        metavar="FROM..TO",
        help="plausible times; lines outside are rejected (default: $ANALYZER_TS_WINDOW or "
        "2000-01-01..2100-01-01)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analyzer.importers import import_paths  # NumPy, pyarrow: only for this command
    from analyzer.importers.paths import expand_paths
    from analyzer.importers.timestamps import current_window, parse_window

    window = parse_window(args.ts_window) if args.ts_window else current_window()
    files = expand_paths(args.paths)  # fail on a missing path before touching the database
    total = 0
    for f in files:
        with contextlib.suppress(OSError):
            total += os.stat(f).st_size
    progress = Progress(total, stream=sys.stderr)
    created = args.db != ":memory:" and not os.path.exists(args.db)
    con = connect(args.db)
    try:
        summary = import_paths(
            con, [str(f) for f in files], fmt=args.fmt, progress=progress, ts_window=window.text
        )
    except BaseException:
        progress.close()
        con.close()
        if created:
            _remove_if_empty(args.db)
        raise
    progress.close()
    con.close()
    print(visible(summary.render()))  # file names and reasons come from the logs
    return 0


def _remove_if_empty(db: str) -> None:
    """A database this import created and left without a single event is removed, so that
    a later `check --db` cannot pass on it (it would be exit 2 anyway: no events)."""
    import duckdb

    try:
        con = duckdb.connect(db, read_only=True)
        try:
            rows = con.execute("SELECT count(*) FROM events").fetchall()
        finally:
            con.close()
    except duckdb.Error:
        return
    if rows and rows[0][0] == 0:
        for path in (db, db + ".wal"):
            with contextlib.suppress(OSError):
                os.remove(path)
