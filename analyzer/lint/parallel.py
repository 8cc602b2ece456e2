"""``analyzer lint`` in several forked processes, with the single process's result.

Each worker is forked with its share of the files (no copying: fork shares the parent's
memory) and keeps its parsed trees between three exchanges with the parent, so nothing is
parsed twice and no tree is sent:

1. the worker parses its files and sends each module's class bases (and what failed);
2. the parent, knowing every file's classes, sends the app class names; the worker finds its
   apps and sends their own settings;
3. the parent merges the settings through base apps of any file and sends them; the worker
   runs the checks and sends its findings.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from analyzer.lint.apps import (
    OwnSettings,
    app_class_names,
    inherit_settings,
    own_settings,
    resolve_settings,
)
from analyzer.rules.engine import SelectedRule

_KEPT: list[object] = []
"""A worker's trees: a forked worker ends with ``os._exit``, so the trees it keeps here are
never deallocated node by node (a third of a second per 1,000 files)."""


def available() -> bool:
    return "fork" in mp.get_all_start_methods()


def _worker(
    conn: Connection, sources: Sequence[tuple[str, bytes]], rules: Sequence[SelectedRule]
) -> None:
    from analyzer.lint import run

    try:
        parsed, bad = run.parse_all(sources)
        conn.send(("bases", run.bases_of(parsed), bad))
        known = conn.recv()
        modules = run.build_modules(parsed, known)
        apps = [a for _, m in modules for a in m.apps]
        conn.send(("settings", own_settings(apps), len(apps)))
        inherit_settings(apps, conn.recv())
        findings, suppressed = run.run_checks(modules, rules)
        conn.send(("findings", findings, suppressed))
        _KEPT.append((parsed, modules))  # freed by the process's end, not one node at a time
    except BaseException as exc:  # the parent re-raises it; never hang the pipe
        conn.send(("error", repr(exc), None))
    finally:
        conn.close()


def _recv(conn: Connection, expect: str) -> tuple[Any, Any]:
    kind, a, b = conn.recv()
    if kind != expect:
        raise RuntimeError(f"lint worker failed: {a}")
    return a, b


def lint_parallel(
    sources: Sequence[tuple[str, bytes]], rules: Sequence[SelectedRule], workers: int
) -> tuple[list[Any], int, int, list[Any]]:
    from analyzer.lint.run import sort_findings

    ctx = mp.get_context("fork")
    shares = [list(sources[i::workers]) for i in range(workers)]
    pipes, procs = [], []
    for share in shares:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(child, share, rules), daemon=True)
        proc.start()
        child.close()
        pipes.append(parent)
        procs.append(proc)
    try:
        all_bases, bad = [], []
        for conn in pipes:
            bases, failed = _recv(conn, "bases")
            all_bases += bases
            bad += failed
        known = app_class_names(all_bases)
        for conn in pipes:
            conn.send(known)
        table: OwnSettings = {}
        apps = 0
        for conn in pipes:
            own, n = _recv(conn, "settings")
            table.update(own)
            apps += n
        resolved = resolve_settings(table)
        for conn in pipes:
            conn.send(resolved)
        findings, suppressed = [], 0
        for conn in pipes:
            found, n = _recv(conn, "findings")
            findings += found
            suppressed += n
    finally:
        for conn in pipes:
            conn.close()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
    order = {path: i for i, (path, _data) in enumerate(sources)}
    bad.sort(key=lambda u: order.get(u.file, 0))
    return sort_findings(findings), apps, suppressed, bad
