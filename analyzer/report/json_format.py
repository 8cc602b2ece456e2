"""JSON output: the contract's document (section 4): ``findings`` and ``summary``.

For ``check``, ``summary`` holds the headline numbers under their glossary names
(docs/tables.md, "Headline numbers"): the analysis's (``report.summary``), with the counts and
the cost of the findings this report shows (after ``--select`` and ``--baseline``), then the
check's own verdict. For ``lint``, the lint counts instead of the analysis's.

The document is written as it is made: one finding per line, each a compact JSON object (for
findings read from the database, :class:`~analyzer.rules.stored.StoredFindings`, the object is
built by DuckDB and fetched in batches; no Python object per finding), then the summary.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, TextIO

from analyzer.report.base import CheckReport, Formatter

LINT_COUNTS = ("files", "apps", "suppressed", "unparsable")

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def summary_of(report: CheckReport) -> dict[str, Any]:
    """The document's ``summary``."""
    summary: dict[str, Any]
    if report.kind == "lint":
        summary = {k: report.summary.get(k, 0) for k in LINT_COUNTS}
    else:
        summary = {"events": 0, "requests": 0, "runners": 0, "rejected_lines": 0}
        summary.update(report.summary)
    summary.update(report.findings_summary())
    summary.update(
        {
            "fail_on": report.fail_on,
            "failing": report.failing_count(),
            "baseline_suppressed": report.baseline_suppressed,
            "allowed": report.allowed,
            "rules": [s.rule.code for s in report.rules],
        }
    )
    for key in ("shards", "sharding"):  # a sharded run's per-shard timings (docs/scale.md)
        if key in report.summary:
            summary[key] = report.summary[key]
    return summary


def document(report: CheckReport) -> dict[str, Any]:
    """The whole document as a dict (every finding as :meth:`~analyzer.rules.Finding.to_dict`)."""
    return {"findings": [f.to_dict() for f in report.findings], "summary": summary_of(report)}


def finding_items(report: CheckReport) -> Iterator[str]:
    """Each finding's JSON object, compact, in the report's order."""
    if report.stored is not None:
        return report.stored.json_items()
    return (_encode(f.to_dict()) for f in report.findings)


class JsonFormatter(Formatter):
    name = "json"
    description = "one JSON document: findings and summary (contract section 4)"

    def render(self, report: CheckReport) -> str:
        out = io.StringIO()
        self.write(report, out)
        return out.getvalue()

    def write(self, report: CheckReport, out: TextIO) -> None:
        write_document(finding_items(report), summary_of(report), out)


def write_document(items: Iterator[str], summary: dict[str, Any], out: TextIO) -> None:
    """``{"findings": [...], "summary": {...}}`` into ``out``: each finding (``items``: JSON
    objects) on its own line, then the summary indented."""
    out.write('{\n  "findings": [')
    first = True
    for item in items:
        out.write("\n    " if first else ",\n    ")
        out.write(item)
        first = False
    out.write("]" if first else "\n  ]")
    rest = json.dumps({"summary": summary}, indent=2, ensure_ascii=False)
    out.write(",\n" + rest[2:] + "\n")
