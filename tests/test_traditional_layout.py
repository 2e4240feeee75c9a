"""Documents written in Traditional characters get the layout their Simplified twins get:
the same documents, heads (byline, document number, signature), headings, numbered items and
repairs, with every text, title and citation in the document's own characters."""

from __future__ import annotations

import shutil
from pathlib import Path

import opencc
import pytest

import rag
from rag.citations import cite
from rag.parsing import load_documents
from rag.parsing.script import Restorer
from rag.schema import Document
from rag.textnorm import fold_chars

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SEED = ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt"
S2T = opencc.OpenCC("s2t")


def layout(doc: Document) -> list[tuple[object, ...]]:
    """What the parser decided, in characters that do not depend on the script."""
    return [
        (p.role, p.source_lines, tuple(fold_chars(s.label) for s in p.section), len(p.sentences))
        for p in doc.paragraphs
    ]


def both_scripts(source: Path, tmp_path: Path) -> tuple[list[Document], list[Document]]:
    converted = tmp_path / source.name
    converted.write_text(S2T.convert(source.read_text(encoding="utf-8")), encoding="utf-8")
    return load_documents(source).documents, load_documents(converted).documents


@pytest.mark.parametrize(
    "source",
    [SEED]
    + [
        FIXTURES / name
        for name in (
            "official_notice.txt",
            "official_attachment.txt",
            "official_gazette.txt",
            "policy_numbered.md",
            "statute_excerpt.md",
            "statute_other.md",
            "statute_contents.txt",
        )
    ],
    ids=lambda p: p.stem,
)
def test_the_same_layout_in_either_script(source: Path, tmp_path: Path) -> None:
    simplified, traditional = both_scripts(source, tmp_path)
    assert [d.kind for d in traditional] == [d.kind for d in simplified]
    for simp, trad in zip(simplified, traditional, strict=True):
        assert layout(trad) == layout(simp)
        assert [h.role for h in trad.headings] == [h.role for h in simp.headings]
        assert [r.kind for r in trad.repairs] == [r.kind for r in simp.repairs]
        assert trad.date == simp.date
        # Every text in the document's own characters: the Traditional text is the
        # conversion of the Simplified one, character for character.
        assert trad.text == S2T.convert(simp.text)
        assert trad.title == S2T.convert(simp.title)
        assert trad.metadata == tuple(S2T.convert(m) for m in simp.metadata)


def test_a_traditional_web_page_has_the_layout_of_its_simplified_twin(tmp_path: Path) -> None:
    # A 政府信息公开 page: its breadcrumb (當前位置：首頁 > …) is site navigation as 首页 is,
    # its 發文字號 row above the title is text, the 发文字号 under it the document's number.
    (simp,), (trad,) = both_scripts(FIXTURES / "official_page.html", tmp_path)
    assert layout(trad) == layout(simp)
    assert trad.text == S2T.convert(simp.text)
    assert not [h for h in trad.headings if fold_chars(h.text).startswith("首页")]
    number = [trad.text[p.start : p.end] for p in trad.paragraphs if p.role == "docnumber"]
    assert number == ["國辦發〔2021〕18號"]


def test_a_traditional_report_keeps_its_byline_and_joined_word(tmp_path: Path) -> None:
    _, (resolution, report) = both_scripts(SEED, tmp_path)
    byline = [report.text[p.start : p.end] for p in report.paragraphs if p.role == "byline"]
    assert byline == ["■本報記者 顧一瓊 唐瑋婕 陸益峯 王嘉暘"]
    # 要強 | 化全社會廣泛參與: the word 強化 runs over the break, so the lines are one paragraph.
    texts = [resolution.text[p.start : p.end] for p in resolution.paragraphs]
    assert any("要強化全社會廣泛參與" in text for text in texts)
    assert [r.kind for r in resolution.repairs] == ["joined"]
    assert "強化" in resolution.repairs[0].detail
    assert cite(report, next(p.number for p in report.paragraphs if p.role == "byline")).startswith(
        "《發揮軟實力"
    )


