"""The answer cache: a repeated question is answered from memory, only within one generation,
and only when everything that decides the answer is the same."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import rag
from rag.errors import ArgumentError
from rag.lru import LRUCache

SOURCE = Path(__file__).resolve().parent.parent / "source"

QUESTION = "上海的城市精神是什么？"


def test_a_repeated_question_is_the_same_answer(seed_index: Path) -> None:
    assistant = rag.load(seed_index, model="none")
    first = assistant.answer(QUESTION)
    assert assistant.answer(QUESTION) is first
    assert first.found


def test_anything_that_decides_the_answer_is_part_of_the_key(seed_index: Path) -> None:
    assistant = rag.load(seed_index, model="none")
    first = assistant.answer(QUESTION)
    assert assistant.answer(QUESTION, k=2) is not first
    assert len(assistant.answer(QUESTION, k=2).hits) == 2
    follow = assistant.answer("那城市品格呢？", history=[QUESTION])
    assert follow is not assistant.answer("那城市品格呢？")
    assert follow.resolved_question != assistant.answer("那城市品格呢？").resolved_question
    scoped = assistant.answer(QUESTION, scope={"kinds": ["resolution"]})
    assert scoped is not first and scoped.scope is not None
    # An unhashable question is answered as before (politely refused), and not cached.
    odd: Any = ["not", "a", "question"]
    assert assistant.answer(odd) is not assistant.answer(odd)
    assert not assistant.answer(odd).found


def test_only_the_follow_up_chain_is_part_of_the_key(seed_index: Path) -> None:
    assistant = rag.load(seed_index, model="none")
    # A question that is no follow-up does not read the history at all.
    first = assistant.answer(QUESTION)
    assert assistant.answer(QUESTION, history=["全会由谁主持？", "那么时间呢？"]) is first
    # A follow-up reads back to the question that started its chain, and no further.
    follow = assistant.answer("那城市品格呢？", history=[QUESTION])
    longer = ["全会由谁主持？", ["not", "a", "question"], QUESTION]
    assert assistant.answer("那城市品格呢？", history=longer) is follow
    assert follow.resolved_question == "上海的城市品格是什么？"


def test_invalid_arguments_still_raise(seed_index: Path) -> None:
    assistant = rag.load(seed_index, model="none")
    assistant.answer(QUESTION)
    with pytest.raises(ArgumentError):
        assistant.answer(QUESTION, k=-1)
    with pytest.raises(ArgumentError):
        assistant.answer(QUESTION, history=42)


def test_no_cache_when_turned_off(seed_index: Path) -> None:
    assistant = rag.load(seed_index, model="none", answer_cache=0)
    first = assistant.answer(QUESTION)
    again = assistant.answer(QUESTION)
    assert again is not first and again == first


def test_a_new_generation_starts_with_an_empty_cache(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    index = tmp_path / "index"
    rag.build_index(source, index, model="none", workers=1)
    assistant = rag.load(index, model="none")
    before = assistant.answer(QUESTION)
    extra = "上海的城市精神是海纳百川、追求卓越、开明睿智、大气谦和。这是一份测试用的新增文件。\n"
    (source / "新增.txt").write_text(extra, encoding="utf-8")
    rag.build_index(source, index, model="none", workers=1)
    assert assistant.refresh()
    after = assistant.answer(QUESTION)
    assert after is not before
    assert after.build_id != before.build_id


def test_negative_cache_size_is_refused() -> None:
    with pytest.raises(rag.RagError, match="answer_cache"):
        rag.Settings.load(answer_cache=-1)


def test_lru_keeps_the_most_recent() -> None:
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    empty = LRUCache(0)
    empty.put("a", 1)
    assert empty.get("a") is None and len(empty) == 0


PASSAGE_QUESTIONS = (
    QUESTION,
    "上海的城市品格是什么？",
    "全会由谁主持？",
    "全面提升城市软实力要坚持哪些原则？",
    "如何弘扬城市精神？",
)


def test_passage_caches_change_no_answer(seed_index: Path) -> None:
    """Work kept between questions (passage and sentence records, span bigrams, clauses)
    gives the answers a fresh assistant gives: asked twice over, and in another order."""
    warm = rag.load(seed_index, model="none", answer_cache=0)
    first = [warm.answer(q) for q in PASSAGE_QUESTIONS]
    assert [warm.answer(q) for q in PASSAGE_QUESTIONS] == first
    for q, expected in reversed(list(zip(PASSAGE_QUESTIONS, first, strict=True))):
        assert rag.load(seed_index, model="none", answer_cache=0).answer(q) == expected
    extractor = warm._state.selector.extractor
    assert len(warm._state.selector.candidates._records) > 0 and len(extractor._bigrams) > 0


def test_a_new_generation_starts_with_empty_passage_caches(tmp_path: Path) -> None:
    """Passage caches are keyed by passage position, which a rebuild changes: a refreshed
    assistant answers as one loaded afresh on the new generation."""
    source = tmp_path / "source"
    shutil.copytree(SOURCE, source)
    index = tmp_path / "index"
    rag.build_index(source, index, model="none", workers=1)
    assistant = rag.load(index, model="none", answer_cache=0)
    for q in PASSAGE_QUESTIONS:
        assistant.answer(q)
    old = assistant._state.selector
    # A document that sorts first moves every passage of the others to a new position.
    extra = "全会强调，上海的城市品格是开放、创新、包容。城市精神要弘扬。测试用新增文件。\n"
    (source / "0新增.txt").write_text(extra, encoding="utf-8")
    rag.build_index(source, index, model="none", workers=1)
    assert assistant.refresh()
    new = assistant._state.selector
    assert new is not old and len(new.candidates._records) == 0
    assert len(new.candidates._clauses) == 0
    fresh = rag.load(index, model="none", answer_cache=0)
    for q in PASSAGE_QUESTIONS:
        assert assistant.answer(q) == fresh.answer(q)
