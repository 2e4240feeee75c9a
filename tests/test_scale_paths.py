"""Behaviour that matters at scale: IDF without bm25s at query time, bounded term discovery,
and forked tokenization that leaves the garbage collector as it found it."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from rag.errors import RagError
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


def test_one_worker_pool_serves_several_tokenizers_in_order() -> None:
    from rag.tokenization import worker_pool

    texts = [f"第{i}段：张江科学城提升城市软实力。" for i in range(2500)]
    plain, with_term = Tokenizer(), Tokenizer(user_terms=["张江科学城"])
    with worker_pool(2) as pool:
        assert pool is not None and pool.workers == 2
        # Workers rebuild a tokenizer whenever the configuration changes between tasks.
        for tok in (plain, with_term, plain):
            assert tok.tokenize_many(texts, pool=pool) == [tok.tokenize(t) for t in texts]
        pool.close()
        pool.close()
        with pytest.raises(RagError, match="closed"):
            plain.tokenize_many(texts, pool=pool)
    with worker_pool(1) as none:
        assert none is None


def test_a_script_without_a_main_guard_can_build_in_parallel(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    # Enough sentences for worker processes (2,000 or more): they must not re-run the script.
    with (tmp_path / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(300):
            text = "。".join(f"第{i}篇第{j}句讲上海的城市软实力和城市精神" for j in range(10))
            fh.write(json.dumps({"id": f"d{i}", "title": f"文{i}", "text": text + "。"}) + "\n")
    script = tmp_path / "build.py"
    script.write_text(
        "import rag\n"
        f"r = rag.build_index({str(tmp_path / 'corpus.jsonl')!r}, {str(tmp_path / 'index')!r},"
        " model='none', workers=2)\n"
        "print('built', r.chunks)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("built ")
    assert "Traceback" not in done.stderr


def test_discover_terms_counts_the_same_in_worker_processes() -> None:
    from rag.tokenization import worker_pool

    texts = [
        f"第{i}篇：张江科学城里张江的人说“数字底座”，提升城市软实力。" for i in range(2400)
    ] + ["软实力是关键。"] * 50
    alone = discover_terms(texts)
    with worker_pool(2) as pool:
        assert discover_terms(texts, pool=pool) == alone
    assert "张江" in alone and "数字底座" in alone
