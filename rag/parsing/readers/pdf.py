"""PDF files with a text layer: paragraphs rebuilt from line geometry, page chrome removed.

pdfplumber (pdfminer.six) gives the characters with their positions and sizes, grouped into
lines; this module maps lines to paragraphs the way a reader sees them:

- page chrome first: a line in the top or bottom band of the page that repeats at the same
  height on most pages, with the same text or with the page's number in it (第1页/第2页), is
  a running header or footer; a lone page number (``3``, ``- 3 -``, ``第3页``, ``第3页 共9页``,
  ``3/9``; 第3頁 in Traditional script) in those bands too. A label whose number is not the
  page's (附件1 on page 3, 附件2 on page 4) is text. Every removed line is listed in
  ``RawDocument.dropped``.
- a table: consecutive lines split into cells by wide empty gaps whose cells stand in the
  same columns are rows (``table_row``, cells joined by tabs, as the .docx reader gives them).
  A cell whose text wraps continues its row: a line right under a row whose pieces each
  stand under one of the row's columns, none under the first, closer to the line above than
  the table's rows are to each other, joins each piece to the cell it stands under.
- a new paragraph starts where a line is indented (first-line indent) or centred, where the
  line before stops clearly short of the right margin, at a larger vertical gap, or where the
  font size changes; otherwise the line continues the paragraph, across pages too. A line
  that holds as many characters as a full line does (a typesetter that breaks lines by
  count, as on a character grid, leaves a line with half-width digits short) is full,
  whatever its width; a line that opens with closing punctuation (，。）) continues. Lines are
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
from ...textnorm import fold_chars
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
# An empty horizontal gap this wide (no glyph, no space character in it) separates the cells
# of a table row.
COLUMN_GAP_CHARS = 1.5
# A line under a table row whose pieces stand under the row's cells continues those cells
# (their text wraps) when it is closer to the line above, by this much, than rows are.
WRAP_CLOSER_CHARS = 0.1
# A first-line indent of up to this much: a full line indented so holds that many fewer
# characters.
MAX_INDENT_CHARS = 2.5
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
# Punctuation that closes what comes before it: a line opening with it continues a paragraph.
_CLOSING_START_RE = re.compile(r"^[，。、；：！？）》」』”’,.;:!?)]")
_NUMBER_RE = re.compile(r"\d+")
# A sentence's end, and an item's number at the start of a line (1. / （一） / 一、).
_SENTENCE_END_RE = re.compile(r"[。；;！？]$")
_ITEM_START_RE = re.compile(
    r"^(?:\d{1,2}[.．、](?!\d)|[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十]{1,3}、)"
)
_NUMBER_CHARS = "0123456789.,"
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
    # The line's cells (x0, x1, text) where wide empty gaps split it; one cell for text.
    cells: tuple[tuple[float, float, str], ...] = ()
    row: bool = False  # one row of a table (set by _mark_tables)
    # The drawn box (page, x0, top, x1, bottom) the line stands in, or None (see _frame_of).
    frame: tuple[float, ...] | None = None


def read_pdf(data: bytes, path: Path) -> RawDocument:
    """Read a PDF's text layer into paragraphs with their page numbers.

    Args:
        data: The PDF's bytes.
        path: The file's path, for messages.

    Returns:
        Title, heading, paragraph and table-row blocks with ``page`` set; ``dropped``
        lists the running headers, footers and page numbers removed; ``metadata['title']``
        from the PDF info.

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
        boxes = _boxes(page)
        rules = _vertical_rules(page)
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
                    cells=_cells(chars, _rules_across(rules, line)),
                    frame=_frame_of(boxes, page.page_number, line),
                )
            )
    return lines, scanned


