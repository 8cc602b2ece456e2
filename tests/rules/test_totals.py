"""Cost totals count each kill and each attempt's waste once, though rules overlap."""

from __future__ import annotations

from analyzer.rules.base import Cost, Finding, Waste
from analyzer.rules.totals import cost_totals


def _w(request: str | None, attempts: dict[int, float]) -> tuple[Waste, ...]:
    return tuple(Waste(request or "?", n, gpu, gpu / 3600) for n, gpu in attempts.items())


def _f(
    code: str, request: str | None, runner: str | None, killed: int, attempts: dict[int, float]
) -> Finding:
    blamed = _w(request, attempts)
    return Finding(
        code=code,
        name=code.lower(),
        severity="error",
        app="a/b",
        endpoint="/",
        request_id=request,
        runner_id=runner,
        ts=None,
        message="m",
        cost=Cost(
            runners_killed=killed,
            gpu_seconds=sum(w.gpu_seconds for w in blamed),
            cost_usd=sum(w.cost_usd for w in blamed),
            blamed=blamed,
        ),
    )


def test_a_poison_request_counts_its_kills_and_attempts_once() -> None:
    # R004 blames the 3 attempts (and kills) of the request; R001 and S001 blame them one by one
    findings = [
        _f("R004", "req", "r1", 3, {1: 10.0, 2: 10.0, 3: 10.0}),
        *(_f("R001", "req", r, 1, {n: 10.0}) for n, r in ((1, "r1"), (2, "r2"), (3, "r3"))),
        _f("S001", "req", "r1", 1, {1: 10.0}),
    ]
    t = cost_totals(findings)
    assert t.runners_killed == 3
    assert t.gpu_seconds == 30.0
    assert abs(t.cost_usd - 30.0 / 3600) < 1e-12
    assert sum(f.cost.runners_killed for f in findings) == 7  # what a plain sum said
    assert sum(f.cost.gpu_seconds for f in findings) == 70.0


def test_disjoint_attempts_of_one_request_add_up() -> None:
    # two rules blaming different attempts of the same request: both wastes count
    t = cost_totals([_f("S001", "q1", "r1", 1, {1: 5.0}), _f("C003", "q1", "r2", 0, {3: 2.0})])
    assert (t.runners_killed, t.gpu_seconds) == (1, 7.0)


def test_disjoint_requests_and_runner_level_findings_add_up() -> None:
    findings = [
        _f("S001", "q1", "r1", 1, {1: 5.0}),
        _f("S001", "q2", "r2", 1, {1: 7.0}),
        _f("R004", "q3", "r3", 4, {1: 10.0, 2: 10.0, 3: 10.0, 4: 10.0}),  # kills not blamed
        _f("R001", "q3", "r3", 1, {1: 10.0}),
        _f("L001", None, "r9", 1, {}),  # a runner-level finding: no attempt, no waste
        _f("C004", "q4", "r4", 0, {2: 3.0}),  # no kill, some GPU time
    ]
    t = cost_totals(findings)
    assert t.runners_killed == 1 + 1 + 4 + 1  # r1, r2, the 4 of q3 (r3 among them), r9
    assert t.gpu_seconds == 5.0 + 7.0 + 40.0 + 3.0


def test_the_same_runner_blamed_by_two_requests_died_once() -> None:
    # a runner dies once: two findings blaming its kill (different requests) count one
    t = cost_totals([_f("S001", "q1", "r1", 1, {1: 1.0}), _f("L002", None, "r1", 1, {})])
    assert t.runners_killed == 1
    assert cost_totals([]).runners_killed == 0


def test_the_json_summary_counts_each_kill_once() -> None:
    from analyzer.report.base import CheckReport
    from analyzer.report.json_format import document

    findings = [
        _f("R004", "req", "r1", 2, {1: 10.0, 2: 10.0}),
        *(_f("R001", "req", r, 1, {n: 10.0}) for n, r in ((1, "r1"), (2, "r2"))),
    ]
    doc = document(CheckReport(findings=findings, rules=(), summary={}, fail_on="error"))
    assert (doc["summary"]["runners_killed"], doc["summary"]["gpu_seconds"]) == (2, 20.0)
