"""A minimal progress bar on stderr: drawn only on a terminal, silent otherwise.

Used by long-running commands (``analyzer import``); callers give a total (bytes) and
advance it. Redraws at most ten times a second so it never slows the work down.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``Progress(total, label)``; ``advance(n)``; ``close()``. No output unless a TTY."""

    def __init__(
        self, total: int, label: str = "", stream: TextIO | None = None, force: bool = False
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._width = 30

    def set_label(self, label: str) -> None:
        self.label = label
        self._draw(force=True)

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        self._draw()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        frac = self.done / self.total
        filled = int(frac * self._width)
        bar = "#" * filled + "-" * (self._width - filled)
        elapsed = now - self._started
        mib = self.done / 1_048_576
        rate = mib / elapsed if elapsed > 0 else 0.0
        label = self.label[-40:]
        self.stream.write(f"\r[{bar}] {frac:4.0%} {mib:,.0f} MiB {rate:,.0f} MiB/s {label:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self._width + 80) + "\r")
            self.stream.flush()
