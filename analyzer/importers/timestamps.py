"""Which timestamps an import accepts: Unix times by magnitude, a plausible window.

- A number (or numeric string) is a Unix time whose unit is told by its magnitude:
  below 1e11 seconds, below 1e14 milliseconds, below 1e17 microseconds, below 1e20
  nanoseconds (OTel and the platform write ns); anything larger is no time at all.
- NaN and Infinity are rejected (``invalid ts: not a finite number``), and so is an offset no
  zone has (``+99:99``: hours above 18 or minutes above 59).
- A time outside the plausible window is rejected with its reason. The window defaults to
  :data:`DEFAULT_WINDOW` and is set by ``analyzer import --ts-window FROM..TO``,
  ``import_paths(..., ts_window=...)`` or ``$ANALYZER_TS_WINDOW``.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from analyzer.errors import AnalyzerError

ENV = "ANALYZER_TS_WINDOW"
DEFAULT_WINDOW = "2000-01-01..2100-01-01"
# (upper bound of |x|, divisor to seconds): s, ms, us, ns
MAGNITUDES = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))
NOT_FINITE = "invalid ts: not a finite number"
BAD_OFFSET = "invalid ts: offset out of range"
# an offset ending the time part whose hours exceed 18 or whose minutes exceed 59
BAD_OFFSET_PATTERN = r"\d:\d{2}(:\d{2}([.,]\d*)?)?\s*[+-](1[89]|[2-9]\d):?\d{2}$|\d:\d{2}(:\d{2}([.,]\d*)?)?\s*[+-]\d{2}:?[6-9]\d$"


class WindowError(AnalyzerError):
    """A ``--ts-window`` that is not ``FROM..TO`` with FROM before TO."""


@dataclass(frozen=True)
class TsWindow:
    """Times ``start <= t < end`` are plausible."""

    start: datetime
    end: datetime

    @property
    def text(self) -> str:
        return f"{self.start.date().isoformat()}..{self.end.date().isoformat()}"

    def reason(self) -> str:
        return f"ts outside the plausible window {self.text}"


def _point(text: str) -> datetime:
    text = text.strip()
    if re.fullmatch(r"\d{4}", text):
        text += "-01-01"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_window(text: str) -> TsWindow:
    """``"2000-01-01..2100-01-01"`` (dates, ISO times or years) as a window."""
    start, sep, end = text.partition("..")
    try:
        if not sep:
            raise ValueError("no '..'")
        window = TsWindow(_point(start), _point(end))
    except ValueError as exc:
        raise WindowError(
            f"bad timestamp window {text!r} (want FROM..TO, e.g. 2000..2100): {exc}"
        ) from None
    if window.start >= window.end:
        raise WindowError(f"bad timestamp window {text!r}: FROM must be before TO")
    if window.start.year < 1700 or window.end.year > 2260:
        raise WindowError(f"bad timestamp window {text!r}: keep it within 1700..2260")
    return window


_override: TsWindow | None = None


def current_window() -> TsWindow:
    """The window in force: :func:`use_window`'s, else ``$ANALYZER_TS_WINDOW``, else the default."""
    if _override is not None:
        return _override
    return parse_window(os.environ.get(ENV) or DEFAULT_WINDOW)


@contextlib.contextmanager
def use_window(window: TsWindow | str | None) -> Iterator[None]:
    """Within the block, imports accept ``window`` (None: leave the window as it is)."""
    global _override
    if window is None:
        yield
        return
    previous = _override
    _override = parse_window(window) if isinstance(window, str) else window
    try:
        yield
    finally:
        _override = previous


def unix_seconds(value: float) -> float | None:
    """A Unix time in s/ms/us/ns (told by magnitude) as seconds; None if not finite or too big."""
    if not math.isfinite(value):
        return None
    for bound, divisor in MAGNITUDES:
        if abs(value) < bound:
            return value / divisor
    return None


def check(ts: datetime | None) -> str | None:
    """Why ``ts`` is rejected (outside the window), or None when it is plausible."""
    if ts is None:
        return None
    window = current_window()
    aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return None if window.start <= aware < window.end else window.reason()


def seconds_sql(number: str) -> str:
    """SQL: the DOUBLE ``number`` (a Unix time in s/ms/us/ns) as seconds; NULL if not finite
    or too large."""
    whens = " ".join(f"WHEN abs({number}) < {b:.0e} THEN {number} / {d:.0e}" for b, d in MAGNITUDES)
    return f"CASE WHEN NOT isfinite({number}) THEN NULL {whens} END"
