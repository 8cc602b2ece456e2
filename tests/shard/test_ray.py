"""`check --engine ray` on a local Ray cluster (`ray.init(num_cpus=2)`, no dashboard, no usage
stats), started once for the module and stopped after it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from tests.shard.conftest import checked
from tests.shard.test_same_answer import assert_same


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_same_answer(
    ray_cluster: None, sample_base: Path, sample_reference: Any, tmp_path: Path
) -> None:
    got = checked(sample_base, tmp_path, "ray", "--engine", "ray", "--workers", "2")
    assert_same(sample_reference, got)
    summary = got[1]["summary"]
    assert summary["sharding"]["engine"] == "ray"
    assert len(summary["shards"]) >= 2
    assert ray.is_initialized()  # a Ray the caller started is left running
