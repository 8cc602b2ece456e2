"""The replay as a declared graph of SQL relations, and the one runner that wires them.

Each relation is one ``.sql`` file in ``analyzer/replay/sql/``: a header of comments (what it
holds, then ``-- kind: temp|inline|table|view`` and ``-- inputs: a, b``), then ONE ``SELECT``. Its
name is the file's. Kinds:

- ``temp``: an intermediate result (``_rp_*``), a temporary table dropped after the replay;
- ``inline``: an intermediate result read once, by one relation: a temporary view (dropped like a
  ``temp``), so its rows flow into its reader's statement instead of being stored (storing a
  200k-row intermediate of 40 columns cost more than computing it);
- ``table``: a replay table (its DDL in :mod:`analyzer.replay.schema`, filled by column name);
- ``view``: a replay view (``timeline``), computed when queried from persisted tables;
- ``summary``: a summary table (``analyzer/summary/<name>.sql``: the headline numbers and the
  dashboard's aggregates), made from replay tables and ``findings`` after the rules have run.
  Its SQL is written over placeholders (``{requests}``...: :mod:`analyzer.summary.template`),
  rendered here over the whole tables.

The graph has two parts, run by the same :func:`run`: ``replay`` (every kind but ``summary``,
from :func:`analyzer.replay.build`) and ``summary`` (from :func:`analyzer.summary.build`, once
the rules have written ``findings``, a source only summary relations may read).

Inputs are other relations or :data:`SOURCES`: ``replay_events`` (the events being replayed: all
of them, or an incremental replay's scope), ``events`` (every imported event: the window), what
an incremental replay keeps of the apps it does not replay (``replay_offsets_other``: their
runners' clock offsets; ``replay_429_other``: their 429 counts; empty in a full replay), the
rows given from outside (:data:`GIVEN_SOURCES`: empty unless a shard worker fills them) and the
policy's lookup tables (:mod:`analyzer.replay.policy_sql`). One relation is a Python step:
``policy_status``, the status rules with the 429 behaviour the logs show resolved
(``_rp_observed_429``). :func:`relations` refuses an input that is not declared or not known, a
relation that names an undeclared one in its SQL, and a cycle; :func:`run` executes them in
dependency order. Each relation has its own golden fixture (``tests/replay/relations/``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import duckdb

from analyzer.errors import AnalyzerError
from analyzer.replay.policy import Policy
from analyzer.replay.policy_sql import POLICY_TABLES, install_status_table
from analyzer.replay.schema import REPLAY_TABLES, fill
from analyzer.store import quote_identifier
from analyzer.summary.template import WHOLE_TABLES

SQL_DIR = Path(__file__).with_name("sql")
SUMMARY_DIR = Path(__file__).resolve().parents[1] / "summary"
GIVEN_SOURCES: frozenset[str] = frozenset({"replay_offsets_given", "replay_runners_given"})
"""Rows of ``clock_offsets`` / ``runners`` computed elsewhere from the whole day, which the
replay takes as they are instead of computing them (a time slice of a sharded analysis sees
only part of a runner's life: analyzer/shard/); empty in a normal replay."""
Kind = Literal["temp", "inline", "table", "view", "step", "summary"]
INTERMEDIATE: frozenset[str] = frozenset({"temp", "inline"})
Part = Literal["replay", "summary"]
RULES_OUTPUT = "findings"
"""The source the rules write between the two parts: only summary relations read it."""
SOURCES: frozenset[str] = frozenset(
    {
        "replay_events",
        "events",
        "replay_offsets_other",
        "replay_429_other",
        RULES_OUTPUT,
        *GIVEN_SOURCES,
        *POLICY_TABLES,
    }
)


class GraphError(AnalyzerError):
    """A relation declared wrongly: unknown input, undeclared reference, cycle."""


@dataclass(frozen=True)
class Relation:
    name: str
    kind: Kind
    inputs: tuple[str, ...]
    sql: str  # the SELECT (the header of comments removed); empty for a step
    doc: str
    template: str = ""
    """A summary relation's SELECT over placeholders (``sql`` is it over the whole tables)."""

    @property
    def part(self) -> Part:
        return "summary" if self.kind == "summary" else "replay"


def observed_429(con: duckdb.DuckDBPyConnection) -> str:
    """Which 429 behaviour the logs show: ``retried``, ``not_retried`` (a majority of the 429s
    counted by ``_rp_observed_429`` and ``replay_429_other``) or ``unknown``."""
    yes, no = con.execute(
        "SELECT coalesce(sum(retried), 0), coalesce(sum(not_retried), 0) FROM ("
        "SELECT retried, not_retried FROM _rp_observed_429 "
        "UNION ALL SELECT retried, not_retried FROM replay_429_other)"
    ).fetchall()[0]
    return "retried" if yes > no else "not_retried" if no > yes else "unknown"


def _status(con: duckdb.DuckDBPyConnection, policy: Policy) -> None:
    install_status_table(con, policy, observed_429=observed_429(con))


STEPS: dict[str, tuple[tuple[str, ...], Callable[[duckdb.DuckDBPyConnection, Policy], None]]] = {
    "policy_status": (("_rp_observed_429", "replay_429_other"), _status),
}


def parse(name: str, text: str) -> Relation:
    """One relation from its file's text."""
    doc: list[str] = []
    kind: str | None = None
    inputs: tuple[str, ...] | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].startswith("--"):
        body = lines[i][2:].strip()
        if body.startswith("kind:"):
            kind = body[5:].strip()
        elif body.startswith("inputs:"):
            inputs = tuple(x.strip() for x in body[7:].split(",") if x.strip())
        else:
            doc.append(body)
        i += 1
    if kind not in ("temp", "inline", "table", "view", "summary") or inputs is None:
        raise GraphError(f"{name}.sql: the header needs '-- kind:' and '-- inputs:' lines")
    sql = "\n".join(lines[i:]).strip()
    if kind == "summary":
        rendered = sql.format(**WHOLE_TABLES)
        return Relation(name, "summary", inputs, rendered, "\n".join(doc).strip(), template=sql)
    return Relation(name, kind, inputs, sql, "\n".join(doc).strip())  # type: ignore[arg-type]


