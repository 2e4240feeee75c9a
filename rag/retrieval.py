"""Lexical, dense and hybrid search over the passages of one index generation.

Hybrid search fuses the two rankings with a weighted sum of min-max normalised scores,
``alpha * lexical + (1 - alpha) * dense`` (``Settings.hybrid_alpha``); ``alpha = 1`` ranks by
BM25 alone and embeds nothing for ranking. The weighted sum beat reciprocal rank fusion on
every set (RRF trusts a weak dense side as much as BM25).

How alpha was chosen (``benchmarks/fusion.py``, default embedder USE multilingual v3, document
recall@1 with document = best passage; laws: the first passage holds a gold span;
``benchmarks/results/fusion_use.json``): on the training data, CMRC 2018 trial (1,002
questions) and the even half of ``laws_dev``, the mean recall@1 is 0.6631 with BM25 alone
(alpha 1.0) and 0.6641 at the best weighted sum (alpha 0.75). Held out, the weighted sum at
0.75 costs recall: CMRC dev 0.9826 → 0.9786, DRCD dev 0.9390 → 0.9390, odd half of laws
0.5385 → 0.5000 (dense alone: 0.672 / 0.635 / laws 0.346), so the simpler ranking is kept:
the default alpha is 1.0. The dense side serves answer selection instead (below): the
passages it ranks first join the candidates and the sentence similarity is a feature of the
fitted model (``rag.answering``). A deployment with a strong Chinese model
(``BAAI/bge-small-zh-v1.5``) can lower alpha after measuring with ``benchmarks/fusion.py
--model …`` on its own questions.

Lexical search scores the question's jieba words and, on an index built with the
character-bigram field (``Settings.bigram_weight`` > 0, :mod:`rag.ngrams`), its character
bigrams, in one BM25 score matrix (``words + weight * bigrams``). Fitted on CMRC 2018 trial
and the even DRCD documents (``benchmarks/bigram_fusion.py``, weight 1.0): document recall@1
on the odd DRCD documents (held out) 0.9393 → 0.9535, CMRC 2018 dev (validation) 0.9826 →
0.9851. Misses it fixes: the question and the passage segmented differently by jieba
(测出 / 测量出, 多伦多市 / 多倫多市…人口, transliterations written two ways). Script folding
itself was not what DRCD lacked: OpenCC ``tw2s`` / ``tw2sp`` instead of ``t2s``, stopwords in
jieba's dictionary and BM25 k1 0.9–1.5 / b 0.5–0.9 all stayed within ±0.2 points
(``benchmarks/traditional.py``).

The semantic signal for answer selection (stable API, used by ``rag.answering``):

* :meth:`Retriever.query_vector` embeds a question once (cached per question text, shared
  with the dense side of :meth:`Retriever.rank`); None without an embedder;
* :meth:`Retriever.sentence_id` maps (passage, sentence position) to a sentence id;
* :meth:`Retriever.sentence_similarities` gives the cosine between the question vector and
  candidate sentences from the vectors precomputed at build time
  (:class:`rag.vectors.SentenceVectors`); None when the index has no sentence vectors.

Example (answering layer)::

    qvec = retriever.query_vector(question)          # None: lexical-only index
    if qvec is not None and retriever.has_sentence_vectors:
        ids = [retriever.sentence_id(p, j) for p, j in candidates]
        cos = retriever.sentence_similarities(qvec, ids)   # float32, one per id
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .backends import SearchBackend, Within
from .backends.local import LocalBackend
from .citations import cite_span
from .errors import RagError
from .lru import LRUCache
from .ngrams import FIELD as BIGRAM_FIELD
from .ngrams import LEGACY_FIELD, question_bigrams
from .schema import Hit
from .settings import RetrievalMode
from .store import Generation

if TYPE_CHECKING:
    from .embedding import Embedder
    from .vectors import (
        SentenceVectors,
    )  # rag.vectors imports faiss; the lexical path never needs it

RRF_K = 60
# Candidates taken from each ranking before fusion.
FUSION_DEPTH = 50
DEFAULT_ALPHA = 1.0
# Question vectors kept per retriever (the cache is emptied when full).
_QUERY_CACHE = 1024
# Scopes whose passage rows are kept per retriever (the cache is emptied when full).
_SCOPE_CACHE = 256
# Passages whose Hit fields (all but the score) are kept per retriever.
_HIT_CACHE = 8192
_new = object.__new__


@dataclass(frozen=True)
class Ranked:
    """A passage index with its score, before it becomes a Hit."""

    index: int
    score: float


def _ranked(index: int, score: float) -> Ranked:
    """``Ranked(index, score)``, filled in place (without the frozen dataclass's
    ``object.__setattr__`` calls: a ranking builds one per passage)."""
    item = _new(Ranked)
    fields = item.__dict__
    fields["index"] = index
    fields["score"] = score
    return item


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
        self._citations: dict[tuple[str, int, int], str] = {}
        self._queries: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._sentence_vectors: SentenceVectors | None = None
        self._sentence_vectors_loaded = False
        self._within: dict[tuple[str, ...], Within] = {}
        self._hit_fields = LRUCache(_HIT_CACHE)
        lexical = generation.lexical
        self._bigrams = (
            lexical.field_weight(BIGRAM_FIELD) > 0 or lexical.field_weight(LEGACY_FIELD) > 0
        )
        # An index built before references were one bigram token is queried as it was built.
        self._references = lexical.field_weight(BIGRAM_FIELD) > 0

    @property
    def has_dense(self) -> bool:
        return self.embedder is not None

    def effective_mode(self, mode: RetrievalMode) -> RetrievalMode:
        """The mode actually used: without vectors everything is lexical."""
        return mode if self.has_dense else RetrievalMode.LEXICAL

    def within(self, documents: Sequence[str]) -> Within:
        """The passages of some documents (a resolved scope's :meth:`ScopeCatalogue.document_ids
        <rag.scope.ScopeCatalogue.document_ids>`), computed once per set of documents.

        Raises:
            KeyError: A document is not in the generation.
        """
        key = tuple(documents)
        found = self._within.get(key)
        if found is None:
            found = Within(self._rows_of(key), key)
            with self._lock:
                if len(self._within) >= _SCOPE_CACHE:
                    self._within.clear()
                self._within[key] = found
        return found

    def _rows_of(self, documents: tuple[str, ...]) -> np.ndarray:
        chunks, docs = self.generation.chunks, self.generation.documents
        owners = getattr(chunks, "document_rows", None)
        row_of = getattr(docs, "row", None)
        if owners is not None and row_of is not None:
            wanted = []
            for doc_id in documents:
                row = row_of(doc_id)
                if row is None:
                    raise KeyError(doc_id)
                wanted.append(row)
            mask = np.isin(np.asarray(owners()), np.asarray(wanted, dtype=np.int64))
            return mask.nonzero()[0].astype(np.int64)
        missing = [d for d in documents if d not in docs]
        if missing:
            raise KeyError(missing[0])
        ids = set(documents)
        return np.fromiter((i for i, c in enumerate(chunks) if c.doc_id in ids), dtype=np.int64)

    def rank(
        self,
        tokens: list[str],
        query: str,
        k: int,
        mode: RetrievalMode,
        within: Within | None = None,
    ) -> list[Ranked]:
        """Rank passages for pre-tokenized ``tokens`` (lexical) and raw ``query`` (dense).

        Args:
            tokens: The question's search tokens.
            query: The question's text (embedded for the dense side).
            k: How many passages.
            mode: Lexical, dense or hybrid.
            within: Only these passages (:meth:`within`), filtered before ranking on both
                sides, so up to ``k`` of them come back.

        Raises:
            RagError: Dense mode was asked of an index without vectors.
        """
        if within is not None and not len(within.rows):
            return []
        k = max(1, min(k, len(self.generation.chunks)))
        if mode is RetrievalMode.DENSE and not self.has_dense:
            raise RagError(
                "this index has no vectors (built without an embedding model); "
                "use mode 'lexical' or rebuild with a model"
            )
        mode = self.effective_mode(mode)
        if mode is RetrievalMode.LEXICAL:
            return self._lexical(tokens, query, k, within)
        if mode is RetrievalMode.DENSE:
            return self._dense(query, k, within)
        if self.alpha >= 1.0:  # all weight on BM25: the dense side cannot change the order
            return self._lexical(tokens, query, k, within)
        depth = max(FUSION_DEPTH, k)
        return _weighted(
            self._lexical(tokens, query, depth, within),
            self._dense(query, depth, within),
            self.alpha,
            k,
        )

    def _lexical(
        self, tokens: list[str], query: str, k: int, within: Within | None = None
    ) -> list[Ranked]:
        if not tokens:
            return []
        if self._bigrams:
            # The index's character-bigram field (rag.ngrams) scores the question's bigrams.
            tokens = [*tokens, *question_bigrams(query, self._references)]
        ids, scores = (
            self.backend.lexical(tokens, k)
            if within is None
            else self.backend.lexical(tokens, k, within)
        )
        return [_ranked(i, s) for i, s in zip(ids, scores, strict=True)]

    def query_vector(self, question: str) -> np.ndarray | None:
        """The question's unit vector, embedded once per question text.

        Args:
            question: The question as searched (the same string given to :meth:`rank`
                reuses the vector the dense side computed).

        Returns:
            1-D ``float32`` vector of norm 1, or None when there is no embedder (an index
            built with ``--model none``, or a model that could not be loaded).
        """
        if self.embedder is None:
            return None
        vector = self._queries.get(question)
        if vector is None:
            vector = np.asarray(self.embedder.embed_query(question), dtype=np.float32)
            vector.setflags(write=False)
            with self._lock:
                if len(self._queries) >= _QUERY_CACHE:
                    self._queries.clear()
                self._queries[question] = vector
        return vector

    @property
    def sentence_vectors(self) -> SentenceVectors | None:
        """The sentence vectors of the generation, memory-mapped on first use; None when the
        index has none (lexical only, or built before they existed) or no embedder.

        Raises:
            IndexMismatchError: The file is missing or of the wrong shape.
        """
        if not self._sentence_vectors_loaded:
            with self._lock:
                if not self._sentence_vectors_loaded:
                    self._sentence_vectors = self._load_sentence_vectors()
                    self._sentence_vectors_loaded = True
        return self._sentence_vectors

    def _load_sentence_vectors(self) -> SentenceVectors | None:
        dense = self.generation.manifest.get("dense", {})
        if self.embedder is None or not dense.get("sentence_vectors"):
            return None
        from .vectors import SENTENCE_VECTORS, SentenceVectors

        return SentenceVectors.load(
            self.generation.path / SENTENCE_VECTORS,
            self._sentence_counts().tolist(),
            dimension=int(dense["dimension"]),
        )

    @property
    def has_sentence_vectors(self) -> bool:
        """True when :meth:`sentence_similarities` can answer."""
        return self.sentence_vectors is not None

    def sentence_id(self, passage: int, j: int) -> int:
        """Id of sentence ``j`` (position in ``chunks[passage].sentences``) of a passage.

        Ids number the sentences of all passages in order, so they work without the vectors
        too; :meth:`sentence_similarities` takes them.

        Raises:
            IndexError: No such passage or sentence.
        """
        offsets = self._sentence_offsets
        start, end = int(offsets[passage]), int(offsets[passage + 1])
        if not 0 <= j < end - start:
            raise IndexError(f"passage {passage} has {end - start} sentences, not {j + 1}")
        return start + j

    def _sentence_counts(self) -> np.ndarray:
        # The columnar store has them as an array; building every passage would take seconds
        # at 10^6 passages.
        counts = getattr(self.generation.chunks, "sentence_counts", None)
        if counts is not None:
            return np.asarray(counts(), dtype=np.int64)
        return np.fromiter((len(c.sentences) for c in self.generation.chunks), dtype=np.int64)

    @functools.cached_property
    def _sentence_offsets(self) -> np.ndarray:
        counts = self._sentence_counts()
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return offsets

    def sentence_similarities(
        self, query_vec: np.ndarray, sentence_ids: Sequence[int] | np.ndarray
    ) -> np.ndarray | None:
        """Cosine similarity between the question vector and candidate sentences.

        Args:
            query_vec: From :meth:`query_vector`.
            sentence_ids: From :meth:`sentence_id`.

        Returns:
            ``float32`` array, one cosine in [-1, 1] per id in the given order (about 10 µs
            for 50 sentences), or None when the index has no sentence vectors.
        """
        vectors = self.sentence_vectors
        if vectors is None:
            return None
        return vectors.similarities(query_vec, sentence_ids)

    def _dense(self, query: str, k: int, within: Within | None = None) -> list[Ranked]:
        assert self.embedder is not None
        vector = self.query_vector(query)
        assert vector is not None
        ids, scores = (
            self.backend.dense(vector, k)
            if within is None
            else self.backend.dense(vector, k, within)
        )
        return [_ranked(i, s) for i, s in zip(ids, scores, strict=True)]

    def hits(self, ranked: Sequence[Ranked]) -> list[Hit]:
        """Ranked passages as Hits with their citations. Everything of a Hit but its score is
        the passage's, kept per passage (:data:`_HIT_CACHE`): a search reads one small
        record per hit, and the passages not kept yet are fetched together (one read of the
        columns for them all)."""
        kept = self._hit_fields
        fields = [kept.get(r.index) for r in ranked]
        if None in fields:
            missing = [r.index for r, f in zip(ranked, fields, strict=True) if f is None]
            chunks = self.backend.fetch(missing)
            cites = self.generation.chunks.citations(missing)
            made = {}
            for row, chunk, citation in zip(missing, chunks, cites, strict=True):
                # The citation is the one the build stored for the passage: no Document read.
                made[row] = record = {
                    "doc_id": chunk.doc_id,
                    "doc_title": chunk.doc_title,
                    "section": chunk.section,
                    "paragraph": chunk.paragraphs[0],
                    "text": chunk.text,
                    "score": 0.0,
                    "start": chunk.start,
                    "end": chunk.end,
                    "chunk_id": chunk.chunk_id,
                    "citation": citation,
                }
                kept.put(row, record)
            fields = [
                made[r.index] if f is None else f for r, f in zip(ranked, fields, strict=True)
            ]
        out = []
        for r, record in zip(ranked, fields, strict=True):
            # A Hit filled in place: the same fields as Hit(...), without the ten
            # object.__setattr__ calls of a frozen dataclass's __init__ (5x the time).
            hit = _new(Hit)
            values = hit.__dict__
            values.update(record)
            values["score"] = round(r.score, 6)
            out.append(hit)
        return out

    def citation(self, doc_id: str, paragraph: int, last: int | None = None) -> str:
        """Citation of a paragraph, or of a span from ``paragraph`` to ``last``
        (:func:`~rag.citations.cite_span`), computed once per span."""
        key = (doc_id, paragraph, last or paragraph)
        text = self._citations.get(key)
        if text is None:
            text = self._citations[key] = cite_span(self.generation.documents[doc_id], *key[1:])
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
