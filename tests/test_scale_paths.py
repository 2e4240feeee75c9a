"""Behaviour that matters at scale: IDF without bm25s at query time, bounded term discovery,
and forked tokenization that leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from rag.lexical import LexicalIndex
from rag.tokenization import Tokenizer, discover_terms

CORPUS = [["上海", "城市", "精神"], ["北京", "城市"], ["上海", "软实力"], ["品格"], ["上海"]]


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire", "bm25l", "bm25+"])
def test_stored_idf_equals_bm25s(method: str, tmp_path: Path) -> None:
    from bm25s.scoring import _select_idf_scorer

    index = LexicalIndex.build(CORPUS, method=method)
    scorer = _select_idf_scorer(method)
    for token in ("上海", "城市", "北京", "品格"):
        assert index.idf(token) == float(scorer(index.df(token), N=len(CORPUS)))
    assert index.max_idf == float(scorer(1, N=len(CORPUS)))

    index.save(tmp_path / "new")
    loaded = LexicalIndex.load(tmp_path / "new")
    # An index written before idf.npy existed reads the same values from bm25s.
    index.save(tmp_path / "old")
    (tmp_path / "old" / "idf.npy").unlink()
    old = LexicalIndex.load(tmp_path / "old")
    for token in ("上海", "城市", "北京", "品格", "无此词"):
        assert loaded.idf(token) == old.idf(token) == index.idf(token)
    assert loaded.max_idf == old.max_idf == index.max_idf


def test_damaged_idf_array_is_rejected(tmp_path: Path) -> None:
    import numpy as np

    from rag.errors import IndexMismatchError

    LexicalIndex.build(CORPUS).save(tmp_path)
    np.save(tmp_path / "idf.npy", np.zeros(2, dtype=np.float64))
    with pytest.raises(IndexMismatchError, match="IDF"):
        LexicalIndex.load(tmp_path)


def test_discover_terms_reads_a_bounded_sample() -> None:
    tok = Tokenizer()
    texts = [f"第{i}篇：“张江科学城”里张江的张江人。" for i in range(40)]
    whole = discover_terms(texts, tokenizer=tok)
    # A budget of ~5 texts reads every 8th text: the same terms, and deterministically.
    budget = 5 * len(texts[0])
    sampled = discover_terms(texts, max_chars=budget, tokenizer=tok)
    assert sampled == discover_terms(texts, max_chars=budget, tokenizer=tok)
    assert "张江科学城" in whole
    assert "张江科学城" in sampled
    # Quoted phrases are read in the sample only: the cost is bounded whatever the size.
    rare = [texts[0], "“人人参与软实力建设”", *texts[1:]]
    assert "人人参与软实力建设" in discover_terms(rare, tokenizer=tok)
    assert "人人参与软实力建设" not in discover_terms(rare, max_chars=budget, tokenizer=tok)


def test_parallel_tokenization_leaves_gc_unfrozen() -> None:
    tok = Tokenizer()
    texts = ["上海的城市精神是海纳百川。"] * 2500
    assert gc.get_freeze_count() == 0
    assert tok.tokenize_many(texts, workers=2) == [tok.tokenize(texts[0])] * 2500
    assert gc.get_freeze_count() == 0
