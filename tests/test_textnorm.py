"""normalize(): the one normalisation shared by indexing and querying."""

from __future__ import annotations

import pytest

from rag.textnorm import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３，？！", "abc123,?!"),  # full-width letters, digits, punctuation
        ("城市\u3000精神", "城市 精神"),  # ideographic space
        ("軟實力", "软实力"),  # traditional → simplified
        ("臺灣發展", "台湾发展"),
        ("Shanghai GDP", "shanghai gdp"),  # ASCII lower-cased
        ("软\u200b实\u200d力\ufeff", "软实力"),  # zero-width characters
        ("\u202e上海\u202c\u200f", "上海"),  # bidi controls
        ("a\x00b\x07c\x7f", "abc"),  # C0 / DEL controls
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_only_ascii_letters_are_lowered() -> None:
    assert normalize("ΩÉX") == "ΩÉx"


def test_whitespace_is_kept_for_the_tokenizer() -> None:
    assert normalize("word\nnext\tcell") == "word\nnext\tcell"


def test_simplified_text_is_unchanged_and_idempotent() -> None:
    text = "中国共产党上海市第十一届委员会于2021年6月22日召开第十一次全体会议。"
    assert normalize(text) == text.replace("。", "。")
    once = normalize("《戰國無雙３》ＡＢＣ，")
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("question", "other"),
    [
        ("上海城市精神是甚麼？", "上海城市精神是什么？"),
        ("為甚麽要提升軟實力", "为什么要提升软实力"),
        ("妳認為裏面有什麽", "你认为里面有什么"),
        ("裡面", "里面"),
    ],
)
def test_variant_forms_fold_to_the_same_tokens(question: str, other: str) -> None:
    from rag.tokenization import Tokenizer

    assert normalize(question) == normalize(other)
    tok = Tokenizer()
    assert tok.tokenize(question) == tok.tokenize(other)
    assert "甚么" not in tok.tokenize(question)


def test_variant_fold_keeps_other_words_and_the_length() -> None:
    assert normalize("甚至甚大") == "甚至甚大"
    text = "甚麼是城市軟實力？"
    assert len(normalize(text)) == len(text)


def test_short_texts_are_normalised_once_and_alike_long_ones() -> None:
    from rag import textnorm

    short = "上海城市精神是甚麼？ＡＢＣ"
    textnorm._normalize_short.cache_clear()
    first = normalize(short)
    assert normalize(short) is first  # the second call reads the cache
    assert textnorm._normalize_short.cache_info().hits == 1
    # A text past the cached length takes the same path uncached, with the same result.
    long = short * (textnorm._MEMO_CHARS // len(short) + 1)
    assert normalize(long) == first * (textnorm._MEMO_CHARS // len(short) + 1)
    assert textnorm._normalize_short.cache_info().currsize == 1
