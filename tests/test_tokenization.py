"""Tokenizer and discover_terms with the real jieba dictionary."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from rag.lexical import LexicalIndex
from rag.textnorm import normalize
from rag.tokenization import Tokenizer, default_stopwords, discover_terms, precise_cut

SOURCE = Path(__file__).resolve().parent.parent / "source"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="module")
def seed_text() -> str:
    return next(SOURCE.glob("*.txt")).read_text(encoding="utf-8")


def test_question_words_and_function_words_are_dropped(tok: Tokenizer) -> None:
    assert tok.tokenize("上海的城市精神是什么？") == ["上海", "城市", "精神"]
    assert tok.tokenize("哪个城市在哪一年提出了这个目标呢？") == ["城市", "提出", "目标"]
    for word in ("什么", "哪些", "哪个", "如何", "怎样", "谁", "多少", "为什么", "吗", "的", "是"):
        assert word in default_stopwords()


def test_stopwords_can_be_turned_off() -> None:
    plain = Tokenizer(stopwords=frozenset())
    assert plain.tokenize("上海的城市精神是什么？") == ["上海", "的", "城市", "精神", "是", "什么"]


def test_punctuation_and_whitespace_are_dropped(tok: Tokenizer) -> None:
    tokens = tok.tokenize("“开放、创新、包容”——上海！\n\t（2021年）《意见》…")
    assert tokens == ["开放", "创新", "包容", "上海", "2021", "年", "意见"]


def test_full_width_and_traditional_input_match_simplified(tok: Tokenizer) -> None:
    assert tok.tokenize("城市軟實力ＡＢＣ１２３") == tok.tokenize("城市软实力abc123")
    assert "abc123" in tok.tokenize("ＡＢＣ１２３")


def test_user_terms_are_normalised_kept_whole_and_still_match_their_parts() -> None:
    tok = Tokenizer(user_terms=["軟實力", "has space", "a,b"])
    assert tok.user_terms == ("软实力",)  # normalised; unusable terms dropped
    assert tok.segment("提升城市软实力") == ["提升", "城市", "软实力"]
    # The term is emitted with the parts jieba made of it before, for partial questions.
    assert tok.tokenize("提升城市软实力") == ["提升", "城市", "软", "实力", "软实力"]
    assert Tokenizer().segment("提升城市软实力") == ["提升", "城市", "软", "实力"]


def test_private_jieba_instance_leaves_global_jieba_alone() -> None:
    import jieba

    Tokenizer(user_terms=["张江科学城流"])
    assert "张江科学城流" not in jieba.lcut("张江科学城流")


def test_tokenizers_never_share_user_terms() -> None:
    with_term = Tokenizer(user_terms=["张江科学城流"])
    assert with_term.segment("张江科学城流") == ["张江科学城流"]
    assert "张江科学城流" not in Tokenizer().segment("张江科学城流")


def test_a_planted_jieba_cache_in_the_temp_dir_is_never_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marshal
    import tempfile

    from rag import tokenization

    # jieba's own cache lives in the shared temp dir; a planted one that makes 上海的城市
    # a single word must not change how we cut text.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    planted = {"上海的城市": 10**9, "上": 1, "上海": 1, "上海的": 1, "上海的城": 1}
    (tmp_path / "jieba.cache").write_bytes(marshal.dumps((planted, 10**9 + 4)))
    tokenization._base_dictionary.cache_clear()
    try:
        assert Tokenizer().tokenize("上海的城市精神") == ["上海", "城市", "精神"]
    finally:
        tokenization._base_dictionary.cache_clear()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jieba.cache"]  # nothing written


def test_tokenize_many_is_parallel_and_deterministic(tok: Tokenizer) -> None:
    texts = [
        f"第{i}条 上海市第{i % 7}届委员会全体会议通过了关于城市软实力的意见。" for i in range(3000)
    ]
    sequential = tok.tokenize_many(texts, workers=1)
    assert sequential == [tok.tokenize(t) for t in texts]
    assert tok.tokenize_many(texts, workers=2) == sequential
    assert tok.tokenize_many([], workers=2) == []


def test_tokenizer_survives_pickling_for_spawned_workers() -> None:
    tok = Tokenizer(user_terms=["软实力"], stopwords=frozenset({"城市"}))
    clone = pickle.loads(pickle.dumps(tok))
    assert clone.tokenize("提升城市软实力") == tok.tokenize("提升城市软实力")
    assert clone.describe() == tok.describe()


def test_describe_records_what_decides_tokens() -> None:
    a, b = Tokenizer(), Tokenizer(user_terms=["软实力"])
    assert a.describe()["mode"] == "precise" and a.describe()["hmm"] is False
    assert a.describe()["user_terms_sha256"] != b.describe()["user_terms_sha256"]


def test_discover_terms_on_the_seed_document(seed_text: str) -> None:
    terms = discover_terms([seed_text])
    assert "软实力" in terms  # 软 + 实力, and 软 hardly occurs alone
    assert terms == discover_terms([seed_text])  # deterministic
    # quoted phrases with punctuation inside are not terms
    assert not any("、" in t or "," in t for t in terms)
    assert "海纳百川" not in terms  # already one jieba word
    # conservative: a few dozen terms, no stopwords, no single characters
    assert 0 < len(terms) < 60
    assert all(len(t) >= 2 and t not in default_stopwords() for t in terms)


def test_discover_terms_finds_quotes_and_runs_of_single_characters() -> None:
    texts = ["张江是科学城。", "张江发展很快。", "在张江工作。", "他称之为“数字底座”。"]
    terms = discover_terms(texts)
    assert "张江" in terms  # 张 + 江 always together
    assert "数字底座" in terms  # quoted phrase jieba splits
    assert discover_terms(texts, max_terms=1) == terms[:1]
    assert discover_terms([]) == []


def test_discovered_terms_improve_segmentation_and_retrieval(seed_text: str) -> None:
    corpus = [
        "全会强调，要全面提升城市软实力，推动高质量发展和高品质生活。",  # soft power
        "这块面包很软，实力派厨师做的，软硬适中，实力不俗。",  # 软 and 实力 apart
        "城市建设要坚持人民至上。",
    ]
    terms = discover_terms([seed_text, *corpus])
    plain, with_terms = Tokenizer(), Tokenizer(user_terms=terms)
    assert "软实力" not in plain.segment("城市软实力")
    assert "软实力" in with_terms.segment("城市软实力")

    def best(tok: Tokenizer) -> int:
        index = LexicalIndex.build(tok.tokenize_many(corpus))
        ids, _ = index.search(tok.tokenize("软实力"), k=3)
        return int(ids[0])

    assert best(plain) == 1  # the split tokens favour the wrong passage
    assert best(with_terms) == 0


def test_precise_cut_gives_jiebas_words(seed_text: str) -> None:
    # The fast path must segment exactly as jieba does: the seed document line by line, with
    # user terms, Latin runs, digits, whitespace and symbols.
    tok = Tokenizer(user_terms=["城市软实力", "海纳百川"])
    jb = tok._jieba
    lines = [*seed_text.splitlines(), "GDP增长3.5%，e-mail #c++ ab 12x", "第三十九条\r\n规定\t了"]
    lines += ["", " ", "中" * 200, "😀上海😀", "ＡＢＣ１２３的上海"]
    compared = 0
    for line in lines:
        for text in (line, normalize(line)):
            tok._prime(text)
            assert precise_cut(jb, text) == jb.lcut(text, HMM=False), text
            compared += 1
    assert compared > 100
    assert tok.cut("上海的城市精神是什么？") == jb.lcut("上海的城市精神是什么？", HMM=False)
