"""The character-bigram field: bigrams of folded text, a second BM25 field in one index, and
retrieval that no longer depends on jieba segmenting question and passage alike.

``fixtures/drcd_excerpt.jsonl`` holds four paragraphs of DRCD dev (Delta Reading
Comprehension Dataset, Shao et al. 2018, Traditional Chinese Wikipedia text, CC BY-SA 3.0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rag
from rag.errors import IndexMismatchError, RagError
from rag.lexical import LexicalIndex
from rag.ngrams import FIELD, MARK, character_bigrams, passage_bigrams
from rag.settings import Settings
from rag.textnorm import normalize

EXCERPT = Path(__file__).parent / "fixtures" / "drcd_excerpt.jsonl"


def _plain(tokens: list[str]) -> list[str]:
    assert all(t.startswith(MARK) for t in tokens)
    return [t[len(MARK) :] for t in tokens]


def test_bigrams_of_ideograph_runs_and_whole_ascii_runs() -> None:
    assert _plain(character_bigrams("斯特拉斯堡的人口？ABC 3中")) == [
        "斯特",
        "特拉",
        "拉斯",
        "斯堡",
        "堡的",
        "的人",
        "人口",
        "abc",
        "3",
        "中",
    ]
    assert character_bigrams("，。！") == []
    assert character_bigrams("") == []


def test_traditional_and_simplified_give_the_same_bigrams() -> None:
    assert character_bigrams("首顆被測量出直徑的恆星") == character_bigrams(
        "首颗被测量出直径的恒星"
    )
    assert character_bigrams("ＡＢＣ１２３") == character_bigrams("abc123")


def test_spacing_between_ideographs_changes_nothing() -> None:
    assert character_bigrams("上海的\r\n城市\n\n精神\t是什么？") == character_bigrams(
        "上海的城市精神是什么？"
    )
    assert _plain(character_bigrams("abc def 上海")) == ["abc", "def", "上海"]


def test_no_word_token_can_carry_the_mark() -> None:
    # normalize() removes the mark, so a word field and the bigram field never share a token.
    assert MARK not in normalize(f"上海{MARK}城市")


def test_passage_bigrams_never_span_two_texts() -> None:
    tokens = passage_bigrams(["上海城市。", "精神", "决议", "第一章"])
    assert _plain(tokens) == ["上海", "海城", "城市", "精神", "决议", "第一", "一章"]


CORPUS = [["上海", "城市"], ["北京"], ["上海", "软实力"]]
GRAMS = [
    [MARK + "上海", MARK + "海城"],
    [MARK + "北京"],
    [MARK + "上海", MARK + "软实", MARK + "实力"],
]


def test_field_scores_add_to_word_scores_with_their_weight(tmp_path: Path) -> None:
    words, grams = LexicalIndex.build(CORPUS), LexicalIndex.build(GRAMS, k1=1.2, b=0.75)
    joined = words.with_field(grams, 0.5, FIELD)
    query_words, query_grams = ["上海", "软实力"], [MARK + "软实", MARK + "海城"]
    expected = words.scores(query_words) + 0.5 * grams.scores(query_grams)
    np.testing.assert_allclose(joined.scores(query_words + query_grams), expected, rtol=1e-6)
    ids, _ = joined.search(query_words + query_grams, k=3)
    assert ids.tolist() == np.argsort(-expected, kind="stable")[: len(ids)].tolist()
    # Word ids keep their meaning (stored sentence token ids point at them).
    assert joined.token_ids(["上海", "软实力"]) == words.token_ids(["上海", "软实力"])
    assert joined.idf("上海") == words.idf("上海")
    assert joined.field_weight(FIELD) == 0.5 and words.field_weight(FIELD) == 0.0
    # The per-passage sparse vectors (what a Milvus collection stores) hold both fields.
    indptr, token_ids, weights = joined.passage_weights()
    row = {
        int(t): float(w)
        for t, w in zip(
            token_ids[indptr[2] : indptr[3]], weights[indptr[2] : indptr[3]], strict=True
        )
    }
    tid = joined.token_ids([MARK + "软实"])[0]
    assert row[tid] == pytest.approx(0.5 * grams.scores([MARK + "软实"])[2])

    joined.save(tmp_path / "lex")
    loaded = LexicalIndex.load(tmp_path / "lex")
    assert loaded.field_weight(FIELD) == 0.5
    np.testing.assert_allclose(loaded.scores(query_words + query_grams), expected, rtol=1e-6)


def test_field_needs_same_passages_disjoint_tokens_and_a_positive_weight() -> None:
    words, grams = LexicalIndex.build(CORPUS), LexicalIndex.build(GRAMS)
    with pytest.raises(RagError, match="same passages"):
        words.with_field(LexicalIndex.build(GRAMS[:2]), 1.0, FIELD)
    with pytest.raises(RagError, match="disjoint"):
        words.with_field(LexicalIndex.build(CORPUS), 1.0, FIELD)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(RagError, match="positive weight"):
            words.with_field(grams, bad, FIELD)
    with pytest.raises(RagError, match="disjoint"):
        words.with_field(grams, 1.0, FIELD).with_field(grams, 1.0, FIELD)


def test_damaged_field_meta_is_refused(tmp_path: Path) -> None:
    LexicalIndex.build(CORPUS).with_field(LexicalIndex.build(GRAMS), 1.0, FIELD).save(tmp_path)
    meta = json.loads((tmp_path / "meta.json").read_text(encoding="utf-8"))
    meta["fields"][1]["columns"] += 1
    (tmp_path / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="field"):
        LexicalIndex.load(tmp_path)


def test_bigram_weight_setting_is_checked() -> None:
    assert Settings.load(env={}).bigram_weight == 1.0
    assert Settings.load(env={"RAG_BIGRAM_WEIGHT": "0"}).bigram_weight == 0.0
    for bad in ("-1", "nan", "11"):
        with pytest.raises(RagError, match="bigram_weight"):
            Settings.load(env={"RAG_BIGRAM_WEIGHT": bad})


@pytest.fixture(scope="module")
def excerpt_indexes(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Path]:
    out = {}
    for weight in (0.0, 1.0):
        index = tmp_path_factory.mktemp(f"drcd-{weight}")
        rag.build_index(EXCERPT, index, model="none", workers=1, bigram_weight=weight)
        out[weight] = index
    return out


# jieba cuts the question's 測出 and the passage's 測量出 differently, and reads
# 多倫多市 as one word where the passage's 多倫多市 … 人口 only share characters with it;
# the bigrams 被測, 倫多, 人口 match whatever the segmentation.
QUESTIONS = [
    ("哪一顆恆星是第一顆被測出直徑的？", "D00093"),
    ("多倫多市的人口在什麼時候為約9000人？", "D00154"),
]


@pytest.mark.parametrize(("question", "gold"), QUESTIONS)
def test_bigram_field_finds_the_paragraph_words_alone_miss(
    excerpt_indexes: dict[float, Path], question: str, gold: str
) -> None:
    words_only = rag.load(excerpt_indexes[0.0])
    with_bigrams = rag.load(excerpt_indexes[1.0])
    assert words_only.search(question, k=1, mode="lexical")[0].doc_id != gold
    assert with_bigrams.search(question, k=1, mode="lexical")[0].doc_id == gold


def test_either_script_ranks_alike_and_hits_keep_the_documents_characters(
    excerpt_indexes: dict[float, Path],
) -> None:
    assistant = rag.load(excerpt_indexes[1.0])
    traditional = assistant.search("哪一顆恆星是第一顆被測出直徑的？", k=4, mode="lexical")
    simplified = assistant.search("哪一颗恒星是第一颗被测出直径的？", k=4, mode="lexical")
    assert [(h.doc_id, h.score) for h in traditional] == [(h.doc_id, h.score) for h in simplified]
    top = traditional[0]
    document = assistant.document(top.doc_id)
    assert "首顆被測量出直徑的恆星" in document.text  # the source's own Traditional text
    assert top.text in document.text
    answer = assistant.answer("哪一颗恒星是第一颗被测出直径的？", mode="lexical")
    assert all(q.text == assistant.document(q.doc_id).text[q.start : q.end] for q in answer.quotes)
