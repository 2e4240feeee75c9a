"""Search backends behind :class:`rag.retrieval.Retriever`: where the rankings come from.

A backend answers three calls over the passages of one generation, which it identifies by
their row (the position in ``Generation.chunks``, the BM25 row and the vector id alike):

* ``lexical(tokens, k, within)``: BM25 over the tokens of :class:`rag.tokenization.Tokenizer`;
* ``dense(vector, k, within)``: inner product with the passage vectors;
* ``fetch(rows)``: the passages themselves.

``local`` (:mod:`rag.backends.local`, the default) reads the BM25 arrays, the FAISS index
and the columnar store of the index directory; ``milvus`` (:mod:`rag.backends.milvus`) asks
a Milvus collection written by the build (Milvus Lite, a local file, or a Milvus server or
cluster). Fusion, answer selection and the verbatim check stay in the caller, so both
backends answer from the same code. ``Settings.backend`` chooses (``RAG_BACKEND``).

``within`` (a :class:`Within`, or None for every passage) restricts a ranking to some
passages *before* ranking (a scoped question, :mod:`rag.scope`): the best ``k`` inside, not
the part of the overall top ``k`` that falls inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import IndexMismatchError

if TYPE_CHECKING:
    from ..schema import Chunk
    from ..settings import Settings
    from ..store import Generation

__all__ = ["Ranking", "SearchBackend", "Within", "open_backend"]

# Row ids and scores, best first.
Ranking = tuple[list[int], list[float]]


@dataclass(frozen=True, eq=False)
class Within:
    """The passages a ranking may return: their rows (sorted, unique ``int64``) and the ids of
    the documents they belong to (a backend filters on whichever it stores)."""

    rows: np.ndarray
    doc_ids: tuple[str, ...]

    def __contains__(self, row: object) -> bool:
        if not isinstance(row, int | np.integer):
            return False
        i = int(np.searchsorted(self.rows, row))
        return i < len(self.rows) and int(self.rows[i]) == row


class SearchBackend(Protocol):
    """Where lexical and dense rankings and the passages come from."""

    name: str

    def lexical(self, tokens: Sequence[str], k: int, within: Within | None = None) -> Ranking:
        """The best ``k`` passages by BM25 that hold at least one token (score > 0),
        best first, ties broken by the lower row; only passages ``within`` when given."""
        ...

    def dense(self, vector: np.ndarray, k: int, within: Within | None = None) -> Ranking:
        """The ``k`` passages whose vectors have the largest inner product with ``vector``
        (only passages ``within`` when given)."""
        ...

    def fetch(self, rows: Sequence[int]) -> list[Chunk]:
        """The passages of ``rows``, in that order.

        Raises:
            IndexMismatchError: A row does not exist in the backend.
        """
        ...

    def problems(self) -> list[str]:
        """What is wrong with the backend (unreachable, missing, counts off), or []."""
        ...


def open_backend(settings: Settings, generation: Generation) -> SearchBackend:
    """The backend ``settings.backend`` names, over ``generation``.

    Raises:
        IndexMismatchError: The generation was not built into the chosen backend.
        RagError: The backend cannot be reached.
    """
    if settings.backend == "local":
        from .local import LocalBackend

        return LocalBackend(generation)
    from .milvus import MilvusBackend, collection_of

    name = collection_of(generation.manifest)
    if name is None:
        raise IndexMismatchError(
            f"the index at {generation.path} was built without Milvus; run "
            "`rag build --force --backend milvus` (or set RAG_BACKEND=local)"
        )
    return MilvusBackend.connect(settings, generation, name)