def _boxes(page: Any) -> list[tuple[float, float, float, float]]:
    """The page's drawn rectangles large enough to hold lines of text (x0, top, x1, bottom),
    smallest first: a 专栏 or a boxed note, set inside a frame narrower than the page."""
    found = [
        (float(r["x0"]), float(r["top"]), float(r["x1"]), float(r["bottom"]))
        for r in page.rects
        if float(r["width"]) > 60 and float(r["height"]) > 20
    ]
    return sorted(found, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))


def _vertical_rules(page: Any) -> list[tuple[float, float, float]]:
    """The page's vertical rules (x, top, bottom): drawn lines and the sides of rectangles,
    a ruled table's column borders among them."""
    return [
        (float(e["x0"]), float(e["top"]), float(e["bottom"]))
        for e in page.edges
        if e.get("orientation") == "v"
    ]


def _rules_across(
    rules: list[tuple[float, float, float]], line: dict[str, Any]
) -> tuple[float, ...]:
    """The x of each vertical rule that runs across the whole height of the line."""
    return tuple(x for x, top, bottom in rules if top <= line["top"] and line["bottom"] <= bottom)


def _frame_of(
    boxes: list[tuple[float, float, float, float]], page: int, line: dict[str, Any]
) -> tuple[float, ...] | None:
    """The smallest box that holds the whole line, with its page, or None."""
    for x0, top, x1, bottom in boxes:
        inside = x0 <= line["x0"] and line["x1"] <= x1
        if inside and top <= line["top"] and line["bottom"] <= bottom:
            return (page, x0, top, x1, bottom)
    return None


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


def _cells(
    chars: list[dict[str, Any]], rules: tuple[float, ...] = ()
) -> tuple[tuple[float, float, str], ...]:
    """The line cut where an empty gap of ``COLUMN_GAP_CHARS`` or more stands between two
    glyphs, or a drawn vertical rule (``rules``, x positions) runs between them: how a
    table's cells lie on one line (a ruled table's narrow 序号 column leaves a gap smaller
    than that). Spaces typed in the text are not a gap."""
    cells: list[tuple[float, float, str]] = []
    run: list[dict[str, Any]] = []
    for char in chars:
        if run and not char["text"].isspace() and not run[-1]["text"].isspace():
            end, start = float(run[-1]["x1"]), float(char["x0"])
            ruled = any(end <= x <= start for x in rules)
            if ruled or start - end >= COLUMN_GAP_CHARS * float(char["size"]):
                cells.append(_cell(run))
                run = []
        run.append(char)
    if run:
        cells.append(_cell(run))
    return tuple(c for c in cells if c[2])


def _cell(chars: list[dict[str, Any]]) -> tuple[float, float, str]:
    shown = [c for c in chars if not c["text"].isspace()] or chars
    return float(shown[0]["x0"]), float(shown[-1]["x1"]), _line_text(chars).strip()


def _split_chrome(lines: list[_Line]) -> tuple[list[_Line], list[str]]:
    pages = {line.page for line in lines}
    groups: dict[tuple[str, int], list[_Line]] = {}
    numbers: dict[int, set[int]] = {page: {page} for page in pages}
    for line in lines:
        if _in_band(line):
            groups.setdefault(_chrome_key(line), []).append(line)
            if _is_page_number(line.text):
                numbers[line.page].update(_numbers(line.text))
    needed = max(2, int(REPEAT_SHARE * len(pages) + 0.999))
    running: set[int] = set()
    for group in groups.values():
        if len({re.sub(r"\s+", "", line.text) for line in group}) > 1:
            # The text changes from page to page only by the page's own number (第1页,
            # 第2页); a label whose number is not the page's (附件1, 附件2) is text.
            group = [g for g in group if _numbers(g.text) & numbers[g.page]]
        if len(pages) >= 2 and len(group) >= needed:
            running.update(id(line) for line in group)
    body: list[_Line] = []
    dropped: list[str] = []
    for line in lines:
        if _in_band(line) and (id(line) in running or _is_page_number(line.text)):
            dropped.append(line.text)
        else:
            body.append(line)
    return body, dropped


