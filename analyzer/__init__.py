"""analyzer: observability and post-mortem analysis for serverless GPU inference platforms.

The notebook API (the same functions the dashboard calls)::

    import analyzer
    a = analyzer.open_db()              # the bundled sample incident (or a path)
    a = analyzer.load(["logs/"])        # import logs into a new database and analyse them
    a.summary(); a.findings(severity="error"); a.timeline_figure("req-1")

The API names are loaded lazily (PEP 562), so ``import analyzer`` stays light for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Analysis", "Filters", "__version__", "load", "open_db", "rule_doc", "rule_label"]

if TYPE_CHECKING:
    from analyzer.api import Analysis, Filters, load, open_db, rule_doc, rule_label


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        import analyzer.api as api

        return getattr(api, name)
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
