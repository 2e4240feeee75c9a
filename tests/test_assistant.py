"""The Python API on the seed: verbatim quotes, citations, refusal, follow-ups, verification."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

import rag
from rag.answering import verify_quote

KNOWN_REGRESSION = (
    "issue 11: the fitted confidence is below the refusal threshold for this paraphrase "
    "(几位候补委员到场 against 出席…市委候补委员2人: few shared words), see docs/BENCHMARKS.md"
)

SEED_QA = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "seed_qa.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def assert_verbatim(assistant: rag.Assistant, answer: rag.Answer) -> None:
    for q in answer.quotes:
        doc = assistant.document(q.doc_id)
        assert doc.text[q.start : q.end] == q.text
        # A quote may run on into the next paragraphs (a lead-in with its items, a
        # continuation), never outside the paragraphs it cites.
        first, last = doc.paragraph(q.paragraph), doc.paragraph(q.last_paragraph)
        assert first.start <= q.start < q.end <= last.end


# Seed questions the fitted selection model misses (issue 11; figures in docs/BENCHMARKS.md).
# p17 is answered since the permission / unit / named-law features (18/18 lexical).
KNOWN_MISSES: set[str] = set()


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(i, marks=pytest.mark.xfail(reason=KNOWN_REGRESSION, strict=True))
        if i["id"] in KNOWN_MISSES
        else i
        for i in SEED_QA
        if i["answers"]
    ],
    ids=lambda i: i["id"],
)
def test_answerable_seed_questions(seed_assistant: rag.Assistant, item: dict) -> None:
    answer = seed_assistant.answer(item["question"])
    assert answer.found, answer.markdown
    assert_verbatim(seed_assistant, answer)
    assert any(g in answer.quotes[0].text for g in item["answers"]), answer.quotes[0].text
    assert seed_assistant.document(answer.quotes[0].doc_id).kind == item["doc"]


@pytest.mark.parametrize("item", [i for i in SEED_QA if not i["answers"]], ids=lambda i: i["id"])
def test_unanswerable_seed_questions_are_refused(seed_assistant: rag.Assistant, item: dict) -> None:
    answer = seed_assistant.answer(item["question"])
    assert not answer.found
    assert answer.quotes == ()
    assert "没有找到" in answer.markdown


def test_answer_shape_and_citation(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("上海的城市精神是什么？")
    quote = answer.quotes[0]
    assert quote.citation == "《十一届市委十一次全会决议》第3段"
    assert quote.doc_kind == "resolution"
    assert "决议原文" in answer.markdown and "第3段" in answer.markdown
    assert answer.build_id == seed_assistant.info.build_id
    assert answer.source_hashes == seed_assistant.info.source_hashes
    data = json.loads(json.dumps(answer.to_dict(), ensure_ascii=False))
    assert data["quotes"][0]["text"] == quote.text
    assert 1 <= len(answer.quotes) <= 3


def test_side_report_quotes_are_labelled_as_the_report(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("张江科学城流行一句什么话？")
    assert answer.quotes[0].doc_kind == "side_report"
    assert "侧记" in answer.quotes[0].citation
    assert "侧记（非原文）" in answer.markdown


def test_search_returns_ranked_hits(seed_assistant: rag.Assistant) -> None:
    hits = seed_assistant.search("上海的城市精神是什么？", k=5)
    assert 1 <= len(hits) <= 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for h in hits:
        assert seed_assistant.document(h.doc_id).text[h.start : h.end] == h.text
        assert h.citation.startswith("《")
    assert len(seed_assistant.search("城市", k=10_000)) <= seed_assistant.info.chunks
    assert seed_assistant.search("城市", k=0) == []  # issue 12: k=0 asks for no passages
    assert seed_assistant.search("？？？") == []


def test_followup_uses_history(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("那城市品格呢？", history=["上海的城市精神是什么？"])
    assert answer.found
    assert answer.resolved_question == "上海的城市品格是什么？"
    assert "开放、创新、包容" in answer.quotes[0].text


def test_empty_and_stopword_questions_search_nothing(seed_assistant: rag.Assistant) -> None:
    for question in ["", "   ", "？！。"]:
        answer = seed_assistant.answer(question)
        assert not answer.found and not answer.hits and "请输入" in answer.markdown
    answer = seed_assistant.answer("是什么呢？")
    assert not answer.found and not answer.hits


def test_long_question_is_capped_with_a_note(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("上海的城市精神是什么？" + "啊" * 100_000)
    assert answer.notes and len(answer.question) == seed_assistant.settings.max_question_chars


def test_verification_drops_corrupted_quotes(seed_assistant: rag.Assistant) -> None:
    gen = seed_assistant._state.generation
    good = seed_assistant.answer("全会由谁主持？").quotes[0]
    assert verify_quote(good, gen) == good
    corrupted = [
        dataclasses.replace(good, text=good.text.replace("市委", "市政府")),
        dataclasses.replace(good, start=good.start + 1),
        dataclasses.replace(good, end=good.end + 5, text=good.text + "并讲话。"),
        dataclasses.replace(good, doc_id="no-such-doc"),
        dataclasses.replace(good, paragraph=good.paragraph + 1),
        dataclasses.replace(good, start=-3),
    ]
    for quote in corrupted:
        assert verify_quote(quote, gen) is None


def test_markdown_escapes_document_text(seed_assistant: rag.Assistant) -> None:
    from rag.answering import escape_markdown

    assert escape_markdown("![x](http://e.example/a.png)") == r"\!\[x\]\(http://e.example/a.png\)"
    assert "<" not in escape_markdown("<script>alert(1)</script>")


EXTRA_QA = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "seed_extra_qa.jsonl")
    .read_text("utf-8")
    .splitlines()
    if line.strip()
]


def test_questions_not_used_for_tuning(seed_assistant: rag.Assistant) -> None:
    """Questions written after the selection was tuned (x09 and x15 were then fixed on seeing
    them): most answered, clear misses refused."""
    answerable = [i for i in EXTRA_QA if i["answers"]]
    right = 0
    for item in answerable:
        answer = seed_assistant.answer(item["question"])
        assert_verbatim(seed_assistant, answer)
        right += answer.found and any(g in answer.quotes[0].text for g in item["answers"])
    assert right >= len(answerable) - 2
    for qid in ("x12", "x13", "x14"):
        item = next(i for i in EXTRA_QA if i["id"] == qid)
        assert not seed_assistant.answer(item["question"]).found, item["question"]


def test_an_ordinal_the_documents_lack_is_refused(seed_assistant: rag.Assistant) -> None:
    # 十二次 is not 十一次: a number decides what is asked, as a name does.
    assert not seed_assistant.answer("十一届市委十二次全会什么时候召开？").found
    right = seed_assistant.answer("十一届市委十一次全会什么时候召开？")
    assert right.found and "2021年6月22日" in right.quotes[0].text


def test_a_why_question_gets_the_sentence_that_gives_the_reason(
    seed_assistant: rag.Assistant,
) -> None:
    answer = seed_assistant.answer("上海为什么被称为大上海？")
    assert_verbatim(seed_assistant, answer)
    first = answer.quotes[0].text
    # The sentence that restates the question, and the next one with the reason.
    assert first.startswith("没有过多先天资源禀赋") and "海纳百川，有容乃大" in first