def _is_page_number(text: str) -> bool:
    # Matched on the simplified fold: a Traditional PDF prints 第3頁 共9頁, 頁碼 3.
    return _PAGE_NUMBER_RE.match(fold_chars(text)) is not None


def _numbers(text: str) -> set[int]:
    return {int(n) for n in _NUMBER_RE.findall(text)}


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
    # A boxed 专栏 keeps its own margins (see _frame_layouts): the page's are measured outside.
    body_lines = [line for line in body_lines if line.frame is None] or body_lines
    left = _mode(round(line.x0) for line in body_lines)
    right = _right_margin(sorted(line.x1 for line in body_lines))
    pitches = [
        b.top - a.top
        for a, b in itertools.pairwise(lines)
        if a.page == b.page and b.top > a.top and abs(a.size - body_size) < 0.5
    ]
    pitch = statistics.median(pitches) if pitches else body_size * 1.5
    _mark_tables(lines)
    lines = _fold_wrapped_cells(lines)
    layout = _Layout(left, right, pitch, body_size, _full_count(body_lines, left, right, body_size))
    frames = _frame_layouts(lines, layout)
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
        if line.row:
            flush()
            blocks.append(Block("\t".join(c[2] for c in line.cells), "table_row", 0, line.page))
            continue
        if current and (
            current[-1].frame != line.frame
            or _starts_paragraph(
                current[-1], line, layout if line.frame is None else frames.get(line.frame, layout)
            )
            or (line.frame in frames and _opens_item(current[-1], line))
        ):
            flush()
        current.append(line)
    flush()
    return blocks


@dataclass(frozen=True)
class _Layout:
    """The body text's measures: margins, line pitch, type size, characters in a full line."""

    left: float
    right: float
    pitch: float
    body_size: float
    full_count: int | None


def _frame_layouts(lines: list[_Line], page: _Layout) -> dict[tuple[float, ...], _Layout]:
    """The measures of the text inside each drawn box: a 专栏 in a plan or a boxed note sets
    its lines inside the frame, flush with its own margins, so a line there is full when it
    reaches the frame's right margin, not the page's, and starts a paragraph when indented
    from the frame's left one. A line never continues a paragraph across the frame's edge."""
    grouped: dict[tuple[float, ...], list[_Line]] = {}
    for line in lines:
        if line.frame is not None and not line.row:
            grouped.setdefault(line.frame, []).append(line)
    out: dict[tuple[float, ...], _Layout] = {}
    for frame, inside in grouped.items():
        body = [line for line in inside if abs(line.size - page.body_size) < 0.5]
        if body:
            left = _mode(round(line.x0) for line in body)
            right = _right_margin(sorted(line.x1 for line in body))
            out[frame] = _Layout(left, right, page.pitch, page.body_size, None)
    return out


def _opens_item(prev: _Line, line: _Line) -> bool:
    """A numbered item after a finished sentence: inside a frame the items of a 专栏 are set
    flush, without a first-line indent, so a full line ending one item is followed by the
    next item's number (2.…, （二）…) at the same margin."""
    return bool(_SENTENCE_END_RE.search(prev.text) and _ITEM_START_RE.match(line.text))


def _mark_tables(lines: list[_Line]) -> None:
    """Mark as table rows the runs of two or more consecutive lines (same page) cut into
    cells that stand in the same columns. A contents entry (dot leader, page number) or a
    line of single spaced-out characters (目　录) is not a row."""

    for a, b in itertools.pairwise(lines):
        first, second = _row_cells(a), _row_cells(b)
        if first and second and a.page == b.page and _same_columns(first, second):
            a.row = b.row = True


def _row_cells(line: _Line) -> tuple[tuple[float, float, str], ...] | None:
    """The line's cells when it may be a table row: two or more, not a contents entry nor
    a line of single spaced-out characters."""
    cells = line.cells
    if len(cells) < 2 or _LEADER_END_RE.search(line.text):
        return None
    if all(len(c[2]) == 1 for c in cells):
        return None
    return cells


