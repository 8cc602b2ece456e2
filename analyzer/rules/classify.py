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
from analyzer.replay.graph import by_name
from analyzer.replay.policy import default_policy, with_patterns
from analyzer.replay.policy_sql import install_static_tables

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
    """Classify ``pairs`` with the replay's own relation (``_rp_errclass``, the one home of
    ``attempts.error_class``) under the default policy with ``extra`` patterns first (for tests:
    it must agree with :func:`classify`)."""
    install_static_tables(con, with_patterns(default_policy(), extra))
    con.execute("CREATE OR REPLACE TEMP TABLE _rp_hand (exc_type VARCHAR, exc_message VARCHAR)")
    con.executemany("INSERT INTO _rp_hand VALUES (?, ?)", list(pairs))
    rows = con.execute(f"SELECT k_exc, k_msg, error_class FROM ({by_name()['_rp_errclass'].sql})")
    found = {(t, m): c for t, m, c in rows.fetchall()}
    con.execute("DROP TABLE _rp_hand")
    return [None if t is None and m is None else str(found[(t or "", m or "")]) for t, m in pairs]
