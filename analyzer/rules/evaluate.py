"""Score findings against a simulator's ground truth (``_ground_truth.jsonl``).

Match keys (docs: the shared semantics): ``(code, request_id)`` for every rule except L001,
``(code, app)`` for L001. Precision and recall per rule; a rule with neither truth nor findings
scores 1.0 / 1.0.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analyzer.rules.base import Finding

APP_LEVEL = frozenset({"L001"})


@dataclass(frozen=True)
class Score:
    code: str
    truth: int
    found: int
    true_positives: int
    missed: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 1.0


def _key(code: str, request_id: str | None, app: str | None) -> tuple[str, str]:
    return code, str(app if code in APP_LEVEL else request_id)


def read_truth(path: str | Path) -> set[tuple[str, str]]:
    keys = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            keys.add(_key(d["code"], d.get("request_id"), d.get("app")))
    return keys


def score(
    findings: Iterable[Finding], truth: set[tuple[str, str]], codes: Iterable[str]
) -> list[Score]:
    found = {_key(f.code, f.request_id, f.app) for f in findings}
    out = []
    for code in codes:
        t = {k for k in truth if k[0] == code}
        f = {k for k in found if k[0] == code}
        out.append(
            Score(
                code,
                len(t),
                len(f),
                len(t & f),
                tuple(sorted(k[1] for k in t - f)),
                tuple(sorted(k[1] for k in f - t)),
            )
        )
    return out


def table(scores: Iterable[Score]) -> str:
    lines = [f"{'rule':5} {'truth':>5} {'found':>5} {'tp':>4} {'precision':>9} {'recall':>6}"]
    for s in scores:
        lines.append(
            f"{s.code:5} {s.truth:5} {s.found:5} {s.true_positives:4} "
            f"{s.precision:9.3f} {s.recall:6.3f}"
        )
    return "\n".join(lines)
