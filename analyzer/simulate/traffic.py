"""Healthy arrivals: a Poisson stream of ordinary requests, shared among the apps.

Windows longer than :data:`DIURNAL_MIN_S` follow a daily curve (busiest at 15:00 UTC, quietest
at 03:00, 1.6x and 0.4x the mean rate): arrivals are drawn at a constant rate in *virtual*
time and mapped onto the clock through the inverse of the cumulative intensity, so the number
of requests stays exactly ``n``. Shorter windows (the committed sample) keep a constant rate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from itertools import pairwise

from analyzer.simulate.apps import APPS, healthy_request
from analyzer.simulate.model import RequestSpec

DIURNAL_MIN_S = 12 * 3600.0
DIURNAL_AMPLITUDE = 0.6
PEAK_UTC_S = 15 * 3600.0
STEP_S = 60.0


def _warp(start: float, end: float, day_offset: float) -> Callable[[float], float]:
    """Map constant-rate times in [start, end] onto the daily curve (monotonic)."""
    n = max(1, math.ceil((end - start) / STEP_S))
    grid = [start + k * (end - start) / n for k in range(n + 1)]
    cum = [0.0]
    for a, b in pairwise(grid):
        mid = (a + b) / 2 + day_offset
        rate = 1 + DIURNAL_AMPLITUDE * math.cos(2 * math.pi * (mid - PEAK_UTC_S) / 86400.0)
        cum.append(cum[-1] + rate * (b - a))
    scale = (end - start) / cum[-1]
    virt = [start + c * scale for c in cum]
    k = 0

    def warp(u: float) -> float:  # called with increasing u: walk the table forward
        nonlocal k
        while k < n - 1 and virt[k + 1] < u:
            k += 1
        span = virt[k + 1] - virt[k]
        frac = (u - virt[k]) / span if span > 0 else 0.0
        return grid[k] + min(max(frac, 0.0), 1.0) * (grid[k + 1] - grid[k])

    return warp


def healthy_arrivals(
    n: int, rng: random.Random, start: float, end: float, t0_epoch: float = 0.0
) -> Iterator[tuple[float, RequestSpec]]:
    """``n`` healthy requests between ``start`` and ``end`` (seconds), in time order."""
    if n <= 0:
        return
    rate = n / (end - start)
    total = sum(a.share for a in APPS)
    cum: list[float] = []
    acc = 0.0
    for a in APPS:
        acc += a.share / total
        cum.append(acc)
    warp = _warp(start, end, t0_epoch % 86400.0) if end - start > DIURNAL_MIN_S else None
    t = start
    for _ in range(n):
        t += rng.expovariate(rate)
        u = rng.random()
        i = next((k for k, c in enumerate(cum) if u <= c), len(APPS) - 1)
        yield (warp(t) if warp else t), healthy_request(APPS[i], rng)
