"""The names of the log formats, in detection order, as plain data.

For the command line's help texts, which are built for every command at start-up: importing
the importers themselves (NumPy, pyarrow, every format) just to list their names cost a
quarter of a second on every ``analyzer`` command. A test keeps this list equal to
``analyzer.importers.registry.formats()``.
"""

from __future__ import annotations

LOG_FORMAT_NAMES = (
    "native",
    "otel",
    "fal_runners",
    "fal_events",
    "fal_requests",
    "fal_logs",
    "nginx",
    "envoy",
)
