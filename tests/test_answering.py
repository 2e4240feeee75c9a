"""The answering stages: question analysis, candidates (continuations, lead-ins with their
items, articles by number), the fitted model artifact, quotes over several paragraphs,
refusal of questions the documents do not cover, and the evaluation helpers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import rag
from rag.answering import SelectionModel, default_model, verify_quote
from rag.answering.analysis import TermWeights, analyze
from rag.answering.candidates import Candidate
from rag.answering.features import (
    CONFIDENCE_FEATURES,
    FEATURES,
    RELATIVE,
    whole_article,
    with_context,
)
from rag.answering.model import LinearModel, ObliviousTrees, paired_probabilities
from rag.answering.selector import rank_candidates
from rag.errors import RagError
from rag.evaluation import cites_article, confidence_auroc
from rag.parsing import load_documents
from rag.schema import Document

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    source = tmp_path_factory.mktemp("policy_src")
    shutil.copy(FIXTURES / "policy_numbered.md", source / "policy_numbered.md")
    index = tmp_path_factory.mktemp("policy_index")
    rag.build_index(source, index, model="none", workers=1)
    return rag.load(index, model="none")


def test_shipped_model_loads_and_matches_the_code() -> None:
    model = default_model()
    assert model.ranker.features == FEATURES
    assert model.confidence.features == CONFIDENCE_FEATURES
    assert model.version and model.meta["trained_on"]
    # The default refusal threshold is the one fitted with the model.
    assert rag.Settings().refusal_threshold == pytest.approx(model.threshold)


def test_model_with_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads((Path(rag.__file__).parent / "data" / "selection_model.json").read_text())
    data["ranker"]["features"] = data["ranker"]["features"][:-1]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RagError, match="refit"):
        SelectionModel.load(path)


def test_linear_model_folds_standardisation() -> None:
    model = LinearModel.from_dict(
        {"features": ["a", "b"], "mean": [1.0, 0.0], "scale": [2.0, 1.0],
         "coef": [2.0, -1.0], "intercept": 0.5}, ["a", "b"],
    )  # fmt: skip
    # (3 - 1) / 2 * 2 - 1 * 1 + 0.5 = 1.5
    assert model.logit([3.0, 1.0]) == pytest.approx(1.5)
    assert 0.8 < model.probability([3.0, 1.0]) < 0.82


def test_paired_probabilities_are_each_models_own_to_the_bit() -> None:
    # The shipped ranker (boosted: linear part and trees) and absolute model, on vectors
    # with the zeros real ones have: the batch path gives what each vector gives alone.
    model = default_model()
    assert model.absolute is not None
    width = len(model.ranker.weights)
    rows = [[((n * 7 + i * 13) % 5 - 1) * 0.37 * (i % 3 != 0) for i in range(width)]
            for n in range(20)]  # fmt: skip
    ranked, own = paired_probabilities(model.ranker, model.absolute, rows)
    assert model.ranker.trees is not None
    assert ranked == [model.ranker.probability(x) for x in rows]
    assert own == [model.absolute.probability(x) for x in rows]
    assert model.ranker.probabilities(rows) == ranked
    assert len(set(ranked)) > 1
    assert paired_probabilities(model.ranker, model.absolute, []) == ([], [])
    with pytest.raises(ValueError):
        paired_probabilities(model.ranker, model.absolute, [[1.0]])
    with pytest.raises(ValueError):
        paired_probabilities(model.ranker, model.absolute, [[1.0] * width, [1.0]])


def _walk(splits: list[list[int]], borders: list[list[float]], leaves: list[list[float]],
          x: list[float]) -> float:  # fmt: skip
    """Oblivious trees read the slow way: one tree, one level at a time, float32 as in
    CatBoost (the reference for the vectorised evaluation)."""
    import numpy as np

    total = 0.0
    for feats, bords, values in zip(splits, borders, leaves, strict=True):
        leaf = 0
        for level, (f, b) in enumerate(zip(feats, bords, strict=True)):
            if np.float32(x[f]) > np.float32(b):
                leaf |= 1 << level
        total += values[leaf]
    return total


def test_oblivious_trees_sum_the_leaves_each_tree_reaches() -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    width, trees, depth = 6, 30, 3
    splits = rng.integers(0, width, (trees, depth)).tolist()
    borders = rng.normal(size=(trees, depth)).astype(np.float32).tolist()
    leaves = rng.normal(size=(trees, 1 << depth)).tolist()
    model = ObliviousTrees.from_dict(
        {"splits": splits, "borders": borders, "leaves": leaves}, width
    )
    rows = rng.normal(size=(40, width)).tolist()
    # On a border (not above it), and a float64 just above a border that float32 rounds
    # onto it: CatBoost compares in float32, so neither is above.
    b = borders[0][0]
    rows.append([b if f == splits[0][0] else 0.0 for f in range(width)])
    rows.append([float(np.nextafter(b, np.inf)) if f == splits[0][0] else 0.0
                 for f in range(width)])  # fmt: skip
    got = model.scores(rows)
    assert got.tolist() == pytest.approx([_walk(splits, borders, leaves, x) for x in rows])
    assert len(set(got.tolist())) > 30
    # The ranker adds them to its linear logit.
    linear = {"features": [str(i) for i in range(width)], "mean": [0.0] * width,
              "scale": [1.0] * width, "coef": [0.5] * width, "intercept": -1.0}  # fmt: skip
    boosted = LinearModel.from_dict(
        {**linear, "trees": {"splits": splits, "borders": borders, "leaves": leaves}},
        linear["features"],
    )
    plain = LinearModel.from_dict(linear, linear["features"])
    assert boosted.logit(rows[0]) == pytest.approx(plain.logit(rows[0]) + got[0])


def test_malformed_trees_are_refused() -> None:
    good = {"splits": [[0, 1]], "borders": [[0.5, 0.5]], "leaves": [[0.0, 1.0, 2.0, 3.0]]}
    assert ObliviousTrees.from_dict(good, 2).scores([[1.0, 1.0]]).tolist() == [3.0]
    for bad in (
        {**good, "splits": [[0, 2]]},  # a feature the model does not have
        {**good, "leaves": [[0.0, 1.0]]},  # too few leaves for the depth
        {**good, "borders": [[0.5]]},
    ):
        with pytest.raises(RagError, match="refit"):
            ObliviousTrees.from_dict(bad, 2)
    with pytest.raises(ValueError):
        ObliviousTrees.from_dict(good, 2).scores([[1.0]])


def test_question_analysis(seed_assistant: rag.Assistant) -> None:
    gen = seed_assistant._state.generation
    weights = TermWeights(gen)

    def query(q: str):
        return analyze(q, gen.tokenizer.tokenize(q), weights)

    q = query("全会提出了哪“五个坚持”？")
    assert q.wants_list and q.numbered == (5, "坚持")
    assert query("劳动合同法第三十九条规定了什么？").article == "第三十九条"
    assert query("上海城市精神是甚么？").defined  # the Traditional question word, folded
    # 天气 is a content word no document holds; 文件 only names the kind of answer.
    assert "天气" in query("今天上海的天气怎么样？").missing
    assert "文件" not in query("全会审议通过了什么文件？").missing


def test_lead_in_is_quoted_with_its_items(policy: rag.Assistant) -> None:
    answer = policy.answer("城市软实力建设包括哪些事项？")
    assert answer.found, answer.markdown
    quote = answer.quotes[0]
    assert quote.text.startswith("第四条") and "（三）优化创新创业生态" in quote.text
    assert quote.last_paragraph > quote.paragraph
    assert verify_quote(quote, policy._state.generation) == quote
    assert "第四条" in quote.citation
    # One block quote in the Markdown, every item in it.
    assert "> （二）提升文化品位" in answer.markdown


def test_article_by_number(policy: rag.Assistant) -> None:
    # The title without its place (上海市…办法) names the regulation.
    answer = policy.answer("城市软实力建设促进办法第五条规定了什么？")
    assert answer.found, answer.markdown
    assert answer.quotes[0].text.startswith("第五条")


def test_quote_outside_its_paragraphs_is_dropped(policy: rag.Assistant) -> None:
    gen = policy._state.generation
    quote = policy.answer("城市软实力建设包括哪些事项？").quotes[0]
    import dataclasses

    assert verify_quote(dataclasses.replace(quote, last_paragraph=0), gen) is None


def test_common_words_do_not_make_an_answer(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("今天上海的天气怎么样？")
    assert not answer.found, answer.markdown


def test_confidence_auroc() -> None:
    assert confidence_auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert confidence_auroc([0.1], [0.9]) == 0.0
    assert confidence_auroc([0.5], [0.5]) == 0.5
    assert confidence_auroc([], [0.5]) is None


def test_cites_article() -> None:
    c = "《中华人民共和国劳动合同法》第四章 第三十九条"
    assert cites_article(c, "中华人民共和国劳动合同法", "第三十九条")
    assert not cites_article(c, "中华人民共和国劳动法", "第三十九条")
    assert not cites_article(
        "《中华人民共和国刑法》第二百九十一条之一", "中华人民共和国刑法", "第二百九十一条"
    )
    assert not cites_article("《X法》第一百一十四条", "X法", "第十四条")
    # Law-style citations (main's parser) run on into the 款 and 项.
    assert cites_article("《X法》第三十九条第（二）项", "X法", "第三十九条")
    assert cites_article("《X法》第二编第三章第十四条第一款", "X法", "第十四条")


def test_manifest_records_the_selection_model(policy: rag.Assistant) -> None:
    selection = policy._state.generation.manifest["selection"]
    assert selection["version"] == default_model().version
    assert selection["trained_on"]


def _candidate(doc: Document, first: int, last: int, end: int | None = None) -> Candidate:
    start = doc.paragraph(first).start
    stop = doc.paragraph(last).end if end is None else end
    return Candidate(0, 0, 0, start, stop, first, last, "list", 0.0, 1.0)


def test_whole_article_feature_on_a_statute() -> None:
    (doc,) = load_documents(FIXTURES / "statute_excerpt.md").documents
    first = next(p for p in doc.paragraphs if doc.text[p.start :].startswith("第十三条"))
    article = [p for p in doc.paragraphs if p.section == first.section]
    n, m = article[0].number, article[-1].number
    assert m - n == 4  # lead-in, three items, the second 款
    assert whole_article(doc, _candidate(doc, n, m))
    assert not whole_article(doc, _candidate(doc, n, m - 1))  # the second 款 left out
    assert not whole_article(doc, _candidate(doc, n + 1, m))  # starts at an item
    assert not whole_article(doc, _candidate(doc, n, m, end=article[-1].end - 3))


def test_report_candidates_learn_of_the_official_text_saying_the_same() -> None:
    width = len(FEATURES) - len(RELATIVE)
    official, cov = FEATURES.index("authoritative"), FEATURES.index("coverage")
    echo, alt = FEATURES.index("official_echo"), FEATURES.index("official_alt")

    def row(authoritative: bool, coverage: float) -> list[float]:
        r = [0.0] * width
        r[official], r[cov] = float(authoritative), coverage
        return r

    rows = with_context(
        [row(True, 0.5), row(False, 0.5), row(False, 0.9)],
        ["海纳百川、追求卓越", "海纳百川、追求卓越的城市精神", "城市品格"],
    )
    assert rows[0][echo] == rows[0][alt] == 0.0  # the official candidate itself
    assert rows[1][echo] == pytest.approx(8 / 13) and rows[1][alt] == 1.0
    assert rows[2][echo] == 0.0 and rows[2][alt] == 0.0  # covers more of the question
    # Without an official candidate nothing changes.
    alone = with_context([row(False, 0.5)], ["城市品格"])
    assert alone[0][echo] == alone[0][alt] == 0.0


def test_absolute_model_is_read_and_optional(seed_assistant: rag.Assistant) -> None:
    data = json.loads((Path(rag.__file__).parent / "data" / "selection_model.json").read_text())
    # The shipped ranker is pairwise: it carries the pointwise (absolute) model, both pairs.
    shipped = SelectionModel.from_dict(data)
    assert shipped.absolute is not None and shipped.absolute.features == FEATURES
    assert shipped.dense is not None and shipped.dense.absolute is not None
    # An artifact without one reads None; with the ranker itself as the absolute model the
    # confidence is computed from it, with the same result as from the ranker's scores.
    data = {k: v for k, v in data.items() if k not in ("absolute", "dense")}
    assert SelectionModel.from_dict(data).absolute is None
    data["absolute"] = data["ranker"]
    model = SelectionModel.from_dict(data)
    selector = seed_assistant._state.selector
    question = "上海的城市精神是什么？"
    tokens = seed_assistant._state.generation.tokenizer.tokenize(question)
    examined = selector.examine(question, tokens, 5, rag.settings.RetrievalMode.LEXICAL)
    assert examined is not None and examined.candidates
    plain = SelectionModel.from_dict({k: v for k, v in data.items() if k != "absolute"})
    scored = rank_candidates(
        [plain.ranker.probability(f) for f in examined.features], examined.candidates
    )
    query = examined.query
    assert selector.confidence_features(query, scored, examined, model) == pytest.approx(
        selector.confidence_features(query, scored, examined, plain)
    )


def test_candidates_of_one_kind_have_their_spans_never_read() -> None:
    """with_context reads the candidates' texts only to compare a report with an official
    text: a corpus of one kind (every law, every CMRC article) folds no span for it."""
    width = len(FEATURES) - len(RELATIVE)
    official = FEATURES.index("authoritative")

    class Unread(list):
        def __getitem__(self, n):  # type: ignore[no-untyped-def]
            raise AssertionError("a span was read")

    for authoritative in (0.0, 1.0):
        rows = [[0.0] * width for _ in range(3)]
        for r in rows:
            r[official] = authoritative
        assert with_context(rows, Unread(["甲", "乙", "丙"])) == rows


def test_enumeration_runs_span_the_parallel_clauses() -> None:
    from rag.answering.candidates import enumeration_runs

    text = (
        "全市要以创新为引领，让核心价值凝心铸魂、让文化魅力竞相绽放、让现代治理引领未来，"
        "形成生动图景。"
    )
    runs = enumeration_runs(text, 0, len(text), "让", 3)
    assert [text[s:e] for s, e in runs] == [
        "让核心价值凝心铸魂、让文化魅力竞相绽放、让现代治理引领未来"
    ]
    assert enumeration_runs(text, 0, len(text), "让", 4) == []  # fewer items than asked


def test_numbered_slogan_is_answered_by_its_enumeration(seed_assistant: rag.Assistant) -> None:
    # The report names “六个让” (a mention sharing every word of the question); the resolution
    # enumerates them, sharing no word but the stopword 让, in a sentence cut across passages.
    selector = seed_assistant._state.selector
    found = selector.candidates.enumerating(6, "让")
    gen = seed_assistant._state.generation
    assert found, "the enumeration of 六个让 is not found"
    passage, _, start, end = found[0]
    text = gen.documents[gen.chunks[passage].doc_id].text[start:end]
    assert text.startswith("让核心价值凝心铸魂") and text.endswith("让天下英才近悦远来")
    answer = seed_assistant.answer("“六个让”具体指什么？")
    assert answer.found, answer.markdown
    assert "让核心价值凝心铸魂" in answer.quotes[0].text
    assert verify_quote(answer.quotes[0], gen) == answer.quotes[0]


def test_dateline_is_quotable_and_cited_as_its_note(seed_assistant: rag.Assistant) -> None:
    gen = seed_assistant._state.generation
    doc = next(d for d in gen.documents.values() if d.title == "十一届市委十一次全会决议")
    notes = [p for p in doc.paragraphs if p.role == "dateline"]
    assert [doc.text[p.start : p.end] for p in notes] == [
        "(2021年6月22日中国共产党上海市第十一届委员会第十一次全体会议通过)"
    ]
    from rag.citations import cite

    assert cite(doc, notes[0].number) == "《十一届市委十一次全会决议》题注"
    # Body paragraphs keep their numbers 1..n.
    assert [p.number for p in doc.body_paragraphs] == list(range(1, len(doc.body_paragraphs) + 1))


def test_second_and_third_passages_always_reach_the_shortlist(
    seed_assistant: rag.Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.answering import candidates

    selector = seed_assistant._state.selector
    tokenizer = seed_assistant._state.generation.tokenizer
    questions = ["上海的城市精神是什么？", "全会由谁主持？", "城市软实力的内涵是什么？"]

    def missing() -> int:
        # Passages 2 and 3 of the ranking that yield no candidate.
        absent = 0
        for question in questions:
            tokens = tokenizer.tokenize(question)
            examined = selector.examine(question, tokens, 5, rag.settings.RetrievalMode.LEXICAL)
            assert examined is not None and len(examined.ranked) >= 3
            have = {c.passage for c in examined.candidates}
            absent += sum(r.index not in have for r in examined.ranked[1:3])
        return absent

    assert missing() == 0
    # Without it, the first passage's sentences fill the shortlist for some of them.
    monkeypatch.setattr(candidates, "DIVERSE_PASSAGES", 0)
    assert missing() > 0


def test_a_noun_pointing_at_the_document_is_not_searched_for() -> None:
    from rag.answering.analysis import without_pointed

    assert without_pointed("这份文件的文号是什么?", ["这份", "文件", "文号"]) == (
        "的文号是什么?",
        ["这份", "文号"],
    )
    # Nothing else to search for: the question stays as asked; no pointing noun: unchanged.
    assert without_pointed("这份文件", ["文件"]) == ("这份文件", ["文件"])
    assert without_pointed("文件的文号是什么?", ["文件", "文号"]) == (
        "文件的文号是什么?",
        ["文件", "文号"],
    )


def test_a_word_the_documents_lack_is_read_as_the_words_they_hold() -> None:
    from rag.answering.analysis import split_absent
    from rag.tokenization import Tokenizer

    subwords = Tokenizer().subwords
    assert subwords("抄送单位") == ["抄送", "单位"]
    held = {"抄送", "单位", "天气", "名单", "通知"}.__contains__
    # 抄送单位 is one word to jieba; the documents print 抄送 and 单位.
    assert split_absent(["抄送单位", "通知"], held, subwords) == ["抄送", "单位", "通知"]
    # A part the question already has is not added twice.
    assert split_absent(["单位", "抄送单位"], held, subwords) == ["单位", "抄送"]
    # Not wholly made of held words (no 预报): the word stays whole for refusal to weigh;
    # a held word, a two-character word and a non-Chinese token are never split.
    for tokens in (["天气预报"], ["抄送", "单位"], ["名单"], ["GDP2023"]):
        assert split_absent(tokens, held, subwords) is tokens


def test_an_absent_word_jieba_cut_across_a_held_word_is_read_as_it() -> None:
    from rag.answering.analysis import join_absent
    from rag.tokenization import Tokenizer

    tokenizer = Tokenizer()
    question = "这份文件抄送给了哪些单位？"
    tokens = tokenizer.tokenize(question)
    assert tokens == ["文件", "抄", "送给", "单位"]  # jieba: 抄 / 送给 / 了
    assert tokenizer.is_word("抄送") and not tokenizer.is_word("送抄")
    held = {"文件", "抄送", "单位", "送达"}.__contains__
    stop = tokenizer.stopwords
    # 抄 and 送给 are held by no passage; 抄送 crosses them and leaves of 送给 only 给.
    assert join_absent(question, tokens, held, tokenizer.is_word, stop) == [
        "文件",
        "抄送",
        "单位",
    ]
    # A held token is never replaced, even when a held word crosses it.
    both = {"文件", "抄", "送给", "抄送", "单位"}.__contains__
    assert join_absent(question, tokens, both, tokenizer.is_word, stop) is tokens
    # An absent word no held word crosses stays, for refusal to weigh.
    for question in ("今天天气预报怎么样？", "张三丰是谁？"):
        tokens = tokenizer.tokenize(question)
        assert join_absent(question, tokens, held, tokenizer.is_word, stop) is tokens
    # The crossing word must leave of the token only stopwords: 送达 crosses nothing here,
    # and 抄送 does not replace 送货 (货 is not a stopword).
    tokens = ["抄", "送货"]
    assert join_absent("抄送货", tokens, held, tokenizer.is_word, stop) == ["抄送", "送货"]


def test_money_the_documents_never_call_so_is_searched_in_yuan() -> None:
    from rag.answering.analysis import money_for_absent

    held = {"请示", "申请", "万元", "元"}.__contains__
    asked = "请示申请多少钱?"
    assert money_for_absent(asked, ["请示", "申请", "钱"], held) == ["请示", "申请", "万元", "元"]
    # A corpus that says 钱, a question without it, no unit of money held, or 钱 that is not
    # the amount asked for: unchanged.
    for question, tokens, holds in (
        (asked, ["申请", "钱"], {"钱", "万元"}.__contains__),
        ("申请多少经费?", ["申请", "经费"], held),
        (asked, ["申请", "钱"], {"申请"}.__contains__),
        ("借了我的钱多长时间内起诉?", ["借", "钱", "起诉"], held),
    ):
        assert money_for_absent(question, tokens, holds) is tokens


def test_a_request_asked_how_much_money_quotes_the_amount(tmp_path: Path) -> None:
    """请示申请多少钱: the 请示 states 2500万元 and never 钱; the sentence asking for it is
    quoted, not the title that shares the question's 申请 and 请示."""
    source, index = tmp_path / "src", tmp_path / "idx"
    source.mkdir()
    (source / "请示.txt").write_text(
        "关于申请拨付2024年澜江支流综合整治工程经费的请示\n\n市人民政府：\n\n"
        "一、项目基本情况\n\n澜江支流综合整治工程是规划确定的重点工程之一，具备开工条件。\n\n"
        "二、资金需求\n\n经评审，工程总投资为5860万元，尚有资金缺口2500万元。"
        "为确保工程按期开工，特申请市级财政拨付专项经费2500万元。\n\n"
        "妥否，请批示。\n\n澜州市生态环境局\n2024年3月18日\n",
        encoding="utf-8",
    )
    rag.build_index(source, index, model="none", workers=1)
    answer = rag.load(index, model="none").answer("请示申请多少钱？")
    assert answer.found and "特申请市级财政拨付专项经费2500万元" in answer.quotes[0].text


