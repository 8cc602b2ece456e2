"""Baselines: adopt the check on a running system by recording today's findings.

``--write-baseline FILE`` stores the current findings by fingerprint (rule, app, endpoint, error
signature: no request ids, so the same problem tomorrow has the same fingerprint) with counts;
``--baseline FILE`` then reports only findings beyond those counts: a new fingerprint, or more
occurrences of a known one than were recorded (the most recent ones are the new ones).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError
from analyzer.rules.base import Finding

BASELINE_VERSION = 1


class BaselineError(AnalyzerError):
    """A baseline file that cannot be read or is not a baseline."""


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    entries: dict[str, dict[str, Any]] = {}
    for f in findings:
        e = entries.setdefault(
            f.fingerprint,
            {
                "count": 0,
                "code": f.code,
                "name": f.name,
                "app": f.app,
                "endpoint": f.endpoint,
                "example": f.message,
            },
        )
        e["count"] += 1
    return {
        "tool": "analyzer",
        "version": BASELINE_VERSION,
        "fingerprints": dict(sorted(entries.items(), key=lambda kv: (kv[1]["code"], kv[0]))),
    }


def write_baseline(path: str | Path, findings: Iterable[Finding]) -> int:
    """Write the baseline; returns the number of fingerprints recorded."""
    doc = baseline_document(findings)
    try:
        Path(path).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror}") from None
    return len(doc["fingerprints"])


def load_baseline(path: str | Path) -> dict[str, int]:
    """Fingerprint -> recorded count."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline not found: {p}") from None
    except OSError as exc:
        raise BaselineError(f"cannot read baseline {p}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {p} is not JSON: {exc}") from None
    fps = doc.get("fingerprints") if isinstance(doc, dict) else None
    if doc.get("tool") != "analyzer" or not isinstance(fps, dict):
        raise BaselineError(f"{p} is not an analyzer baseline (write one with --write-baseline)")
    try:
        return {str(k): int(v.get("count", 1)) for k, v in fps.items()}
    except (AttributeError, TypeError, ValueError):
        raise BaselineError(f"baseline {p}: malformed fingerprint entry") from None


def apply_baseline(
    findings: Sequence[Finding], baseline: dict[str, int]
) -> tuple[tuple[Finding, ...], int]:
    """(new findings in their original order, number suppressed as known)."""
    by_fp: dict[str, list[int]] = {}
    for i, f in enumerate(findings):
        by_fp.setdefault(f.fingerprint, []).append(i)
    known: set[int] = set()
    for fp, idx in by_fp.items():
        allowed = baseline.get(fp, 0)
        oldest_first = sorted(idx, key=lambda i: (findings[i].ts or "", i))
        known.update(oldest_first[:allowed])
    new = tuple(f for i, f in enumerate(findings) if i not in known)
    return new, len(known)
