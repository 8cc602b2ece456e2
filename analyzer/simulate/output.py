"""Writing the simulated logs: timestamp styles, time-ordered flushing, file rotation, gzip.

Lines are scheduled with their *true* time (the gateway's clock) and kept in a heap until the
simulation clock passes them; only then are they formatted and written. So each file is in the
order its logger wrote it while memory holds only the lines of work in flight. A line carries a
*guard* (an attempt or a runner): if the guard was cut (the process was killed) before the line's
time, the line is dropped, because a killed runner logs nothing more.
"""

from __future__ import annotations

import gzip
import heapq
import io
import json
import time
from pathlib import Path
from typing import Any, Protocol

TsStyle = str  # "z" (RFC 3339 UTC, ms), "epoch" (Unix seconds), "offset" (RFC 3339 +01:00)


class Guard(Protocol):
    cut: float | None


_sec_cache: dict[tuple[int, int], str] = {}


def format_ts(epoch: float, style: TsStyle) -> str | float:
    """Format a Unix time in one of the styles loggers use."""
    if style == "epoch":
        return round(epoch, 3)
    ms_total = round(epoch * 1000)
    sec, ms = divmod(ms_total, 1000)
    shift = 3600 if style == "offset" else 0
    key = (sec, shift)
    base = _sec_cache.get(key)
    if base is None:
        if len(_sec_cache) > 4096:
            _sec_cache.clear()
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec + shift))
        _sec_cache[key] = base
    return f"{base}.{ms:03d}{'+01:00' if shift else 'Z'}"


class _File:
    """One logical log (e.g. ``gateway``), rotated into parts when ``split_bytes`` is set."""

    def __init__(self, out: Path, stem: str, gz: bool, split_bytes: int | None) -> None:
        self.out, self.stem, self.gz, self.split_bytes = out, stem, gz, split_bytes
        self.part = 0
        self.size = 0
        self.buf: list[str] = []
        self.buf_len = 0
        self.fh: Any = None
        self._raw: Any = None
        self.paths: list[Path] = []
        self.lines = 0

    def _open(self) -> None:
        self.part += 1
        name = self.stem if self.split_bytes is None else f"{self.stem}-{self.part:04d}"
        path = self.out / (name + (".jsonl.gz" if self.gz else ".jsonl"))
        raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        if self.gz:
            # mtime=0 and no file name: byte-identical output for the same seed
            self.fh = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0)
            self._raw = raw
        else:
            self.fh = raw
        self.paths.append(path)
        self.size = 0

    def write(self, line: str) -> None:
        if self.fh is None:
            self._open()
        elif self.split_bytes is not None and self.size >= self.split_bytes:
            self._flush()
            self._close_current()
            self._open()
        self.buf.append(line)
        n = len(line) + 1
        self.buf_len += n
        self.size += n
        self.lines += 1
        if self.buf_len >= 1 << 20:
            self._flush()

    def _flush(self) -> None:
        if self.buf:
            self.fh.write(("\n".join(self.buf) + "\n").encode("utf-8"))
            self.buf.clear()
            self.buf_len = 0

    def _close_current(self) -> None:
        if self.fh is not None:
            self.fh.close()
            if self._raw is not None:
                self._raw.close()
            self.fh = None

    def close(self) -> None:
        self._flush()
        self._close_current()


class Sink:
    """Time-ordered writer of all simulated log files."""

    def __init__(self, out: Path, t0: float, gz: bool = False, split_mb: float | None = None):
        self.out = out
        self.t0 = t0
        self.gz = gz
        self.split_bytes = int(split_mb * 1024 * 1024) if split_mb else None
        self.files: dict[str, _File] = {}
        self.heap: list[tuple[float, int, str, float, str, dict[str, Any], Guard | None]] = []
        self.seq = 0
        self._dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

    def emit(
        self,
        t: float,
        stem: str,
        record: dict[str, Any],
        *,
        skew: float = 0.0,
        style: TsStyle = "z",
        guard: Guard | None = None,
    ) -> None:
        """Schedule one line at true time ``t`` (seconds from the start) for file ``stem``.

        ``record`` must not contain ``ts``; it is added first, on the logger's clock (``skew``).
        """
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, stem, skew, style, record, guard))

    def flush_until(self, now: float) -> None:
        heap = self.heap
        while heap and heap[0][0] <= now:
            self._write(heapq.heappop(heap))

    def _write(
        self, item: tuple[float, int, str, float, str, dict[str, Any], Guard | None]
    ) -> None:
        t, _, stem, skew, style, record, guard = item
        if guard is not None and guard.cut is not None and t > guard.cut:
            return
        f = self.files.get(stem)
        if f is None:
            f = self.files[stem] = _File(self.out, stem, self.gz, self.split_bytes)
        ts = format_ts(self.t0 + t + skew, style)
        head = f'{{"ts":{ts},' if style == "epoch" else f'{{"ts":"{ts}",'
        f.write(head + self._dumps(record)[1:])  # "ts" first, without copying the record

    def close(self) -> list[Path]:
        """Write everything left and close the files; returns the paths written."""
        while self.heap:
            self._write(heapq.heappop(self.heap))
        paths: list[Path] = []
        for f in self.files.values():
            f.close()
            paths.extend(f.paths)
        return sorted(paths)

    def line_counts(self) -> dict[str, int]:
        return {stem: f.lines for stem, f in self.files.items()}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write small JSON Lines (the ground truth), deterministic."""
    text = io.StringIO()
    for row in rows:
        text.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
        text.write("\n")
    path.write_text(text.getvalue(), encoding="utf-8")
