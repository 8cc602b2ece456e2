"""Import: upload log files (or name a folder on the server) into a new database; the summary.

An import goes into a **new** database file in a temporary directory (the database the
dashboard is showing is open read-only, and may be shared with other sessions); this
session then switches to it. "Back to the sample" switches back.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from analyzer.api import queries
from analyzer.api.database import build_database
from analyzer.errors import AnalyzerError
from analyzer.ui import data, widgets

REJECTED_SHOWN = 500
IMPORTS_SQL = "SELECT * FROM imports ORDER BY import_id"
REJECTED_SQL = "SELECT file, line_no, reason, raw FROM rejected ORDER BY file, line_no LIMIT ?"


def _summary() -> None:
    path = data.current_db()
    st.subheader("What this database holds")
    st.text(("Bundled sample incident: " if data.is_sample(path) else "Database: ") + path)
    imports = data.run(queries.sql, IMPORTS_SQL)
    if imports.empty:
        widgets.empty("Nothing imported yet: upload log files below.")
        return
    c = st.columns(4)
    c[0].metric("Files imported", f"{len(imports):,}")
    c[1].metric("Events", f"{int(imports['events'].fillna(0).sum()):,}")
    c[2].metric("Rejected lines", f"{int(imports['rejected'].fillna(0).sum()):,}")
    c[3].metric("Unknown event names", f"{int(imports['unknown_events'].fillna(0).sum()):,}")
    st.dataframe(imports, hide_index=True, column_config=widgets.time_columns_utc(imports))
    rejected = data.run(
        queries.sql,
        REJECTED_SQL,
        [REJECTED_SHOWN],
    )
    st.caption(
        f"Rejected lines (first {REJECTED_SHOWN}), with the reason; nothing is dropped silently."
    )
    if rejected.empty:
        st.caption("No line was rejected.")
    else:
        st.dataframe(
            rejected,
            hide_index=True,
            column_config={"raw": st.column_config.TextColumn("line as read", width="large")},
        )


def _import(paths: list[Path]) -> None:
    target = Path(tempfile.mkdtemp(prefix="analyzer-ui-")) / "import.duckdb"
    try:
        with st.spinner("Importing and analysing…"):
            build_database(paths, target)
    except AnalyzerError as exc:
        st.error("Import failed: " + widgets.md(exc), icon=":material/error:")
        return
    st.session_state[data.SESSION_DB] = str(target)
    st.success("Imported. Every page now shows this database (this browser session only).")


def _upload_form() -> None:
    st.subheader("Import other logs")
    st.caption(
        "Native JSON Lines (.jsonl / .ndjson, optionally .gz or .zst) or a supported "
        "export format; the format is detected per file."
    )
    with st.form("import_form", clear_on_submit=True):
        files = st.file_uploader("Log files", accept_multiple_files=True, key="import_files")
        folder = st.text_input(
            "…or a file or folder on the server",
            placeholder="/var/log/incident-42/",
            key="import_folder",
        )
        submitted = st.form_submit_button("Import into a new database", type="primary")
    if not submitted:
        return
    paths: list[Path] = []
    if files:
        upload_dir = Path(tempfile.mkdtemp(prefix="analyzer-upload-"))
        for f in files:
            dest = upload_dir / Path(f.name).name
            dest.write_bytes(f.getvalue())
            paths.append(dest)
    if folder.strip():
        p = Path(folder.strip()).expanduser()
        if not p.exists():
            st.error("No such file or folder on the server: " + widgets.md(p))
            return
        paths.append(p)
    if not paths:
        st.warning("Choose files to upload or type a folder path first.")
        return
    _import(paths)


def render() -> None:
    st.title("Import")
    _upload_form()
    if st.session_state.get(data.SESSION_DB) and st.button(
        "Back to the default database", key="import_back"
    ):
        del st.session_state[data.SESSION_DB]
        st.rerun()
    _summary()
