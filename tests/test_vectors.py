"""VectorIndex: FAISS results checked against brute-force numpy."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.errors import IndexMismatchError, RagError
from rag.vectors import VectorIndex


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def brute_force(x: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = x @ q
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return unit(rng, 2000, 32), unit(rng, 20, 32)


def test_exact_top_k_equals_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, queries = data
    index = VectorIndex.build(x, ann_threshold=10_000)
    assert (index.kind, index.ntotal, index.dimension) == ("flat", 2000, 32)
    for q in queries:
        ids, scores = index.search(q, k=10)
        expected_ids, expected_scores = brute_force(x, q, 10)
        assert ids.tolist() == expected_ids.tolist()
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-6)
        assert ids.dtype == np.int64 and scores.dtype == np.float32


def test_approximate_recall_on_20k_random_unit_vectors() -> None:
    # Uniformly random vectors are the hardest case for HNSW; 64 dimensions keep the
    # build fast (the 384-d, 10^6 measurement is recorded in rag/vectors.py).
    rng = np.random.default_rng(1)
    x, queries = unit(rng, 20_000, 64), unit(rng, 100, 64)
    index = VectorIndex.build(x, ann_threshold=10_000)
    assert index.kind == "hnsw"
    hits = 0
    for q in queries:
        ids, scores = index.search(q, k=10)
        expected, _ = brute_force(x, q, 10)
        hits += len(set(ids.tolist()) & set(expected.tolist()))
        np.testing.assert_allclose(scores, x[ids] @ q, rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(scores) <= 1e-6)
    assert hits / (10 * len(queries)) >= 0.95


def test_k_is_clamped_and_missing_ids_are_dropped() -> None:
    rng = np.random.default_rng(2)
    x = unit(rng, 3, 8)
    for threshold in (10, 1):  # flat and HNSW
        index = VectorIndex.build(x, ann_threshold=threshold)
        ids, scores = index.search(x[0], k=10)
        assert sorted(ids.tolist()) == [0, 1, 2] and ids[0] == 0 and len(scores) == 3
        assert len(index.search(x[0], k=0)[0]) == 0


def test_query_shape_is_checked(data: tuple[np.ndarray, np.ndarray]) -> None:
    index = VectorIndex.build(data[0], ann_threshold=10_000)
    assert index.search(data[1][:1], k=1)[0].shape == (1,)  # (1, d) is fine
    with pytest.raises(RagError, match="dimension 32"):
        index.search(np.ones(16, dtype=np.float32), k=1)
    with pytest.raises(RagError):
        VectorIndex.build(np.ones((2, 3, 4), dtype=np.float32), ann_threshold=10)
    with pytest.raises(RagError, match="NaN"):
        VectorIndex.build(np.full((2, 4), np.nan, dtype=np.float32), ann_threshold=10)


@pytest.mark.parametrize("threshold", [10_000, 100])
def test_save_load_round_trip(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path, threshold: int
) -> None:
    x, queries = data
    index = VectorIndex.build(x, ann_threshold=threshold)
    path = tmp_path / "vectors.faiss"
    index.save(path)
    loaded = VectorIndex.load(path, dimension=32)
    assert (loaded.kind, loaded.ntotal, loaded.dimension) == (index.kind, 2000, 32)
    for q in queries[:5]:
        for a, b in zip(loaded.search(q, 5), index.search(q, 5), strict=True):
            np.testing.assert_array_equal(a, b)


def test_save_detects_a_zero_byte_file(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = VectorIndex.build(data[0], ann_threshold=10_000)

    def write_nothing(_index: object, filename: str) -> None:
        Path(filename).write_bytes(b"")  # what FAISS leaves behind on a full disk

    monkeypatch.setattr(faiss, "write_index", write_nothing)
    with pytest.raises(RagError, match="empty file"):
        index.save(tmp_path / "vectors.faiss")


def test_save_detects_an_unreadable_file(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = VectorIndex.build(data[0], ann_threshold=10_000)
    real_write = faiss.write_index

    def write_truncated(idx: faiss.Index, filename: str) -> None:
        real_write(idx, filename)
        with open(filename, "r+b") as fh:
            fh.truncate(100)

    monkeypatch.setattr(faiss, "write_index", write_truncated)
    with pytest.raises(RagError, match="cannot be read back"):
        index.save(tmp_path / "vectors.faiss")


def test_load_rejects_missing_empty_damaged_and_mismatched_files(
    data: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    path = tmp_path / "vectors.faiss"
    with pytest.raises(IndexMismatchError, match="missing"):
        VectorIndex.load(path)
    path.write_bytes(b"")
    with pytest.raises(IndexMismatchError, match="empty"):
        VectorIndex.load(path)
    path.write_bytes(b"not a faiss index at all" * 10)
    with pytest.raises(IndexMismatchError, match="damaged"):
        VectorIndex.load(path)

    VectorIndex.build(data[0], ann_threshold=10_000).save(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(IndexMismatchError, match="rag build --force"):
        VectorIndex.load(path)

    VectorIndex.build(data[0], ann_threshold=10_000).save(path)
    with pytest.raises(IndexMismatchError, match="dimension 32"):
        VectorIndex.load(path, dimension=384)

    faiss.write_index(faiss.IndexFlatL2(32), str(path))
    with pytest.raises(IndexMismatchError, match="inner-product"):
        VectorIndex.load(path)
