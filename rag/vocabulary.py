"""The BM25 vocabulary on disk: token → column, looked up in a memory-mapped hash table, so
loading an index builds no Python dictionary of its tokens.

With the character-bigram field a vocabulary holds ~140,000 tokens on CMRC (2,800 passages)
and ~780,000 at 10^5 passages. Building a ``dict`` of them on load took ~35 ms and ~1.2 s
(decoding a JSON object of them took longer still); here loading reads two files and counts
line breaks, and a lookup costs a CRC-32 and a probe or two.

Files (in the lexical index's directory):

* ``vocab.tokens.txt``: the tokens in column order, UTF-8, one per line (no token is empty or
  holds a line break);
* ``vocab.table.npy``: an open-addressing hash table (``int32``, a power of two at least twice
  the vocabulary, ``-1`` for an empty slot) of column numbers, by ``zlib.crc32`` of each
  token's UTF-8 bytes, with linear probing; the columns of the tokens asked for are remembered.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = Vocabulary.write(folder, ["上海", "城市", "软实力"])
    >>> vocab = Vocabulary.read(folder)
    >>> vocab.get("城市"), vocab.get("北京"), len(vocab)
    (1, None, 3)
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TABLE", "TOKENS", "Vocabulary"]

TOKENS = "vocab.tokens.txt"
TABLE = "vocab.table.npy"
MEMO_SIZE = 200_000
"""Tokens whose column :meth:`Vocabulary.get` remembers at most."""
_UNSEEN = object()


def _table_size(count: int) -> int:
    """The smallest power of two of at least twice ``count`` slots (load factor ≤ 0.5)."""
    return 1 << max(1, (2 * count - 1).bit_length())


def _hashes(encoded: Sequence[bytes]) -> np.ndarray:
    crc32 = zlib.crc32
    return np.fromiter((crc32(b) for b in encoded), dtype=np.int64, count=len(encoded))


def build_table(encoded: Sequence[bytes]) -> np.ndarray:
    """The hash table of tokens (UTF-8 bytes, column order): linear probing, every token
    placed in the first free slot from its hash on; ties for a slot go to the lower column,
    so the table depends only on the tokens and their order."""
    size = _table_size(len(encoded))
    mask = size - 1
    table = np.full(size, -1, dtype=np.int32)
    position = _hashes(encoded) & mask
    pending = np.arange(len(encoded), dtype=np.int64)
    while len(pending):
        slots = position[pending]
        free = table[slots] < 0
        taken, first = np.unique(slots[free], return_index=True)
        winners = pending[free][first]
        table[taken] = winners
        placed = np.zeros(len(encoded), dtype=bool)
        placed[winners] = True
        pending = pending[~placed[pending]]
        position[pending] = (position[pending] + 1) & mask
    return table


class Vocabulary:
    """Token → column of a saved lexical index (read-only; see the module docstring).

    Use :meth:`read`; :meth:`write` saves a list of tokens.
    """

    def __init__(self, blob: bytes, table: np.ndarray) -> None:
        """Wrap the files' contents (checked by :meth:`read`)."""
        self._blob = blob
        breaks = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 10)
        count = len(breaks) + 1 if blob else 0
        # Token i is blob[starts[i] : starts[i + 1] - 1]: each start follows a line break,
        # and one past the end stands for the break the last token lacks.
        starts = np.empty(count + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:count] = breaks + 1
        starts[count] = len(blob) + 1
        self._count = count
        self._starts = starts.data
        self._slots = table.data  # the memoryview keeps the table alive
        self._mask = len(table) - 1
        self._memo: dict[str, int | None] = {}

    @classmethod
    def write(cls, directory: Path, words: Sequence[str]) -> list[Path]:
        """Save ``words`` (the tokens in column order).

        Raises:
            ValueError: A token is empty, holds a line break, cannot be encoded, or repeats.
        """
        encoded = [w.encode("utf-8") for w in words]
        if any(not b or b"\n" in b for b in encoded):
            raise ValueError("a token is empty or holds a line break")
        if len(set(words)) != len(words):  # str hashes are cached: cheaper than the bytes
            raise ValueError("a token repeats")
        tokens, table = Path(directory) / TOKENS, Path(directory) / TABLE
        tokens.write_bytes(b"\n".join(encoded))
        np.save(table, build_table(encoded), allow_pickle=False)
        return [tokens, table]

    @classmethod
    def read(cls, directory: Path) -> Vocabulary:
        """Open the vocabulary saved in ``directory``.

        Raises:
            FileNotFoundError: A file is missing.
            ValueError: The files do not fit each other (or are not what :meth:`write` saves).
        """
        directory = Path(directory)
        blob = (directory / TOKENS).read_bytes()
        blob.decode("utf-8")  # raises UnicodeDecodeError (a ValueError) for other bytes
        path = directory / TABLE
        table = np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
        vocab = cls(blob, table)
        n = len(vocab)
        if table.dtype != np.int32 or table.ndim != 1 or len(table) != _table_size(n):
            raise ValueError("the hash table does not fit the tokens")
        used = table[table >= 0]
        if len(used) != n or (n and (int(used.max()) >= n or int(table.min()) < -1)):
            raise ValueError("the hash table does not fit the tokens")
        if n and (blob[:1] == b"\n" or blob[-1:] == b"\n" or b"\n\n" in blob):
            raise ValueError("a token is empty")
        return vocab

    def __len__(self) -> int:
        return self._count

    def get(self, token: str) -> int | None:
        """The column of ``token``, or None when it is not in the vocabulary.

        Answers are remembered (up to :data:`MEMO_SIZE` tokens, then forgotten at once and
        gathered again): questions reuse their words, and a remembered token costs one
        dictionary lookup where the table costs ~2 µs, more when its slot is not in the CPU
        cache.
        """
        memo = self._memo
        column = memo.get(token, _UNSEEN)
        if column is not _UNSEEN:
            return column  # type: ignore[return-value]
        column = self._find(token)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[token] = column
        return column

    def columns(self, tokens: Sequence[str]) -> list[int]:
        """The columns of the known ``tokens``, each once, in first-seen order (what a query
        reads: :meth:`get` of each token in one loop, remembered tokens without a call)."""
        memo = self._memo
        seen: dict[int, None] = {}
        for token in tokens:
            column = memo.get(token, _UNSEEN)
            if column is _UNSEEN:
                column = self.get(token)
            if column is not None:
                seen[column] = None  # type: ignore[index]
        return list(seen)

    def _find(self, token: str) -> int | None:
        data = token.encode("utf-8", "surrogatepass")
        mask, slots, starts, blob = self._mask, self._slots, self._starts, self._blob
        slot = zlib.crc32(data) & mask
        while True:
            column = slots[slot]
            if column < 0:
                return None
            if blob[starts[column] : starts[column + 1] - 1] == data:
                return int(column)
            slot = (slot + 1) & mask

    def words(self) -> Sequence[str]:
        """Every token in column order, each decoded when it is read: answer selection reads
        the tokens of a few passages' sentences, and splitting the whole list would cost
        ~20 ms on CMRC and ~0.3 s and ~150 MB at 10^6 passages."""
        return _Tokens(self._blob, self._starts, self._count)

    def split(self) -> list[str]:
        """Every token in column order, as a list."""
        text = self._blob.decode("utf-8")
        return text.split("\n") if text else []

    def as_dict(self) -> dict[str, int]:
        """Token → column as a dictionary (e.g. to combine or re-save an index)."""
        return {w: i for i, w in enumerate(self.split())}


