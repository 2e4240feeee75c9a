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
    assert _plain(tokens) == ["上海", "海城", "城市", "精神", "决议", "第一章"]


def test_a_numbered_reference_is_one_token_and_no_bigram_straddles_it() -> None:
    # 第五十二条 must not hold 第二 / 二条, or a question about 第二条 matches it.
    expected = ["第五十二条", "用人", "人单", "单位"]
    assert _plain(character_bigrams("第五十二条　用人单位")) == expected
    assert _plain(character_bigrams("法律援助法第二条规定了什么？")) == [
        "法律",
        "律援",
        "援助",
        "助法",
        "第二条",
        "规定",
        "定了",
        "了什",
        "什么",
    ]
    assert _plain(character_bigrams("刑法第二百九十一条之一")) == ["刑法", "第二百九十一条之一"]
    assert _plain(character_bigrams("依照第十四条第二款处理")) == [
        "依照",
        "第十四条",
        "第二款",
        "处理",
    ]
    # Numerals elsewhere, and 第 not opening a reference, are bigrammed as before.
    assert _plain(character_bigrams("诉讼时效期间为三年")) == [
        "诉讼",
        "讼时",
        "时效",
        "效期",
        "期间",
        "间为",
        "为三",
        "三年",
    ]
    assert _plain(character_bigrams("第一次全会")) == ["第一", "一次", "次全", "全会"]
    # Traditional script folds first: 第五十二條 is the same token.
    assert character_bigrams("第五十二條") == character_bigrams("第五十二条")


def test_legacy_scheme_bigrams_references_as_the_older_indexes_hold_them() -> None:
    assert _plain(character_bigrams("第五十二条", references=False)) == [
        "第五",
        "五十",
        "十二",
        "二条",
    ]


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


def test_a_question_about_an_article_scores_no_article_ending_in_its_number() -> None:
    passages = ["第五十二条　用人单位应当支付工资。", "第二条　本法所称法律援助。"]
    for references, leaks in ((False, True), (True, False)):
        grams = LexicalIndex.build([character_bigrams(p, references=references) for p in passages])
        scores = grams.scores(character_bigrams("第二条", references=references))
        assert bool(scores[0] > 0) is leaks  # 第五十二条 matched 二条 before
        assert scores[1] > 0


LAW = (
    "# 中华人民共和国示例法\n\n第二条　本法所称示例，是指无偿提供咨询的制度。\n\n"
    "第五十二条　示例机构应当按照规定办理。\n"
)


def _build_law(tmp_path: Path) -> tuple[Path, Path, rag.BuildReport]:
    """A two-article statute in tmp_path, built lexical: (source, index, report)."""
    source = tmp_path / "示例法.md"
    source.write_text(LAW, encoding="utf-8")
    index = tmp_path / "index"
    return source, index, rag.build_index(source, index, model="none", workers=1)


def test_a_build_records_the_reference_scheme_and_finds_the_article(tmp_path: Path) -> None:
    _, index, _ = _build_law(tmp_path)
    assistant = rag.load(index)
    assert assistant._state.generation.lexical.field_weight(FIELD) == 1.0
    hits = assistant.search("示例法第二条规定了什么？", k=2, mode="lexical")
    assert hits[0].text.startswith("第二条")


def test_a_new_bigram_scheme_makes_the_index_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, index, first = _build_law(tmp_path)
    assert not first.up_to_date
    assert rag.build_index(source, index, model="none", workers=1).up_to_date
    monkeypatch.setattr("rag.ngrams.FIELD", "bigrams-next")
    assert not rag.build_index(source, index, model="none", workers=1).up_to_date
