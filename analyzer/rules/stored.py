"""The findings a check reports, read from the ``findings`` table when a face asks, in SQL.

:class:`StoredFindings` is a :class:`~collections.abc.Sequence` of
:class:`~analyzer.rules.Finding` over the rows of the ``findings`` table that a check reports:
the selected rules' codes, minus what a ``--baseline`` already knows. What a report shows of
them is one statement each, never a Python object per finding: their counts, their cost with
overlaps once (:data:`analyzer.rules.totals.FINDING_COST_SQL`), the rules' lines of the text
report and each finding's JSON object (built in DuckDB, fetched in batches). Iterating (SARIF,
JUnit, a baseline written) builds the :class:`~analyzer.rules.Finding` records batch by batch.

The connection must stay open while the object is read (``analyzer check`` renders before it
closes the database); the rows are those of the table when they are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from analyzer.rules.base import FAIL_ON_RANK, SEVERITY_RANK, Finding
from analyzer.rules.store import FINDING_SELECT, finding_of
from analyzer.rules.totals import CostTotals, finding_cost_sql

if TYPE_CHECKING:
    import duckdb

BATCH = 5000
"""Rows fetched at a time (JSON objects or findings): bounded memory at any size."""

TS_ISO = "strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ')"
"""A finding's ``ts`` as :class:`~analyzer.rules.Finding` and the JSON report spell it."""


def _j(expr: str) -> str:
    """The JSON text of a SQL value (``null`` for NULL)."""
    return f"coalesce(to_json({expr}), 'null')"


FINDING_JSON = (
    "'{\"code\":' || " + _j("code") + " || ',\"name\":' || " + _j("name")
    + " || ',\"severity\":' || " + _j("severity") + " || ',\"app\":' || " + _j("app")
    + " || ',\"endpoint\":' || " + _j("endpoint")
    + " || ',\"request_id\":' || " + _j("request_id")
    + " || ',\"runner_id\":' || " + _j("runner_id") + " || ',\"ts\":' || " + _j(TS_ISO)
    + " || ',\"message\":' || " + _j("coalesce(message, '')")
    + " || ',\"evidence\":' || coalesce(evidence::VARCHAR, '[]')"
    + " || ',\"cost\":{\"runners_killed\":' || coalesce(runners_killed, 0)"
    + " || ',\"gpu_seconds\":' || " + _j("round(coalesce(gpu_seconds, 0), 3)")
    + " || ',\"cost_usd\":' || " + _j("round(coalesce(cost_usd, 0), 6)")
    + " || '},\"fingerprint\":' || " + _j("coalesce(fingerprint, '')") + " || '}'"
)  # fmt: skip
"""A finding's JSON object (:meth:`~analyzer.rules.Finding.to_dict`'s keys, in its order),
as text. ``evidence`` is the table's JSON as written by the engine (the same keys and order as
:meth:`~analyzer.rules.base.Evidence.to_dict`)."""

_RANK_SQL = "CASE severity " + " ".join(
    f"WHEN '{s}' THEN {r}" for s, r in SEVERITY_RANK.items()
) + " ELSE 0 END"  # fmt: skip


@dataclass(frozen=True)
class RuleGroup:
    """One rule's findings in a report: what the text format prints on the rule's line."""

    code: str
    name: str
    severity: str
    findings: int
    runners_killed: int
    gpu_seconds: float
    cost_usd: float
    examples: tuple[Finding, ...]


