"""Stage 1b: a table of contents (目录) at the head of a document is skipped, and reported.

Statutes and long official documents often open with ``目录`` (or ``目 录``) and the list of
their 编/章/节 or 一、 headings, with dot leaders and page numbers in Word or PDF exports;
then the text itself begins with the first of those headings again. Read as text, the list
would become the document's chapters (every entry an empty section) and its lines would be
indexed as body. The list is taken out before the layout is read and reported as a change
(``contents_skipped``, with its lines), so ``rag check`` can account for every skipped line.

The list is only taken when it is certain: the ``目录`` line comes before any article or
body paragraph, it is followed by at least two entries (numbered headings, or the few
unnumbered parts such as 序言 and 附则), and the first entry comes back after the list (the
text's own first heading). Otherwise nothing is skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .blocks import INVISIBLE, LIST_RANK_MIN, Unit, is_contents_heading, marker_of
from .numbering import ARTICLE_RANK

# Dot leaders and a page number after an entry: ``第一章 总则……1``, ``第二章 … . . . 12``,
# ``第三章\t7`` (Word's tab before the page number).
_LEADER_RE = re.compile(r"(?:[\s.．·…‥─—_-]*(?:\d{1,4}|[ivxlcdm]{1,6}))?\s*$", re.IGNORECASE)
_LEADER_CHARS_RE = re.compile(r"[.．·…‥]{2,}|[─—_]{3,}")
# Parts a contents list names without a number.
_UNNUMBERED = frozenset(
    {"序言", "前言", "引言", "总则", "分则", "附则", "附件", "附录", "附表", "后记", "说明"}
    | {"结束语"}
)
_ANNEX_RE = re.compile(r"^附件\s*[\d一二三四五六七八九十]*[：:]?")
_ENTRY_MAX_CHARS = 60
# The 目录 line comes within this many blocks of the top (title, 题注, history before it).
_HEAD_BLOCKS = 30
_SENTENCE_END_RE = re.compile(r"[。！？；]")
# Blocks that may stand between the list and the text (the title printed again).
_GAP_BLOCKS = 3


@dataclass(frozen=True)
class Contents:
    """A skipped table of contents: the source lines it held."""

    lines: tuple[int, ...]
    entries: int


def skip_contents(units: list[Unit]) -> tuple[list[Unit], Contents | None]:
    """Take the table of contents out of a file's blocks.

    Args:
        units: The file's blocks in order (from :func:`~rag.parsing.blocks.split_units`).

    Returns:
        The blocks without the contents list, and what was skipped (None when there is no
        contents list, or it cannot be told apart from the text with certainty).
    """
    head = _contents_heading(units)
    if head is None:
        return units, None
    listed = [_entry_key(line) for line in units[head].raw[1:] if line.strip(INVISIBLE)]
    if any(k is None for k in listed):
        return units, None
    first_key = listed[0] if listed else None
    entries = len(listed)
    end = head + 1
    while end < len(units):
        keys = [_entry_key(line) for line in units[end].raw if line.strip(INVISIBLE)]
        if first_key is not None and keys and keys[0] == first_key:
            break  # the text begins: its first heading again
        if not keys or any(k is None for k in keys):
            # Something else between the list and the text (the title again): the list
            # ends here only when the text's first heading follows right after.
            if not _comes_back(units[end + 1 : end + 1 + _GAP_BLOCKS], first_key):
                return units, None
            break
        first_key = first_key or keys[0]
        entries += len(keys)
        end += 1
    if end >= len(units) or entries < 2:
        return units, None
    lines = tuple(n for u in units[head:end] for n in u.lines)
    return units[:head] + units[end:], Contents(lines, entries)


def _comes_back(units: list[Unit], key: str | None) -> bool:
    return key is not None and any(
        u.raw and _entry_key(next(x for x in u.raw if x.strip(INVISIBLE))) == key
        for u in units
        if any(x.strip(INVISIBLE) for x in u.raw)
    )


def _contents_heading(units: list[Unit]) -> int | None:
    """The index of the ``目录`` block, when it comes before the text."""
    for index, unit in enumerate(units[:_HEAD_BLOCKS]):
        first = next((line for line in unit.raw if line.strip(INVISIBLE)), "")
        if is_contents_heading(first):
            return index
        marker = marker_of(unit.text)
        if marker is not None and marker.rank == ARTICLE_RANK:
            return None  # the articles have begun
    return None


def _entry_key(line: str) -> str | None:
    """What identifies a contents entry (its numbering, or its words); None for a line that
    is no entry (an article, a sentence, a long line)."""
    text = line.strip(INVISIBLE + "#")
    text = _LEADER_RE.sub("", _LEADER_CHARS_RE.sub(" ", text)).strip(INVISIBLE)
    if not text or len(text) > _ENTRY_MAX_CHARS or _SENTENCE_END_RE.search(text):
        return None
    marker = marker_of(text)
    if marker is not None:
        if marker.rank == ARTICLE_RANK or marker.rank > LIST_RANK_MIN + 10:
            return None  # articles and minor list items are never listed as contents
        return marker.label
    words = re.sub(f"[{INVISIBLE}]", "", text)
    if words in _UNNUMBERED or _ANNEX_RE.match(words):
        return words
    return None


__all__ = ["Contents", "skip_contents"]
