"""The local backend: BM25 arrays, FAISS and the columnar store of the index directory."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import RagError
from ..schema import Chunk
from ..store import Generation
from . import Ranking, Within

__all__ = ["LocalBackend"]


class LocalBackend:
    """Searches the generation's own arrays in this process (the default backend).

    Args:
        generation: The loaded generation.
    """

    name = "local"

    def __init__(self, generation: Generation) -> None:
        self.generation = generation

    def lexical(self, tokens: Sequence[str], k: int, within: Within | None = None) -> Ranking:
        rows = within.rows if within is not None else None
        ids, scores = self.generation.lexical.search(tokens, k, rows=rows)
        return ids.tolist(), scores.tolist()

    def dense(self, vector: np.ndarray, k: int, within: Within | None = None) -> Ranking:
        if self.generation.vectors is None:
            raise RagError("this index has no vectors (built without an embedding model)")
        rows = within.rows if within is not None else None
        ids, scores = self.generation.vectors.search(
            np.asarray(vector, dtype=np.float32), k, rows=rows
        )
        return ids.tolist(), scores.tolist()

    def fetch(self, rows: Sequence[int]) -> list[Chunk]:
        return self.generation.chunks.take(rows)  # a hit list in one pass over the columns

    def problems(self) -> list[str]:
        return []
