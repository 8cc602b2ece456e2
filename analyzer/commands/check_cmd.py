"""`analyzer check`: import (optionally), replay, run the rules, report, and exit 0 / 1 / 2.

- with PATHs: the logs are imported first, into a temporary database unless ``--db`` is given;
- with only ``--db`` (or the default ``./analyzer.duckdb``): what is there is analysed (the
  stored findings are reused when they are current for this configuration);
- exit 0: nothing at or above ``--fail-on``; 1: findings at or above it; 2: usage error or
  unreadable input. ``--write-baseline`` records the findings and exits 0.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.commands import reporting
from analyzer.commands.reporting import FORMAT_NAMES
from analyzer.errors import AnalyzerError, DatabaseLockedError, InputNotFoundError

if TYPE_CHECKING:
    from analyzer.analysis import AnalysisResult
    from analyzer.config import Config

# The heavy modules (duckdb, pydantic, the rules) are imported when the command runs, so that
# building the CLI parser stays cheap for every other command.
DEFAULT_DB = "analyzer.duckdb"

EXIT_OK = 0
EXIT_FINDINGS = 1


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="replay the logs, run the rules, report findings; exit 1 on findings (CI)",
        description="Import PATHs (into a temporary database unless --db), replay them, run the "
        "rules and report the findings. Exit 0: nothing at or above --fail-on; 1: findings at "
        "or above it; 2: usage error or unreadable input.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="log files, directories or globs")
    p.add_argument(
        "--db",
        metavar="FILE",
        help=f"database to import into / analyse (default without PATHs: ./{DEFAULT_DB})",
    )
    p.add_argument(
        "--format", choices=FORMAT_NAMES, default="text", help="output format (default: text)"
    )
    p.add_argument(
        "--fail-on",
        choices=["error", "warning", "info", "never"],
        default=None,
        help="lowest severity that fails the check (default: error, or the config's)",
    )
    p.add_argument(
        "--select",
        metavar="CODES",
        action="append",
        help="only these rule codes or prefixes, comma-separated (e.g. S,R001)",
    )
    p.add_argument(
        "--ignore",
        metavar="CODES",
        action="append",
        help="skip these rule codes or prefixes (the most specific wins)",
    )
    p.add_argument("--baseline", metavar="FILE", help="report only findings not in this baseline")
    p.add_argument(
        "--write-baseline",
        metavar="FILE",
        help="record the current findings as the baseline, then exit 0",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="analyzer.toml or pyproject.toml (default: found in the current folder)",
    )
    p.add_argument("--output", "-o", metavar="FILE", help="write the report here, not stdout")
    p.add_argument(
        "--log-format",
        metavar="NAME",
        help="force the format of the PATHs instead of detecting it (see `analyzer formats`)",
    )
    p.add_argument(
        "--workers",
        type=reporting.positive_int,
        default=None,
        metavar="N",
        help="analyse in shards by app on N local processes (default 1: in this process; "
        "see docs/scale.md)",
    )
    p.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="where the shards run: local processes, or Ray tasks (default: local)",
    )
    p.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="the Ray cluster for --engine ray (default: a local Ray for this run)",
    )
    p.add_argument(
        "--shard-dir",
        metavar="DIR",
        help="where the Parquet shards live (default: a temporary folder; on a cluster: a "
        "folder every worker can read)",
    )
    p.add_argument(
        "--max-shard-events",
        type=reporting.positive_int,
        default=None,
        metavar="N",
        help="with --workers/--engine ray: cut an app (or apps sharing runners) above N events "
        "into time slices of at most N events, context included (default 3000000)",
    )
    p.set_defaults(func=run)


def _sharded(args: argparse.Namespace) -> bool:
    return args.engine == "ray" or (args.workers or 1) > 1


def _analyze(args: argparse.Namespace, con: Any, config: Config) -> AnalysisResult:
    """Today's analysis, or the same in shards (--workers N > 1, --engine ray)."""
    from analyzer.analysis import analyze

    if not _sharded(args):
        return analyze(con, config, load=False)
    import os

    from analyzer.shard import ShardOptions, analyze_sharded

    workers = args.workers or (os.cpu_count() or 1)
    options = ShardOptions(
        workers=workers, engine=args.engine, ray_address=args.ray_address, workdir=args.shard_dir
    )
    if args.max_shard_events:
        options = replace(options, max_shard_events=args.max_shard_events)
    return analyze_sharded(con, config, options, load=False)