def _words(sql: str) -> list[str]:
    """The words of an SQL text, comments, literals and aliases (``... AS children``) excluded."""
    code = re.sub(r"--[^\n]*", "", sql)
    code = re.sub(r"'(?:[^']|'')*'", "''", code)  # string literals name nothing
    code = re.sub(r"\bAS\s+[a-z_][a-z0-9_]*", "", code, flags=re.IGNORECASE)  # nor aliases
    return re.findall(r"\b[a-z_][a-z0-9_]*\b", code)


def references(sql: str, names: frozenset[str]) -> set[str]:
    """The relations (of ``names``) an SQL text names."""
    return {w for w in _words(sql) if w in names}


def placeholders(template: str) -> set[str]:
    """The inputs a summary relation's template reads: its ``{placeholders}`` (a summary reads
    its inputs only through them; ``{finding_cost}`` reads ``findings``)."""
    names = set(re.findall(r"\{([a-z_]+)\}", re.sub(r"--[^\n]*", "", template)))
    if "finding_cost" in names:
        names.add(RULES_OUTPUT)
    return names & set(WHOLE_TABLES) - {"finding_cost", "bucket_width"}


@cache
def relations() -> tuple[Relation, ...]:
    """Every relation, checked, in dependency order (ties: by name)."""
    files = [*SQL_DIR.glob("*.sql"), *SUMMARY_DIR.glob("*.sql")]
    found = {p.stem: parse(p.stem, p.read_text(encoding="utf-8")) for p in files}
    for p in files:
        if (found[p.stem].kind == "summary") != (p.parent == SUMMARY_DIR):
            raise GraphError(f"{p.stem}: kind summary belongs in analyzer/summary/, only there")
    for name, (inputs, _fn) in STEPS.items():
        found[name] = Relation(name, "step", inputs, "", "a Python step")
    known = frozenset(found) | SOURCES
    for r in found.values():
        unknown = [x for x in r.inputs if x not in known]
        if unknown:
            raise GraphError(f"{r.name}: unknown input(s) {', '.join(unknown)}")
        if RULES_OUTPUT in r.inputs and r.part != "summary":
            raise GraphError(f"{r.name}: only summary relations read {RULES_OUTPUT}")
        used = placeholders(r.template) if r.template else references(r.sql, known - {r.name})
        undeclared = used - set(r.inputs)
        if undeclared:
            raise GraphError(f"{r.name}: uses undeclared input(s) {', '.join(sorted(undeclared))}")
    for r in found.values():
        readers = [x for x in found.values() if r.name in x.inputs]
        if r.kind == "inline" and (
            len(readers) != 1 or _words(readers[0].sql).count(r.name) != 1
        ):  # a view read twice is computed twice
            raise GraphError(f"{r.name}: an inline relation is read once, by one relation")
    tables = {r.name for r in found.values() if r.kind in ("table", "view")}
    if tables != set(REPLAY_TABLES):
        raise GraphError(f"replay tables without a relation or DDL: {tables ^ set(REPLAY_TABLES)}")
    ordered: list[Relation] = []
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in SOURCES or state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise GraphError("cycle: " + " -> ".join((*path, name)))
        state[name] = 1
        for dep in sorted(found[name].inputs):
            visit(dep, (*path, name))
        state[name] = 2
        ordered.append(found[name])

    for name in sorted(found):
        visit(name, ())
    return tuple(ordered)


