"""Findings: a filterable table; the selected finding's rule, fix, evidence and timeline link."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.api import queries
from analyzer.api.filters import Filters
from analyzer.api.rules_info import rule_doc, rule_label
from analyzer.ui import data, widgets
from analyzer.ui.navigation import page

MAX_ROWS = 5000
SEVERITIES = ["error", "warning", "info"]


def _filters(base: Filters) -> Filters:
    codes = data.run(queries.distinct_values, "findings", "code")
    endpoints = data.run(queries.distinct_values, "findings", "endpoint")
    c = st.columns([1, 2, 1])
    severity = c[0].multiselect(
        "Severity", SEVERITIES, placeholder="All severities", key="findings_severity"
    )
    code = c[1].multiselect(
        "Rule", codes, format_func=rule_label, placeholder="All rules", key="findings_code"
    )
    endpoint = c[2].multiselect(
        "Endpoint",
        endpoints,
        format_func=widgets.visible,
        placeholder="All endpoints",
        key="findings_endpoint",
    )
    return Filters(
        app=base.app,
        since=base.since,
        until=base.until,
        code=tuple(code) or None,
        severity=tuple(severity) or None,
        endpoint=tuple(endpoint) or None,
    )


def _selected_from_url() -> int | None:
    raw = st.query_params.get("finding")
    try:
        return int(raw) if raw else None
    except ValueError:
        st.warning("The link names an unknown finding id; pick one in the table.")
        return None


def _details(item: dict[str, Any]) -> None:
    doc = rule_doc(str(item["code"]))
    st.divider()
    st.subheader(
        f"Finding {int(item['finding_id'])}: {widgets.md(rule_label(item['code'], item.get('name')))}"
    )
    c = st.columns(4)
    c[0].metric("Severity", str(item.get("severity") or doc.severity))
    c[1].metric("Runners killed", f"{int(item.get('runners_killed') or 0):,}")
    c[2].metric(
        "GPU time wasted (blamed)",
        widgets.seconds(item.get("gpu_seconds")),
        help="The replay's waste of the attempts this finding blames.",
    )
    c[3].metric("Money wasted (blamed)", widgets.usd(item.get("cost_usd")))
    st.caption("What happened (from the logs):")
    st.code(widgets.visible(item.get("message") or ""), language=None, wrap_lines=True)
    where = [
        ("app", item.get("app")),
        ("endpoint", item.get("endpoint")),
        ("request", item.get("request_id")),
        ("runner", item.get("runner_id")),
        ("when (UTC)", widgets.when(item.get("ts"))),
    ]
    st.text(
        widgets.visible(
            "   ".join(f"{k}: {v}" for k, v in where if v is not None and not pd.isna(v))
        )
    )
    rid = item.get("request_id")
    if isinstance(rid, str) and rid:
        st.page_link(
            page("timeline"),
            label=f"Open the timeline of request {widgets.md(rid)}",
            icon=":material/timeline:",
            query_params={"request": rid},
        )
    with st.expander(f"About {doc.label}: why it matters and how to fix it", expanded=True):
        st.markdown(doc.docs)  # the rule's own documentation (ours, not log content)
    st.caption("Evidence: the log lines this finding rests on (file and line).")
    ev = data.run(queries.evidence, int(item["finding_id"]))
    if ev.empty:
        widgets.empty("This finding lists no evidence lines.")
    else:
        widgets.table(ev, hide_index=True, column_config=widgets.time_columns_utc(ev))


def render() -> None:
    st.title("Findings")
    st.caption("What the rules flagged, each with its evidence. Select a row for details.")
    f = _filters(widgets.filters())
    table = data.run(queries.findings, f, order="severity", limit=MAX_ROWS, evidence=False)
    if table.empty:
        widgets.empty(
            "No findings match these filters: clear the severity, rule or endpoint "
            "filters above, or " + widgets.NO_DATA_HINT
        )
        return
    if len(table) == MAX_ROWS:
        st.caption(
            f"Showing the first {MAX_ROWS:,} findings (errors first, costliest first); "
            "narrow the filters to see the rest."
        )
    shown = widgets.with_rule_labels(table)
    cols = [c for c in widgets.FINDING_COLUMNS if c in shown]
    wanted = _selected_from_url()
    event = widgets.table(
        shown[cols],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="findings_table",
        column_config=widgets.finding_column_config(),
        height=320,
    )
    rows = event.selection.rows if event is not None else []
    if rows:
        wanted = int(table.iloc[rows[0]]["finding_id"])
        st.query_params["finding"] = str(wanted)
    if wanted is None:
        widgets.empty(
            "Select a finding in the table to see its rule, the fix, the evidence "
            "lines and a link to its request's timeline."
        )
        return
    item = data.run(queries.finding, wanted)
    if item is None:
        st.warning(f"There is no finding {wanted} in this database.")
        return
    _details(item)
