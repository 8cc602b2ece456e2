"""Importers: one module per source format, plus format detection.

Public entry point (used by the CLI, the dashboard's import page and the notebook API)::

    import_paths(con, paths, *, fmt=None, progress=None) -> ImportSummary
"""
