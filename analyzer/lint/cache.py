"""``analyzer lint --cache FILE``: what each file gave, kept by its content, so that a run over
unchanged files parses nothing.

A file's findings depend on other files too (an app's base app and its settings may be in
another file), so what is kept for a file's bytes comes in three parts, each under the context
it depends on, never more:

1. its class bases (and whether it parses, or can hold no app at all): the bytes alone;
2. its apps' own settings: also the names, among its classes' bases, that are app classes
   somewhere in the linted files;
3. its findings: also the settings its apps inherit from their base apps (resolved over all
   files).

Every run recomputes the cross-file steps (app class names, settings through bases) from the
kept parts, and parses a file only when a part is missing for the present context. The cache
is one JSON file (never pickle: it may come from elsewhere); it is only valid for the same
analyzer version, lint code, rules and options (a different one starts empty), and holds
only the files of the last run. The result is the uncached run's (tests/lint/test_cache.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analyzer import __version__
from analyzer.lint.apps import (
    OwnSettings,
    app_class_names,
    class_bases,
    inherit_settings,
    own_settings,
    resolve_settings,
)
from analyzer.lint.checks import Module
from analyzer.lint.finding import SourceFinding
from analyzer.lint.names import last
from analyzer.lint.run import (
    Counts,
    Unparsable,
    _Source,
    build_modules,
    parse,
    run_checks,
    sort_findings,
)
from analyzer.report.base import display_path
from analyzer.rules.engine import SelectedRule

FORMAT = 1
LINT_DIR = Path(__file__).resolve().parent


def salt(rules: Sequence[SelectedRule]) -> str:
    """What every kept result depends on besides the files: the analyzer's version, the lint
    code itself and the rules with their severities and options."""
    h = hashlib.sha256(f"{FORMAT}\x1f{__version__}".encode())
    for p in sorted(LINT_DIR.rglob("*.py")):
        h.update(p.relative_to(LINT_DIR).as_posix().encode() + b"\x1f" + p.read_bytes())
    for r in rules:
        h.update(f"\x1e{r.rule.code}\x1f{r.severity}\x1f{r.options.model_dump_json()}".encode())
    return h.hexdigest()


class LintCache:
    """The kept parts, read from ``path`` (missing, unreadable or of another salt: empty)."""

    def __init__(self, path: str | os.PathLike[str], rules: Sequence[SelectedRule]) -> None:
        self.path = Path(path)
        self.salt = salt(rules)
        self.entries: dict[str, dict[str, Any]] = {}
        self.used: dict[str, dict[str, Any]] = {}
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(doc, dict) and doc.get("salt") == self.salt:
            entries = doc.get("entries")
            self.entries = entries if isinstance(entries, dict) else {}

    def entry(self, shown: str, data: bytes) -> dict[str, Any]:
        """The kept parts of a file as shown in findings (``shown``) with these bytes."""
        key = hashlib.sha256(shown.encode("utf-8", "surrogateescape") + b"\0" + data).hexdigest()
        got = self.entries.get(key)
        entry = got if isinstance(got, dict) else {}
        self.used[key] = entry
        return entry

    def save(self) -> None:
        """Write the parts of this run's files (a failure to write is said, never fatal)."""
        doc = {"salt": self.salt, "entries": self.used}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(doc, default=repr), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            print(f"analyzer: cannot write the cache {self.path}: {exc.strerror}", file=sys.stderr)


@dataclass
class _File:
    path: str
    data: bytes
    entry: dict[str, Any]
    src: _Source | None = None
    module: Module | None = None

    def parsed(self) -> _Source:
        if self.src is None:
            got = parse(self.path, self.data)
            assert isinstance(got, _Source), "a file the cache says parses"
            self.src = got
        return self.src

    def built(self, known: set[str]) -> Module:
        if self.module is None:
            self.module = build_modules([self.parsed()], known)[0][1]
        return self.module


def _first_part(f: _File) -> None:
    """Part 1: kind (none / bad / ok) and class bases."""
    if "kind" in f.entry:
        return
    got = parse(f.path, f.data)
    if got is None:
        f.entry["kind"] = "none"
    elif isinstance(got, Unparsable):
        f.entry.update(kind="bad", bad=got.to_dict())
    else:
        f.src = got
        nodes = got.parents.index.kind("defs")
        f.entry.update(kind="ok", bases=class_bases(got.tree, got.names, nodes))


def _own(raw: Any) -> OwnSettings:
    """Own settings as kept (JSON lists) or as computed (tuples), as tuples."""
    return {
        name: (list(bases), {k: (v, o) for k, (v, o) in own.items()})
        for name, (bases, own) in raw.items()
    }


def _finding(d: dict[str, Any]) -> SourceFinding:
    return SourceFinding(**d)


def _kept(finding: SourceFinding) -> dict[str, Any]:
    d = dataclasses.asdict(finding)
    d.pop("evidence", None)
    d.pop("cost", None)
    return d


def lint_cached(
    sources: Sequence[tuple[str, bytes]], rules: Sequence[SelectedRule], cache: LintCache
) -> Counts:
    """:func:`analyzer.lint.run.lint_sources`' result, parsing only what ``cache`` lacks."""
    files = [
        _File(path, data, cache.entry(display_path(path) or path, data)) for path, data in sources
    ]
    for f in files:
        _first_part(f)
    ok = [f for f in files if f.entry.get("kind") == "ok"]
    known = app_class_names([f.entry["bases"] for f in ok])
    contexts: list[str] = []
    table: OwnSettings = {}
    owns: list[OwnSettings] = []
    for f in ok:
        names = {last(b) for bases in f.entry["bases"].values() for b in bases}
        ctx = ",".join(sorted(known & names))
        kept = f.entry.setdefault("own", {})
        if ctx not in kept:
            kept[ctx] = own_settings(f.built(known).apps)
        own = _own(kept[ctx])
        contexts.append(ctx)
        owns.append(own)
        table.update(own)
    resolved = resolve_settings(table)
    findings: list[SourceFinding] = []
    apps = suppressed = 0
    for f, ctx, own in zip(ok, contexts, owns, strict=True):
        inherited = [[name, [resolved.get(b) for b in bases]] for name, (bases, _) in own.items()]
        key = ctx + "\x1f" + json.dumps(sorted(inherited), default=repr, sort_keys=True)
        kept = f.entry.setdefault("out", {})
        if key not in kept:
            module = f.built(known)
            inherit_settings(module.apps, resolved)
            found, hidden = run_checks([(f.parsed(), module)], rules)
            kept.clear()  # only the latest context of a file is kept
            kept[key] = {
                "apps": len(module.apps),
                "suppressed": hidden,
                "findings": [_kept(x) for x in found],
            }
        out = kept[key]
        apps += out["apps"]
        suppressed += out["suppressed"]
        findings += [_finding(d) for d in out["findings"]]
    bad = [Unparsable(**f.entry["bad"]) for f in files if f.entry.get("kind") == "bad"]
    cache.save()
    return sort_findings(findings), apps, suppressed, bad
