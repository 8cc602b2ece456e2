"""Every source check against its cases (tests/lint/cases/<CODE>.yml): a case is a small app;
``# expect: CODE`` marks each line where a finding must be reported, and every other line must
stay silent, for every rule (so near-misses prove the absence of all findings, not one)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from analyzer.config import Config
from analyzer.lint import lint_sources, selected_rules
from analyzer.lint.checks import BY_CODE
from analyzer.rules import REGISTRY

HERE = Path(__file__).parent
MARK = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")
RULES = selected_rules(Config())


@dataclass(frozen=True)
class Case:
    code: str
    name: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.code}:{self.name}"

    def expected(self) -> set[tuple[str, int]]:
        out = set()
        for n, line in enumerate(self.source.splitlines(), start=1):
            m = MARK.search(line)
            if m:
                out |= {(c.strip(), n) for c in m.group(1).split(",") if c.strip()}
        return out


def load_cases() -> list[Case]:
    cases = []
    for path in sorted((HERE / "cases").glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert doc["code"] == path.stem, path
        cases += [Case(doc["code"], c["name"], c["source"]) for c in doc["cases"]]
    return cases


CASES = load_cases()


def found(source: str, path: str = "app.py") -> set[tuple[str, int]]:
    findings, _apps, _suppressed, bad = lint_sources([(path, source.encode())], RULES)
    assert bad == []
    return {(f.code, f.line) for f in findings}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case) -> None:
    assert found(case.source) == case.expected()


def test_every_check_has_a_firing_case_and_two_near_misses() -> None:
    for code in BY_CODE:
        mine = [c for c in CASES if c.code == code]
        assert any((code, n) in c.expected() for c in mine for n in range(999)), code
        misses = [c for c in mine if not any(e[0] == code for e in c.expected())]
        assert len(misses) >= 2, f"{code}: fewer than 2 near-misses"


def test_every_source_only_rule_has_a_check() -> None:
    assert {r.code for r in REGISTRY if r.source_only} <= set(BY_CODE)
    assert all(REGISTRY.get(code) is not None for code in BY_CODE)


@pytest.mark.parametrize("name", sorted(p.name for p in (HERE / "seeds").glob("*.py")))
def test_the_seeds_examples_are_clean(name: str) -> None:
    source = (HERE / "seeds" / name).read_text(encoding="utf-8")
    findings, apps, _suppressed, bad = lint_sources([(name, source.encode())], RULES)
    assert bad == [] and apps == 1
    assert [(f.code, f.line, f.message) for f in findings] == []


def test_seed_000_turns_into_findings_when_its_cancel_route_goes() -> None:
    """The clean seed is clean for a reason: without its cancel route, A002 fires; with a
    cancel route that forgets to cancel, C002 does."""
    seed = (HERE / "seeds" / "seed000_cancellation.py").read_text(encoding="utf-8")
    head, _sep, _tail = seed.partition('    @fal.endpoint("/predict/cancel")')
    assert {c for c, _ in found(head)} == {"A002"}
    lazy = seed.replace("self._tasks[x_fal_request_id].cancel()", "pass")
    assert {c for c, _ in found(lazy)} == {"C002"}


def test_apps_are_found_across_files_with_inherited_settings() -> None:
    base = b"""
from fal import App as FalApp

class Base(FalApp):
    request_timeout = 30
"""
    sub = b"""
import asyncio
import fal
from base import Base

class Worker(Base):
    @fal.endpoint("/")
    def run(self, n: int) -> int:
        return asyncio.run(asyncio.wait_for(self.job(n), 90))
"""
    findings, apps, _suppressed, bad = lint_sources([("base.py", base), ("sub.py", sub)], RULES)
    assert bad == [] and apps == 2
    assert {(f.code, f.file, f.line, f.app) for f in findings} == {
        ("C007", "sub.py", 9, "Worker"),  # the 30 s come from Base, in the other file
        ("R003", "sub.py", 6, "Worker"),  # reported at the class in this file, not base.py's line
    }
    r003 = next(f for f in findings if f.code == "R003")
    assert "(inherited from Base)" in r003.message
    assert r003.snippet == "class Worker(Base):"


SHARED_BASE = b"import fal\n\nclass Shared(fal.App):\n    request_timeout = 30\n"
SHARED_LEAF = b"""import asyncio
import fal

class Leaf(Shared):
    @fal.endpoint("/")
    def run(self, n: int) -> int:
        return asyncio.run(asyncio.wait_for(self.job(n), 90))
"""
"""An app (in leaf.py) whose base app and its 30 s request_timeout sit in base.py: C007."""


def test_workers_give_the_single_process_result(tmp_path) -> None:
    """The forked workers (analyzer.lint.parallel) find exactly what one process finds, also
    for an app whose base app (and its request_timeout) sits in another worker's share."""
    from analyzer.lint.run import MIN_FILES_PER_WORKER

    sources = [(f"case{i:03d}.py", c.source.encode()) for i, c in enumerate(CASES)]
    base, sub = SHARED_BASE, SHARED_LEAF
    sources += [
        ("base.py", base),
        ("leaf.py", sub),
        ("broken.py", b"import fal\nclass A(fal.App):\n    def f(:\n"),
    ]
    while len(sources) < 2 * MIN_FILES_PER_WORKER + 1:
        sources.append((f"pad{len(sources):04d}.py", b"import fal\nx = 1\n"))
    one = lint_sources(sources, RULES, workers=1)
    two = lint_sources(sources, RULES, workers=2)
    assert [f.to_dict() for f in two[0]] == [f.to_dict() for f in one[0]]
    assert two[1:] == one[1:]
    assert ("C007", "leaf.py") in {(f.code, f.file) for f in one[0]}
    assert [u.file for u in one[3]] == ["broken.py"]
