"""``analyzer lint --cache FILE`` (analyzer/lint/cache.py): the uncached result every time, and
an unchanged file is not parsed again, also when what it inherits lives in another file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyzer.cli import main
from analyzer.config import Config
from analyzer.lint import cache as cache_mod
from analyzer.lint import lint_sources, selected_rules
from analyzer.lint.cache import LintCache
from tests.lint.test_cases import SHARED_BASE, SHARED_LEAF
from tests.lint.test_prefilter import _sources

RULES = selected_rules(Config())

BASE, LEAF = SHARED_BASE, SHARED_LEAF


def _plain(result: tuple) -> tuple:
    findings, apps, suppressed, bad = result
    return [f.to_dict() for f in findings], apps, suppressed, [u.to_dict() for u in bad]


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the cached run parses from now on."""
    seen: list[str] = []
    real = cache_mod.parse

    def counting(path: str, data: bytes):  # type: ignore[no-untyped-def]
        seen.append(path)
        return real(path, data)

    monkeypatch.setattr(cache_mod, "parse", counting)
    return seen


def test_cold_and_warm_runs_give_the_uncached_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = [*_sources(), ("base.py", BASE), ("leaf.py", LEAF), ("broken.py", b"class A(:\n")]
    plain = _plain(lint_sources(sources, RULES))
    assert plain[0] and plain[3]  # findings and an unparsable file: both kept
    path = tmp_path / "lint-cache.json"
    parsed = _parses(monkeypatch)
    assert _plain(lint_sources(sources, RULES, cache=LintCache(path, RULES))) == plain
    assert len(parsed) == len(sources) and path.exists()
    parsed.clear()
    assert _plain(lint_sources(sources, RULES, cache=LintCache(path, RULES))) == plain
    assert parsed == []  # nothing parsed again


def test_a_base_app_changed_in_another_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.json"
    before = [("base.py", BASE), ("leaf.py", LEAF)]
    first = _plain(lint_sources(before, RULES, cache=LintCache(path, RULES)))
    assert ("C007", "leaf.py") in {(f["code"], f["file"]) for f in first[0]}  # 90 s > 30 s
    after = [("base.py", BASE.replace(b"30", b"120")), ("leaf.py", LEAF)]
    parsed = _parses(monkeypatch)
    got = _plain(lint_sources(after, RULES, cache=LintCache(path, RULES)))
    assert got == _plain(lint_sources(after, RULES))
    assert "C007" not in {f["code"] for f in got[0]}  # the inherited limit is now 120 s
    assert parsed[0] == "base.py"  # changed; leaf.py is parsed only for its new context
    parsed.clear()
    assert _plain(lint_sources(after, RULES, cache=LintCache(path, RULES))) == got
    assert parsed == []


def test_other_rules_or_a_damaged_file_start_empty(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    sources = [("base.py", BASE), ("leaf.py", LEAF)]
    lint_sources(sources, RULES, cache=LintCache(path, RULES))
    only = selected_rules(Config(select=["R003"]))
    assert LintCache(path, only).entries == {}
    assert _plain(lint_sources(sources, only, cache=LintCache(path, only))) == _plain(
        lint_sources(sources, only)
    )
    path.write_text("{not json", encoding="utf-8")
    assert LintCache(path, RULES).entries == {}
    assert _plain(lint_sources(sources, RULES, cache=LintCache(path, RULES))) == _plain(
        lint_sources(sources, RULES)
    )
    assert json.loads(path.read_text(encoding="utf-8"))["entries"]  # rewritten


def test_cli_cache_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "base.py").write_bytes(BASE)
    (tmp_path / "apps" / "leaf.py").write_bytes(LEAF)
    monkeypatch.chdir(tmp_path)
    argv = ["lint", "apps", "--format", "json", "--fail-on", "warning"]
    assert main([*argv, "--cache", ".cache/lint.json"]) == 1
    cold = capsys.readouterr().out
    assert "C007" in {f["code"] for f in json.loads(cold)["findings"]}
    assert (tmp_path / ".cache" / "lint.json").exists()
    assert main([*argv, "--cache", ".cache/lint.json"]) == 1
    assert capsys.readouterr().out == cold
    assert main(argv) == 1
    assert capsys.readouterr().out == cold
