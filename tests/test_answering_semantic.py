"""The dense side of answer selection: sentence similarity and dense passages as candidate
features (on a real FAISS index with the deterministic hashing embedder), the model's lexical
and dense pairs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import rag
from rag.answering import SelectionModel, default_model
from rag.answering.candidates import Semantic
from rag.answering.features import FEATURES
from rag.embedding import HashingEmbedder
from rag.settings import RetrievalMode

SOURCE = Path(__file__).resolve().parent.parent / "source"


@pytest.fixture(scope="module")
def hashed(tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    index = tmp_path_factory.mktemp("hashed_index")
    rag.build_index(SOURCE, index, model="none", workers=1, embedder=HashingEmbedder(48))
    return rag.load(index, embedder=HashingEmbedder(48))


def examine(assistant: rag.Assistant, question: str, mode: RetrievalMode):
    state = assistant._state
    tokens = state.generation.tokenizer.tokenize(question)
    return state.selector.examine(question, tokens, 5, mode)


def test_candidates_carry_the_cosine_of_their_sentence(hashed: rag.Assistant) -> None:
    question = "上海的城市精神是什么？"
    examined = examine(hashed, question, RetrievalMode.HYBRID)
    assert examined is not None and examined.semantic
    retriever = hashed._state.retriever
    qvec = retriever.query_vector(question)
    assert qvec is not None
    at = FEATURES.index("semantic")
    for cand, row in zip(examined.candidates, examined.features, strict=True):
        ids = [retriever.sentence_id(cand.passage, cand.sentence)]
        if cand.kind == "next":
            ids.append(ids[0] + 1)
        cos = retriever.sentence_similarities(qvec, ids)
        assert cos is not None
        assert row[at] == pytest.approx(float(cos.max()), abs=1e-6)
    # The gap to the question's best cosine is one of the relative features.
    gap = FEATURES.index("semantic_gap")
    assert max(r[gap] for r in examined.features) == pytest.approx(0.0)


def test_dense_passages_join_the_lexical_ones(hashed: rag.Assistant) -> None:
    question = "上海的城市精神是什么？"
    examined = examine(hashed, question, RetrievalMode.HYBRID)
    assert examined is not None
    state = hashed._state
    tokens = state.generation.tokenizer.tokenize(question)
    dense = state.retriever.rank(tokens, question, 4, RetrievalMode.DENSE)
    at = FEATURES.index("dense_rank")
    pairs = zip(examined.candidates, examined.features, strict=True)
    by_passage = {c.passage: row[at] for c, row in pairs}
    for rank, item in enumerate(dense):
        if item.index in by_passage:
            assert by_passage[item.index] == pytest.approx(1 / (1 + rank))
    assert any(v > 0 for v in by_passage.values())


def test_semantic_shortlist_adds_the_closest_sentences(hashed: rag.Assistant) -> None:
    gen = hashed._state.generation
    generator = hashed._state.selector.candidates
    question = "上海的城市精神是什么？"
    base = examine(hashed, question, RetrievalMode.LEXICAL)
    assert base is not None
    # A fake dense side that finds one sentence of a passage lexical ranking left out.
    far = next(i for i in range(len(gen.chunks)) if i not in {r.index for r in base.ranked[:6]})
    sims = {far: [0.0] * len(gen.chunks[far].sentences)}
    sims[far][0] = 0.99
    semantic = Semantic(lambda p: sims.get(p, [0.0] * len(gen.chunks[p].sentences)), [far])
    cands = generator.generate(base.query, base.ranked, semantic)
    added = [c for c in cands if c.passage == far]
    assert added and added[0].sentence == 0 and added[0].semantic == pytest.approx(0.99)
    assert added[0].retrieval == 0.0 and added[0].dense_rank == 1.0


def test_lexical_mode_measures_no_semantic_feature(hashed: rag.Assistant) -> None:
    examined = examine(hashed, "上海的城市精神是什么？", RetrievalMode.LEXICAL)
    assert examined is not None and not examined.semantic
    for name in ("semantic", "dense_rank", "semantic_gap"):
        at = FEATURES.index(name)
        assert all(row[at] == 0.0 for row in examined.features)


def test_lexical_index_uses_the_lexical_pair(seed_assistant: rag.Assistant) -> None:
    examined = examine(seed_assistant, "上海的城市精神是什么？", RetrievalMode.HYBRID)
    assert examined is not None and not examined.semantic


def test_model_variant_dense_and_fallback(tmp_path: Path) -> None:
    model = default_model()
    assert model.variant(False) is model
    if model.dense is not None:
        assert model.variant(True) is model.dense
        assert model.dense.threshold == model.threshold
    data = json.loads(
        (Path(rag.__file__).parent / "data" / "selection_model.json").read_text(encoding="utf-8")
    )
    lexical_only = copy.deepcopy(data)
    lexical_only.pop("dense", None)
    plain = SelectionModel.from_dict(lexical_only)
    assert plain.dense is None and plain.variant(True) is plain
