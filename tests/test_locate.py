"""Pasted passages located in the real seed documents and cited verbatim (rag.locate)."""

from __future__ import annotations

import opencc
import pytest

from rag.locate import MIN_COVERAGE, PassageLocator


@pytest.fixture(scope="module")
def resolution(seed_assistant):
    return next(d for d in seed_assistant.documents.values() if d.kind == "resolution")


def _span(doc, first: int, last: int) -> str:
    return doc.text[doc.paragraph(first).start : doc.paragraph(last).end]


def test_exact_passage_of_two_paragraphs_is_answered_with_both_cited(seed_assistant, resolution):
    passage = _span(resolution, 5, 6)
    assert len(passage) > 500  # longer than a question may be
    answer = seed_assistant.answer(passage)
    assert answer.found
    assert [q.paragraph for q in answer.quotes] == [5, 6]
    assert "".join(q.text for q in answer.quotes) == passage.replace("\n\n", "")
    for quote in answer.quotes:
        assert resolution.text[quote.start : quote.end] == quote.text
    assert answer.markdown.startswith("这段文字出自《十一届市委十一次全会决议》第5段至第6段")
    assert answer.confidence == 1.0
    assert not answer.notes


def test_retyped_passage_with_a_prompt_is_found_with_a_note(seed_assistant, resolution):
    passage = _span(resolution, 5, 5)
    retyped = passage.replace("，", " ").replace("。", "")
    retyped = "这段话出自哪里？" + retyped[:60] + "某某" + retyped[62:]
    answer = seed_assistant.answer(retyped)
    assert answer.found and [q.paragraph for q in answer.quotes] == [5]
    assert answer.quotes[0].text == passage  # the document's text, not the pasted one
    assert MIN_COVERAGE <= answer.confidence < 1.0
    assert "不完全一致" in answer.notes[0]


def test_traditional_script_passage_is_found(seed_assistant, resolution):
    passage = _span(resolution, 3, 3)
    answer = seed_assistant.answer(opencc.OpenCC("s2t").convert(passage))
    assert answer.found and answer.quotes[0].text == passage


def test_part_of_a_paragraph_quotes_only_that_part(seed_assistant, resolution):
    para = resolution.paragraph(4)
    piece = resolution.text[para.start + 10 : para.start + 90]
    location = PassageLocator(seed_assistant.documents).locate(piece)
    assert location is not None and location.exact
    assert resolution.text[location.start : location.end].startswith(piece.rstrip("，。"))
    assert location.end - location.start <= len(piece) + 1


def test_questions_and_foreign_text_are_not_located(seed_assistant):
    locator = PassageLocator(seed_assistant.documents)
    assert locator.locate("上海的城市精神是什么？") is None  # a question is too short
    foreign = "劳动者在试用期内提前三日通知用人单位，可以解除劳动合同。" * 3
    assert locator.locate(foreign) is None
    answer = seed_assistant.answer("上海的城市精神是什么？")
    assert answer.found and not answer.markdown.startswith("这段文字出自")


def test_a_long_question_restating_the_text_is_answered_not_located(seed_assistant, resolution):
    locator = PassageLocator(seed_assistant.documents)
    para = resolution.paragraph(3)
    sentence = resolution.text[para.start : para.start + 60]
    assert locator.locate(sentence + "这指的是什么") is None  # a question word outside it
    assert locator.locate(sentence + "，目的是为了？") is None  # ends as a question
    assert locator.locate("这段话出自哪里？" + sentence) is not None  # asks for its source
