"""Regenerate ``tests/replay/relations/*.json`` (see :mod:`tests.replay.relation_fixtures`).

    python -m tests.replay.make_relation_fixtures

Each relation's fixture (the summary relations' too: the rules run between the two parts of
the graph) comes from the golden replay case (``tests/replay/fixtures/``) in which
it has the most rows (ties: the smaller case), so that no fixture is an empty table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from analyzer.analysis import selected_rules
from analyzer.config import Config
from analyzer.replay import graph, incremental
from analyzer.replay.policy import default_policy
from analyzer.replay.policy_sql import install_static_tables
from analyzer.rules.engine import run_rules
from analyzer.store import connect, table_exists
from tests.replay.helpers import fresh_db
from tests.replay.relation_fixtures import FIXTURES, snapshot
from tests.replay.test_derived_facts import insert, listing_503

CASES = Path(__file__).resolve().parent / "fixtures"


def cases() -> Iterator[tuple[str, duckdb.DuckDBPyConnection]]:
    for case in sorted(p for p in CASES.iterdir() if (p / "input.jsonl").exists()):
        yield case.name, fresh_db(case / "input.jsonl")
    listing = connect(":memory:")  # a request listing (no headers, inferred completions)
    insert(listing, listing_503())
    yield "listing_503 (tests/replay/test_derived_facts.py)", listing
    rate = connect(":memory:")  # queued 429s: one retried, two not (another app)
    rows = []
    for app, rid, retried in (("a/x", "q1", True), ("b/y", "q2", False), ("b/y", "q3", False)):
        rq = {"request_id": rid, "app": app}
        rows += [
            (0.0, "gateway", "request.received", {**rq, "mode": "queue"}),
            (0.1, "gateway", "attempt.dispatched", {**rq, "attempt": 1, "runner_id": "w1"}),
            (
                0.2,
                "gateway",
                "attempt.finished",
                {**rq, "attempt": 1, "runner_id": "w1", "status": 429},
            ),
        ]
        if retried:
            rows.append(
                (0.3, "gateway", "attempt.dispatched", {**rq, "attempt": 2, "runner_id": "w1"})
            )
    insert(rate, rows)
    yield "queued_429 (make_relation_fixtures.py)", rate


def main() -> int:
    best: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for case, con in cases():
        policy = default_policy()
        install_static_tables(con, policy)
        incremental.install_sources(con, incremental.FULL)
        size = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
        for rel in graph.relations():
            if rel.part == "summary" and not table_exists(con, "findings"):
                run_rules(con, selected_rules(Config(), policy))  # the summary's input
            graph.materialise(con, rel, policy)
        for rel in graph.relations():
            if rel.kind == "step":
                continue
            n = int(con.execute(f"SELECT count(*) FROM {rel.name}").fetchall()[0][0])
            if rel.name not in best or (n, -size) > best[rel.name][:2]:
                best[rel.name] = (n, -size, snapshot(con, rel, case))
        con.close()
    FIXTURES.mkdir(exist_ok=True)
    for old in FIXTURES.glob("*.json"):
        old.unlink()
    for name, (n, _, fixture) in sorted(best.items()):
        path = FIXTURES / f"{name}.json"
        path.write_text(json.dumps(fixture, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        print(f"{name:20} {n:4} rows  ({fixture['case']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