def test_a_traditional_notice_cites_its_number_and_signature(tmp_path: Path) -> None:
    _, (notice,) = both_scripts(FIXTURES / "official_notice.txt", tmp_path)
    assert notice.kind == "notice"
    assert notice.title == "上海市人民政府辦公廳關於做好城市軟實力建設重點工作的通知"
    number = next(p.number for p in notice.paragraphs if p.role == "docnumber")
    assert notice.text[notice.paragraph(number).start : notice.paragraph(number).end] == (
        "滬府辦發〔2021〕12號"
    )
    assert cite(notice, number) == f"《{notice.title}》發文字號"


def test_the_restorer_cuts_parsed_text_from_the_original() -> None:
    original = "第一條　總則\n要強\n化全社會參與，以後再議。"
    restorer = Restorer.of(original)
    assert restorer is not None and restorer.folded == fold_chars(original)
    assert len(restorer.folded) == len(original)
    # A block joined over a line break (the break taken out) and a run of a single line.
    assert restorer.block("要强化全社会参与，以后再议。", (2, 3)) == "要強化全社會參與，以後再議。"
    assert restorer.block("总则", (1,)) == "總則"
    # Text from outside the given lines is found in the whole file.
    assert restorer.block("以后再议", (1,)) == "以後再議"
    # A Simplified text is parsed as it is.
    assert Restorer.of("第一条 总则") is None


MINUTES = """江州市人民政府常務會議紀要

第12期

江州市人民政府辦公廳　　　　　　2024年5月22日

2024年5月20日上午，市長李明主持召開市政府常務會議。紀要如下：

一、關於今年防汛工作

會議聽取了市水務局關於防汛準備工作情況的匯報。

出席：李明、王建國、陳曉紅

請假：孫立新（出差）

列席：市政府秘書長張偉，市水務局、市應急局主要負責同志

分送：市委辦公廳，市人大常委會辦公廳。
"""


@pytest.mark.parametrize("script", ["traditional", "simplified"])
def test_the_head_and_the_attendance_of_minutes(script: str, tmp_path: Path) -> None:
    text = MINUTES if script == "traditional" else fold_chars(MINUTES)
    path = tmp_path / "minutes.txt"
    path.write_text(text, encoding="utf-8")
    (doc,) = load_documents(path).documents
    lines = text.split("\n")
    # 第12期 and the issuer with the date under the title are marks of the head (版头), the
    # date the document's; 出席/請假/列席 are text after the numbered items, in no section.
    marks = [doc.text[p.start : p.end] for p in doc.paragraphs if p.role == "docmark"]
    assert marks == [lines[2], lines[4]]
    assert doc.date == "2024-05-22"
    assert [h.text for h in doc.headings if h.role == "section"] == [lines[8]]
    attendance = [p for p in doc.paragraphs if p.source_lines[0] in (13, 15, 17)]
    assert [(p.role, p.section) for p in attendance] == [("body", ())] * 3
    assert [doc.text[p.start : p.end] for p in attendance] == [lines[12], lines[14], lines[16]]
    assert cite(doc, attendance[1].number) == f"《{lines[0]}》第{attendance[1].number}段"
    assert [r for r in doc.repairs if r.kind == "fragment_flagged"] == []


def test_article_labels_in_arabic_digits_are_keyed_as_chinese_numerals() -> None:
    from rag.schema import article_key, chinese_number

    assert [chinese_number(n) for n in (1, 10, 12, 105, 110, 1000, 2001)] == [
        "一",
        "十",
        "十二",
        "一百零五",
        "一百一十",
        "一千",
        "二千零一",
    ]
    assert article_key("第1條") == "第一条"
    assert article_key("第22-1條") == "第二十二条之一"
    assert article_key("第三十九條") == "第三十九条"  # Chinese numerals as they are
    assert article_key("第3章") == "第三章"


