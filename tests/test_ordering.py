"""The order of an answer's passages (rag.answering.ordering): retrieval's order corrected
by the ranker's best candidate, the title's bigrams and the best sentence, on a real index
of a small Traditional-script corpus (one document per paragraph, as DRCD has)."""

from __future__ import annotations

import json

import pytest

import rag
from rag.answering.candidates import PASSAGES_CONSIDERED, Candidate
from rag.answering.ordering import WEIGHTS, PassageOrder
from rag.retrieval import Ranked

DOCS = [
    (
        "A1",
        "拜占庭帝國",
        "拜占庭帝國是東羅馬帝國的另一個名稱，首都為君士坦丁堡。帝國延續了一千多年。",
    ),
    (
        "A2",
        "拜占庭帝國",
        "當時的社會按照基督教教義實行一夫一妻制，男性的最低婚齡為14歲，女性為12歲。",
    ),
    (
        "B1",
        "同性婚姻",
        "同性婚姻是指性別相同的人締結婚姻關係。許多國家修改了婚姻制度，婚姻制度的改革引起爭議。",
    ),
    ("C1", "羅馬", "羅馬是義大利的首都，歷史悠久，古羅馬的制度影響深遠。"),
]
QUESTION = "拜占庭帝國的婚姻制度採何種制度？"


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    root = tmp_path_factory.mktemp("ordering")
    corpus = root / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": i, "title": t, "text": x}, ensure_ascii=False) + "\n"
            for i, t, x in DOCS
        ),
        encoding="utf-8",
    )
    rag.build_index(corpus, root / "index", model="none", workers=1)
    return rag.load(root / "index", model="none")


def _passage(assistant: rag.Assistant, doc_id: str) -> int:
    chunks = assistant._state.generation.chunks
    return next(i for i, c in enumerate(chunks) if c.doc_id == doc_id)


def _candidate(assistant: rag.Assistant, doc_id: str) -> Candidate:
    passage = _passage(assistant, doc_id)
    chunk = assistant._state.generation.chunks[passage]
    start, end = chunk.sentences[0]
    para = chunk.paragraphs[0]
    return Candidate(passage, 0, 0, start, end, para, para, "sentence", 0.0, 1.0)


def _order(assistant: rag.Assistant, weights: dict[str, float] | None = None) -> PassageOrder:
    selector = assistant._state.selector
    return PassageOrder(selector.gen, selector.candidates, weights)


def _ranked(assistant: rag.Assistant, scores: dict[str, float]) -> list[Ranked]:
    return [Ranked(_passage(assistant, d), s) for d, s in scores.items()]


def test_title_share_and_best_sentence_are_read_in_either_script(wiki: rag.Assistant) -> None:
    ranked = _ranked(wiki, {"A1": 3.0, "B1": 2.7, "A2": 1.8, "C1": 1.0})
    parts = _order(wiki).components(QUESTION, ranked, [])
    relative = [p[0] for p in parts]
    assert relative == pytest.approx([1.0, 0.9, 0.6, 1 / 3])
    assert [p[1] for p in parts] == [0.0] * 4  # no candidate scored
    # 拜占庭帝國 (folded 拜占庭帝国) lies whole in the question; of 同性婚姻 only 婚姻; 罗马 not.
    assert [p[2] for p in parts] == pytest.approx([1.0, 1 / 3, 1.0, 0.0])
    # B1 holds 婚姻制度 in one sentence, A2 hardly any of the question's bigrams.
    sentence = {d: p[3] for d, p in zip(("A1", "B1", "A2", "C1"), parts, strict=True)}
    assert sentence["B1"] > sentence["A2"]
    assert sentence["A1"] > 0 and sentence["C1"] > 0
    assert all(0.0 <= s <= 1.0 for s in sentence.values())


def test_the_rankers_candidate_lifts_its_passage_only_when_retrieval_is_close(
    wiki: rag.Assistant,
) -> None:
    order = _order(wiki, {"selection": WEIGHTS["selection"], "title": 0.0, "sentence": 0.0})
    scored = [(0.9, _candidate(wiki, "A2")), (0.1, _candidate(wiki, "B1"))]
    close = _ranked(wiki, {"B1": 3.0, "A2": 2.7, "C1": 1.0})
    assert [r.index for r in order.order(QUESTION, close, scored)] == [
        close[1].index,
        close[0].index,
        close[2].index,
    ]
    far = _ranked(wiki, {"B1": 3.0, "A2": 0.3, "C1": 0.2})
    assert order.order(QUESTION, far, scored) == far


def test_no_weight_keeps_retrieval_order_and_the_tail_is_never_moved(wiki: rag.Assistant) -> None:
    scored = [(0.9, _candidate(wiki, "C1"))]
    ranked = _ranked(wiki, {"B1": 3.0, "A1": 2.9, "A2": 2.8, "C1": 2.7})
    none = {"selection": 0.0, "title": 0.0, "sentence": 0.0}
    assert _order(wiki, none).order(QUESTION, ranked, scored) == ranked
    # A ranking longer than the reordered head: the passages after it stay where they were.
    long = ranked + [Ranked(ranked[i % 4].index, 1.0 - i / 10) for i in range(PASSAGES_CONSIDERED)]
    out = _order(wiki).order(QUESTION, long, scored)
    assert sorted(r.index for r in out) == sorted(r.index for r in long)
    assert out[PASSAGES_CONSIDERED:] == long[PASSAGES_CONSIDERED:]


def test_answer_hits_are_the_searched_passages_and_search_keeps_bm25_order(
    seed_assistant: rag.Assistant,
) -> None:
    for question in (
        "上海的城市精神是什么？",
        "全会审议通过了什么？",
        "人民城市的重要理念是谁提出的？",
    ):
        searched = seed_assistant.search(question, k=10)
        answered = seed_assistant.answer(question, k=10).hits
        assert [h.score for h in searched] == sorted((h.score for h in searched), reverse=True)
        assert {h.chunk_id for h in answered} == {h.chunk_id for h in searched}
        assert [h.chunk_id for h in answered[PASSAGES_CONSIDERED:]] == [
            h.chunk_id for h in searched[PASSAGES_CONSIDERED:]
        ]
