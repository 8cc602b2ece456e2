"""JUnit XML output: a testcase per selected rule, a ``<failure>`` per finding."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import TextIO

from analyzer.report.base import CheckReport, Formatter, display_path
from analyzer.rules import Finding
from analyzer.textsafe import xml_text


def _failure_text(f: Finding) -> str:
    lines = [
        f.message,
        f"app: {f.app}  endpoint: {f.endpoint}  request: {f.request_id}  runner: {f.runner_id}",
        f"cost: {f.cost.runners_killed} runners killed, {f.cost.gpu_seconds:.1f} GPU-s, "
        f"${f.cost.cost_usd:.4f}",
        "evidence:",
    ]
    lines += [f"  {display_path(e.file)}:{e.line} {e.event} {e.ts}" for e in f.evidence]
    return "\n".join(lines)


def _source_failure_text(f: Finding) -> str:
    loc = f.location
    where = f"{loc.file}:{loc.line}:{loc.column}" if loc is not None else "-"
    return "\n".join(
        [f"{where}: {f.code} {f.message}", f"app: {f.app}", f"  {loc.snippet if loc else ''}"]
    )


def _tag(tag: str, /, **attrs: str) -> str:
    """An element's tag as ElementTree writes it (attributes escaped), without ``/>``."""
    return ET.tostring(ET.Element(tag, attrs), encoding="unicode").removesuffix(" />")


class JunitFormatter(Formatter):
    name = "junit"
    description = "JUnit XML for CI test reports: a testcase per rule, a failure per finding"

    def render(self, report: CheckReport) -> str:
        out = io.StringIO()
        self.write(report, out)
        return out.getvalue()

    def write(self, report: CheckReport, out: TextIO) -> None:
        """The XML ElementTree writes with ``ET.indent``, written a failure at a time (the
        findings of a rule read from the database as they are written: bounded memory)."""
        counts = _counts_by_code(report)
        suite = _tag(
            "testsuite",
            name=f"analyzer.{report.kind}",
            tests=str(len(report.rules)),
            failures=str(sum(1 for s in report.rules if counts.get(s.rule.code))),
            errors="0",
            skipped="0",
        )
        out.write("<?xml version='1.0' encoding='utf-8'?>\n")
        out.write(_tag("testsuites", name="analyzer") + ">\n  " + suite)
        if not report.rules:
            out.write(" />\n</testsuites>\n")
            return
        out.write(">")
        for sel in report.rules:
            rule = sel.rule
            case = _tag(
                "testcase",
                classname=f"analyzer.{rule.code}",
                name=xml_text(f"{rule.code} {rule.name}"),
            )
            if not counts.get(rule.code):
                out.write("\n    " + case + " />")
                continue
            out.write("\n    " + case + ">")
            for f in _of_rule(report, rule.code):
                fail = ET.Element(
                    "failure",
                    type=f.severity,
                    message=xml_text(f"{f.request_id or f.app or '-'}: {f.message}"),
                )
                text = _source_failure_text(f) if report.kind == "lint" else _failure_text(f)
                fail.text = xml_text(text)  # log text: a \u0001 is not XML
                out.write("\n      " + ET.tostring(fail, encoding="unicode"))
            out.write("\n    </testcase>")
        out.write("\n  </testsuite>\n</testsuites>\n")


def _counts_by_code(report: CheckReport) -> dict[str, int]:
    if report.stored is not None:
        return dict(report.stored.summary()["findings_by_code"])
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.code] = counts.get(f.code, 0) + 1
    return counts


def _of_rule(report: CheckReport, code: str) -> Iterable[Finding]:
    """The reported findings of rule ``code``, in the report's order."""
    stored = report.stored
    if stored is not None:
        return stored.of_codes([code])
    return (f for f in report.findings if f.code == code)
