"""Questions readers ask about laws: a law named by its short name (劳动合同法 for
《中华人民共和国劳动合同法》), an article looked up by number in the law named, numbers asked in
a unit (几次, 多少日内), and whether something is allowed (可以…吗)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rag
import rag.settings
from rag.answering.analysis import TermWeights, analyze, asked_units, states_unit
from rag.answering.naming import TitleNames, aliases
from rag.schema import Document

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def laws(tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    """Two statutes that both have a 第十三条 (a law and a regulation without 中华人民共和国)."""
    source = tmp_path_factory.mktemp("laws_src")
    for name in ("statute_excerpt.md", "statute_other.md"):
        shutil.copy(FIXTURES / name, source / name)
    index = tmp_path_factory.mktemp("laws_index")
    rag.build_index(source, index, model="none", workers=1)
    return rag.load(index, model="none")


def test_aliases_of_a_title() -> None:
    assert aliases("中华人民共和国劳动合同法") == {"中华人民共和国劳动合同法", "劳动合同法"}
    # Two characters name a law only as a law's short name; a revision note is dropped.
    assert "宪法" in aliases("中华人民共和国宪法（2018年修正）")
    assert "中华人民共和国宪法" in aliases("中华人民共和国宪法（2018年修正）")
    assert aliases("通知") == set()
    assert aliases("信访工作条例") == {"信访工作条例"}
    assert "城市软实力建设促进办法" in aliases("上海市城市软实力建设促进办法")
    assert aliases("上海市民的一天") == {"上海市民的一天"}  # not a regulation: no place dropped
    assert aliases("城市规划条例") == {"城市规划条例"}


def _doc(doc_id: str, title: str, kind: str) -> Document:
    return Document(doc_id=doc_id, title=title, kind=kind, text=title, paragraphs=())


def test_title_names_prefer_the_longest_name() -> None:
    docs = {
        d.doc_id: d
        for d in (
            _doc("labour", "中华人民共和国劳动法", "law"),
            _doc("contract", "中华人民共和国劳动合同法", "law"),
            _doc("code", "中华人民共和国民法典", "law"),
            _doc("code2", "中华人民共和国民法典", "law"),
            _doc("news", "劳动法实施三十年", "article"),  # a report's title names nothing
        )
    }
    names = TitleNames(docs)
    assert names.named("劳动合同法第三十九条规定了什么?") == ("contract",)
    assert names.named("劳动法和劳动合同法有什么不同?") == ("labour", "contract")
    assert names.named("《中华人民共和国民法典》第十条") == ("code", "code2")
    assert names.named("加班费怎么算?") == ()


def test_article_is_looked_up_in_the_law_the_question_names(laws: rag.Assistant) -> None:
    answer = laws.answer("示例法第十三条规定了什么？")
    assert answer.found, answer.markdown
    quote = answer.quotes[0]
    assert quote.citation.startswith("《中华人民共和国示例法》第十三条")
    assert quote.text.startswith("第十三条") and "（一）取得个人的同意；" in quote.text
    other = laws.answer("物业服务示例条例第十三条规定了什么？")
    assert other.found, other.markdown
    assert other.quotes[0].citation.startswith("《物业服务示例条例》第十三条")
    assert "（二）扣押业主的居民身份证。" in other.quotes[0].text


def test_an_article_of_a_rule_no_document_is_is_not_another_documents(
    laws: rag.Assistant,
) -> None:
    from rag.answering.analysis import names_a_rule

    # Both fixtures have a 第十三条; the question asks for another rule's (a 决定 amending it
    # would mention it): neither is quoted as that article.
    for question in (
        "出租汽车示例管理办法第十三条规定了什么？",
        "《江州市道路挖掘管理办法》第十三条是什么？",
    ):
        answer = laws.answer(question)
        assert not any(q.citation.endswith("第十三条") for q in answer.quotes), question
    # The document pointed at, or no rule named: looked up as before.
    assert names_a_rule("劳动合同法第三十九条规定了什么")
    assert not names_a_rule("本法第三条说了什么")
    assert not names_a_rule("第三十九条规定了什么")
    assert not names_a_rule("该条例第五条")
    assert laws.answer("第十三条规定了什么？").found


def test_units_asked_and_stated() -> None:
    assert asked_units("一般应当在受理之日起多少日内办结？")[:2] == ("日", "天")
    assert "年" in asked_units("最晚得在多长时间内去法院起诉？")
    assert asked_units("每年最多可以信访几次？") == ("次",)
    assert asked_units("全会由谁主持？") == ()
    assert states_unit("应当自受理之日起60日内办结", asked_units("多少日内办结？"))
    assert states_unit("诉讼时效期间为三年", asked_units("多长时间内起诉？"))
    assert not states_unit("代表人数不得超过5人", ("次",))
    assert not states_unit("自受理之日起办结", asked_units("多少日内办结？"))


def test_number_question_in_a_unit(laws: rag.Assistant) -> None:
    answer = laws.answer("业主委员会应当在多少日内选举？")
    assert answer.found, answer.markdown
    assert "30日内" in answer.quotes[0].text


def test_permission_questions(laws: rag.Assistant) -> None:
    gen = laws._state.generation
    weights = TermWeights(gen)

    def query(q: str):
        return analyze(q, gen.tokenizer.tokenize(q), weights)

    assert query("房东可以扣押我的居民身份证吗？").asks_permission
    assert query("物业公司能不能改变共用部位的用途？").asks_permission
    assert not query("业主委员会什么时候选举？").asks_permission


def test_passages_of_the_named_law_join_the_pool(laws: rag.Assistant) -> None:
    state = laws._state
    gen, selector = state.generation, state.selector
    question = "物业服务示例条例对居民身份证有什么规定？"
    tokens = gen.tokenizer.tokenize(question)
    examined = selector.examine(question, tokens, 5, rag.settings.RetrievalMode.LEXICAL)
    assert examined is not None and examined.query.named == ("statute_other",)
    named = selector.in_named(examined.query, tokens, question, None)
    assert named and all(gen.chunks[r.index].doc_id == "statute_other" for r in named)
    assert any(gen.chunks[c.passage].doc_id == "statute_other" for c in examined.candidates)
    # A question that names no law adds nothing.
    lexical = rag.settings.RetrievalMode.LEXICAL
    plain = selector.examine("居民身份证有什么规定？", tokens, 5, lexical)
    assert plain is not None and plain.query.named == ()
    assert selector.in_named(plain.query, tokens, "居民身份证有什么规定？", None) == []
