"""Import: upload log files (or name one inside the server's import folder) into a new database.

An import goes into a **new** database file in this session's temporary folder (the
database the dashboard is showing is open read-only, and may be shared with other
sessions); this session then switches to it. "Back to the default database" switches back
and deletes it. Server paths are offered only when an import folder is configured, and
limited to it (see ``access.py``); the page does not exist in read-only mode.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analyzer.api import queries
from analyzer.api.database import build_database
from analyzer.errors import AnalyzerError
from analyzer.ui import access, data, widgets, workspace

REJECTED_SHOWN = 500
IMPORTS_SQL = "SELECT * FROM imports ORDER BY import_id"
REJECTED_SQL = "SELECT file, line_no, reason, raw FROM rejected ORDER BY file, line_no LIMIT ?"


def _summary() -> None:
    path = data.current_db()
    st.subheader("What this database holds")
    st.text(
        widgets.visible(
            ("Bundled sample incident: " if data.is_sample(path) else "Database: ") + path
        )
    )
    imports = data.run(queries.sql, IMPORTS_SQL)
    if imports.empty:
        widgets.empty("Nothing imported yet: upload log files below.")
        return
    c = st.columns(4)
    c[0].metric("Files imported", f"{len(imports):,}")
    c[1].metric("Events", f"{int(imports['events'].fillna(0).sum()):,}")
    c[2].metric("Rejected lines", f"{int(imports['rejected'].fillna(0).sum()):,}")
    c[3].metric("Unknown event names", f"{int(imports['unknown_events'].fillna(0).sum()):,}")
    widgets.table(imports, hide_index=True, column_config=widgets.time_columns_utc(imports))
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
        widgets.table(
            rejected,
            hide_index=True,
            column_config={"raw": st.column_config.TextColumn("line as read", width="large")},
        )


def _import(files: list[workspace.Upload], server: list[Path]) -> None:
    ws = workspace.current()
    target = ws.next_database()
    try:
        with st.spinner("Importing and analysing…"), ws.uploads(files) as uploaded:
            build_database([*uploaded, *server], target)
    except AnalyzerError as exc:
        st.error("Import failed: " + widgets.md(exc), icon=":material/error:")
        return
    ws.show(target)
    st.session_state[data.SESSION_DB] = str(target)
    st.success("Imported. Every page now shows this database (this browser session only).")


def _server_files(text: str) -> list[Path] | None:
    """The server files typed in the form (``[]``: none typed; ``None``: refused, said why)."""
    root = access.import_root()
    if root is None or not text.strip():
        return []
    try:
        found = access.server_files(text, root)
    except access.PathRefused as exc:
        st.error(widgets.md(exc), icon=":material/block:")
        return None
    if found.skipped:
        st.caption(
            f"{found.skipped:,} entries passed over: links leading outside {widgets.md(root)} "
            "or not regular files."
        )
    return found.files


def _upload_form() -> None:
    st.subheader("Import other logs")
    st.caption(
        "Native JSON Lines (.jsonl / .ndjson, optionally .gz or .zst) or a supported "
        "export format; the format is detected per file. Uploads are deleted once imported; "
        "the new database is deleted when this browser session ends."
    )
    root = access.import_root()
    with st.form("import_form", clear_on_submit=True):
        files = st.file_uploader("Log files", accept_multiple_files=True, key="import_files")
        folder = ""
        if root is not None:
            folder = st.text_input(
                f"…or a file or folder inside {widgets.md(root)} on the server",
                placeholder="incident-42/",
                key="import_folder",
            )
        submitted = st.form_submit_button("Import into a new database", type="primary")
    if not submitted:
        return
    server = _server_files(folder)
    if server is None:
        return
    if not files and not server:
        st.warning("Choose files to upload" + (" or type a path" if root else "") + " first.")
        return
    _import(list(files or []), server)


def render() -> None:
    st.title("Import")
    _upload_form()
    if st.session_state.get(data.SESSION_DB) and st.button(
        "Back to the default database", key="import_back"
    ):
        del st.session_state[data.SESSION_DB]
        workspace.current().show(None)  # its database is deleted
        st.rerun()
    _summary()
