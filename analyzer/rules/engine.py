"""Run selected rules over the replay tables and write the ``findings`` table, all in SQL.

1. each rule's query inserts its hits into ``rule_hits`` (one statement per rule);
2. hits are grouped into one finding per (code, subject): the first hit (by ``ord``) names the
   runner, time, message and signature; evidence lists, runners killed and GPU-seconds add up;
3. evidence event ids are joined with ``events`` for their file and line, costs are priced at
   the replay's ``runners.price_usd_per_gpu_hour`` (the policy's default price for a finding
   without a runner), per-app allowances drop what a team accepted, and the ``findings`` table
   is written worst first.

Rules select the replay's derived columns (``attempts.error_class``, ``needless_termination``,
``gpu_seconds_wasted``...): nothing here classifies an error or prices a GPU-second again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb

from analyzer.errors import AnalyzerError
from analyzer.rules.base import HIT_COLUMNS, SEVERITY_RANK, Rule, RuleOptions
from analyzer.rules.store import FINDINGS_DDL

HITS_DDL = """
CREATE OR REPLACE TEMP TABLE rule_hits (
    code VARCHAR, subject VARCHAR, ord DOUBLE, app VARCHAR, endpoint VARCHAR,
    request_id VARCHAR, runner_id VARCHAR, ts TIMESTAMPTZ, message VARCHAR,
    evidence_ids BIGINT[], runners_killed INTEGER, gpu_seconds DOUBLE, signature VARCHAR
)"""

_CASTS = {
    "subject": "VARCHAR",
    "ord": "DOUBLE",
    "app": "VARCHAR",
    "endpoint": "VARCHAR",
    "request_id": "VARCHAR",
    "runner_id": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "message": "VARCHAR",
    "evidence_ids": "BIGINT[]",
    "runners_killed": "INTEGER",
    "gpu_seconds": "DOUBLE",
    "signature": "VARCHAR",
}


class RuleFailedError(AnalyzerError):
    """A rule's query failed on this database (missing replay table or column)."""


@dataclass(frozen=True)
class SelectedRule:
    """A rule with its options and effective severity, ready to run."""

    rule: type[Rule]
    options: RuleOptions
    severity: str


@dataclass(frozen=True)
class Pricing:
    """The price of a GPU-hour for findings without a runner (the policy's default); a
    runner's own price is the replay's ``runners.price_usd_per_gpu_hour``."""

    default_usd: float = 2.0


def run_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Iterable[SelectedRule],
    *,
    pricing: Pricing = Pricing(),
    allow: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, int]:
    """Write ``findings`` from the selected rules; returns counts (``findings``, ``allowed``)."""
    selected = list(rules)
    # Whoever writes findings without recording what they cover makes the stored analysis
    # stale (analysis.analyze records it again once the findings are written).
    con.execute("DELETE FROM meta WHERE key = 'analysis_config'")
    con.execute(HITS_DDL)
    for sel in selected:
        sql, params = sel.rule().sql(sel.options)
        cols = ", ".join(f"h.{c}::{_CASTS[c]} AS {c}" for c in HIT_COLUMNS)
        try:
            con.execute(
                f"INSERT INTO rule_hits BY NAME SELECT ?::VARCHAR AS code, {cols} FROM ({sql}) h",
                [sel.rule.code, *params],
            )
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise RuleFailedError(
                f"rule {sel.rule.code} failed on this database: {first}"
            ) from None
    _install_lookup_tables(con, selected, allow or {})
    con.execute(_GROUP_SQL)
    con.execute(FINDINGS_DDL)
    con.execute(_FINDINGS_SQL, [pricing.default_usd])
    allowed = con.execute("SELECT count(*) FROM rule_grouped WHERE allowed").fetchall()
    total = con.execute("SELECT count(*) FROM findings").fetchall()
    return {"findings": int(total[0][0]), "allowed": int(allowed[0][0])}


