"""Word files (.docx): paragraphs, headings, automatic list numbering and tables, in order.

python-docx opens the package and resolves styles; this module maps the body to blocks.
Word's automatic numbering (``一、`` ``（一）`` ``1.`` made by a list definition rather than
typed) is not in the paragraph's text, yet it is how readers cite the document, so it is
rendered from ``numbering.xml`` into the text exactly as Word shows it: the level's
``lvlText`` with each ``%N`` replaced by that level's counter in its ``numFmt``
(``chineseCounting`` 一二三, ``ideographTraditional`` 甲乙丙, ``decimal``, circled and
enclosed digits, letters, Roman numerals). Counters run per list definition, restart when a
list instance says ``startOverride``, and deeper levels restart when a shallower one advances.
Headers and footers are page chrome: left out, and listed in ``RawDocument.dropped``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from ...errors import SourceError
from ...schema import chinese_number
from ...textnorm import fold_chars
from . import Block, RawDocument, from_blocks

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_NS = {"w": _W}
_HEADING_RE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})
_CN_DIGITS = "零一二三四五六七八九"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"
_DIZHI = "子丑寅卯辰巳午未申酉戌亥"
# Characters a number can end in without Word's tab looking like a space to a reader.
_TIGHT_END = "、）)．.，：:"


def _xpath(element: Any, expr: str) -> Any:
    """XPath with the w: prefix on any element (python-docx's own ``xpath`` takes no map)."""
    return etree.XPath(expr, namespaces=_NS)(element)


def read_docx(data: bytes, path: Path) -> RawDocument:
    """Read a Word file into blocks.

    Args:
        data: The ``.docx`` bytes.
        path: The file's path, for messages.

    Returns:
        Title/heading/paragraph/list-item/table-row blocks in body order, automatic numbers
        rendered into their text; ``metadata['title']`` from the document properties.

    Raises:
        SourceError: Not a Word (OOXML) file, e.g. an old binary ``.doc`` renamed.
    """
    import docx

    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(
            "an old binary Word document (.doc); open it in Word or LibreOffice "
            "and save it as .docx"
        )
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(f"not a readable .docx file ({exc}); re-save it in Word") from None
    numbering = _Numbering(document)
    styles = _StyleInfo(document)
    blocks: list[Block] = []
    for element in _body_elements(document.element.body):
        if element.tag == f"{{{_W}}}p":
            block = _paragraph_block(element, styles, numbering)
            if block is not None:
                blocks.append(block)
        else:
            blocks.extend(_table_rows(element))
    metadata = {}
    title = (document.core_properties.title or "").strip()
    if title:
        metadata["title"] = title
    return from_blocks(path, blocks, "docx", metadata, _header_footer_lines(document))


def _body_elements(parent: Any) -> Iterator[Any]:
    """Paragraphs and tables of the body in order, content controls (``w:sdt``) opened."""
    for child in parent.iterchildren():
        tag = child.tag
        if tag in (f"{{{_W}}}p", f"{{{_W}}}tbl"):
            yield child
        elif tag == f"{{{_W}}}sdt":
            for content in child.iterchildren(f"{{{_W}}}sdtContent"):
                yield from _body_elements(content)


def paragraph_text(p: Any) -> str:
    """All the text of a ``w:p`` as Word shows it: runs, hyperlinks, insertions, fields'
    results, tabs and line breaks; deleted and moved-away text and fallback copies left out."""
    parts: list[str] = []
    for node in p.iter(f"{{{_W}}}t", f"{{{_W}}}tab", f"{{{_W}}}br", f"{{{_W}}}cr"):
        if _skipped(node, p):
            continue
        local = node.tag.rsplit("}", 1)[1]
        if local == "t":
            parts.append(node.text or "")
        elif local == "tab":
            # A w:tab inside w:pPr/w:tabs is a tab stop definition, not a character.
            if node.getparent().tag != f"{{{_W}}}tabs":
                parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _skipped(node: Any, stop: Any) -> bool:
    parent = node.getparent()
    while parent is not None and parent is not stop:
        tag = parent.tag
        if tag in (f"{{{_W}}}del", f"{{{_W}}}moveFrom", f"{{{_MC}}}Fallback"):
            return True
        parent = parent.getparent()
    return False


def _paragraph_block(p: Any, styles: _StyleInfo, numbering: _Numbering) -> Block | None:
    text = paragraph_text(p).strip(" \u3000\xa0\u200b\ufeff")
    style_id = _xpath(p, "string(w:pPr/w:pStyle/@w:val)")
    num_id, ilvl = _num_pr(p)
    if num_id is None:
        num_id, ilvl = styles.num_pr(style_id)
    label = numbering.next_label(num_id, ilvl) if num_id is not None else ""
    if not text:
        return None
    text = label + text
    name = fold_chars(styles.name(style_id))  # a Traditional Word names them 標題 1
    heading = _HEADING_RE.match(name)
    if name.lower() in _TITLE_STYLES:
        return Block(text, "title", 1)
    if heading:
        return Block(text, "heading", int(heading.group(1)))
    if num_id is not None and label:
        return Block(text, "list_item", (ilvl or 0) + 1)
    return Block(text)


def _num_pr(p: Any) -> tuple[int | None, int]:
    num = _xpath(p, "w:pPr/w:numPr/w:numId/@w:val")
    lvl = _xpath(p, "w:pPr/w:numPr/w:ilvl/@w:val")
    num_id = int(num[0]) if num else None
    return (num_id if num_id else None), (int(lvl[0]) if lvl else 0)


def _table_rows(tbl: Any) -> list[Block]:
    """One ``table_row`` block per row: its cells' texts joined by tabs (merged cells once)."""
    rows: list[Block] = []
    for tr in tbl.iterchildren(f"{{{_W}}}tr"):
        cells: list[str] = []
        for tc in tr.iterchildren(f"{{{_W}}}tc"):
            if _xpath(tc, "w:tcPr/w:vMerge[not(@w:val) or @w:val='continue']"):
                cells.append("")  # the cell above holds the text of a vertical merge
                continue
            texts = [paragraph_text(p).strip() for p in tc.iterchildren(f"{{{_W}}}p")]
            cells.append(" ".join(t for t in texts if t))
            for nested in tc.iterchildren(f"{{{_W}}}tbl"):
                rows.extend(_table_rows(nested))
        if any(cells):
            rows.append(Block("\t".join(cells).strip("\t"), "table_row"))
    return rows


def _header_footer_lines(document: Any) -> tuple[str, ...]:
    seen: list[str] = []
    for section in document.sections:
        for part in (section.header, section.footer):
            if part.is_linked_to_previous and seen:
                continue
            for p in part._element.iter(f"{{{_W}}}p"):
                text = paragraph_text(p).strip()
                if text and text not in seen:
                    seen.append(text)
    return tuple(seen)


class _StyleInfo:
    """Style names and list numbering inherited through ``basedOn``."""

    def __init__(self, document: Any) -> None:
        self._styles: dict[str, Any] = {}
        element = document.styles.element
        for style in element.iterchildren(f"{{{_W}}}style"):
            self._styles[style.get(f"{{{_W}}}styleId")] = style

    def name(self, style_id: str) -> str:
        style = self._styles.get(style_id)
        if style is None:
            return ""
        names = _xpath(style, "w:name/@w:val")
        return str(names[0]) if names else style_id

    def num_pr(self, style_id: str) -> tuple[int | None, int]:
        seen = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self._styles.get(style_id)
            if style is None:
                break
            num_id, ilvl = _num_pr(style)
            if num_id is not None:
                return num_id, ilvl
            based = _xpath(style, "w:basedOn/@w:val")
            style_id = str(based[0]) if based else ""
        return None, 0


@dataclass
class _Level:
    fmt: str
    text: str
    start: int
    suffix: str
    legal: bool


class _Numbering:
    """Counters of Word's list definitions, advanced paragraph by paragraph."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[int, dict[int, _Level]] = {}  # abstractNumId -> ilvl -> level
        self._abstract_of: dict[int, int] = {}  # numId -> abstractNumId
        self._overrides: dict[int, dict[int, int]] = {}  # numId -> ilvl -> start
        self._counters: dict[int, dict[int, int]] = {}  # abstractNumId -> ilvl -> value
        self._started: set[int] = set()
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for abstract in root.iterchildren(f"{{{_W}}}abstractNum"):
            aid = int(abstract.get(f"{{{_W}}}abstractNumId"))
            self._levels[aid] = {
                int(lvl.get(f"{{{_W}}}ilvl")): _level(lvl)
                for lvl in abstract.iterchildren(f"{{{_W}}}lvl")
            }
        for num in root.iterchildren(f"{{{_W}}}num"):
            nid = int(num.get(f"{{{_W}}}numId"))
            ref = _xpath(num, "w:abstractNumId/@w:val")
            if ref:
                self._abstract_of[nid] = int(ref[0])
            for override in num.iterchildren(f"{{{_W}}}lvlOverride"):
                start = _xpath(override, "w:startOverride/@w:val")
                if start:
                    ilvl = int(override.get(f"{{{_W}}}ilvl"))
                    self._overrides.setdefault(nid, {})[ilvl] = int(start[0])

    def next_label(self, num_id: int, ilvl: int) -> str:
        """Advance list ``num_id`` at level ``ilvl`` and return the number as Word shows it."""
        aid = self._abstract_of.get(num_id)
        levels = self._levels.get(aid) if aid is not None else None
        if aid is None or not levels or ilvl not in levels:
            return ""
        counters = self._counters.setdefault(aid, {})
        if num_id not in self._started:
            self._started.add(num_id)
            for lvl, start in self._overrides.get(num_id, {}).items():
                counters[lvl] = start - 1
        level = levels[ilvl]
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        if level.fmt in ("bullet", "none"):
            return ""

        def place(match: re.Match[str]) -> str:
            n = int(match.group(1)) - 1
            lv = levels.get(n)
            if lv is None:
                return ""
            value = counters.get(n, lv.start)
            return format_number(value, "decimal" if level.legal else lv.fmt)

        label = re.sub(r"%([1-9])", place, level.text)
        if not label:
            return ""
        if level.suffix == "nothing" or label.endswith(tuple(_TIGHT_END)):
            return label
        return label + " "


def _level(lvl: Any) -> _Level:
    def val(name: str, default: str) -> str:
        found = _xpath(lvl, f"w:{name}/@w:val")
        return str(found[0]) if found else default

    return _Level(
        fmt=val("numFmt", "decimal"),
        text=val("lvlText", ""),
        start=int(val("start", "1")),
        suffix=val("suff", "tab"),
        legal=bool(_xpath(lvl, "w:isLgl[not(@w:val) or @w:val!='0' and @w:val!='false']")),
    )


def format_number(value: int, fmt: str) -> str:
    """``value`` in Word's number format ``fmt`` (``chineseCounting`` 3 → 三, 12 → 十二)."""
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "taiwaneseCounting",
        "taiwaneseCountingThousand",
        "japaneseCounting",
        "ideographDigital",
    ):
        return (
            chinese_number(value)
            if fmt != "ideographDigital"
            else "".join(_CN_DIGITS[int(d)] for d in str(value))
        )
    if fmt == "ideographTraditional":
        return _TIANGAN[(value - 1) % 10]
    if fmt == "ideographZodiac":
        return _DIZHI[(value - 1) % 12]
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return chr(0x2460 + value - 1) if 1 <= value <= 20 else str(value)
    if fmt == "decimalEnclosedParen":
        return chr(0x2474 + value - 1) if 1 <= value <= 20 else f"({value})"
    if fmt == "decimalEnclosedFullstop":
        return chr(0x2488 + value - 1) if 1 <= value <= 20 else f"{value}."
    if fmt == "decimalFullWidth" or fmt == "decimalFullWidth2":
        return "".join(chr(0xFF10 + int(d)) for d in str(value))
    if fmt == "decimalZero":
        return f"{value:02d}"
    if fmt in ("upperLetter", "lowerLetter"):
        letter = chr(ord("A") + (value - 1) % 26) * ((value - 1) // 26 + 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("upperRoman", "lowerRoman"):
        roman = _roman(value)
        return roman if fmt == "upperRoman" else roman.lower()
    return str(value)


def _roman(value: int) -> str:
    out = []
    for size, sign in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        count, value = divmod(value, size)
        out.append(sign * count)
    return "".join(out)