class StoredFindings(Sequence[Finding]):
    """The reported rows of ``findings`` (``codes``; ``baseline``: fingerprint -> how many of
    them are known, the oldest first as :func:`analyzer.rules.baseline.apply_baseline`).

    ``summarised``: the summary relations were made from this ``findings`` table (the
    analysis says so); when these findings are all of its rows, their cost is the one
    ``summary_by_app`` holds (the same statement, :data:`~analyzer.rules.totals.FINDING_COST_SQL`,
    made once), not computed again."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        codes: Iterable[str],
        baseline: dict[str, int] | None = None,
        *,
        summarised: bool = False,
    ) -> None:
        self.con = con
        self.codes = tuple(sorted(set(codes)))
        self.baseline = baseline
        self.summarised = summarised and baseline is None
        self.params: dict[str, Any] = {"codes": list(self.codes)}
        chosen = "SELECT * FROM findings WHERE code IN (SELECT unnest($codes::VARCHAR[]))"
        if baseline is None:
            self.relation = f"({chosen})"
        else:
            self.params["fps"] = list(baseline)
            self.params["known"] = [int(n) for n in baseline.values()]
            self.relation = (
                "(SELECT f.* EXCLUDE (nth) FROM (SELECT *, row_number() OVER ("
                f"PARTITION BY coalesce(fingerprint, '') ORDER BY coalesce({TS_ISO}, ''), "
                f"finding_id) AS nth FROM ({chosen})) f LEFT JOIN (SELECT unnest($fps::VARCHAR[])"
                " AS fp, unnest($known::BIGINT[]) AS known) b ON b.fp = coalesce(f.fingerprint, '')"
                " WHERE f.nth > coalesce(b.known, 0))"
            )
        self._len: int | None = None
        self._cost: CostTotals | None = None
        self._summary: dict[str, Any] | None = None

    def of_codes(self, codes: Iterable[str]) -> Iterator[Finding]:
        """These findings of the rules ``codes`` (read batch by batch), in the table's order."""
        cur = self.con.cursor()
        try:
            cur.execute(
                f"{FINDING_SELECT} FROM {self.relation} "
                "WHERE code IN (SELECT unnest($only::VARCHAR[])) ORDER BY finding_id",
                {**self.params, "only": list(codes)},
            )
            while batch := cur.fetchmany(BATCH):
                yield from (finding_of(r) for r in batch)
        finally:
            cur.close()

    def without_known(self, baseline: dict[str, int]) -> tuple[StoredFindings, int]:
        """These findings minus those ``baseline`` knows, and how many it left out."""
        new = StoredFindings(self.con, self.codes, baseline)
        return new, len(self) - len(new)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, its ``{src}`` the reported findings."""
        return self.con.execute(sql.replace("{src}", self.relation), self.params).fetchall()

    def __len__(self) -> int:
        if self._len is None:
            self._len = int(self._rows("SELECT count(*) FROM {src}")[0][0])
        return self._len

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Finding]: ...
    def __getitem__(self, index: int | slice) -> Finding | Sequence[Finding]:
        if isinstance(index, slice):
            return tuple(self)[index]
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError("finding index out of range")
        rows = self._rows(f"{FINDING_SELECT} FROM {{src}} ORDER BY finding_id LIMIT 1 OFFSET {i}")
        return finding_of(rows[0])

    def __iter__(self) -> Iterator[Finding]:
        cur = self.con.cursor()  # its own cursor: another query may run between batches
        try:
            cur.execute(f"{FINDING_SELECT} FROM {self.relation} ORDER BY finding_id", self.params)
            while batch := cur.fetchmany(BATCH):
                yield from (finding_of(r) for r in batch)
        finally:
            cur.close()

    def json_items(self) -> Iterator[str]:
        """Each finding's JSON object (compact text), in the table's order."""
        cur = self.con.cursor()
        try:
            cur.execute(f"SELECT {FINDING_JSON} FROM {self.relation} ORDER BY finding_id",
                        self.params)  # fmt: skip
            while batch := cur.fetchmany(BATCH):
                yield from (r[0] for r in batch)
        finally:
            cur.close()

    def failing(self, fail_on: str) -> int:
        """How many are at or above ``fail_on`` (``never``: none)."""
        limit = FAIL_ON_RANK[fail_on]
        return int(self._rows(f"SELECT count(*) FROM {{src}} WHERE {_RANK_SQL} >= {limit}")[0][0])

    def cost(self) -> CostTotals:
        """Their cost with overlaps once (:mod:`analyzer.rules.totals`)."""
        if self._cost is None:
            self._cost = self._total_cost()
        return self._cost

    def _total_cost(self) -> CostTotals:
        if self.summarised:
            everything = self.con.execute("SELECT count(*) FROM findings").fetchall()[0][0]
            if everything == len(self):
                row = self.con.execute(
                    "SELECT sum(runners_killed), sum(gpu_seconds), sum(cost_usd) "
                    "FROM summary_by_app"
                ).fetchall()[0]
                return CostTotals(int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0))
        src = f"(SELECT * REPLACE (nullif(runner_id, '') AS runner_id) FROM {self.relation})"
        row = self._rows(
            "SELECT sum(runners_killed), sum(gpu_seconds), sum(cost_usd) FROM ("
            + finding_cost_sql(src)
            + ")"
        )[0]
        return CostTotals(int(row[0] or 0), float(row[1] or 0.0), float(row[2] or 0.0))

    def by_severity(self) -> dict[str, int]:
        """How many per severity (error, warning, info, then any other in finding order)."""
        by_severity: dict[str, int] = {"error": 0, "warning": 0, "info": 0}
        for sev, n, _ in self._rows(
            "SELECT severity, count(*), min(finding_id) AS first FROM {src} "
            "GROUP BY severity ORDER BY first"
        ):
            by_severity[sev] = int(n)
        return by_severity

    def summary(self) -> dict[str, Any]:
        """:func:`analyzer.rules.totals.findings_summary` of these findings, in SQL."""
        if self._summary is None:
            self._summary = self._counted()
        return dict(self._summary)

    def _counted(self) -> dict[str, Any]:
        by_code = {
            str(code): int(n)
            for code, n in self._rows(
                "SELECT code, count(*) FROM {src} GROUP BY code ORDER BY code"
            )
        }
        by_severity = self.by_severity()
        totals = self.cost()
        return {
            "findings": sum(by_code.values()),
            "findings_by_code": by_code,
            "findings_by_severity": by_severity,
            "runners_killed": totals.runners_killed,
            "gpu_seconds": round(totals.gpu_seconds, 3),
            "cost_usd": round(totals.cost_usd, 6),
        }

    def groups(self, examples: int | None = None) -> list[RuleGroup]:
        """Per rule, worst first (severity, then most findings, then code): counts, plain
        sums of the findings' own cost, and the first ``examples`` findings (default: 2 when
        at most 10 rules have findings, else 1)."""
        rows = self._rows(
            f"SELECT code, arg_min(name, finding_id), arg_min(severity, finding_id) AS sev, "
            f"count(*) AS n, coalesce(sum(runners_killed), 0), coalesce(sum(gpu_seconds), 0), "
            f"coalesce(sum(cost_usd), 0), arg_min({_RANK_SQL}, finding_id) AS rank "
            "FROM {src} GROUP BY code ORDER BY rank DESC, n DESC, code"
        )
        k = examples if examples is not None else (2 if len(rows) <= 10 else 1)
        firsts: dict[str, list[Finding]] = {}
        if rows and k > 0:
            for r in self._rows(
                f"SELECT * EXCLUDE (k) FROM (SELECT {FINDING_SELECT.removeprefix('SELECT ')}, "
                "row_number() OVER (PARTITION BY code ORDER BY finding_id) AS k, finding_id AS fid"
                f" FROM {{src}}) WHERE k <= {int(k)} ORDER BY fid"
            ):
                firsts.setdefault(r[0], []).append(finding_of(r))
        return [
            RuleGroup(
                code=r[0], name=r[1], severity=r[2], findings=int(r[3]),
                runners_killed=int(r[4]), gpu_seconds=float(r[5]), cost_usd=float(r[6]),
                examples=tuple(firsts.get(r[0], ())),
            )
            for r in rows
        ]  # fmt: skip


def memory_groups(findings: Sequence[Finding], examples: int | None = None) -> list[RuleGroup]:
    """:meth:`StoredFindings.groups` of findings in memory (``analyzer lint``, the API)."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    order = sorted(
        by_code.values(),
        key=lambda fs: (-SEVERITY_RANK.get(fs[0].severity, 0), -len(fs), fs[0].code),
    )
    k = examples if examples is not None else (2 if len(order) <= 10 else 1)
    return [
        RuleGroup(
            code=fs[0].code, name=fs[0].name, severity=fs[0].severity, findings=len(fs),
            runners_killed=sum(f.cost.runners_killed for f in fs),
            gpu_seconds=sum(f.cost.gpu_seconds for f in fs),
            cost_usd=sum(f.cost.cost_usd for f in fs),
            examples=tuple(fs[:k]),
        )
        for fs in order
    ]  # fmt: skip
