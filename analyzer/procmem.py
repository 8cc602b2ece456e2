"""A process's own peak resident memory, and a launcher that reports it for a CLI run.

``ru_maxrss`` is not the peak of the program a process runs: Linux records, at ``exec``, the
high-water mark of the memory the process had before (the copy of its parent made by fork), so
a child started by a parent holding 600 MB reports at least 600 MB whatever it does itself
(measured: ``python -c pass`` under a 600 MB parent, ``wait4`` says 614 MiB, ``VmHWM`` 13 MiB).
``VmHWM`` in ``/proc/self/status`` is the high-water mark of the process's present address
space only. A forked child (no exec) shares its parent's pages, and both count them.

``python -m analyzer.procmem OUT ARGS...`` runs ``analyzer ARGS...`` and writes its peak, in
bytes, to the file ``OUT`` before it exits: what the memory tests and benchmarks quote.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from pathlib import Path


def peak_rss_bytes() -> int:
    """This process's peak resident set since its last ``exec`` (Linux ``VmHWM``); elsewhere
    ``ru_maxrss``, which may include the memory of the parent it was started from."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def measured_argv(out: Path, *args: str) -> list[str]:
    """The command line that runs ``analyzer *args`` and writes its peak RSS to ``out``."""
    return [sys.executable, "-m", "analyzer.procmem", str(out), *args]


def read_peak(out: Path) -> int:
    """The peak a :func:`measured_argv` run wrote (bytes)."""
    return int(out.read_text().strip())


def _main(argv: list[str]) -> None:
    from analyzer import cli

    out = Path(argv[0])
    code = cli.main(argv[1:])
    out.write_text(f"{peak_rss_bytes()}\n")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if cli._exit_now:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    _main(sys.argv[1:])
