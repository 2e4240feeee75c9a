"""Example questions derived from the indexed documents themselves.

Official documents name their key ideas in quotation marks (“开放、创新、包容”的上海城市品格),
state tasks as 要着力…… / 要坚持…… and structure themselves with short section headings. Each
of those shapes gives a question the documents can answer; nothing here knows the seed corpus.

Example:
    >>> suggest_questions(assistant.documents, n=3, check=lambda q: assistant.answer(q).found)
    ['上海城市精神是什么？', '如何提升文化品位？', ...]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag import Document

# “……”的上海城市精神 -> 上海城市精神是什么？
_DEFINED = re.compile(r"[“\"「]([^”\"」]{2,40})[”\"」]的([\u4e00-\u9fff]{2,12})")
# 要着力提升文化品位， -> 如何提升文化品位？  要强化全方位支撑保障 -> 如何强化全方位支撑保障？
_TASK = re.compile(
    r"要((?:着力|坚持|加快|强化|全面|大力|积极|切实|不断|进一步)[\u4e00-\u9fff]{3,14}?)"
    r"(?=[，。；、：]|$)"
)
# Adverbs that read badly after 如何 (要着力提升 -> 如何提升).
_ADVERB = re.compile(r"^(?:着力|切实|不断|进一步|大力|积极)")
# Words after which a defined term's noun phrase stops (城市精神和…… -> 城市精神).
_NOUN_STOP = re.compile(r"[和与及或、，。；的]")
_MAX_CANDIDATES = 24


def _defined_terms(doc: Document) -> Iterator[str]:
    for p in doc.paragraphs:
        for m in _DEFINED.finditer(doc.text, p.start, p.end):
            noun = _NOUN_STOP.split(m.group(2), maxsplit=1)[0]
            after = doc.text[m.start(2) + len(noun) : m.start(2) + len(noun) + 1]
            # A complete noun phrase that the documents name more than once (城市精神, not the
            # one-off 浓厚氛围 or the modifier in “……”的激昂向上的志向).
            if 4 <= len(noun) <= 10 and after != "的" and doc.text.count(noun[-4:]) >= 2:
                yield f"{noun}是什么？"


def _tasks(doc: Document) -> Iterator[str]:
    for p in doc.paragraphs:
        for m in _TASK.finditer(doc.text, p.start, p.end):
            yield f"如何{_ADVERB.sub('', m.group(1))}？"


def _sections(doc: Document) -> Iterator[str]:
    for h in doc.headings:
        text = h.text.strip()
        if h.role == "section" and 4 <= len(text) <= 24:
            yield f"关于「{text}」，文件是怎么说的？"


def candidates(documents: Mapping[str, Document]) -> list[str]:
    """Candidate questions, interleaved across kinds and documents, without duplicates."""
    streams: list[Iterator[str]] = []
    for maker in (_defined_terms, _tasks, _sections):
        for doc in documents.values():
            streams.append(maker(doc))
    seen: dict[str, None] = {}
    # Round-robin so that one long document or one shape does not crowd out the rest.
    while streams and len(seen) < _MAX_CANDIDATES:
        alive = []
        for stream in streams:
            question = next(stream, None)
            if question is None:
                continue
            alive.append(stream)
            seen.setdefault(question, None)
        streams = alive
    return list(seen)[:_MAX_CANDIDATES]


def suggest_questions(
    documents: Mapping[str, Document],
    n: int = 4,
    check: Callable[[str], bool] | None = None,
) -> list[str]:
    """Up to ``n`` example questions for these documents.

    Args:
        documents: The indexed documents by id.
        n: How many questions to return.
        check: Keeps only questions for which it returns True (e.g. that the assistant finds
            an answer); errors count as False.
    """
    out: list[str] = []
    for question in candidates(documents):
        if check is not None:
            try:
                if not check(question):
                    continue
            except Exception:
                continue
        out.append(question)
        if len(out) >= n:
            break
    return out


__all__ = ["candidates", "suggest_questions"]
