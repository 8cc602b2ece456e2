"""Shared fixtures. Area-specific fixtures live in each area's own conftest or test module.

The sample incident's database is built once per test session, into the session's temporary
directory (used as ``ANALYZER_CACHE_DIR``), exactly as ``analyzer.open_db()`` and
``streamlit run app.py`` build it for users from ``sample_logs/native``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api import fakedb

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def analyzer_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache directory for the sample database (the user's cache is left alone)."""
    cache = tmp_path_factory.getbasetemp() / "analyzer-cache"
    cache.mkdir(exist_ok=True)
    old = os.environ.get("ANALYZER_CACHE_DIR")
    os.environ["ANALYZER_CACHE_DIR"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("ANALYZER_CACHE_DIR", None)
    else:
        os.environ["ANALYZER_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def sample_db_path(analyzer_cache: Path) -> Path:
    """The analysed sample database (built on first use, shared by the session)."""
    from analyzer.api.database import sample_db_path as build_sample

    return build_sample()


@pytest.fixture(scope="session")
def fake_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny database shaped like docs/tables.md with known rows (see tests/api/fakedb.py)."""
    return fakedb.build(tmp_path_factory.mktemp("fake") / "fake.duckdb")