def test_a_question_whom_a_document_is_sent_to_searches_its_addressee() -> None:
    from rag.answering.analysis import with_addressee_terms

    asked: list[int] = []

    def terms() -> tuple[str, ...]:
        asked.append(1)
        return ("发给",)

    # 报给谁: 报 is read as the 主送机关 (searched and analysed by what it is called).
    assert with_addressee_terms("这份请示报给谁？", ["请示", "报"], terms) == (
        ["请示", "报", "发给"],
        ["请示", "发给"],
    )
    # 主送哪个单位 (jieba: 主 / 送): the 单位 asked for is the one the line names.
    assert with_addressee_terms("主送哪个单位？", ["主", "送", "单位"], terms) == (
        ["主", "送", "单位", "发给"],
        ["发给"],
    )
    # Not asking whom (报送的材料有哪些), 抄送给 (the 版记's copies), or no 主送机关 in the
    # corpus: unchanged, and the corpus is asked only for a question that is about it.
    asked.clear()
    for question, tokens in (
        ("报送的材料有哪些？", ["报送", "材料"]),
        ("抄送给谁？", ["抄", "送给"]),
    ):
        assert with_addressee_terms(question, tokens, terms) == (tokens, tokens)
    assert asked == []
    assert with_addressee_terms("报给谁？", ["报"], tuple) == (["报"], ["报"])


