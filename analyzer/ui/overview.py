"""Overview: the incident at a glance (KPIs, requests and terminations over time, top findings)."""

from __future__ import annotations

import streamlit as st

from analyzer.api import aggregates, figures, queries
from analyzer.api.filters import Filters
from analyzer.ui import data, widgets
from analyzer.ui.navigation import page

TOP_N = 15


def _kpis(s: dict[str, object]) -> None:
    """The headline numbers, each under its glossary name (docs/tables.md): the same values
    as ``analyzer check --format json``'s summary."""
    sev = s["findings_by_severity"]
    assert isinstance(sev, dict)
    c = st.columns(6)
    c[0].metric("Requests", f"{s['requests']:,}", help="Requests seen in the window.")
    c[1].metric(
        "Success rate",
        widgets.percent(s["success_rate"]),
        help="Successful requests over requests that completed in the window.",
    )
    c[2].metric("Runners", f"{s['runners']:,}", help="Runners seen in the window.")
    c[3].metric(
        "Runners terminated",
        f"{s['runners_terminated']:,}",
        help="Runners the platform terminated, for any reason (503, timeouts, failed health "
        "checks, scale-down…).",
    )
    c[4].metric(
        "GPU time wasted",
        widgets.gpu_seconds(s["gpu_seconds_wasted"]),
        help="Over every request: work after a cancel or disconnect, attempts that could not "
        "succeed, child work left running and cold starts caused by needless terminations.",
    )
    c[5].metric(
        "Money wasted",
        widgets.usd(s["usd_wasted"]),
        help="GPU time wasted, each attempt at its runner's price per GPU-hour (policy).",
    )
    c = st.columns(6)
    c[0].metric("Findings: errors", f"{sev.get('error', 0):,}")
    c[1].metric("Findings: warnings", f"{sev.get('warning', 0):,}")
    c[2].metric("Findings: info", f"{sev.get('info', 0):,}")
    c[3].metric(
        "Runners killed (findings)",
        f"{s['runners_killed']:,}",
        help="Runner kills the findings blame, each runner once across overlapping rules.",
    )
    c[4].metric(
        "GPU time (findings)",
        widgets.gpu_seconds(s["gpu_seconds"]),
        help="The part of the GPU time wasted that the findings blame: the waste of the "
        "attempts they are about, each attempt once across overlapping rules.",
    )
    c[5].metric(
        "Cost (findings)",
        widgets.usd(s["cost_usd"]),
        help="The money wasted on the attempts the findings blame, each attempt once.",
    )
    c = st.columns(6)
    c[0].metric("Attempts", f"{s['attempts']:,}", help="Dispatches to runners, retries included.")
    c[1].metric(
        "Cold-start time",
        widgets.seconds(s["cold_start_seconds"]),
        help="Setup time of the runners seen in the window.",
    )
    c[2].metric(
        "Runners failing setup",
        f"{s['runners_setup_failed']:,}",
        help="Runners whose setup() failed or hit the startup timeout.",
    )
    c[3].metric(
        "Runners killed needlessly",
        f"{s['runners_killed_needlessly']:,}",
        help="Runners terminated by an answer the policy does not count as a reason to "
        "terminate (not a GPU fault, a timeout or a broken connection).",
    )
    c[4].metric(
        "Rejected log lines",
        f"{s['rejected_lines']:,}",
        help="Input lines that could not be read; see the Import page.",
    )
    reasons = s["terminations_by_reason"]
    assert isinstance(reasons, dict)
    if reasons:
        why = ", ".join(f"{reason} × {n:,}" for reason, n in reasons.items())
        st.caption("Runners terminated, by reason:")
        st.text(widgets.visible(why))


def _top_findings(f: Filters) -> None:
    st.subheader("Top findings by cost")
    top = data.run(queries.findings, f, order="cost", limit=TOP_N, evidence=False)
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
