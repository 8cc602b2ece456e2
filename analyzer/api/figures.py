"""Plotly figures built from the API's DataFrames (pure functions: DataFrame in, figure out).

Every figure has a title, labelled axes with units, and times in UTC. The dashboard and
the notebook draw the same figures.

Example:
    >>> from analyzer.api import figures, queries
    >>> fig = figures.timeline_figure(queries.timeline(con, "req-1"))  # doctest: +SKIP
    >>> fig.show()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

SEVERITY_COLORS = {"error": "#d62728", "warning": "#ff7f0e", "info": "#1f77b4"}
OUTCOME_COLORS = {
    "success": "#2ca02c",
    "client_error": "#bcbd22",
    "failed": "#d62728",
    "cancelled": "#9467bd",
    "disconnected": "#8c564b",
    "deadline_exceeded": "#ff7f0e",
    "in_flight": "#7f7f7f",
}
END_KIND_COLORS = {
    "terminated": "#d62728",
    "stopped": "#2ca02c",
    "setup_failed": "#ff7f0e",
    "unknown": "#1f77b4",
}
END_KIND_LABELS = {
    "terminated": "killed by the platform",
    "stopped": "stopped gracefully",
    "setup_failed": "setup failed",
    "unknown": "still alive at the end of the logs",
}
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


def utc_naive(values: Any) -> pd.Series:
    """Times as naive UTC datetimes (what Plotly draws without shifting them)."""
    return pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert("UTC").dt.tz_localize(None)


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, **kw: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend_title_text=kw.pop("legend", None),
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        **kw,
    )
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A titled figure that says why it is empty."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title, "", "")


def _bucket_label(df: pd.DataFrame) -> str:
    width = int(df.attrs.get("bucket_seconds", 60))
    if width % 3600 == 0:
        return f"{width // 3600} h" if width != 3600 else "hour"
    if width % 60 == 0:
        return f"{width // 60} min"
    return f"{width} s"


def stacked_over_time(
    df: pd.DataFrame,
    title: str,
    noun: str,
    colors: dict[str, str] | None = None,
    legend: str = "",
) -> go.Figure:
    """Stacked bars of ``n`` per ``bucket`` and ``group`` (the ``*_over_time`` DataFrames)."""
    if df.empty:
        return empty_figure(title, f"No {noun} in this window")
    per = _bucket_label(df)
    fig = go.Figure()
    x = utc_naive(df["bucket"])
    for group in sorted(df["group"].unique()):
        mask = (df["group"] == group).to_numpy()
        fig.add_bar(
            x=x[mask],
            y=df.loc[mask, "n"],
            name=str(group),
            marker_color=(colors or {}).get(str(group)),
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, title, "time (UTC)", f"{noun} per {per}", legend=legend)


def requests_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Requests received over time, stacked by outcome."""
    return stacked_over_time(
        df, "Requests over time, by outcome", "requests", OUTCOME_COLORS, "outcome"
    )


def terminations_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Runner terminations over time, stacked by reason."""
    return stacked_over_time(
        df, "Runner terminations over time, by reason", "runners killed", legend="reason"
    )


def findings_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Findings over time, stacked by severity (or rule)."""
    return stacked_over_time(df, "Findings over time", "findings", SEVERITY_COLORS, "group")


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
    return _layout(fig, title, "time (UTC)", "lane", height=height, legend="")


