"""Per-file term frequencies of the two lexical fields, and the corpus's sum of them.

A file's :class:`FileBlock` holds, for its passages in order, the postings (passage, token,
count) of the word field and of the character-bigram field, each over the file's own
vocabulary in first-seen order, and the word ids of every sentence (the corpus column
``tokens``). :func:`assemble` puts the files' blocks together in corpus order. The corpus's
vocabulary is the files' vocabularies in file order, each token numbered where it is first
met (a token's first occurrence in the corpus is its first in the first file holding it),
so the ids are exactly those that numbering the corpus token by token gives, while an
unchanged file costs one dictionary lookup per distinct token of it and array arithmetic.
The build caches the blocks per file (:mod:`rag.buildcache`), so an incremental build
neither tokenizes nor takes the bigrams of an unchanged file, nor counts its tokens again.

Example:
    >>> a = FileBlock.build([(["上海"], [["城市", "上海"]])])
    >>> b = FileBlock.build([([], [["北京", "城市"]])])
    >>> words = assemble([a.words, b.words])
    >>> words.vocab, words.cols.tolist(), words.tf.tolist()
    ({'上海': 0, '城市': 1, '北京': 2}, [0, 1, 1, 2], [2, 1, 1, 1])
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Assembled", "Field", "FileBlock", "assemble"]


@dataclass(frozen=True)
class Field:
    """One lexical field of one file's passages, over the file's own vocabulary.

    Attributes:
        vocab: The file's distinct tokens, in first-seen order (local id = position).
        counts: Postings of each passage (int32, one per passage).
        terms: Local token id of each posting, passage by passage (int32).
        tf: Occurrences of the token in the passage (int32, > 0).
        lengths: Tokens of each passage, repeats included (int32).
    """

    vocab: list[str]
    counts: np.ndarray
    terms: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray

    @classmethod
    def build(cls, passages: Iterable[Sequence[str]]) -> Field:
        """The field of passages given as token lists (repeats are term frequencies)."""
        vocab: dict[str, int] = {}
        number = vocab.setdefault
        ids = array("i")
        lengths = array("i")
        for tokens in passages:
            ids.extend([number(t, len(vocab)) for t in tokens])
            lengths.append(len(tokens))
        return cls.of_ids(
            list(vocab), np.frombuffer(ids, np.int32), np.frombuffer(lengths, np.int32)
        )

    @classmethod
    def of_ids(cls, vocab: list[str], ids: np.ndarray, lengths: np.ndarray) -> Field:
        """The field of passages given as one flat array of local ids and their lengths."""
        n, width = len(lengths), max(len(vocab), 1)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths.astype(np.int64))
        keys, tf = np.unique(rows * width + ids, return_counts=True)
        return cls(
            vocab=vocab,
            counts=np.bincount(keys // width, minlength=n).astype(np.int32),
            terms=(keys % width).astype(np.int32),
            tf=tf.astype(np.int32),
            lengths=np.asarray(lengths, dtype=np.int32),
        )

    def arrays(self) -> list[np.ndarray]:
        return [self.counts, self.terms, self.tf, self.lengths]


@dataclass(frozen=True)
class FileBlock:
    """Both lexical fields of one file's passages, and the word ids of their sentences.

    Attributes:
        words: The word field (each passage: its title/section-path words, then its
            sentences' tokens).
        sentence_ids: Local word id of every token of every sentence, passage by passage.
        sentence_lengths: Tokens of each sentence (int32).
        bigrams: The character-bigram field, or None when the index has none.
    """

    words: Field
    sentence_ids: np.ndarray
    sentence_lengths: np.ndarray
    bigrams: Field | None = None

    @classmethod
    def build(
        cls,
        passages: Iterable[tuple[Sequence[str], Sequence[Sequence[str]]]],
        bigrams: Iterable[Sequence[str]] | None = None,
    ) -> FileBlock:
        """The block of a file's passages.

        Args:
            passages: Per passage, its context words (title and section path) and the
                tokens of each of its sentences.
            bigrams: Per passage, its bigram tokens (:func:`rag.ngrams.passage_bigrams`), or
                None for no bigram field.
        """
        vocab: dict[str, int] = {}
        number = vocab.setdefault
        ids = array("i")
        lengths = array("i")
        sentence_ids = array("i")
        sentence_lengths = array("i")
        for context, sentences in passages:
            mine = [number(w, len(vocab)) for w in context]
            for tokens in sentences:
                numbered = [number(t, len(vocab)) for t in tokens]
                sentence_ids.extend(numbered)
                sentence_lengths.append(len(numbered))
                mine.extend(numbered)
            ids.extend(mine)
            lengths.append(len(mine))
        words = Field.of_ids(
            list(vocab), np.frombuffer(ids, np.int32), np.frombuffer(lengths, np.int32)
        )
        return cls(
            words=words,
            sentence_ids=np.frombuffer(sentence_ids, np.int32).copy(),
            sentence_lengths=np.frombuffer(sentence_lengths, np.int32).copy(),
            bigrams=Field.build(bigrams) if bigrams is not None else None,
        )

    def to_parts(self) -> tuple[dict[str, Any], np.ndarray]:
        """The block as JSON (the vocabularies and array lengths) and one int32 array."""
        parts = [*self.words.arrays(), self.sentence_ids, self.sentence_lengths]
        if self.bigrams is not None:
            parts += self.bigrams.arrays()
        meta = {
            "words": self.words.vocab,
            "bigrams": self.bigrams.vocab if self.bigrams is not None else None,
            "sizes": [len(p) for p in parts],
        }
        flat = np.concatenate([np.asarray(p, np.int32) for p in parts]) if parts else None
        return meta, flat if flat is not None else np.empty(0, np.int32)

    @classmethod
    def from_parts(cls, meta: dict[str, Any], flat: np.ndarray) -> FileBlock:
        """Read back what :meth:`to_parts` gave.

        Raises:
            ValueError: The parts do not fit each other.
        """
        sizes = [int(n) for n in meta["sizes"]]
        has_bigrams = meta["bigrams"] is not None
        if len(sizes) != (10 if has_bigrams else 6) or sum(sizes) != len(flat):
            raise ValueError("postings do not fit their sizes")
        cuts = np.cumsum([0, *sizes])
        parts = [flat[a:b] for a, b in itertools.pairwise(cuts)]

        def field(vocab: list[str], counts: Any, terms: Any, tf: Any, lengths: Any) -> Field:
            if len(counts) != len(lengths) or not int(counts.sum()) == len(terms) == len(tf):
                raise ValueError("postings do not fit their passages")
            if len(terms) and (terms.min() < 0 or terms.max() >= len(vocab)):
                raise ValueError("postings refer to tokens outside their vocabulary")
            return Field(list(vocab), counts, terms, tf, lengths)

        words = field(meta["words"], *parts[:4])
        bigrams = field(meta["bigrams"], *parts[6:10]) if has_bigrams else None
        sentence_ids, sentence_lengths = parts[4], parts[5]
        if int(sentence_lengths.sum()) != len(sentence_ids):
            raise ValueError("sentence tokens do not fit their sentences")
        if bigrams is not None and len(bigrams.lengths) != len(words.lengths):
            raise ValueError("the two fields cover different passages")
        return cls(words, sentence_ids, sentence_lengths, bigrams)


@dataclass(frozen=True)
class Assembled:
    """A field over the whole corpus: what :meth:`rag.lexical.LexicalIndex.from_postings`
    takes, and each file's local → corpus id map."""

    rows: np.ndarray
    cols: np.ndarray
    tf: np.ndarray
    lengths: np.ndarray
    vocab: dict[str, int]
    remaps: list[np.ndarray]


def assemble(fields: Sequence[Field]) -> Assembled:
    """The files' fields, in corpus order, as one field over the corpus.

    Returns:
        Postings with corpus passage rows and corpus token ids (numbered in first-seen
        order over the corpus), and each file's map from its local ids.
    """
    vocab: dict[str, int] = {}
    remaps: list[np.ndarray] = []
    rows, cols = [], []
    offset = 0
    for field in fields:
        # The file's tokens not seen before, numbered in the file's order (one pass in C).
        new = [t for t in field.vocab if t not in vocab]
        vocab.update(zip(new, range(len(vocab), len(vocab) + len(new)), strict=True))
        remap = np.fromiter(map(vocab.__getitem__, field.vocab), np.int64, len(field.vocab))
        remaps.append(remap)
        n = len(field.lengths)
        rows.append(np.repeat(np.arange(offset, offset + n, dtype=np.int32), field.counts))
        cols.append(remap.astype(np.int32)[field.terms])
        offset += n

    def cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)

    return Assembled(
        rows=cat(rows, np.int32),
        cols=cat(cols, np.int32),
        tf=cat([f.tf for f in fields], np.int32),
        lengths=cat([f.lengths for f in fields], np.int64),
        vocab=vocab,
        remaps=remaps,
    )
