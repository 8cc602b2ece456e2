"""The replay: each request's timeline of attempts, retries, cancellations and terminations.

``build(con, policy)`` rebuilds the replay tables (see ``docs/tables.md``) from ``events``;
``analyzer.replay.policy`` holds the platform policy as data.
"""

from __future__ import annotations

from analyzer.replay.build import ClockSkew, ReplayReport, build, ensure_replayed, is_stale
from analyzer.replay.policy import Policy, default_policy, load_policy
from analyzer.replay.schema import REPLAY_TABLES

__all__ = [
    "REPLAY_TABLES",
    "ClockSkew",
    "Policy",
    "ReplayReport",
    "build",
    "default_policy",
    "ensure_replayed",
    "is_stale",
    "load_policy",
]
