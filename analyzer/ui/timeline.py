"""Request timeline: one request's Gantt (gateway, attempts' runners, children) and raw events."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from analyzer.api import figures, queries
from analyzer.api.filters import Filters
from analyzer.ui import data, widgets
from analyzer.ui.navigation import page

PICK_LIMIT = 300


def _pick() -> str | None:
    url = st.query_params.get("request") or ""
    worth = data.run(
        queries.findings,
        widgets.filters().without("code", "severity"),
        order="cost",
        limit=PICK_LIMIT,
        evidence=False,
    )
    options: list[str] = []
    if not worth.empty:
        options = list(dict.fromkeys(worth["request_id"].dropna().astype(str)))
    c = st.columns([2, 3])
    typed = c[0].text_input(
        "Request id", value=url, placeholder="paste a request id", key="timeline_request_id"
    )
    picked = c[1].selectbox(
        "…or pick a request with findings (costliest first)",
        options,
        index=None,
        format_func=widgets.visible,
        placeholder="choose a request",
        key="timeline_pick",
    )
    choice = picked or typed.strip() or None
    if choice and choice != url:
        st.query_params["request"] = choice
    return choice


def _seconds_or_none(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else f"{float(value):g} s"


def _summary(req: dict[str, Any]) -> None:
    c = st.columns(6)
    c[0].metric("Outcome", str(req.get("outcome") or "–"))
    status = req.get("final_status")
    c[1].metric("Final status", "–" if status is None or pd.isna(status) else str(int(status)))
    c[2].metric("Attempts", f"{int(req.get('attempts') or 0)}")
    c[3].metric(
        "Runners terminated",
        f"{widgets.as_int(req.get('runners_killed'))}",
        help="Runners terminated because of this request's answers, for any reason; "
        f"killed needlessly: {widgets.as_int(req.get('runners_killed_needlessly'))}.",
    )
    c[4].metric("Duration", widgets.seconds(req.get("duration_s")))
    c[5].metric("GPU time wasted", widgets.seconds(req.get("gpu_seconds_wasted")))
    facts = [
        ("app", req.get("app")),
        ("endpoint", req.get("endpoint")),
        ("mode", req.get("mode")),
        ("received (UTC)", widgets.when(req.get("received_at"))),
        ("caller's deadline", _seconds_or_none(req.get("deadline_s"))),
    ]
    st.text(
        widgets.visible(
            "   ".join(f"{k}: {v}" for k, v in facts if v is not None and not pd.isna(v))
        )
    )


def _findings(request_id: str) -> None:
    found = data.run(
        queries.findings, Filters(), request_id=request_id, order="severity", evidence=False
    )
    if found.empty:
        st.caption("No finding names this request.")
        return
    st.subheader("Findings on this request")
    for row in widgets.with_rule_labels(found).itertuples(index=False):
        st.page_link(
            page("findings"),
            label=f"{widgets.md(row.rule)} ({row.severity})",
            icon=":material/report:",
            query_params={"finding": str(row.finding_id)},
        )


def render() -> None:
    st.title("Request timeline")
    st.caption(
        "Every event of one request, gateway and runners merged on the gateway's clock: "
        "one lane for the gateway, one per attempt's runner, one per child task."
    )
    request_id = _pick()
    if not request_id:
        widgets.empty(
            "Type a request id above, pick a request with findings, or arrive here "
            "from a finding (Findings page → “Open the timeline”)."
        )
        return
    req = data.run(queries.request, request_id)
    tl = data.run(queries.timeline, request_id)
    if req is None and tl.empty:
        st.warning(
            "No request with this id in the database. Check the id (copy it from the "
            "Findings page) or pick one from the list."
        )
        return
    if req is not None:
        _summary(req)
    att = data.run(queries.attempts, Filters(), request_id=request_id)
    st.plotly_chart(figures.timeline_figure(tl, req, att), width="stretch")
    _findings(request_id)
    st.subheader("Attempts")
    if att.empty:
        st.caption("No attempt was dispatched for this request in the window.")
    else:
        widgets.table(att, hide_index=True, column_config=widgets.time_columns_utc(att))
    st.subheader("Events, in causal order")
    if tl.empty:
        st.caption("The replay produced no timeline rows for this request.")
    else:
        widgets.table(tl, hide_index=True, column_config=widgets.time_columns_utc(tl))
    with st.expander("Raw imported events (clock as logged, file and line)"):
        raw = data.run(queries.raw_events, request_id)
        widgets.table(raw, hide_index=True, column_config=widgets.time_columns_utc(raw))
