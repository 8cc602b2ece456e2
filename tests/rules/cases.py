"""Data-driven rule cases: ``tests/rules/cases/<CODE>.yml``, one file per rule.

A case is a small native log written compactly::

    - name: ordinary error answered 503 kills the runner
      expect: [r1]              # subjects the file's rule must report (request ids; app for L001)
      others: {R001: []}        # optional: other codes and the subjects they must report
      quiet: true               # optional: no finding of any rule for this case
      runner_skew_s: 4.0        # optional: runner clocks run this far ahead of the gateway
      events:
        - [0.0, gateway, request.received, {request_id: r1, mode: queue}]
        - [0.2, runner, handler.started, {request_id: r1, runner_id: w1}]

Each event is ``[seconds, source, event, {fields}]``. Every case of every file goes into ONE
database (so the whole catalogue is replayed and checked once): ids are namespaced per case
(``k7-r1``, ``k7-w1``; apps ``k7-acme/sdxl``) and each case starts an hour after the previous.
``app`` defaults to ``acme/sdxl`` and ``endpoint`` to ``/predict``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

CASES_DIR = Path(__file__).parent / "cases"
BASE = datetime(2026, 11, 20, 0, 0, 0, tzinfo=UTC)
ID_FIELDS = ("request_id", "runner_id", "child_id", "resource_id")


@dataclass(frozen=True)
class Case:
    code: str
    index: int
    name: str
    expect: tuple[str, ...]
    events: tuple[tuple[float, str, str, dict[str, Any]], ...]
    others: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quiet: bool = False
    runner_skew_s: float = 0.0

    @property
    def prefix(self) -> str:
        return f"k{self.index}-"

    @property
    def id(self) -> str:
        return f"{self.code}: {self.name}"

    def subject(self, raw: str) -> str:
        """A subject as it appears in findings (request id or app, namespaced)."""
        return self.prefix + raw

    def native_lines(self) -> list[tuple[str, str]]:
        """(source, JSON line) for every event of the case."""
        start = BASE + timedelta(hours=self.index)
        out = []
        for t, source, event, fields in self.events:
            skew = self.runner_skew_s if source == "runner" else 0.0
            ts = start + timedelta(seconds=t + skew)
            rec: dict[str, Any] = {
                "ts": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "source": source,
                "event": event,
                "app": self.prefix + str(fields.get("app", "acme/sdxl")),
                "endpoint": fields.get("endpoint", "/predict"),
            }
            for key, value in fields.items():
                if key in ("app", "endpoint"):
                    continue
                rec[key] = self.prefix + str(value) if key in ID_FIELDS else value
            out.append((source, json.dumps(rec)))
        return out


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        code = path.stem
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            cases.append(
                Case(
                    code=code,
                    index=len(cases) + 1,
                    name=str(raw["name"]),
                    expect=tuple(str(x) for x in raw.get("expect", [])),
                    events=tuple(
                        (float(e[0]), str(e[1]), str(e[2]), dict(e[3] if len(e) > 3 else {}))
                        for e in raw["events"]
                    ),
                    others={k: tuple(v) for k, v in (raw.get("others") or {}).items()},
                    quiet=bool(raw.get("quiet", False)),
                    runner_skew_s=float(raw.get("runner_skew_s", 0.0)),
                )
            )
    return cases


def write_logs(cases: list[Case], folder: Path) -> None:
    """gateway.jsonl and runner.jsonl, as the platform would write them."""
    lines: dict[str, list[str]] = {"gateway": [], "runner": []}
    for case in cases:
        for source, line in case.native_lines():
            lines[source].append(line)
    for source, rows in lines.items():
        (folder / f"{source}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