def test_a_question_about_who_gave_a_speech_searches_its_byline() -> None:
    from rag.answering.analysis import with_speaker_terms

    held = {"署名"}.__contains__
    # The verb of speaking is what the 署名 names; the speech's own word stays to decide.
    assert with_speaker_terms("讲话是谁作的?", ["讲话", "作"], held) == (
        ["讲话", "作", "署名"],
        ["讲话", "署名"],
    )
    # Not about a speech or a report, not asking who, or no official speaker in the corpus.
    for question, tokens in (
        ("这个决定是谁作的?", ["决定", "作"]),
        ("讲话作了哪些部署?", ["讲话", "作", "部署"]),
    ):
        assert with_speaker_terms(question, tokens, held) == (tokens, tokens)
    tokens = ["讲话", "作"]
    assert with_speaker_terms("讲话是谁作的?", tokens, lambda t: False) == (tokens, tokens)


def test_a_question_about_who_wrote_a_report_or_took_its_pictures_searches_the_credit() -> None:
    from rag.answering.analysis import with_credit_terms

    parts = {"byline": ("作者",), "credit": ("摄影", "拍摄")}
    asked: list[str] = []

    def terms(role: str) -> tuple[str, ...]:
        asked.append(role)
        return parts[role]

    # Who wrote it: the verb of writing is what the 署名 names, and the report is the
    # document pointed at (its subtitle ——…全会侧记 is no answer).
    assert with_credit_terms("侧记是哪几位记者写的？", ["侧记", "记者", "写"], terms) == (
        ["记者", "写", "作者"],
        ["作者"],
    )
    # Who took the picture: the verb and the picture are what the credit names.
    assert with_credit_terms("照片是谁拍的？", ["照片", "拍"], terms) == (
        ["照片", "拍", "摄影", "拍摄"],
        ["摄影", "拍摄"],
    )
    assert with_credit_terms("这组照片的作者是谁？", ["组", "照片", "作者"], terms) == (
        ["组", "照片", "作者", "摄影", "拍摄"],
        ["组", "摄影", "拍摄"],
    )
    assert asked == ["byline", "credit", "credit"]
    # What a picture shows is its caption's text; a remark is no credit; no question word.
    for question, tokens in (
        ("照片里发言的市委委员有谁？", ["照片", "发言", "市委委员"]),
        ("陈鸣波认为要把上海打造成什么？", ["陈鸣波", "认为", "上海", "打造"]),
        ("记者写了什么？", ["记者", "写"]),
    ):
        assert with_credit_terms(question, tokens, terms) == (tokens, tokens)
    # No document of the corpus has such a part.
    tokens = ["照片", "拍"]
    assert with_credit_terms("照片是谁拍的？", tokens, lambda role: ()) == (tokens, tokens)


