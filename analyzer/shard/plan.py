"""Partition ``events`` into Parquet shards by app (see docs/scale.md).

Everything here is set-based SQL over the whole table; Python only sees one row per app.

1. **Which app an event belongs to.** An event of a request goes with its request's app (the
   app named by any of the request's events, else by the runner that served it); any other event
   with its own ``app``, else its runner's app (a runner's lines before its app is known), else
   the empty app ``""`` (events that name no app, request or runner at all).
2. **Apps that cannot be separated** (a runner seen under two apps, a request naming two) are
   joined into one *group* (connected components over apps; the group is named by its smallest
   app). A platform runner serves one app, so normally every app is its own group.
3. **Buckets.** A group goes to bucket ``md5(group) % N``; each non-empty bucket is one shard.
4. **Time slices.** A group with more than ``max_shard_events`` events is split by time into
   ``k`` slices of about equal numbers of requests, each its own shard. A request belongs to the
   slice where its ``request.received`` falls (its first event if none), a runner to the slice
   of its first event. A slice's file holds, besides its own requests' events, the *context*:
   every event of each runner its requests touched or it owns (a runner's clock offset and its
   life are estimated over all its events), and every event of the group within ``margin_s`` of
   its bounds (the longest request lifetime plus the policy's link and silence windows and the
   lifecycle window). The worker keeps only the rows the slice owns.

The plan writes ``events/shard=K/data_0.parquet`` (the events of shard K, context included) and, for
time slices, ``own_requests.parquet`` / ``own_runners.parquet`` (``id, shard``) under ``root``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analyzer.replay.policy import Policy

UNSPLITTABLE_SHARE = 0.75
"""A time slice holding more than this share of its group's events makes splitting useless."""

MAX_RESIZES = 4
"""How many times the number of slices of a group is raised to make its largest slice fit."""

MAX_SLICE_FACTOR = 2
"""A group gets at most this many times the slices its size alone asks for (the context of
each slice is paid again in every slice)."""

LIFECYCLE_WINDOW_S = 600.0
"""The default burst window of L001 (rules/lifecycle.py), part of a slice's margin."""


@dataclass(frozen=True)
class Shard:
    """One unit of work: the events of some apps, or one time slice of a large app."""

    index: int
    apps: tuple[str, ...]
    """The apps whose events it holds (``""``: events that name no app)."""
    events: int
    """Rows in the shard's events file (context included)."""
    events_path: str
    slice_no: int | None = None
    slices: int = 1
    lo_us: int | None = None
    """Own requests received at or after this (epoch microseconds); None: no lower bound."""
    hi_us: int | None = None
    """... and before this; None: no upper bound."""

    @property
    def name(self) -> str:
        return f"s{self.index:04d}"

    @property
    def is_slice(self) -> bool:
        return self.slice_no is not None

    def describe(self) -> str:
        apps = ",".join(g or "(no app)" for g in self.apps[:3])
        if len(self.apps) > 3:
            apps += f",+{len(self.apps) - 3}"
        if self.is_slice:
            apps += (
                f" [slice {self.slice_no + 1 if self.slice_no is not None else 0}/{self.slices}]"
            )
        return apps


@dataclass(frozen=True)
class Plan:
    root: str
    shards: tuple[Shard, ...]
    events: int
    window_us: tuple[int, int]
    """First and last event time of the whole database (each shard's replay sees this window)."""
    margin_s: float
    unsplittable: tuple[str, ...] = ()
    """Groups above ``max_shard_events`` left whole (see :func:`plan_shards`)."""
    split: tuple[str, ...] = ()
    """Groups cut into time slices."""

    @property
    def largest(self) -> int:
        """Events of the largest shard (context included)."""
        return max((s.events for s in self.shards), default=0)


