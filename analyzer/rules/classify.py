"""The error classifier as the rules see it (the patterns themselves: :mod:`analyzer.classify`).

Each :class:`Pattern` is a case-insensitive regular expression on the exception TYPE or on its
MESSAGE, belonging to one class. Classes are tried in :data:`CLASS_ORDER`; the first pattern that
matches decides; nothing matching is ``ordinary``. Patterns from the configuration
(``[tool.analyzer] error_patterns``) are tried before the built-in ones, so a team can add a fault
signature or force a known message to ``ordinary``.

The rules never classify: the replay computes ``attempts.error_class`` once, under the policy's
error classes with the configuration's patterns first (``analyzer.analysis.policy_for``), and the
rules select it. :func:`classify` is the same logic in Python, for tests and display;
:func:`classify_sql` runs the replay's SQL expression on given pairs so tests can hold the two
to each other. Patterns use the common subset of Python ``re`` and RE2 (DuckDB) syntax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb

from analyzer.classify import (
    CLASS_ORDER,
    DEFAULT_PATTERNS,
    ErrorClass,
    Pattern,
    classify,
    patterns_with,
)
from analyzer.replay.policy import default_policy, with_patterns
from analyzer.replay.policy_sql import classify_error_sql, install_policy_tables

__all__ = [
    "CLASS_ORDER",
    "DEFAULT_PATTERNS",
    "ErrorClass",
    "Pattern",
    "classify",
    "classify_sql",
    "patterns_with",
]


def classify_sql(
    con: duckdb.DuckDBPyConnection,
    pairs: Sequence[tuple[str | None, str | None]],
    extra: Iterable[Pattern] = (),
) -> list[str | None]:
    """Classify ``pairs`` with the replay's SQL (``attempts.error_class``), under the default
    policy with ``extra`` patterns first (for tests: it must agree with :func:`classify`)."""
    install_policy_tables(con, with_patterns(default_policy(), extra))
    con.execute("CREATE OR REPLACE TEMP TABLE _classify_input (k INTEGER, t VARCHAR, m VARCHAR)")
    con.executemany(
        "INSERT INTO _classify_input VALUES (?, ?, ?)",
        [(i, t, m) for i, (t, m) in enumerate(pairs)],
    )
    rows = con.execute(
        f"SELECT {classify_error_sql('t', 'm')} FROM _classify_input ORDER BY k"
    ).fetchall()
    con.execute("DROP TABLE _classify_input")
    return [None if r[0] is None else str(r[0]) for r in rows]
