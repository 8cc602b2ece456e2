"""`analyzer dashboard [--db FILE] [--port N]`: serve the Streamlit dashboard on a database.

The command analyses the database, then *becomes* the Streamlit server (``exec``): stopping
it (SIGTERM, Ctrl-C) stops the server, and nothing is left running. The server imports the
pages and warms the database before it takes requests (``analyzer/ui/startup.py``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from analyzer.errors import InputNotFoundError
from analyzer.ui import access

SCRIPT = Path(__file__).resolve().parents[1] / "ui" / "serve.py"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dashboard",
        help="open the dashboard (Streamlit) on a database",
        description="Serve the dashboard on a database (default: the bundled sample incident). "
        "The database is analysed first if needed, then opened read-only.",
    )
    p.add_argument("--db", metavar="FILE", help="database file (default: the bundled sample)")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--host", default="localhost", help="address to bind (default localhost)")
    p.add_argument("--headless", action="store_true", help="do not open a browser")
    p.add_argument(
        "--read-only",
        action="store_true",
        help="no Import page: visitors can only look (for a shared dashboard)",
    )
    p.add_argument(
        "--import-root",
        metavar="DIR",
        help="let visitors import files from inside DIR on the server (default: uploads only)",
    )
    p.set_defaults(func=run)


def command(args: argparse.Namespace) -> list[str]:
    """The ``streamlit run`` command line for these arguments."""
    return [
        sys.executable, "-m", "streamlit", "run", str(SCRIPT),
        "--server.port", str(args.port),
        "--server.address", str(args.host),
        "--server.headless", "true" if args.headless else "false",
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from analyzer.api.database import open_connection

    env = dict(os.environ)
    if args.db:  # open_connection below says when it is missing
        env["ANALYZER_DB"] = str(Path(args.db).resolve())
    else:
        env.pop("ANALYZER_DB", None)
    if args.import_root:
        root = Path(args.import_root).resolve()
        if not root.is_dir():
            raise InputNotFoundError(f"import folder not found: {root}")
        env[access.IMPORT_ROOT_ENV] = str(root)
    if args.read_only:
        env[access.READ_ONLY_ENV] = "1"
    # Analyse now (needs the write lock for a moment) so errors surface here, not in the page.
    open_connection(env.get("ANALYZER_DB")).close()
    print(f"analyzer dashboard: http://{args.host}:{args.port}  (Ctrl-C to stop)", flush=True)
    return serve(command(args), env)


def serve(argv: list[str], env: dict[str, str]) -> int:
    """Become the Streamlit server (exec), so no process outlives this command.

    A supervisor's SIGTERM, a container stop or Ctrl-C then reaches Streamlit itself. Where
    exec does not replace the process (Windows), the server runs as a child and the signals
    this process receives are forwarded to it.
    """
    sys.stderr.flush()
    if os.name == "posix":
        os.execve(argv[0], argv, env)  # does not return
    child = subprocess.Popen(argv, env=env)
    forwarded = (signal.SIGTERM, signal.SIGINT)
    previous = {s: signal.signal(s, lambda n, _f: child.send_signal(n)) for s in forwarded}
    try:
        return child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