def test_a_taiwan_law_numbered_in_arabic_digits_has_articles(tmp_path: Path) -> None:
    # Taiwan's laws write 第 1 條 / 第 22-1 條 / 第 一 章 with spaces and Arabic digits: each
    # is an article (or chapter) and cited as its label without the spaces, in the law's own
    # characters; a question asking for 第22-1條 gets that article.
    fixture = Path(__file__).parent / "fixtures" / "taiwan_labor_standards.txt"
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(fixture, source / "勞動基準法.txt")
    (doc,) = load_documents(source).documents
    first = doc.body_paragraphs[0]
    assert [ref.label for ref in first.section if ref.label] == ["第一章", "第1條"]
    # Its paragraphs are named as Taiwan names them: 項 (the mainland's 款).
    assert cite(doc, first.number) == "《勞動基準法》第1條第一項"
    last = doc.body_paragraphs[-1]
    assert cite(doc, last.number) == "《勞動基準法》第22-1條"
    assert last.section[-1].label == "第22-1條" and last.section[-1].key == "第二十二条之一"
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    for question, label in (("第22-1條是什麼內容？", "第22-1條"), ("第16條規定了什么？", "第16條")):
        answer = assistant.answer(question)
        assert answer.found, question
        assert answer.quotes[0].citation == f"《勞動基準法》{label}", question


def _one_law(tmp_path: Path, fixture: str) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(FIXTURES / fixture, source / fixture)
    return source


def test_a_law_database_header_gives_the_title_and_the_date(tmp_path: Path) -> None:
    # law.moj.gov.tw opens a law's text with its fields (法規名稱：…, 修正日期：民國 112 年…,
    # 生效狀態：…, 法規類別：…): the name is the title, the date line dates the law (民國 112
    # is 2023) and is kept verbatim as its 题注, the other fields are the 版头; none of them
    # is a heading or a body paragraph, and the law is a law.
    corpus = load_documents(_one_law(tmp_path, "taiwan_law_header.txt"))
    (doc,) = corpus.documents
    assert doc.title == "職場照顧假促進法"
    assert doc.kind == "law"
    assert doc.date == "2023-06-21"
    assert doc.history == ("修正日期：民國 112 年 06 月 21 日",)
    marks = [h.text for h in doc.headings if h.role == "docmark"]
    assert marks == [
        "生效狀態：※本法規部分或全部條文尚未生效",
        "法規類別：行政 > 勞動部 > 勞動條件及就業平等目",
    ]
    assert not any("日期" in h.text for h in doc.headings if h.role == "section")
    from rag.parsing.news import date_of

    assert date_of("公布日期：2021-06-10") == "2021-06-10"  # a database's ISO date too
    first = doc.body_paragraphs[0]
    # The article's number stays apart from its text, as 第一条　… does.
    assert doc.text[first.start : first.end].startswith("第 1 條　為保障受僱者")
    # ...and the report says the space is the parser's, not the file's.
    joins = [r.detail for r in corpus.repairs if r.kind == "joined" and "第 1 條" in r.detail]
    assert joins and joins[0].endswith("joined with a full-width space after the number")


def test_a_law_database_page_is_titled_without_the_site_name(tmp_path: Path) -> None:
    # The page's <title> is 廢棄電子產品回收條例-全國法規資料庫 and the page prints the name
    # alone: that is the title; the articles numbered 第 N 條 over their text make it a
    # statute (an 條例), dated by its 修正日期 row.
    (doc,) = load_documents(_one_law(tmp_path, "taiwan_law_page.html")).documents
    assert doc.title == "廢棄電子產品回收條例"
    assert doc.kind == "administrative_regulation" and doc.genre == "statute"
    assert doc.date == "2024-01-10"
    article = next(p for p in doc.body_paragraphs if p.section[-1].label == "第12-1條")
    assert cite(doc, article.number) == "《廢棄電子產品回收條例》第12-1條第一項"


