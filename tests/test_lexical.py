"""LexicalIndex: BM25 from bm25s, fast numpy queries, pickle-free persistence."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import pytest

from rag.errors import IndexMismatchError, RagError
from rag.lexical import LexicalIndex

CORPUS = [
    ["上海", "城市", "精神", "开放", "创新"],
    ["上海", "软实力", "软实力", "提升"],
    ["北京", "首都"],
    ["城市", "品格", "包容"],
    ["上海", "城市", "软实力"],
]


@pytest.fixture()
def index() -> LexicalIndex:
    return LexicalIndex.build(CORPUS)


def _bm25s_scores(corpus: list[list[str]], query: list[str], **kw: object) -> np.ndarray:
    ref = bm25s.BM25(**kw)  # type: ignore[arg-type]
    ref.index(corpus, show_progress=False)
    ids = [ref.vocab_dict[t] for t in dict.fromkeys(query) if t in ref.vocab_dict]
    if not ids:
        return np.zeros(len(corpus))
    return np.asarray(ref.get_scores_from_ids(ids))


@pytest.mark.parametrize("method", ["lucene", "robertson", "atire", "bm25l", "bm25+"])
def test_scores_equal_bm25s(method: str) -> None:
    index = LexicalIndex.build(CORPUS, method=method, k1=1.2, b=0.75)
    for query in (["上海", "软实力"], ["城市"], ["北京", "城市", "城市"], ["无此词"]):
        expected = _bm25s_scores(CORPUS, query, method=method, k1=1.2, b=0.75)
        np.testing.assert_allclose(index.scores(query), expected, rtol=1e-5, atol=1e-6)


def test_search_orders_best_first_and_leaves_out_non_matches(index: LexicalIndex) -> None:
    ids, scores = index.search(["上海", "软实力"], k=10)
    assert ids.tolist() == [1, 4, 0]  # passages 2 and 3 contain neither token
    assert np.all(np.diff(scores) <= 0) and np.all(scores > 0)
    np.testing.assert_allclose(scores, index.scores(["上海", "软实力"])[ids], rtol=1e-6)
    assert ids.dtype == np.int64 and scores.dtype == np.float32


def test_search_k_is_clamped_and_ties_break_by_index() -> None:
    index = LexicalIndex.build([["甲"], ["乙"], ["甲"], ["甲"]])
    ids, scores = index.search(["甲"], k=2)
    assert ids.tolist() == [0, 2] and scores[0] == scores[1]
    assert index.search(["甲"], k=100)[0].tolist() == [0, 2, 3]
    assert len(index.search(["甲"], k=0)[0]) == 0


def test_empty_and_unknown_queries_find_nothing(index: LexicalIndex) -> None:
    for query in ([], ["无此词"]):
        ids, scores = index.search(query, k=3)
        assert len(ids) == len(scores) == 0
    assert not index.scores([]).any()


def test_repeated_query_tokens_count_once(index: LexicalIndex) -> None:
    np.testing.assert_array_equal(index.scores(["上海", "上海"]), index.scores(["上海"]))


def test_search_on_a_larger_corpus_matches_a_full_sort() -> None:
    rng = np.random.default_rng(7)
    vocab = [f"w{i}" for i in range(300)]
    corpus = [list(rng.choice(vocab, size=rng.integers(1, 40))) for _ in range(3000)]
    index = LexicalIndex.build(corpus)
    for _ in range(20):
        query = list(rng.choice(vocab, size=3))
        scores = index.scores(query)
        ids, top = index.search(query, k=10)
        expected = np.lexsort((np.arange(len(scores)), -scores))[:10]
        assert ids.tolist() == expected.tolist()
        np.testing.assert_allclose(top, scores[expected], rtol=1e-6)


def test_counts_df_and_idf(index: LexicalIndex) -> None:
    assert len(index) == 5
    assert index.vocab_size == len({t for doc in CORPUS for t in doc})
    assert index.df("上海") == 3 and index.df("北京") == 1 and index.df("无此词") == 0
    assert index.idf("无此词") == 0.0
    assert index.idf("北京") > index.idf("上海") > 0
    assert index.idf("北京") == pytest.approx(np.log(1 + (5 - 1 + 0.5) / (1 + 0.5)))


def test_build_rejects_bad_input() -> None:
    with pytest.raises(RagError):
        LexicalIndex.build([])
    with pytest.raises(RagError):
        LexicalIndex.build([[], []])
    with pytest.raises(RagError, match="allowed"):
        LexicalIndex.build(CORPUS, method="tfidf")


def test_save_load_round_trip_without_pickle(index: LexicalIndex, tmp_path: Path) -> None:
    written = index.save(tmp_path / "lexical")
    assert written and all(p.exists() for p in written)
    names = {p.name for p in (tmp_path / "lexical").iterdir()}
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)
    for path in (tmp_path / "lexical").glob("*.npy"):
        array = np.load(path, allow_pickle=False)  # would raise on object arrays
        assert array.dtype != object
    for path in (tmp_path / "lexical").glob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))

    loaded = LexicalIndex.load(tmp_path / "lexical")
    assert len(loaded) == len(index) and loaded.vocab_size == index.vocab_size
    assert loaded.words() == index.words()
    assert all(loaded.token_ids([w]) == [i] for i, w in enumerate(index.words()))
    for query in (["上海", "软实力"], ["城市", "包容"]):
        np.testing.assert_array_equal(loaded.scores(query), index.scores(query))
        for a, b in zip(loaded.search(query, 3), index.search(query, 3), strict=True):
            np.testing.assert_array_equal(a, b)
    # The files are in bm25s's own layout, so bm25s reads them too.
    ref = bm25s.BM25.load(tmp_path / "lexical")
    ids = [ref.vocab_dict[t] for t in ("上海", "软实力")]
    np.testing.assert_allclose(ref.get_scores(ids), index.scores(["上海", "软实力"]), rtol=1e-6)


def test_save_load_keeps_bm25plus_constant(tmp_path: Path) -> None:
    index = LexicalIndex.build(CORPUS, method="bm25+")
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    np.testing.assert_allclose(loaded.scores(["上海"]), index.scores(["上海"]))
    assert loaded.search(["北京"], 5)[0].tolist() == [2]


def _saved(index: LexicalIndex, tmp_path: Path) -> Path:
    index.save(tmp_path / "lexical")
    return tmp_path / "lexical"


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "indices.csc.index.npy").unlink(),
        lambda d: (d / "meta.json").unlink(),
        lambda d: (d / "vocab.tokens.txt").write_bytes(b"\xff\xfe"),
        lambda d: (d / "vocab.tokens.txt").unlink(),
        lambda d: (d / "data.csc.index.npy").write_bytes(b"garbage"),
        lambda d: np.save(d / "indices.csc.index.npy", np.zeros(3, dtype=np.int32)),
        lambda d: np.save(d / "indptr.csc.index.npy", np.zeros(2, dtype=np.int64)),
        lambda d: np.save(d / "indices.csc.index.npy", np.full(16, 99, dtype=np.int32)),
        lambda d: (d / "vocab.tokens.txt").write_text("上海", encoding="utf-8"),
        lambda d: (d / "vocab.tokens.txt").write_text("上海\n上海\n城市\n北京", encoding="utf-8"),
        lambda d: (d / "vocab.tokens.txt").write_text("上海\n\n城市\n北京", encoding="utf-8"),
        lambda d: (d / "meta.json").write_text('{"format": "other/9"}', encoding="utf-8"),
    ],
)
def test_load_rejects_missing_or_inconsistent_files(
    index: LexicalIndex, tmp_path: Path, damage: object
) -> None:
    directory = _saved(index, tmp_path)
    damage(directory)  # type: ignore[operator]
    with pytest.raises(IndexMismatchError, match=r"rag build --force"):
        LexicalIndex.load(directory)


def test_load_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="missing"):
        LexicalIndex.load(tmp_path / "nothing")


def test_from_token_ids_builds_the_same_index_as_build(tmp_path: Path) -> None:
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(t, len(vocab)) for t in doc] for doc in CORPUS]
    LexicalIndex.build(CORPUS).save(tmp_path / "a")
    LexicalIndex.from_token_ids(ids, vocab).save(tmp_path / "b")
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize(
    ("ids", "vocab", "message"),
    [
        ([], {"甲": 0}, "zero passages"),
        ([[0]], {}, "no tokens"),
        ([[0, 1]], {"甲": 0, "乙": 2}, "0..n-1"),
        ([[0, 2]], {"甲": 0, "乙": 1}, "outside the vocabulary"),
        ([[-1]], {"甲": 0}, "outside the vocabulary"),
    ],
)
def test_from_token_ids_refuses_inconsistent_ids(
    ids: list[list[int]], vocab: dict[str, int], message: str
) -> None:
    with pytest.raises(RagError, match=message):
        LexicalIndex.from_token_ids(ids, vocab)
