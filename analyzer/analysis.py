"""The orchestrator used by the CLI, the dashboard and the notebook.

``analyze(con, config)`` replays the imported events under the configured policy, runs the
selected rules and writes the ``findings`` table; ``ensure_analyzed(con, config)`` does so only
when the findings are missing or stale (new events, another configuration), and otherwise reads
them back. Meta keys written: ``analysis_events`` (events analysed), ``analysis_config`` (the
configuration's fingerprint), ``gpu_hour_usd`` (the default price used).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
from pydantic import ValidationError

from analyzer import replay, summary
from analyzer.config import Config, ConfigError
from analyzer.replay.policy import Policy, default_policy, load_policy, with_patterns
from analyzer.rules import REGISTRY, Finding, Rule
from analyzer.rules.base import SEVERITY_RANK
from analyzer.rules.engine import SelectedRule, run_rules
from analyzer.rules.store import load_findings
from analyzer.rules.stored import StoredFindings
from analyzer.rules.totals import findings_summary
from analyzer.store import bounded_memory, get_meta, quote_identifier, set_meta, table_exists

RULES_VERSION = "2"
"""Bumped when a rule's logic changes, so stored findings are recomputed."""


@dataclass(frozen=True)
class AnalysisResult:
    """The findings of one analysis, what was selected, and the database's headline counts.

    ``findings`` are read into memory, unless the analysis was asked not to (``load=False``:
    ``analyzer check``); then ``findings`` is empty and ``stored`` reads the same findings from
    the database, while its connection is open."""

    findings: tuple[Finding, ...]
    rules: tuple[SelectedRule, ...]
    summary: dict[str, Any]
    config: Config
    allowed: int = 0
    seconds: float = 0.0
    replayed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """``analysed``: True when the rules ran (False: stored findings were read back)."""
    stored: StoredFindings | None = None

    @property
    def selected(self) -> Sequence[Finding]:
        """The findings, in memory or read from the database (``load=False``)."""
        return self.stored if self.stored is not None else self.findings

    def severity_of(self, code: str) -> str:
        return next((s.severity for s in self.rules if s.rule.code == code), "warning")


def policy_for(config: Config) -> Policy:
    """The policy the replay runs under: the configured file (or the default), with the
    configuration's ``error-patterns`` tried before its own error classes, so that the
    replay's ``attempts.error_class`` (which decides whether a termination was needless) is
    the one class the rules select; the configuration's ``price_per_gpu_hour``, when set, is
    the price of every machine type (``runners.price_usd_per_gpu_hour``)."""
    policy = load_policy(config.policy) if config.policy else default_policy()
    if config.price_per_gpu_hour is not None:  # one flat price for every machine type
        policy = policy.model_copy(
            update={"gpu_hour_usd": {}, "default_gpu_hour_usd": config.price_per_gpu_hour}
        )
    return with_patterns(policy, config.error_patterns)


