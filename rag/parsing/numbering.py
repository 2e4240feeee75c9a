"""Stage 2b: the section path of official numbering (编/章/节/条, 一、（一）1.（1）①).

Numbered entries nest by rank (a new marker closes markers of equal or deeper rank).
Unnumbered headings close the previous heading of the same kind (same or deeper markdown
level, or the previous plain heading) and nest under whatever numbering is open. In a
statute, an unnumbered paragraph after a list is the article's next 款: it closes the list's
items instead of being filed under the last one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..schema import SectionRef
from .blocks import LIST_RANK_MIN, Marker, unbold

_BRACKET_TITLE_RE = re.compile(r"^[【（(]([^】）)]{1,20})[】）)]")
_LEAD_TITLE_RE = re.compile(r"^([^。！？；]{1,30})。")
ARTICLE_RANK = 40


@dataclass(frozen=True)
class Entry:
    label: str
    title: str
    rank: float
    md_level: int = 0
    plain: bool = False
    from_paragraph: bool = False


class SectionStack:
    """The current section path while walking a document."""

    def __init__(self, *, statute: bool = False) -> None:
        self.entries: list[Entry] = []
        self.statute = statute
        self._path: tuple[SectionRef, ...] | None = ()

    def heading(self, marker: Marker | None, text: str, level: int) -> None:
        """A section heading (markdown level ``level``, 0 for a plain line)."""
        self._path = None
        # A heading is never inside a numbered paragraph such as ``第十条 ……。``.
        while self.entries and self.entries[-1].from_paragraph:
            self.entries.pop()
        if level:
            # ``## 第一章`` after ``## 序言`` closes the preamble.
            self._truncate(lambda e: e.md_level > 0 and e.md_level >= level)
        if marker is not None:
            self._push_marker(marker, marker.rest, level, from_paragraph=False)
            return
        if not level:
            self._truncate(lambda e: e.plain)
        rank = (self.entries[-1].rank if self.entries else 0) + 0.5
        # A bold line's title is cited without its marks (「问1：…？」, not 「**问1：…？**」).
        self.entries.append(Entry("", unbold(text), rank, level, plain=not level))

    def paragraph(self, marker: Marker | None) -> None:
        """A body paragraph opening with ``marker`` (or none)."""
        if marker is not None:
            self._path = None
            self._push_marker(marker, paragraph_title(marker), 0, from_paragraph=True)
        elif self.statute and self.entries and self.entries[-1].rank >= LIST_RANK_MIN:
            self._path = None
            while self.entries and self.entries[-1].rank >= LIST_RANK_MIN:
                self.entries.pop()

    def path(self) -> tuple[SectionRef, ...]:
        """The path from outermost to innermost (one tuple shared while it is unchanged)."""
        if self._path is None:
            self._path = tuple(
                SectionRef(e.label, e.title, k + 1) for k, e in enumerate(self.entries)
            )
        return self._path

    def _push_marker(self, marker: Marker, title: str, md_level: int, from_paragraph: bool) -> None:
        while self.entries and self.entries[-1].rank >= marker.rank:
            self.entries.pop()
        self.entries.append(
            Entry(marker.label, title, marker.rank, md_level, from_paragraph=from_paragraph)
        )

    def _truncate(self, closes: Callable[[Entry], bool]) -> None:
        for k, entry in enumerate(self.entries):
            if closes(entry):
                del self.entries[k:]
                return


def paragraph_title(marker: Marker) -> str:
    """Heading words of a numbered paragraph: ``（二）着力提升文化品位。……`` → 着力提升文化品位.

    Articles (第十条) carry a title only in brackets; their first sentence is law text.
    """
    bracket = _BRACKET_TITLE_RE.match(marker.rest)
    if bracket:
        return bracket.group(1)
    if marker.rank >= LIST_RANK_MIN:
        lead = _LEAD_TITLE_RE.match(marker.rest)
        if lead and lead.end() < len(marker.rest):
            return lead.group(1)
    return ""


__all__ = ["ARTICLE_RANK", "SectionStack", "paragraph_title"]
