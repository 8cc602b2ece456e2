"""What every foreign-format importer shares: the mapped row, the format record, and helpers.

An importer for a foreign format is a pure mapping: source records -> rows of the native
``events`` table. A row is a plain dict whose keys are native fields (``analyzer.events.
FIELD_TYPES``) plus the provenance columns ``line_no``, ``ts_raw``, ``ts_naive``, ``extra``
(a dict of unmapped source fields, or None) and ``inferred``. The registry adds ``origin``,
``file``, ``import_id`` and ``event_id`` when it inserts them.

A record that cannot become an event is a :class:`Rejected` (line number, raw text, reason):
nothing is dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

from analyzer.fields import FIELD_TYPES

Row = dict[str, Any]
"""One mapped event: native fields + line_no, ts_raw, ts_naive, extra, inferred."""

ROW_KEYS: tuple[str, ...] = (*FIELD_TYPES, "ts_raw", "ts_naive", "extra", "inferred", "line_no")


@dataclass(frozen=True)
class Rejected:
    """A source record that could not be mapped, kept with its reason."""

    line_no: int
    raw: str
    reason: str


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know about the file besides its lines."""

    path: Path
    mtime: datetime | None = None
    first_line: int = 1  # line-based formats: the number of the first line handed over


@dataclass(frozen=True)
class Skipped:
    """A source record recognised and deliberately not imported (an OTLP metrics line, a copy
    of a span already read): counted in the file's ``skipped``, not an error."""

    line_no: int
    reason: str


Item = Row | Rejected | Skipped
Parser = Callable[[Iterable[str], ParseContext], Iterator[Item]]
Sniffer = Callable[[str], bool]
BlockMapper = Callable[..., Iterator[tuple[Any, list[tuple[int, str, str]]]]]
"""``(con, lines, *, first_line, file_name)`` -> (Arrow rows, rejected records) per block."""


@dataclass(frozen=True)
class Format:
    """A foreign log format: a name (also the ``origin`` of its events), a sniffer over the
    first kilobytes of a file, and a parser from its lines to mapped rows."""

    name: str
    description: str
    sniff: Sniffer
    parse: Parser
    appendable: bool = False  # line-based: a grown file is read from where it stopped
    map_blocks: BlockMapper | None = None  # a set-based (SQL) mapping used for imports


class TimestampError(ValueError):
    """A timestamp that cannot be read."""


_FRACTION = re.compile(r"(\.\d+)")
MIN_UNIX_S = -62135596800.0  # 0001-01-01T00:00:00Z
MAX_UNIX_S = 253402300799.0  # 9999-12-31T23:59:59Z


