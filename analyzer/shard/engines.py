"""Where the shards run: a local process pool, or Ray tasks.

Both take the same :class:`~analyzer.shard.worker.ShardTask` list and call ``on_done`` with each
:class:`~analyzer.shard.worker.ShardResult` as it arrives. A worker that dies (killed, out of
memory) costs only its shard, which is run again (:data:`MAX_ATTEMPTS` times in all); an error
raised by the analysis itself (a rule that fails on this data) is not retried but reported.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from analyzer.errors import AnalyzerError
from analyzer.shard.worker import ShardResult, ShardTask, run_shard

MAX_ATTEMPTS = 3
OnDone = Callable[[ShardResult, int], None]
"""Called with each result and the attempt that produced it (1 = first run)."""


class ShardFailedError(AnalyzerError):
    """A shard could not be analysed after :data:`MAX_ATTEMPTS` runs."""


def run_local(tasks: Sequence[ShardTask], workers: int, on_done: OnDone) -> None:
    """Run the tasks in up to ``workers`` worker processes at a time, one shard each
    (``python -m analyzer.shard``: a fresh interpreter, nothing inherited; the caller's
    script is not imported again, as multiprocessing's spawn would)."""
    if not tasks:
        return
    root = Path(tasks[0].root) / "tasks"
    root.mkdir(parents=True, exist_ok=True)
    queue = list(tasks)
    attempts = {t.shard.index: 0 for t in tasks}
    running: dict[int, tuple[subprocess.Popen[bytes], ShardTask, Path]] = {}
    try:
        while queue or running:
            while queue and len(running) < max(1, workers):
                task = queue.pop(0)
                attempts[task.shard.index] += 1
                running[task.shard.index] = _start(root, task)
            time.sleep(0.02)
            for index in [i for i, (p, _, _) in running.items() if p.poll() is not None]:
                proc, task, result_path = running.pop(index)
                payload = _payload(result_path)
                if isinstance(payload, ShardResult):
                    on_done(payload, attempts[index])
                    continue
                if isinstance(payload, dict) and "error" in payload:
                    raise AnalyzerError(str(payload["error"]))
                if attempts[index] >= MAX_ATTEMPTS:
                    raise ShardFailedError(
                        f"shard {task.shard.name}: its worker died {MAX_ATTEMPTS} times "
                        f"(exit {proc.returncode}; log: {root / (task.shard.name + '.log')})"
                    )
                queue.insert(0, task)  # killed or crashed: run the shard again
    finally:
        for proc, _, _ in running.values():
            proc.kill()
            proc.wait()


def _start(root: Path, task: ShardTask) -> tuple[subprocess.Popen[bytes], ShardTask, Path]:
    task_path = root / f"{task.shard.name}.task"
    result_path = root / f"{task.shard.name}.result"
    task_path.write_bytes(pickle.dumps(task))
    result_path.unlink(missing_ok=True)
    with open(root / f"{task.shard.name}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analyzer.shard", str(task_path), str(result_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, task, result_path


def _payload(path: Path) -> object:
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def run_ray(tasks: Sequence[ShardTask], workers: int, address: str | None, on_done: OnDone) -> None:
    """Run the tasks as Ray tasks: on the cluster at ``address``, else on a local Ray started
    for this run (``num_cpus=workers``) and stopped after it. An already initialised Ray (a
    notebook's, a test's) is used as it is and left running."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ModuleNotFoundError:
        raise AnalyzerError("--engine ray needs Ray: pip install 'analyzer[distributed]'") from None
    started = False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not ray.is_initialized():
        if address:
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        else:
            ray.init(
                num_cpus=max(1, workers),
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.ERROR,
            )
        started = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=MAX_ATTEMPTS - 1)(run_shard)
        refs = {remote.remote(t): t for t in tasks}
        left = list(refs)
        while left:
            done, left = ray.wait(left, num_returns=1)
            for ref in done:
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    if isinstance(cause, AnalyzerError):
                        raise cause from None
                    raise ShardFailedError(f"shard {refs[ref].shard.name}: {cause}") from None
                except ray.exceptions.RayError as exc:
                    raise ShardFailedError(f"shard {refs[ref].shard.name}: {exc}") from None
                on_done(result, 1)
    finally:
        if started:
            ray.shutdown()
