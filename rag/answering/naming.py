"""Documents a question names: by full title or by the short name readers use.

A reader asks 劳动合同法第三十九条规定了什么？ or 宪法第三十三条…, not 《中华人民共和国劳动合同法》:
the title without 中华人民共和国 is how laws are named in speech and in other laws. Every
official document (:data:`rag.schema.AUTHORITATIVE_KINDS`) is known by its normalised title
and by that short name; a question names a document when one of them stands in it (in 《》 or
not). A name found inside a longer name found around it does not count on its own (the
longer match wins).

The names are read once per generation from the store's catalogue columns (no Document is
built), and only official documents are indexed: a corpus of news or Wikipedia records costs
nothing here.

Example:
    >>> names = TitleNames(generation.documents)
    >>> names.named("劳动合同法第三十九条规定了什么？")
    ('laws/劳动合同法(2012-12-28).md',)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ..columnar import catalogue
from ..lru import Once
from ..schema import AUTHORITATIVE_KINDS, Document

# Prefixes a law's title carries that its short name drops.
_PREFIXES = ("中华人民共和国",)
# A trailing revision note: 中华人民共和国宪法（2018年修正）.
_REVISION = re.compile(r"[（(][^（）()]*[修正订改][^（）()]*[）)]$")
# A local regulation is named without its place (上海市城市软实力建设促进办法 → 城市软实力建设
# 促进办法) when its title ends as a regulation does.
_PLACE = re.compile(r"^[\u4e00-\u9fff]{2,7}?(?:省|市|自治区|特别行政区|自治州|自治县)")
_RULE_ENDINGS = ("法", "法典", "条例", "办法", "规定", "细则", "规则", "实施意见")
# A short name of two characters names a law only when it is one (宪法, 刑法); other short
# names need three (物业管理条例, 民法典): two characters of a resolution's title are a word.
_LAW_ENDINGS = ("法", "法典", "条例")


def aliases(title: str) -> set[str]:
    """The names a document's (normalised) title is known by: itself, without a revision
    note, without 中华人民共和国, and a local regulation without its place (上海市…办法)."""
    out: set[str] = set()
    base = _REVISION.sub("", title).strip()
    for name in {title.strip(), base}:
        if len(name) >= 3:
            out.add(name)
        for prefix in _PREFIXES:
            short = name.removeprefix(prefix)
            if short != name and (
                len(short) >= 3 or (len(short) == 2 and short.endswith(_LAW_ENDINGS))
            ):
                out.add(short)
        place = _PLACE.match(name)
        if place and name.endswith(_RULE_ENDINGS) and len(name) - place.end() >= 4:
            out.add(name[place.end() :])
    return out


# The kinds of official document (GB/T 9704's 文种, with 纪要 and 方案) that a title ends
# with and a reader points at a document by: 这份批复, 该通知, 函 (a question's first word).
_DOC_KINDS = (
    "决议",
    "决定",
    "命令",
    "公报",
    "公告",
    "通告",
    "意见",
    "通知",
    "通报",
    "报告",
    "请示",
    "批复",
    "议案",
    "函",
    "纪要",
    "方案",
)
_KIND_Q = re.compile("(?:^|这份|这个|这篇|这项|这次|该|本|此|上述)(" + "|".join(_DOC_KINDS) + ")")

_Names = tuple[dict[str, tuple[str, ...]], frozenset[str], list[int], dict[str, tuple[str, ...]]]


def _names(documents: Mapping[str, Document]) -> _Names:
    """Every name of every authoritative document (name → doc ids), the characters a name
    starts with, the lengths of names (longest first, two characters or more), and the
    documents of each kind a title ends with (通知 → the notices) when not every document
    of the generation is of it (a kind then tells nothing apart)."""
    names: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    count = 0
    for doc_id, kind, _, _, title in catalogue(documents):
        count += 1
        if kind not in AUTHORITATIVE_KINDS or not title:
            continue
        for name in aliases(title):
            names.setdefault(name, []).append(doc_id)
        ending = next((k for k in _DOC_KINDS if title.endswith(k)), None)
        if ending is not None:
            kinds.setdefault(ending, []).append(doc_id)
    firsts = frozenset(name[0] for name in names)
    lengths = sorted({len(name) for name in names if len(name) > 1}, reverse=True)
    of_kind = {k: tuple(v) for k, v in kinds.items() if len(v) < count}
    return {k: tuple(dict.fromkeys(v)) for k, v in names.items()}, firsts, lengths, of_kind


class TitleNames:
    """The official documents of one generation by their names (built on first use,
    shared between threads).

    Args:
        documents: The generation's documents by id.
    """

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self._names = Once(lambda: _names(documents))

    def _load(self) -> _Names:
        return self._names.get()

    def named(self, question: str) -> tuple[str, ...]:
        """The documents the (normalised) question names, in the order it names them.

        Args:
            question: The question, normalised (:func:`rag.textnorm.normalize`).

        Returns:
            Document ids, each once; empty when it names none.
        """
        names, firsts, lengths, _ = self._load()
        if not names:
            return ()
        found: list[tuple[int, int, tuple[str, ...]]] = []
        n = len(question)
        # Only where a name can start, only lengths some name has: the longest name at each
        # place is found as a scan of every length would find it.
        for i in range(n - 1):
            if question[i] not in firsts:
                continue
            for length in lengths:
                if length > n - i:
                    continue
                ids = names.get(question[i : i + length])
                if ids is not None:
                    found.append((i, i + length, ids))
                    break
        # A name inside a longer one found around it is part of that name (民法 in 民法典).
        kept = [
            ids
            for s, e, ids in found
            if not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for s2, e2, _ in found)
        ]
        return tuple(dict.fromkeys(i for ids in kept for i in ids))

    def of_kind(self, question: str, tokens: Sequence[str]) -> tuple[str, ...]:
        """The documents the (normalised) question points at by their kind (这份批复, 该通知,
        函 as its first word): those whose title ends with it, when not every document of the
        generation does. The kind must be one of the question's words (``tokens``): 方案设计
        is no 方案. Empty when it points at none."""
        of_kind = self._load()[3]
        if not of_kind:
            return ()
        found = [
            of_kind[m.group(1)]
            for m in _KIND_Q.finditer(question)
            if m.group(1) in of_kind and m.group(1) in tokens
        ]
        return tuple(dict.fromkeys(i for ids in found for i in ids))


__all__ = ["TitleNames", "aliases"]
