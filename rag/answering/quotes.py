"""Quotes and refusal: the best candidates become verified verbatim quotes, and the
confidence model decides whether they answer at all."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from ..retrieval import Retriever
from ..schema import Hit, Quote
from ..store import Generation
from .candidates import Candidate

log = logging.getLogger(__name__)

MAX_QUOTES = 3
# A further quote must have at least this share of the best one's probability.
SECOND_QUOTE_RATIO = 0.5


@dataclass(frozen=True)
class Selection:
    """The outcome of quote selection before formatting.

    Attributes:
        quotes: Verified quotes, best first.
        hits: The ranked passages.
        confidence: Probability that the first quote answers (the refusal threshold reads it).
    """

    quotes: tuple[Quote, ...]
    hits: tuple[Hit, ...]
    confidence: float


def pick_quotes(
    scored: Sequence[tuple[float, Candidate]], retriever: Retriever
) -> tuple[Quote, ...]:
    """Up to three verified quotes from candidates sorted best first, one per paragraph,
    none inside another."""
    gen = retriever.generation
    quotes: list[Quote] = []
    used: set[tuple[str, int]] = set()
    if not scored:
        return ()
    best = scored[0][0]
    for probability, cand in scored:
        if len(quotes) >= MAX_QUOTES or (quotes and probability < SECOND_QUOTE_RATIO * best):
            break
        chunk = gen.chunks[cand.passage]
        doc = gen.documents[chunk.doc_id]
        if (doc.doc_id, cand.paragraph) in used:
            continue
        quote = verify_quote(
            Quote(
                text=doc.text[cand.start : cand.end],
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=tuple(ref.display for ref in doc.paragraph(cand.paragraph).section),
                paragraph=cand.paragraph,
                start=cand.start,
                end=cand.end,
                citation=retriever.citation(doc.doc_id, cand.paragraph, cand.last_paragraph),
                doc_kind=doc.kind,
                score=round(probability, 4),
                last_paragraph=cand.last_paragraph,
            ),
            gen,
        )
        if quote is None or any(
            q.doc_id == quote.doc_id and q.start < quote.end and quote.start < q.end for q in quotes
        ):
            continue
        used.update((doc.doc_id, n) for n in range(cand.paragraph, cand.last_paragraph + 1))
        quotes.append(quote)
    return tuple(quotes)


def verify_quote(quote: Quote, gen: Generation) -> Quote | None:
    """Return the quote when it is an exact slice of its document's stored text and lies
    inside the paragraphs it cites; otherwise log it and return None (it is never shown)."""
    doc = gen.documents.get(quote.doc_id)
    problem = ""
    last = quote.last_paragraph or quote.paragraph
    if doc is None:
        problem = "unknown document"
    elif not 0 <= quote.start < quote.end <= len(doc.text):
        problem = "span outside the document"
    elif doc.text[quote.start : quote.end] != quote.text:
        problem = "text differs from the document"
    elif not 1 <= quote.paragraph <= last <= len(doc.paragraphs):
        problem = "no such paragraph"
    elif not (
        doc.paragraph(quote.paragraph).start <= quote.start and quote.end <= doc.paragraph(last).end
    ):
        problem = "span outside the cited paragraphs"
    if problem:
        log.warning("dropped an unverifiable quote (%s): %r", problem, quote)
        return None
    return quote


__all__ = ["MAX_QUOTES", "Selection", "pick_quotes", "verify_quote"]
