"""Asking within documents or kinds (rag.scope): filtered before ranking on the lexical side
(real jieba + BM25) and the dense side (real FAISS, flat and HNSW), stated in the question
or passed as an argument, shown in the answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.embedding import HashingEmbedder
from rag.questions import MAX_HISTORY
from rag.schema import Scope
from rag.scope import ScopeCatalogue
from rag.vectors import VectorIndex

SOURCE = Path(__file__).resolve().parent.parent / "source"
RESOLUTION = "shanghai_cpc_plenary_2021-06-22_soft_power/resolution"
SIDE_REPORT = "shanghai_cpc_plenary_2021-06-22_soft_power/side_report"
LAW = "《中华人民共和国示范劳动法》"

# Two small statutes that share words with each other (and 工作 with the resolution), so a
# scoped question must find its passages below those of the other documents.
STATUTES = Path(__file__).resolve().parent / "fixtures" / "scope"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scope_src")
    for f in SOURCE.iterdir():
        shutil.copy(f, root / f.name)
    for f in STATUTES.iterdir():
        shutil.copy(f, root / f.name)
    return root


@pytest.fixture(scope="module")
def assistant(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    index = tmp_path_factory.mktemp("scope_index")
    rag.build_index(corpus, index, model="none", workers=1)
    return rag.load(index, model="none")


@pytest.fixture(scope="module")
def hashing(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    index = tmp_path_factory.mktemp("scope_hashing")
    rag.build_index(corpus, index, model="none", workers=1, embedder=HashingEmbedder(48))
    return rag.load(index, embedder=HashingEmbedder(48))


def doc_of(assistant: rag.Assistant, title_part: str) -> str:
    return next(d.doc_id for d in assistant.documents.values() if title_part in d.title)


def test_documents_of_the_test_corpus(assistant: rag.Assistant) -> None:
    kinds = {d.kind for d in assistant.documents.values()}
    assert {"resolution", "side_report"} <= kinds
    assert {"law", "administrative_regulation"} & kinds


def test_lexical_scope_filters_before_ranking(assistant: rag.Assistant) -> None:
    gen = assistant._state.generation
    question = "劳动者 职工 工作 建设"
    scores = gen.lexical.scores(gen.tokenizer.tokenize(question))
    rows = [i for i, c in enumerate(gen.chunks) if c.doc_id == SIDE_REPORT and scores[i] > 0]
    assert len(rows) >= 3
    # Overall, the statutes' passages come first: none of the side report's in the best 3 ...
    overall = assistant.search(question, k=3)
    assert SIDE_REPORT not in {h.doc_id for h in overall}
    # ... but within it, 3 of its passages come back, in BM25 order (brute force).
    hits = assistant.search(question, k=3, scope={"documents": [SIDE_REPORT]})
    best = sorted(rows, key=lambda i: (-scores[i], i))[:3]
    assert [h.chunk_id for h in hits] == [gen.chunks[i].chunk_id for i in best]


def test_kind_scope_and_union_with_documents(assistant: rag.Assistant) -> None:
    hits = assistant.search("城市精神", k=10, scope={"kinds": ["resolution"]})
    assert hits and {h.doc_id for h in hits} == {RESOLUTION}
    # Chinese labels work as kinds; documents and kinds add up.
    leave = doc_of(assistant, "年休假")
    both = assistant.search("工作", k=20, scope={"kinds": ["决议"], "documents": [leave]})
    assert {h.doc_id for h in both} == {RESOLUTION, leave}


def test_scope_validation_names_what_was_wrong(assistant: rag.Assistant) -> None:
    with pytest.raises(rag.ArgumentError, match="unknown document 'nope'"):
        assistant.search("工作", scope={"documents": ["nope"]})
    with pytest.raises(rag.ArgumentError, match=r"unknown document kind 'poem'.*law"):
        assistant.answer("工作", scope={"kinds": ["poem"]})
    with pytest.raises(rag.ArgumentError, match="no indexed document is of kind 'notice'"):
        assistant.answer("工作", scope={"kinds": ["notice"]})
    with pytest.raises(rag.ArgumentError, match="'documents' and 'kinds'"):
        assistant.answer("工作", scope={"docs": ["x"]})
    with pytest.raises(rag.ArgumentError, match="list of strings"):
        assistant.answer("工作", scope={"documents": "abc"})
    # An exact title is accepted for an id; an empty scope is no scope.
    title = assistant.document(RESOLUTION).title
    assert assistant.answer("城市精神是什么？", scope={"documents": [title]}).scope is not None
    assert assistant.answer("城市精神是什么？", scope={"documents": []}).scope is None


def test_answer_within_a_document_is_cited_and_shows_its_scope(assistant: rag.Assistant) -> None:
    leave = doc_of(assistant, "年休假")
    answer = assistant.answer("年休假工资报酬怎么支付？", scope=Scope(documents=(leave,)))
    assert answer.scope is not None and answer.scope.documents == (leave,)
    assert answer.scope.label == "《职工示范年休假条例》" and not answer.scope.stated
    assert "只在《职工示范年休假条例》中查找" in answer.markdown
    assert answer.to_dict()["scope"]["documents"] == [leave]
    assert all(h.doc_id == leave for h in answer.hits)
    if answer.found:
        doc = assistant.document(leave)
        for q in answer.quotes:
            assert q.doc_id == leave and doc.text[q.start : q.end] == q.text
            assert q.citation.startswith("《职工示范年休假条例》第")


@pytest.mark.parametrize(
    ("question", "label", "rest"),
    [
        ("只在《示范劳动法》中，试用期最长多久？", LAW, "试用期最长多久？"),
        ("在《中华人民共和国示范劳动法》里，试用期最长多久？", LAW, "试用期最长多久？"),
        ("仅限《职工示范年休假条例》：年休假几天？", "《职工示范年休假条例》", "年休假几天？"),
        ("只看决议原文，上海的城市精神是什么？", "决议", "上海的城市精神是什么？"),
        ("仅限决议，城市精神是什么？", "决议", "城市精神是什么？"),
        ("城市品格是什么？只在决议中", "决议", "城市品格是什么？"),
        ("在《職工示範年休假條例》裡，年休假有幾天？", "《职工示范年休假条例》", "年休假有幾天？"),
    ],
)
def test_question_states_its_scope(
    assistant: rag.Assistant, question: str, label: str, rest: str
) -> None:
    stated = assistant._state.scopes.from_question(question)
    assert stated.scope is not None and stated.scope.label == label and stated.scope.stated
    assert stated.question == rest
    answer = assistant.answer(question)
    assert answer.scope == stated.scope
    assert f"只在{label}中查找" in answer.markdown
    allowed = set(assistant._state.scopes.document_ids(stated.scope))
    assert answer.hits and {h.doc_id for h in answer.hits} <= allowed
    assert {q.doc_id for q in answer.quotes} <= allowed


@pytest.mark.parametrize(
    "question",
    [
        "《示范劳动法》第三条规定了什么？",  # a title named, no cue: not a scope
        "决议的主要内容是什么？",
        "上海的城市精神是什么？",
        "只在文件中查找城市精神",  # 文件 is every document, not a kind
    ],
)
def test_a_plain_mention_is_no_scope(assistant: rag.Assistant, question: str) -> None:
    stated = assistant._state.scopes.from_question(question)
    assert stated.scope is None and stated.question == question and not stated.unknown


def test_question_scope_wins_over_the_chosen_one(assistant: rag.Assistant) -> None:
    answer = assistant.answer("只看决议原文，城市精神是什么？", scope={"kinds": ["law"]})
    assert answer.scope is not None and answer.scope.kinds == ("resolution",)
    assert {h.doc_id for h in answer.hits} == {RESOLUTION}


def test_an_unknown_title_is_said_plainly_and_nothing_else_is_searched(
    assistant: rag.Assistant,
) -> None:
    answer = assistant.answer("只在《不存在的法》中，试用期最长多久？")
    assert not answer.found and not answer.hits
    assert "收录的文件中没有《不存在的法》" in answer.markdown
    assert assistant.search("只在《不存在的法》中，试用期最长多久？") == []


def test_scope_alone_asks_for_a_question(assistant: rag.Assistant) -> None:
    answer = assistant.answer("只看决议原文")
    assert not answer.found and answer.scope is not None and "请输入一个问题" in answer.markdown


def test_follow_up_keeps_working_with_a_scoped_history(assistant: rag.Assistant) -> None:
    first = "只看决议原文，上海的城市精神是什么？"
    answer = assistant.answer("那城市品格呢？", history=[first], scope={"kinds": ["resolution"]})
    assert "城市品格" in answer.resolved_question and "只看" not in answer.resolved_question


def test_side_report_is_out_of_a_resolution_scope(assistant: rag.Assistant) -> None:
    everything = assistant.search("软实力 加速器", k=10)
    assert any(h.doc_id == SIDE_REPORT for h in everything)
    scoped = assistant.search("软实力 加速器", k=10, scope={"kinds": ["resolution"]})
    assert scoped and all(h.doc_id == RESOLUTION for h in scoped)


def test_pasted_passage_outside_the_scope_is_not_located_there(assistant: rag.Assistant) -> None:
    doc = assistant.document(RESOLUTION)
    passage = doc.text[doc.paragraph(3).start : doc.paragraph(3).end]
    located = assistant.answer(passage)
    assert located.found and located.quotes[0].doc_id == RESOLUTION
    leave = doc_of(assistant, "年休假")
    scoped = assistant.answer(passage, scope={"documents": [leave]})
    assert all(q.doc_id == leave for q in scoped.quotes)
    assert scoped.scope is not None


def test_dense_and_hybrid_scope_with_real_faiss(hashing: rag.Assistant) -> None:
    leave = doc_of(hashing, "年休假")
    for mode in ("dense", "hybrid", "lexical"):
        hits = hashing.search("职工工作", k=4, mode=mode, scope={"documents": [leave]})
        assert hits and {h.doc_id for h in hits} == {leave}, mode
    # Dense within a document equals brute force over that document's vectors.
    gen = hashing._state.generation
    retriever = hashing._state.retriever
    within = retriever.within([leave])
    assert gen.vectors is not None
    qvec = retriever.query_vector("职工工作")
    assert qvec is not None
    ids, _ = gen.vectors.search(qvec, 3, rows=within.rows)
    matrix = gen.vectors.reconstruct_all()[within.rows]
    brute = within.rows[np.lexsort((within.rows, -(matrix @ qvec)))][:3]
    assert ids.tolist() == brute.tolist()


@pytest.mark.parametrize("ann_threshold", [10**9, 1])
def test_vector_index_rows_filter_matches_brute_force(ann_threshold: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3000, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = VectorIndex.build(x, ann_threshold=ann_threshold)
    assert index.kind == ("flat" if ann_threshold > 3000 else "hnsw")
    q = x[5] + 0.1 * x[7]
    q /= np.linalg.norm(q)
    rows = np.arange(100, 2900, 3, dtype=np.int64)
    best = rows[np.argsort(-(x[rows] @ q), kind="stable")][:10]
    ids, _ = index.search(q, 10, rows=rows)
    assert set(ids.tolist()) <= set(rows.tolist()) and len(ids) == 10
    assert ids.tolist() == best.tolist()


def test_catalogue_labels_many_documents_briefly(assistant: rag.Assistant) -> None:
    catalogue = ScopeCatalogue(assistant.documents)
    ids = list(assistant.documents)
    scope = catalogue.resolve({"documents": ids})
    assert scope is not None and f"等 {len(ids)} 份文件" in scope.label
    assert catalogue.kinds()["resolution"] == 1


def test_cli_ask_and_search_take_a_scope(
    assistant: rag.Assistant, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rag.cli import main

    args = ["--index", str(assistant.settings.index), "--source", str(corpus), "--model", "none"]
    assert main(["search", "工作", "--kind", "resolution", "--json", *args]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {h["doc_id"] for h in hits} == {RESOLUTION}
    code = main(["ask", "上海的城市精神是什么？", "--document", RESOLUTION, "--json", *args])
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["scope"]["documents"] == [RESOLUTION]
    assert main(["ask", "城市精神", "--kind", "poem", *args]) == 1
    assert "unknown document kind 'poem'" in capsys.readouterr().err


def test_follow_up_keeps_the_scope_stated_before(assistant: rag.Assistant) -> None:
    first = "只在《示范劳动法》中，试用期最长多久？"
    answer = assistant.answer("那么每日工作时间呢？", history=[first])
    assert answer.scope is not None and answer.scope.inherited and answer.scope.stated
    assert answer.scope.label == LAW
    assert "只在《中华人民共和国示范劳动法》中查找（沿用前面问题中指定的范围）" in answer.markdown
    law = doc_of(assistant, "示范劳动法")
    assert answer.hits and {h.doc_id for h in answer.hits} == {law}
    assert answer.found and {q.doc_id for q in answer.quotes} == {law}
    assert any("八小时" in q.text for q in answer.quotes)
    assert answer.to_dict()["scope"]["inherited"] is True
    # Through a chain of follow-ups, over the argument's scope (the question it follows was
    # asked there whatever the argument said).
    chained = assistant.answer(
        "那加班工资呢？", history=[first, "那么每日工作时间呢？"], scope={"kinds": ["resolution"]}
    )
    assert chained.scope is not None and chained.scope.documents == (law,)
    assert {h.doc_id for h in chained.hits} == {law}
    # However long the chain (the web chat sends up to MAX_HISTORY questions).
    chain = [first, *["那么每日工作时间呢？", "那加班工资呢？"] * 6]
    long = assistant.answer("那么试用期呢？", history=chain)
    assert long.scope is not None and long.scope.inherited and long.scope.documents == (law,)


def test_a_history_of_any_length_reads_back_at_most_max_history(
    assistant: rag.Assistant,
) -> None:
    first = "只在《示范劳动法》中，试用期最长多久？"
    # 5,000 follow-ups: no recursion error, and the scope stated before the last
    # MAX_HISTORY questions is out of reach.
    history = [first, *["那么每日工作时间呢？"] * 5000]
    answer = assistant.answer("那加班工资呢？", history=history)
    assert answer.scope is None
    near = [first, *["那么每日工作时间呢？"] * (MAX_HISTORY - 1)]
    kept = assistant.answer("那加班工资呢？", history=near)
    assert kept.scope is not None and kept.scope.inherited


def test_follow_up_stating_a_scope_overrides_and_a_new_question_starts_over(
    assistant: rag.Assistant,
) -> None:
    first = "只在《示范劳动法》中，试用期最长多久？"
    leave = doc_of(assistant, "年休假")
    own = assistant.answer("那么在《职工示范年休假条例》里呢？年休假几天", history=[first])
    assert own.scope is not None and own.scope.documents == (leave,) and not own.scope.inherited
    # Not a follow-up: the whole collection (or the argument's scope), nothing inherited.
    fresh = assistant.answer("上海的城市精神是什么？", history=[first])
    assert fresh.scope is None and {h.doc_id for h in fresh.hits} >= {RESOLUTION}
    chosen = assistant.answer("上海的城市精神是什么？", history=[first], scope={"kinds": ["决议"]})
    assert chosen.scope is not None and chosen.scope.kinds == ("resolution",)
    # A question in between that states none and is no follow-up breaks the chain.
    broken = assistant.answer("那么工作时间呢？", history=[first, "上海的城市精神是什么？"])
    assert broken.scope is None
    # A follow-up of a question scoped to an unknown title inherits nothing.
    unknown = assistant.answer("那么工作时间呢？", history=["只在《不存在的法》中，试用期多久？"])
    assert unknown.scope is None
    # And the argument's scope still applies to a follow-up of an unscoped question.
    plain = assistant.answer(
        "那城市品格呢？", history=["上海的城市精神是什么？"], scope={"kinds": ["决议"]}
    )
    assert plain.scope is not None and not plain.scope.inherited
