"""Readers survive any timestamp already stored: out-of-range times read as NULL.

The importer rejects implausible times (:mod:`analyzer.importers.timestamps`), but a database
written by an older version, or by hand, may hold ``infinity``, year 0 or year 58857. Python's
``datetime`` stops at year 9999 and pandas' nanoseconds at 1677..2262, so such a value makes
every face that fetches it fail (the dashboard, ``timeline``, the API).

:func:`guard_times` is called on every read-only connection (:func:`analyzer.store.connect`).
For each table holding a time outside :data:`SAFE_RANGE` (one ``min``/``max`` per time column,
answered from the table's statistics), it creates a TEMP view of the same name that reads that
column as NULL outside the range; temp views shadow the tables for every query of this
connection and change nothing in the file. A clean database gets no view at all.
"""

from __future__ import annotations

import duckdb

from analyzer.store import quote_identifier as q

SAFE_RANGE = ("1678-01-01 00:00:00+00", "2262-01-01 00:00:00+00")
_COLUMNS_SQL = """
SELECT c.table_name, c.column_name, c.data_type
FROM duckdb_columns() c JOIN duckdb_tables() t
  ON t.database_name = c.database_name AND t.schema_name = c.schema_name
 AND t.table_name = c.table_name
WHERE c.database_name = current_database() AND c.schema_name = 'main'
  AND c.data_type IN ('TIMESTAMP', 'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_NS', 'TIMESTAMP_MS',
                      'TIMESTAMP_S', 'DATE')
ORDER BY c.table_name, c.column_index
"""


def _inside(column: str, data_type: str) -> str:
    lo, hi = SAFE_RANGE
    kind = "DATE" if data_type == "DATE" else "TIMESTAMPTZ"
    return f"({column} >= {kind} '{lo[:10]}' AND {column} < {kind} '{hi[:10]}')"


def unsafe_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    """Per table, the time columns holding a value outside :data:`SAFE_RANGE`."""
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in con.execute(_COLUMNS_SQL).fetchall():
        by_table.setdefault(str(table), []).append((str(column), str(data_type)))
    unsafe: dict[str, list[tuple[str, str]]] = {}
    for table, columns in by_table.items():
        tests = ", ".join(
            f"coalesce(NOT {_inside(f'min({q(c)})', t)} OR NOT {_inside(f'max({q(c)})', t)}, false)"
            for c, t in columns
        )
        flags = con.execute(f"SELECT {tests} FROM {q(table)}").fetchall()[0]
        bad = [col for col, flag in zip(columns, flags, strict=True) if flag]
        if bad:
            unsafe[table] = bad
    return unsafe


# the views created for each database file (by path): a cursor of a guarded connection is
# a new connection to the same database and does not see its parent's temp views
_VIEWS: dict[str, list[str]] = {}
_DB_SQL = (
    "SELECT database_name, path FROM duckdb_databases() WHERE database_name = current_database()"
)


def guard_times(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Shadow each table with out-of-range times by a TEMP view reading them as NULL; the
    tables so shadowed (none for a clean database)."""
    db, path = con.execute(_DB_SQL).fetchall()[0]
    unsafe = unsafe_columns(con)
    views = []
    for table, columns in unsafe.items():
        replaced = ", ".join(
            f"CASE WHEN {_inside(q(c), t)} THEN {q(c)} END AS {q(c)}" for c, t in columns
        )
        views.append(
            f"CREATE OR REPLACE TEMP VIEW {q(table)} AS "
            f"SELECT * REPLACE ({replaced}) FROM {q(str(db))}.main.{q(table)}"
        )
    for sql in views:
        con.execute(sql)
    _VIEWS[str(path)] = views
    return sorted(unsafe)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con.cursor()`` with the guard of ``con`` (:func:`guard_times`) applied to it too."""
    cur = con.cursor()
    path = str(cur.execute(_DB_SQL).fetchall()[0][1])
    for sql in _VIEWS.get(path, ()):
        cur.execute(sql)
    return cur
