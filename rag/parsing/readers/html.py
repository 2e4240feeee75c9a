"""Web pages (.html/.htm): the article only, without the site around it.

trafilatura finds the article of the page (measured against readability-lxml on
government-style pages in ``benchmarks/readers_html.py``: it keeps every body character and
every paragraph boundary on ``<p>``, ``<br>``, ``<div>``, indented and table layouts) and gives
it as XML (``head``, ``p`` with ``lb`` line breaks, ``list/item``, ``table/row/cell``); this
module maps that XML to blocks, and reads the 信息公开 table most government pages print
above the article (索引号, 发布机构, 成文日期, 文号…) for the document's number, issuer and
date, which the extractor leaves out or moves after the text. Every line of the page that is
not in the article is listed in ``RawDocument.dropped``, so nothing leaves silently.

The page's words (文号, 发布机构, 首页, 上一篇…) are matched on the simplified fold of each line
(:func:`rag.textnorm.fold_chars`, one character for one), so a page in Traditional script
(文號, 發布機構, 首頁, 上一條) is read as its Simplified twin; what is kept is cut from the line
itself, in the page's own characters.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ...errors import SourceError
from ...textnorm import fold_chars
from ..blocks import DOC_NUMBER_RE
from . import Block, RawDocument, from_blocks

# Whitespace that is only layout: indents with full-width spaces or NBSP, zero-width marks.
# Between a page title's document name and the site's name (…-全國法規資料庫, … | 网站).
_SITE_SEPARATOR_RE = re.compile(r"\s*[-－|｜_—–]+\s*")
_INVISIBLE = " \t\r\n\f\v\u3000\xa0\u200b\ufeff"
# Links to the neighbouring articles close many government pages; they are navigation, not text.
_NEIGHBOUR_LINK_RE = re.compile(r"^(?:上一篇|下一篇|上一条|下一条)\s*[：:]")
# A breadcrumb: 首页 > 政策 > 国务院政策文件库, 当前位置：首页 » 新闻 (site navigation, not text).
_BREADCRUMB_RE = re.compile(
    r"^(?:(?:当前位置|您的位置|您现在的位置|所在位置)\s*[：:]\s*)?(?:首页|主页|网站首页)"
    r"\s*[>＞›»/]"
)
# Not part of a line's text when lines are compared: whitespace, and what the extractor drops
# as non-printable (zero-width spaces and joiners, direction marks, BOM, controls).
_NOT_TEXT_RE = re.compile(
    r"[\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]+"
)
_BLOCK_TAGS = frozenset(
    {"address", "article", "aside", "blockquote", "body", "dd", "div", "dl", "dt", "figcaption"}
    | {"figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li"}
    | {"main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th"}
    | {"thead", "tr", "ul"}
)
_DROP_TAGS = ("script", "style", "noscript", "template", "head")
# The 政府信息公开 table of a government page (索引号, 发布机构, 成文日期, 文号, 主题分类…, a
# label cell and its value, or 文号：… in one cell): the fields that are the document's own,
# by their metadata key; the others only tell such a table from a lone label in the text.
_INFO_FIELDS = {
    "文号": "number",
    "发文字号": "number",
    "发布机构": "issuer",
    "发文机关": "issuer",
    "发文单位": "issuer",
    "发布单位": "issuer",
    "成文日期": "date",
    "发文日期": "date",
}
_INFO_OTHER = frozenset(
    {"索引号", "主题分类", "主题词", "体裁分类", "组配分类", "公开方式", "公开范围", "有效性"}
    | {"标题", "名称", "发布日期", "公开日期", "生成日期", "信息来源", "时效"}
)
_INFO_LABEL_RE = re.compile(f"^({'|'.join(sorted({*_INFO_FIELDS, *_INFO_OTHER}))})[：:](.*)$")
_INFO_DATE_RE = re.compile(r"^(\d{4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})\s*日?$")


def read_html(data: bytes, path: Path) -> RawDocument:
    """Read a web page into its article's blocks.

    Args:
        data: The page's bytes (the charset is taken from the page, as a browser does).
        path: The file's path, for messages.

    Returns:
        The title (kind ``title``), headings, paragraphs, list items and table rows of the
        article; ``metadata`` has ``title``, ``date``, ``url``, ``site`` where the page says
        them, and ``number``, ``issuer`` where its 信息公开 table does (whose 成文日期 is the
        ``date``); ``dropped`` every other text line of the page. The table's 文号 is given
        under the title, as a text file prints its 发文字号.

    Raises:
        SourceError: No article text can be found in the page.
    """
    import trafilatura
    from trafilatura.utils import decode_file

    page = decode_file(data)  # the page's own charset (GBK/GB2312 are common), else detected
    extracted: Any
    try:
        extracted = trafilatura.bare_extraction(
            page,
            output_format="python",
            with_metadata=True,
            include_tables=True,
            include_comments=False,
            include_images=False,
            deduplicate=False,
            favor_recall=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:  # trafilatura raises several types on unparsable input
        raise SourceError(f"cannot be parsed as HTML ({exc}); check the file") from None
    if extracted is None or extracted.body is None:
        raise SourceError(
            "no article text found in this web page; save the article itself "
            "(or copy its text into a .txt file)"
        )
    title = _clean(extracted.title or "")
    lines = page_lines(page)
    title = _without_site_name(title, lines)
    blocks, neighbours = _drop_neighbour_links(_xml_blocks(extracted.body))
    blocks = _restore_inside(blocks, lines, title)
    if title and not any(b.text == title for b in blocks[:3]):
        blocks.insert(0, Block(title, "title", 1))
    else:
        blocks = [
            Block(b.text, "title", 1) if b.text == title and b.kind == "heading" else b
            for b in blocks
        ]
    info = info_fields(lines)
    if info:
        blocks = _with_number(_info_rows_first(blocks), info.get("number", ""))
    metadata = {
        key: _clean(str(value))
        for key, value in (
            ("title", title),
            ("date", extracted.date),
            ("url", extracted.url),
            ("site", extracted.sitename),
            ("author", extracted.author),
        )
        if value
    }
    metadata.update(info)
    kept = {_key(b.text) for b in blocks}
    dropped = tuple(b.text for b in lines if not _inside(_key(b.text), kept))
    return from_blocks(path, blocks, "html", metadata, dropped or tuple(neighbours))


def info_fields(lines: list[Block]) -> dict[str, str]:
    """The document's number, issuer and date as the page's 信息公开 table gives them.

    Such a table (索引号 | 11320100…, 发布机构 | 江州市公安局, 文号 | 江公通〔2023〕6号…)
    stands above or beside the article; its lines are read as label and value (the value
    in the label's line or on the next one). A page with fewer than two of its labels has no
    such table: a lone ``文号：`` line is the article's text.

    Returns:
        ``number``, ``issuer`` and ``date`` (``YYYY-MM-DD``) where the table has them.
    """
    found: dict[str, str] = {}
    labels: set[str] = set()
    texts = [_key(b.text) for b in lines]
    for index, text in enumerate(texts):
        match = _info_label(text)
        if match is None:
            continue
        label = match.group(1)
        labels.add(label)
        value = text[match.start(2) :]  # the page's own characters (the fold keeps offsets)
        if not value and index + 1 < len(texts) and not _info_label(texts[index + 1]):
            value = _clean(lines[index + 1].text)
        key = _INFO_FIELDS.get(label)
        if key == "date":
            date = _INFO_DATE_RE.match(value)
            value = f"{date[1]}-{int(date[2]):02d}-{int(date[3]):02d}" if date else ""
        if key and value and key not in found:
            found[key] = value
    return found if len(labels) >= 2 else {}


def _info_rows_first(blocks: list[Block]) -> list[Block]:
    """The rows of the 信息公开 table the extractor kept, under the title where the page
    has them (above the article), not after the signature where the extractor may put its
    tables: text of no section, as a text file's table above the body is."""
    rows: list[Block] = []
    rest: list[Block] = []
    for block in blocks:
        info = block.kind == "table_row" and _is_info_row(block.text)
        (rows if info else rest).append(block)
    if not rows:
        return blocks
    at = next((k + 1 for k, b in enumerate(rest) if b.kind == "title"), 0)
    return [*rest[:at], *rows, *rest[at:]]


def _is_info_row(text: str) -> bool:
    return _info_label(_key(text.split("\t", 1)[0])) is not None


def _info_label(text: str) -> re.Match[str] | None:
    """The 信息公开 label opening ``text`` (either script: 文号 or 文號), matched on its
    simplified fold: the label is simplified, the offsets are the text's own."""
    return _INFO_LABEL_RE.match(fold_chars(text))


def _with_number(blocks: list[Block], number: str) -> list[Block]:
    """The document number of the 信息公开 table under the title (and the table's rows), as
    a text file prints it, for the parser to make it the 发文字号; unless the article itself
    prints it on a line of its own, or it is no number the parser takes for one."""
    if not number or not DOC_NUMBER_RE.match(fold_chars(number)):
        return blocks
    if any(_key(b.text) == _key(number) for b in blocks):
        return blocks
    at = next((k + 1 for k, b in enumerate(blocks) if b.kind == "title"), 0)
    while at < len(blocks) and blocks[at].kind == "table_row" and _is_info_row(blocks[at].text):
        at += 1
    return [*blocks[:at], Block(number), *blocks[at:]]


def _restore_inside(blocks: list[Block], lines: list[Block], title: str) -> list[Block]:
    """Put back the page lines the extractor left out *inside* the article.

    The article is one stretch of the page; a line between its first and its last extracted
    block (a short heading such as ``一、总体要求`` that the extractor judged boilerplate) is
    article text, and is restored at its place with the kind its markup gives it. The
    stretch starts after the title: the bar between title and text (来源, 字号) is chrome.

    Lines are matched on their text without whitespace (``_key``): the extractor writes every
    run of whitespace as one ASCII space (``第一条　本…`` comes out ``第一条 本…``), the page
    keeps its full-width spaces and NBSPs, and a line must not be taken for a missing one
    (and restored a second time) for that alone.
    """
    texts = [_key(b.text) for b in lines]
    extracted = {_key(b.text) for b in blocks}
    positions: list[int] = []
    cursor = 0
    for block in blocks:
        found = -1 if block.text == title else _find(texts, _key(block.text), cursor)
        positions.append(found)
        if found >= 0:
            cursor = found + 1
    matched = [p for p in positions if p >= 0]
    if len(matched) < 2:
        return blocks
    covered = set(matched)
    out: list[Block] = []
    previous = -1
    for block, pos in zip(blocks, positions, strict=True):
        if pos > previous >= 0:
            for index in range(previous + 1, pos):
                if index not in covered and not _inside(texts[index], extracted):
                    out.append(lines[index])
        out.append(block)
        if pos >= 0:
            previous = pos
    return out


def _find(texts: list[str], text: str, start: int) -> int:
    for index in range(start, len(texts)):
        if texts[index] == text or text in texts[index]:
            return index
    return -1


def fragment_blocks(fragment: str | bytes) -> list[Block]:
    """Blocks of an HTML fragment: one per block element or ``<br>``-separated line.

    Used to list the page's lines (for ``dropped``) and by the benchmark to map
    readability-lxml's output the same way.
    """
    root = lxml_html.fromstring(fragment) if fragment else None
    if root is None:
        return []
    for bad in list(root.iter(*_DROP_TAGS)):
        bad.drop_tree()
    blocks: list[Block] = []
    pending: list[str] = []
    kind: list[Any] = ["paragraph", 0]

    def flush() -> None:
        text = _clean("".join(pending))
        pending.clear()
        if text:
            blocks.append(Block(text, kind[0], kind[1]))

    def visit(node: etree._Element) -> None:
        tag = node.tag if isinstance(node.tag, str) else ""
        block = tag in _BLOCK_TAGS
        if block:
            flush()
            if re.fullmatch(r"h[1-6]", tag):
                kind[:] = ["heading", int(tag[1])]
            elif tag == "li":
                kind[:] = ["list_item", 1]
        if tag == "br":
            flush()
        elif node.text:
            pending.append(node.text)
        for child in node:
            visit(child)
            if child.tail:
                pending.append(child.tail)
        if block:
            flush()
            kind[:] = ["paragraph", 0]

    visit(root)
    flush()
    return blocks


def _without_site_name(title: str, lines: list[Block]) -> str:
    """The page's title without the site's name after it (廢棄電子產品回收條例-全國法規資料庫,
    …｜香港法例) when the page prints the name before it as a line of its own: that line is
    the document's name, the rest is the site's."""
    for match in _SITE_SEPARATOR_RE.finditer(title):
        name = title[: match.start()].strip()
        if name and any(b.text == name for b in lines):
            return name
    return title


def page_lines(page: str) -> list[Block]:
    """Every visible text line of a whole page as a block, in order (scripts left out)."""
    try:
        root = lxml_html.document_fromstring(page)
    except (etree.ParserError, ValueError):
        return []
    body = root.find("body")
    target = body if body is not None else root
    return fragment_blocks(lxml_html.tostring(target, encoding="unicode"))


def _xml_blocks(body: etree._Element) -> list[Block]:
    blocks: list[Block] = []
    for node in body:
        _map_node(node, blocks)
    return blocks


def _map_node(node: etree._Element, blocks: list[Block]) -> None:
    tag = node.tag
    if tag == "head":
        level = _heading_level(node.get("rend", ""))
        for line in _lines(node):
            blocks.append(Block(line, "heading", level))
    elif tag == "list":
        for item in node.iter("item"):
            for line in _lines(item):
                blocks.append(Block(line, "list_item", 1))
    elif tag == "table":
        for row in node.iter("row"):
            cells = list(row.iter("cell"))
            if any(len(cell) and cell[0].tag in ("head", "p", "list") for cell in cells):
                for cell in cells:
                    for child in cell:
                        _map_node(child, blocks)
                continue
            texts = [" ".join(_lines(cell)) for cell in cells]
            texts = [t for t in texts if t]
            if len(texts) == 1:
                blocks.extend(Block(line) for line in _lines(cells[0]) if line)
            elif texts:
                blocks.append(Block("\t".join(texts), "table_row"))
    elif tag in ("quote", "p", "code"):
        blocks.extend(Block(line) for line in _lines(node))
    else:
        for line in _lines(node):
            blocks.append(Block(line))


def _lines(node: etree._Element) -> list[str]:
    """The text of ``node`` split at its ``lb`` (``<br>``) elements."""
    parts: list[str] = [node.text or ""]
    for child in node:
        if child.tag == "lb":
            parts.append("\n")
        else:
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return [line for line in (_clean(x) for x in "".join(parts).split("\n")) if line]


def _heading_level(rend: str) -> int:
    match = re.fullmatch(r"h([1-6])", rend)
    return int(match.group(1)) if match else 2


def _drop_neighbour_links(blocks: list[Block]) -> tuple[list[Block], list[str]]:
    """Links to the previous and next article and breadcrumbs, which the extractor may keep,
    left out (and returned, to be listed as dropped)."""
    kept, dropped = [], []
    for block in blocks:
        folded = fold_chars(block.text)
        if _NEIGHBOUR_LINK_RE.match(folded) or _BREADCRUMB_RE.match(folded):
            dropped.append(block.text)
        else:
            kept.append(block)
    return kept, dropped


def _inside(line: str, kept: set[str]) -> bool:
    return line in kept or any(line in text for text in kept)


def _key(text: str) -> str:
    """``text`` as the page and the extractor both give it: without whitespace of any kind
    (U+3000, NBSP, ASCII) and without the invisible marks the extractor removes (U+200B…)."""
    return _NOT_TEXT_RE.sub("", text)


def _clean(text: str) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", text).strip(_INVISIBLE)
