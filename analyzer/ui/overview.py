"""Overview: the incident at a glance (KPIs, requests and terminations over time, top findings)."""

from __future__ import annotations

import streamlit as st

from analyzer.api import aggregates, figures, queries
from analyzer.api.filters import Filters
from analyzer.ui import data, widgets
from analyzer.ui.navigation import page

TOP_N = 15


def _kpis(s: dict[str, object]) -> None:
    sev = s["findings_by_severity"]
    assert isinstance(sev, dict)
    c = st.columns(6)
    c[0].metric("Requests", f"{s['requests']:,}", help="Requests received in the window.")
    c[1].metric(
        "Success rate",
        widgets.percent(s["success_rate"]),
        help="Successful requests over requests that completed in the window.",
    )
    c[2].metric(
        "Runners started",
        f"{s['runners']:,}",
        help="Runners seen in the window (started or already running).",
    )
    c[3].metric(
        "Runners killed",
        f"{s['runners_killed']:,}",
        help="Runners the platform terminated (503, timeouts, failed health checks…).",
    )
    c[4].metric(
        "GPU time wasted",
        widgets.seconds(s["gpu_seconds_wasted"]),
        help="Work after a cancel or disconnect, attempts that could not succeed, "
        "child work left running and cold starts caused by needless terminations.",
    )
    c[5].metric(
        "Money wasted",
        widgets.usd(s["usd_wasted"]),
        help=f"GPU time wasted at ${s['gpu_hour_usd']:.2f} per GPU-hour.",
    )
    c = st.columns(6)
    c[0].metric("Findings: errors", f"{sev.get('error', 0):,}")
    c[1].metric("Findings: warnings", f"{sev.get('warning', 0):,}")
    c[2].metric("Findings: info", f"{sev.get('info', 0):,}")
    c[3].metric("Attempts", f"{s['attempts']:,}", help="Dispatches to runners, retries included.")
    c[4].metric(
        "Cold-start time",
        widgets.seconds(s["cold_start_seconds"]),
        help="Setup time of the runners seen in the window.",
    )
    c[5].metric(
        "Rejected log lines",
        f"{s['rejected_lines']:,}",
        help="Input lines that could not be read; see the Import page.",
    )
    kills = s["kills_by_reason"]
    assert isinstance(kills, dict)
    if kills:
        why = ", ".join(f"{reason} × {n:,}" for reason, n in kills.items())
        st.caption("Runners killed, by reason:")
        st.text(why)


def _top_findings(f: Filters) -> None:
    st.subheader("Top findings by cost")
    top = data.run(queries.findings, f, order="cost", limit=TOP_N)
    if top.empty:
        widgets.empty(
            "No findings in this window: the rules found nothing wrong here. To look "
            "elsewhere, " + widgets.NO_DATA_HINT
        )
        return
    st.caption(
        "Click a finding for its explanation, fix and evidence; “timeline” opens the "
        "request it is about."
    )
    for row in widgets.with_rule_labels(top).itertuples(index=False):
        left, right = st.columns([5, 1])
        where = " ".join(str(x) for x in (row.app, row.endpoint) if isinstance(x, str))
        label = (
            f"**{widgets.md(widgets.usd(row.cost_usd))}** · {widgets.md(row.rule)} ({row.severity}) · "
            f"{widgets.md(where)}"
        )
        left.page_link(
            page("findings"),
            label=label,
            icon=":material/report:",
            query_params={"finding": str(widgets.as_int(row.finding_id))},
        )
        if isinstance(row.request_id, str):
            right.page_link(
                page("timeline"),
                label="timeline",
                icon=":material/timeline:",
                query_params={"request": row.request_id},
            )


def render() -> None:
    f = widgets.filters()
    st.title("Incident overview")
    s = data.run(aggregates.summary, f)
    if not s["requests"] and not s["runners"]:
        widgets.empty("No requests or runners in this window: " + widgets.NO_DATA_HINT)
        return
    start, end = s["window_start"], s["window_end"]
    st.caption(
        f"{s['events']:,} events imported; requests from {widgets.when(start)} to "
        f"{widgets.when(end)} (UTC). "
        "Filters (apps, time window) are in the sidebar."
    )
    _kpis(s)
    left, right = st.columns(2)
    left.plotly_chart(
        figures.requests_over_time_figure(data.run(aggregates.requests_over_time, f)),
        width="stretch",
    )
    right.plotly_chart(
        figures.terminations_over_time_figure(data.run(aggregates.terminations_over_time, f)),
        width="stretch",
    )
    _top_findings(f)
    st.plotly_chart(
        figures.findings_by_rule_figure(data.run(aggregates.findings_by_rule, f)), width="stretch"
    )