def _fold_wrapped_cells(lines: list[_Line]) -> list[_Line]:
    """The lines with each wrapped cell's continuation joined to its row.

    A table is read as groups: a row and the lines under it whose pieces each stand under
    one of its cells but the first (:func:`_under_cells`). Such a line continues the row
    when it is closer to the line above than the table's rows are to the line above them
    (the least such distance, so the table needs two groups); its pieces join the cells they
    stand under. A line in the row's columns right after a continuation is a row too (the
    continuation line had cut it from the rows above). Other lines are kept as they are.
    """
    tables: list[list[list[_Line]]] = []
    for line in lines:
        table = tables[-1] if tables and tables[-1][0][0].row else None
        start = table[-1][0] if table else None
        if table and start and _near(start, line):
            if _under_cells(start, line):
                table[-1].append(line)
                continue
            cells = _row_cells(line)
            after_wrap = len(table[-1]) > 1 and cells and _same_columns(start.cells, cells)
            if line.row or after_wrap:
                table.append([line])
                continue
        tables.append([[line]])
    out: list[_Line] = []
    for table in tables:
        out.extend(_fold_table(table) if len(table) > 1 else table[0])
    return out


def _near(start: _Line, line: _Line) -> bool:
    """On the row's page, in its type size: may belong to the same table."""
    return line.page == start.page and abs(line.size - start.size) < 0.5


def _under_cells(row: _Line, line: _Line) -> list[int] | None:
    """The index of the row's cell each piece of the line stands under, left to right, when
    every piece stands under exactly one cell, a cell of its own, and none under the first."""
    if len(row.cells) < 2:
        return None
    columns: list[int] = []
    for x0, x1, _ in line.cells:
        over = [k for k, (c0, c1, _) in enumerate(row.cells) if x0 < c1 and x1 > c0]
        if len(over) != 1 or over[0] == 0 or (columns and over[0] <= columns[-1]):
            return None
        columns.append(over[0])
    return columns or None


def _fold_table(table: list[list[_Line]]) -> list[_Line]:
    """The table's lines, each row's close continuation lines joined to it."""
    above = [group[-1] for group in table[:-1]]
    row_pitch = min(group[0].top - line.top for group, line in zip(table[1:], above, strict=True))
    out: list[_Line] = []
    folded = False
    for group in table:
        row = group[0]
        if not (row.row or folded):
            out.extend(group)  # in the columns, but after a continuation left as a line
            continue
        row.row, folded, prev = True, False, row
        out.append(row)
        for line in group[1:]:
            closer = row_pitch - (line.top - prev.top) >= WRAP_CLOSER_CHARS * line.size
            columns = _under_cells(row, line)
            if out[-1] is row and closer and columns:
                _join_cells(row, line, columns)
                folded = True
            else:
                out.append(line)
            prev = line
    return out


def _join_cells(row: _Line, line: _Line, columns: list[int]) -> None:
    """Join each piece of the continuation line to the row's cell it stands under, with
    nothing between: a cell wraps anywhere (a code or number too), so no space is added."""
    cells = list(row.cells)
    for column, (_, x1, text) in zip(columns, line.cells, strict=True):
        c0, c1, before = cells[column]
        cells[column] = (c0, max(c1, x1), before + text)
    row.cells = tuple(cells)
    row.bottom = max(row.bottom, line.bottom)


def _same_columns(
    a: tuple[tuple[float, float, str], ...], b: tuple[tuple[float, float, str], ...]
) -> bool:
    """Every cell of the row with fewer cells lies under its own cell of the other, in order
    (a row may leave a cell empty)."""
    few, many = (a, b) if len(a) <= len(b) else (b, a)
    at = 0
    for x0, x1, _ in few:
        while at < len(many) and many[at][1] <= x0:
            at += 1
        if at == len(many) or many[at][0] >= x1:
            return False  # no cell of the other row stands over this one
        if at + 1 < len(many) and many[at + 1][0] < x1:
            return False  # this cell straddles two columns of the other row
        at += 1
    return True