def test_who_wrote_the_report_and_who_took_its_pictures(seed_assistant: rag.Assistant) -> None:
    # The side report's byline and its pictures' credits, each cited by what it is.
    answer = seed_assistant.answer("这篇侧记的作者是谁？")
    assert answer.found
    assert answer.quotes[0].text == "■本报记者 顾一琼 唐玮婕 陆益峰 王嘉旸"
    assert answer.quotes[0].citation.endswith("署名")
    answer = seed_assistant.answer("照片是谁拍摄的？")
    assert answer.found
    assert {q.text for q in answer.quotes} >= {"均本报记者 叶辰亮摄", "均本报记者 袁剑摄"}
    assert all(q.citation.endswith("图片说明") for q in answer.quotes)
    # What a picture shows: its caption.
    answer = seed_assistant.answer("照片里发言的市委委员有谁？")
    assert answer.found
    assert "庄木弟、沈炜、杭迎伟、贺东风、陈虹" in answer.quotes[0].text


def test_a_question_about_who_issued_the_document_searches_its_signature() -> None:
    from rag.answering.analysis import issue_terms, with_issue_terms

    held = {"落款", "署名", "成文", "日期"}.__contains__
    # Who: the verb and the organ asked for are what the 落款 names.
    assert with_issue_terms("通知是哪个部门印发的?", ["通知", "部门", "印发"], held) == (
        ["通知", "部门", "印发", "落款", "署名"],
        ["通知", "落款"],
    )
    # When: the date's name is searched too; the question's own words are kept.
    assert with_issue_terms("这份通知是什么时候发的?", ["通知", "时候", "发"], held) == (
        ["通知", "时候", "发", "落款", "成文", "日期"],
        ["通知", "时候", "落款"],
    )
    # Signed: an order's 落款 is its signer's post and name.
    assert with_issue_terms("决定是谁签署的?", ["决定", "签署"], held) == (
        ["决定", "签署", "落款", "署名"],
        ["决定", "落款"],
    )
    # A corpus without a 落款 searches the question as it is.
    tokens = ["通知", "部门", "印发"]
    assert with_issue_terms("通知是哪个部门印发的?", tokens, lambda t: False) == (tokens, tokens)
    # Not a question about issuing: jieba's 爆发 and 头发 are other words; 发给 asks for
    # the addressee (主送机关); no question word asks for the issuer or a date.
    assert issue_terms("战役在哪一年爆发?", ["战役", "一年", "爆发"]) == ()
    assert issue_terms("这份通知是发给谁的?", ["通知", "发给"]) == ()
    assert issue_terms("通知印发了什么?", ["通知", "印发"]) == ()


def test_a_title_word_stands_for_the_words_that_spell_it() -> None:
    from rag.answering.candidates import tiling

    # The fewest inner words that make the word up end to end, in order; never an inner
    # word across two of them (民政 of 人民政府), nothing when some character is left over.
    assert tiling("人民政府", ["人民", "民政", "政府"]) == ["人民", "政府"]
    assert tiling("会议纪要", ["会议", "纪要"]) == ["会议", "纪要"]
    assert tiling("第一季度", ["第一", "第一季", "一季", "一季度", "季度"]) == ["第一", "季度"]
    assert tiling("嵌入式", ["嵌入"]) == []
    assert tiling("政府", []) == []
