"""Where does a pasted passage come from? Find it in the documents and cite it.

Readers of official documents paste a paragraph and ask where it is from. Retrieval ranks
the right paragraphs, but answer selection looks for a sentence that *answers*; a passage of
600 characters is no question. :class:`PassageLocator` finds the passage itself by
near-exact matching instead:

1. both sides are reduced to a *key*: letters and digits only (punctuation and spaces are
   what copying and retyping change most), NFKC-folded, lower-cased and converted to
   simplified characters (:func:`rag.textnorm.normalize`); each key character remembers its
   offset in ``Document.text``;
2. shingles of :data:`SHINGLE` key characters taken every :data:`STRIDE` characters of the
   passage are looked up in the documents' keys (``str.find``); a shingle found in many
   places says nothing and is skipped;
3. each find votes for a diagonal (document position minus passage position); the largest
   group of nearby diagonals in one document is the passage's place, widened while the
   characters agree on both ends;
4. the place is accepted when it covers at least :data:`MIN_COVERAGE` of the passage, and
   the words *not* found there do not ask about the content: a long question that restates a
   sentence (…为什么被勒令停止播送？) is a question for the answerer, while a paste with
   这段话出自哪里 around it asks for its place.

The document index (the keys) is built on first use and kept for the generation.

Example:
    >>> locator = PassageLocator(generation.documents)
    >>> found = locator.locate(pasted)
    >>> document.text[found.start:found.end]        # the verbatim text in the document
"""

from __future__ import annotations

import threading
import unicodedata
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .answering import escape_markdown, format_answer
from .citations import cite
from .schema import Answer, Document, Quote
from .textnorm import normalize

if TYPE_CHECKING:
    from .store import Generation

# A pasted passage has at least this many key characters (a question rarely does).
MIN_PASSAGE_CHARS = 40
# Share of the passage's key characters that must be found in one place.
MIN_COVERAGE = 0.6
SHINGLE = 10
STRIDE = 5
# A shingle found more often than this is a stock phrase and does not vote.
MAX_OCCURRENCES = 8
# Key characters read from a pasted passage at most.
MAX_PASSAGE_CHARS = 5000
# Question words: in the part of the text not found in the document they make it a question
# about the content, unless the text asks where it comes from (_PROVENANCE).
_QUESTION_WORDS = (
    "什么",
    "为什么",
    "为何",
    "哪",
    "如何",
    "怎么",
    "怎样",
    "多少",
    "几",
    "吗",
    "谁",
    "何时",
    "何地",
    "何种",
    "是否",
    "呢",
)
_PROVENANCE = ("出自", "出处", "来自", "来源", "原文", "哪份", "哪一段", "哪个文件")
# Punctuation that closes a passage and is taken along when the document has it next.
_CLOSING = frozenset("。，、；：！？…”’）》」』】〕.,;:!?)")
_SEPARATOR = "\x00"


@dataclass(frozen=True)
class Location:
    """Where a passage is in one document.

    Attributes:
        doc_id: The document.
        start: Offset of the first character of the passage's place in ``Document.text``.
        end: Offset one past its last character.
        coverage: Share of the passage's letters and digits found there, in order (0..1).
        exact: True when the place holds the passage's letters and digits exactly.
    """

    doc_id: str
    start: int
    end: int
    coverage: float
    exact: bool


def _key(text: str) -> tuple[str, list[int]]:
    """Letters and digits of ``text``, folded, with the offset of each in ``text``."""
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch)[0] not in "LN":
            continue
        folded = unicodedata.normalize("NFKC", ch) if not ch.isascii() else ch
        chars.append(folded[0] if folded else ch)
        offsets.append(i)
    key = "".join(chars).lower()
    converted = normalize(key)
    # Simplified conversion is character for character almost always; where a phrase
    # conversion changes the length the unconverted key keeps the offsets right.
    return (converted if len(converted) == len(key) else key), offsets