def runners_figure(runners: pd.DataFrame, max_runners: int = 300) -> go.Figure:
    """Runner lifecycles: setup (grey) then serving, coloured by how the runner ended."""
    title = "Runner lifecycles (setup, then serving until killed / stopped)"
    if runners.empty:
        return empty_figure(title, "No runners in this window")
    df = runners.head(max_runners).copy()
    if len(runners) > max_runners:
        title += f" — first {max_runners} of {len(runners)}"
    start = utc_naive(df["started_at"].fillna(df["first_seen_at"]))
    ready = utc_naive(df["ready_at"])
    end = utc_naive(df["ended_at"].fillna(df["last_seen_at"]))
    label = (df["app"].fillna("?") + " · " + df["runner_id"].astype(str)).tolist()
    fig = go.Figure()
    setup_end = ready.fillna(end)
    ms = ((setup_end - start).dt.total_seconds() * 1000).fillna(0).clip(lower=0)
    fig.add_bar(
        y=label,
        x=ms,
        base=start,
        orientation="h",
        name="setup",
        marker_color="#c7c7c7",
        hovertemplate="%{y}<br>setup %{customdata:.1f} s<extra></extra>",
        customdata=ms / 1000,
    )
    serve_start = ready
    serving = ((end - serve_start).dt.total_seconds() * 1000).fillna(0).clip(lower=0)
    kinds = df["end_kind"].fillna("unknown").astype(str)
    reasons = df["end_reason"].fillna("").astype(str)
    killer = df["killed_by_request_id"].fillna("").astype(str)
    for kind in sorted(kinds.unique()):
        m = (kinds == kind).to_numpy() & serve_start.notna().to_numpy()
        if not m.any():
            continue
        fig.add_bar(
            y=[label[i] for i in range(len(label)) if m[i]],
            x=serving[m],
            base=serve_start[m],
            orientation="h",
            name=f"serving, then {END_KIND_LABELS.get(kind, kind)}",
            marker_color=END_KIND_COLORS.get(kind, "#1f77b4"),
            customdata=pd.DataFrame({"r": reasons[m], "k": killer[m]}).to_numpy(),
            hovertemplate="%{y}<br>"
            + END_KIND_LABELS.get(kind, kind)
            + " %{customdata[0]}<br>because of request: %{customdata[1]}<extra></extra>",
        )
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(categoryorder="array", categoryarray=label[::-1])
    fig.update_xaxes(type="date")
    return _layout(
        fig, title, "time (UTC)", "app · runner", height=200 + 18 * len(df), legend="phase"
    )


def propagation_figure(cancellations: pd.DataFrame, threshold_s: float = 5.0) -> go.Figure:
    """Distribution of cancel propagation (cancel requested → handler stopped), seconds."""
    title = "Cancel propagation: time from cancel request to handler stop"
    values = cancellations.get("propagation_s", pd.Series(dtype=float)).dropna()
    if values.empty:
        return empty_figure(title, "No cancellation reached a handler stop in this window")
    fig = go.Figure()
    fig.add_histogram(x=values, nbinsx=40, name="cancellations", marker_color="#9467bd")
    fig.add_vline(
        x=threshold_s,
        line_dash="dash",
        line_color="#d62728",
        annotation_text=f"slow (> {threshold_s:g} s)",
    )
    return _layout(fig, title, "propagation latency (s)", "cancellations")


def leaks_figure(leaks: pd.DataFrame) -> go.Figure:
    """Leaked child-seconds and wasted GPU-seconds by app and endpoint (horizontal bars)."""
    title = "Work left running after cancellation, by app and endpoint"
    if leaks.empty:
        return empty_figure(title, "No cancellations in this window")
    label = leaks["app"].fillna("?") + " " + leaks["endpoint"].fillna("?")
    fig = go.Figure()
    fig.add_bar(
        y=label,
        x=leaks["wasted_gpu_seconds"],
        orientation="h",
        name="GPU-seconds after the cancel",
        marker_color="#d62728",
    )
    fig.add_bar(
        y=label,
        x=leaks["leaked_child_seconds"],
        orientation="h",
        name="child-seconds after the handler stopped",
        marker_color="#17becf",
    )
    fig.update_layout(
        barmode="group", legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0}
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, "seconds", "app endpoint", legend="")


def attempts_figure(df: pd.DataFrame) -> go.Figure:
    """Requests by number of attempts (log scale), one bar per outcome (bars on a log scale
    are not stacked: stacking would distort them)."""
    title = "Attempts per request"
    if df.empty:
        return empty_figure(title, "No requests in this window")
    fig = go.Figure()
    for outcome in sorted(df["outcome"].fillna("unknown").unique()):
        part = df[df["outcome"].fillna("unknown") == outcome]
        fig.add_bar(
            x=part["attempts"],
            y=part["requests"],
            name=outcome,
            marker_color=OUTCOME_COLORS.get(outcome),
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(type="log")
    fig.update_xaxes(dtick=1)
    return _layout(
        fig, title, "attempts (dispatches) per request", "requests (log scale)", legend="outcome"
    )


def findings_by_rule_figure(df: pd.DataFrame) -> go.Figure:
    """Findings per rule (``rule``, ``severity``, ``findings`` columns), horizontal bars."""
    title = "Findings by rule"
    if df.empty:
        return empty_figure(title, "No findings in this window")
    df = df.sort_values("findings", ascending=True)
    fig = go.Figure()
    for severity in ("info", "warning", "error"):
        part = df[df["severity"] == severity]
        if part.empty:
            continue
        fig.add_bar(
            y=part["rule"],
            x=part["findings"],
            orientation="h",
            name=severity,
            marker_color=SEVERITY_COLORS[severity],
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(categoryorder="array", categoryarray=list(df["rule"]))
    return _layout(fig, title, "findings", "rule", height=160 + 26 * len(df), legend="severity")
