"""Output formats of ``analyzer check``: one small formatter class per module.

>>> sorted(FORMATTERS)
['github', 'json', 'junit', 'sarif', 'text']
"""

from __future__ import annotations

from analyzer.report.base import CheckReport, Formatter, default_docs_url, display_path
from analyzer.report.github import GithubFormatter
from analyzer.report.json_format import JsonFormatter
from analyzer.report.junit import JunitFormatter
from analyzer.report.sarif import SarifFormatter
from analyzer.report.text import TextFormatter

FORMATTERS: dict[str, type[Formatter]] = {
    f.name: f
    for f in (TextFormatter, JsonFormatter, SarifFormatter, JunitFormatter, GithubFormatter)
}


def render(report: CheckReport, fmt: str = "text") -> str:
    return FORMATTERS[fmt]().render(report)


__all__ = [
    "FORMATTERS",
    "CheckReport",
    "Formatter",
    "default_docs_url",
    "display_path",
    "render",
]
