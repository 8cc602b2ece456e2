"""Run selected rules over the replay tables and write the ``findings`` table, all in SQL.

1. each rule's query inserts its hits into ``rule_hits`` (one statement per rule);
2. hits are grouped into one finding per (code, subject): the first hit (by ``ord``) names the
   runner, time, message and signature; evidence lists, runners killed and GPU-seconds add up;
3. evidence event ids are joined with ``events`` for their file and line; a finding's cost is
   the replay's waste of the attempts its hits blame (``blamed_attempts``: each attempt's
   ``gpu_seconds_wasted`` and ``wasted_usd``, each attempt once), kept per attempt in
   ``findings.blamed``; per-app allowances drop what a team accepted, and the ``findings``
   table is written worst first.

No ordered aggregate (``list(... ORDER BY ...)``) and no window over wide rows: at 130k findings
they cost several times what gathering a list unordered and sorting it (``list_sort`` on a
struct whose first field is the key) does; windows number the findings on their keys alone.

Rules select the replay's derived columns (``attempts.error_class``, ``needless_termination``,
``gpu_seconds_wasted``...): nothing here or in a rule classifies an error, measures GPU time or
prices a GPU-second again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analyzer.errors import AnalyzerError
from analyzer.rules.base import HIT_COLUMNS, SEVERITY_RANK, Rule, RuleOptions
from analyzer.rules.store import FINDINGS_DDL

if TYPE_CHECKING:  # DuckDB is imported where rules run, not by `analyzer lint`'s start-up
    import duckdb

HITS_DDL = """
CREATE OR REPLACE TEMP TABLE rule_hits (
    code VARCHAR, subject VARCHAR, ord DOUBLE, app VARCHAR, endpoint VARCHAR,
    request_id VARCHAR, runner_id VARCHAR, ts TIMESTAMPTZ, message VARCHAR,
    evidence_ids BIGINT[], runners_killed INTEGER, blamed_attempts INTEGER[],
    signature VARCHAR
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
    "blamed_attempts": "INTEGER[]",
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


def run_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Iterable[SelectedRule],
    *,
    allow: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, int]:
    """Write ``findings`` from the selected rules; returns counts (``findings``, ``allowed``)."""
    selected = list(rules)
    # Whoever writes findings without recording what they cover makes the stored analysis
    # stale (analysis.analyze records it again once the findings are written).
    con.execute("DELETE FROM meta WHERE key = 'analysis_config'")
    import duckdb

    con.execute(HITS_DDL)
    for sel in selected:
        try:
            con.execute(*hits_statement(sel))
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0]
            raise RuleFailedError(
                f"rule {sel.rule.code} failed on this database: {first}"
            ) from None
    install_lookup_tables(con, selected, allow or {})
    for _name, sql in ENGINE_STATEMENTS:
        con.execute(sql)
    allowed = con.execute("SELECT count(*) FROM rule_grouped WHERE allowed").fetchall()
    total = con.execute("SELECT count(*) FROM findings").fetchall()
    return {"findings": int(total[0][0]), "allowed": int(allowed[0][0])}


def hits_statement(sel: SelectedRule) -> tuple[str, list[object]]:
    """The statement (and its parameters) writing the rule ``sel``'s hits into ``rule_hits``."""
    sql, params = sel.rule().sql(sel.options)
    cols = ", ".join(f"h.{c}::{_CASTS[c]} AS {c}" for c in HIT_COLUMNS)
    return (
        f"INSERT INTO rule_hits BY NAME SELECT ?::VARCHAR AS code, {cols} FROM ({sql}) h",
        [sel.rule.code, *params],
    )


