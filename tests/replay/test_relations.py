"""The replay's graph of relations: declared, checked, each on its own golden fixture."""

from __future__ import annotations

import json

import pytest

from analyzer.replay import graph
from analyzer.replay.schema import REPLAY_TABLES
from tests.replay.relation_fixtures import FIXTURES, run_fixture, same

MAX_STATEMENT_LINES = 60  # one screen
RELATIONS = [r for r in graph.relations() if r.kind != "step"]


@pytest.mark.parametrize("rel", RELATIONS, ids=[r.name for r in RELATIONS])
def test_relation_on_its_golden_fixture(rel: graph.Relation) -> None:
    fixture = json.loads((FIXTURES / f"{rel.name}.json").read_text(encoding="utf-8"))
    assert sorted(fixture["inputs"]) == sorted(rel.inputs)
    assert fixture["expected"]["rows"], "a fixture whose relation is empty tests little"
    cols, got = run_fixture(fixture, rel)
    assert cols == fixture["expected"]["columns"]
    want = fixture["expected"]["rows"]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert same(g, w), f"{rel.name}: {g} != {w}"


def test_every_relation_has_a_fixture_and_no_fixture_is_orphaned() -> None:
    assert {p.stem for p in FIXTURES.glob("*.json")} == {r.name for r in RELATIONS}


def test_dependency_order_and_declared_inputs() -> None:
    seen: set[str] = set(graph.SOURCES)
    for rel in graph.relations():
        assert set(rel.inputs) <= seen, rel.name  # every input exists before it runs
        seen.add(rel.name)
    # the replay tables are exactly the table/view relations, and the runner is the only wiring
    assert {r.name for r in graph.relations() if r.kind in ("table", "view")} == set(REPLAY_TABLES)


def test_each_statement_reads_in_one_screen() -> None:
    for rel in RELATIONS:
        # as written (a summary's {finding_cost} is its own statement, analyzer/rules/totals.py)
        assert len((rel.template or rel.sql).splitlines()) <= MAX_STATEMENT_LINES, rel.name


def test_undeclared_input_is_refused() -> None:
    rel = graph.parse("x", "-- kind: temp\n-- inputs: replay_events\nSELECT * FROM _rp_recv")
    known = frozenset({r.name for r in graph.relations()}) | graph.SOURCES
    assert graph.references(rel.sql, known) - set(rel.inputs) == {"_rp_recv"}
    with pytest.raises(graph.GraphError, match="kind"):
        graph.parse("y", "SELECT 1")


def test_the_summary_relations_are_nodes_of_the_graph() -> None:
    from analyzer import summary

    nodes = {r.name: r for r in graph.relations() if r.part == "summary"}
    assert set(nodes) == set(summary.NAMES)
    order = [r.name for r in graph.relations()]
    for rel in nodes.values():
        assert rel.kind == "summary" and set(rel.inputs) <= {"requests", "runners", "findings"}
        assert graph.placeholders(rel.template) == set(rel.inputs), rel.name  # declared = read
        for dep in set(rel.inputs) - {"findings"}:  # made after the replay tables they read
            assert order.index(dep) < order.index(rel.name)
    # only summary relations may read what the rules write
    assert all("findings" not in r.inputs for r in graph.relations() if r.part == "replay")


def test_a_stale_summary_is_not_built() -> None:
    from analyzer import store, summary

    con = store.connect(":memory:")
    for rel in graph.relations():  # empty replay tables and findings are enough
        if rel.kind == "table":
            con.execute(
                f"CREATE TABLE {rel.name} ("
                + ", ".join(f'"{c}" {t}' for c, t in REPLAY_TABLES[rel.name])
                + ")"
            )
    from analyzer.rules.store import FINDINGS_DDL

    con.execute(FINDINGS_DDL)
    assert not summary.is_built(con)
    summary.build(con)
    assert summary.is_built(con)
    store.set_meta(con, "summary_key", "made by older code")
    assert not summary.is_built(con)  # an older summary (other SQL) is rebuilt by the analysis