class PassageLocator:
    """Finds pasted passages in a set of documents (thread-safe, index built lazily).

    Args:
        documents: The documents by id.
    """

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self.documents = documents
        self._lock = threading.Lock()
        self._built = False
        self._text = ""
        self._bases: list[int] = []
        self._ids: list[str] = []
        self._offsets: list[list[int]] = []

    def _build(self) -> None:
        with self._lock:
            if self._built:
                return
            parts: list[str] = []
            base = 0
            for doc_id, doc in self.documents.items():
                key, offsets = _key(doc.text)
                self._bases.append(base)
                self._ids.append(doc_id)
                self._offsets.append(offsets)
                parts.append(key)
                base += len(key) + 1
            self._text = _SEPARATOR.join(parts)
            self._built = True

    def locate(self, passage: str) -> Location | None:
        """The place of ``passage`` in the documents, or None when it is not a passage of them.

        Args:
            passage: The pasted text (a short question is never located).

        Returns:
            A Location covering at least ``MIN_COVERAGE`` of the passage, or None.
        """
        if len(passage) < MIN_PASSAGE_CHARS:  # the key is never longer than the text
            return None
        query, _ = _key(passage[: MAX_PASSAGE_CHARS * 2])
        query = query[:MAX_PASSAGE_CHARS]
        if len(query) < MIN_PASSAGE_CHARS:
            return None
        if not self._built:
            self._build()
        votes = self._votes(query)
        if not votes:
            return None
        return self._best(query, votes, passage)

    def _votes(self, query: str) -> list[tuple[int, int]]:
        """(diagonal, passage position) of every informative shingle find."""
        text = self._text
        votes: list[tuple[int, int]] = []
        last = len(query) - SHINGLE
        positions = list(range(0, last + 1, STRIDE))
        if positions and positions[-1] != last:
            positions.append(last)
        for qpos in positions:
            shingle = query[qpos : qpos + SHINGLE]
            found: list[int] = []
            at = text.find(shingle)
            while at >= 0 and len(found) <= MAX_OCCURRENCES:
                found.append(at)
                at = text.find(shingle, at + 1)
            if len(found) <= MAX_OCCURRENCES:
                votes.extend((at - qpos, qpos) for at in found)
        return votes

    def _best(self, query: str, votes: list[tuple[int, int]], passage: str = "") -> Location | None:
        # Nearby diagonals are one place with a few characters added or missing.
        tolerance = max(SHINGLE, len(query) // 20)
        votes.sort()
        groups: list[list[tuple[int, int]]] = [[votes[0]]]
        for vote in votes[1:]:
            if vote[0] - groups[-1][-1][0] <= tolerance:
                groups[-1].append(vote)
            else:
                groups.append([vote])
        best = max(groups, key=lambda g: (len({q for _, q in g}), -g[0][0]))
        doc = bisect_right(self._bases, best[0][0] + best[0][1]) - 1
        base = self._bases[doc]
        key_len = len(self._offsets[doc])
        inside = [(d, q) for d, q in best if base <= d + q < base + key_len]
        covered = self._covered(inside, len(query))
        coverage = covered / len(query)
        if coverage < MIN_COVERAGE or self._asks_content(query, inside, passage):
            return None
        text = self._text
        lo_q, hi_q = min(q for _, q in inside), max(q for _, q in inside) + SHINGLE
        lo = min(d + q for d, q in inside if q == lo_q)
        hi = max(d + q for d, q in inside if q == hi_q - SHINGLE) + SHINGLE
        # Widen while the characters agree (the passage's first and last few characters).
        while lo_q > 0 and lo > base and text[lo - 1] == query[lo_q - 1]:
            lo, lo_q = lo - 1, lo_q - 1
        while hi_q < len(query) and hi < base + key_len and text[hi] == query[hi_q]:
            hi, hi_q = hi + 1, hi_q + 1
        offsets = self._offsets[doc]
        doc_id = self._ids[doc]
        start, end = offsets[lo - base], offsets[hi - 1 - base] + 1
        body = self.documents[doc_id].text
        while end < len(body) and body[end] in _CLOSING:
            end += 1
        exact = text[lo:hi] == query
        return Location(doc_id, start, end, 1.0 if exact else round(coverage, 4), exact)

    @staticmethod
    def _asks_content(query: str, votes: list[tuple[int, int]], passage: str = "") -> bool:
        """True when the text asks about the content: it ends with a question mark, or the
        words outside the found place are question words (unless it asks for its source)."""
        if any(word in query for word in _PROVENANCE):
            return False
        if passage.rstrip().endswith(("?", "？")):
            return True
        found = [False] * len(query)
        for _, q in votes:
            found[q : q + SHINGLE] = [True] * len(found[q : q + SHINGLE])
        rest = "".join(ch if not hit else " " for ch, hit in zip(query, found, strict=True))
        return any(word in rest for word in _QUESTION_WORDS)

    @staticmethod
    def _covered(votes: list[tuple[int, int]], length: int) -> int:
        """Passage characters inside the found shingles."""
        spans = sorted({q for _, q in votes})
        covered, reach = 0, 0
        for q in spans:
            lo, hi = max(q, reach), min(length, q + SHINGLE)
            if hi > lo:
                covered += hi - lo
            reach = max(reach, q + SHINGLE)
        return covered


NEAR_MATCH_NOTE = "粘贴的文字与原文不完全一致（约 {share}% 的字词相符）；以下是文件原文。"


def location_quotes(doc: Document, location: Location) -> tuple[Quote, ...]:
    """The located text as verbatim quotes, one per paragraph it touches, in reading order.

    A heading line inside the place (a pasted chapter title) is quoted too, cited as the
    标题 it is.
    """
    quotes = []
    for para in sorted(doc.paragraphs, key=lambda p: p.start):
        lo, hi = max(para.start, location.start), min(para.end, location.end)
        if not doc.text[lo:hi].strip():
            continue
        quotes.append(
            Quote(
                text=doc.text[lo:hi],
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=tuple(ref.display for ref in para.section),
                paragraph=para.number,
                start=lo,
                end=hi,
                citation=cite(doc, para.number),
                doc_kind=doc.kind,
                score=location.coverage,
            )
        )
    return tuple(quotes)


def located_answer(
    question: str, location: Location, gen: Generation, notes: tuple[str, ...] = ()
) -> Answer | None:
    """The answer "this passage is from …": the document's own text, cited.

    Returns:
        None when the place holds no body paragraph (nothing to cite).
    """
    doc = gen.documents[location.doc_id]
    quotes = location_quotes(doc, location)
    if not quotes:
        return None
    if not location.exact:
        notes = (*notes, NEAR_MATCH_NOTE.format(share=round(location.coverage * 100)))
    # The place is named by its body paragraphs (headings and captions have no 段 number).
    body = [q for q in quotes if doc.paragraph(q.paragraph).role == "body"] or list(quotes)
    where = body[0].citation
    if len(body) > 1:
        where += f"至第{body[-1].paragraph}段"
    head = f"这段文字出自{escape_markdown(where)}。"
    parts = [*(f"*{escape_markdown(n)}*" for n in notes), head, format_answer(quotes, gen)]
    info = gen.info
    return Answer(
        question=question,
        found=True,
        quotes=quotes,
        markdown="\n\n".join(parts),
        hits=(),
        build_id=info.build_id,
        source_hashes=info.source_hashes,
        resolved_question=question,
        notes=notes,
        confidence=location.coverage,
    )


__all__ = [
    "MIN_COVERAGE",
    "MIN_PASSAGE_CHARS",
    "Location",
    "PassageLocator",
    "located_answer",
    "location_quotes",
]
