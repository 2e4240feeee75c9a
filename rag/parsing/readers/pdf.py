"""PDF files with a text layer: paragraphs rebuilt from line geometry, page chrome removed.

pdfplumber (pdfminer.six) gives the characters with their positions and sizes, grouped into
lines; this module maps lines to paragraphs the way a reader sees them:

- page chrome first: a line in the top or bottom band of the page that repeats at the same
  height on most pages (digits ignored, so 第1页/第2页 match) is a running header or footer;
  a lone page number (``3``, ``- 3 -``, ``第3页``, ``第3页 共9页``, ``3/9``) in those bands
  too. Every removed line is listed in ``RawDocument.dropped``.
- a new paragraph starts where a line is indented (first-line indent) or centred, where the
  line before stops clearly short of the right margin, at a larger vertical gap, or where the
  font size changes; otherwise the line continues the paragraph, across pages too. Lines are
  joined without a space between Chinese characters.
- the first page's large-type lines are the title; the page of each paragraph is the page of
  its first line (``Block.page``, 1-based).

A PDF whose pages carry no text (a scan) raises :class:`SourceError`: it needs OCR first.
"""

from __future__ import annotations

import io
import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import SourceError
from . import Block, RawDocument, from_blocks

# Top and bottom share of the page where running headers, footers and page numbers live.
CHROME_BAND = 0.12
# A line in the band is chrome when it repeats (same height, digits ignored) on this share
# of the pages (and on at least two).
REPEAT_SHARE = 0.5
# In units of the body font size: an indent of this much starts a paragraph; a line ending
# this much short of the right margin ends one.
INDENT_CHARS = 0.8
SHORT_LINE_CHARS = 2.0
# A gap this many times the usual line pitch separates paragraphs.
GAP_FACTOR = 1.45
# Type this much larger than the body is a title (first page) or a heading.
LARGER_TYPE = 1.15

_PAGE_NUMBER_RE = re.compile(
    r"^(?:[-—–－_·\s]*\d{1,4}[-—–－_·\s]*"
    r"|第\s*[\d一二三四五六七八九十百]+\s*页(?:\s*[，,/／]?\s*共\s*\d+\s*页)?"
    r"|\d{1,4}\s*[/／]\s*\d{1,4}"
    r"|(?:page|页码)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?)$",
    re.IGNORECASE,
)
# A line ending in a dot leader and a page number: an entry of a table of contents.
_LEADER_END_RE = re.compile(r"(?:[.．·…‥]{3,}|…{2,}|[.．·]\s?[.．·]\s?[.．·])\s*\d{1,4}$")
_CJK_RE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


@dataclass
class _Line:
    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    page_height: float


def read_pdf(data: bytes, path: Path) -> RawDocument:
    """Read a PDF's text layer into paragraphs with their page numbers.

    Args:
        data: The PDF's bytes.
        path: The file's path, for messages.

    Returns:
        Title and paragraph blocks with ``page`` set; ``dropped`` lists the running
        headers, footers and page numbers removed; ``metadata['title']`` from the PDF info.

    Raises:
        SourceError: Not a PDF, encrypted, or without a text layer (needs OCR first).
    """
    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfplumber wraps every pdfminer failure in one type
        if "password" in repr(exc).lower():
            raise SourceError("the PDF is password-protected; save an unlocked copy") from None
        raise SourceError(f"not a readable PDF ({exc}); re-export or repair it") from None
    with pdf:
        lines, scanned = _lines(pdf)
        metadata = {}
        title = str(pdf.metadata.get("Title") or "").strip()
        if title:
            metadata["title"] = title
    if not lines:
        raise SourceError(
            "the PDF has no text layer (a scan?); it needs OCR first, e.g. "
            "`ocrmypdf in.pdf out.pdf`, then add the OCR'd file"
        )
    if scanned:
        pages = ", ".join(str(p) for p in scanned)
        raise SourceError(
            f"page(s) {pages} are images without a text layer; the file needs OCR "
            "first (e.g. `ocrmypdf --skip-text in.pdf out.pdf`) so that no page is lost"
        )
    body, dropped = _split_chrome(lines)
    return from_blocks(path, _paragraphs(body), "pdf", metadata, tuple(dropped))


def _lines(pdf: Any) -> tuple[list[_Line], list[int]]:
    """Text lines of every page and the pages that hold only images (scanned)."""
    lines: list[_Line] = []
    scanned: list[int] = []
    for page in pdf.pages:
        found = page.extract_text_lines(return_chars=True, strip=True)
        if not found:
            if page.images:
                scanned.append(page.page_number)
            continue
        for line in found:
            chars = [c for c in line["chars"] if c.get("text")]
            text = _line_text(chars)
            if not text.strip():
                continue
            sizes = [round(float(c["size"]), 1) for c in chars if not c["text"].isspace()]
            lines.append(
                _Line(
                    text=text.strip(),
                    page=page.page_number,
                    x0=float(line["x0"]),
                    x1=float(line["x1"]),
                    top=float(line["top"]),
                    bottom=float(line["bottom"]),
                    size=Counter(sizes).most_common(1)[0][0] if sizes else 0.0,
                    page_height=float(page.height),
                )
            )
    return lines, scanned


