"""Shared pieces of the pages: the sidebar filters, KPI formatting, rule labels, links.

Log content (messages, ids, exception text) is always shown as text (:func:`table`, ``st.text``,
``st.code`` through :func:`visible`) or escaped before it enters Markdown (:func:`md`), never as
HTML; control characters and bidi overrides in it are shown as visible marks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from analyzer.api import aggregates, queries
from analyzer.api.filters import Filters
from analyzer.api.rules_info import rule_label
from analyzer.textsafe import has_unsafe, visible
from analyzer.ui import data

FILTER_APPS = "flt_apps"
FILTER_WINDOW = "flt_window"
FILTERS = "analyzer_filters"

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~$:])")


def md(text: object) -> str:
    """Escape text (log content, ids) for safe use inside Markdown labels."""
    return _MD_SPECIAL.sub(r"\\\1", visible(text))


def shown(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with control and bidi characters in its text cells made visible (for display)."""
    out = df
    for col in df.columns:
        values = df[col]
        if values.dtype.kind not in "OSU" and not isinstance(values.dtype, pd.StringDtype):
            continue
        texts = values.map(lambda v: isinstance(v, str) and has_unsafe(v))
        if texts.any():
            out = out.copy() if out is df else out
            out[col] = values.where(~texts, values[texts].map(visible))
    return out


def table(df: pd.DataFrame, **kwargs: Any) -> Any:
    """``st.dataframe`` of log-derived rows: their text shown, never obeyed (see :func:`shown`)."""
    return st.dataframe(shown(df), **kwargs)


def _window() -> tuple[datetime, datetime] | None:
    full = data.run(aggregates.summary, Filters())
    lo, hi = full["window_start"], full["window_end"]
    if lo is None or pd.isna(lo) or hi is None or pd.isna(hi):
        return None
    lo_dt = pd.Timestamp(lo).tz_convert("UTC").tz_localize(None).floor("min").to_pydatetime()
    hi_dt = pd.Timestamp(hi).tz_convert("UTC").tz_localize(None).ceil("min").to_pydatetime()
    if hi_dt <= lo_dt:
        hi_dt = lo_dt + timedelta(minutes=1)
    return lo_dt, hi_dt


def sidebar_filters() -> Filters:
    """The app filter and time window in the sidebar (shared by every page)."""
    sb = st.sidebar
    path = data.current_db()
    if data.is_sample(path):
        sb.caption("Database: the bundled sample incident (sample_logs/native)")
    else:
        sb.caption("Database:")
        sb.text(path)
    apps = data.run(queries.distinct_values, "requests", "app")
    chosen = sb.multiselect(
        "Apps",
        apps,
        key=f"{FILTER_APPS}:{path}",  # per database: another one has other apps
        format_func=visible,
        placeholder="All apps",
        help="Show only these apps (empty = all).",
    )
    window = _window()
    since = until = None
    if window is not None:
        lo, hi = window
        picked = sb.slider(
            "Time window (UTC)",
            min_value=lo,
            max_value=hi,
            value=(lo, hi),
            step=timedelta(minutes=1),
            format="MM-DD HH:mm",
            key=f"{FILTER_WINDOW}:{path}",
        )
        if picked != (lo, hi):
            since, until = picked[0], picked[1] + timedelta(minutes=1)
    return Filters.of(app=chosen or None, since=since, until=until)


def filters() -> Filters:
    """The sidebar's filters as computed for this run (all data when unset)."""
    value = st.session_state.get(FILTERS)
    return value if isinstance(value, Filters) else Filters()


def empty(message: str) -> None:
    """An empty state that says what to do."""
    st.info(message, icon=":material/info:")


NO_DATA_HINT = (
    "widen the time window or clear the app filter in the sidebar, or import other logs "
    "on the **Import** page."
)


def seconds(value: Any) -> str:
    """A duration for a KPI (``12.3 s``, ``4.1 min``, ``2.0 h``)."""
    if value is None or pd.isna(value):
        return "–"
    v = float(value)
    if abs(v) >= 7200:
        return f"{v / 3600:,.1f} h"
    if abs(v) >= 120:
        return f"{v / 60:,.1f} min"
    return f"{v:,.1f} s"


def gpu_seconds(value: Any) -> str:
    """GPU time in GPU-seconds (``3,618 GPU-s``), the unit of ``analyzer check``'s report."""
    return "–" if value is None or pd.isna(value) else f"{float(value):,.0f} GPU-s"


def when(value: object) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` UTC (``–`` when missing)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
        return "–"
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S")


def as_int(value: Any) -> int:
    """An integer cell (0 when missing)."""
    return 0 if value is None or pd.isna(value) else int(value)


def usd(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"${float(value):,.2f}"


def percent(value: Any) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * float(value):.1f} %"


def with_rule_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Findings with a ``rule`` column (``CODE · name``) first, replacing code and name."""
    if df.empty:
        return df
    names = df["name"] if "name" in df else pd.Series([None] * len(df), index=df.index)
    labels = [
        rule_label(str(c), None if pd.isna(n) else str(n))
        for c, n in zip(df["code"], names, strict=True)
    ]
    out = df.drop(columns=[c for c in ("code", "name") if c in df]).copy()
    out.insert(0, "rule", labels)
    return out


FINDING_COLUMNS = [
    "finding_id",
    "rule",
    "severity",
    "app",
    "endpoint",
    "request_id",
    "ts",
    "message",
    "runners_killed",
    "gpu_seconds",
    "cost_usd",
]


def finding_column_config() -> dict[str, Any]:
    """Readable headers and units for a findings table."""
    cc = st.column_config
    return {
        "finding_id": cc.NumberColumn("id", width="small"),
        "rule": cc.TextColumn("rule", width="large"),
        "ts": cc.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "runners_killed": cc.NumberColumn("runners killed"),
        "gpu_seconds": cc.NumberColumn("GPU-s", format="%.1f"),
        "cost_usd": cc.NumberColumn("cost ($)", format="$%.4f"),
        "message": cc.TextColumn("message", width="large"),
        "request_id": cc.TextColumn("request"),
    }


def timeline_link_column(df: pd.DataFrame, column: str = "request_id") -> pd.DataFrame:
    """Add a ``timeline`` column of relative links to the request's timeline page."""
    if df.empty or column not in df:
        return df
    out = df.copy()
    out.insert(
        1,
        "timeline",
        [
            f"timeline?request={quote(r, safe='')}" if isinstance(r, str) else None
            for r in out[column]
        ],
    )
    return out


def timeline_link_config() -> Any:
    return st.column_config.LinkColumn(
        "timeline", display_text="open ↗", help="Open this request's timeline (new tab)"
    )


def time_columns_utc(df: pd.DataFrame) -> dict[str, Any]:
    """Column config showing every timestamp column as UTC date-times."""
    return {
        c: st.column_config.DatetimeColumn(f"{c} (UTC)", format="YYYY-MM-DD HH:mm:ss.SSS")
        for c in df.columns
        if isinstance(df[c].dtype, pd.DatetimeTZDtype)
    }