def _full_count(body_lines: list[_Line], left: float, right: float, size: float) -> int | None:
    """How many characters a full line holds, when the full lines agree: the count of most
    lines that reach the right margin from the left one (an indented first line counted with
    its indent), at least three such lines."""
    counts = Counter(
        _count(line) + round(indent)
        for line in body_lines
        if line.x1 >= right - SHORT_LINE_CHARS * size
        and -0.5 < (indent := (line.x0 - left) / size) <= MAX_INDENT_CHARS
    )
    if sum(counts.values()) < 3:
        return None
    count, seen = counts.most_common(1)[0]
    return count if seen * 2 > sum(counts.values()) and count >= 10 else None


def _count(line: _Line) -> int:
    return sum(1 for char in line.text if not char.isspace())


def _holds_full_line(line: _Line, layout: _Layout) -> bool:
    """The line, at the left margin or indented as a first line is, holds as many characters
    as a full line does: it is full, though half-width digits leave it short."""
    if layout.full_count is None or abs(line.size - layout.body_size) >= 0.5:
        return False
    indent = max(0.0, line.x0 - layout.left) / layout.body_size
    if indent > MAX_INDENT_CHARS:
        return False
    return _count(line) >= layout.full_count - round(indent)


def _starts_paragraph(prev: _Line, line: _Line, layout: _Layout) -> bool:
    left, right, size = layout.left, layout.right, max(layout.body_size, 1.0)
    if abs(prev.size - line.size) >= 0.5:
        return True
    if _LEADER_END_RE.search(prev.text):
        return True  # a contents entry (第一章 总则……1) reaches the margin but ends there
    if line.x0 > left + INDENT_CHARS * size:
        return True  # first-line indent, or a centred line
    gap = line.page == prev.page and line.top - prev.top > GAP_FACTOR * layout.pitch
    if _CLOSING_START_RE.match(line.text) and not gap:
        return False  # ，。） never opens a paragraph
    full = _holds_full_line(prev, layout)
    if prev.x1 < right - SHORT_LINE_CHARS * size and not full:
        return True  # the line before stopped short of the margin
    if prev.x0 > left + INDENT_CHARS * size and prev.x1 < right - INDENT_CHARS * size and not full:
        return True  # the line before was centred (a title or dateline)
    if prev.x0 > left + MAX_INDENT_CHARS * size:
        return True  # the line before was set right (a signature, a date): a line of its own
    return gap


def _join(texts: list[str]) -> str:
    out = texts[0]
    for text in texts[1:]:
        latin = out and text and not _CJK_RE.match(out[-1]) and not _CJK_RE.match(text[0])
        out += " " + text if latin and not _number_in_chinese(out, text) else text
    return out


def _number_in_chinese(before: str, after: str) -> bool:
    """A number broken over the line inside Chinese text (隐患4 / 127项): one number, no
    space, as a space is only between two Latin words."""
    if not (before[-1].isdigit() and after[0].isdigit()):
        return False
    head, tail = before.rstrip(_NUMBER_CHARS), after.lstrip(_NUMBER_CHARS)
    return bool(_CJK_RE.match(head[-1:]) or _CJK_RE.match(tail[:1]))


def _right_margin(ends: list[float]) -> float:
    """Where full lines end: high in the distribution of line ends, ignoring one overlong
    line (a dateline wider than the column) and the short last lines of paragraphs."""
    if len(ends) >= 10:
        return statistics.quantiles(ends, n=10)[-1]
    return ends[-2] if len(ends) >= 3 else ends[-1]


def _mode(values: Any) -> float:
    counts = Counter(values)
    return float(counts.most_common(1)[0][0]) if counts else 0.0
