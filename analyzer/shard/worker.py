"""Analyse one shard in a fresh DuckDB, exactly as ``analyzer check`` analyses a database.

``run_shard(task)`` loads the shard's events (their ``event_id`` kept, so evidence still names
the source file and line), adds two *window* events at the first and last instant of the whole
database (the replay measures the observation window from ``events``: without them a shard of
a quiet app would see a shorter day than the database), runs :func:`analyzer.analysis.analyze`
with the check's configuration, and writes every replay table and ``findings`` as Parquet, keeping
only the rows the shard owns (for time slices: its own requests, its runners, its time range).

Output goes to ``<root>/out/<shard>.tmp-<pid>`` and is renamed to ``<root>/out/<shard>`` when
complete, so a worker killed mid-run leaves no output that could be mistaken for a result, and
running the shard again gives the same files.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from analyzer import store
from analyzer.config import Config
from analyzer.procmem import peak_rss_bytes
from analyzer.replay.incremental import install_given
from analyzer.replay.schema import REPLAY_TABLES, VIEWS
from analyzer.shard.plan import Shard
from analyzer.shard.runner_facts import SEEN_FILE

Own = Callable[[str], str]
"""``own(table)``: the SQL condition selecting the rows of ``table`` a shard owns."""

WINDOW_EVENT_IDS = (-1, -2)
"""``event_id`` of the two window events of a shard database (never in a real database)."""


def output_tables() -> list[str]:
    """The tables a shard contributes: every persisted replay table, then ``findings``."""
    return [t for t in REPLAY_TABLES if t not in VIEWS] + ["findings"]


@dataclass(frozen=True)
class ShardTask:
    root: str
    shard: Shard
    config: Config
    window_us: tuple[int, int]
    memory_limit: str = "1GB"
    threads: int = 1
    max_attempts: int = 10
    given_offsets: str | None = None
    """Whole-day clock offsets (Parquet) the replay takes as given (time slices)."""
    given_runners: str | None = None
    """Whole-day ``runners`` rows (Parquet) the replay takes as given (a slice's second round)."""


@dataclass(frozen=True)
class ShardResult:
    index: int
    out_dir: str
    seconds: float
    events: int
    findings: int
    allowed: int
    votes_429: tuple[int, int]
    """(retried, not retried) 429 answers the policy leaves open, over the shard's own rows."""
    has_429: bool
    meta: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    peak_rss_mib: float = 0.0
    """The worker process's own peak resident memory so far (Linux ``VmHWM``:
    ``ru_maxrss`` would include the coordinator's memory at the fork)."""


def out_dir(root: str | Path, shard: Shard) -> Path:
    return Path(root) / "out" / shard.name


def run_shard(task: ShardTask) -> ShardResult:
    """Analyse one shard (see the module docstring); safe to run again after a crash."""
    from analyzer.analysis import analyze

    started = time.perf_counter()
    final = out_dir(task.root, task.shard)
    work = final.parent / f"{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "running.json").write_text(json.dumps({"pid": os.getpid()}), encoding="utf-8")
    con = store.connect(work / "shard.duckdb")
    try:
        con.execute(f"SET memory_limit = '{task.memory_limit}'")
        con.execute(f"SET threads = {int(task.threads)}")
        con.execute(f"SET temp_directory = '{_sql_str(str(work / 'spill'))}'")
        con.execute(
            "INSERT INTO events BY NAME SELECT * FROM "
            "read_parquet(?, hive_partitioning = false, union_by_name = true)",
            [str(Path(task.shard.events_path) / "*.parquet")],
        )
        events = _count(con, "events")
        _add_window_events(con, task.window_us)
        _give(con, task)
        result = analyze(con, task.config, load=False)  # its findings are exported as tables
        own = _own_predicate_sql(con, task)
        if task.shard.is_slice:  # its whole view of its runners, compared with the whole day's
            con.execute(f"COPY runners TO '{_sql_str(str(work / SEEN_FILE))}' (FORMAT parquet)")
        for table in output_tables():
            where = own(table)
            con.execute(
                f"COPY (SELECT * FROM {store.quote_identifier(table)} WHERE {where}) "
                f"TO '{_sql_str(str(work / (table + '.parquet')))}' (FORMAT parquet)"
            )
        ddl = {
            name: sql
            for name, sql in con.execute(
                "SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' "
                "AND NOT temporary AND table_name IN (SELECT unnest(?))",
                [output_tables()],
            ).fetchall()
        }
        views = dict(
            con.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE schema_name = 'main' "
                "AND NOT internal AND NOT temporary ORDER BY view_name"
            ).fetchall()
        )
        (work / "schema.json").write_text(
            json.dumps({"tables": ddl, "views": views}), encoding="utf-8"
        )
        findings = int(
            con.execute(f"SELECT count(*) FROM findings WHERE {own('findings')}").fetchall()[0][0]
        )
        allowed = _allowed(con, own, result.allowed, task.shard.is_slice)
        votes, has_429 = _votes_429(con, own, task.max_attempts)
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()
    (work / "shard.duckdb").unlink(missing_ok=True)
    (work / "shard.duckdb.wal").unlink(missing_ok=True)
    shutil.rmtree(work / "spill", ignore_errors=True)
    (work / "running.json").unlink(missing_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return ShardResult(
        index=task.shard.index,
        out_dir=str(final),
        seconds=time.perf_counter() - started,
        events=events,
        findings=findings,
        allowed=allowed,
        votes_429=votes,
        has_429=has_429,
        meta={str(k): str(v) for k, v in meta.items()},
        pid=os.getpid(),
        peak_rss_mib=peak_rss_bytes() / 2**20,
    )


def _give(con: duckdb.DuckDBPyConnection, task: ShardTask) -> None:
    """The whole day's rows of the shard's runners the replay takes as given."""
    install_given(con)
    for name, path in (
        ("replay_offsets_given", task.given_offsets),
        ("replay_runners_given", task.given_runners),
    ):
        if path:
            con.execute(
                f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet(?) "
                "WHERE runner_id IN (SELECT runner_id FROM events)",
                [path],
            )


def _add_window_events(con: duckdb.DuckDBPyConnection, window_us: tuple[int, int]) -> None:
    rows = [
        (WINDOW_EVENT_IDS[0], window_us[0]),
        (WINDOW_EVENT_IDS[1], window_us[1]),
    ]
    con.executemany(
        "INSERT INTO events (event_id, ts, source, event, file, line_no, import_id, inferred, "
        "origin) VALUES (?, make_timestamp(?::BIGINT)::TIMESTAMPTZ, 'gateway', 'log', '<shard window>', 0, "
        "0, true, 'shard')",
        rows,
    )


def _own_predicate_sql(con: duckdb.DuckDBPyConnection, task: ShardTask) -> Own:
    """``own(table) -> SQL condition``: every row for a whole-app shard; for a time slice, the
    rows of its requests, else of its runners, else of its time range (the owner rule of
    analyzer.shard.plan)."""
    shard = task.shard
    if not shard.is_slice:
        return lambda table: "true"
    root = Path(task.root)
    for name, file in (("_own_req", "own_requests"), ("_own_run", "own_runners")):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT id FROM read_parquet(?) "
            "WHERE shard = ?",
            [str(root / f"{file}.parquet"), shard.index],
        )
    lo = "NULL" if shard.lo_us is None else str(int(shard.lo_us))
    hi = "NULL" if shard.hi_us is None else str(int(shard.hi_us))

    def in_range(col: str) -> str:
        return f"(({lo} IS NULL OR epoch_us({col}) >= {lo}) AND ({hi} IS NULL OR epoch_us({col}) < {hi}))"

    def own(table: str) -> str:
        cols = {
            str(r[0])
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                [table],
            ).fetchall()
        }
        if "request_id" not in cols and "runner_id" not in cols and "event_id" in cols:
            # an event of a request: its request's slice; any other: the slice of its time
            # (a slice holds every event of its range, not every event of its runners)
            return (
                "event_id IN (SELECT e.event_id FROM events e WHERE "
                "CASE WHEN e.request_id IS NOT NULL "
                "THEN e.request_id IN (SELECT id FROM _own_req) "
                f"ELSE {in_range('e.ts')} END)"
            )
        branches = []
        if "request_id" in cols:
            branches.append(
                "WHEN request_id IS NOT NULL THEN request_id IN (SELECT id FROM _own_req)"
            )
        if "runner_id" in cols:
            branches.append(
                "WHEN runner_id IS NOT NULL THEN runner_id IN (SELECT id FROM _own_run)"
            )
        rest = in_range("ts") if "ts" in cols else "true"
        return f"CASE {' '.join(branches)} ELSE {rest} END" if branches else rest

    return own