_KEYS_SQL = """
CREATE OR REPLACE TEMP TABLE _sh_req0 AS
SELECT request_id, min(app) AS app,
       coalesce(min(epoch_us(ts)) FILTER (WHERE event = 'request.received'
                                          AND source = 'gateway'), min(epoch_us(ts))) AS us,
       epoch_us(max(ts)) - epoch_us(min(ts)) AS span_us
FROM events WHERE request_id IS NOT NULL GROUP BY request_id;

CREATE OR REPLACE TEMP TABLE _sh_run AS
SELECT runner_id, min(coalesce(e.app, q.app)) AS app, min(epoch_us(e.ts)) AS us
FROM events e LEFT JOIN _sh_req0 q USING (request_id)
WHERE e.runner_id IS NOT NULL GROUP BY runner_id;

CREATE OR REPLACE TEMP TABLE _sh_req AS
SELECT q.request_id, coalesce(q.app, min(r.app)) AS app, q.us, q.span_us
FROM _sh_req0 q
LEFT JOIN (SELECT DISTINCT request_id, runner_id FROM events
           WHERE request_id IS NOT NULL AND runner_id IS NOT NULL) p USING (request_id)
LEFT JOIN _sh_run r USING (runner_id)
GROUP BY q.request_id, q.app, q.us, q.span_us;
DROP TABLE _sh_req0;

CREATE OR REPLACE TEMP TABLE _sh_ev AS
SELECT e.event_id, e.request_id, e.runner_id, e.event, epoch_us(e.ts) AS us,
       coalesce(q.app, e.app, r.app, '') AS key_app, e.app AS own_app, r.app AS runner_app
FROM events e
LEFT JOIN _sh_req q USING (request_id)
LEFT JOIN _sh_run r USING (runner_id);
"""

_EDGES_SQL = """
SELECT DISTINCT key_app, other FROM (
    SELECT key_app, own_app AS other FROM _sh_ev WHERE own_app IS NOT NULL
    UNION ALL
    SELECT key_app, runner_app FROM _sh_ev WHERE runner_app IS NOT NULL
) WHERE key_app <> other
"""


