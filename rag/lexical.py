"""BM25 over token lists: bm25s's score matrix, numpy answers queries.

:meth:`LexicalIndex.build` and :meth:`LexicalIndex.from_token_ids` use :class:`bm25s.BM25`.
bm25s stores every passage's BM25 contribution for every token it contains in a sparse CSC
matrix (passages × vocabulary), so a query's scores are the sum of its tokens' columns. The
index build (:mod:`rag.build`) uses :meth:`LexicalIndex.from_postings`, which computes the
same matrix bit for bit from term frequencies with bm25s's formulas over whole arrays (tests
compare the files for every variant): per-file term frequencies are cached, so an
incremental build only adds them up, and neither bm25s's per-passage loop nor its import
(scipy, ~1.2 s) is paid.

Queries do not go through ``bm25s.BM25.retrieve``: measured on CMRC 2018 dev (2,808
passages) one ``retrieve`` call costs ~250 µs, mostly per-call overhead (input checks, a
progress bar, batching machinery). :meth:`LexicalIndex.search` reads the same CSC arrays,
adds the query tokens' columns with ``np.bincount`` and picks the top k with
``np.partition`` among the passages that have a posting: 21–23 µs median per query there
(65–85 µs median, 120–200 µs p95 with :meth:`rag.tokenization.Tokenizer.tokenize`,
depending on the load of the machine; the LangChain ``BM25Retriever`` + ``jieba.lcut`` peer
takes ~1.5 ms), and 1.5 ms median (7.5 ms p95) over 10^6 passages, where building the
matrix takes ~45 s.

Chosen defaults (CMRC 2018 dev, ``benchmarks/lexical_experiment.py``, document recall@1 /
@5 with document = best passage): ``method="lucene"`` (IDF never negative), ``k1=1.2``,
``b=0.75``: 0.9817 / 0.9991. Robertson, ATIRE and BM25+ scored the same, BM25L 0.9811;
k1 in 0.9–1.5 and b in 0.3–0.75 stayed within ±0.1 point (3 questions) of it, so the
standard values are kept. Every query token counts once, so a question that repeats a word
does not weight it up (counting repeats, as bm25s does, gave the same recall on CMRC; 234
questions repeat a token).

On disk (no pickle anywhere; arrays are ``.npy`` written and read with
``allow_pickle=False``), with the file names bm25s uses, so ``bm25s.BM25.load`` can read a
saved index too:

* ``data.csc.index.npy``, ``indices.csc.index.npy``, ``indptr.csc.index.npy``: the CSC
  score matrix;
* ``vocab.index.json``: token → column (for bm25s; this module does not read it);
* ``vocab.tokens.txt`` and ``vocab.table.npy``: the tokens in column order and a hash table
  of them (:mod:`rag.vocabulary`), what :meth:`load` reads: no dictionary of the tokens is
  built on load;
* ``params.index.json``: BM25 parameters, exactly the keys bm25s writes;
* ``meta.json``: our format version and counts, checked on load.

Example:
    >>> index = LexicalIndex.build([["上海", "城市"], ["北京"], ["上海", "软实力"]])
    >>> ids, scores = index.search(["上海", "软实力"], k=2)
    >>> ids.tolist()
    [2, 0]
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import guards
from .errors import IndexMismatchError, RagError
from .vocabulary import Vocabulary

__all__ = ["FORMAT", "LexicalIndex"]

FORMAT = "rag-lexical/2"
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")
_DATA = "data.csc.index.npy"
_INDICES = "indices.csc.index.npy"
_INDPTR = "indptr.csc.index.npy"
_VOCAB = "vocab.index.json"
_PARAMS = "params.index.json"
_META = "meta.json"
_NONOCCURRENCE = "nonoccurrence_array.index.npy"
# IDF of every column, computed by bm25s at build time: answer selection weighs question
# terms by IDF, and computing it at query time would import bm25s and with it scipy (~0.15 s
# of every cold start). Optional on load: indexes written before it get it from bm25s.
_IDF = "idf.npy"
_FIX = "run `rag build --force` to rebuild the index"


class LexicalIndex:
    """A BM25 index over pre-tokenized passages.

    Create it with :meth:`build` or :meth:`load`; passages are identified by their position
    in the corpus given to :meth:`build`.
    """

    def __init__(
        self,
        *,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        vocab: dict[str, int] | Vocabulary,
        num_docs: int,
        params: dict[str, Any],
        meta: dict[str, Any],
        nonoccurrence: np.ndarray | None = None,
        idf: np.ndarray | None = None,
    ) -> None:
        """Wrap CSC arrays; use :meth:`build` or :meth:`load` instead of calling this."""
        self._data = data
        self._indices = indices
        self._indptr = indptr
        self._vocab = vocab
        self._num_docs = int(num_docs)
        self._params = params
        self._meta = meta
        # BM25L and BM25+ give every passage a constant per query token that does not
        # occur in it; bm25s stores scores minus that constant.
        self._nonoccurrence = nonoccurrence
        self._df = np.diff(indptr).astype(np.int64)
        self._idf = idf
        self._words: list[str] | None = None
        self._field_weights = {
            str(f["name"]): float(f["weight"])
            for f in meta.get("fields", ())
            if f["name"] != "words"
        }

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        corpus_tokens: list[list[str]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        delta: float = 0.5,
    ) -> LexicalIndex:
        """Build the BM25 score matrix with bm25s.

        Args:
            corpus_tokens: One token list per passage (from
                :meth:`rag.tokenization.Tokenizer.tokenize_many`).
            k1: Term-frequency saturation.
            b: Length normalisation.
            method: BM25 variant: ``lucene``, ``robertson``, ``atire``, ``bm25l`` or
                ``bm25+``.
            delta: Lower bound of BM25L / BM25+ (ignored by the others).

        Returns:
            The index; passage ``i`` is ``corpus_tokens[i]``.

        Raises:
            RagError: The corpus is empty or a parameter is out of range.
        """
        # Our own vocabulary in first-seen order: bm25s numbers tokens in set order, which
        # changes with the hash seed, so two builds of one corpus would differ on disk.
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in corpus_tokens]
        return cls.from_token_ids(ids, vocab, k1=k1, b=b, method=method, delta=delta)

    @classmethod
    def from_token_ids(
        cls,
        corpus_ids: list[list[int]],
        vocab: dict[str, int],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        delta: float = 0.5,
    ) -> LexicalIndex:
        """Build from passages already mapped to token ids (what :meth:`build` does first).

        A large build maps tokens to ids as they come from the tokenizer, so the passages
        are never held as token strings and ids at once (~0.9 GB each at 10^6 passages).

        Args:
            corpus_ids: One list of token ids per passage.
            vocab: Token → id; ids must be ``0..len(vocab) - 1``. Number them in first-seen
                order so that two builds of one corpus are identical on disk.
            k1, b, method, delta: As for :meth:`build`.

        Raises:
            RagError: The corpus is empty, an id is outside the vocabulary, or a parameter
                is out of range.
        """
        import bm25s

        if not corpus_ids:
            raise RagError("cannot build a lexical index over zero passages")
        _check_parameters(method, k1, b, vocab)
        if sorted(vocab.values()) != list(range(len(vocab))):
            raise RagError("token ids must number the vocabulary 0..n-1")
        top = max((max(doc) for doc in corpus_ids if doc), default=-1)
        if top >= len(vocab) or min((min(doc) for doc in corpus_ids if doc), default=0) < 0:
            raise RagError("a passage holds a token id outside the vocabulary")
        model = bm25s.BM25(k1=k1, b=b, method=method, delta=delta)
        scores = model.build_index_from_ids(
            unique_token_ids=list(range(len(vocab))),
            corpus_token_ids=corpus_ids,
            show_progress=False,
        )
        avg_doc_len = float(np.mean([len(doc) for doc in corpus_ids]))
        params, meta = _describe(
            len(corpus_ids), len(vocab), len(scores["data"]), avg_doc_len,
            k1=k1, b=b, method=method, delta=delta, version=bm25s.__version__,
        )  # fmt: skip
        nonoccurrence = model.nonoccurrence_array
        df = np.diff(scores["indptr"]).astype(np.int64)
        return cls(
            data=np.ascontiguousarray(scores["data"], dtype=np.float32),
            indices=np.ascontiguousarray(scores["indices"], dtype=np.int32),
            indptr=np.ascontiguousarray(scores["indptr"], dtype=np.int64),
            vocab=vocab,
            num_docs=len(corpus_ids),
            params=params,
            meta=meta,
            nonoccurrence=None if nonoccurrence is None else np.asarray(nonoccurrence),
            idf=_idf_array(df, len(corpus_ids), method),
        )

    @classmethod
    def from_postings(
        cls,
        rows: np.ndarray,
        cols: np.ndarray,
        tf: np.ndarray,
        lengths: np.ndarray,
        vocab: dict[str, int],
        *,
        k1: float = 1.2,
        b: float = 0.75,
        method: str = "lucene",
        delta: float = 0.5,
    ) -> LexicalIndex:
        """Build from term frequencies: the index :meth:`from_token_ids` builds, bit for bit.

        bm25s scores one passage at a time in Python (a ``Counter`` per passage) and its
        import pulls in scipy (~1.2 s); here the same formulas (:func:`_tfc`, the IDF of
        :func:`_idf_array`, bm25s's CSC layout) run over whole arrays, so a build whose
        per-file term frequencies are cached (:mod:`rag.postings`) only adds them up.
        ``tests/test_lexical.py`` checks every file against :meth:`from_token_ids`.

        Args:
            rows: Passage of each posting, nondecreasing (one posting per passage and token).
            cols: Token id of each posting.
            tf: How often the token occurs in the passage (> 0).
            lengths: Tokens of each passage, repeats included (its length for BM25).
            vocab: Token → id, numbered ``0..len(vocab) - 1`` in first-seen order.
            k1, b, method, delta: As for :meth:`build`.

        Raises:
            RagError: As :meth:`from_token_ids`, or the arrays do not fit each other.
        """
        n_docs, n_vocab = len(lengths), len(vocab)
        if not n_docs:
            raise RagError("cannot build a lexical index over zero passages")
        _check_parameters(method, k1, b, vocab)
        numbers = np.fromiter(vocab.values(), dtype=np.int64, count=n_vocab)
        if numbers.min() != 0 or numbers.max() != n_vocab - 1 or len(np.unique(numbers)) != n_vocab:
            raise RagError("token ids must number the vocabulary 0..n-1")
        rows = np.asarray(rows, dtype=np.int32)
        cols = np.asarray(cols, dtype=np.int32)
        tf = np.asarray(tf)
        lengths = np.asarray(lengths, dtype=np.int64)
        if not len(rows) == len(cols) == len(tf):
            raise RagError("postings arrays of different lengths")
        if len(cols) and (cols.min() < 0 or cols.max() >= n_vocab):
            raise RagError("a passage holds a token id outside the vocabulary")
        if len(rows) and (rows[0] < 0 or rows[-1] >= n_docs or np.any(np.diff(rows) < 0)):
            raise RagError("postings must come passage by passage, in passage order")
        if len(tf) and tf.min() <= 0:
            raise RagError("a posting has no occurrence")
        if np.any(np.bincount(rows, weights=tf, minlength=n_docs) != lengths):
            raise RagError("passage lengths disagree with their postings")
        df = np.bincount(cols, minlength=n_vocab).astype(np.int64)
        # bm25s: avg over the int64 lengths; IDF of each token from its document frequency,
        # stored as float32 and used as such for the scores.
        avg_doc_len = lengths.mean()
        idf = _idf_array(df, n_docs, method)
        idf32 = idf.astype(np.float32)
        nonoccurrence = None
        if method in ("bm25l", "bm25+"):
            # Non-occurrence: bm25s's idf (unrounded) times the tfc of tf 0 at average length.
            zero = _tfc(method, 0, avg_doc_len, avg_doc_len, k1, b, delta)
            nonoccurrence = np.where(df != 0, idf * zero, 0.0).astype(np.float32)
        lengths64 = lengths.astype(np.float64)
        scores = np.empty(len(cols), dtype=np.float32)
        # In float64 as bm25s computes each passage's, a slice at a time (bounded memory).
        for start in range(0, len(cols), _SLICE):
            part = slice(start, start + _SLICE)
            c = cols[part]
            tfc = _tfc(method, tf[part].astype(np.float32), lengths64[rows[part]], avg_doc_len,
                       k1, b, delta)  # fmt: skip
            value = idf32[c] * tfc
            if nonoccurrence is not None:
                value -= nonoccurrence[c]
            scores[part] = value
        # bm25s's CSC: postings by token, each token's passages in order (rows are sorted).
        order = np.argsort(cols, kind="stable")
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        params, meta = _describe(
            n_docs, n_vocab, len(cols), float(avg_doc_len),
            k1=k1, b=b, method=method, delta=delta, version=_BM25S_VERSION,
        )  # fmt: skip
        return cls(
            data=np.ascontiguousarray(scores[order], dtype=np.float32),
            indices=np.ascontiguousarray(rows[order], dtype=np.int32),
            indptr=indptr,
            vocab=vocab,
            num_docs=n_docs,
            params=params,
            meta=meta,
            nonoccurrence=nonoccurrence,
            idf=idf,
        )

    def with_field(self, other: LexicalIndex, weight: float, name: str) -> LexicalIndex:
        """This index with another field's columns appended, scaled by ``weight``.

        Both indexes score the same passages; ``other`` has its own vocabulary (its tokens
        must never be tokens of this one, see :data:`rag.ngrams.MARK`), its own BM25 length
        normalisation and average length. A query's score of a passage is then this index's
        BM25 plus ``weight`` times the other's, from one score matrix, so :meth:`search`,
        :meth:`passage_weights` and a Milvus collection need nothing else. This index's
        column ids stay as they are (stored sentence token ids keep their meaning).

        Args:
            other: The second field, over the same passages in the same order.
            weight: Its weight (> 0).
            name: Recorded in the meta as ``fields``, with the weight and column count.

        Raises:
            RagError: The passage counts differ, the weight is not positive, the
                vocabularies overlap or this index already has a second field.
        """
        if other._num_docs != self._num_docs:
            raise RagError("a lexical field must cover the same passages")
        if not (weight > 0 and math.isfinite(weight)):
            raise RagError(f"a lexical field needs a positive weight, got {weight}")
        mine, theirs = self._vocab_dict(), other._vocab_dict()
        if "fields" in self._meta or not mine.keys().isdisjoint(theirs):
            raise RagError("lexical fields must have disjoint vocabularies")
        offset = len(mine)
        vocab = dict(mine)
        for token, tid in theirs.items():
            vocab[token] = tid + offset
        data = np.concatenate([self._data, np.asarray(other._data) * np.float32(weight)])
        indptr = np.concatenate([self._indptr, other._indptr[1:] + self._indptr[-1]])
        nonoccurrence = None
        if self._nonoccurrence is not None and other._nonoccurrence is not None:
            nonoccurrence = np.concatenate(
                [self._nonoccurrence, np.asarray(other._nonoccurrence) * weight]
            )
        idf = None
        if self._idf is not None and other._idf is not None:
            idf = np.concatenate([self._idf, other._idf])
        meta = {
            **self._meta,
            "vocab_size": len(vocab),
            "nnz": len(data),
            "fields": [
                {"name": "words", "columns": offset, "weight": 1.0},
                {
                    "name": name,
                    "columns": len(other._vocab),
                    "weight": float(weight),
                    "avg_doc_len": other._meta.get("avg_doc_len"),
                },
            ],
        }
        return LexicalIndex(
            data=np.ascontiguousarray(data, dtype=np.float32),
            indices=np.ascontiguousarray(np.concatenate([self._indices, other._indices])),
            indptr=np.ascontiguousarray(indptr, dtype=np.int64),
            vocab=vocab,
            num_docs=self._num_docs,
            params=self._params,
            meta=meta,
            nonoccurrence=nonoccurrence,
            idf=idf,
        )

    def _vocab_dict(self) -> dict[str, int]:
        vocab = self._vocab
        return vocab.as_dict() if isinstance(vocab, Vocabulary) else vocab

    def field_weight(self, name: str) -> float:
        """The weight of a second field (:meth:`with_field`), 0.0 when the index has none."""
        return self._field_weights.get(name, 0.0)

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """Number of passages."""
        return self._num_docs

    @property
    def vocab_size(self) -> int:
        """Number of distinct tokens."""
        return len(self._vocab)

    @property
    def params(self) -> dict[str, Any]:
        """BM25 parameters and counts (a copy), e.g. for the index manifest."""
        return {**self._params, **self._meta}

    def token_ids(self, query_tokens: Sequence[str]) -> list[int]:
        """Vocabulary ids of the query's known tokens, each once, in first-seen order."""
        return self._token_ids(query_tokens)

    def constant(self, token_ids: list[int]) -> float:
        """What BM25L / BM25+ add to every passage's score for these tokens (0 otherwise)."""
        return self._constant(token_ids)

    def passage_weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The score matrix by passage (CSR): ``(indptr, token_ids, weights)``; passage
        ``i``'s BM25 contribution of token ``token_ids[j]`` is ``weights[j]`` for ``j`` in
        ``indptr[i]:indptr[i + 1]``. A query's BM25 score of a passage is the sum of its
        weights over the query's distinct tokens: the sparse vectors of a search engine."""
        counts = np.diff(self._indptr)
        columns = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        order = np.argsort(self._indices, kind="stable")
        rows = np.bincount(self._indices, minlength=self._num_docs)
        indptr = np.zeros(self._num_docs + 1, dtype=np.int64)
        np.cumsum(rows, out=indptr[1:])
        return indptr, columns[order], np.asarray(self._data)[order]

    def _token_ids(self, query_tokens: Sequence[str]) -> list[int]:
        # Each distinct token counts once, in first-seen order.
        if isinstance(self._vocab, Vocabulary):
            return self._vocab.columns(query_tokens)
        get = self._vocab.get
        seen: dict[int, None] = {}
        for token in query_tokens:
            tid = get(token)
            if tid is not None:
                seen[tid] = None
        return list(seen)

    def _accumulate(self, token_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Concatenated postings (passage ids, score contributions) of the tokens."""
        indptr, indices, data = self._indptr, self._indices, self._data
        if len(token_ids) == 1:
            s, e = indptr[token_ids[0]], indptr[token_ids[0] + 1]
            return indices[s:e], data[s:e]
        # The positions of every token's postings, back to back, gathered at once: the same
        # arrays as concatenating each token's slice, without a slice per token and column.
        ids = np.asarray(token_ids, dtype=np.int64)
        starts = indptr[ids]
        lengths = indptr[ids + 1] - starts
        ends = np.cumsum(lengths)
        positions = np.repeat(starts - ends + lengths, lengths) + np.arange(ends[-1])
        return indices[positions], data[positions]

    def _constant(self, token_ids: list[int]) -> float:
        if self._nonoccurrence is None or not token_ids:
            return 0.0
        return float(self._nonoccurrence[token_ids].sum())

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every passage.

        Args:
            query_tokens: Tokens of the query (from the same tokenizer as the passages);
                unknown tokens are ignored and repeated tokens count once.

        Returns:
            ``float32`` array of length ``len(self)``.
        """
        token_ids = self._token_ids(query_tokens)
        out = np.zeros(self._num_docs, dtype=np.float32)
        if token_ids:
            idx, weights = self._accumulate(token_ids)
            out += np.bincount(idx, weights=weights, minlength=self._num_docs).astype(np.float32)
            out += self._constant(token_ids)
        return out

    def search(
        self, query_tokens: Sequence[str], k: int, *, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` passages that contain at least one query token.

        Args:
            query_tokens: Tokens of the query (see :meth:`scores`).
            k: How many passages to return at most (clamped to the corpus).
            rows: Only these passages (sorted unique indices), filtered before ranking, so
                up to ``k`` of them come back however they rank in the whole corpus.

        Returns:
            ``(ids, scores)``: ``int64`` passage indices and ``float32`` scores, best first;
            ties are broken by the lower index. Passages with a score of 0 or less (no
            query token, or only tokens with IDF 0) are left out, so fewer than ``k`` may
            come back.
        """
        k = min(int(k), self._num_docs)
        token_ids = self._token_ids(query_tokens)
        if k <= 0 or not token_ids:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        idx, weights = self._accumulate(token_ids)
        full = np.bincount(idx, weights=weights, minlength=self._num_docs)
        cand = (full > 0).nonzero()[0] if rows is None else rows[full[rows] > 0]
        if len(cand) > k:
            cand_scores = full[cand]
            # Everything tied with the k-th best stays in, so ties break by index below.
            kth = np.partition(cand_scores, len(cand) - k)[len(cand) - k]
            cand = cand[cand_scores >= kth]
        cand_scores = full[cand]
        order = np.lexsort((cand, -cand_scores))[:k]
        ids = cand[order].astype(np.int64)
        top = (cand_scores[order] + self._constant(token_ids)).astype(np.float32)
        return ids, top

    def words(self) -> Sequence[str]:
        """Every token, in id order (the inverse of the vocabulary; built on first use, or
        decoded token by token from a loaded index's vocabulary file)."""
        if isinstance(self._vocab, Vocabulary):
            return self._vocab.words()
        words = self._words
        if words is None:
            words = list(self._vocab)
            if any(i != tid for i, tid in enumerate(self._vocab.values())):
                ordered = [""] * len(words)
                for token, tid in self._vocab.items():
                    ordered[tid] = token
                words = ordered
            self._words = words
        return words

    def df(self, token: str) -> int:
        """Number of passages that contain ``token`` (0 when unknown)."""
        tid = self._vocab.get(token)
        return 0 if tid is None else int(self._df[tid])

    def idf(self, token: str) -> float:
        """BM25 IDF of ``token`` as bm25s computes it for this index's method.

        Returns:
            The IDF, or 0.0 for a token that is not in the vocabulary.
        """
        tid = self._vocab.get(token)
        if tid is None or self._df[tid] == 0:
            return 0.0
        if self._idf is not None:
            return float(self._idf[tid])
        return float(_IDF_OF[self._params["idf_method"]](int(self._df[tid]), self._num_docs))

    @property
    def max_idf(self) -> float:
        """The IDF of a token found in a single passage: the largest this index gives."""
        known = self._meta.get("max_idf")
        if isinstance(known, float):
            return known
        return float(_IDF_OF[self._params["idf_method"]](1, self._num_docs))

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> list[Path]:
        """Write the index as ``.npy`` arrays and JSON (no pickle).

        Args:
            directory: Target directory (created when missing).

        Returns:
            The files written.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        arrays = [(_DATA, self._data), (_INDICES, self._indices), (_INDPTR, self._indptr)]
        if self._nonoccurrence is not None:
            arrays.append((_NONOCCURRENCE, self._nonoccurrence))
        if self._idf is not None:
            arrays.append((_IDF, self._idf))
        for name, array in arrays:
            path = directory / name
            np.save(path, array, allow_pickle=False)
            written.append(path)
        import orjson

        # bm25s's vocabulary (~200,000 tokens with the bigram field; this module reads
        # vocab.tokens.txt and vocab.table.npy), by orjson: a tenth of json.dumps's time.
        (directory / _VOCAB).write_bytes(orjson.dumps(self._vocab_dict()))
        written.append(directory / _VOCAB)
        for name, obj in ((_PARAMS, self._params), (_META, self._meta)):
            path = directory / name
            path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
            written.append(path)
        vocab = self._vocab
        words = vocab.split() if isinstance(vocab, Vocabulary) else list(self.words())
        try:
            written += Vocabulary.write(directory, words)
        except ValueError as exc:
            raise RagError(f"the vocabulary cannot be saved: {exc}") from None
        return written

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex:
        """Read an index written by :meth:`save`, checking that its files agree.

        Args:
            directory: Directory given to :meth:`save`.

        Returns:
            The index.

        Raises:
            IndexMismatchError: A file is missing, unreadable, of another format, or the
                arrays do not fit each other.
        """
        directory = Path(directory)

        def fail(why: str) -> IndexMismatchError:
            return IndexMismatchError(f"lexical index in {directory} {why}; {_FIX}")

        try:
            meta = guards.loads((directory / _META).read_bytes(), what=_META, max_depth=0)
            params = guards.loads((directory / _PARAMS).read_bytes(), what=_PARAMS, max_depth=0)
            vocab = Vocabulary.read(directory)
            # Plain ndarrays over the mappings (slicing a np.memmap builds a memmap object).
            data = np.load(directory / _DATA, mmap_mode="r", allow_pickle=False).view(np.ndarray)
            indices = np.load(directory / _INDICES, mmap_mode="r", allow_pickle=False).view(
                np.ndarray
            )
            indptr = np.load(directory / _INDPTR, mmap_mode="r", allow_pickle=False).view(
                np.ndarray
            )
            nonoccurrence = None
            if params.get("method") in ("bm25l", "bm25+"):
                nonoccurrence = np.load(directory / _NONOCCURRENCE, allow_pickle=False)
            idf = None
            if (directory / _IDF).is_file():
                idf = np.load(directory / _IDF, allow_pickle=False)
        except FileNotFoundError as exc:
            raise fail(f"is incomplete: {Path(exc.filename or '?').name} is missing") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise fail(f"cannot be read ({exc})") from None

        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = meta.get("format") if isinstance(meta, dict) else None
            raise fail(f"has format {found!r}, this code reads {FORMAT!r}")
        if not isinstance(params, dict):
            raise fail("has damaged parameters")
        num_docs = meta.get("num_docs")
        if not isinstance(num_docs, int) or num_docs <= 0:
            raise fail("has no passage count")
        n_vocab = len(vocab)
        checks = [
            (params.get("num_docs") == num_docs, "passage counts disagree"),
            (params.get("method") in METHODS, "has an unknown BM25 method"),
            (meta.get("vocab_size") == n_vocab, "vocabulary size disagrees with meta.json"),
            (data.ndim == indices.ndim == indptr.ndim == 1, "arrays are not 1-D"),
            (data.dtype == np.float32 and indices.dtype == np.int32, "arrays have wrong types"),
            (indptr.dtype == np.int64 and len(indptr) == n_vocab + 1, "indptr does not fit"),
            (len(data) == len(indices) == meta.get("nnz"), "array lengths disagree"),
        ]
        for ok, why in checks:
            if not ok:
                raise fail(why)
        if indptr[0] != 0 or indptr[-1] != len(data) or np.any(np.diff(indptr) < 0):
            raise fail("indptr is damaged")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= num_docs):
            raise fail("refers to passages that do not exist")
        if nonoccurrence is not None and nonoccurrence.shape != (n_vocab,):
            raise fail("non-occurrence array does not fit")
        if idf is not None and (
            idf.shape != (n_vocab,) or idf.dtype != np.float64 or not np.isfinite(idf).all()
        ):
            raise fail("IDF array does not fit")
        fields = meta.get("fields", [])
        if not (
            isinstance(fields, list)
            and all(
                isinstance(f, dict)
                and isinstance(f.get("name"), str)
                and isinstance(f.get("columns"), int)
                and isinstance(f.get("weight"), float)
                and math.isfinite(f["weight"])
                and f["weight"] > 0
                for f in fields
            )
            and (not fields or sum(f["columns"] for f in fields) == n_vocab)
        ):
            raise fail("has damaged field weights")
        if "max_idf" in meta and not isinstance(meta["max_idf"], float):
            raise fail("has an invalid max_idf")
        if not math.isfinite(float(params.get("k1", math.nan))):
            raise fail("has invalid BM25 parameters")
        return cls(
            data=data,
            indices=indices,
            indptr=indptr,
            vocab=vocab,
            num_docs=num_docs,
            params=params,
            meta=meta,
            nonoccurrence=nonoccurrence,
            idf=idf,
        )


def _check_parameters(method: str, k1: float, b: float, vocab: dict[str, int]) -> None:
    if method not in METHODS:
        raise RagError(f"unknown BM25 method {method!r}; allowed: {', '.join(METHODS)}")
    if k1 < 0 or not 0.0 <= b <= 1.0:
        raise RagError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
    if not vocab:
        raise RagError("cannot build a lexical index: the passages contain no tokens")


def _describe(
    n_docs: int,
    n_vocab: int,
    nnz: int,
    avg_doc_len: float,
    *,
    k1: float,
    b: float,
    method: str,
    delta: float,
    version: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``params.index.json`` (exactly the keys bm25s writes) and our ``meta.json``."""
    params = {
        "k1": float(k1),
        "b": float(b),
        "delta": float(delta),
        "method": method,
        "idf_method": method,
        "dtype": "float32",
        "int_dtype": "int32",
        "num_docs": n_docs,
        "version": version,
        "backend": "numpy",
    }
    meta = {
        "format": FORMAT,
        "num_docs": n_docs,
        "vocab_size": n_vocab,
        "nnz": nnz,
        "avg_doc_len": avg_doc_len,
        "max_idf": float(_IDF_OF[method](1, n_docs)),
    }
    return params, meta


# Postings scored at a time by from_postings.
_SLICE = 1 << 22


def _idf_lucene(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _idf_robertson(df: int, n: int) -> float:
    return math.log(max((n - df + 0.5) / (df + 0.5), 1))


# bm25s's IDF formulas (bm25s.scoring._score_idf_*), term for term: importing bm25s to call
# them costs scipy's import (~1.2 s of every build); tests/test_lexical.py compares the two.
_IDF_OF = {
    "lucene": _idf_lucene,
    "robertson": _idf_robertson,
    "atire": lambda df, n: math.log(n / df),
    "bm25l": lambda df, n: math.log((n + 1) / (df + 0.5)),
    "bm25+": lambda df, n: math.log((n + 1) / df),
}


def _tfc(method: str, tf: Any, l_d: Any, l_avg: Any, k1: float, b: float, delta: float) -> Any:
    """bm25s's term-frequency component (bm25s.scoring._score_tfc_*), operation for
    operation, so that float64 arrays round as its scalars do."""
    if method in ("lucene", "robertson"):
        return tf / (k1 * ((1 - b) + b * l_d / l_avg) + tf)
    if method == "atire":
        return (tf * (k1 + 1)) / (tf + k1 * (1 - b + b * l_d / l_avg))
    if method == "bm25l":
        c = tf / (1 - b + b * l_d / l_avg)
        return ((k1 + 1) * (c + delta)) / (k1 + c + delta)
    num = (k1 + 1) * tf
    den = k1 * (1 - b + b * l_d / l_avg) + tf
    return (num / den) + delta


def _bm25s_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bm25s")
    except PackageNotFoundError:
        return "unknown"


# What params.index.json records as the bm25s version (read from the installed package's
# metadata, as bm25s itself does, without importing it).
_BM25S_VERSION = _bm25s_version()


def _idf_array(df: np.ndarray, num_docs: int, method: str) -> np.ndarray:
    """bm25s's IDF of every column, as float64 (exactly what its scalar scorer returns)."""
    scorer = _IDF_OF[method]
    values, inverse = np.unique(df, return_inverse=True)
    table = np.array([scorer(int(v), num_docs) if v else 0.0 for v in values], dtype=np.float64)
    return np.ascontiguousarray(table[inverse.reshape(-1)])
