"""Runners: lifecycle Gantt, cold-start cost per app, which requests killed which runners."""

from __future__ import annotations

import streamlit as st

from analyzer.api import aggregates, figures, queries
from analyzer.ui import data, widgets

GANTT_MAX = 120


def render() -> None:
    st.title("Runners")
    st.caption(
        "Each runner's life: setup (cold start), serving, and how it ended. A runner "
        "killed because of a request's answer is a cold start someone pays for again."
    )
    f = widgets.filters()
    runners = data.run(queries.runners, f)
    if runners.empty:
        widgets.empty("No runners in this window: " + widgets.NO_DATA_HINT)
        return
    killed = runners[runners["end_kind"] == "terminated"]
    c = st.columns(4)
    c[0].metric("Runners", f"{len(runners):,}")
    c[1].metric("Runners terminated", f"{len(killed):,}", help="For any reason (docs/tables.md).")
    c[2].metric("Setup failed", f"{int((runners['end_kind'] == 'setup_failed').sum()):,}")
    c[3].metric("Cold-start time", widgets.seconds(float(runners["cold_start_s"].fillna(0).sum())))
    only_killed = st.toggle(
        "Only runners that were killed or failed setup",
        value=len(runners) > GANTT_MAX,
        key="runners_only_killed",
    )
    shown = (
        runners[runners["end_kind"].isin(["terminated", "setup_failed"])]
        if only_killed
        else runners
    )
    if len(shown) > GANTT_MAX:
        st.caption(
            f"The chart shows the first {GANTT_MAX} of {len(shown):,} runners; "
            "narrow the time window or the apps in the sidebar to see others."
        )
    st.plotly_chart(figures.runners_figure(shown, max_runners=GANTT_MAX), width="stretch")
    st.subheader("Cold starts by app")
    widgets.table(
        data.run(aggregates.cold_starts_by_app, f),
        hide_index=True,
        column_config={
            "mean_setup_s": st.column_config.NumberColumn("mean setup (s)", format="%.2f"),
            "cold_start_s": st.column_config.NumberColumn("cold-start time (s)", format="%.1f"),
            "setup_failed": st.column_config.NumberColumn("setup failed"),
        },
    )
    st.subheader("Which requests killed which runners")
    kills = data.run(aggregates.kills_by_request, f)
    if kills.empty:
        st.caption("No runner was killed because of a request's answer in this window.")
    else:
        widgets.table(
            widgets.timeline_link_column(kills),
            hide_index=True,
            column_config={
                "timeline": widgets.timeline_link_config(),
                "request_id": st.column_config.TextColumn("request"),
                "runners_killed": st.column_config.NumberColumn("runners terminated"),
                "runners_killed_needlessly": st.column_config.NumberColumn(
                    "runners killed needlessly"
                ),
                "cold_start_s": st.column_config.NumberColumn(
                    "cold-start time paid (s)", format="%.1f"
                ),
            },
        )
    # a toggle, not an expander: an expander's content is sent even when closed
    if st.toggle(f"Show all {len(runners):,} runners as a table", key="runners_table"):
        widgets.table(runners, hide_index=True, column_config=widgets.time_columns_utc(runners))