def _components(apps: list[str], edges: list[tuple[str, str]]) -> dict[str, str]:
    """Union-find over apps (one row per app, not per event): app -> its group's name."""
    parent = {a: a for a in apps}

    def find(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {a: find(a) for a in parent}


def bucket_of(group: str, buckets: int) -> int:
    """``md5(group) % buckets``: stable across processes, machines and versions."""
    return int(hashlib.md5(group.encode("utf-8")).hexdigest()[:8], 16) % buckets


def margin_seconds(con: duckdb.DuckDBPyConnection, policy: Policy) -> float:
    """The context a time slice needs around its bounds (see the module docstring)."""
    rows = con.execute("SELECT coalesce(max(span_us), 0) FROM _sh_req").fetchall()
    longest = float(rows[0][0]) / 1e6
    return longest + policy.termination_link_s + policy.silence_grace_s + LIFECYCLE_WINDOW_S


def plan_shards(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    *,
    buckets: int,
    policy: Policy,
    max_shard_events: int | None = None,
    no_split: frozenset[str] = frozenset(),
) -> Plan:
    """Write the shards' events under ``root`` and return the plan (see the module docstring).

    A group above ``max_shard_events`` is cut into ``k`` slices, ``k`` raised until its
    largest slice (context included) fits, at most :data:`MAX_RESIZES` times. A group whose
    largest slice would still hold most of its events (the margin is most of the window) is
    left whole (``Plan.unsplittable``)."""
    root.mkdir(parents=True, exist_ok=True)
    total, lo, hi = con.execute(
        "SELECT count(*), epoch_us(min(ts)), epoch_us(max(ts)) FROM events"
    ).fetchall()[0]
    con.execute(_KEYS_SQL)
    sizes = dict(con.execute("SELECT key_app, count(*) FROM _sh_ev GROUP BY key_app").fetchall())
    edges = [(str(a), str(b)) for a, b in con.execute(_EDGES_SQL).fetchall()]
    comp = _components(sorted(str(a) for a in sizes), edges)
    group_events: dict[str, int] = {}
    for app, n in sizes.items():
        group_events[comp[app]] = group_events.get(comp[app], 0) + int(n)
    margin = margin_seconds(con, policy)
    whole = set(no_split)
    split = {
        g: math.ceil(n / max_shard_events)
        for g, n in sorted(group_events.items())
        if max_shard_events and n > max_shard_events and g not in whole
    }
    for resize in range(MAX_RESIZES + 1):
        shard_rows = _layout(con, comp, group_events, split, buckets)
        _membership(con, margin)
        if not split or not max_shard_events:
            break
        largest = {
            str(g): int(n)
            for g, n in con.execute(
                "SELECT m.grp, max(c.n) FROM (SELECT shard, count(*) AS n FROM _sh_member "
                "GROUP BY shard) c JOIN (SELECT DISTINCT grp, shard FROM _sh_map "
                "WHERE slice_no IS NOT NULL) m USING (shard) GROUP BY m.grp"
            ).fetchall()
        }
        useless = {g for g, n in largest.items() if n > UNSPLITTABLE_SHARE * group_events[g]}
        too_big = {g: n for g, n in largest.items() if n > max_shard_events and g not in useless}
        if not useless and (not too_big or resize == MAX_RESIZES):
            break
        whole |= useless
        for g in useless:
            split.pop(g, None)
        grown = False
        for g, n in too_big.items():
            # a slice is its own share (n_g / k) plus a context that does not shrink with k:
            # more slices help only while the context leaves room for some own events
            context = n - group_events[g] / split[g]
            if context < 0.9 * max_shard_events:
                want = math.ceil(1.1 * group_events[g] / (max_shard_events - context))
                want = min(want, MAX_SLICE_FACTOR * math.ceil(group_events[g] / max_shard_events))
                if want > split[g]:
                    split[g], grown = want, True
        if not useless and not grown:
            break
    events_dir = root / "events"
    # one COPY per shard (a semi-join on its event ids): a partitioned COPY of every shard at
    # once keeps a buffer per partition and ran out of a 1 GB limit at 10M events
    for idx in sorted({r[0] for r in shard_rows}):
        folder = events_dir / f"shard={idx}"
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            "COPY (SELECT e.* FROM events e WHERE e.event_id IN "
            f"(SELECT event_id FROM _sh_member WHERE shard = {int(idx)})) "
            f"TO '{_sql_path(folder / 'data_0.parquet')}' (FORMAT parquet)"
        )
    if split:
        con.execute(
            f"COPY (SELECT request_id AS id, shard FROM _sh_rslice) TO "
            f"'{_sql_path(root / 'own_requests.parquet')}' (FORMAT parquet)"
        )
        con.execute(
            f"COPY (SELECT runner_id AS id, shard FROM _sh_rown) TO "
            f"'{_sql_path(root / 'own_runners.parquet')}' (FORMAT parquet)"
        )
    counts = dict(con.execute("SELECT shard, count(*) FROM _sh_member GROUP BY shard").fetchall())
    shards: list[Shard] = []
    for idx in sorted({r[0] for r in shard_rows}):
        mine = [r for r in shard_rows if r[0] == idx]
        _, _, slice_no, lo_b, hi_b = mine[0]
        shards.append(
            Shard(
                index=idx,
                apps=tuple(sorted(a for a, g in comp.items() if g in {r[1] for r in mine})),
                events=int(counts.get(idx, 0)),
                events_path=str(events_dir / f"shard={idx}"),
                slice_no=slice_no,
                slices=split.get(mine[0][1], 1),
                lo_us=lo_b,
                hi_us=hi_b,
            )
        )
    con.execute(
        "DROP TABLE IF EXISTS _sh_member; DROP TABLE IF EXISTS _sh_ev; DROP TABLE IF EXISTS _sh_req;"
        "DROP TABLE IF EXISTS _sh_run; DROP TABLE IF EXISTS _sh_map; "
        "DROP TABLE IF EXISTS _sh_rslice; DROP TABLE IF EXISTS _sh_rown;"
    )
    return Plan(
        root=str(root),
        shards=tuple(s for s in shards if s.events > 0),
        events=int(total),
        window_us=(int(lo or 0), int(hi or 0)),
        margin_s=margin,
        unsplittable=tuple(sorted(whole)),
        split=tuple(sorted(split)),
    )


