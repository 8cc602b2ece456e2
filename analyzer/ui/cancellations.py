"""Cancellations: propagation latency, work left running by app and endpoint, worst requests."""

from __future__ import annotations

import streamlit as st

from analyzer.api import aggregates, figures
from analyzer.ui import data, widgets

WORST_N = 50


def render() -> None:
    st.title("Cancellations")
    st.caption(
        "When a caller cancels or disconnects, the platform should forward the cancel to "
        "the runner and the handler should stop, with its child work. Anything that "
        "keeps running is GPU time nobody will use."
    )
    f = widgets.filters()
    # aggregates in SQL: the page never holds one row per cancellation (70,000 at 1M requests)
    tot = data.run(aggregates.cancellation_totals, f)
    if not tot["cancellations"]:
        widgets.empty(
            "No cancelled or disconnected requests in this window: " + widgets.NO_DATA_HINT
        )
        return
    c = st.columns(5)
    c[0].metric("Cancelled / disconnected", f"{int(tot['cancellations']):,}")
    c[1].metric(
        "Cancels not forwarded",
        f"{int(tot['not_forwarded']):,}",
        help="Cancels the gateway never passed to the runner.",
    )
    c[2].metric(
        "Median propagation",
        widgets.seconds(tot["median_propagation_s"]),
        help="From the cancel request to the handler's stop.",
    )
    c[3].metric(
        "Leaked child time",
        widgets.seconds(float(tot["leaked_child_seconds"])),
        help="Child work still running after its handler stopped.",
    )
    c[4].metric("GPU time after cancel", widgets.seconds(float(tot["wasted_gpu_seconds"])))
    left, right = st.columns(2)
    left.plotly_chart(
        figures.propagation_histogram_figure(data.run(aggregates.propagation_histogram, f)),
        width="stretch",
    )
    leaks = data.run(aggregates.leaks_by_endpoint, f)
    right.plotly_chart(figures.leaks_figure(leaks), width="stretch")
    st.subheader("By app and endpoint")
    widgets.table(
        leaks,
        hide_index=True,
        column_config={
            "not_forwarded": st.column_config.NumberColumn("not forwarded"),
            "children_leaked": st.column_config.NumberColumn("children leaked"),
            "leaked_child_seconds": st.column_config.NumberColumn(
                "leaked child time (s)", format="%.1f"
            ),
            "wasted_gpu_seconds": st.column_config.NumberColumn(
                "GPU time after cancel (s)", format="%.1f"
            ),
            "median_propagation_s": st.column_config.NumberColumn(
                "median propagation (s)", format="%.2f"
            ),
        },
    )
    st.subheader(f"Worst {WORST_N} requests (most GPU time after the cancel)")
    worst = data.run(aggregates.worst_cancellations, f, limit=WORST_N)
    cols = [
        "request_id",
        "app",
        "endpoint",
        "kind",
        "requested_at",
        "forwarded_at",
        "receive_outcome",
        "handler_outcome",
        "propagation_s",
        "children_leaked",
        "leaked_child_seconds",
        "resources_unreleased",
        "wasted_gpu_seconds",
        "runner_id",
    ]
    table = widgets.timeline_link_column(worst[[c for c in cols if c in worst]])
    widgets.table(
        table,
        hide_index=True,
        column_config={
            **widgets.time_columns_utc(table),
            "timeline": widgets.timeline_link_config(),
            "propagation_s": st.column_config.NumberColumn("propagation (s)", format="%.2f"),
            "leaked_child_seconds": st.column_config.NumberColumn(
                "leaked child time (s)", format="%.1f"
            ),
            "wasted_gpu_seconds": st.column_config.NumberColumn(
                "GPU time after cancel (s)", format="%.1f"
            ),
        },
    )
