"""One runner process: serve an app class with the SDK's own ``App.serve()`` on the loopback.

``python runner.py MODULE:CLASS PORT METRICS_PORT``. The SDK binds 0.0.0.0:8080 and a metrics
server on 0.0.0.0:9090; here both servers are bound to 127.0.0.1 on the given ports (the only
change: uvicorn's ``Config`` host), so tests can run next to each other.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path
from typing import Any

import uvicorn

SEEDS = Path(__file__).resolve().parents[2] / "lint" / "seeds"
"""The platform docs' examples, verbatim (seed 000's cancellation app is served from there)."""


def _loopback_only() -> None:
    original = uvicorn.Config.__init__

    def init(self: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        kwargs["host"] = "127.0.0.1"
        original(self, *args, **kwargs)

    uvicorn.Config.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    target, port, metrics_port = argv
    module_name, class_name = target.split(":")
    sys.path.insert(0, str(Path(__file__).parent))
    sys.path.insert(0, str(SEEDS))
    _loopback_only()
    app_class = getattr(importlib.import_module(module_name), class_name)
    app = app_class(_allow_init=True)
    asyncio.run(app.serve(port=int(port), metrics_port=int(metrics_port)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
