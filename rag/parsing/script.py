"""Traditional-script documents: the layout is read on a simplified fold, the text kept as is.

The layout stages (:mod:`.blocks`, :mod:`.news`, :mod:`.genre`, :mod:`.numbering`,
:mod:`.repairs`) recognise their words in simplified characters: a byline's 本报记者, a
document number's 〔2021〕号, a title's 决议 or 通知, a word split over two lines (jieba's
dictionary). A document written in Traditional characters (本報記者, 決議, 第三十九條) would
lose all of them. So a Traditional file is parsed on :func:`rag.textnorm.fold_chars` of its
text, which replaces each character by its simplified form one for one (every line and
offset unchanged), and each kept block's text is then cut back out of the original lines
by :class:`Restorer`: quotes, titles and citations stay in the document's own characters.

Example:
    >>> restorer = Restorer.of("本報記者 王嘉旸\\n\\n第一條　總則")
    >>> restorer.folded
    '本报记者 王嘉旸\\n\\n第一条　总则'
    >>> restorer.block("第一条　总则", (3,))
    '第一條　總則'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from functools import cached_property

from ..schema import Repair
from ..textnorm import fold_chars, is_traditional
from .news import Block, Draft


@dataclass(frozen=True)
class Restorer:
    """A file's text and its one-for-one simplified fold, to map parsed text back.

    Attributes:
        original: The text as read.
        folded: :func:`~rag.textnorm.fold_chars` of it (same length, same lines).
    """

    original: str
    folded: str

    @classmethod
    def of(cls, text: str) -> Restorer | None:
        """The restorer of a file's text, or None when the text is not Traditional (it is
        parsed as it is)."""
        if not is_traditional(text):
            return None
        folded = fold_chars(text)
        return cls(text, folded) if folded != text else None

    @cached_property
    def _lines(self) -> tuple[list[str], list[str]]:
        return self.original.split("\n"), self.folded.split("\n")

    def block(self, text: str, lines: Sequence[int]) -> str:
        """``text``, parsed from the folded source ``lines`` (1-based), in the original
        characters: each run of it found in those lines is cut from the same place of the
        original; any other run is looked up in the whole file."""
        if not text:
            return text
        original_lines, folded_lines = self._lines
        picked = [n for n in lines if 0 < n <= len(folded_lines)]
        region = "\n".join(folded_lines[n - 1] for n in picked)
        source = "\n".join(original_lines[n - 1] for n in picked)
        at = region.find(text)
        if at >= 0:
            return source[at : at + len(text)]
        out = list(text)
        matcher = SequenceMatcher(None, text, region, autojunk=False)
        done = 0
        for a, b, size in matcher.get_matching_blocks():
            if a > done:
                out[done:a] = self.text(text[done:a])
            out[a : a + size] = source[b : b + size]
            done = a + size
        return "".join(out)

    def text(self, text: str) -> str:
        """``text`` in the original characters where it occurs in the folded file as a whole
        (the first occurrence); otherwise each of its lines where that line occurs; any
        other part as it is (characters the fold did not change)."""
        at = self.folded.find(text) if text else -1
        if at >= 0:
            return self.original[at : at + len(text)]
        if "\n" in text:
            return "\n".join(self.text(part) for part in text.split("\n"))
        return text

    def draft(self, draft: Draft) -> None:
        """Every head and body block of ``draft`` (and its numbering) in the original
        characters, in place."""
        draft.head = [self._block(b) for b in draft.head]
        draft.body = [self._block(b) for b in draft.body]

    def _block(self, block: Block) -> Block:
        text = self.block(block.text, block.lines)
        marker = block.marker
        if marker is not None:
            marker = replace(
                marker,
                label=self.block(marker.label, block.lines),
                rest=self.block(marker.rest, block.lines),
            )
        return replace(block, text=text, marker=marker)

    def repairs(self, fixes: Sequence[Repair]) -> list[Repair]:
        """Repair reports with their quoted excerpts in the original characters."""
        return [replace(r, detail=self._detail(r)) for r in fixes]

    def _detail(self, repair: Repair) -> str:
        # Excerpts are quoted between ' marks or 「」: each one restored from the repair's lines.
        def excerpt(match: re.Match[str]) -> str:
            inner = match.group(2)
            core = inner.strip("…")
            if not core:
                return match.group(0)
            restored = inner.replace(core, self.block(core, repair.lines))
            return match.group(1) + restored + match.group(3)

        return _QUOTED_RE.sub(excerpt, repair.detail)


_QUOTED_RE = re.compile(r"(['「])([^'」\n]*)(['」])")
