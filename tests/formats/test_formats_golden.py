"""The line formats (nginx, Envoy) against their golden fixtures: input lines -> the event rows
and rejections the one mapping must make (tests/formats/golden/, written by make_golden.py)."""

from __future__ import annotations

import json

import pytest
from formats_helpers import BY_NAME, GOLDEN

from tests.formats.make_golden import cases, run_case

FILES = sorted(GOLDEN.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_format_on_its_golden_fixture(path) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text(encoding="utf-8"))
    rows, rejected = run_case(doc["format"], doc["lines"])
    assert rejected == doc["rejected"]
    assert len(rows) == len(doc["rows"])
    for got, want in zip(rows, doc["rows"], strict=True):
        assert got == want, (doc["case"], got["line_no"])


def test_every_case_has_a_fixture_with_rows_and_both_formats_have_cases() -> None:
    names = {f"{fmt}-{case}" for fmt, case in cases()}
    assert names == {p.stem for p in FILES}
    assert {json.loads(p.read_text())["format"] for p in FILES} == {"nginx", "envoy"}
    for p in FILES:
        assert json.loads(p.read_text())["rows"], p.stem  # a case that maps nothing tests little


def test_the_line_pattern_is_written_once() -> None:
    """One module per format: the pattern the SQL runs is the one sniffing reads."""
    import inspect

    for name in ("nginx", "envoy"):
        fmt = BY_NAME[name]
        module = inspect.getmodule(fmt.sniff)
        assert module is not None and module.map_blocks is fmt.map_blocks
        source = inspect.getsource(module)
        assert "re.compile" not in source and source.count("regexp_extract(line") == 1
