"""Retries: attempts per request, retry chains, poison requests."""

from __future__ import annotations

import streamlit as st

from analyzer.api import aggregates, figures
from analyzer.ui import data, widgets

CHAINS_N = 200


def render() -> None:
    st.title("Retries")
    st.caption(
        "The queue retries a request after a 503, a 504 or a lost runner, up to 10 "
        "attempts. A request that fails the same way everywhere (a poison request) "
        "kills a runner on every attempt."
    )
    f = widgets.filters()
    dist = data.run(aggregates.attempts_per_request, f)
    if dist.empty:
        widgets.empty("No requests in this window: " + widgets.NO_DATA_HINT)
        return
    total = int(dist["requests"].sum())
    retried = int(dist.loc[dist["attempts"] > 1, "requests"].sum())
    c = st.columns(4)
    c[0].metric("Requests", f"{total:,}")
    c[1].metric("Retried at least once", f"{retried:,}")
    c[2].metric("Most attempts", f"{int(dist['attempts'].max()):,}")
    poison = data.run(aggregates.poison_requests, f)
    c[3].metric(
        "Poison requests (R001)",
        f"{len(poison):,}",
        help="R001 · retry.poison-request: the same failure on 3+ runners, each killed.",
    )
    st.plotly_chart(figures.attempts_figure(dist), width="stretch")
    st.subheader("Poison requests (R001 · retry.poison-request)")
    if poison.empty:
        st.caption("No poison request in this window.")
    else:
        widgets.table(
            widgets.timeline_link_column(poison),
            hide_index=True,
            column_config={
                "timeline": widgets.timeline_link_config(),
                "gpu_seconds_wasted": st.column_config.NumberColumn(
                    "GPU time wasted (s)", format="%.1f"
                ),
                "runners_killed": st.column_config.NumberColumn("runners terminated"),
                "message": st.column_config.TextColumn("message", width="large"),
            },
        )
    st.subheader("Retry chains (longest first)")
    chains = data.run(aggregates.retry_chains, f, limit=CHAINS_N)
    if chains.empty:
        st.caption("No request was retried in this window.")
        return
    st.caption("Each attempt's answer, in order: an HTTP status or the gateway's error type.")
    widgets.table(
        widgets.timeline_link_column(chains),
        hide_index=True,
        column_config={
            "timeline": widgets.timeline_link_config(),
            "chain": st.column_config.TextColumn("attempts' answers", width="large"),
            "gpu_seconds_wasted": st.column_config.NumberColumn(
                "GPU time wasted (s)", format="%.1f"
            ),
            "runners_killed": st.column_config.NumberColumn("runners terminated"),
        },
    )
