"""The error classifier in SQL, for the rules (the patterns themselves: :mod:`analyzer.classify`).

Each :class:`Pattern` is a case-insensitive regular expression on the exception TYPE or on its
MESSAGE, belonging to one class. Classes are tried in :data:`CLASS_ORDER`; the first pattern that
matches decides; nothing matching is ``ordinary``. Patterns from the configuration
(``[tool.analyzer] error_patterns``) are tried before the built-in ones, so a team can add a fault
signature or force a known message to ``ordinary``.

The exception type and the specific fault patterns decide, never a bare keyword: the platform's
SDK answers 503 for any message that merely *mentions* cuda/triton/nccl, but
``ValueError: unsupported triton kernel option`` is still an ordinary (here: bad input) error,
while ``torch.cuda.OutOfMemoryError: CUDA out of memory`` and
``RuntimeError: CUDA error: device-side assert triggered`` are GPU faults.

The rules apply the classifier in SQL (:func:`install_classifier` creates ``rule_error_pattern``
and classifies the distinct (exc_type, exc_message) pairs of ``attempts`` into
``rule_error_class``); :func:`classify` is the same logic in Python, for tests and display.
Patterns use the common subset of Python ``re`` and RE2 (DuckDB) syntax.
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

__all__ = [
    "CLASS_ORDER",
    "DEFAULT_PATTERNS",
    "ErrorClass",
    "Pattern",
    "classify",
    "classify_sql",
    "install_classifier",
    "patterns_with",
]


def install_classifier(
    con: duckdb.DuckDBPyConnection, extra: Iterable[Pattern] = (), *, source: str = "attempts"
) -> None:
    """Create ``rule_error_pattern`` and ``rule_error_class(exc_type, exc_message, error_class)``.

    ``source`` is a table (or subquery in parentheses) with ``exc_type`` and ``exc_message``.
    """
    rows = [(i, p.error_class, p.field, p.pattern) for i, p in enumerate(patterns_with(extra))]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rule_error_pattern "
        "(priority INTEGER, error_class VARCHAR, field VARCHAR, pattern VARCHAR)"
    )
    con.executemany("INSERT INTO rule_error_pattern VALUES (?, ?, ?, ?)", rows)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE rule_error_class AS
        WITH pairs AS (
            SELECT DISTINCT exc_type, exc_message FROM {source}
            WHERE exc_type IS NOT NULL OR exc_message IS NOT NULL
        ),
        matched AS (
            SELECT p.exc_type, p.exc_message, arg_min(x.error_class, x.priority) AS error_class
            FROM pairs p JOIN rule_error_pattern x
              ON regexp_matches(
                   CASE x.field WHEN 'exc_type' THEN p.exc_type ELSE p.exc_message END,
                   x.pattern, 'i')
            GROUP BY ALL
        )
        SELECT p.exc_type, p.exc_message, coalesce(m.error_class, 'ordinary') AS error_class
        FROM pairs p LEFT JOIN matched m
          ON m.exc_type IS NOT DISTINCT FROM p.exc_type
         AND m.exc_message IS NOT DISTINCT FROM p.exc_message
        """
    )


def classify_sql(
    con: duckdb.DuckDBPyConnection,
    pairs: Sequence[tuple[str | None, str | None]],
    extra: Iterable[Pattern] = (),
) -> list[str | None]:
    """Classify ``pairs`` through the SQL path (for tests: it must agree with :func:`classify`)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE rule_classify_input (exc_type VARCHAR, exc_message VARCHAR)"
    )
    con.executemany("INSERT INTO rule_classify_input VALUES (?, ?)", list(pairs))
    install_classifier(con, extra, source="rule_classify_input")
    out: list[str | None] = []
    for exc_type, message in pairs:
        row = con.execute(
            "SELECT error_class FROM rule_error_class WHERE exc_type IS NOT DISTINCT FROM ? "
            "AND exc_message IS NOT DISTINCT FROM ?",
            [exc_type, message],
        ).fetchone()
        out.append(None if row is None else str(row[0]))
    return out
