"""The ``findings`` table: its DDL (docs/tables.md documents it) and reading it back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from analyzer.rules.base import Cost, Evidence, Finding, Waste

if TYPE_CHECKING:
    import duckdb

FINDINGS_COLUMNS: list[tuple[str, str]] = [
    ("finding_id", "INTEGER"),
    ("code", "VARCHAR"),
    ("name", "VARCHAR"),
    ("severity", "VARCHAR"),
    ("app", "VARCHAR"),
    ("endpoint", "VARCHAR"),
    ("request_id", "VARCHAR"),
    ("runner_id", "VARCHAR"),
    ("ts", "TIMESTAMPTZ"),
    ("message", "VARCHAR"),
    ("evidence", "JSON"),
    ("runners_killed", "INTEGER"),
    ("gpu_seconds", "DOUBLE"),
    ("cost_usd", "DOUBLE"),
    ("fingerprint", "VARCHAR"),
    ("blamed", "JSON"),
]

FINDINGS_DDL = (
    "CREATE OR REPLACE TABLE findings (\n    "
    + ",\n    ".join(f"{name} {sql_type}" for name, sql_type in FINDINGS_COLUMNS)
    + "\n)"
)


FINDING_SELECT = (
    "SELECT code, name, severity, app, endpoint, request_id, runner_id, "
    "strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ'), message, "
    "evidence, runners_killed, gpu_seconds, cost_usd, fingerprint, blamed"
)
"""The columns of a ``findings`` row that :func:`finding_of` reads (add ``FROM ...``)."""


def _evidence(raw: Any) -> tuple[Evidence, ...]:
    items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    return tuple(
        Evidence(
            int(e["event_id"]),
            e.get("file"),
            None if e.get("line") is None else int(e["line"]),
            e.get("event"),
            e.get("ts"),
        )
        for e in items
    )


def _blamed(raw: Any) -> tuple[Waste, ...]:
    items = json.loads(raw) if isinstance(raw, str) else (raw or ())
    return tuple(
        Waste(b["request_id"], int(b["attempt"]), b["gpu_seconds"], b["cost_usd"]) for b in items
    )


def finding_of(r: Sequence[Any]) -> Finding:
    """The :class:`Finding` of a row of :data:`FINDING_SELECT`."""
    return Finding(
        code=r[0],
        name=r[1],
        severity=r[2],
        app=r[3],
        endpoint=r[4],
        request_id=r[5],
        runner_id=r[6],
        ts=r[7],
        message=r[8] or "",
        evidence=_evidence(r[9]),
        cost=Cost(
            runners_killed=int(r[10] or 0),
            gpu_seconds=float(r[11] or 0.0),
            cost_usd=float(r[12] or 0.0),
            blamed=_blamed(r[14]),
        ),
        fingerprint=r[13] or "",
    )


def load_findings(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    """Every finding of the table, worst first (the table's ``finding_id`` order)."""
    rows = con.execute(f"{FINDING_SELECT} FROM findings ORDER BY finding_id").fetchall()
    return [finding_of(r) for r in rows]
