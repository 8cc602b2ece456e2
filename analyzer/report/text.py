"""Text output for people: grouped by rule, worst first, with cost and a few examples."""

from __future__ import annotations

from pathlib import Path

from analyzer.report.base import CheckReport, Formatter
from analyzer.rules import Finding
from analyzer.rules.base import SEVERITY_RANK
from analyzer.textsafe import visible

WIDTH = 150


def _money(usd: float) -> str:
    return f"${usd:,.2f}" if usd >= 0.01 or usd == 0 else f"${usd:.4f}"


def _where(f: Finding) -> str:
    loc = f.location
    if loc is None or not loc.file:
        return "-"
    return f"{Path(loc.file).name}:{loc.line}"


def _example(f: Finding) -> str:
    head = f"    {f.request_id or f.app or f.runner_id or '-'} [{_where(f)}] "
    room = max(WIDTH - len(head), 40)
    msg = f.message if len(f.message) <= room else f.message[: room - 1] + "…"
    return head + msg


class TextFormatter(Formatter):
    """One line per rule (worst first) with its count and cost, one or two example findings
    with the log line that proves them, then the totals and the verdict: one screen."""

    name = "text"
    description = "for people: grouped by rule, worst first, then a summary"

    def render(self, report: CheckReport) -> str:
        if report.kind == "lint":
            return source_text(report)
        lines: list[str] = []
        for g in report.groups():
            cost = f"{g.gpu_seconds:,.0f} GPU-s, {_money(g.cost_usd)}"
            if g.runners_killed:
                killed = g.runners_killed
                cost = f"{killed} runner{'' if killed == 1 else 's'} killed, " + cost
            noun = "finding" if g.findings == 1 else "findings"
            shown = len(g.examples)
            more = f", {g.findings - shown} more" if g.findings > shown else ""
            lines.append(
                f"{g.severity.upper():7} {g.code} {g.name}: {g.findings} {noun} ({cost}{more})"
            )
            lines += [_example(f) for f in g.examples]
        if lines:
            lines.append("")
        s = report.summary
        by_sev = report.by_severity()
        lines.append(
            f"{sum(by_sev.values())} findings ({by_sev.get('error', 0)} errors, "
            f"{by_sev.get('warning', 0)} warnings, {by_sev.get('info', 0)} info) in "
            f"{s.get('requests', 0):,} requests, {s.get('runners', 0):,} runners, "
            f"{s.get('events', 0):,} events; {s.get('rejected_lines', 0):,} rejected lines"
        )
        t = report.cost()  # rules overlap: each kill and attempt once
        killed = t.runners_killed
        lines.append(
            f"cost of the findings: {killed} runner{'' if killed == 1 else 's'} killed, "
            f"{t.gpu_seconds:,.0f} GPU-s, {_money(t.cost_usd)} wasted on the attempts they "
            "blame (each counted once across rules)"
        )
        if "gpu_seconds_wasted" in s:  # the replay's waste over every request (docs/tables.md)
            lines.append(
                f"wasted in all: {s['gpu_seconds_wasted']:,.0f} GPU-s, "
                f"{_money(s['usd_wasted'])}; {s['runners_terminated']:,} runners terminated "
                f"(every reason), {s.get('runners_killed_needlessly', 0):,} of them needlessly"
            )
        if report.baseline_suppressed:
            lines.append(f"{report.baseline_suppressed} known findings hidden by the baseline")
        if report.allowed:
            lines.append(f"{report.allowed} findings allowed by per-app configuration")
        failing = report.failing_count()
        verdict = (
            "never fails (--fail-on never)"
            if report.fail_on == "never"
            else f"{failing} at or above {report.fail_on}: " + ("FAIL" if failing else "pass")
        )
        lines.append(verdict)
        return "\n".join(lines) + "\n"


def source_text(report: CheckReport) -> str:
    """``analyzer lint``: one ``file:line:col: CODE message`` line per finding (editors and
    terminals link them), then the counts and the verdict."""
    lines = []
    for f in report.findings:
        loc = f.location
        where = f"{loc.file}:{loc.line}:{loc.column}" if loc is not None else "-"
        # file names and source text are shown, never obeyed (no escape sequence reaches a tty)
        lines.append(visible(f"{where}: {f.code} [{f.severity}] {f.message}"))
    if lines:
        lines.append("")
    s = report.summary
    by_sev = {sev: sum(1 for f in report.findings if f.severity == sev) for sev in SEVERITY_RANK}
    lines.append(
        f"{len(report.findings)} findings ({by_sev['error']} errors, {by_sev['warning']} "
        f"warnings, {by_sev['info']} info) in {s.get('files', 0):,} files, "
        f"{s.get('apps', 0):,} apps"
    )
    for bad in s.get("unparsable", []):
        lines.append(visible(f"{bad['file']}:{bad['line'] or 1}: cannot lint: {bad['reason']}"))
    if s.get("suppressed"):
        lines.append(f"{s['suppressed']} findings suppressed inline (# analyzer: ignore)")
    if report.baseline_suppressed:
        lines.append(f"{report.baseline_suppressed} known findings hidden by the baseline")
    failing = len(report.failing)
    lines.append(
        "never fails (--fail-on never)"
        if report.fail_on == "never"
        else f"{failing} at or above {report.fail_on}: " + ("FAIL" if failing else "pass")
    )
    return "\n".join(lines) + "\n"
