"""The same analysis, sharded by app: in local processes or as Ray tasks (docs/scale.md).

``analyze_sharded(con, config, ShardOptions(workers=N))`` partitions ``events`` into Parquet
shards by app (:mod:`analyzer.shard.plan`), analyses each in a fresh DuckDB with the unchanged
replay and rules (:mod:`analyzer.shard.worker`), on a process pool or Ray
(:mod:`analyzer.shard.engines`), and unions the outputs into the database
(:mod:`analyzer.shard.merge`).
"""

from __future__ import annotations

from analyzer.shard.run import ShardOptions, analyze_sharded

__all__ = ["ShardOptions", "analyze_sharded"]
