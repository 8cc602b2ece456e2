"""The Python API the notebook and the dashboard share.

- :mod:`analyzer.api.database`: open an analysed database, the bundled sample database;
- :mod:`analyzer.api.queries`: DataFrames over the tables, with :class:`Filters`;
- :mod:`analyzer.api.aggregates`: KPIs, counts over time, distributions;
- :mod:`analyzer.api.figures`: Plotly figures from those DataFrames (:mod:`~analyzer.api.gantt`:
  a request's timeline; :mod:`~analyzer.api.plotting`: shared helpers);
- :mod:`analyzer.api.handle`: :class:`Analysis`, :func:`open_db`, :func:`load`.

Example:
    >>> import analyzer
    >>> a = analyzer.open_db()  # doctest: +SKIP
"""

from __future__ import annotations

from analyzer.api.filters import Filters
from analyzer.api.handle import Analysis, load, open_db
from analyzer.api.rules_info import rule_doc, rule_label

__all__ = ["Analysis", "Filters", "load", "open_db", "rule_doc", "rule_label"]
