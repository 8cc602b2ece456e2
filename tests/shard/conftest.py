"""Databases for the sharding tests: the bundled sample and a 20k-request simulated day,
imported once (not analysed); each test analyses its own copy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from analyzer.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sample_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("shard-sample") / "base.duckdb"
    assert main(["import", str(ROOT / "sample_logs" / "native"), "--db", str(db)]) == 0
    return db


@pytest.fixture(scope="session")
def day_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shard-day")
    logs = folder / "logs"
    assert main(["simulate", "--requests", "20000", "--out", str(logs)]) == 0
    db = folder / "base.duckdb"
    assert main(["import", str(logs), "--db", str(db)]) == 0
    return db


def checked(base: Path, folder: Path, name: str, *args: str) -> tuple[Path, dict[str, Any]]:
    """Copy ``base`` and run ``analyzer check --db COPY --format json ARGS`` on it."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"{name}.duckdb"
    shutil.copyfile(base, db)
    out = folder / f"{name}.json"
    code = main(
        ["check", "--db", str(db), "--format", "json", "--fail-on", "never", "-o", str(out), *args]
    )
    assert code == 0
    return db, json.loads(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_reference(
    sample_base: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    return checked(sample_base, tmp_path_factory.mktemp("shard-sample-ref"), "w1", "--workers", "1")


@pytest.fixture(scope="session")
def day_reference(
    day_base: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    return checked(day_base, tmp_path_factory.mktemp("shard-day-ref"), "w1", "--workers", "1")
