"""Filters shared by every query: app, endpoint, rule code, severity and a time window.

A :class:`Filters` value is immutable and hashable, so the dashboard can use it as a cache
key. :func:`where_clause` turns it into a parameterised ``WHERE`` clause for one table:
values always travel as bound parameters, column names through ``quote_identifier``.

Example:
    >>> f = Filters(app="acme/sdxl", severity=("error", "warning"))
    >>> sql, params = where_clause(f, time_column="ts", columns={"app", "severity"})
    >>> sql
    'WHERE "app" IN (?) AND "severity" IN (?, ?)'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from analyzer.store import quote_identifier

Choice = str | Sequence[str] | None
"""One value, several values (any of them matches) or ``None`` (no filter)."""

TimeBound = datetime | str | pd.Timestamp | None
"""A datetime (naive means UTC), an ISO 8601 string, or ``None`` (unbounded)."""

# Filter fields that match a column of the same name.
CHOICE_FIELDS = ("app", "endpoint", "code", "severity")


def _as_tuple(value: Choice) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    items = tuple(str(v) for v in value)
    return items or None


def as_utc(value: TimeBound) -> datetime | None:
    """A time bound as an aware UTC datetime (naive values and strings are taken as UTC)."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    result: datetime = ts.tz_convert("UTC").to_pydatetime()
    return result.astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """What to keep: every given field must match (``None`` = no filter).

    ``since`` is inclusive and ``until`` exclusive; they apply to each table's own time
    column (``received_at`` for requests, ``ts`` for findings, ...).
    """

    app: tuple[str, ...] | None = None
    endpoint: tuple[str, ...] | None = None
    code: tuple[str, ...] | None = None
    severity: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(
        cls,
        app: Choice = None,
        endpoint: Choice = None,
        code: Choice = None,
        severity: Choice = None,
        since: TimeBound = None,
        until: TimeBound = None,
    ) -> Filters:
        """Build filters from loose values (a string or a list each; times as str or datetime)."""
        return cls(
            app=_as_tuple(app),
            endpoint=_as_tuple(endpoint),
            code=_as_tuple(code),
            severity=_as_tuple(severity),
            since=as_utc(since),
            until=as_utc(until),
        )

    def without(self, *names: str) -> Filters:
        """The same filters with the named fields cleared."""
        return replace(self, **dict.fromkeys(names))

    def active(self) -> dict[str, Any]:
        """The fields that are set."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def where_clause(
    filters: Filters,
    *,
    time_column: str | None,
    columns: Iterable[str],
    prefix: str = "",
    extra: Sequence[tuple[str, Any]] = (),
) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (or ``""``) and its parameters for a table with ``columns``.

    Raises ``ValueError`` for a filter the table cannot honour (e.g. ``code`` on requests),
    rather than silently ignoring it. ``extra`` adds ``(sql_condition, value)`` pairs.
    """
    available = set(columns)
    parts: list[str] = []
    params: list[Any] = []
    for name in CHOICE_FIELDS:
        values = getattr(filters, name)
        if not values:
            continue
        if name not in available:
            raise ValueError(f"filter {name!r} does not apply to this table")
        marks = ", ".join("?" for _ in values)
        parts.append(f"{prefix}{quote_identifier(name)} IN ({marks})")
        params.extend(values)
    for bound, op in ((filters.since, ">="), (filters.until, "<")):
        if bound is None:
            continue
        if time_column is None:
            raise ValueError("a time filter does not apply to this table")
        parts.append(f"{prefix}{quote_identifier(time_column)} {op} ?")
        params.append(bound)
    for condition, value in extra:
        parts.append(condition)
        params.append(value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), params
