"""Sentence and clause spans."""

from __future__ import annotations

import pytest

from rag.sentences import split_clauses, split_sentences


def pieces(text: str, start: int = 0, end: int | None = None) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text, start, end)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("甲。乙！丙？丁；", ["甲。", "乙！", "丙？", "丁；"]),
        ("他说：“好。”我们走吧！", ["他说：“好。”", "我们走吧！"]),
        ("“问？”“答！”", ["“问？”", "“答！”"]),
        ("（见附件。）下文。", ["（见附件。）", "下文。"]),
        ("等等……然后呢？！结束", ["等等……", "然后呢？！", "结束"]),
        ("『引文。』「再引。」【注。】", ["『引文。』", "「再引。」", "【注。】"]),
        ('He said "yes!" then left; fine? ok', ['He said "yes!"', "then left;", "fine?", "ok"]),
        ("增长1.2万户。下一句", ["增长1.2万户。", "下一句"]),
        ("  前后空白。  \n  第二句。 ", ["前后空白。", "第二句。"]),
        ("没有标点", ["没有标点"]),
        ("标题\n\n正文。", ["标题", "正文。"]),
        ("换行\n接着写。", ["换行\n接着写。"]),
        ("“好。”。", ["“好。”。"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert pieces(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\n", "\u3000"])
def test_no_empty_spans(text: str) -> None:
    assert split_sentences(text) == [] and split_clauses(text) == []


def test_offsets_are_absolute() -> None:
    text = "前文。甲。乙。后文。"
    assert split_sentences(text, 3, 7) == [(3, 5), (5, 7)]
    assert pieces(text, 3) == ["甲。", "乙。", "后文。"]
    assert split_sentences(text, 3, 100) == split_sentences(text, 3)


def test_spans_cover_the_text() -> None:
    text = "全会认为，要“海纳百川、追求卓越”。全会强调……要强化！\n\n小标题\n正文？”结尾"
    spans = split_sentences(text)
    cursor = 0
    for start, end in spans:
        assert not text[cursor:start].strip()
        assert text[start:end] == text[start:end].strip()
        cursor = end
    assert not text[cursor:].strip()


def test_split_clauses() -> None:
    text = "全会指出，要有不懈的追求、澎湃的活力：让城市“更好。”下一句"
    clauses = [text[s:e] for s, e in split_clauses(text)]
    assert clauses == ["全会指出，", "要有不懈的追求、", "澎湃的活力：", "让城市“更好。”", "下一句"]
    assert split_clauses(text, 5, 13) == [(5, 13)]
