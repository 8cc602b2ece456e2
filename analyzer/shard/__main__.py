"""``python -m analyzer.shard TASK RESULT``: one shard in its own process (see worker.main)."""

from __future__ import annotations

import sys

from analyzer.shard.worker import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
