"""What a runner prints, line by line, as the platform's logs carry it; joined where one event
spans several log records.

On the platform every printed line is one log record (uvicorn's tracebacks too), the level is
inferred from the text, and the lines of a failed request carry no request id (the SDK clears
its labels before printing, see docs/formats.md). So the lines are read by what they say:

- the SDK's ``{"traceback": "..."}`` line: an unhandled exception in a handler;
- uvicorn's access line ``INFO: <client> - "POST /path HTTP/1.1" <status> <phrase>``: one
  answered call, its path and status;
- uvicorn's error block (``ERROR: Exception in ASGI application`` or ``ERROR: Traceback ...``,
  then the frames, one record per line): one traceback;
- anything else: a plain line.

:func:`join` groups, per runner and in time order, the records that are one event: an error
block's lines become one block; the SDK's traceback line takes the first access line that
follows it on the same runner within :data:`JOIN_S` (its status and path) and the first error
block with the same exception (uvicorn's copy of it). Nothing is dropped: a group lists every
record it holds.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analyzer.importers.formats.tracebacks import ParsedTraceback, parse_traceback, traceback_text

JOIN_S = 2.0
"""Seconds within which an access line or an error block belongs to the traceback before it."""

ACCESS = re.compile(
    r'^INFO:\s+(?P<client>\S+) - "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" '
    r"(?P<status>\d{3})\b"
)
BLOCK_START = re.compile(
    r"^(ERROR:\s+(Exception in ASGI application|Traceback \(most recent call last\):)"
    r"|Task exception was never retrieved)"
)
_EXC = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Group|Warning|Cancelled)"
    r"(?::.*)?$"
)
_CONTINUES = ("Traceback (most recent call last)", "During handling", "The above exception")


@dataclass
class Record:
    """One log record: its place in the file, time, runner, labels and text."""

    line_no: int
    ts: datetime
    naive: bool
    record: dict[str, Any]
    runner_id: str | None
    message: str
    kind: str = "line"  # traceback | access | block | line
    parsed: ParsedTraceback | None = None
    access: dict[str, Any] | None = None


@dataclass
class Group:
    """One event's records: the first one leads (its time, labels), the rest joined to it."""

    lead: Record
    kind: str
    parsed: ParsedTraceback | None = None
    access: dict[str, Any] | None = None
    records: list[Record] = field(default_factory=list)

    @property
    def line_nos(self) -> list[int]:
        return [r.line_no for r in self.records]


def classify(rec: Record) -> Record:
    """Set the record's kind (and parsed traceback / access fields)."""
    text = traceback_text(rec.message)
    if text is not None:
        rec.parsed = parse_traceback(text)
        if rec.parsed is not None:
            rec.kind = "traceback"
            return rec
    match = ACCESS.match(rec.message)
    if match:
        rec.kind = "access"
        rec.access = {
            "method": match.group("method"),
            "path": match.group("path").split("?", 1)[0],
            "status": int(match.group("status")),
        }
    elif BLOCK_START.match(rec.message):
        rec.kind = "block"
    return rec


def _continues(message: str) -> bool:
    return (
        not message.strip()
        or message[:1].isspace()
        or message.startswith(_CONTINUES)
        or bool(_EXC.match(message))
        or message.startswith("future: <Task")
    )


def in_order(records: list[Record]) -> list[Record]:
    """Oldest first; a file written newest first (logs history) lists one instant's records
    newest first too, so ties keep the file's order reversed."""
    if len(records) > 1 and records[0].ts > records[-1].ts:
        records = records[::-1]
    return sorted(records, key=lambda r: r.ts)


def join(records: Iterable[Record]) -> list[Group]:
    """The records as groups, in time order (see the module docstring)."""
    by_runner: dict[str | None, list[Record]] = defaultdict(list)
    for rec in records:
        by_runner[rec.runner_id].append(rec)
    groups: list[Group] = []
    for runner_records in by_runner.values():
        groups.extend(_pair(_blocks(runner_records)))
    groups.sort(key=lambda g: (g.lead.ts, g.lead.line_no))
    return groups


def _blocks(records: list[Record]) -> list[Group]:
    """One runner's records; an error block's lines folded into one group."""
    out: list[Group] = []
    open_block: Group | None = None
    for rec in records:
        if open_block is not None:
            within = (rec.ts - open_block.lead.ts).total_seconds() <= JOIN_S
            if within and rec.kind == "line" and _continues(rec.message):
                open_block.records.append(rec)
                continue
            _close(open_block)
            open_block = None
        group = Group(rec, rec.kind, rec.parsed, rec.access, [rec])
        out.append(group)
        if rec.kind == "block":
            open_block = group
    if open_block is not None:
        _close(open_block)
    return out


def _close(block: Group) -> None:
    text = "\n".join(r.message for r in block.records)
    block.parsed = parse_traceback(_unmargined(text))


def _unmargined(text: str) -> str:
    """A traceback without the header ``ERROR:`` lines (the exception is the last top-level
    exception line; group members sit inside margins and stay indented)."""
    return "\n".join(line for line in text.splitlines() if not BLOCK_START.match(line))


def _pair(groups: list[Group]) -> list[Group]:
    """Fold into each SDK traceback the access line and uvicorn block that follow it."""
    out: list[Group] = []
    taken: set[int] = set()
    for index, group in enumerate(groups):
        if index in taken:
            continue
        out.append(group)
        if group.kind != "traceback" or group.parsed is None:
            continue
        want_access, want_block = True, True
        for later in range(index + 1, len(groups)):
            other = groups[later]
            if (other.lead.ts - group.lead.ts).total_seconds() > JOIN_S:
                break
            if other.kind == "traceback" or not (want_access or want_block):
                break
            if later in taken:
                continue
            if want_access and other.kind == "access":
                group.access = other.access
                group.records.extend(other.records)
                taken.add(later)
                want_access = False
            elif want_block and other.kind == "block" and _same(other.parsed, group.parsed):
                group.records.extend(other.records)
                taken.add(later)
                want_block = False
    return out


def _same(a: ParsedTraceback | None, b: ParsedTraceback | None) -> bool:
    return a is not None and b is not None and (a.exc_type, a.message) == (b.exc_type, b.message)
