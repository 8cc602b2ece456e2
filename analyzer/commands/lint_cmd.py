"""`analyzer lint`: find the rules' misuses in an app's Python source; exit 0 / 1 / 2 as check.

- PATHs: files, folders (``*.py`` below them) and globs; none: ``[tool.analyzer.lint] paths``,
  else the current folder;
- the same ``--format``, ``--fail-on``, ``--select``/``--ignore``, baseline and configuration as
  ``analyzer check``; ``# analyzer: ignore[CODE]`` on a line suppresses a finding there;
- exit 0: nothing at or above ``--fail-on``; 1: findings at or above it; 2: usage error, a
  missing PATH, or a file that cannot be read, decoded or parsed where lint reads it
  (analyzer/lint/prefilter.py; reported, the others still linted);
- ``--workers N`` processes, ``--cache FILE`` to parse only what changed
  (analyzer/lint/cache.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from analyzer.commands import reporting

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNREADABLE = 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lint",
        help="check apps' Python source for the same misuses (no logs needed); exit 1 on findings",
        description="Parse the Python source under PATHs (never importing it), find the "
        "platform's apps and report the misuses the rules describe, located by file, line and "
        "column. Exit 0: nothing at or above --fail-on; 1: findings at or above it; 2: usage "
        "error or a file that cannot be read or parsed.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="Python files, folders or globs")
    p.add_argument(
        "--format",
        choices=reporting.FORMAT_NAMES,
        default="text",
        help="output format (default: text)",
    )
    p.add_argument(
        "--fail-on",
        choices=["error", "warning", "info", "never"],
        default=None,
        help="lowest severity that fails (default: error, or the config's)",
    )
    p.add_argument("--select", metavar="CODES", action="append", help="only these codes/prefixes")
    p.add_argument("--ignore", metavar="CODES", action="append", help="skip these codes/prefixes")
    p.add_argument("--exclude", metavar="GLOB", action="append", help="skip matching paths")
    p.add_argument("--baseline", metavar="FILE", help="report only findings not in this baseline")
    p.add_argument(
        "--write-baseline", metavar="FILE", help="record the current findings, then exit 0"
    )
    p.add_argument("--config", metavar="FILE", help="analyzer.toml or pyproject.toml")
    p.add_argument("--output", "-o", metavar="FILE", help="write the report here, not stdout")
    p.add_argument(
        "--cache",
        metavar="FILE",
        help="keep what each file gave here (JSON), by its content: unchanged files are not "
        "parsed again (default: no cache)",
    )
    p.add_argument(
        "--workers",
        type=reporting.positive_int,
        metavar="N",
        help="processes to parse in (default: the CPUs, at most 4, from 300 files on; 1: this one)",
    )
    p.set_defaults(func=run)


def repo_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``.git`` (SARIF URIs are relative to
    it, as code scanning expects), else ``start``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def run(args: argparse.Namespace) -> int:
    from analyzer.lint import lint_paths
    from analyzer.report import CheckReport, render

    config = reporting.config_of(args)
    baseline = reporting.baseline_of(args)
    paths = args.paths or config.lint.paths or ["."]
    result = lint_paths(
        paths,
        config,
        exclude=[*config.lint.exclude, *(args.exclude or [])],
        workers=args.workers,
        cache=args.cache,
    )
    findings, known = reporting.with_baseline(args, result.findings, baseline)
    report = CheckReport(
        findings=findings,
        rules=result.rules,
        summary={
            "files": result.files,
            "apps": result.apps,
            "suppressed": result.suppressed,
            "unparsable": [u.to_dict() for u in result.unparsable],
        },
        fail_on=config.fail_on,
        baseline_suppressed=known,
        docs_url=config.docs_url,
        extra={"srcroot": str(repo_root(Path.cwd()))},
        kind="lint",
    )
    reporting.write_report(
        render(report, args.format),
        args.output,
        f"{len(findings)} findings in {result.files} files, "
        f"{len(report.failing)} at or above {config.fail_on}",
        escape=False,  # the text and github formats escape what they take from the source
    )
    for bad in result.unparsable:
        print(f"analyzer: {bad.file}:{bad.line or 1}: cannot lint: {bad.reason}", file=sys.stderr)
    if result.unparsable:
        return EXIT_UNREADABLE
    if args.write_baseline:
        return EXIT_OK
    return EXIT_FINDINGS if report.failing else EXIT_OK
