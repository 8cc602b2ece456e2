"""What an import did: one :class:`FileResult` per file, one :class:`ImportSummary` per run.

The summary is what ``analyzer import`` prints (:meth:`ImportSummary.render`), what the
dashboard's import page shows and what the notebook API returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analyzer.importers.redact import redact_text

FIRST_REASONS = 5


@dataclass(frozen=True)
class RejectedLine:
    """One rejected line, for the summary's first few reasons."""

    file: str
    line_no: int
    reason: str


@dataclass
class FileResult:
    """The outcome of importing one file.

    ``status`` is ``imported`` (read from the start), ``appended`` (only lines added since the
    last import), ``replaced`` (the file changed, its earlier rows were replaced) or
    ``unchanged`` (already imported, nothing read).
    """

    path: str
    format: str
    status: str = "imported"
    import_id: int | None = None
    first_line: int = 1
    lines: int = 0
    events: int = 0
    rejected: int = 0
    naive_timestamps: int = 0
    unknown_events: int = 0
    skipped: int = 0  # records recognised and not imported (OTLP metrics, duplicate spans)
    bytes_read: int = 0
    seconds: float = 0.0
    first_rejected: list[RejectedLine] = field(default_factory=list)


@dataclass
class ImportSummary:
    """Totals over the files of one ``import_paths`` call."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    attribution: dict[str, int] = field(default_factory=dict)
    """The platform's log lines by attribution verdict (``labelled``, ``runner_time`` or an
    unattributed reason) and ``joined`` (records folded into another event); see
    :mod:`analyzer.importers.formats.fal_attribution`. Empty when no platform logs were read."""

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def naive_timestamps(self) -> int:
        return sum(f.naive_timestamps for f in self.files)

    @property
    def unknown_events(self) -> int:
        return sum(f.unknown_events for f in self.files)

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.files)

    @property
    def first_rejected(self) -> list[RejectedLine]:
        out: list[RejectedLine] = []
        for f in self.files:
            out.extend(f.first_rejected)
        return out[:FIRST_REASONS]

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """Plain numbers, for JSON output and the dashboard."""
        return {
            "files": len(self.files),
            "files_unchanged": self.count("unchanged"),
            "files_appended": self.count("appended"),
            "files_replaced": self.count("replaced"),
            "lines": self.lines,
            "events": self.events,
            "rejected": self.rejected,
            "naive_timestamps": self.naive_timestamps,
            "unknown_events": self.unknown_events,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "first_rejected": [
                {"file": r.file, "line": r.line_no, "reason": redact_text(r.reason)}
                for r in self.first_rejected
            ],
            "log_attribution": dict(self.attribution),
        }

    def render(self, cwd: Path | None = None) -> str:
        """The one-screen text summary printed by ``analyzer import``."""
        base = cwd or Path.cwd()
        n = len(self.files)
        parts = [f"{n} file{'s' if n != 1 else ''}"]
        for status in ("appended", "replaced", "unchanged"):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        lines = [
            "imported " + ", ".join(parts),
            f"  events            {self.events:>12,}",
            f"  rejected lines    {self.rejected:>12,}",
            f"  naive timestamps  {self.naive_timestamps:>12,}  (no offset, taken as UTC)",
            f"  unknown events    {self.unknown_events:>12,}  (kept, name not in format v1)",
            f"  time              {self.seconds:>12.2f} s  ({self.events_per_second:,.0f} events/s)",
        ]
        if self.skipped:
            lines.insert(
                5, f"  skipped records   {self.skipped:>12,}  (OTLP metrics, duplicate spans)"
            )
        if self.attribution:
            lines.append("platform log lines, by attribution to a request:")
            for how, n in self.attribution.items():
                label = "(records joined into those)" if how == "joined" else how
                lines.append(f"  {label:<34}{n:>8,}")
        if self.rejected:
            lines.append("first rejected lines:")
            for r in self.first_rejected:
                lines.append(f"  {_short(r.file, base)}:{r.line_no}: {redact_text(r.reason)}")
            if self.rejected > len(self.first_rejected):
                lines.append(
                    f"  ... {self.rejected - len(self.first_rejected):,} more "
                    "(SELECT * FROM rejected)"
                )
        return "\n".join(lines)


def _short(path: str, base: Path) -> str:
    try:
        return str(Path(path).relative_to(base))
    except ValueError:
        return path