def _line_text(chars: list[dict[str, Any]]) -> str:
    """The characters of a line in order; a space is added only between two non-Chinese
    characters that stand apart (a PDF rarely stores the spaces between words)."""
    out: list[str] = []
    previous: dict[str, Any] | None = None
    for char in chars:
        text = char["text"]
        if previous is not None and not text.isspace() and not out[-1].isspace():
            gap = float(char["x0"]) - float(previous["x1"])
            latin = not _CJK_RE.match(text) and not _CJK_RE.match(out[-1][-1])
            if latin and gap > 0.2 * float(char["size"]):
                out.append(" ")
        out.append(text)
        previous = char
    return "".join(out)


def _split_chrome(lines: list[_Line]) -> tuple[list[_Line], list[str]]:
    pages = {line.page for line in lines}
    positions: Counter[tuple[str, int]] = Counter()
    for line in lines:
        if _in_band(line):
            positions[_chrome_key(line)] += 1
    needed = max(2, int(REPEAT_SHARE * len(pages) + 0.999))
    body: list[_Line] = []
    dropped: list[str] = []
    for line in lines:
        repeated = len(pages) >= 2 and positions[_chrome_key(line)] >= needed
        if _in_band(line) and (repeated or _PAGE_NUMBER_RE.match(line.text)):
            dropped.append(line.text)
        else:
            body.append(line)
    return body, dropped


def _in_band(line: _Line) -> bool:
    band = CHROME_BAND * line.page_height
    return line.bottom <= band or line.top >= line.page_height - band


def _chrome_key(line: _Line) -> tuple[str, int]:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text)), round(line.top / 4)


def _paragraphs(lines: list[_Line]) -> list[Block]:
    if not lines:
        return []
    body_size = Counter(line.size for line in lines).most_common(1)[0][0] or 10.0
    body_lines = [line for line in lines if abs(line.size - body_size) < 0.5]
    left = _mode(round(line.x0) for line in body_lines)
    right = _right_margin(sorted(line.x1 for line in body_lines))
    pitches = [
        b.top - a.top
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and b.top > a.top and abs(a.size - body_size) < 0.5
    ]
    pitch = statistics.median(pitches) if pitches else body_size * 1.5
    blocks: list[Block] = []
    current: list[_Line] = []

    def flush() -> None:
        if not current:
            return
        text = _join([line.text for line in current])
        size = current[0].size
        first_page = current[0].page
        if size >= body_size * LARGER_TYPE:
            kind = "title" if first_page == lines[0].page and not blocks else "heading"
            blocks.append(Block(text, kind, 1 if kind == "title" else 2, first_page))
        else:
            blocks.append(Block(text, "paragraph", 0, first_page))
        current.clear()

    for line in lines:
        if current and _starts_paragraph(current[-1], line, left, right, pitch, body_size):
            flush()
        current.append(line)
    flush()
    return blocks


def _starts_paragraph(
    prev: _Line, line: _Line, left: float, right: float, pitch: float, body_size: float
) -> bool:
    size = max(body_size, 1.0)
    if abs(prev.size - line.size) >= 0.5:
        return True
    if _LEADER_END_RE.search(prev.text):
        return True  # a contents entry (第一章 总则……1) reaches the margin but ends there
    if line.x0 > left + INDENT_CHARS * size:
        return True  # first-line indent, or a centred line
    if prev.x1 < right - SHORT_LINE_CHARS * size:
        return True  # the line before stopped short of the margin
    if prev.x0 > left + INDENT_CHARS * size and prev.x1 < right - INDENT_CHARS * size:
        return True  # the line before was centred (a title or dateline)
    return line.page == prev.page and line.top - prev.top > GAP_FACTOR * pitch


def _join(texts: list[str]) -> str:
    out = texts[0]
    for text in texts[1:]:
        if out and text and not _CJK_RE.match(out[-1]) and not _CJK_RE.match(text[0]):
            out += " " + text
        else:
            out += text
    return out


def _right_margin(ends: list[float]) -> float:
    """Where full lines end: high in the distribution of line ends, ignoring one overlong
    line (a dateline wider than the column) and the short last lines of paragraphs."""
    if len(ends) >= 10:
        return statistics.quantiles(ends, n=10)[-1]
    return ends[-2] if len(ends) >= 3 else ends[-1]


def _mode(values: Any) -> float:
    counts = Counter(values)
    return float(counts.most_common(1)[0][0]) if counts else 0.0