@contextmanager
def _analysed(args: argparse.Namespace, config: Config) -> Iterator[AnalysisResult]:
    """The analysis, its database open until the report is written (the findings are read
    from it when the report asks: :class:`~analyzer.rules.stored.StoredFindings`)."""
    from analyzer import store
    from analyzer.analysis import ensure_analyzed, is_current

    if args.paths:
        from analyzer.importers import import_paths

        with ExitStack() as stack:
            if args.db:
                target = Path(args.db)
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="analyzer-check-"))
                target = Path(tmp) / "check.duckdb"
            con = store.connect(target)
            stack.callback(con.close)
            _report_import(import_paths(con, args.paths, fmt=args.log_format))
            yield _analyze(args, con, config)
        return
    db = Path(args.db or DEFAULT_DB)
    if not db.exists():
        raise InputNotFoundError(
            f"database not found: {db} (give log PATHs, or import them first with analyzer import)"
        )
    # Look first without writing: a foreign database is refused untouched, and current
    # findings are read even while another reader (the dashboard) holds the file.
    try:
        ro = store.connect(db, read_only=True)
    except DatabaseLockedError:
        ro = None  # another process writes it: the writable open below reports the lock
    if ro is not None:
        with closing(ro):
            if not store.table_exists(ro, "events"):
                raise AnalyzerError(f"{db} is not an analyzer database (no events table)")
            _require_events(ro, db)
            if is_current(ro, config):
                yield ensure_analyzed(ro, config, load=False)
                return
    with closing(store.connect(db)) as con:
        _require_events(con, db)
        if _sharded(args) and not is_current(con, config):
            yield _analyze(args, con, config)
        else:
            yield ensure_analyzed(con, config, load=False)


def _require_events(con: Any, db: Path) -> None:
    """A database with no events (a failed or empty import) is an error, never a pass."""
    rows = con.execute("SELECT count(*) FROM events").fetchall()
    if not rows or not rows[0][0]:
        raise AnalyzerError(
            f"{db} holds no events (an import that failed or found no valid line?): "
            "import logs into it first, or give log PATHs"
        )


def _report_import(summary: Any) -> None:
    files = len(getattr(summary, "files", []) or [])
    events = getattr(summary, "events", 0)
    rejected = getattr(summary, "rejected", 0)
    print(
        f"analyzer: imported {events} events from {files} files ({rejected} lines rejected)",
        file=sys.stderr,
    )


def run(args: argparse.Namespace) -> int:
    # The cyclic GC paused: reading back and rendering many findings makes objects without
    # cycles, and its passes over them were a third of that time (refcounting still frees).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(args)
    finally:
        if enabled:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from analyzer.report import FORMATTERS, CheckReport

    config = reporting.config_of(args)
    baseline = reporting.baseline_of(args)
    with _analysed(args, config) as result:
        findings, suppressed = reporting.with_baseline(args, result.selected, baseline)
        report = CheckReport(
            findings=findings,
            rules=result.rules,
            summary=result.summary,
            fail_on=config.fail_on,
            baseline_suppressed=suppressed,
            allowed=result.allowed,
            docs_url=config.docs_url,
        )
        failing = report.failing_count()
        reporting.write_with(
            FORMATTERS[args.format](),
            report,
            args.output,
            f"{len(findings)} findings, {failing} at or above {config.fail_on}",
            escape=args.format in ("text", "github"),
        )
    if args.write_baseline:
        return EXIT_OK
    return EXIT_FINDINGS if failing else EXIT_OK