def _install_lookup_tables(
    con: duckdb.DuckDBPyConnection,
    selected: list[SelectedRule],
    allow: Mapping[str, Iterable[str]],
) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rule_meta (code VARCHAR, name VARCHAR, severity VARCHAR, "
        "rank INTEGER)"
    )
    if selected:
        con.executemany(
            "INSERT INTO rule_meta VALUES (?, ?, ?, ?)",
            [(s.rule.code, s.rule.name, s.severity, SEVERITY_RANK[s.severity]) for s in selected],
        )
    con.execute("CREATE OR REPLACE TEMP TABLE rule_allow (app VARCHAR, prefix VARCHAR)")
    rows = [(app, p.upper()) for app, prefixes in allow.items() for p in prefixes]
    if rows:
        con.executemany("INSERT INTO rule_allow VALUES (?, ?)", rows)


_GROUP_SQL = """
CREATE OR REPLACE TEMP TABLE rule_grouped AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY code, subject ORDER BY ord, ts) AS rn
    FROM rule_hits
),
totals AS (
    SELECT code, subject, flatten(list(evidence_ids ORDER BY ord, ts)) AS ev,
           sum(runners_killed) AS runners_killed, sum(gpu_seconds) AS gpu_seconds
    FROM rule_hits GROUP BY code, subject
)
SELECT row_number() OVER (ORDER BY m.rank DESC, r.code, r.ts, r.subject)::INTEGER AS fid,
       r.code, m.name, m.severity, r.app, r.endpoint, r.request_id, r.runner_id, r.ts,
       r.message, r.signature, t.ev, t.runners_killed, t.gpu_seconds,
       EXISTS (SELECT 1 FROM rule_allow w
               WHERE (w.app = r.app OR w.app = '*') AND starts_with(r.code, w.prefix)) AS allowed
FROM ranked r JOIN totals t USING (code, subject) JOIN rule_meta m USING (code)
WHERE r.rn = 1
"""

_FINDINGS_SQL = """
INSERT INTO findings BY NAME
WITH ev_flat AS (
    SELECT fid, unnest(ev) AS event_id, generate_subscripts(ev, 1) AS pos
    FROM rule_grouped WHERE NOT allowed
),
ev_first AS (
    SELECT fid, event_id, min(pos) AS pos FROM ev_flat WHERE event_id IS NOT NULL GROUP BY ALL
),
ev_json AS (
    SELECT d.fid, list({'event_id': e.event_id, 'file': e.file, 'line': e.line_no,
                        'event': e.event,
                        'ts': strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%gZ')} ORDER BY d.pos) AS evidence
    FROM ev_first d JOIN events e ON e.event_id = d.event_id
    GROUP BY d.fid
),
priced AS (
    SELECT g.fid, coalesce(rr.price_usd_per_gpu_hour, ?::DOUBLE) AS usd_per_hour
    FROM rule_grouped g
    LEFT JOIN runners rr ON rr.runner_id = g.runner_id
    WHERE NOT g.allowed
)
SELECT row_number() OVER (ORDER BY g.fid)::INTEGER AS finding_id,
       g.code, g.name, g.severity, g.app, g.endpoint, g.request_id, g.runner_id, g.ts,
       g.message, to_json(coalesce(j.evidence, [])) AS evidence,
       coalesce(g.runners_killed, 0)::INTEGER AS runners_killed,
       coalesce(g.gpu_seconds, 0.0) AS gpu_seconds,
       coalesce(g.gpu_seconds, 0.0) / 3600.0 * pr.usd_per_hour AS cost_usd,
       substr(md5(concat_ws('|', g.code, coalesce(g.app, ''), coalesce(g.endpoint, ''),
                            coalesce(g.signature, ''))), 1, 16) AS fingerprint
FROM rule_grouped g LEFT JOIN ev_json j USING (fid) JOIN priced pr USING (fid)
WHERE NOT g.allowed
"""
