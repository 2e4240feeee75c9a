"""Question hygiene and follow-up resolution."""

from __future__ import annotations

import jieba

from rag.questions import clean_question, is_followup, resolve_followup


def cut(text: str) -> list[str]:
    return jieba.lcut(text, HMM=False)


def test_clean_strips_control_zero_width_bidi_and_surrogates() -> None:
    raw = "上海\u200b的\u202e城市\x00精神\ud800是什么？"
    cleaned = clean_question(raw, 500)
    assert cleaned.text == "上海的城市精神是什么？"
    assert cleaned.searchable


def test_clean_caps_length_with_a_note() -> None:
    cleaned = clean_question("城市" * 50_000, 500)
    assert len(cleaned.text) == 500
    assert cleaned.notes and "500" in cleaned.notes[0]


def test_nothing_searchable() -> None:
    for raw in ["", "   ", "？？！。", "\u200b\u200b", "……——"]:
        assert not clean_question(raw, 500).searchable
    assert not clean_question(None, 500).searchable


def test_followup_detection() -> None:
    assert is_followup("那城市品格呢？")
    assert is_followup("还有呢")
    assert not is_followup("上海的城市精神是什么？")
    assert not is_followup("那么请问全面提升城市软实力要坚持哪几个相结合的原则呢？")


def test_followup_replaces_the_shared_phrase() -> None:
    resolved = resolve_followup("那城市品格呢？", ["上海的城市精神是什么？"], cut)
    assert resolved == "上海的城市品格是什么？"


def test_followup_chains_and_falls_back() -> None:
    history = ["上海的城市精神是什么？", "那城市品格呢？"]
    assert resolve_followup("那城市精神呢？", history, cut) == "上海的城市精神是什么？"
    assert resolve_followup("那锦江呢？", ["全会由谁主持？"], cut) == "锦江 全会由谁主持？"
    assert resolve_followup("全会由谁主持？", ["上海的城市精神是什么？"], cut) == "全会由谁主持？"


def test_followup_asks_the_previous_question_about_the_new_topic() -> None:
    from rag.tokenization import Tokenizer

    tokenizer = Tokenizer(user_terms=["软实力"])
    tag = tokenizer.word_tag

    def ask(question: str, previous: str) -> str:
        return resolve_followup(question, [previous], tokenizer.cut, tag)

    # No shared word: the previous question's opening noun phrase is the topic, replaced.
    assert ask("那么每日工作时间呢？", "试用期最长多久？") == "每日工作时间最长多久？"
    assert ask("那加班费呢？", "劳动合同的试用期最长多久？") == "加班费最长多久？"
    assert ask("那锦江呢？", "全会由谁主持？") == "锦江由谁主持？"
    # A shared word still anchors the replacement.
    assert ask("那城市品格呢？", "上海的城市精神是什么？") == "上海的城市品格是什么？"
    # A previous question that does not open with a noun phrase gets the fragment prefixed.
    assert ask("那年休假呢？", "如何计算加班费？") == "年休假 如何计算加班费？"
    # A question that is only a noun phrase has no predicate to keep: prefixed.
    assert ask("那年休假呢？", "试用期？") == "年休假 试用期？"
