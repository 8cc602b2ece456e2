"""The cost of a set of findings, each runner kill and GPU-second counted once.

Rules overlap by design: a poison request that killed ten runners is one R004 finding (the
ten kills), ten R001 findings (one kill each) and often S001 findings on the same attempts.
Each finding's own cost is right, and the per-rule sums are right, but summing every finding
counts the same kills two or three times (on the bundled sample: 95 "runners killed" where
the logs show 55 terminated runners in all).

So the total groups the findings by request (findings without a request by runner, and the
rest one by one), and within a group counts what can overlap once:

- runners killed: the distinct runners of the findings that blame one kill each (a runner
  dies once), plus, where a single finding reports several kills (a request-level finding
  such as R004 counts every kill of its request), those the one-kill findings of the same
  request do not already name;
- GPU-seconds and money: the largest a single finding of the group reports.

The result never counts a kill or a GPU-second twice. It can count less than the truth when
two rules blame disjoint costs in the same request (say orphaned child work and a needless
503 on another attempt); the per-rule lines of a report show each rule's own sum.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from analyzer.rules.base import Finding


@dataclass(frozen=True)
class CostTotals:
    runners_killed: int = 0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


def cost_totals(findings: Iterable[Finding]) -> CostTotals:
    """The findings' cost with overlaps counted once (see the module docstring)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    killed_runners: set[str] = set()  # a runner dies once: single kills dedupe by runner
    unnamed_kills = 0
    for i, f in enumerate(findings):
        if f.request_id:
            key = ("request", f.request_id)
        elif f.runner_id:
            key = ("runner", f.runner_id)
        else:
            key = ("finding", str(i))
        groups.setdefault(key, []).append(f)
        if f.cost.runners_killed == 1:
            if f.runner_id:
                killed_runners.add(f.runner_id)
            else:
                unnamed_kills += 1
    killed = len(killed_runners) + unnamed_kills
    gpu = 0.0
    usd = 0.0
    for fs in groups.values():
        largest = max(f.cost.runners_killed for f in fs)
        if largest > 1:  # a finding counting several kills: those not blamed one by one
            named = {f.runner_id for f in fs if f.cost.runners_killed == 1 and f.runner_id}
            killed += max(0, largest - len(named))
        gpu += max(f.cost.gpu_seconds for f in fs)
        usd += max(f.cost.cost_usd for f in fs)
    return CostTotals(runners_killed=killed, gpu_seconds=gpu, cost_usd=usd)