def _allowed(con: duckdb.DuckDBPyConnection, own: Own, total: int, is_slice: bool) -> int:
    """Findings the per-app allowances dropped, among the shard's own."""
    if not is_slice:
        return total
    try:
        rows = con.execute(
            f"SELECT count(*) FROM rule_grouped WHERE allowed AND {own('findings')}"
        ).fetchall()
    except duckdb.Error:
        return total
    return int(rows[0][0])


def _votes_429(
    con: duckdb.DuckDBPyConnection, own: Own, max_attempts: int
) -> tuple[tuple[int, int], bool]:
    """The replay's 429 vote (analyzer.replay.attempts.observed_429), over the persisted
    ``attempts``: 429 answers without ``X-Fal-Needs-Retry`` of queued requests that allowed
    retries, below the attempt cap, and whether a next attempt followed."""
    where = own("attempts")
    rows = con.execute(
        "SELECT count(*) FILTER (WHERE a.retried AND a.needs_retry IS NULL "
        "  AND coalesce(a.mode, 'queue') = 'queue' AND NOT coalesce(r.no_retry, false) "
        "  AND a.attempt < ?), "
        "count(*) FILTER (WHERE NOT a.retried AND a.needs_retry IS NULL "
        "  AND coalesce(a.mode, 'queue') = 'queue' AND NOT coalesce(r.no_retry, false) "
        "  AND a.attempt < ?), count(*) "
        f"FROM (SELECT * FROM attempts WHERE {where}) a "
        "LEFT JOIN requests r USING (request_id) WHERE a.status = 429",
        [max_attempts, max_attempts],
    ).fetchall()[0]
    return (int(rows[0]), int(rows[1])), int(rows[2]) > 0


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(
        con.execute(f"SELECT count(*) FROM {store.quote_identifier(table)}").fetchall()[0][0]
    )


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def main(argv: list[str]) -> int:
    """``python -m analyzer.shard TASK.pkl RESULT.pkl``: run one pickled task; the
    result (or the analysis error, as text) is pickled to RESULT.pkl. Exit 0 on success, 3 on
    an error (not worth retrying; a killed worker leaves no result and is run again)."""
    import pickle

    from analyzer.errors import AnalyzerError

    task_path, result_path = Path(argv[0]), Path(argv[1])
    task = pickle.loads(task_path.read_bytes())
    tmp = result_path.with_suffix(".tmp")
    try:
        payload: object = run_shard(task)
        code = 0
    except AnalyzerError as exc:
        payload, code = {"error": str(exc)}, 3
    except Exception as exc:  # a failure, not a death: reported, not retried
        payload, code = {"error": f"shard {task.shard.name}: {type(exc).__name__}: {exc}"}, 3
    tmp.write_bytes(pickle.dumps(payload))
    os.replace(tmp, result_path)
    return code
