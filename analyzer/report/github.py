"""GitHub Actions workflow commands: ``::error file=...,line=...,title=...::message``."""

from __future__ import annotations

from analyzer.report.base import CheckReport, Formatter, display_path
from analyzer.rules import Finding

COMMANDS = {"error": "error", "warning": "warning", "info": "notice"}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: Finding) -> str:
    props = []
    loc = f.location
    if loc is not None and loc.file:
        props.append(f"file={_escape_property(display_path(loc.file) or '')}")
        if loc.line:
            props.append(f"line={int(loc.line)}")
        if loc.column:
            props.append(f"col={int(loc.column)}")
    props.append(f"title={_escape_property(f'{f.code} {f.name}')}")
    subject = f.request_id or f.app or "-"
    if loc is not None and loc.column:  # a finding in source: the place says it all
        return (
            f"::{COMMANDS.get(f.severity, 'warning')} {','.join(props)}::{_escape_data(f.message)}"
        )
    message = f"{subject}: {f.message}"
    return f"::{COMMANDS.get(f.severity, 'warning')} {','.join(props)}::{_escape_data(message)}"


class GithubFormatter(Formatter):
    name = "github"
    description = "GitHub Actions annotations (::error / ::warning / ::notice)"

    def render(self, report: CheckReport) -> str:
        lines = [annotation(f) for f in report.findings]
        lines.append(
            f"analyzer: {len(report.findings)} findings, {report.failing_count()} at or above "
            f"{report.fail_on}"
        )
        return "\n".join(lines) + "\n"
