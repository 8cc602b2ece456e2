"""What ``analyzer check`` and ``analyzer lint`` share around their reports: the configuration
with the command line's ``--fail-on`` / ``--select`` / ``--ignore``, the baseline options, and
writing the rendered report. Not a command itself (analyzer/commands/__init__.py lists those).

The heavy modules (pydantic, the rules) are imported when a function runs, not with this
module, so that ``analyzer --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analyzer.errors import AnalyzerError
from analyzer.textsafe import visible

if TYPE_CHECKING:
    from analyzer.config import Config
    from analyzer.report.base import CheckReport, Formatter
    from analyzer.rules.base import Finding

FORMAT_NAMES = ("text", "json", "sarif", "junit", "github")


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1: {text!r}")
    return value


def config_of(args: argparse.Namespace) -> Config:
    """``--config`` (or the one found) with ``--fail-on``, ``--select`` and ``--ignore`` over it."""
    from analyzer.config import load_config
    from analyzer.rules import REGISTRY
    from analyzer.rules.registry import split_codes

    config = load_config(args.config)
    update: dict[str, Any] = {}
    if args.fail_on:
        update["fail_on"] = args.fail_on
    if args.select:
        update["select"] = split_codes(args.select)
    if args.ignore:
        update["ignore"] = split_codes(args.ignore)
    config = config.model_copy(update=update)
    REGISTRY.check_prefixes(config.select)  # unknown codes: a usage error before any work
    REGISTRY.check_prefixes(config.ignore)
    return config


def baseline_of(args: argparse.Namespace) -> dict[str, int] | None:
    """The ``--baseline`` file read (None without one), before any work is done."""
    from analyzer.rules.baseline import load_baseline

    if args.baseline and args.write_baseline:
        raise AnalyzerError("--baseline and --write-baseline cannot be combined")
    return load_baseline(args.baseline) if args.baseline else None


def with_baseline(
    args: argparse.Namespace, findings: Sequence[Finding], baseline: dict[str, int] | None
) -> tuple[Sequence[Finding], int]:
    """``--write-baseline`` records ``findings``; a ``baseline`` leaves out the known ones.
    (findings to report, how many the baseline left out; findings read from the database,
    :class:`~analyzer.rules.stored.StoredFindings`, stay there, filtered in SQL)."""
    from analyzer.rules.baseline import apply_baseline, write_baseline
    from analyzer.rules.stored import StoredFindings

    if args.write_baseline:
        n = write_baseline(args.write_baseline, findings)
        print(
            f"analyzer: baseline {args.write_baseline}: {len(findings)} findings, {n} fingerprints",
            file=sys.stderr,
        )
    if baseline is None:
        return (findings if isinstance(findings, StoredFindings) else tuple(findings)), 0
    if isinstance(findings, StoredFindings):
        return findings.without_known(baseline)
    return apply_baseline(findings, baseline)


def write_report(text: str, output: str | None, done: str, *, escape: bool) -> None:
    """The rendered report into ``output`` (then ``done``, then where, on stderr), else on
    stdout, through :func:`analyzer.textsafe.visible` when ``escape`` (log text reaching a
    terminal: escape sequences and bidi overrides shown, not obeyed)."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise AnalyzerError(f"cannot write {output}: {exc.strerror}") from None
        print(f"analyzer: {done}; report written to {output}", file=sys.stderr)
    else:
        sys.stdout.write(visible(text) if escape else text)


def write_with(
    formatter: Formatter, report: CheckReport, output: str | None, done: str, *, escape: bool
) -> None:
    """:func:`write_report` of ``formatter``'s report, written as it is made into ``output``
    (a large JSON report is never one string in memory)."""
    if not output:
        write_report(formatter.render(report), None, done, escape=escape)
        return
    try:
        with open(output, "w", encoding="utf-8") as out:
            formatter.write(report, out)
    except OSError as exc:
        raise AnalyzerError(f"cannot write {output}: {exc.strerror}") from None
    print(f"analyzer: {done}; report written to {output}", file=sys.stderr)
