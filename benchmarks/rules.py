"""Time each rule and each statement of the rules engine on an analysed database (issue 16).

    python benchmarks/rules.py DB [--repeat 3] [--select S001,C002]

DB must hold the replay tables (run ``analyzer check --db DB`` once; the benchmark writes
``findings`` again, so work on a copy of a shared database). Within the analysis' memory
limit (:func:`analyzer.store.bounded_memory`), as ``analyze`` runs them: each selected rule's
``INSERT INTO rule_hits`` (:func:`analyzer.rules.engine.hits_statement`), then the engine's
statements (:data:`analyzer.rules.engine.ENGINE_STATEMENTS`: group, blame, findings) and the
summary relations. Each round runs everything again; the MEDIAN wall and CPU seconds (CPU of
every DuckDB thread: on a shared machine wall time also measures the others' load) are
printed per statement, with the rows each rule wrote.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

from analyzer import analysis, summary
from analyzer.config import Config
from analyzer.procmem import peak_rss_bytes
from analyzer.rules import engine
from analyzer.store import bounded_memory


def one_round(
    con: duckdb.DuckDBPyConnection, rules: list[engine.SelectedRule]
) -> dict[str, tuple[float, float, int]]:
    """Run the rules, the engine and the summary once: {name: (wall s, cpu s, rows)}."""
    out: dict[str, tuple[float, float, int]] = {}

    def timed(name: str, sql: str, params: list[object] | None = None, rows: int = 0) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        con.execute(sql, params or [])
        out[name] = (time.perf_counter() - wall, time.process_time() - cpu, rows)

    con.execute(engine.HITS_DDL)
    for sel in rules:
        before = con.execute("SELECT count(*) FROM rule_hits").fetchall()[0][0]
        timed(sel.rule.code, *engine.hits_statement(sel))
        hits = con.execute("SELECT count(*) FROM rule_hits").fetchall()[0][0] - before
        out[sel.rule.code] = (*out[sel.rule.code][:2], hits)
    engine.install_lookup_tables(con, rules, {})
    for name, sql in engine.ENGINE_STATEMENTS:
        timed(name, sql)
    wall, cpu = time.perf_counter(), time.process_time()
    summary.build(con)
    out["summary"] = (time.perf_counter() - wall, time.process_time() - cpu, 0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("db", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--select", default="", help="only these rule codes (comma-separated)")
    args = ap.parse_args(argv)
    if not args.db.exists():
        print(f"benchmarks/rules.py: no database {args.db}", file=sys.stderr)
        return 2
    config = Config()
    rules = analysis.selected_rules(config, analysis.policy_for(config))
    if args.select:
        codes = set(args.select.split(","))
        rules = [s for s in rules if s.rule.code in codes]
    con = duckdb.connect(str(args.db))
    with bounded_memory(con):
        rounds = [one_round(con, rules) for _ in range(args.repeat)]
    events = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    con.close()
    print(f"{args.db.name}: {events:,} events, medians of {args.repeat}")
    print(f"{'statement':<14}{'wall s':>8}{'cpu s':>8}{'rows':>10}")
    total = {"rules": [0.0, 0.0], "engine": [0.0, 0.0]}
    for name in rounds[0]:
        wall = statistics.median(r[name][0] for r in rounds)
        cpu = statistics.median(r[name][1] for r in rounds)
        print(f"{name:<14}{wall:>8.3f}{cpu:>8.3f}{rounds[0][name][2]:>10,}")
        part = "rules" if name[1:].isdigit() else "engine" if name != "summary" else None
        if part:
            total[part][0] += wall
            total[part][1] += cpu
    for part, (wall, cpu) in total.items():
        print(f"{part + ' (sum)':<14}{wall:>8.3f}{cpu:>8.3f}")
    print(f"peak RSS {peak_rss_bytes() / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