def _layout(
    con: duckdb.DuckDBPyConnection,
    comp: dict[str, str],
    group_events: dict[str, int],
    split: dict[str, int],
    buckets: int,
) -> list[tuple[int, str, int | None, int | None, int | None]]:
    """Shard numbers: one per non-empty bucket of whole groups, then one per time slice of each
    split group; fills ``_sh_map`` (app -> shard, slice bounds). Rows: (index, group, slice_no,
    lo_us, hi_us), slice None for whole groups."""
    by_bucket: dict[int, list[str]] = {}
    for group in sorted(group_events):
        if group not in split:
            by_bucket.setdefault(bucket_of(group, buckets), []).append(group)
    shard_rows: list[tuple[int, str, int | None, int | None, int | None]] = []
    index = 0
    for b in sorted(by_bucket):
        for group in by_bucket[b]:
            shard_rows.append((index, group, None, None, None))
        index += 1
    for group, k in sorted(split.items()):
        bounds = _slice_bounds(con, [a for a, g in comp.items() if g == group], k)
        edges_us: list[int | None] = [None, *bounds, None]
        for k_ in range(len(edges_us) - 1):
            shard_rows.append((index, group, k_, edges_us[k_], edges_us[k_ + 1]))
            index += 1
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _sh_map (key_app VARCHAR, grp VARCHAR, shard INTEGER, "
        "slice_no INTEGER, lo_us BIGINT, hi_us BIGINT)"
    )
    rows = [
        (app, comp[app], idx, sl, a, b)
        for idx, g, sl, a, b in shard_rows
        for app in sorted(x for x, gx in comp.items() if gx == g)
    ]
    if rows:
        con.executemany("INSERT INTO _sh_map VALUES (?, ?, ?, ?, ?, ?)", rows)
    return shard_rows


def _slice_bounds(con: duckdb.DuckDBPyConnection, apps: list[str], k: int) -> list[int]:
    """``k - 1`` boundaries splitting the group's requests into ``k`` slices by arrival."""
    fracs = [i / k for i in range(1, k)]
    rows = con.execute(
        "SELECT quantile_disc(us, ?::DOUBLE[]) FROM _sh_req WHERE app IN (SELECT unnest(?))",
        [fracs, apps],
    ).fetchall()
    values = rows[0][0] if rows and rows[0][0] is not None else []
    return sorted({int(v) for v in values})


_MEMBER_SQL = """
CREATE OR REPLACE TEMP TABLE _sh_rslice AS
SELECT q.request_id, m.shard
FROM _sh_req q JOIN _sh_map m ON m.key_app = coalesce(q.app, '') AND m.slice_no IS NOT NULL
 AND (m.lo_us IS NULL OR q.us >= m.lo_us) AND (m.hi_us IS NULL OR q.us < m.hi_us);

CREATE OR REPLACE TEMP TABLE _sh_rown AS
SELECT r.runner_id, m.shard
FROM (SELECT e.runner_id, arg_min(e.key_app, e.us) AS app, min(e.us) AS us
      FROM _sh_ev e WHERE e.runner_id IS NOT NULL GROUP BY e.runner_id) r
JOIN _sh_map m ON m.key_app = r.app AND m.slice_no IS NOT NULL
 AND (m.lo_us IS NULL OR r.us >= m.lo_us) AND (m.hi_us IS NULL OR r.us < m.hi_us);
"""

_MEMBERS_SQL = """
CREATE OR REPLACE TEMP TABLE _sh_member AS
SELECT e.event_id, m.shard FROM _sh_ev e JOIN _sh_map m USING (key_app)
WHERE m.slice_no IS NULL
UNION ALL
SELECT DISTINCT event_id, shard FROM (
    -- the slice's own requests
    SELECT e.event_id, s.shard FROM _sh_ev e JOIN _sh_rslice s USING (request_id)
    UNION ALL
    -- the lifecycle events of the group's runners (a few per runner: start, ready, end)
    SELECT e.event_id, m.shard FROM _sh_ev e JOIN _sh_map m USING (key_app)
    WHERE m.slice_no IS NOT NULL AND e.runner_id IS NOT NULL
      AND e.event IN ('runner.started', 'runner.ready', 'runner.setup_failed',
                      'runner.stopped', 'runner.terminated')
    UNION ALL
    -- the margin around its bounds
    SELECT e.event_id, m.shard FROM _sh_ev e JOIN _sh_map m USING (key_app)
    WHERE m.slice_no IS NOT NULL
      AND (m.lo_us IS NULL OR e.us >= m.lo_us - ?)
      AND (m.hi_us IS NULL OR e.us < m.hi_us + ?)
)
"""


def _membership(con: duckdb.DuckDBPyConnection, margin_s: float) -> None:
    margin_us = int(margin_s * 1e6)
    con.execute(_MEMBER_SQL)
    con.execute(_MEMBERS_SQL, [margin_us, margin_us])


def _sql_path(p: Path) -> str:
    return str(p).replace("'", "''")
