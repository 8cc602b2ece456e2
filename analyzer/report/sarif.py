"""SARIF 2.1.0 output (GitHub code scanning): rules with ``helpUri`` to their docs, each result
located at the log file and line of its decisive event."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, TextIO

from analyzer import __version__
from analyzer.report.base import CheckReport, Formatter, display_path
from analyzer.rules import Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def _rule(report: CheckReport, index: int) -> dict[str, Any]:
    sel = report.rules[index]
    rule = sel.rule
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": rule.summary()},
        "help": {"text": rule.docs(), "markdown": rule.docs()},
        "helpUri": report.help_uri(rule.anchor()),
        "defaultConfiguration": {"level": LEVELS[sel.severity]},
        "properties": {"tags": [rule.name.split(".")[0]], "severity": sel.severity},
    }


def _uri(file: str, srcroot: str | None) -> str:
    """The file relative to ``srcroot`` (lint: the repository root) or the working folder."""
    if srcroot:
        try:
            rel = os.path.relpath(os.path.abspath(file), srcroot)
        except ValueError:
            rel = file
        if not rel.startswith(".."):
            return Path(rel).as_posix()
    return display_path(file) or file


def _location(f: Finding, srcroot: str | None = None) -> list[dict[str, Any]]:
    loc = f.location
    if loc is None or not loc.file:
        return []
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(loc.file, srcroot)}}
    if loc.line:
        region: dict[str, Any] = {"startLine": int(loc.line)}
        if loc.column:
            region["startColumn"] = int(loc.column)
        if loc.snippet is not None:
            region["snippet"] = {"text": loc.snippet}
        physical["region"] = region
    return [{"physicalLocation": physical}]


def _result(f: Finding, index: dict[str, int], srcroot: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": f.message},
        "locations": _location(f, srcroot),
        "partialFingerprints": {"analyzerFingerprint/v1": f.fingerprint},
        "properties": {
            k: v
            for k, v in f.to_dict().items()
            if k in ("app", "endpoint", "request_id", "runner_id", "ts", "cost", "evidence")
            or k == "function"
        },
    }
    if f.code in index:
        result["ruleIndex"] = index[f.code]
    related = [
        {
            "id": i,
            "physicalLocation": {
                "artifactLocation": {"uri": display_path(e.file)},
                **({"region": {"startLine": int(e.line)}} if e.line else {}),
            },
            "message": {"text": f"{e.event} at {e.ts}"},
        }
        for i, e in enumerate(f.evidence[1:], start=1)
        if e.file
    ]
    if related:
        result["relatedLocations"] = related
    return result


_RESULTS = "\u0000results\u0000"
"""Where the streamed results go in the indented skeleton (a string no report contains)."""

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def sarif_document(report: CheckReport) -> dict[str, Any]:
    """The whole SARIF log as a dict (every result in memory)."""
    doc = _skeleton(report)
    doc["runs"][0]["results"] = list(_results(report))
    return doc


def _results(report: CheckReport) -> Any:
    index = {sel.rule.code: i for i, sel in enumerate(report.rules)}
    srcroot = report.extra.get("srcroot")
    return (_result(f, index, srcroot) for f in report.findings)


def _skeleton(report: CheckReport) -> dict[str, Any]:
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "analyzer",
                        "version": __version__,
                        "informationUri": report.docs_url or report.help_uri("").rstrip("#"),
                        "rules": [_rule(report, i) for i in range(len(report.rules))],
                    }
                },
                "results": _RESULTS,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


class SarifFormatter(Formatter):
    name = "sarif"
    description = "SARIF 2.1.0 for code scanning (GitHub), located at the decisive log line"

    def render(self, report: CheckReport) -> str:
        out = io.StringIO()
        self.write(report, out)
        return out.getvalue()

    def write(self, report: CheckReport, out: TextIO) -> None:
        """The log indented, its results streamed as they are made: one compact line each
        (findings read from the database come batch by batch: bounded memory)."""
        text = json.dumps(_skeleton(report), indent=2, ensure_ascii=False)
        head, tail = text.split(json.dumps(_RESULTS), 1)
        out.write(head + "[")
        first = True
        for result in _results(report):
            out.write("\n        " if first else ",\n        ")
            out.write(_encode(result))
            first = False
        out.write(("]" if first else "\n      ]") + tail + "\n")
