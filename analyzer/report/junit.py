"""JUnit XML output: a testcase per selected rule, a ``<failure>`` per finding."""

from __future__ import annotations

import xml.etree.ElementTree as ET

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


class JunitFormatter(Formatter):
    name = "junit"
    description = "JUnit XML for CI test reports: a testcase per rule, a failure per finding"

    def render(self, report: CheckReport) -> str:
        by_code: dict[str, list[Finding]] = {}
        for f in report.findings:
            by_code.setdefault(f.code, []).append(f)
        suites = ET.Element("testsuites", name="analyzer")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"analyzer.{report.kind}",
            tests=str(len(report.rules)),
            failures=str(sum(1 for s in report.rules if by_code.get(s.rule.code))),
            errors="0",
            skipped="0",
        )
        for sel in report.rules:
            rule = sel.rule
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"analyzer.{rule.code}",
                name=xml_text(f"{rule.code} {rule.name}"),
            )
            for f in by_code.get(rule.code, []):
                fail = ET.SubElement(
                    case,
                    "failure",
                    type=f.severity,
                    message=xml_text(f"{f.request_id or f.app or '-'}: {f.message}"),
                )
                text = _source_failure_text(f) if report.kind == "lint" else _failure_text(f)
                fail.text = xml_text(text)  # log text: a \u0001 is not XML
        ET.indent(suites)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
