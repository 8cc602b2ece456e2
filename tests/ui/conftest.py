"""Fixtures of the dashboard tests: the hand-made database and the sample incident's."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
import fakedb


@pytest.fixture(scope="session")
def analyzer_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
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
    """The analysed sample database, built as ``streamlit run app.py`` builds it."""
    from analyzer.api.database import sample_db_path as build_sample

    return build_sample()


@pytest.fixture(scope="session")
def fake_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fakedb.build(tmp_path_factory.mktemp("fake-ui") / "fake.duckdb")
