"""Citations in the document's own structure, in the style its readers use.

Statutes: ``《中华人民共和国劳动合同法》第三十九条第（二）项``, ``…第十三条第二款``
(款 counted within the article and named only when the article has more than one),
``…第十七条之一``. Other numbered documents: ``《标题》三、（二）``, ``《标题》第二章 第十条``;
unnumbered text: ``《标题》第3段`` or ``《标题》「小标题」第3段``; picture captions and
credits: ``《标题》图片说明``; the dateline of a resolution or the enactment history of a law:
``《标题》题注``; headings quoted for themselves: ``《标题》标题`` (the title, a
kicker or subtitle), ``《标题》「小标题」标题``, ``《中华人民共和国劳动合同法》第二章 标题``,
``《决议》三、 标题``.
"""

from __future__ import annotations

import re

from .schema import ROLE_LABELS, Document, Paragraph, chinese_number
from .textnorm import is_traditional

# Article labels in either script (條, 兩).
_ARTICLE_RE = re.compile(
    r"^第(?:[一二三四五六七八九十百千零〇两兩]+|\d+(?:-\d+)?)[条條](?:之[一二三四五六七八九十]+)?$"
)
_ITEM_RE = re.compile(r"^[（(]([一二三四五六七八九十百零〇两兩]+)[）)]$")
# Per-document indexes, by id(); a document is immutable, so an entry never goes stale.
_INDEX_CACHE: dict[int, tuple[Document, dict[tuple[str, ...], int]]] = {}
_CACHE_LIMIT = 512


def full_title(doc: Document) -> str:
    """Title with a dash subtitle attached (the side report's ——…侧记 says what it is)."""
    return title_with_subtitle(doc.title, doc.subtitle)


def title_with_subtitle(title: str, subtitle: str) -> str:
    """:func:`full_title` from the two strings."""
    if subtitle.startswith(("——", "──", "—")):
        return f"{title}{subtitle}"
    return title


def cite(doc: Document, paragraph: int) -> str:
    """Chinese citation of one paragraph.

    Example:
        >>> cite(resolution, 3)
        '《十一届市委十一次全会决议》第3段'
        >>> cite(labour_contract_law, 120)
        '《中华人民共和国劳动合同法》第三十九条第（二）项'
    """
    para = doc.paragraph(paragraph)
    head = f"《{full_title(doc)}》"
    words = _words(doc)
    if para.role in ROLE_LABELS:
        return f"{head}{words[ROLE_LABELS[para.role]]}"
    if para.role == "heading":
        return f"{head}{_heading_place(para)}{words['标题']}"
    statute = _statute_path(doc, para)
    if statute:
        return f"{head}{statute}"
    numbered = tuple(ref.label for ref in para.section if ref.label)
    if numbered:
        shared = _index(doc).get(numbered, 0)
        path = " ".join(numbered)
        return f"{head}{path}" if shared == 1 else f"{head}{path} 第{paragraph}段"
    titled = [ref.title for ref in para.section if ref.title]
    if titled:
        return f"{head}「{titled[-1]}」第{paragraph}段"
    return f"{head}第{paragraph}段"


def cite_span(doc: Document, first: int, last: int) -> str:
    """Chinese citation of a quote from paragraph ``first`` to ``last``: one paragraph's
    citation when both give the same; the article alone when both lie in one statute
    article (a lead-in with its items, two 款); the first's when ``last`` is nested under
    its numbered item (（二） with its 1. 2. 3.); ``第12至13段`` for paragraphs of one part;
    else ``<first>至<last>``.

    Example:
        >>> cite_span(labour_contract_law, 120, 126)
        '《中华人民共和国劳动合同法》第三十九条'
    """
    start = cite(doc, first)
    if last <= first:
        return start
    end = cite(doc, last)
    if end == start:
        return start
    head = f"《{full_title(doc)}》"
    article = _article_label(doc.paragraph(first))
    if article and article == _article_label(doc.paragraph(last)):
        return f"{head}{article}"
    outer, inner = doc.paragraph(first).section, doc.paragraph(last).section
    if outer and outer[-1].label and inner[: len(outer)] == outer:
        # A numbered item with its sub-items (（二）基本原则。 1.… 2.… 3.…): that item.
        return start
    first_tail, last_tail = f"第{first}段", f"第{last}段"
    if (
        start.endswith(first_tail)
        and end.endswith(last_tail)
        and start[: -len(first_tail)] == end[: -len(last_tail)]
    ):
        return f"{start[: -len(first_tail)]}第{first}至{last}段"
    return f"{start}至{end.removeprefix(head)}"


def _article_label(para: Paragraph) -> str:
    return next((ref.label for ref in para.section if _ARTICLE_RE.match(ref.label)), "")


def _heading_place(para: Paragraph) -> str:
    """Where a heading stands: the numbered path it opens (``第二章 ``), or the unnumbered
    heading itself (``「小标题」``); nothing for the document's title."""
    numbered = [ref.label for ref in para.section if ref.label]
    if numbered:
        return " ".join(numbered) + " "
    titled = [ref.title for ref in para.section if ref.title]
    return f"「{titled[-1]}」" if titled else ""