def install_lookup_tables(
    con: duckdb.DuckDBPyConnection,
    selected: list[SelectedRule],
    allow: Mapping[str, Iterable[str]],
) -> None:
    """``rule_meta`` (code, name, severity, rank of the selected rules) and ``rule_allow`` (the
    per-app allowances), which the group statement reads."""
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
WITH k AS (  -- a hit's place: (ord, ts), then the order hits were written (narrow columns)
    SELECT rowid AS r, code, subject, app, ts,
           row_number() OVER (ORDER BY ord, ts, rowid) AS k
    FROM rule_hits
),
n AS (  -- a subject's first hit, numbered worst first (keys only: a window carries every
        -- column it is given)
    SELECT f.k, f.r,
           row_number() OVER (ORDER BY m.rank DESC, f.code, f.ts, f.subject)::INTEGER AS fid,
           CASE WHEN NOT f.allowed THEN row_number() OVER (PARTITION BY f.allowed
               ORDER BY m.rank DESC, f.code, f.ts, f.subject) END::INTEGER AS finding_id,
           m.name, m.severity, f.allowed
    FROM (SELECT k.*, EXISTS (SELECT 1 FROM rule_allow w WHERE (w.app = k.app OR w.app = '*')
                              AND starts_with(k.code, w.prefix)) AS allowed
          FROM k WHERE k.k IN (SELECT min(k) FROM k GROUP BY code, subject)) f
    JOIN rule_meta m ON m.code = f.code
),
g AS (  -- each subject's lists, sorted by k (an ordered aggregate costs several times more)
    SELECT h.code, h.subject, sum(h.runners_killed) AS runners_killed,
           flatten(list_transform(list_sort(list({'k': k.k, 'ev': h.evidence_ids})),
                                  lambda x: x.ev)) AS ev
    FROM rule_hits h JOIN k ON k.r = h.rowid GROUP BY h.code, h.subject
)
SELECT n.fid, n.finding_id, h.code, h.subject, n.name, n.severity, h.app, h.endpoint,
       h.request_id, h.runner_id, h.ts, h.message, h.signature, g.ev, g.runners_killed, n.allowed
FROM n JOIN rule_hits h ON h.rowid = n.r JOIN g ON g.code = h.code AND g.subject = h.subject
"""

_BLAME_SQL = """
CREATE OR REPLACE TEMP TABLE rule_blame AS
WITH blamed AS (  -- the attempts each finding's hits blame, each once
    SELECT DISTINCT g.fid, b.request_id, b.attempt
    FROM (SELECT code, subject, request_id, unnest(blamed_attempts) AS attempt FROM rule_hits) b
    JOIN rule_grouped g USING (code, subject)
    WHERE NOT g.allowed AND b.attempt IS NOT NULL
)
SELECT b.fid, list_sort(list({'request_id': b.request_id, 'attempt': b.attempt,
                              'gpu_seconds': coalesce(a.gpu_seconds_wasted, 0.0),
                              'cost_usd': coalesce(a.wasted_usd, 0.0)})) AS blamed,
       sum(coalesce(a.gpu_seconds_wasted, 0.0)) AS gpu_seconds,
       sum(coalesce(a.wasted_usd, 0.0)) AS cost_usd
FROM blamed b JOIN attempts a ON a.request_id = b.request_id AND a.attempt = b.attempt
GROUP BY b.fid
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
    SELECT d.fid, list_transform(list_sort(list({
               'pos': d.pos, 'e': {'event_id': e.event_id, 'file': e.file, 'line': e.line_no,
                                   'event': e.event,
                                   'ts': strftime(e.ts, '%Y-%m-%dT%H:%M:%S.%gZ')}})),
               lambda x: x.e) AS evidence
    FROM ev_first d JOIN events e ON e.event_id = d.event_id
    GROUP BY d.fid
)
SELECT g.finding_id, g.code, g.name, g.severity, g.app, g.endpoint, g.request_id, g.runner_id,
       g.ts, g.message, to_json(coalesce(j.evidence, [])) AS evidence,
       coalesce(g.runners_killed, 0)::INTEGER AS runners_killed,
       coalesce(b.gpu_seconds, 0.0) AS gpu_seconds, coalesce(b.cost_usd, 0.0) AS cost_usd,
       to_json(coalesce(b.blamed, [])) AS blamed,
       substr(md5(concat_ws('|', g.code, coalesce(g.app, ''), coalesce(g.endpoint, ''),
                            coalesce(g.signature, ''))), 1, 16) AS fingerprint
FROM rule_grouped g LEFT JOIN ev_json j USING (fid) LEFT JOIN rule_blame b USING (fid)
WHERE NOT g.allowed
ORDER BY g.finding_id
"""


ENGINE_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("group", _GROUP_SQL),
    ("findings_ddl", FINDINGS_DDL),
    ("blame", _BLAME_SQL),
    ("findings", _FINDINGS_SQL),
)
"""What :func:`run_rules` executes after the hits and lookup tables, in order (named for
``benchmarks/rules.py``)."""
