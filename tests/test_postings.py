"""Per-file lexical blocks (rag.postings): put together, they give the ids and the BM25
index that numbering and scoring the whole corpus token by token gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.lexical import LexicalIndex
from rag.postings import Field, FileBlock, assemble

FILES = [
    [["上海", "城市", "上海"], ["软实力"]],
    [["北京", "城市"], [], ["上海", "首都", "首都"]],
    [["软实力", "品格"]],
]


def _numbered(passages: list[list[str]]) -> tuple[list[list[int]], dict[str, int]]:
    vocab: dict[str, int] = {}
    return [[vocab.setdefault(t, len(vocab)) for t in p] for p in passages], vocab


def test_assembled_files_number_tokens_as_the_corpus_does() -> None:
    fields = [Field.build(passages) for passages in FILES]
    words = assemble(fields)
    ids, vocab = _numbered([p for passages in FILES for p in passages])
    assert words.vocab == vocab
    # Postings: one per passage and distinct token, with its count.
    expected = sorted((row, t, p.count(t)) for row, p in enumerate(ids) for t in set(p))
    got = sorted(zip(words.rows.tolist(), words.cols.tolist(), words.tf.tolist(), strict=True))
    assert got == expected
    assert words.lengths.tolist() == [len(p) for p in ids]
    for field, remap in zip(fields, words.remaps, strict=True):
        assert [words.vocab[t] for t in field.vocab] == remap.tolist()


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire", "bm25l", "bm25+"])
def test_from_postings_writes_what_bm25s_builds(tmp_path: Path, method: str) -> None:
    rng = np.random.default_rng(7)
    passages = [
        [f"t{int(x)}" for x in rng.zipf(1.4, size=int(rng.integers(0, 40))) if x < 300]
        for _ in range(200)
    ]
    passages[0] = passages[0] or ["t1"]
    words = assemble([Field.build(passages[:90]), Field.build(passages[90:])])
    LexicalIndex.from_postings(
        words.rows, words.cols, words.tf, words.lengths, words.vocab, method=method
    ).save(tmp_path / "a")
    ids, vocab = _numbered(passages)
    LexicalIndex.from_token_ids(ids, vocab, method=method).save(tmp_path / "b")
    for path in sorted((tmp_path / "b").iterdir()):
        assert (tmp_path / "a" / path.name).read_bytes() == path.read_bytes(), path.name


def test_idf_formulas_are_bm25s_formulas() -> None:
    from bm25s.scoring import _select_idf_scorer

    from rag.lexical import _IDF_OF

    for method, formula in _IDF_OF.items():
        for n in (1, 2, 7, 1000):
            for df in range(1, n + 1, max(1, n // 13)):
                assert formula(df, n) == _select_idf_scorer(method)(df, N=n), (method, df, n)


def test_block_round_trip_and_damage() -> None:
    block = FileBlock.build(
        [(["标题"], [["上海", "城市"], ["上海"]]), ([], [["软实力"]])],
        bigrams=[["\x1f上海", "\x1f海城"], ["\x1f软实"]],
    )
    assert block.sentence_lengths.tolist() == [2, 1, 1]
    assert [block.words.vocab[i] for i in block.sentence_ids] == ["上海", "城市", "上海", "软实力"]
    meta, flat = block.to_parts()
    again = FileBlock.from_parts(meta, flat.copy())
    assert again.words.vocab == block.words.vocab and again.bigrams is not None
    assert np.array_equal(again.words.terms, block.words.terms)
    assert np.array_equal(again.bigrams.tf, block.bigrams.tf)  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        FileBlock.from_parts(meta, flat[:-1])
    bad = flat.copy()
    bad[4] = 99  # a token id past the file's vocabulary
    with pytest.raises(ValueError):
        FileBlock.from_parts(meta, bad)


@pytest.mark.parametrize(
    ("rows", "cols", "tf", "lengths", "message"),
    [
        ([1, 0], [0, 0], [1, 1], [1, 1], "passage order"),
        ([0], [0], [2], [1], "lengths disagree"),
        ([0], [0], [0], [0], "no occurrence"),
        ([0], [3], [1], [1], "outside the vocabulary"),
    ],
)
def test_from_postings_refuses_inconsistent_arrays(
    rows: list[int], cols: list[int], tf: list[int], lengths: list[int], message: str
) -> None:
    from rag.errors import RagError

    with pytest.raises(RagError, match=message):
        LexicalIndex.from_postings(
            np.array(rows), np.array(cols), np.array(tf), np.array(lengths), {"甲": 0}
        )