def selected_rules(config: Config, policy: Policy | None = None) -> list[SelectedRule]:
    """The rules chosen by ``select``/``ignore``, with their options and severity."""
    unknown = [c for c in config.rules if c not in REGISTRY]
    if unknown:
        raise ConfigError(f"options for unknown rule(s): {', '.join(sorted(unknown))}")
    out = []
    for rule in REGISTRY.select(config.select, config.ignore):
        values = dict(config.rules.get(rule.code, {}))
        severity = str(values.pop("severity", rule.severity))
        if severity not in SEVERITY_RANK:
            raise ConfigError(f"rules.{rule.code}.severity: must be error, warning or info")
        values = _policy_defaults(rule, values, policy)
        try:
            options = rule.options(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            raise ConfigError(f"rules.{rule.code}.{where}: {first['msg']}") from None
        out.append(SelectedRule(rule=rule, options=options, severity=severity))
    return out


def _policy_defaults(
    rule: type[Rule], values: dict[str, Any], policy: Policy | None
) -> dict[str, Any]:
    """Options a rule takes from the platform policy unless the configuration sets them."""
    if policy is None:
        return values
    if rule.code == "R004" and values.get("max_attempts") is None:
        values["max_attempts"] = policy.max_attempts
    if rule.code == "S001" and values.get("legitimate_classes") is None:
        values["legitimate_classes"] = list(policy.legitimate_503_classes)
    return values


def _fingerprint(config: Config) -> str:
    """What the stored findings depend on, besides the selection (which may only shrink)."""
    narrowed = config.model_copy(update={"select": [], "ignore": []})
    return f"{RULES_VERSION}:{narrowed.fingerprint()}"


def _policy_fingerprint(config: Config) -> str:
    """What the replay tables depend on: the policy file (and its text) and the error
    patterns of the configuration (they classify ``attempts.error_class``)."""
    only_policy = Config(
        policy=config.policy,
        error_patterns=config.error_patterns,
        price_per_gpu_hour=config.price_per_gpu_hour,
    )
    return only_policy.fingerprint()


def _replay_current(con: duckdb.DuckDBPyConnection, config: Config) -> bool:
    return not replay.is_stale(con) and get_meta(con, "analysis_policy") == _policy_fingerprint(
        config
    )


def analyze(
    con: duckdb.DuckDBPyConnection, config: Config | None = None, *, load: bool = True
) -> AnalysisResult:
    """Replay ``events`` and run the selected rules; writes ``findings`` (see docs/tables.md).
    ``load=False``: the findings stay in the database (:attr:`AnalysisResult.stored`)."""
    config = config or Config()
    started = time.perf_counter()
    policy = policy_for(config)
    rules = selected_rules(config, policy)
    replayed = not _replay_current(con, config)
    with bounded_memory(con):
        if replayed:
            replay.build(con, policy)
        counts = run_rules(con, rules, allow=config.allow)
        summary.build(con)
    events = _count(con, "events")
    set_meta(con, "analysis_events", str(events))
    set_meta(con, "analysis_config", _fingerprint(config))
    set_meta(con, "analysis_policy", _policy_fingerprint(config))
    set_meta(con, "analysis_rules", ",".join(s.rule.code for s in rules))
    set_meta(con, "analysis_allowed", str(counts["allowed"]))
    set_meta(con, "gpu_hour_usd", str(policy.default_gpu_hour_usd))
    stored = StoredFindings(con, (s.rule.code for s in rules), summarised=True)
    findings = () if not load else tuple(load_findings(con))
    return AnalysisResult(
        findings=findings,
        rules=tuple(rules),
        summary=summarize(con, findings if load else stored),
        config=config,
        allowed=counts["allowed"],
        seconds=time.perf_counter() - started,
        replayed=replayed,
        extra={"analysed": True},
        stored=None if load else stored,
    )


def is_current(con: duckdb.DuckDBPyConnection, config: Config | None = None) -> bool:
    """True when ``findings`` exist for every imported event under this configuration, and
    cover every rule it selects (a narrower selection reuses a wider analysis)."""
    config = config or Config()
    if not table_exists(con, "findings") or not table_exists(con, "events"):
        return False
    if not summary.is_built(con):
        return False
    if not _replay_current(con, config):
        return False
    stored = set((get_meta(con, "analysis_rules") or "").split(","))
    wanted = {s.rule.code for s in selected_rules(config)}
    return (
        get_meta(con, "analysis_events") == str(_count(con, "events"))
        and get_meta(con, "analysis_config") == _fingerprint(config)
        and wanted <= stored
    )


def ensure_analyzed(
    con: duckdb.DuckDBPyConnection, config: Config | None = None, *, load: bool = True
) -> AnalysisResult:
    """Analyse only when stale (:func:`is_current`); otherwise read the stored findings
    (``load=False``: leave them there, :attr:`AnalysisResult.stored`)."""
    config = config or Config()
    if not is_current(con, config):
        return analyze(con, config, load=load)
    started = time.perf_counter()
    rules = selected_rules(config, policy_for(config))
    wanted = {s.rule.code for s in rules}
    stored = StoredFindings(con, wanted, summarised=True)  # is_current: they are
    findings = () if not load else tuple(f for f in load_findings(con) if f.code in wanted)
    allowed = get_meta(con, "analysis_allowed")
    return AnalysisResult(
        findings=findings,
        rules=tuple(rules),
        summary=summarize(con, findings if load else stored),
        config=config,
        allowed=int(allowed) if allowed and allowed.isdigit() else 0,
        seconds=time.perf_counter() - started,
        replayed=False,
        stored=None if load else stored,
    )


def summarize(con: duckdb.DuckDBPyConnection, findings: Sequence[Finding]) -> dict[str, Any]:
    """The JSON document's ``summary``: the headline numbers (docs/tables.md), from the summary
    relations, with the findings' counts and cost of ``findings`` (the selected ones: in
    memory, or :class:`~analyzer.rules.stored.StoredFindings`, counted in SQL)."""
    numbers = summary.stored_headline(con) if summary.is_built(con) else {}
    numbers.update(
        findings.summary() if isinstance(findings, StoredFindings) else findings_summary(findings)
    )
    numbers.update(
        _counts(
            con, events="events", requests="requests", runners="runners", rejected_lines="rejected"
        )
    )
    for key in ("window_start", "window_end"):  # JSON: ISO 8601 strings
        value = numbers.get(key)
        numbers[key] = value.isoformat() if isinstance(value, datetime) else None
    return numbers


def _counts(con: duckdb.DuckDBPyConnection, **tables: str) -> dict[str, int]:
    """Rows of each table (0 when it does not exist), in one statement: key -> count."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
            [list(tables.values())],
        ).fetchall()
    }
    found = [(key, t) for key, t in tables.items() if t in present]
    counts = dict.fromkeys(tables, 0)
    if found:
        row = con.execute(
            "SELECT " + ", ".join(f"(SELECT count(*) FROM {quote_identifier(t)})" for _, t in found)
        ).fetchall()[0]
        counts.update({key: int(n) for (key, _), n in zip(found, row, strict=True)})
    return counts


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    if not table_exists(con, table):
        return 0
    rows = con.execute(f"SELECT count(*) FROM {quote_identifier(table)}").fetchall()
    return int(rows[0][0])
