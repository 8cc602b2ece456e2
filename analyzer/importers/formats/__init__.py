"""Foreign log formats, each mapped into native events (see docs/formats.md).

Every module here is a pure mapping from the records of one source to rows of the native
``events`` table (:mod:`analyzer.importers.formats.base`); :mod:`.detect` picks the format
of a file from its first kilobytes.
"""

from __future__ import annotations

from analyzer.importers.formats import (
    envoy,
    fal_events,
    fal_logs,
    fal_requests,
    fal_runners,
    nginx,
    otel,
)
from analyzer.importers.formats.base import Format

# Detection order: the most specific sniffers first (a request listing also has a
# "timestamp"-free shape, logs have "timestamp"+"message", and so on).
FOREIGN_FORMATS: tuple[Format, ...] = (
    otel.FORMAT,
    fal_runners.FORMAT,
    fal_events.FORMAT,
    fal_requests.FORMAT,
    fal_logs.FORMAT,
    nginx.FORMAT,
    envoy.FORMAT,
)

__all__ = ["FOREIGN_FORMATS", "Format"]
