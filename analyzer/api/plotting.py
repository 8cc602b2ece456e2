"""Shared pieces of the figures: UTC times for Plotly, titled layouts, explained empty figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go


def utc_naive(values: Any) -> pd.Series:
    """Times as naive UTC datetimes (what Plotly draws without shifting them)."""
    return pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert("UTC").dt.tz_localize(None)


def layout(fig: go.Figure, title: str, x_title: str, y_title: str, **kw: Any) -> go.Figure:
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
    return layout(fig, title, "", "")