@pytest.mark.parametrize(
    ("question", "article", "among"),
    [
        ("第五條規定了什麼？", "第5條", 1),
        ("第五条规定了什么？", "第5條", 1),
        ("第5條規定了什麼？", "第5條", 1),
        ("第 5 條規定了什麼？", "第5條", 1),
        ("第 6-1 條規定了什麼？", "第6-1條", None),
        ("第6條之1規定了什麼？", "第6-1條", None),
        ("第6-1條是什麼內容？", "第6-1條", None),
    ],
)
def test_an_article_printed_in_digits_is_asked_for_in_either_numerals(
    question: str, article: str, among: int | None, law_header_index: Path
) -> None:
    # 第 5 條 is the article a question calls 第五條 (or 第五条, 第5條, 第 5 條): the first
    # quote; 第 6-1 條 the one it calls 第6條之1: among the quotes.
    answer = rag.load(law_header_index, model="none").answer(question)
    assert answer.found
    citations = [q.citation for q in answer.quotes]
    assert f"《職場照顧假促進法》{article}" in citations[:among]


@pytest.fixture(scope="module")
def law_header_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lexical index of the Taiwan law-database fixture, built once."""
    tmp_path = tmp_path_factory.mktemp("law_header")
    source = _one_law(tmp_path, "taiwan_law_header.txt")
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    return tmp_path / "index"


def test_a_hong_kong_ordinance_has_parts_over_its_sections(tmp_path: Path) -> None:
    # e-Legislation's 第 1 部　導言 is a Part of the ordinance, as 第一编 is of a mainland
    # law: it opens the path of the sections under it (第 4 條 and its (1), (2)); a section
    # is still cited by its own number.
    from format_samples import hk_ordinance_docx

    source = tmp_path / "src"
    source.mkdir()
    (source / "家務助理僱傭條例.docx").write_bytes(hk_ordinance_docx())
    (doc,) = load_documents(source).documents
    paths = [[r.label for r in p.section] for p in doc.body_paragraphs]
    assert ["第1部", "第1條"] in paths
    assert ["第2部", "第4條", "(2)"] in paths
    first = next(p for p in doc.body_paragraphs if p.section and p.section[-1].label == "(1)")
    assert cite(doc, first.number).startswith("《家務助理僱傭條例》第4條")


def test_taiwan_and_hong_kong_laws_are_cited_in_their_own_words(tmp_path: Path) -> None:
    # Taiwan: an article's paragraphs are 項, its items 一、 款, their items （一） 目; Hong
    # Kong: a section's subsections (1) are 款. A mainland law keeps 款 and 项 (other tests).
    source = _one_law(tmp_path, "taiwan_law_header.txt")
    (source / "taiwan_law_header.txt").write_text(
        (source / "taiwan_law_header.txt").read_text(encoding="utf-8")
        + "\n第 10 條\n本法用詞，定義如下：\n一、受僱者：指受雇主僱用從事工作獲致工資者。\n"
        "二、家庭成員：指下列之人：\n（一）配偶。\n（二）父母、子女。\n",
        encoding="utf-8",
    )
    (taiwan,) = load_documents(source).documents

    def cited(doc: Document, opening: str) -> str:
        para = next(p for p in doc.body_paragraphs if doc.text[p.start :].startswith(opening))
        return cite(doc, para.number)

    assert cited(taiwan, "雇主不得拒絕") == "《職場照顧假促進法》第5條第二項"
    assert cited(taiwan, "二、家庭成員") == "《職場照顧假促進法》第10條第二款"
    assert cited(taiwan, "（二）父母") == "《職場照顧假促進法》第10條第二款第（二）目"
    from format_samples import hk_ordinance_docx

    hk_source = tmp_path / "hk"
    hk_source.mkdir()
    (hk_source / "家務助理僱傭條例.docx").write_bytes(hk_ordinance_docx())
    (hk,) = load_documents(hk_source).documents
    assert cited(hk, "(2) 合約須列明") == "《家務助理僱傭條例》第4條第(2)款"
