"""Lint a set of source files: parse each once, find the apps (across files), run the selected
checks, turn hits into located findings, drop the inline-suppressed ones.

Nothing is imported or run: the files are only read and parsed with :mod:`ast`. A file that
cannot be read or parsed is kept in :attr:`LintResult.unparsable` with its reason.
"""

from __future__ import annotations

import ast
import gc
import io
import os
import time
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import ValidationError

from analyzer.config import Config, ConfigError
from analyzer.lint import prefilter
from analyzer.lint.apps import (
    app_class_names,
    class_bases,
    find_apps,
    inherit_settings,
    own_settings,
    resolve_settings,
)
from analyzer.lint.checks import BY_CODE, Hit, Module
from analyzer.lint.context import Parents
from analyzer.lint.files import collect
from analyzer.lint.finding import SourceFinding, fingerprint
from analyzer.lint.names import Names
from analyzer.lint.suppress import is_suppressed, suppressions
from analyzer.lint.walk import Index
from analyzer.report.base import display_path
from analyzer.rules import REGISTRY
from analyzer.rules.base import SEVERITY_RANK
from analyzer.rules.engine import SelectedRule

if TYPE_CHECKING:
    from analyzer.lint.cache import LintCache


@dataclass(frozen=True)
class Unparsable:
    file: str
    line: int | None
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass(frozen=True)
class LintResult:
    findings: tuple[SourceFinding, ...]
    rules: tuple[SelectedRule, ...]
    files: int
    apps: int
    suppressed: int
    unparsable: tuple[Unparsable, ...]
    seconds: float


def selected_rules(config: Config) -> list[SelectedRule]:
    """The rules lint can find, chosen by ``select``/``ignore``, with their severity."""
    unknown = [c for c in config.rules if c not in REGISTRY]
    if unknown:
        raise ConfigError(f"options for unknown rule(s): {', '.join(sorted(unknown))}")
    out = []
    for rule in REGISTRY.select(config.select, config.ignore, with_source_only=True):
        if rule.code not in BY_CODE:
            continue
        values = dict(config.rules.get(rule.code, {}))
        severity = str(values.pop("severity", rule.severity))
        if severity not in SEVERITY_RANK:
            raise ConfigError(f"rules.{rule.code}.severity: must be error, warning or info")
        try:
            options = rule.options(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"rules.{rule.code}.{first['loc'][0]}: {first['msg']}") from None
        out.append(SelectedRule(rule=rule, options=options, severity=severity))
    return out


@dataclass
class _Source:
    path: str
    text: str
    tree: ast.Module
    names: Names
    parents: Parents

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()


PREFILTER = True
"""Parse and walk only what a check can find something in (:mod:`analyzer.lint.prefilter`);
False: every file parsed whole and walked whole (the reference the tests hold it to)."""


def _decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def _trees(tree: ast.Module, text: str) -> tuple[ast.Module, Names, Parents]:
    """The names and parents of ``tree``, indexed (walked) only where a check can find
    something (:func:`prefilter.relevant`)."""
    found = prefilter.relevant(tree, text) if PREFILTER else None
    skipped = found.skipped if found is not None else []
    if found is not None and skipped:
        index = Index(tree, found.roots(tree), shallow=found.shallow)
    else:
        index = Index(tree)
    names = Names.of(tree, index.kind("imports"))
    if skipped and prefilter.needs_full_text(names.aliases, skipped):
        index = Index(tree)
        names = Names.of(tree, index.kind("imports"))
    return tree, names, Parents(index)


def _parse_reduced(path: str, text: str) -> tuple[ast.Module, Names, Parents] | None:
    """``text`` parsed without its blankable functions (:mod:`.prefilter`), or None when that
    cannot stand for the whole text."""
    reduced, blanked = prefilter.reduce(text)
    if not blanked:
        return None
    try:
        parsed = _trees(ast.parse(reduced, filename=path), reduced)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # a cut inside a string, say: the whole text decides
    if prefilter.needs_full_text(parsed[1].aliases, blanked):
        return None
    return parsed


