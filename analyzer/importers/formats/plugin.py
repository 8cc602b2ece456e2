"""The foreign formats as the importer's registry sees them (``analyzer.importers.registry``).

Each :class:`~analyzer.importers.formats.base.Format` (a sniffer over text and a parser from
lines to mapped rows) is wrapped into the registry's ``Format`` protocol: ``sniff(head: bytes,
path)`` and ``import_file(con, path, ctx)``. ``import_file`` streams the (decompressed) file as
text lines into the parser, inserts the mapped rows with :func:`analyzer.importers.rows.
insert_rows` (event ids, redaction, provenance, counts) and the rejected records with
``insert_rejected``, then runs the cross-file links (:mod:`.link`). Line-based formats
(nginx, Envoy) resume a grown file where the last import stopped.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analyzer.errors import InputUnreadableError
from analyzer.importers.formats import FOREIGN_FORMATS, otel
from analyzer.importers.formats.base import Format, ParseContext, Rejected, Row, Skipped
from analyzer.importers.formats.link import POST_IMPORT
from analyzer.importers.formats.otel_link import resolve_spans
from analyzer.importers.paths import is_compressed, open_binary
from analyzer.importers.rows import insert_rejected, insert_rows
from analyzer.importers.summary import FileResult

if TYPE_CHECKING:
    from analyzer.importers.registry import ImportContext


class _CountingLines:
    """Iterate a text stream's lines, counting them."""

    def __init__(self, stream: io.TextIOBase, skip: int = 0) -> None:
        self.stream = stream
        self.skip = skip
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        for index, line in enumerate(self.stream):
            if index < self.skip:
                continue
            self.count += 1
            yield line


@dataclass(frozen=True)
class RegisteredFormat:
    """A foreign format in the shape the importer's registry expects."""

    fmt: Format

    @property
    def name(self) -> str:
        return self.fmt.name

    @property
    def description(self) -> str:
        return self.fmt.description

    @property
    def appendable(self) -> bool:
        return self.fmt.appendable

    def sniff(self, head: bytes, path: Path) -> bool:
        return self.fmt.sniff(head.decode("utf-8", errors="replace").lstrip("\ufeff"))

    def import_file(
        self, con: duckdb.DuckDBPyConnection, path: Path, ctx: ImportContext
    ) -> FileResult:
        plan = ctx.plan
        resume = self.appendable and plan.first_line > 1
        first_line = plan.first_line if resume else 1
        result = FileResult(
            path=str(path),
            format=self.name,
            status=plan.status,
            import_id=ctx.import_id,
            first_line=first_line,
        )
        compressed = is_compressed(path)
        raw = open_binary(path)
        try:
            if resume and not compressed:
                raw.seek(plan.offset)
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")
            lines = _CountingLines(text, skip=first_line - 1 if resume and compressed else 0)
            mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
            context = ParseContext(path=path, mtime=mtime, first_line=first_line)
            rejected: list[Rejected] = []

            def rows() -> Iterator[Row]:
                for item in self.fmt.parse(lines, context):
                    if isinstance(item, Rejected):
                        rejected.append(item)
                    elif isinstance(item, Skipped):
                        result.skipped += 1
                    else:
                        yield item

            if self.fmt.map_blocks is not None:  # the set-based mapping, block by block
                for table, bad in self.fmt.map_blocks(
                    con, lines, first_line=first_line, file_name=path.name
                ):
                    insert_rows(
                        con,
                        table,
                        file=str(path),
                        import_id=ctx.import_id,
                        origin=self.name,
                        result=result,
                    )
                    rejected.extend(Rejected(*b) for b in bad)
            else:
                insert_rows(
                    con,
                    rows(),
                    file=str(path),
                    import_id=ctx.import_id,
                    origin=self.name,
                    result=result,
                )
            insert_rejected(
                con,
                ((r.line_no, r.raw, r.reason) for r in rejected),
                file=str(path),
                import_id=ctx.import_id,
                result=result,
            )
        except (OSError, EOFError) as exc:
            raise InputUnreadableError(f"cannot read {path}: {exc}") from None
        finally:
            raw.close()
        result.lines = lines.count
        result.bytes_read = plan.size - (plan.offset if resume and not compressed else 0)
        if self.name == otel.NAME:  # spans resolved over every imported file
            resolve_spans(con, ctx.import_id)
        if self.name.startswith("fal_"):  # the links join the platform's export files
            for link in POST_IMPORT:
                link(con)
        return result


REGISTERED: tuple[RegisteredFormat, ...] = tuple(RegisteredFormat(f) for f in FOREIGN_FORMATS)
"""Every foreign format, in detection order (after the native one)."""
