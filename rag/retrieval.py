"""Lexical, dense and hybrid search over the passages of one index generation.

Hybrid search fuses the two rankings with a weighted sum of min-max normalised scores,
``alpha * lexical + (1 - alpha) * dense`` (``Settings.hybrid_alpha``, default 0.8), chosen by
measurement (``benchmarks/fusion.py``, CMRC 2018 dev, 3,219 questions, document recall@1):
with a weak dense side (the only model available offline here is the English MiniLM:
dense alone 0.116) reciprocal rank fusion fell from lexical's 0.983 to 0.468, because it
trusts both rankings equally whatever their quality, while the weighted sum stayed at 0.979
(alpha 0.8) to 0.982 (alpha 0.9). A deployment with a strong Chinese model can lower alpha
after measuring on its own questions with ``rag eval --mode hybrid``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .backends import SearchBackend
from .backends.local import LocalBackend
from .citations import cite
from .errors import RagError
from .schema import Hit
from .settings import RetrievalMode
from .store import Generation

if TYPE_CHECKING:
    from .embedding import Embedder

RRF_K = 60
# Candidates taken from each ranking before fusion.
FUSION_DEPTH = 50
DEFAULT_ALPHA = 0.8


@dataclass(frozen=True)
class Ranked:
    """A passage index with its score, before it becomes a Hit."""

    index: int
    score: float


class Retriever:
    """Searches one generation. Stateless after construction; safe to share between threads.

    Args:
        generation: The loaded index generation.
        embedder: Query embedder for the dense side, or None (lexical only).
        alpha: Weight of the lexical side in hybrid fusion.
        backend: Where rankings and passages come from (default: the generation's own
            arrays, :class:`rag.backends.local.LocalBackend`).
    """

    def __init__(
        self,
        generation: Generation,
        embedder: Embedder | None = None,
        *,
        alpha: float = DEFAULT_ALPHA,
        backend: SearchBackend | None = None,
    ) -> None:
        self.generation = generation
        self.backend: SearchBackend = backend or LocalBackend(generation)
        self.alpha = alpha
        self.embedder = embedder if generation.vectors is not None else None
        self._citations: dict[tuple[str, int], str] = {}

    @property
    def has_dense(self) -> bool:
        return self.embedder is not None

    def effective_mode(self, mode: RetrievalMode) -> RetrievalMode:
        """The mode actually used: without vectors everything is lexical."""
        return mode if self.has_dense else RetrievalMode.LEXICAL

    def rank(self, tokens: list[str], query: str, k: int, mode: RetrievalMode) -> list[Ranked]:
        """Rank passages for pre-tokenized ``tokens`` (lexical) and raw ``query`` (dense).

        Raises:
            RagError: Dense mode was asked of an index without vectors.
        """
        k = max(1, min(k, len(self.generation.chunks)))
        if mode is RetrievalMode.DENSE and not self.has_dense:
            raise RagError(
                "this index has no vectors (built without an embedding model); "
                "use mode 'lexical' or rebuild with a model"
            )
        mode = self.effective_mode(mode)
        if mode is RetrievalMode.LEXICAL:
            return self._lexical(tokens, k)
        if mode is RetrievalMode.DENSE:
            return self._dense(query, k)
        depth = max(FUSION_DEPTH, k)
        return _weighted(self._lexical(tokens, depth), self._dense(query, depth), self.alpha, k)

    def _lexical(self, tokens: list[str], k: int) -> list[Ranked]:
        if not tokens:
            return []
        ids, scores = self.backend.lexical(tokens, k)
        return [Ranked(i, s) for i, s in zip(ids, scores, strict=True)]

    def _dense(self, query: str, k: int) -> list[Ranked]:
        assert self.embedder is not None
        vector = self.embedder.embed_query(query)
        ids, scores = self.backend.dense(np.asarray(vector, dtype=np.float32), k)
        return [Ranked(i, s) for i, s in zip(ids, scores, strict=True)]

    def hit(self, ranked: Ranked) -> Hit:
        """Turn a ranked passage into a Hit with its citation."""
        chunk = self.backend.fetch([ranked.index])[0]
        paragraph = chunk.paragraphs[0]
        # Positional: a frozen dataclass is built noticeably faster that way (hot path).
        return Hit(
            chunk.doc_id,
            chunk.doc_title,
            chunk.section,
            paragraph,
            chunk.text,
            round(ranked.score, 6),
            chunk.start,
            chunk.end,
            chunk.chunk_id,
            self.citation(chunk.doc_id, paragraph),
        )

    def citation(self, doc_id: str, paragraph: int) -> str:
        """Citation of a paragraph, computed once per paragraph."""
        key = (doc_id, paragraph)
        text = self._citations.get(key)
        if text is None:
            text = self._citations[key] = cite(self.generation.documents[doc_id], paragraph)
        return text


def _weighted(lexical: list[Ranked], dense: list[Ranked], alpha: float, k: int) -> list[Ranked]:
    """``alpha`` * min-max(lexical) + (1 - ``alpha``) * min-max(dense) over both candidate
    lists; a passage missing from one list scores 0 there."""

    def normalised(items: list[Ranked]) -> dict[int, float]:
        if not items:
            return {}
        lo = min(r.score for r in items)
        span = (max(r.score for r in items) - lo) or 1.0
        return {r.index: (r.score - lo) / span for r in items}

    a, b = normalised(lexical), normalised(dense)
    fused = {i: alpha * a.get(i, 0.0) + (1 - alpha) * b.get(i, 0.0) for i in a.keys() | b.keys()}
    best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Ranked(i, s) for i, s in best]


def _rrf(rankings: list[list[Ranked]], k: int) -> list[Ranked]:
    """Reciprocal rank fusion (kept for comparison in ``benchmarks/fusion.py``)."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            fused[item.index] = fused.get(item.index, 0.0) + 1.0 / (RRF_K + rank + 1)
    best = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    return [Ranked(i, s) for i, s in best]


__all__ = ["Ranked", "Retriever"]