def parse(path: str, data: bytes) -> _Source | Unparsable | None:
    """The parsed source, why it cannot be parsed, or None when it can hold no app (it
    mentions neither fal nor a class: :func:`prefilter.may_hold_apps`)."""
    try:
        text = _decode(data)
        if PREFILTER and not prefilter.may_hold_apps(text):
            return None
        parsed = (_parse_reduced(path, text) if PREFILTER else None) or _trees(
            ast.parse(text, filename=path), text
        )
    except SyntaxError as exc:
        return Unparsable(path, exc.lineno, f"syntax error: {exc.msg}")
    except (UnicodeDecodeError, LookupError) as exc:
        return Unparsable(path, None, f"cannot decode: {exc}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return Unparsable(path, None, f"cannot parse: {exc}")
    return _Source(path, text, *parsed)


def _column(line: str, byte_offset: int) -> int:
    """1-based column in code points from ast's UTF-8 byte offset."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace")) + 1


def _finding(hit: Hit, src: _Source, severity: str) -> SourceFinding:
    rule = REGISTRY.get(hit.code)
    assert rule is not None
    node = hit.node
    lineno = getattr(node, "lineno", 1)
    end_lineno = getattr(node, "end_lineno", None) or lineno
    line_text = src.lines[lineno - 1] if 0 < lineno <= len(src.lines) else ""
    end_text = src.lines[end_lineno - 1] if 0 < end_lineno <= len(src.lines) else line_text
    column = _column(line_text, getattr(node, "col_offset", 0))
    end_column = _column(end_text, getattr(node, "end_col_offset", None) or 0)
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):  # the `def` line
        end_lineno, end_column = lineno, len(line_text) + 1
    file = display_path(src.path) or src.path
    return SourceFinding(
        code=hit.code,
        name=rule.name,
        severity=severity,
        app=hit.app,
        endpoint=None,
        request_id=None,
        runner_id=None,
        ts=None,
        message=hit.message,
        fingerprint=fingerprint(hit.code, file, hit.app, hit.function, line_text),
        file=file,
        line=lineno,
        column=column,
        end_line=end_lineno,
        end_column=end_column,
        snippet=line_text.rstrip(),
        function=hit.function,
    )


Counts = tuple[list[SourceFinding], int, int, list[Unparsable]]
"""(findings, apps found, suppressed inline, unparsable files)."""

MIN_FILES_PER_WORKER = 150


def parse_all(sources: Sequence[tuple[str, bytes]]) -> tuple[list[_Source], list[Unparsable]]:
    parsed: list[_Source] = []
    bad: list[Unparsable] = []
    for path, data in sources:
        result = parse(path, data)
        if isinstance(result, Unparsable):
            bad.append(result)
        elif result is not None:
            parsed.append(result)
    return parsed, bad


def bases_of(parsed: Sequence[_Source]) -> list[dict[str, list[str]]]:
    return [class_bases(s.tree, s.names, s.parents.index.kind("defs")) for s in parsed]


def build_modules(parsed: Sequence[_Source], known: set[str]) -> list[tuple[_Source, Module]]:
    return [
        (
            s,
            Module.build(
                s.path,
                s.tree,
                s.names,
                find_apps(s.tree, s.names, known, s.parents.index.kind("defs")),
                s.parents,
            ),
        )
        for s in parsed
    ]


def run_checks(
    modules: Sequence[tuple[_Source, Module]], rules: Sequence[SelectedRule]
) -> tuple[list[SourceFinding], int]:
    """(findings, suppressed inline) of every selected check over ``modules``."""
    checks = [(BY_CODE[r.rule.code](r.options), r.severity) for r in rules]
    findings: list[SourceFinding] = []
    suppressed = 0
    for src, module in modules:
        if not module.uses_fal and not module.apps:
            continue
        table = suppressions(src.text)
        seen: set[tuple[str, int, int]] = set()
        for check, severity in checks:
            for hit in check.run(module):
                key = (hit.code, getattr(hit.node, "lineno", 0), getattr(hit.node, "col_offset", 0))
                if key in seen:
                    continue
                seen.add(key)
                first = getattr(hit.node, "lineno", 1)
                last = getattr(hit.node, "end_lineno", None) or first
                if isinstance(hit.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    last = hit.node.body[0].lineno - 1 if hit.node.body else first
                    first = min([first, *(d.lineno for d in hit.node.decorator_list)])
                if is_suppressed(table, hit.code, first, max(first, last)):
                    suppressed += 1
                    continue
                findings.append(_finding(hit, src, severity))
    return findings, suppressed


def sort_findings(findings: list[SourceFinding]) -> list[SourceFinding]:
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.code))


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Thousands of kept syntax trees are millions of objects the cyclic collector would walk
    again and again (measured: twice the time of the whole lint); trees hold no cycles to free,
    so it is paused while linting."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def lint_sources(
    sources: Sequence[tuple[str, bytes]],
    rules: Sequence[SelectedRule],
    workers: int = 1,
    cache: LintCache | None = None,
) -> Counts:
    """Lint ``(path, bytes)`` pairs; with ``workers`` > 1 (and enough files) in that many
    forked processes (:mod:`analyzer.lint.parallel`), with the same result; with a ``cache``
    (:mod:`analyzer.lint.cache`) in this process, parsing only what it lacks."""
    with _no_cyclic_gc():
        if cache is not None:
            from analyzer.lint.cache import lint_cached

            return lint_cached(sources, rules, cache)
        return _lint_sources(sources, rules, workers)


def _lint_sources(
    sources: Sequence[tuple[str, bytes]], rules: Sequence[SelectedRule], workers: int
) -> Counts:
    if workers > 1 and len(sources) >= 2 * MIN_FILES_PER_WORKER:
        from analyzer.lint import parallel

        if parallel.available():
            n = min(workers, len(sources) // MIN_FILES_PER_WORKER)
            return parallel.lint_parallel(sources, rules, n)
    parsed, bad = parse_all(sources)
    modules = build_modules(parsed, app_class_names(bases_of(parsed)))
    apps = [a for _, m in modules for a in m.apps]
    inherit_settings(apps, resolve_settings(own_settings(apps)))
    findings, suppressed = run_checks(modules, rules)
    return sort_findings(findings), len(apps), suppressed, bad


def default_workers() -> int:
    """The CPUs this process may use (``os.sched_getaffinity``), at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def lint_paths(
    paths: Iterable[str],
    config: Config | None = None,
    exclude: Iterable[str] = (),
    workers: int | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> LintResult:
    """Lint the Python files under ``paths`` with the rules ``config`` selects (keeping what
    each file gave in the ``cache`` file, when one is named: :mod:`analyzer.lint.cache`)."""
    config = config or Config()
    started = time.perf_counter()
    rules = selected_rules(config)
    files = collect(paths, exclude)
    sources: list[tuple[str, bytes]] = []
    unreadable: list[Unparsable] = []
    for f in files:
        try:
            sources.append((str(f), f.read_bytes()))
        except OSError as exc:
            unreadable.append(Unparsable(str(f), None, f"cannot read: {exc.strerror}"))
    kept = None
    if cache is not None:
        from analyzer.lint.cache import LintCache

        kept = LintCache(cache, rules)
    findings, apps, suppressed, bad = lint_sources(
        sources, rules, default_workers() if workers is None else workers, kept
    )
    return LintResult(
        findings=tuple(findings),
        rules=tuple(rules),
        files=len(files),
        apps=apps,
        suppressed=suppressed,
        unparsable=tuple(unreadable + bad),
        seconds=time.perf_counter() - started,
    )