class _Tokens(Sequence[str]):
    """The tokens of a vocabulary by column, decoded on access."""

    def __init__(self, blob: bytes, starts: memoryview, count: int) -> None:
        self._blob, self._starts, self._count = blob, starts, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError(i)
        return self._blob[self._starts[i] : self._starts[i + 1] - 1].decode("utf-8")

    def joined(self, columns: Sequence[int], sep: str = " ") -> str:
        """``sep.join([self[i] for i in columns])``, decoded in one call (a passage's
        sentences are read this way: one decode per sentence, not one per token)."""
        count = self._count
        if columns and not (min(columns) >= 0 and max(columns) < count):
            return sep.join([self[i] for i in columns])  # negative or out of range: as [i]
        blob, starts = self._blob, self._starts
        pieces = [blob[starts[i] : starts[i + 1] - 1] for i in columns]
        return sep.encode("utf-8").join(pieces).decode("utf-8")

    def joined_runs(self, columns: Sequence[int], bounds: Sequence[int]) -> list[str]:
        """``[self.joined(columns[a:b]) for a, b in pairwise(bounds)]`` (a passage's sentences,
        ``bounds`` their offsets into ``columns``), decoded in one call: the sentences are
        joined by line breaks, which no token holds (the vocabulary separates its tokens
        with them), and split again after one decode."""
        count = self._count
        if len(bounds) < 2:
            return []
        if columns and not (min(columns) >= 0 and max(columns) < count):
            return [self.joined(columns[a:b]) for a, b in itertools.pairwise(bounds)]
        blob, starts = self._blob, self._starts
        pieces = [blob[starts[i] : starts[i + 1] - 1] for i in columns]
        runs = [b" ".join(pieces[a:b]) for a, b in itertools.pairwise(bounds)]
        return b"\n".join(runs).decode("utf-8").split("\n")