def _statute_path(doc: Document, para: Paragraph) -> str:
    """``第三十九条第（二）项`` / ``第十三条第二款`` for a paragraph inside an article."""
    labels = [ref.label for ref in para.section]
    where = next((k for k, label in enumerate(labels) if _ARTICLE_RE.match(label)), None)
    if where is None:
        return ""
    article = labels[where]
    out = article
    clauses = _index(doc).get(("条", *labels[: where + 1]), 0)
    if para.section[where].numbered_in_digits:
        return out + _digit_law_path(para, labels[where + 1 :], clauses)
    if clauses > 1 and para.clause:
        out += f"第{chinese_number(para.clause)}款"
    item_word = _words(doc)["项"]
    for depth, label in enumerate(lab for lab in labels[where + 1 :] if lab):
        item = _ITEM_RE.match(label)
        if depth == 0 and item:
            out += f"第（{item.group(1)}）{item_word}"
        elif depth == 0:
            out += f"第{label.rstrip('.．、')}{item_word}"
        else:
            out += f"第{label.strip('()（）.．、')}目"
    return out


# Below an article numbered in digits, the names of Taiwan's and Hong Kong's laws: Taiwan
# counts an article's paragraphs as 項, its items 一、 as 款 and their items （一） as 目
# (第5條第二項, 第3條第一款); a Hong Kong section's subsections (1) are 款, its paragraphs (a)
# 段 and their subparagraphs (i) 節 (第4條第(2)款).
_ARABIC_ITEM_RE = re.compile(r"^[（(](\d+[A-Z]?)[）)]$")
_LATIN_ITEM_RE = re.compile(r"^[（(]([a-z]{1,2})[）)]$")
_ROMAN_ITEM_RE = re.compile(r"^[（(]([ivx]{1,5})[）)]$")
_CN_ITEM_RE = re.compile(r"^([一二三四五六七八九十百零〇两兩]+)[、.．]$")


def _digit_law_path(para: Paragraph, labels: list[str], clauses: int) -> str:
    """What follows a digit-numbered article in a citation, in its own law's words."""
    out = f"第{chinese_number(para.clause)}項" if clauses > 1 and para.clause else ""
    for label in (lab for lab in labels if lab):
        roman = _ROMAN_ITEM_RE.match(label)
        latin = None if roman else _LATIN_ITEM_RE.match(label)
        arabic = _ARABIC_ITEM_RE.match(label)
        chinese = _CN_ITEM_RE.match(label)
        if arabic:
            out += f"第({arabic.group(1)})款"
        elif latin:
            out += f"第({latin.group(1)})段"
        elif roman:
            out += f"第({roman.group(1)})節"
        elif chinese:
            out += f"第{chinese.group(1)}款"
        elif _ITEM_RE.match(label):
            out += f"第{label}目"
        else:
            out += f"第{label.strip('()（）.．、')}目"
    return out


# The words a citation adds to the document's own labels, in the document's script (款, 目,
# 段 and 至 are written alike in both).
_TRADITIONAL_WORDS = {
    "项": "項",
    "标题": "標題",
    "题注": "題注",
    "图片说明": "圖片說明",
    "发文字号": "發文字號",
    "落款": "落款",
    "署名": "署名",
    "版记": "版記",
    "主送机关": "主送機關",
    "附件说明": "附件說明",
    "版头": "版頭",
    "附注": "附註",
}
_SIMPLIFIED_WORDS = {word: word for word in _TRADITIONAL_WORDS}


def _words(doc: Document) -> dict[str, str]:
    """Citation words for ``doc``: Traditional when its title is written in Traditional
    script (《中華人民共和國示例法》第十三條第一款第（二）項), else Simplified."""
    return _TRADITIONAL_WORDS if is_traditional(doc.title) else _SIMPLIFIED_WORDS


def _index(doc: Document) -> dict[tuple[str, ...], int]:
    """Per numbered path: how many body paragraphs share it; per article: its 款 count."""
    cached = _INDEX_CACHE.get(id(doc))
    if cached is not None and cached[0] is doc:
        return cached[1]
    counts: dict[tuple[str, ...], int] = {}
    for p in doc.paragraphs:
        if p.role != "body":
            continue
        labels = tuple(ref.label for ref in p.section if ref.label)
        counts[labels] = counts.get(labels, 0) + 1
        if p.clause:
            full = [ref.label for ref in p.section]
            where = next((k for k, lab in enumerate(full) if _ARTICLE_RE.match(lab)), None)
            if where is not None:
                key = ("条", *full[: where + 1])
                counts[key] = max(counts.get(key, 0), p.clause)
    if len(_INDEX_CACHE) >= _CACHE_LIMIT:
        _INDEX_CACHE.clear()
    _INDEX_CACHE[id(doc)] = (doc, counts)
    return counts


__all__ = ["chinese_number", "cite", "cite_span", "full_title"]
