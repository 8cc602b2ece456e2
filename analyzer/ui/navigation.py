"""The dashboard's pages and navigation; ``app.py`` only calls :func:`run`.

Pages link to each other through :func:`page` (``st.page_link(page("timeline"),
query_params={"request": ...})``); the Findings and Request timeline pages read the
``finding`` and ``request`` query parameters, so every link is also a shareable URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from analyzer.api.filters import Filters
from analyzer.errors import AnalyzerError
from analyzer.ui import access, widgets


@dataclass(frozen=True)
class PageSpec:
    key: str
    title: str
    icon: str
    module: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "Overview", ":material/dashboard:", "overview"),
    PageSpec("findings", "Findings", ":material/report:", "findings"),
    PageSpec("timeline", "Request timeline", ":material/timeline:", "timeline"),
    PageSpec("runners", "Runners", ":material/dns:", "runners"),
    PageSpec("cancellations", "Cancellations", ":material/cancel:", "cancellations"),
    PageSpec("retries", "Retries", ":material/replay:", "retries"),
    PageSpec("import", "Import", ":material/upload_file:", "import_page"),
)

_built: dict[str, Any] = {}


def _renderer(spec: PageSpec) -> Callable[[], None]:
    def render() -> None:
        import importlib

        module = importlib.import_module(f"analyzer.ui.{spec.module}")
        try:
            module.render()
        except AnalyzerError as exc:
            st.error(widgets.md(exc), icon=":material/error:")

    render.__name__ = f"page_{spec.key}"
    return render


def page(key: str) -> Any:
    """The ``st.Page`` of a page key (for ``st.page_link`` / ``st.switch_page``)."""
    if not _built:
        _build("overview")
    return _built[key]


def shown_pages() -> tuple[PageSpec, ...]:
    """The pages this dashboard serves: in read-only mode, no Import page at all."""
    return tuple(p for p in PAGES if not (p.key == "import" and access.read_only()))


def _build(default: str) -> list[Any]:
    pages = []
    for spec in shown_pages():
        p = st.Page(
            _renderer(spec),
            title=spec.title,
            icon=spec.icon,
            url_path=spec.key,
            default=spec.key == default,
        )
        _built[spec.key] = p
        pages.append(p)
    return pages


def run(default: str = "overview") -> None:
    """Configure the page, build the navigation and run the selected page."""
    st.set_page_config(
        page_title="analyzer: incident dashboard",
        page_icon=":material/troubleshoot:",
        layout="wide",
    )
    nav = st.navigation(_build(default))
    try:
        st.session_state[widgets.FILTERS] = widgets.sidebar_filters()
    except AnalyzerError as exc:
        st.session_state[widgets.FILTERS] = Filters()
        st.sidebar.error(widgets.md(exc), icon=":material/error:")
    nav.run()
