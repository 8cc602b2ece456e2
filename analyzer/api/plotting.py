"""Shared pieces of the figures: UTC times for Plotly, titled layouts, explained empty figures.

:func:`layout` finishes every figure with :func:`escape_figure`: Plotly renders tags in text
(``<a href>``, ``<span style>``), and ids, reasons and messages come from the logs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analyzer.textsafe import plotly_text

# trace properties that may hold log text (hovertemplate/texttemplate are ours: left alone)
_TRACE_TEXT = ("name", "text", "hovertext", "customdata", "x", "y", "labels", "legendgrouptitle")
_AXIS_TEXT = ("categoryarray", "ticktext")


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
    return escape_figure(fig)


def _escaped(value: Any) -> Any:
    """Every string in ``value`` (a string, a sequence, an array) escaped; the rest as is."""
    if isinstance(value, str):
        return plotly_text(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "OUS":
            return value  # numbers, datetimes
        return np.array([_escaped(v) for v in value.tolist()], dtype=object)
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    return value


def escape_figure(fig: go.Figure) -> go.Figure:
    """Escape the text of a figure (labels, hover data, legend, titles, annotations) in place.

    Escaped once, when the figure is finished: category values and the axis order that names
    them are escaped alike, so they still match.
    """
    for trace in fig.data:
        for prop in _TRACE_TEXT:
            if prop in trace and trace[prop] is not None:
                if prop == "legendgrouptitle":
                    trace[prop].text = _escaped(trace[prop].text)
                else:
                    trace[prop] = _escaped(trace[prop])
    lay = fig.layout
    if lay.title.text is not None:
        lay.title.text = plotly_text(lay.title.text)
    if lay.legend.title.text is not None:
        lay.legend.title.text = plotly_text(lay.legend.title.text)
    for axis in (*fig.select_xaxes(), *fig.select_yaxes()):
        if axis.title.text is not None:
            axis.title.text = plotly_text(axis.title.text)
        for prop in _AXIS_TEXT:
            if axis[prop] is not None:
                axis[prop] = _escaped(axis[prop])
    for note in lay.annotations:
        if note.text is not None:
            note.text = plotly_text(note.text)
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A titled figure that says why it is empty."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return layout(fig, title, "", "")
