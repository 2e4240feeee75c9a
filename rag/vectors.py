"""Dense vector search with FAISS: exact for small corpora, HNSW for large ones.

Vectors are L2-normalised, so inner product is cosine similarity.

* Below ``ann_threshold`` vectors: ``IndexFlatIP``, exact.
* From ``ann_threshold`` on: ``IndexHNSWFlat`` with inner product, ``M = 32``,
  ``efConstruction = 200``, ``efSearch = 384`` (raised to ``k`` when ``k`` is larger).

How the HNSW settings were chosen: no 10^6-passage Chinese corpus or Chinese model is
available here, so the test set was 10^6 synthetic 384-d unit vectors drawn from a Gaussian
with the mean and covariance of 13,120 real all-MiniLM-L6-v2 embeddings (CMRC sentences
and questions), 300 queries from the same distribution, exact ``IndexFlatIP`` as the truth.
This proxy keeps the anisotropy of real embeddings but not their clusters, so it is
pessimistic: at 13k vectors the real embeddings reach recall@10 0.98 with ``efSearch = 32``
where the proxy needs 64. Single-thread queries, recall@10 and distance computations per
query::

    graph                       efSearch:   256     320     384     512
    M=32, efConstruction=80     recall     0.906     -     0.942   0.959
                                distances  10.1k     -     14.2k   18.1k
    M=32, efConstruction=200    recall     0.941   0.955   0.969     -
                                distances  11.6k   14.0k   16.4k     -

Measured single-thread latency of the chosen graph and efSearch at 10^6 vectors: 4.4 ms
median, 4.8 ms p95, recall@10 0.969 (efSearch 320: 3.8 ms, 0.955; the efConstruction=80
graph needs efSearch 512 and 5.0 ms for 0.959), with one other process busy on the second
core; exact search takes 50–100 ms. The price is the build: ~38 min for 10^6 vectors on 2
busy cores (9 min with efConstruction=80), small next to embedding 10^6 passages on a CPU,
and ~1.8 GB of memory.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((100, 8)).astype(np.float32)
    >>> x /= np.linalg.norm(x, axis=1, keepdims=True)
    >>> index = VectorIndex.build(x, ann_threshold=10_000)
    >>> ids, scores = index.search(x[3], k=1)
    >>> ids.tolist(), index.kind
    ([3], 'flat')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from .errors import IndexMismatchError, RagError

__all__ = [
    "HNSW_EF_CONSTRUCTION",
    "HNSW_EF_SEARCH",
    "HNSW_M",
    "SENTENCE_VECTORS",
    "SentenceVectors",
    "VectorIndex",
    "mean_rows",
]

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 384
# A scoped dense search over at most this many passages compares their vectors directly.
EXACT_ROWS = 20_000
_FIX = "run `rag build --force` to rebuild the index"


def _threads() -> int:
    """OpenMP threads for building: every core (this box has 2)."""
    return max(1, os.cpu_count() or 1)


def _as_matrix(vectors: np.ndarray, what: str) -> np.ndarray:
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise RagError(f"{what} must be a 2-D array (n, dimension), got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise RagError(f"{what} contain NaN or infinite values")
    return np.ascontiguousarray(matrix)


class VectorIndex:
    """A FAISS inner-product index over normalised vectors.

    Create it with :meth:`build` or :meth:`load`; vector ``i`` is row ``i`` of the matrix
    given to :meth:`build` (the passage with the same position).
    """

    def __init__(self, index: faiss.Index) -> None:
        """Wrap a FAISS index; use :meth:`build` or :meth:`load` instead of calling this."""
        self._index = index
        self._hnsw = isinstance(index, faiss.IndexHNSW)

    @classmethod
    def build(cls, vectors: np.ndarray, *, ann_threshold: int) -> VectorIndex:
        """Index the rows of ``vectors``.

        Args:
            vectors: ``(n, dimension)`` array, rows L2-normalised (cosine = inner product).
            ann_threshold: From this many vectors on, build HNSW instead of exact search.

        Returns:
            The index.

        Raises:
            RagError: The array is not 2-D or holds NaN/inf.
        """
        matrix = _as_matrix(vectors, "vectors")
        n, dimension = matrix.shape
        faiss.omp_set_num_threads(_threads())
        index: faiss.Index
        if n < ann_threshold:
            index = faiss.IndexFlatIP(dimension)
        else:
            index = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(matrix)
        return cls(index)

    @property
    def dimension(self) -> int:
        """Vector length."""
        return int(self._index.d)

    @property
    def ntotal(self) -> int:
        """Number of vectors."""
        return int(self._index.ntotal)

    @property
    def kind(self) -> str:
        """``"flat"`` (exact) or ``"hnsw"`` (approximate)."""
        return "hnsw" if self._hnsw else "flat"

    def reconstruct_all(self) -> np.ndarray:
        """Every stored vector as an ``(ntotal, dimension)`` float32 matrix (to copy the
        index into another engine)."""
        return np.asarray(self._index.reconstruct_n(0, self.ntotal), dtype=np.float32)

    def search(
        self, query: np.ndarray, k: int, *, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest vectors by inner product.

        Args:
            query: One vector, shape ``(dimension,)`` or ``(1, dimension)``, normalised.
            k: How many to return (clamped to the index size).
            rows: Only these vectors (sorted unique row ids), filtered inside the search
                (exact over their own vectors when they are few, else a FAISS
                ``IDSelector``), so up to ``k`` of them come back.

        Returns:
            ``(ids, scores)``: ``int64`` row ids and ``float32`` inner products, best first.

        Raises:
            RagError: The query has the wrong shape or dimension.
        """
        q = _as_matrix(query, "query")
        if q.shape != (1, self.dimension):
            raise RagError(
                f"query must be one vector of dimension {self.dimension}, got shape {q.shape}"
            )
        k = min(int(k), self.ntotal if rows is None else len(rows))
        if k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        # One query gains nothing from OpenMP threads; it would only wake them up.
        faiss.omp_set_num_threads(1)
        if rows is not None:
            return self._search_rows(q, k, np.ascontiguousarray(rows, dtype=np.int64))
        if self._hnsw:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = max(HNSW_EF_SEARCH, k)
            scores, ids = self._index.search(q, k, params=params)
        else:
            scores, ids = self._index.search(q, k)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def _search_rows(
        self, q: np.ndarray, k: int, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if len(rows) <= EXACT_ROWS:
            # Exact over the rows' own vectors: a graph walk restricted to few rows misses
            # many of them, and a flat scan of the whole index would read every vector.
            vectors = self._index.reconstruct_batch(rows)
            scores = (vectors @ q[0]).astype(np.float32)
            order = np.lexsort((rows, -scores))[:k]
            return rows[order], scores[order]
        selector = faiss.IDSelectorBatch(len(rows), faiss.swig_ptr(rows))
        params: Any
        if self._hnsw:
            params = faiss.SearchParametersHNSW(sel=selector)  # type: ignore[attr-defined]
            params.efSearch = max(HNSW_EF_SEARCH, 4 * k)
        else:
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self._index.search(q, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float32)

    def save(self, path: Path) -> None:
        """Write the index, then check that the file is non-empty and reads back.

        Args:
            path: Target file.

        Raises:
            RagError: FAISS failed, or the file it reported as written is empty or unreadable
                (FAISS can report success after writing nothing, e.g. on a full disk).
        """
        path = Path(path)
        try:
            faiss.write_index(self._index, str(path))
        except RuntimeError as exc:
            raise RagError(f"writing the vector index to {path} failed: {exc}") from None
        size = path.stat().st_size if path.is_file() else 0
        if size == 0:
            raise RagError(
                f"writing the vector index to {path} produced an empty file; "
                "check free disk space and permissions, then build again"
            )
        try:
            back = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise RagError(
                f"the vector index written to {path} cannot be read back ({exc}); "
                "check free disk space, then build again"
            ) from None
        if back.ntotal != self.ntotal or back.d != self.dimension:
            raise RagError(
                f"the vector index written to {path} holds {back.ntotal}×{back.d} vectors, "
                f"expected {self.ntotal}×{self.dimension}; build again"
            )

    @classmethod
    def load(cls, path: Path, *, dimension: int | None = None) -> VectorIndex:
        """Read an index written by :meth:`save`.

        Args:
            path: The file.
            dimension: Expected vector length (from the manifest), checked when given.

        Returns:
            The index.

        Raises:
            IndexMismatchError: The file is missing, empty or damaged, is not an
                inner-product index of a supported kind, or has another dimension.
        """
        path = Path(path)
        if not path.is_file():
            raise IndexMismatchError(f"vector index {path} is missing; {_FIX}")
        if path.stat().st_size == 0:
            raise IndexMismatchError(f"vector index {path} is empty; {_FIX}")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unknown error"
            raise IndexMismatchError(f"vector index {path} is damaged ({first}); {_FIX}") from None
        supported = isinstance(index, faiss.IndexFlatIP | faiss.IndexHNSWFlat)
        if not supported or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IndexMismatchError(
                f"vector index {path} is a {type(index).__name__}, not an inner-product "
                f"flat or HNSW index; {_FIX}"
            )
        if dimension is not None and index.d != dimension:
            raise IndexMismatchError(
                f"vector index {path} has dimension {index.d}, the manifest says {dimension}; "
                f"{_FIX}"
            )
        return cls(index)


def mean_rows(vectors: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Normalised mean of consecutive groups of rows (``counts[i]`` rows for group ``i``).

    A group of no rows gives a zero row (the caller fills it).

    Returns:
        ``(len(counts), dimension)`` ``float32`` array.
    """
    matrix = np.asarray(vectors, dtype=np.float32)
    sizes = np.asarray(counts, dtype=np.int64)
    out = np.zeros((len(sizes), matrix.shape[1]), dtype=np.float32)
    nonempty = sizes > 0
    if nonempty.any():
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[nonempty]
        out[nonempty] = np.add.reduceat(matrix, starts, axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return out / norms


SENTENCE_VECTORS = "sentence_vectors.npy"
SENTENCE_DTYPE = np.float16


class SentenceVectors:
    """Unit vectors of every sentence of every passage, for answer selection.

    Row ``i`` is sentence id ``i``: the sentences of passage 0 in order, then those of
    passage 1, and so on (``Chunk.sentences``), so sentence ``j`` of passage ``p`` has id
    ``offsets[p] + j`` (:meth:`sentence_id`, :meth:`passage_sentences`). Stored as one plain
    ``float16`` ``.npy`` file (``sentence_vectors.npy`` next to ``vectors.faiss``, its sha256 in
    the manifest like every file; half the size of ``float32``, cosines within ~1e-3) and
    memory-mapped on load, so a large index costs no start-up time.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> m = rng.standard_normal((5, 8)).astype(np.float32)
        >>> m /= np.linalg.norm(m, axis=1, keepdims=True)
        >>> sv = SentenceVectors(m, SentenceVectors.offsets_of([2, 3]))
        >>> sv.sentence_id(1, 0), sv.similarities(m[3], [3, 0]).round(2)[0]
        (2, 1.0)
    """

    def __init__(self, matrix: np.ndarray, offsets: np.ndarray) -> None:
        if matrix.ndim != 2:
            raise RagError(f"sentence vectors must be a 2-D array, got shape {matrix.shape}")
        if len(offsets) == 0 or int(offsets[-1]) != matrix.shape[0]:
            raise RagError(
                f"{matrix.shape[0]} sentence vectors for "
                f"{int(offsets[-1]) if len(offsets) else 0} sentences"
            )
        self._matrix = matrix
        self._offsets = np.asarray(offsets, dtype=np.int64)

    @staticmethod
    def offsets_of(sentence_counts: list[int] | np.ndarray) -> np.ndarray:
        """First sentence id of every passage, plus the total: ``len(counts) + 1`` ints.

        Args:
            sentence_counts: Number of sentences of each passage, in passage order.
        """
        offsets = np.zeros(len(sentence_counts) + 1, dtype=np.int64)
        np.cumsum(np.asarray(sentence_counts, dtype=np.int64), out=offsets[1:])
        return offsets

    @property
    def dimension(self) -> int:
        """Vector length."""
        return int(self._matrix.shape[1])

    def __len__(self) -> int:
        return int(self._matrix.shape[0])

    def sentence_id(self, passage: int, j: int) -> int:
        """Id of sentence ``j`` of passage ``passage``.

        Raises:
            IndexError: No such passage or sentence.
        """
        start, end = int(self._offsets[passage]), int(self._offsets[passage + 1])
        if not 0 <= j < end - start:
            raise IndexError(f"passage {passage} has {end - start} sentences, not {j + 1}")
        return start + j

    def passage_sentences(self, passage: int) -> range:
        """Ids of the sentences of one passage, in order."""
        return range(int(self._offsets[passage]), int(self._offsets[passage + 1]))

    def similarities(
        self, query_vec: np.ndarray, sentence_ids: Sequence[int] | np.ndarray
    ) -> np.ndarray:
        """Cosine similarity of the question vector with each listed sentence.

        Args:
            query_vec: The question's unit vector (``Retriever.query_vector``), 1-D.
            sentence_ids: Sentence ids (:meth:`sentence_id`).

        Returns:
            ``float32`` array, one similarity in [-1, 1] per id, in the order given
            (~10 µs for 50 sentences of 512 dimensions).

        Raises:
            RagError: The vector has the wrong dimension.
        """
        q = np.asarray(query_vec, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dimension:
            raise RagError(
                f"query vector has dimension {q.shape[0]}, the sentence vectors {self.dimension}"
            )
        ids = np.asarray(sentence_ids, dtype=np.int64)
        if ids.size == 0:
            return np.empty(0, dtype=np.float32)
        rows = np.asarray(self._matrix[ids], dtype=np.float32)
        return rows @ q

    def save(self, path: Path) -> None:
        """Write the matrix as ``float16`` ``.npy`` (no pickle)."""
        np.save(Path(path), np.ascontiguousarray(self._matrix, dtype=SENTENCE_DTYPE))

    @classmethod
    def build(cls, vectors: np.ndarray, sentence_counts: list[int]) -> SentenceVectors:
        """Wrap freshly embedded sentence vectors (rows normalised), stored as ``float16``.

        Raises:
            RagError: Not 2-D, NaN/inf, or not one row per sentence.
        """
        matrix = _as_matrix(vectors, "sentence vectors").astype(SENTENCE_DTYPE)
        return cls(matrix, cls.offsets_of(sentence_counts))

    @classmethod
    def load(cls, path: Path, sentence_counts: list[int], *, dimension: int) -> SentenceVectors:
        """Memory-map a file written by :meth:`save` and check its shape.

        Args:
            path: The ``.npy`` file.
            sentence_counts: Sentences of each passage (from the passages of the index).
            dimension: Expected vector length (from the manifest).

        Raises:
            IndexMismatchError: Missing, unreadable, of another dtype, dimension or count.
        """
        path = Path(path)
        if not path.is_file():
            raise IndexMismatchError(f"sentence vectors {path} are missing; {_FIX}")
        try:
            matrix = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexMismatchError(
                f"sentence vectors {path} are damaged ({exc}); {_FIX}"
            ) from None
        offsets = cls.offsets_of(sentence_counts)
        expected = (int(offsets[-1]), dimension)
        if matrix.dtype != SENTENCE_DTYPE or matrix.shape != expected:
            raise IndexMismatchError(
                f"sentence vectors {path} hold {matrix.dtype} {matrix.shape}, expected "
                f"float16 {expected}; {_FIX}"
            )
        return cls(matrix, offsets)
