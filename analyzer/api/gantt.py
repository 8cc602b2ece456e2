"""A request's timeline as a Plotly Gantt: lanes for the gateway, each attempt's runner, each child.

Example:
    >>> from analyzer.api import gantt, queries
    >>> gantt.timeline_figure(queries.timeline(con, "req-1"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from analyzer.api.plotting import empty_figure, layout, utc_naive

LANE_COLORS = {"gateway": "#7f7f7f", "runner": "#1f77b4", "child": "#17becf"}

# Events drawn with a distinct marker on a request's timeline: (label, symbol, colour).
KEY_EVENTS: dict[str, tuple[str, str, str]] = {
    "request.cancel_requested": ("cancel requested", "x", "#9467bd"),
    "request.client_disconnected": ("client disconnected", "x", "#8c564b"),
    "request.cancel_forwarded": ("cancel forwarded", "triangle-right", "#9467bd"),
    "cancel.received": ("cancel received", "diamond", "#9467bd"),
    "runner.terminated": ("runner terminated", "x-thin-open", "#000000"),
    "handler.error": ("handler error", "circle", "#d62728"),
    "attempt.failed": ("attempt failed", "square", "#d62728"),
}


def _lane_order(tl: pd.DataFrame) -> list[str]:
    first = tl.groupby("lane", sort=False).agg(
        kind=("lane_kind", "first"), attempt=("attempt", "min"), seq=("seq", "min")
    )
    rank = first["kind"].map({"gateway": 0, "runner": 1, "child": 2}).fillna(3)
    first = first.assign(rank=rank, attempt=first["attempt"].fillna(0))
    return list(first.sort_values(["rank", "attempt", "seq"]).index)


def _present(row: dict[Any, Any], *columns: str) -> list[pd.Timestamp]:
    """The non-missing timestamps among ``columns`` of a row."""
    values = (row.get(c) for c in columns)
    return [pd.Timestamp(v) for v in values if v is not None and not pd.isna(v)]


def _attempt_lanes(tl: pd.DataFrame, attempts: pd.DataFrame) -> pd.DataFrame:
    """Per attempt: its lane, the span it held the runner, and when the runner was killed."""
    named = (
        tl[tl["lane_kind"] == "runner"].dropna(subset=["attempt"])
        .groupby("attempt")["lane"].first()
    )  # fmt: skip
    rows = []
    for a in attempts.to_dict("records"):
        n = a.get("attempt")
        if n is None or pd.isna(n):
            continue
        lane = named.get(n) or f"attempt {int(n)} · {a.get('runner_id')}"
        ends = _present(a, "handler_ended_at", "answered_at", "terminated_at")
        starts = _present(a, "dispatched_at", "handler_started_at")
        if not starts:
            continue
        killed = a.get("terminated_at") if a.get("runner_terminated") else None
        rows.append({
            "lane": lane, "attempt": int(n), "start": min(starts), "end": max(ends or starts),
            "killed": killed, "inferred": bool(a.get("termination_inferred")),
        })  # fmt: skip
    return pd.DataFrame(rows)


def timeline_figure(
    tl: pd.DataFrame, request: dict[str, Any] | None = None, attempts: pd.DataFrame | None = None
) -> go.Figure:
    """A request's Gantt: one lane for the gateway, each attempt's runner and each child.

    Bars span each lane's first to last event (an attempt's lane: from its dispatch to its
    answer, handler end or the runner's termination, when ``attempts`` is given); markers
    show every event (hover for details) with distinct symbols for cancel requested /
    forwarded / received, terminations and errors; a dashed line marks the caller's deadline.
    """
    rid = (request or {}).get("request_id") or (
        tl["request_id"].iloc[0] if not tl.empty and "request_id" in tl else "?"
    )
    title = f"Timeline of request {rid}"
    if tl.empty:
        return empty_figure(title, "No events for this request")
    tl = tl.assign(t=utc_naive(tl["ts"]).to_numpy())
    spans = tl.groupby("lane").agg(
        start=("t", "min"), end=("t", "max"), kind=("lane_kind", "first")
    )
    if attempts is not None and not attempts.empty:
        lanes = _attempt_lanes(tl, attempts)
        extra = []
        for row in lanes.to_dict("records"):
            start, end = utc_naive([row["start"]]).iloc[0], utc_naive([row["end"]]).iloc[0]
            if row["lane"] in spans.index:
                spans.loc[row["lane"], "start"] = min(spans.loc[row["lane"], "start"], start)
                spans.loc[row["lane"], "end"] = max(spans.loc[row["lane"], "end"], end)
            else:
                spans.loc[row["lane"]] = [start, end, "runner"]
            killed = row["killed"]
            if killed is not None and not pd.isna(killed):
                how = "inferred: the runner went silent" if row["inferred"] else "logged"
                extra.append({
                    "lane": row["lane"], "lane_kind": "runner", "attempt": row["attempt"],
                    "seq": 10**9, "event": "runner.terminated", "detail": f"runner killed ({how})",
                    "t": utc_naive([killed]).iloc[0],
                })  # fmt: skip
        if extra:
            tl = pd.concat([tl, pd.DataFrame(extra)], ignore_index=True)
        silent = lanes[~lanes["lane"].isin(set(tl["lane"]))] if not lanes.empty else lanes
        if not silent.empty:  # attempts whose runner logged nothing still get their lane
            tl = pd.concat(
                [tl, silent[["lane", "attempt"]].assign(lane_kind="runner", seq=10**9)],
                ignore_index=True,
            )
    order = _lane_order(tl)
    tl = tl.dropna(subset=["t"])
    fig = go.Figure()
    for kind, color in LANE_COLORS.items():
        part = spans[spans["kind"] == kind]
        if part.empty:
            continue
        ms = ((part["end"] - part["start"]).dt.total_seconds() * 1000).clip(lower=20)
        fig.add_bar(
            y=list(part.index),
            x=ms,
            base=part["start"],
            orientation="h",
            name=f"{kind} lane",
            marker_color=color,
            opacity=0.35,
            hoverinfo="skip",
        )
    special = tl["event"].isin(KEY_EVENTS)
    plain = tl[~special]
    fig.add_scatter(
        x=plain["t"],
        y=plain["lane"],
        mode="markers",
        name="event",
        marker={"size": 7, "color": "#333333"},
        customdata=plain[["event", "detail"]].fillna("").to_numpy(),
        hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{x}<extra></extra>",
    )
    for event, (label, symbol, color) in KEY_EVENTS.items():
        part = tl[tl["event"] == event]
        if part.empty:
            continue
        fig.add_scatter(
            x=part["t"],
            y=part["lane"],
            mode="markers",
            name=label,
            marker={"size": 13, "symbol": symbol, "color": color, "line": {"width": 2}},
            customdata=part[["event", "detail"]].fillna("").to_numpy(),
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<br>%{x}<extra></extra>",
        )
    deadline = (request or {}).get("deadline_at")
    if deadline is not None and not pd.isna(deadline):
        x = utc_naive([deadline]).iloc[0]
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            y0=0,
            y1=1,
            yref="paper",
            line={"dash": "dash", "color": "#d62728"},
        )
        fig.add_annotation(
            x=x,
            y=1,
            yref="paper",
            text="caller's deadline",
            showarrow=False,
            yanchor="bottom",
            font={"color": "#d62728"},
        )
    fig.update_yaxes(categoryorder="array", categoryarray=order[::-1])
    fig.update_xaxes(type="date")
    height = 220 + 34 * len(order)
    return layout(fig, title, "time (UTC)", "lane", height=height, legend="")
