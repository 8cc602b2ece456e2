"""analyzer: observability and post-mortem analysis for serverless GPU inference platforms."""

from __future__ import annotations

__version__ = "0.1.0"
