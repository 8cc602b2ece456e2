"""Plotly figures built from the API's DataFrames (pure functions: DataFrame in, figure out).

Every figure has a title, labelled axes with units, and times in UTC. The dashboard and
the notebook draw the same figures.

Example:
    >>> from analyzer.api import figures, queries
    >>> fig = figures.timeline_figure(queries.timeline(con, "req-1"))  # doctest: +SKIP
    >>> fig.show()  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analyzer.api.aggregates import PROPAGATION_BINS
from analyzer.api.gantt import KEY_EVENTS, LANE_COLORS, timeline_figure
from analyzer.api.plotting import empty_figure, layout, utc_naive

__all__ = [
    "KEY_EVENTS",
    "LANE_COLORS",
    "attempts_figure",
    "empty_figure",
    "findings_by_rule_figure",
    "findings_over_time_figure",
    "leaks_figure",
    "propagation_figure",
    "propagation_histogram_figure",
    "requests_over_time_figure",
    "runners_figure",
    "stacked_over_time",
    "terminations_over_time_figure",
    "timeline_figure",
    "utc_naive",
]

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
    return layout(fig, title, "time (UTC)", f"{noun} per {per}", legend=legend)


def requests_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Requests received over time, stacked by outcome."""
    return stacked_over_time(
        df, "Requests over time, by outcome", "requests", OUTCOME_COLORS, "outcome"
    )


def terminations_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Runner terminations over time, stacked by reason."""
    return stacked_over_time(
        df, "Runner terminations over time, by reason", "runners terminated", legend="reason"
    )


def findings_over_time_figure(df: pd.DataFrame) -> go.Figure:
    """Findings over time, stacked by severity (or rule)."""
    return stacked_over_time(df, "Findings over time", "findings", SEVERITY_COLORS, "group")


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
    return layout(
        fig, title, "time (UTC)", "app · runner", height=200 + 18 * len(df), legend="phase"
    )


def propagation_figure(cancellations: pd.DataFrame, threshold_s: float = 5.0) -> go.Figure:
    """Distribution of cancel propagation (cancel requested → handler stop), seconds, from the
    cancellations' rows (binned here as :func:`aggregates.propagation_histogram` bins them)."""
    values = cancellations.get("propagation_s", pd.Series(dtype=float)).dropna().astype(float)
    bins = pd.DataFrame(columns=["lo", "hi", "n"])
    if not values.empty:
        lo, width = values.min(), max(values.max() - values.min(), 1e-9) / PROPAGATION_BINS
        k = ((values - lo) // width).clip(upper=PROPAGATION_BINS - 1).astype(int)
        n = k.value_counts().sort_index()
        bins = pd.DataFrame({"lo": lo + n.index * width, "hi": lo + (n.index + 1) * width})
        bins["n"] = n.to_numpy()
    return propagation_histogram_figure(bins, threshold_s)


def propagation_histogram_figure(bins: pd.DataFrame, threshold_s: float = 5.0) -> go.Figure:
    """The propagation histogram from its bins (``lo``, ``hi``, ``n``)."""
    title = "Cancel propagation: time from cancel request to handler stop"
    if bins.empty:
        return empty_figure(title, "No cancellation reached a handler stop in this window")
    fig = go.Figure()
    fig.add_bar(
        x=(bins["lo"] + bins["hi"]) / 2,
        y=bins["n"],
        width=bins["hi"] - bins["lo"],
        name="cancellations",
        marker_color="#9467bd",
    )
    fig.add_vline(
        x=threshold_s,
        line_dash="dash",
        line_color="#d62728",
        annotation_text=f"slow (> {threshold_s:g} s)",
    )
    return layout(fig, title, "propagation latency (s)", "cancellations")


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
    return layout(fig, title, "seconds", "app endpoint", legend="")


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
    return layout(
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
    return layout(fig, title, "findings", "rule", height=160 + 26 * len(df), legend="severity")