def by_name() -> dict[str, Relation]:
    return {r.name: r for r in relations()}


def materialise(
    con: duckdb.DuckDBPyConnection, rel: Relation, policy: Policy | None, *, shadow: bool = False
) -> None:
    """Create one relation from its inputs (which must exist). ``shadow``: a replay table is
    made as a temporary table of the same name (which hides the persisted one until dropped:
    an incremental replay merges it afterwards), and a view is left as it is."""
    if rel.kind == "step":
        assert policy is not None, "the replay's steps need the policy"
        STEPS[rel.name][1](con, policy)
    elif rel.kind == "summary":
        con.execute(f"CREATE OR REPLACE TABLE {quote_identifier(rel.name)} AS {rel.sql}")
    elif rel.kind == "temp":
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_identifier(rel.name)} AS {rel.sql}")
    elif rel.kind == "inline":
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_identifier(rel.name)} AS {rel.sql}")
    elif shadow and rel.kind == "table":
        cols = ", ".join(f"{quote_identifier(c)} {t}" for c, t in REPLAY_TABLES[rel.name])
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_identifier(rel.name)} ({cols})")
        con.execute(f"INSERT INTO temp.{quote_identifier(rel.name)} BY NAME {rel.sql}")
    elif not shadow:
        fill(con, rel.name, rel.sql)


def run(
    con: duckdb.DuckDBPyConnection,
    policy: Policy | None,
    *,
    part: Part = "replay",
    shadow: bool = False,
    on_relation: Callable[[Relation], None] | None = None,
) -> None:
    """Materialise every relation of ``part`` in dependency order over the sources (which the
    caller creates); each intermediate one is dropped as soon as the last relation reading it
    is made (temporary tables live in memory: at 1M requests keeping all of them to the end
    held 5 GB and spilled), see :func:`materialise` for ``shadow``."""
    expires = last_uses()
    with unordered(con):
        for rel in relations():
            if rel.part != part:
                continue
            materialise(con, rel, policy, shadow=shadow)
            if on_relation is not None:
                on_relation(rel)
            for name in expires.get(rel.name, ()):
                drop(con, name)
    drop_intermediate(con)


@contextmanager
def unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """``preserve_insertion_order`` off while the graph runs (restored afterwards): no relation
    depends on the order of its rows (every one that needs an order says ORDER BY), and keeping
    it made DuckDB buffer whole results to write them in order (a persisted replay table of 800k
    rows: 0.40 s ordered, 0.09 s not)."""
    old = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if old else 'false'}")


@cache
def last_uses() -> dict[str, tuple[str, ...]]:
    """For each relation, the intermediate (``temp``, ``inline``) relations no later relation
    reads; a relation that reads an ``inline`` one reads its inputs too (a view is computed by
    its reader), so they live until then."""
    ordered = relations()
    found = {r.name: r for r in ordered}

    def reads(rel: Relation) -> list[str]:
        out: list[str] = []
        for dep in rel.inputs:
            if dep in found and found[dep].kind == "inline":
                out += reads(found[dep])
            out.append(dep)
        return out

    last: dict[str, str] = {}
    for rel in ordered:
        if rel.kind in INTERMEDIATE:
            last[rel.name] = rel.name  # read by nothing: dropped right away
        if rel.kind == "inline":
            continue  # its inputs are read when its reader is made
        for dep in reads(rel):
            if dep in last:
                last[dep] = rel.name
    out: dict[str, list[str]] = {}
    for temp, consumer in last.items():  # views first: they read the tables dropped with them
        out.setdefault(consumer, []).append(temp)
    return {k: tuple(sorted(v, key=lambda n: found[n].kind != "inline")) for k, v in out.items()}


def drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the intermediate relation ``name`` (a temporary table or view) if it exists."""
    what = "VIEW" if by_name()[name].kind == "inline" else "TABLE"
    con.execute(f"DROP {what} IF EXISTS temp.{quote_identifier(name)}")


def drop_intermediate(con: duckdb.DuckDBPyConnection) -> None:
    for rel in relations():
        if rel.kind in INTERMEDIATE:
            drop(con, rel.name)
