from __future__ import annotations

import json

import pytest

from analyzer.cli import build_parser, main
from analyzer.commands import COMMAND_MODULES


def test_schema_prints_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "anyOf" in schema and len(schema["anyOf"]) >= 27


def test_every_command_has_help() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = set(sub.choices)  # type: ignore[attr-defined]
    assert len(names) == len(COMMAND_MODULES)
    for name, p in sub.choices.items():  # type: ignore[attr-defined]
        assert p.format_help().strip(), name
        helps = {a.dest: a.help for a in sub._choices_actions}  # type: ignore[attr-defined]
        assert helps.get(name) and "not built" not in helps[name], f"{name} has no help"


def test_no_command_is_usage_error() -> None:
    assert main([]) == 2
