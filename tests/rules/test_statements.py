"""The rules' SQL reads in one screen, like the replay's relations (tests/replay/test_relations)."""

from __future__ import annotations

from analyzer import analysis
from analyzer.config import Config
from analyzer.rules import engine
from tests.replay.test_relations import MAX_STATEMENT_LINES


def test_each_rule_query_and_engine_statement_reads_in_one_screen() -> None:
    config = Config()
    rules = analysis.selected_rules(config, analysis.policy_for(config))
    assert len(rules) >= 19
    statements = [(s.rule.code, engine.hits_statement(s)[0]) for s in rules]
    statements += list(engine.ENGINE_STATEMENTS)
    for name, sql in statements:
        assert len(sql.strip().splitlines()) <= MAX_STATEMENT_LINES, name
    assert [name for name, _ in engine.ENGINE_STATEMENTS] == [
        "group", "findings_ddl", "blame", "findings",
    ]  # fmt: skip
