"""Stage 0: a scanned source file → the :class:`RawDocument` its format reader produced.

The readers (:mod:`rag.parsing.readers`) decode text files and extract HTML, Word and PDF
files into blocks; :func:`rag.sources.scan_sources` renders those blocks as the text the
later stages read line by line (headings as Markdown headings). This stage hands that text
on with the reader's metadata (front matter, sidecar) and the page of every line (PDF).
"""

from __future__ import annotations

from dataclasses import replace

from ..sources import SourceFile
from .readers import Block, RawDocument

_HEADING_KINDS = frozenset({"title", "heading"})


def read_source(f: SourceFile) -> RawDocument:
    """The raw document of a scanned file, its ``text`` being what the parser reads."""
    if f.document is None:
        return RawDocument(f.path, f.text, (), f.format, f.encoding or None, {})
    return replace(f.document, text=f.text)


def line_pages(raw: RawDocument) -> dict[int, int]:
    """1-based line number of the parsed text → page, for readers that know pages (PDF).

    The scan renders blocks joined by one blank line, each block's lines in order.
    """
    pages: dict[int, int] = {}
    line = 1
    for block in raw.blocks:
        count = block.text.count("\n") + 1
        if block.page is not None:
            for k in range(line, line + count):
                pages[k] = block.page
        line += count + 1
    return pages


__all__ = ["Block", "RawDocument", "line_pages", "read_source"]
