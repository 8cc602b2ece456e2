"""The command line: parse arguments, call the package, map outcomes to exit codes.

Each sub-command lives in its own module under ``analyzer/commands`` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``(args) -> int``. This module only wires them together and turns the errors every
command can meet (missing input, locked database) into one line and exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
from collections.abc import Sequence

from analyzer import __version__
from analyzer.commands import COMMANDS, command_modules
from analyzer.errors import AnalyzerError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2

# Set when the machine itself failed (out of memory): the interpreter's normal shutdown can then
# abort inside DuckDB's threads ("cannot allocate memory for thread-local data", exit 127) after
# our one line was written, so ``entry`` ends the process at once with exit code 2.
_exit_now = False


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of command ``only`` (what ``main`` runs: the
    other commands' modules, and what they import, are then never loaded)."""
    parser = argparse.ArgumentParser(
        prog="analyzer",
        description="Import, replay and check gateway and runner logs of a serverless GPU platform.",
    )
    parser.add_argument("--version", action="version", version=f"analyzer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules(only):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(argv) if argv is not None else sys.argv[1:]
    first = arguments[0] if arguments else None
    parser = build_parser(first if first in COMMANDS else None)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_ERROR
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    try:
        return int(func(args))
    except AnalyzerError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("analyzer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except MemoryError:
        _error("out of memory (try a smaller batch of files, or a machine with more memory)")
        _must_exit_now()
        return EXIT_ERROR
    except OSError as exc:  # disk full, permissions, ... while writing or reading
        _error(_os_error(exc))
        return EXIT_ERROR
    except Exception as exc:  # DuckDB's errors about the environment: one line, exit 2
        line = environment_error(exc)
        if line is None:
            raise
        _error(line)
        if line.startswith("out of memory"):
            _must_exit_now()
        return EXIT_ERROR


def _must_exit_now() -> None:
    global _exit_now
    _exit_now = True


def _error(text: str) -> None:
    """One line on stderr, whatever the text holds (invalid UTF-8 in a file name, newlines)."""
    one = " ".join(text.split()) or "unknown error"
    data = f"analyzer: error: {one}\n".encode("utf-8", errors="backslashreplace")
    sys.stderr.flush()
    try:
        sys.stderr.buffer.write(data)
        sys.stderr.flush()
    except (AttributeError, ValueError):  # a stream without a buffer (tests capture text)
        print(data.decode("utf-8", errors="replace"), end="", file=sys.stderr)


def _os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on device{where}: free some space or use --db on another disk"
    return f"{exc.strerror or exc}{where}"


_DISK_FULL = ("no space left", "disk is full", "enospc", "file too large", "disk quota")


def environment_error(exc: BaseException) -> str | None:
    """The one line for an error caused by the machine, not by a bug: disk full (also a
    file-size limit), out of memory, an I/O error; None for anything else. The chain of
    causes is searched: DuckDB often reports a failed write as a later transaction error."""
    import duckdb

    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in chain and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    for err in chain:
        text = " ".join(str(err).split())[:300]
        lower = text.lower()
        if isinstance(err, duckdb.OutOfMemoryException | MemoryError) or "out of memory" in lower:
            return f"out of memory: {text}"
        if isinstance(err, RuntimeError) and "can't start new thread" in lower:
            return f"out of memory (cannot start a thread): {text}"
        if any(word in lower for word in _DISK_FULL):
            return f"cannot write (disk full?): {text}"
    for err in chain:
        if isinstance(err, duckdb.IOException):
            return f"I/O error: {' '.join(str(err).split())[:300]}"
    return None


def entry() -> None:
    """Console-script entry point."""
    code = main()
    if _exit_now:  # skip the interpreter's shutdown, which can abort after a failed allocation
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)
    sys.exit(code)