def parse_ts(value: Any) -> tuple[datetime, bool]:
    """Read an RFC 3339 / ISO 8601 string or Unix seconds; return (UTC time, was_naive).

    A string without an offset is taken as UTC (``was_naive`` true). Fractions longer than
    microseconds are truncated.
    """
    if isinstance(value, bool) or value is None:
        raise TimestampError(f"invalid ts: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
        if not MIN_UNIX_S <= seconds <= MAX_UNIX_S:  # also NaN; not the OS's "[Errno 75]"
            raise TimestampError(f"timestamp out of range (Unix seconds 0001..9999): {value!r}")
        return datetime.fromtimestamp(seconds, tz=UTC), False
    if not isinstance(value, str) or not value.strip():
        raise TimestampError(f"invalid ts: {value!r}")
    text = value.strip().replace(" ", "T", 1) if "T" not in value else value.strip()
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text, count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError(f"invalid ts: {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC), True
    return parsed.astimezone(UTC), False


def from_unix_nanos(value: Any) -> datetime:
    """OTLP's ``*UnixNano`` (a decimal string or an integer) as a UTC time."""
    nanos = int(value)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // 1000)


def make_row(
    ts: datetime,
    source: str,
    event: str,
    *,
    line_no: int,
    ts_raw: str | None = None,
    ts_naive: bool = False,
    inferred: bool = False,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> Row:
    """Build one mapped row; unknown keyword fields are an error (a typo, not data)."""
    if not fields.keys() <= _FIELD_SET:
        raise TypeError(f"not native fields: {sorted(fields.keys() - _FIELD_SET)}")
    row: Row = {**_EMPTY_ROW, **fields}
    row["ts"] = ts
    row["source"] = source
    row["event"] = event
    row["ts_raw"] = ts_raw if ts_raw is not None else ts.isoformat()
    row["ts_naive"] = ts_naive
    row["inferred"] = inferred
    row["extra"] = extra or None
    row["line_no"] = line_no
    return row


_FIELD_SET = frozenset(FIELD_TYPES)
_EMPTY_ROW: Row = dict.fromkeys(FIELD_TYPES)


class _Lines:
    """Incremental offset -> 1-based line number (offsets must not decrease)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, offset: int) -> int:
        if offset < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, offset)
        self.pos = offset
        return self.line


_WS = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _iter_spans(text: str) -> Iterator[tuple[int, int, Any] | Rejected]:
    """(start offset, end offset, value) of concatenated JSON values, or a Rejected line."""
    lines = _Lines(text)
    pos = _skip_ws(text, 0)
    while pos < len(text):
        try:
            value, end = _DECODER.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else "not JSON"
            nl = text.find("\n", pos)
            stop = len(text) if nl < 0 else nl
            yield Rejected(lines.at(pos), text[pos:stop][:2000], reason)
            # a value too deep to decode is skipped whole; a malformed one up to its line's end
            pos = _skip_deep(text, pos) if isinstance(exc, RecursionError) else _skip_ws(text, stop)
            continue
        yield pos, end, value
        pos = _skip_ws(text, end)


def _skip_deep(text: str, pos: int) -> int:
    """The offset just past the value starting at ``pos`` (brackets balanced, strings
    skipped), for a value too deeply nested to decode."""
    depth, index, in_string, escaped = 0, pos, False, False
    while index < len(text):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return _skip_ws(text, index + 1)
        index += 1
    return len(text)


def iter_json_values(text: str) -> Iterator[tuple[int, Any] | Rejected]:
    """Concatenated JSON values (JSON lines, pretty-printed objects one after the other).

    Yields (line number where the value starts, value); on malformed input yields one
    :class:`Rejected` for the offending line and resumes at the next line.
    """
    lines = _Lines(text)
    for item in _iter_spans(text):
        if isinstance(item, Rejected):
            yield item
        else:
            yield lines.at(item[0]), item[2]


def iter_items(
    text: str, keys: tuple[str, ...] = ("items",)
) -> Iterator[tuple[int, Any] | Rejected]:
    """Records of a file of pages (``{"items": [...], ...}``), bare arrays, or JSON lines.

    Each top-level value that is an object holding one of ``keys`` as a list yields its
    elements; a top-level array yields its elements; any other object is a record itself.
    Line numbers point at each record's first line, also inside pretty-printed pages.
    """
    lines = _Lines(text)
    for item in _iter_spans(text):
        if isinstance(item, Rejected):
            yield item
            continue
        start, end, obj = item
        key = None
        if isinstance(obj, dict):
            key = next((k for k in keys if isinstance(obj.get(k), list)), None)
            if key is None:
                yield lines.at(start), obj
                continue
            elements = obj[key]
        elif isinstance(obj, list):
            elements = obj
        else:
            yield lines.at(start), obj
            continue
        yield from _locate_elements(text, lines, start, end, key, elements)


def json_lines(lines: Iterable[str]) -> Iterator[tuple[int, Any] | Rejected]:
    """Each non-blank line as one JSON value with its 1-based line number; a line that is not
    JSON (or nests too deeply to read) is rejected with that reason."""
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        try:
            yield line_no, json.loads(text)
        except RecursionError:
            yield Rejected(line_no, text[:2000], "nested too deeply")
        except ValueError:
            yield Rejected(line_no, text[:2000], "not JSON")


def iter_records(
    lines: Iterable[str], keys: tuple[str, ...] = ("items",)
) -> Iterator[tuple[int, Any] | Rejected]:
    """Like :func:`iter_items` over a file's lines, streaming when the file is JSON lines.

    When the first non-blank line is a whole JSON object that is not a page, the file is read
    line by line (a log drain can be large): each line is one record, a line that is not JSON
    is rejected. Otherwise (pretty-printed pages, arrays) the text is read whole.
    """
    it = iter(lines)
    head: list[str] = []
    first: Any = None
    for line in it:
        head.append(line)
        if line.strip():
            try:
                first = json.loads(line)
            except (ValueError, RecursionError):
                first = None
            break
    streaming = isinstance(first, dict) and not any(isinstance(first.get(k), list) for k in keys)
    if not streaming:
        yield from iter_items("".join(head) + "".join(it), keys)
        return
    for read in json_lines(chain(head, it)):
        if isinstance(read, Rejected):
            yield read
            continue
        line_no, record = read
        if isinstance(record, dict) and any(isinstance(record.get(k), list) for k in keys):
            yield from (
                (line_no, element)
                for element in record[next(k for k in keys if isinstance(record.get(k), list))]
            )
        else:
            yield line_no, record


def iter_timestamped(
    lines: Iterable[str], keys: tuple[str, ...], ts_key: str
) -> Iterator[tuple[int, dict[str, Any], datetime, bool] | Rejected]:
    """:func:`iter_records`, keeping only objects with a valid timestamp under ``ts_key``.

    Yields ``(line_no, record, ts, naive)``, or :class:`Rejected` with the reason (not an object,
    missing ts, or the timestamp's own error).
    """
    for item in iter_records(lines, keys):
        if isinstance(item, Rejected):
            yield item
            continue
        line_no, record = item
        if not isinstance(record, dict):
            yield Rejected(line_no, compact(record), "not an object")
            continue
        if record.get(ts_key) in (None, ""):
            yield Rejected(line_no, compact(record), "missing ts")
            continue
        try:
            ts, naive = parse_ts(record[ts_key])
        except TimestampError as exc:
            yield Rejected(line_no, compact(record), str(exc))
            continue
        yield line_no, record, ts, naive


def _locate_elements(
    text: str, lines: _Lines, start: int, end: int, key: str | None, elements: list[Any]
) -> Iterator[tuple[int, Any]]:
    """Pair each element of a page's list with the line it starts on."""
    first = lines.at(start)
    if "\n" not in text[start:end]:
        for element in elements:  # a page on one line: every record is on that line
            yield first, element
        return
    pos = start
    if key is not None:
        found = text.find(json.dumps(key), start, end)
        pos = text.find("[", found, end) if found >= 0 else -1
    else:
        pos = text.find("[", start, end)
    if pos < 0:  # pragma: no cover - a key spelled with escapes
        for element in elements:
            yield first, element
        return
    pos += 1
    for element in elements:
        pos = _skip_ws(text, pos)
        try:
            _, stop = _DECODER.raw_decode(text, pos)
        except json.JSONDecodeError:  # pragma: no cover - the page decoded as a whole
            yield first, element
            continue
        yield lines.at(pos), element
        pos = _skip_ws(text, stop)
        if pos < len(text) and text[pos] == ",":
            pos += 1


def compact(value: Any, limit: int = 2000) -> str:
    """A record as one short line of JSON (for ``rejected.raw``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)[:limit]


def as_str(value: Any) -> str | None:
    """A non-empty string, or None (``-`` and empty strings count as missing)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "-") else text


def head_json_keys(head: str, *keys: str) -> bool:
    """All of ``keys`` appear as JSON keys in the sniffed head."""
    return all(f'"{k}"' in head for k in keys)
