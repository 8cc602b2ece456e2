"""JSON output: the contract's document (section 4): ``findings`` and ``summary``."""

from __future__ import annotations

import json
from typing import Any

from analyzer.report.base import CheckReport, Formatter
from analyzer.rules.totals import cost_totals

LINT_COUNTS = ("files", "apps", "suppressed", "unparsable")


def document(report: CheckReport) -> dict[str, Any]:
    summary: dict[str, Any]
    if report.kind == "lint":
        summary = {k: report.summary.get(k, 0) for k in LINT_COUNTS}
        summary["findings_by_code"] = {}
    else:
        summary = {
            "events": report.summary.get("events", 0),
            "requests": report.summary.get("requests", 0),
            "runners": report.summary.get("runners", 0),
            "rejected_lines": report.summary.get("rejected_lines", 0),
            "findings_by_code": {},
        }
    by_code: dict[str, int] = {}
    by_severity = {"error": 0, "warning": 0, "info": 0}
    totals = cost_totals(report.findings)
    for f in report.findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
        by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
    summary["findings_by_code"] = dict(sorted(by_code.items()))
    summary.update(
        {
            "findings": len(report.findings),
            "findings_by_severity": by_severity,
            # each kill and GPU-second once, though rules overlap (analyzer.rules.totals)
            "runners_killed": totals.runners_killed,
            "gpu_seconds": round(totals.gpu_seconds, 3),
            "cost_usd": round(totals.cost_usd, 6),
            "fail_on": report.fail_on,
            "failing": len(report.failing),
            "baseline_suppressed": report.baseline_suppressed,
            "allowed": report.allowed,
            "rules": [s.rule.code for s in report.rules],
        }
    )
    for key in ("shards", "sharding"):  # a sharded run's per-shard timings (docs/scale.md)
        if key in report.summary:
            summary[key] = report.summary[key]
    return {"findings": [f.to_dict() for f in report.findings], "summary": summary}


class JsonFormatter(Formatter):
    name = "json"
    description = "one JSON document: findings and summary (contract section 4)"

    def render(self, report: CheckReport) -> str:
        return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"
