"""The rule registry: refuses mistakes; selects rules by code or prefix (most specific wins).

Selection follows flake8's ``DecisionEngine``: for each rule the longest matching prefix in
``select`` and in ``ignore`` is found; the longer one decides, a tie is decided by ``ignore``.
An empty ``select`` selects everything (as if ``select = [""]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from analyzer.errors import AnalyzerError
from analyzer.rules.base import CODE_PATTERN, SEVERITY_RANK, Rule

_PREFIX = re.compile(r"^[A-Z]\d{0,3}$")
_DOC_SECTIONS = ("Why it matters", "Anti-pattern", "Best practice")


class RegistryError(ValueError):
    """A rule that cannot be registered (a programming error, not a user error)."""


class UnknownRuleError(AnalyzerError):
    """A code or prefix given by the user matches no rule."""


class Registry:
    """Rules by code, in registration order."""

    def __init__(self) -> None:
        self._rules: dict[str, type[Rule]] = {}

    def register(self, rule: type[Rule]) -> type[Rule]:
        """Add a rule class (usable as a decorator). Refuses malformed, duplicate, undocumented."""
        code = getattr(rule, "code", "")
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            raise RegistryError(f"{rule.__name__}: malformed rule code {code!r} (want e.g. S001)")
        if code in self._rules:
            raise RegistryError(f"{rule.__name__}: duplicate rule code {code}")
        if not rule.name or not re.match(r"^[a-z]+\.[a-z0-9-]+$", rule.name):
            raise RegistryError(f"{code}: malformed rule name {rule.name!r}")
        if any(r.name == rule.name for r in self._rules.values()):
            raise RegistryError(f"{code}: duplicate rule name {rule.name}")
        if rule.severity not in SEVERITY_RANK:
            raise RegistryError(f"{code}: unknown severity {rule.severity!r}")
        docs = rule.docs()
        if not docs:
            raise RegistryError(f"{code}: a rule needs a docstring (its documentation)")
        missing = [s for s in _DOC_SECTIONS if f"**{s}**" not in docs]
        if missing:
            raise RegistryError(f"{code}: docstring lacks section(s) {', '.join(missing)}")
        self._rules[code] = rule
        return rule

    def __iter__(self) -> Iterator[type[Rule]]:
        """In registration order (the contract's catalogue order: S, R, C, L)."""
        return iter(list(self._rules.values()))

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, code: object) -> bool:
        return code in self._rules

    def get(self, code: str) -> type[Rule] | None:
        return self._rules.get(code.upper())

    def codes(self) -> list[str]:
        return sorted(self._rules)

    def check_prefixes(self, prefixes: Iterable[str]) -> list[str]:
        """Normalise user-given codes/prefixes; unknown ones raise :class:`UnknownRuleError`."""
        out = []
        for raw in prefixes:
            p = raw.strip().upper()
            if not p:
                continue
            if not _PREFIX.match(p) or not any(c.startswith(p) for c in self._rules):
                known = ", ".join(self.codes())
                raise UnknownRuleError(f"unknown rule code or prefix {raw!r} (known: {known})")
            out.append(p)
        return out

    def select(
        self,
        select: Iterable[str] = (),
        ignore: Iterable[str] = (),
        *,
        with_source_only: bool = False,
    ) -> list[type[Rule]]:
        """The rules chosen by ``select`` / ``ignore`` (codes or prefixes; most specific wins).

        Rules with no log query (``Rule.source_only``: found by ``analyzer lint`` only) are left
        out unless ``with_source_only`` is True (``analyzer lint``)."""
        sel = self.check_prefixes(select) or [""]
        ign = self.check_prefixes(ignore)
        return [
            r for r in self if decide(r.code, sel, ign) and (with_source_only or not r.source_only)
        ]


def decide(code: str, select: list[str], ignore: list[str]) -> bool:
    """True when ``code`` is selected: the longest matching prefix wins, ignore wins a tie."""
    best_sel = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ign = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return best_sel >= 0 and best_sel > best_ign


def split_codes(text: str | Iterable[str] | None) -> list[str]:
    """``"S001,R"`` or ``["S001", "R"]`` -> ``["S001", "R"]``."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else [s for t in text for s in t.split(",")]
    return [s.strip() for s in items if s.strip()]
