"""Search backends behind :class:`rag.retrieval.Retriever`: where the rankings come from.

A backend answers three calls over the passages of one generation, which it identifies by
their row (the position in ``Generation.chunks``, the BM25 row and the vector id alike):

* ``lexical(tokens, k)``: BM25 over the tokens of :class:`rag.tokenization.Tokenizer`;
* ``dense(vector, k)``: inner product with the passage vectors;
* ``fetch(rows)``: the passages themselves.

``local`` (:mod:`rag.backends.local`, the default) reads the BM25 arrays, the FAISS index
and the columnar store of the index directory; ``milvus`` (:mod:`rag.backends.milvus`) asks
a Milvus collection written by the build (Milvus Lite, a local file, or a Milvus server or
cluster). Fusion, answer selection and the verbatim check stay in the caller, so both
backends answer from the same code. ``Settings.backend`` chooses (``RAG_BACKEND``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import IndexMismatchError

if TYPE_CHECKING:
    from ..schema import Chunk
    from ..settings import Settings
    from ..store import Generation

__all__ = ["Ranking", "SearchBackend", "open_backend"]

# Row ids and scores, best first.
Ranking = tuple[list[int], list[float]]


class SearchBackend(Protocol):
    """Where lexical and dense rankings and the passages come from."""

    name: str

    def lexical(self, tokens: Sequence[str], k: int) -> Ranking:
        """The best ``k`` passages by BM25 that hold at least one token (score > 0),
        best first, ties broken by the lower row."""
        ...

    def dense(self, vector: np.ndarray, k: int) -> Ranking:
        """The ``k`` passages whose vectors have the largest inner product with ``vector``."""
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
