"""Official documents (公文) as plain text: the issuer's mark, the document number (发文字号),
the title, numbered items with their sub-items, and the signature with its date (落款), each
in its place and quotable, cited by what it is."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import rag
from rag.citations import cite
from rag.parsing import load_documents
from rag.parsing.blocks import is_bracketed_note
from rag.schema import Document

FIXTURE = Path(__file__).parent / "fixtures" / "official_notice.txt"
TITLE = "上海市人民政府办公厅关于做好城市软实力建设重点工作的通知"


@pytest.fixture(scope="module")
def notice() -> Document:
    (doc,) = load_documents(FIXTURE).documents
    return doc


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> rag.Assistant:
    source = tmp_path_factory.mktemp("notice_src")
    shutil.copy(FIXTURE, source / FIXTURE.name)
    index = tmp_path_factory.mktemp("notice_index")
    rag.build_index(source, index, model="none", workers=1)
    return rag.load(index, model="none")


def parse_one(tmp_path: Path, name: str, text: str) -> Document:
    """The one document of a plain-text file holding ``text``."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (doc,) = load_documents(path).documents
    return doc


def assistant_of(tmp_path: Path, name: str, text: str) -> rag.Assistant:
    """An assistant over a lexical index of one plain-text file holding ``text``."""
    source = tmp_path / "src"
    source.mkdir()
    (source / name).write_text(text, encoding="utf-8")
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    return rag.load(tmp_path / "index", model="none")


def role_texts(doc: Document, role: str) -> list[str]:
    return [doc.text[p.start : p.end] for p in doc.paragraphs if p.role == role]


def test_head_and_signature_are_recognised(notice: Document) -> None:
    assert notice.title == TITLE
    assert notice.kind == "notice"
    # 上海市人民政府办公厅文件 above the number is the issuer's mark, not the title.
    assert [(h.role, h.text) for h in notice.headings if h.role != "section"] == [
        ("title", TITLE),
        ("kicker", "上海市人民政府办公厅文件"),
        ("docnumber", "沪府办发〔2021〕12号"),
        ("addressee", "各区人民政府，市政府各委、办、局："),
        ("signature", "上海市人民政府办公厅\n2021年7月15日"),
        ("annotation", "（此件公开发布）"),
    ]
    assert role_texts(notice, "docnumber") == ["沪府办发〔2021〕12号"]
    assert role_texts(notice, "signature") == ["上海市人民政府办公厅\n2021年7月15日"]
    assert notice.date == "2021-07-15"
    # The note in brackets under the date is the 附注: quotable text, not metadata; no line
    # was taken for a broken sentence.
    assert role_texts(notice, "annotation") == ["（此件公开发布）"]
    assert cite(notice, role_paragraph(notice, "annotation")) == f"《{TITLE}》附注"
    assert notice.metadata == ()
    assert notice.repairs == ()
    # A numbered heading on its own line is a heading, not the start of the next paragraph.
    assert [h.text for h in notice.headings if h.role == "section"] == [
        "一、工作目标",
        "二、重点任务",
        "三、工作要求",
    ]
    assert notice.body_paragraphs[-1].section[0].label == "三、"
    assert notice.text[notice.body_paragraphs[-1].start :].startswith("各区、各部门要于")


def test_document_number_under_the_title(tmp_path: Path) -> None:
    doc = parse_one(
        tmp_path,
        "opinion.txt",
        "国务院办公厅关于推进城市文化建设的指导意见\n国办发〔2021〕18号\n\n"
        "各省、自治区、直辖市人民政府：\n现提出以下意见。\n\n"
        "一、总体要求\n（一）指导思想。推动城市文化繁荣发展。\n\n"
        "国务院办公厅\n2021年6月30日\n",
    )
    assert doc.title == "国务院办公厅关于推进城市文化建设的指导意见"
    assert doc.kind == "opinion"  # read from the title, not from the title and number
    assert role_texts(doc, "docnumber") == ["国办发〔2021〕18号"]
    assert role_texts(doc, "signature") == ["国务院办公厅\n2021年6月30日"]
    assert doc.date == "2021-06-30"


def test_a_signer_line_under_the_number_belongs_to_it(tmp_path: Path) -> None:
    """A 请示's 版头 as a Word file sets it (the issuer's mark, the 文号, 签发人 in a
    paragraph of its own): the 签发人 stays with the number, so the 关于…的请示 under it is
    the title and the mark the kicker, and the 主送机关 is found under the title."""
    doc = parse_one(
        tmp_path,
        "request.txt",
        "澜州市生态环境局\n\n澜环〔2024〕15号\n\n签发人：周明远\n\n"
        "关于申请拨付2024年澜江支流综合整治工程经费的请示\n\n市人民政府：\n\n"
        "为加快推进澜江支流综合整治，特申请市级财政拨付专项经费2500万元。\n\n"
        "妥否，请批示。\n\n澜州市生态环境局\n2024年3月18日\n",
    )
    assert doc.title == "关于申请拨付2024年澜江支流综合整治工程经费的请示"
    assert role_texts(doc, "docnumber") == ["澜环〔2024〕15号\n签发人：周明远"]
    assert role_texts(doc, "addressee") == ["市人民政府："]


def test_notes_are_cited_by_what_they_are(notice: Document, tmp_path: Path) -> None:
    by_role = {p.role: p.number for p in notice.paragraphs}
    assert cite(notice, by_role["docnumber"]) == f"《{TITLE}》发文字号"
    assert cite(notice, by_role["signature"]) == f"《{TITLE}》落款"
    doc = parse_one(
        tmp_path,
        "traditional.txt",
        "上海市人民政府辦公廳關於做好重點工作的通知\n滬府辦發〔2021〕12號\n\n"
        "各區人民政府：\n現將有關事項通知如下。\n\n上海市人民政府辦公廳\n2021年7月15日\n",
    )
    number = next(p.number for p in doc.paragraphs if p.role == "docnumber")
    assert cite(doc, number) == "《上海市人民政府辦公廳關於做好重點工作的通知》發文字號"


def test_questions_about_the_notes_and_the_items(assistant: rag.Assistant) -> None:
    number = assistant.answer("这份通知的文号是什么？")
    assert number.found
    assert number.quotes[0].text == "沪府办发〔2021〕12号"
    assert number.quotes[0].citation == f"《{TITLE}》发文字号"
    date = assistant.answer("通知的成文日期是哪天？")
    assert date.found and "2021年7月15日" in date.quotes[0].text
    assert date.quotes[0].citation == f"《{TITLE}》落款"
    # A numbered item that only names its topic is quoted with its sub-items, cited as it.
    principles = assistant.answer("基本原则有哪些？")
    assert principles.found
    quote = principles.quotes[0]
    assert quote.text.startswith("（二）基本原则。")
    assert quote.text.endswith("3.坚持开放包容。加强国际交流合作。")
    assert quote.citation == f"《{TITLE}》一、 （二）"
    # The same asked in other words: its 编号, the day it was 印发 or 发布, and the reader
    # pointing at it as 这份文件 (a generic noun, not a word of its text).
    asked = {
        "这份通知的编号是多少？": "发文字号",
        "这份文件是哪天印发的？": "落款",
        "通知是什么时候发布的？": "落款",
        # 文件 is not searched for either (the mark 上海市人民政府办公厅文件 would win on it).
        "这份文件的文号是什么？": "发文字号",
        "该文件的主送机关是谁？": "主送机关",
    }
    others = [assistant.answer(q) for q in asked]
    assert [(a.found, a.quotes[0].citation if a.found else "") for a in others] == [
        (True, f"《{TITLE}》{label}") for label in asked.values()
    ]
    docs = assistant.documents
    for answer in (number, date, principles, *others):
        for q in answer.quotes:
            assert docs[q.doc_id].text[q.start : q.end] == q.text


def test_signature_before_an_attachment(tmp_path: Path) -> None:
    (doc,) = load_documents(FIXTURE.parent / "official_attachment.txt").documents
    # The signature stands before the attachment: still the 落款, not two section headings.
    assert role_texts(doc, "signature") == ["上海市人民政府办公厅\n2021年8月2日"]
    assert doc.date == "2021-08-02"
    assert "上海市人民政府办公厅" not in [h.text for h in doc.headings if h.role == "section"]
    # The attachment's own numbering is cited under it, not as the main text's 一、（一）
    # (the 主送机关 and the one paragraph of the notice come before it).
    assert role_texts(doc, "addressee") == ["各区人民政府，市政府各委、办、局："]
    first = doc.body_paragraphs[1]
    assert doc.text[first.start : first.end].startswith("（一）开展城市精神宣传教育")
    assert cite(doc, first.number).endswith("》附件 一、 （一）")


def test_table_rows_are_text_and_a_table_is_a_list(tmp_path: Path) -> None:
    import docx

    word = docx.Document()
    word.add_paragraph("城市软实力建设重点任务分工")
    word.add_paragraph("为落实全会精神，现将重点任务分工如下。")
    rows = [
        ("序号", "重点任务", "牵头单位"),
        ("1", "开展城市精神宣传教育", "市委宣传部"),
        ("2", "建设城市精神地标", "市规划资源局"),
        ("3", "实施文艺精品工程", "市文化旅游局"),
    ]
    table = word.add_table(rows=len(rows), cols=3)
    for row, cells in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, cells, strict=True):
            cell.text = value
    word.add_paragraph("各单位要于2021年12月31日前报送进展情况。")
    source = tmp_path / "src"
    source.mkdir()
    word.save(str(source / "分工.docx"))
    (doc,) = load_documents(source / "分工.docx").documents
    # Short rows without a full stop are neither headings nor broken sentences.
    assert [h.role for h in doc.headings] == ["title"]
    assert [doc.text[p.start : p.end] for p in doc.body_paragraphs][1:3] == [
        "序号\t重点任务\t牵头单位",
        "1\t开展城市精神宣传教育\t市委宣传部",
    ]
    assert doc.repairs == ()
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    row = assistant.answer("实施文艺精品工程由哪个单位牵头？")
    assert row.found and row.quotes[0].text == "3\t实施文艺精品工程\t市文化旅游局"
    whole = assistant.answer("重点任务有哪些？")
    assert whole.found
    assert whole.quotes[0].text.startswith("序号\t重点任务\t牵头单位")
    assert whole.quotes[0].text.endswith("3\t实施文艺精品工程\t市文化旅游局")


TABLE_FILES = ("tables_plan.md", "tables_notice.txt")


def _body(doc: Document) -> list[str]:
    return [doc.text[p.start : p.end] for p in doc.body_paragraphs]


@pytest.mark.parametrize("name", TABLE_FILES)
def test_consecutive_table_rows_are_a_paragraph_each(name: str, tmp_path: Path) -> None:
    # Rows on consecutive lines (markdown rows with their rule line, tab-separated rows) give
    # the paragraphs the same rows separated by blank lines give: one a row, header first.
    path = FIXTURE.parent / name
    (doc,) = load_documents(path).documents
    lines = path.read_text(encoding="utf-8").split("\n")
    spaced = tmp_path / name
    spaced.write_text(
        "\n".join(f"{line}\n" if "\t" in line or line.startswith("|") else line for line in lines),
        encoding="utf-8",
    )
    (reference,) = load_documents(spaced).documents
    rows = [t for t in _body(doc) if "\t" in t or t.startswith("|")]
    assert _body(doc) == _body(reference)
    assert rows == [line for line in lines if "\t" in line or line.startswith("|")]
    assert doc.repairs == ()
    # Wrapped prose lines, under the last row too, are still joined into one paragraph.
    wrapped = [t for t in _body(doc) if "\n" in t]
    assert wrapped and not [t for t in wrapped if "\t" in t or "|" in t]
    after = _body(doc)[_body(doc).index(rows[-1]) + 1]
    assert after.startswith(("各区要于每月5日前", "改造资金由政府")) and "\n" in after


def test_a_lone_line_with_a_tab_is_still_wrapped_prose(tmp_path: Path) -> None:
    # One line with a tab is no table: wrapped onto the next line, it is joined as before.
    doc = parse_one(
        tmp_path,
        "通知.txt",
        "江州市人民政府办公室关于做好防汛工作的通知\n\n各区人民政府：\n\n"
        "（一）\t加强组织领导，各区要建立健全防汛工作责任制，\n落实属地责任。\n\n"
        "（二）\t加强监测预警。\n",
    )
    assert _body(doc)[1:] == [
        "（一）\t加强组织领导，各区要建立健全防汛工作责任制，\n落实属地责任。",
        "（二）\t加强监测预警。",
    ]


def test_a_row_answers_alone_and_a_list_question_gets_the_table(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in TABLE_FILES:
        shutil.copy(FIXTURE.parent / name, source / name)
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    row = assistant.answer("秦淮区改造多少个小区？")
    assert row.found
    assert sorted(q.text for q in row.quotes) == [
        "| 秦淮区 | 45 | 12600 | 5月31日 | 秦淮区人民政府 |",
        "秦淮区\t45\t12600\t5月31日",
    ]
    step = assistant.answer("竣工验收在什么时间？")
    assert step.found
    assert step.quotes[0].text == "竣工验收\t12月\t组织竣工联合验收，建立长效管理机制"
    whole = assistant.answer("各区的开工时限分别是什么时候？")
    assert whole.found
    tables = sorted(q.text for q in whole.quotes)
    assert tables[0].startswith("| 区 | 小区数（个） | 户数（户） | 开工时限 | 责任单位 |\n\n|")
    assert tables[0].endswith("| 滨江区 | 29 | 7800 | 6月15日 | 滨江区人民政府 |")
    assert tables[1].startswith("区\t小区数（个）\t户数（户）\t开工时限\n\n玄湖区")
    assert tables[1].endswith("滨江区\t29\t7800\t6月15日")
    # A row asked for by what its header names (责任单位): the column names are the row's
    # context, so the row, not the header, answers.
    for question, row in (
        ("滨江区的责任单位是哪个？", "| 滨江区 | 29 | 7800 | 6月15日 | 滨江区人民政府 |"),
        ("秦淮区的责任单位是谁？", "| 秦淮区 | 45 | 12600 | 5月31日 | 秦淮区人民政府 |"),
    ):
        cell = assistant.answer(question)
        assert cell.found and cell.quotes[0].text == row


def test_bracketed_document_number_under_the_title(tmp_path: Path) -> None:
    doc = parse_one(
        tmp_path,
        "notice.txt",
        "国务院关于加强城市文化建设的通知\n（国发〔2021〕7号）\n\n各省、自治区、直辖市人民政府：\n"
        "现将有关事项通知如下。\n\n一、总体要求\n推动城市文化繁荣发展。\n\n国务院\n2021年3月1日\n",
    )
    assert doc.kind == "notice"
    assert role_texts(doc, "docnumber") == ["（国发〔2021〕7号）"]
    assert role_texts(doc, "signature") == ["国务院\n2021年3月1日"]


def test_government_web_page() -> None:
    # A 政府信息公开 page: a metadata table first, then the title, number, text, signature.
    (doc,) = load_documents(FIXTURE.parent / "official_page.html").documents
    assert doc.title == "国务院办公厅关于推进城市文化建设的指导意见"
    assert doc.kind == "opinion"
    assert role_texts(doc, "docnumber") == ["国办发〔2021〕18号"]
    assert role_texts(doc, "signature") == ["国务院办公厅\n2021年6月30日"]
    assert doc.date == "2021-06-30"
    # The breadcrumb is site navigation, left out (and listed), not a heading.
    assert not [h for h in doc.headings if h.text.startswith("首页")]
    # The metadata table's rows are text (发文字号 can be asked for in its words too).
    rows = [doc.text[p.start : p.end] for p in doc.body_paragraphs]
    assert "发文字号：\t国办发〔2021〕18号\t发布日期：\t2021年07月05日" in rows
    # The 主送机关 under that table is still the 主送机关; the note under the 落款 its 附注.
    assert role_texts(doc, "addressee") == [
        "各省、自治区、直辖市人民政府，国务院各部委、各直属机构："
    ]
    assert role_texts(doc, "annotation") == ["（此件公开发布）"]


def test_a_reports_byline_is_quotable(seed_assistant: rag.Assistant) -> None:
    answer = seed_assistant.answer("侧记的作者是谁？")
    assert answer.found
    quote = answer.quotes[0]
    assert quote.text == "■本报记者 顾一琼 唐玮婕 陆益峰 王嘉旸"
    assert quote.citation.endswith("十一届市委十一次全会侧记》署名")


WRAPPED_TITLE = ("上海市人民政府办公厅关于做好城市软实力", "建设重点工作的通知")


def test_a_title_wrapped_over_two_lines(tmp_path: Path) -> None:
    doc = parse_one(
        tmp_path,
        "wrapped.txt",
        "\n".join(WRAPPED_TITLE)
        + "\n沪府办发〔2021〕12号\n\n各区人民政府：\n现就有关工作通知如下。\n\n"
        "上海市人民政府办公厅\n2021年7月15日\n",
    )
    assert doc.title == "".join(WRAPPED_TITLE)
    assert doc.kind == "notice"
    # The title's lines stay as the file has them.
    assert [h.text for h in doc.headings if h.role == "title"] == ["\n".join(WRAPPED_TITLE)]


def test_a_pdf_notice_with_its_title_on_two_lines(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "notice.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    lines = [
        (22, "c", "上海市人民政府办公厅文件"),
        (14, "c", "沪府办发〔2021〕12号"),
        (18, "c", WRAPPED_TITLE[0]),
        (18, "c", WRAPPED_TITLE[1]),
        (14, "l", "各区人民政府，市政府各委、办、局："),
        (14, "l", "　　现就做好城市软实力建设重点工作通知如下。"),
        (14, "r", "上海市人民政府办公厅"),
        (14, "r", "2021年7月15日"),
    ]
    y = height - 90
    for size, align, text in lines:
        pdf.setFont("STSong-Light", size)
        if align == "c":
            pdf.drawCentredString(width / 2, y, text)
        elif align == "r":
            pdf.drawRightString(width - 110, y, text)
        else:
            pdf.drawString(100, y, text)
        y -= 36
    pdf.setFont("STSong-Light", 10)
    pdf.drawCentredString(width / 2, 50, "— 1 —")
    pdf.showPage()
    pdf.save()
    (doc,) = load_documents(path).documents
    assert doc.title == "".join(WRAPPED_TITLE)
    assert doc.kind == "notice"
    assert role_texts(doc, "docnumber") == ["沪府办发〔2021〕12号"]
    assert role_texts(doc, "signature") == ["上海市人民政府办公厅\n2021年7月15日"]
    assert [h.text for h in doc.headings if h.role == "kicker"] == ["上海市人民政府办公厅文件"]


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("2021年上海市政府工作报告", "policy"),
        ("中国共产党第十九届中央委员会第六次全体会议公报", "policy"),
        ("在全市干部大会上的讲话", "policy"),
        ("上海召开城市软实力建设推进大会", "article"),
        ("发挥软实力“加速器”作用——十一届市委十一次全会侧记", "side_report"),
    ],
)
def test_official_texts_are_told_from_reports_about_them(title: str, kind: str) -> None:
    from rag.parsing.genre import detect_kind

    # A work report, a communiqué or a speech is the text itself, quoted as 原文.
    assert detect_kind(title, []) == kind


def test_a_gazette_holds_one_document_after_another() -> None:
    # Under the date that signs one document, the next one's issuer mark, number or title
    # (wrapped over lines or not) opens it: each with its own head, text and signature.
    docs = load_documents(Path(__file__).parent / "fixtures" / "official_gazette.txt").documents
    assert [(d.title, d.kind, d.date) for d in docs] == [
        ("上海市人民政府关于同意设立上海城市软实力研究院的批复", "policy", "2022-01-10"),
        (
            "上海市人民政府办公厅关于印发《上海市城市软实力建设三年行动计划》的通知",
            "notice",
            "2022-01-20",
        ),
        ("中共上海市委宣传部关于开展城市软实力主题宣传活动的实施方案", "policy", "2022-02-01"),
        # No kind word in the title, but a number and a signature: an official text.
        ("上海市人民政府办公厅转发市文化和旅游局城市软实力工作要点", "policy", "2022-01-25"),
    ]
    assert [role_texts(d, "docnumber") for d in docs] == [
        ["沪府〔2022〕8号"],
        ["沪府办发〔2022〕3号"],
        [],
        ["沪府办发〔2022〕5号"],
    ]
    assert [role_texts(d, "signature")[0].split("\n")[0] for d in docs] == [
        "上海市人民政府",
        "上海市人民政府办公厅",
        "中共上海市委宣传部",
        "上海市人民政府办公厅",
    ]
    assert [[h.text for h in d.headings if h.role == "kicker"] for d in docs] == [
        ["上海市人民政府文件"],
        ["上海市人民政府办公厅文件"],
        [],
        [],
    ]
    # Every document is its own text: no heading, no stray line of the next one.
    assert all(not [h for h in d.headings if h.role == "section"] for d in docs)
    assert all(d.repairs == () for d in docs)
    assert cite(docs[3], role_paragraph(docs[3], "docnumber")) == (
        "《上海市人民政府办公厅转发市文化和旅游局城市软实力工作要点》发文字号"
    )


def role_paragraph(doc: Document, role: str) -> int:
    return next(p.number for p in doc.paragraphs if p.role == role)


def test_the_colophon_is_quotable_and_the_note_above_it_an_annotation(tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8").rstrip("\n") + (
        "\n\n抄送：市委各部门，市人大常委会办公厅，市政协办公厅。\n\n"
        "上海市人民政府办公厅　　　　2021年7月16日印发\n"
    )
    doc = parse_one(tmp_path, "notice.txt", text)
    # The 版记 is one passage of its own, not a paragraph of 三、工作要求 or metadata; the
    # note between it and the signature is the 附注.
    assert role_texts(doc, "colophon") == [
        "抄送：市委各部门，市人大常委会办公厅，市政协办公厅。\n"
        "上海市人民政府办公厅　　　　2021年7月16日印发"
    ]
    assert cite(doc, role_paragraph(doc, "colophon")) == f"《{TITLE}》版记"
    assert role_texts(doc, "annotation") == ["（此件公开发布）"]
    assert doc.metadata == ()
    assert role_texts(doc, "signature") == ["上海市人民政府办公厅\n2021年7月15日"]
    assert doc.text[doc.body_paragraphs[-1].start : doc.body_paragraphs[-1].end] == (
        "各区、各部门要于每年12月31日前报送工作情况。"
    )
    assert [h.text for h in doc.headings if h.role == "section"] == [
        "一、工作目标",
        "二、重点任务",
        "三、工作要求",
    ]


def test_a_question_word_the_notice_lacks_finds_the_colophon(tmp_path: Path) -> None:
    # The 版记 begins 抄送：, and the notice never prints the words jieba makes of these
    # questions. 抄送单位 is one word to jieba: read as 抄送 + 单位. 抄送给了 is cut
    # 抄 / 送给 / 了, neither held: read as 抄送, the word jieba cut across (before: the
    # 主送机关 and an item that mentions 单位 first, the 版记 not in the first five).
    source = tmp_path / "src"
    source.mkdir()
    (source / "notice.txt").write_text(
        FIXTURE.read_text(encoding="utf-8").rstrip("\n")
        + "\n\n抄送：市委各部门，市人大常委会办公厅，市政协办公厅，各有关单位。\n\n"
        "上海市人民政府办公厅　　　　2021年7月16日印发\n",
        encoding="utf-8",
    )
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    from rag.settings import RetrievalMode

    cases = {
        "抄送单位有哪些？": (["抄送单位"], {"抄送", "单位"}),
        "这份通知抄送给了哪些单位？": (["通知", "抄", "送给", "单位"], {"通知", "抄送", "单位"}),
    }
    for question, (cut, searched) in cases.items():
        tokens = assistant._state.generation.tokenizer.tokenize(question)
        assert tokens == cut
        examined = assistant._state.selector.examine(question, tokens, 5, RetrievalMode.LEXICAL)
        assert examined is not None
        # Analysed as the words the notice prints, so the 版记 covers the question.
        assert set(examined.query.terms) == searched
        hit = assistant.answer(question).hits[0]
        assert hit.text.startswith("抄送：市委各部门")
        assert hit.citation == f"《{TITLE}》版记"


def test_the_addressee_line_is_the_main_recipient(
    notice: Document, assistant: rag.Assistant, tmp_path: Path
) -> None:
    # 主送机关: quotable and cited as such, not paragraph 1 of the text.
    assert role_texts(notice, "addressee") == ["各区人民政府，市政府各委、办、局："]
    assert cite(notice, role_paragraph(notice, "addressee")) == f"《{TITLE}》主送机关"
    first = notice.body_paragraphs[0]
    assert first.number == 1
    assert notice.text[first.start : first.end].startswith("为贯彻落实市委十一届十一次全会精神")
    for question in ("这份通知的主送机关是谁？", "这份通知是发给哪些单位的？"):
        answer = assistant.answer(question)
        assert answer.found, question
        assert answer.quotes[0].text == "各区人民政府，市政府各委、办、局："
        assert answer.quotes[0].citation == f"《{TITLE}》主送机关"
    # A lead-in ending with a colon, a salutation, or a first line with no 公文 marks around it
    # is text.
    head = "国务院办公厅关于推进城市文化建设的指导意见\n国办发〔2021〕18号\n\n"
    lead_in = parse_one(
        tmp_path, "a.txt", head + "现就有关事项通知如下：\n\n一、总体要求\n推动发展。\n"
    )
    assert role_texts(lead_in, "addressee") == []
    greeting = parse_one(tmp_path, "b.txt", head + "各位代表：\n\n现在我代表市人民政府作报告。\n")
    assert role_texts(greeting, "addressee") == []
    plain = parse_one(
        tmp_path, "c.txt", "关于城市文化的几点思考\n\n各区人民政府：\n\n推动城市文化发展。\n"
    )
    assert role_texts(plain, "addressee") == []


def test_the_annex_note_above_the_signature(tmp_path: Path) -> None:
    (doc,) = load_documents(FIXTURE.parent / "official_attachment.txt").documents
    # 附件：名称 above the 落款 is the 附件说明: quotable, cited as such, not the heading of
    # an attachment holding the signature; the attachment itself follows the signature.
    assert role_texts(doc, "annex_note") == ["附件：城市软实力建设重点任务分工"]
    assert cite(doc, role_paragraph(doc, "annex_note")).endswith("》附件说明")
    assert "附件：城市软实力建设重点任务分工" not in [
        h.text for h in doc.headings if h.role == "section"
    ]
    assert next(h.text for h in doc.headings if h.role == "section") == "附件"
    # Several attachments: 附件：1.… with 2.… on the next line, one note; a further name
    # starting with digits (2.2021年度…: no list marker) is the note's too, not an issuer's
    # line of the 落款.
    text = (FIXTURE.parent / "official_attachment.txt").read_text(encoding="utf-8")
    for k, second in enumerate(("城市软实力建设评价指标", "2021年度城市软实力建设评价指标")):
        many = parse_one(
            tmp_path,
            f"two{k}.txt",
            text.replace(
                "附件：城市软实力建设重点任务分工\n",
                f"附件：1.城市软实力建设重点任务分工\n      2.{second}\n",
            ),
        )
        assert role_texts(many, "annex_note") == [f"附件：1.城市软实力建设重点任务分工\n2.{second}"]
        assert role_texts(many, "signature") == ["上海市人民政府办公厅\n2021年8月2日"]


def candidate_spans(assistant: rag.Assistant, question: str) -> set[str]:
    """The texts of the candidates selection draws for a question (lexical)."""
    from rag.settings import RetrievalMode

    state = assistant._state
    tokens = state.generation.tokenizer.tokenize(question)
    examined = state.selector.examine(question, tokens, 5, RetrievalMode.LEXICAL)
    assert examined is not None
    chunks, documents = state.generation.chunks, assistant.documents
    return {documents[chunks[c.passage].doc_id].text[c.start : c.end] for c in examined.candidates}


@pytest.mark.parametrize(
    ("question", "first", "last", "cited"),
    [
        (
            "重点任务有哪些？",
            "（三）加强公共文化服务。",
            "应当报市人民政府批准。",
            "二、 （三）至二、 （四）",
        ),
        (
            "工作目标是什么？",
            "（一）总体目标。",
            "加强国际交流合作。",
            "一、 （一）至一、 （二） 3.",
        ),
        # Asked for its content in other words (no list, no 是什么, no number or date).
        (
            "重点任务讲了什么？",
            "（三）加强公共文化服务。",
            "应当报市人民政府批准。",
            "二、 （三）至二、 （四）",
        ),
        (
            "工作目标怎么定的？",
            "（一）总体目标。",
            "加强国际交流合作。",
            "一、 （一）至一、 （二） 3.",
        ),
    ],
)
def test_a_heading_asked_for_its_content_is_answered_by_its_section(
    assistant: rag.Assistant, question: str, first: str, last: str, cited: str
) -> None:
    # The question matches a heading best (二、重点任务), which only names what is asked:
    # the answer is what stands under it, cited from its first item to its last.
    answer = assistant.answer(question)
    assert answer.found
    quote = answer.quotes[0]
    assert (quote.text[: len(first)], quote.text[-len(last) :]) == (first, last)
    assert quote.citation == f"《{TITLE}》{cited}"
    assert assistant.documents[quote.doc_id].text[quote.start : quote.end] == quote.text
    # The bare heading is no candidate for it; asked for its name, it is.
    heading = "二、重点任务" if question.startswith("重点") else "一、工作目标"
    assert heading not in candidate_spans(assistant, question)
    assert heading in candidate_spans(assistant, heading[2:] + "的标题是什么？")


@pytest.mark.parametrize(
    "question",
    [
        "这份文件是谁发的？",
        "这份通知是什么时候发的？",
        "通知是哪个单位发的？",
        "这份通知由哪个部门印发？",
        "這份文件是誰發佈的？",
    ],
)
def test_who_issued_the_document_and_when(assistant: rag.Assistant, question: str) -> None:
    # Asked in a reader's words (发, 印发, 哪个部门), not the part's name (落款, 发文机关):
    # answered by the 落款, not by the 附注 （此件公开发布） or a 牵头单位 item.
    answer = assistant.answer(question)
    assert answer.found
    assert answer.quotes[0].citation == f"《{TITLE}》落款"
    assert answer.quotes[0].text == "上海市人民政府办公厅\n2021年7月15日"


@pytest.mark.parametrize(
    "question",
    [
        "天气预报是什么时候发布的？",
        "哪个部门负责发布城市软实力指数？",
        "国务院什么时候发布了这个通知？",
    ],
)
def test_issue_questions_the_notice_does_not_answer(
    assistant: rag.Assistant, question: str
) -> None:
    # The 落款 is searched for, but the question's other words still decide.
    assert not assistant.answer(question).found


def test_questions_about_the_issuer_and_the_attachments(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(FIXTURE.parent / "official_attachment.txt", source)
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    issuer = assistant.answer("发文机关是哪个单位？")
    assert issuer.found and issuer.quotes[0].citation.endswith("》落款")
    named = assistant.answer("附件的名称是什么？")
    assert named.found and named.quotes[0].citation.endswith("》附件说明")


@pytest.mark.parametrize("gap", ["　　", " ", ""])
def test_a_signer_on_the_document_number_line_with_or_without_a_gap(
    gap: str, tmp_path: Path
) -> None:
    # A PDF reader draws 文号 and 签发人 apart on one line and may give them back joined.
    line = f"沪府办发〔2021〕12号{gap}签发人：王华"
    text = FIXTURE.read_text(encoding="utf-8").replace("沪府办发〔2021〕12号", line)
    doc = parse_one(tmp_path, "signed.txt", text)
    assert doc.title == TITLE
    assert role_texts(doc, "docnumber") == [line]


def test_the_marks_of_the_head_the_signer_and_the_annotations(tmp_path: Path) -> None:
    text = (
        FIXTURE.read_text(encoding="utf-8")
        .replace(
            "上海市人民政府办公厅文件\n沪府办发〔2021〕12号",
            "000123\n\n机密★1年\n特急\n\n上海市人民政府办公厅文件\n\n"
            "沪府办发〔2021〕12号　　　　签发人：王华",
        )
        .replace("（此件公开发布）", "（此件公开发布）\n\n（联系人：李明，联系电话：23456789）")
    )
    doc = parse_one(tmp_path, "urgent.txt", text)
    # 份号, 密级 and 紧急程度 are the 版头's marks, not the title; the 签发人 on the 文号's line
    # leaves it the 文号; the bracketed lines under the 落款 are 附注.
    assert doc.title == TITLE
    assert doc.kind == "notice"
    assert role_texts(doc, "docmark") == ["000123", "机密★1年\n特急"]
    assert role_texts(doc, "docnumber") == ["沪府办发〔2021〕12号　　　　签发人：王华"]
    assert cite(doc, role_paragraph(doc, "docmark")) == f"《{TITLE}》版头"
    assert role_texts(doc, "annotation") == [
        "（此件公开发布）",
        "（联系人：李明，联系电话：23456789）",
    ]
    assert doc.metadata == ()
    assert [h.text for h in doc.headings if h.role == "section"] == [
        "一、工作目标",
        "二、重点任务",
        "三、工作要求",
    ]
    assistant = assistant_of(tmp_path, "urgent.txt", text)
    asked = {"联系人是谁？": "附注", "签发人是谁？": "发文字号", "这份文件的紧急程度？": "版头"}
    answers = [assistant.answer(q) for q in asked]
    assert [(a.found, a.quotes[0].citation if a.found else "") for a in answers] == [
        (True, f"《{TITLE}》{label}") for label in asked.values()
    ]
    # The same notice in Traditional characters: the same parts, in its own characters.
    import opencc

    trad = parse_one(tmp_path, "urgent_t.txt", opencc.OpenCC("s2t").convert(text))
    for role in ("docmark", "docnumber", "addressee", "annotation"):
        assert len(role_texts(trad, role)) == len(role_texts(doc, role)), role
    assert role_texts(trad, "annotation")[1] == "（聯繫人：李明，聯繫電話：23456789）"
    assert cite(trad, role_paragraph(trad, "annotation")).endswith("》附註")
    # A news report's bracketed last line stays metadata (no 公文 marks).
    report = parse_one(
        tmp_path, "news.txt", "城市软实力建设取得成效\n\n本市推进城市软实力建设。\n\n（完）\n"
    )
    assert role_texts(report, "annotation") == []


NOTICE_PDF = Path(__file__).parent / "fixtures" / "official_notice.pdf"


def test_a_printed_notice_with_an_issuer_mark_without_wenjian() -> None:
    """tests/fixtures/official_notice.pdf (``format_samples.official_notice_pdf``): the mark
    江州市应急管理局 in large type above the 文号, the title 江州市应急管理局 / 关于…的通报 under
    it on two lines, indented paragraphs, two attachments, the first a table."""
    from format_samples import (
        NOTICE_ADDRESSEE,
        NOTICE_MARK,
        NOTICE_NUMBER,
        NOTICE_SIGNATURE,
        NOTICE_TABLE,
        NOTICE_TEXT,
        NOTICE_TITLE,
    )

    (doc,) = load_documents(NOTICE_PDF).documents
    title = "".join(NOTICE_TITLE)
    assert doc.title == title
    assert [h.text for h in doc.headings if h.role == "kicker"] == [NOTICE_MARK]
    assert role_texts(doc, "docnumber") == [NOTICE_NUMBER]
    assert role_texts(doc, "addressee") == [NOTICE_ADDRESSEE]
    assert cite(doc, role_paragraph(doc, "addressee")) == f"《{title}》主送机关"
    assert role_texts(doc, "signature") == ["\n".join(NOTICE_SIGNATURE)]
    # Every paragraph whole, numbered from the first one under the 主送机关; the headings are
    # the numbered ones and the attachments', never a paragraph's first line.
    paragraphs = [t for t in NOTICE_TEXT if t.endswith(("。", "："))]
    body = [doc.text[p.start : p.end] for p in doc.body_paragraphs]
    assert body[: len(paragraphs)] == paragraphs
    assert doc.body_paragraphs[0].number == 1
    sections = [h.text for h in doc.headings if h.role == "section"]
    assert sections[:3] == ["一、基本情况", "二、存在的主要问题", "三、下一步工作要求"]
    assert not any(p.startswith(text) for p in paragraphs for text in sections)
    # 附件1 opens the attachment: the table's rows, one paragraph each with its cells
    # separated, are cited under it.
    rows = [p for p in doc.body_paragraphs if "\t" in doc.text[p.start : p.end]]
    assert [doc.text[p.start : p.end] for p in rows] == ["\t".join(r) for r in NOTICE_TABLE]
    assert [cite(doc, p.number) for p in rows] == [f"《{title}》附件1 第{p.number}段" for p in rows]
    # The bracketed line under the table is a note to it: text cited under 附件1, never a
    # heading (附件2 after it keeps its own section).
    assert cited_as(doc, "（其余14家企业略）").startswith(f"《{title}》附件1 第")
    assert "（其余14家企业略）" not in sections
    assert doc.repairs == ()


def cited_as(doc: Document, text: str) -> str:
    """The citation of the body paragraph whose text is ``text``."""
    return cite(
        doc, next(p.number for p in doc.body_paragraphs if doc.text[p.start : p.end] == text)
    )


def test_a_bracketed_line_is_a_note_never_a_heading(tmp_path: Path) -> None:
    # Under a table, or under the 落款 with the attachments after it (its 附注): text, each
    # cited in its place; （一） alone stays numbering, and no note is a fragment to join.
    doc = parse_one(
        tmp_path,
        "notice.txt",
        "江应急〔2024〕9号\n\n江州市应急管理局关于检查情况的通报\n\n各区应急管理局：\n\n"
        "现将检查情况通报如下。\n\n江州市应急管理局\n2024年4月8日\n\n（此件公开发布）\n\n"
        "附件1\n\n重大事故隐患企业名单\n\n序号\t企业名称\t所在区\n1\t宏达化工\t江北新区\n\n"
        "（其余14家企业略）\n\n附件2\n\n先进单位名单\n\n玄湖区应急管理局。\n",
    )
    title = "江州市应急管理局关于检查情况的通报"
    sections = [h.text for h in doc.headings if h.role == "section"]
    assert sections == ["附件1", "重大事故隐患企业名单", "附件2", "先进单位名单"]
    assert role_texts(doc, "annotation") == ["（此件公开发布）"]
    assert cite(doc, role_paragraph(doc, "annotation")) == f"《{title}》附注"
    assert cited_as(doc, "（其余14家企业略）").startswith(f"《{title}》附件1 第")
    assert is_bracketed_note("（其余14家企业略）") and not is_bracketed_note("（一）")
    assert doc.repairs == ()


def test_an_issuer_mark_without_wenjian_in_plain_text(tmp_path: Path) -> None:
    # The mark names the issuer whose title (…的通报, wrapped) follows the 文号: a kicker.
    doc = parse_one(
        tmp_path,
        "notice.txt",
        "江州市应急管理局\n\n江应急〔2024〕9号\n\n江州市应急管理局\n关于开展安全生产检查的通报\n\n"
        "各区应急管理局：\n\n现将检查情况通报如下。\n\n江州市应急管理局\n2024年4月8日\n",
    )
    assert doc.title == "江州市应急管理局关于开展安全生产检查的通报"
    assert [h.text for h in doc.headings if h.role == "kicker"] == ["江州市应急管理局"]
    assert role_texts(doc, "addressee") == ["各区应急管理局："]
    # A first line that is a title itself stays the title.
    doc = parse_one(
        tmp_path,
        "plan.txt",
        "江州市安全生产工作方案\n\n江应急〔2024〕9号\n\n关于开展安全生产检查的通报\n\n"
        "现将检查情况通报如下。\n",
    )
    assert doc.title == "江州市安全生产工作方案"


ORDER_TITLE = "江州市人民政府关于废止部分市政府规章的决定"
ORDER = f"""江州市人民政府令

第45号

{ORDER_TITLE}

（2024年7月2日市人民政府第32次常务会议通过）

为维护法制统一，市人民政府对现行有效的市政府规章进行了清理，现决定如下：

一、废止下列规章
1.《江州市出租汽车客运管理办法》（2005年市政府令第12号公布）
2.《江州市粮食收购资格审核办法》（2008年市政府令第27号公布）

二、其他事项
本决定自2024年8月1日起施行。

市长　李明
2024年7月10日
"""


def test_the_head_of_an_order(tmp_path: Path) -> None:
    doc = parse_one(tmp_path, "order.txt", ORDER)
    # 江州市人民政府令 / 第45号 (GB/T 9704 令): the order's mark and its number, not the title;
    # the bracketed 通过 line under the title its 题注; 职务+姓名 over the date its 落款.
    assert doc.title == ORDER_TITLE
    assert doc.kind == "decision"
    assert [h.text for h in doc.headings if h.role == "kicker"] == ["江州市人民政府令"]
    assert role_texts(doc, "docnumber") == ["第45号"]
    assert cite(doc, role_paragraph(doc, "docnumber")) == f"《{ORDER_TITLE}》发文字号"
    assert role_texts(doc, "dateline") == ["（2024年7月2日市人民政府第32次常务会议通过）"]
    assert cite(doc, role_paragraph(doc, "dateline")) == f"《{ORDER_TITLE}》题注"
    assert role_texts(doc, "signature") == ["市长　李明\n2024年7月10日"]
    # The works listed under 一、 are its items (body text), not headings; complete as they are.
    items = [
        p for p in doc.paragraphs if p.role == "body" and "《江州市" in doc.text[p.start : p.end]
    ]
    assert [tuple(r.label for r in p.section) for p in items] == [("一、", "1."), ("一、", "2.")]
    assert [h.text for h in doc.headings if h.role == "section"] == [
        "一、废止下列规章",
        "二、其他事项",
    ]
    assert [r for r in doc.repairs if r.kind == "fragment_flagged"] == []


def test_the_head_of_an_order_from_word(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx")
    word = docx.Document()
    for line in ("江州市人民政府令", "第45号"):
        word.add_paragraph(line)
    word.add_heading(ORDER_TITLE, level=0)
    word.add_paragraph("（2024年7月2日市人民政府第32次常务会议通过）")
    word.add_paragraph("为维护法制统一，现决定如下：")
    word.add_heading("一、废止下列规章", level=1)
    word.add_paragraph("1.《江州市出租汽车客运管理办法》（2005年市政府令第12号公布）")
    word.add_paragraph("2.《江州市粮食收购资格审核办法》")
    for line in ("市长　李明", "2024年7月10日"):
        word.add_paragraph(line)
    word.save(str(tmp_path / "order.docx"))
    (doc,) = load_documents(tmp_path / "order.docx").documents
    assert (doc.title, doc.kind) == (ORDER_TITLE, "decision")
    assert role_texts(doc, "docnumber") == ["第45号"]
    assert len(role_texts(doc, "dateline")) == 1
    assert [h.text for h in doc.headings if h.role == "section"] == ["一、废止下列规章"]
    assert role_texts(doc, "signature") == ["市长　李明\n2024年7月10日"]


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("1.《江州市道路挖掘管理办法》（2015年江州市人民政府令第12号公布）", True),
        ("2.《江州市粮食收购资格审核办法》", True),
        ("（1）城市软实力建设评价指标（试行）", True),
        ("1.摸清底数", False),
        ("（一）《江州市城市道路挖掘管理办法》", False),  # a heading over its changes
        ("1.根据《江州市道路挖掘管理办法》的规定，", False),  # a sentence cut off
        ("一、关于《行动计划》", False),
    ],
)
def test_list_entries_are_text(text: str, entry: bool) -> None:
    from rag.parsing.blocks import is_list_entry

    assert is_list_entry(text) is entry


def test_a_work_report_with_its_speaker(tmp_path: Path) -> None:
    from rag.parsing.genre import detect_kind

    text = (
        "# 政府工作报告\n\n——2024年1月10日在青阳区第五届人民代表大会第四次会议上\n\n"
        "青阳区区长　周文涛\n\n各位代表：\n\n现在，我代表区人民政府，向大会报告工作。\n\n"
        "## 一、2023年工作回顾\n\n全年实现地区生产总值612.3亿元。\n"
    )
    doc = parse_one(tmp_path, "report.md", text)
    # A title ending in 报告 is an official text with a subtitle under it too; the post and
    # name under it (职务+姓名) are its byline, not a section heading.
    assert doc.kind == "policy"
    assert doc.subtitle == "——2024年1月10日在青阳区第五届人民代表大会第四次会议上"
    assert role_texts(doc, "byline") == ["青阳区区长　周文涛"]
    assert cite(doc, role_paragraph(doc, "byline")).endswith("》署名")
    assert [h.text for h in doc.headings if h.role == "section"] == ["一、2023年工作回顾"]
    assert detect_kind("政府工作报告", [], subtitle="——在区人民代表大会上") == "policy"
    assert detect_kind("上海召开城市软实力建设推进大会", [], subtitle="——记者手记") == "article"


NOTICE_WITH_ARTICLES = """江州市公安局关于中心城区禁止燃放烟花爆竹的通告

为保障公共安全和人身、财产安全，防治大气污染，根据有关规定，现就中心城区禁止燃放烟花爆竹有关事项通告如下：

第一条 本通告所称中心城区，是指绕城高速公路以内的区域。

第二条 禁止燃放的时间为全年全天，包括春节、元宵节等传统节日期间。

第三条 在第一条规定的区域内，任何单位和个人不得燃放烟花爆竹，不得销售烟花爆竹。

第四条 举办大型群众性活动确需燃放烟花的，应当向市公安局提出申请，经批准后实施。

第五条 机关、团体、企业事业单位应当加强对本单位人员的教育管理。

江州市公安局
2023年12月25日
"""


def test_the_articles_of_a_notice_are_not_items_of_its_preamble(tmp_path: Path) -> None:
    # 通告如下： is a lead-in, but what follows is the notice's articles, each cited by its
    # number: the preamble with its "items" would quote the whole notice for any question.
    assistant = assistant_of(tmp_path, "通告.txt", NOTICE_WITH_ARTICLES)
    preamble = NOTICE_WITH_ARTICLES.split("\n\n")[1]
    for question in ("通告第五条规定了什么？", "大型活动要放烟花怎么办？"):
        spans = candidate_spans(assistant, question)
        assert preamble in spans  # the lead-in alone is still a candidate
        assert not any(span.startswith(preamble) and len(span) > len(preamble) for span in spans)
    answer = assistant.answer("通告第五条规定了什么？")
    assert answer.found
    assert answer.quotes[0].text.startswith("第五条 机关、团体")
    assert answer.quotes[0].citation.endswith("第五条")


MINUTES_RECORDED = """青陽區人民政府區長辦公會議紀要

第3期

區長周文濤主持召開區長辦公會議，研究老舊小區改造工作。紀要如下：

一、關於老舊小區改造

會議同意區住房城鄉建設局提出的改造計劃。

出席：周文濤、林海

記錄：區政府辦公室　鄭潔

分送：區委辦公室。
"""


@pytest.mark.parametrize("script", ["traditional", "simplified"])
def test_who_took_the_minutes_is_text(script: str, tmp_path: Path) -> None:
    from rag.textnorm import fold_chars

    text = MINUTES_RECORDED if script == "traditional" else fold_chars(MINUTES_RECORDED)
    doc = parse_one(tmp_path, "minutes.txt", text)
    lines = text.split("\n")
    # 記錄/记录 (who took the minutes) is quotable text like 出席 and 请假 above it, in no
    # section; it is no note of metadata, and the 分送 under it stays the 版记.
    recorded = [p for p in doc.paragraphs if p.source_lines == (13,)]
    assert [(p.role, p.section) for p in recorded] == [("body", ())]
    assert doc.text[recorded[0].start : recorded[0].end] == lines[12]
    assert doc.metadata == ()
    assert role_texts(doc, "colophon") == [lines[14]]
    # Without a 版记 under it, it is still text, not metadata (记录人 as some minutes write).
    last = "\n".join([*lines[:12], "记录人：郑洁", ""])
    doc = parse_one(tmp_path, "minutes2.txt", last)
    assert [doc.text[p.start : p.end] for p in doc.body_paragraphs][-1] == "记录人：郑洁"
    assert doc.metadata == ()


@pytest.mark.parametrize(
    ("subtitle", "date"),
    [
        ("——2024年1月10日在青阳区第五届人民代表大会第四次会议上", "2024-01-10"),
        ("——在全区经济工作会议上的讲话（2024年2月5日）", "2024-02-05"),
        # The date alone, as a speech's subtitle often is.
        ("——2024年2月26日", "2024-02-26"),
        # Not the occasion it was given on: no date of the document.
        ("——2024年1月10日以来的工作回顾", ""),
    ],
)
def test_a_speech_is_dated_by_its_subtitle(subtitle: str, date: str, tmp_path: Path) -> None:
    text = (
        f"# 关于全区重点工作的报告\n\n{subtitle}\n\n区长　林海\n\n同志们：\n\n"
        "今天召开会议，部署今年的重点工作。\n\n## 一、总体要求\n\n全年新开工重点项目40个。\n"
    )
    doc = parse_one(tmp_path, "speech.md", text)
    assert doc.subtitle == subtitle
    assert doc.date == date


def _open_government_page(info: str) -> str:
    """A 政府信息公开 page: site chrome, ``info`` (the metadata table) above the title, a
    notice with its numbered items and its 落款."""
    items = "".join(
        f"<p>　　{n}、{t}</p>"
        for n, t in (
            (
                "一",
                "本办法所称公共停车场，是指向社会开放的停车场所，包括路外停车场和道路停车泊位。",
            ),
            ("二", "公共停车场实行政府指导价管理，具体收费标准由区发展改革部门另行公布。"),
            ("三", "经营者应当在停车场出入口显著位置公示收费标准和监督电话，接受社会监督。"),
        )
    )
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<title>青阳区关于规范公共停车场管理的通知_青阳区人民政府</title></head><body>
<div class="top"><a href="/">首页</a> | <a href="/zwgk">政务公开</a> | <a href="/hd">互动</a></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk">政务公开</a></div>
<div class="article">{info}
<h1>青阳区关于规范公共停车场管理的通知</h1>
<div class="bar">发布时间：2024-03-08　来源：区交通运输局　字号：[大 中 小]</div>
<div class="content"><p>各街道办事处，区政府各部门：</p>
<p>　　为规范公共停车场管理，方便群众停车，现将有关事项通知如下：</p>{items}
<p style="text-align:right">青阳区人民政府办公室</p><p style="text-align:right">2024年3月6日</p>
</div><div class="share">分享到：<a href="#">微信</a> <a href="#">微博</a></div></div>
<div class="footer">主办：青阳区人民政府办公室　网站标识码：3201000002</div></body></html>"""


_OPEN_GOVERNMENT_TABLES = [
    # Label and value in cells of their own, two pairs a row.
    '<table class="xxgk"><tr><td>索 引 号：</td><td>11320100MB/2024-00017</td>'
    "<td>主题分类：</td><td>交通</td></tr><tr><td>发布机构：</td><td>青阳区人民政府办公室</td>"
    "<td>成文日期：</td><td>2024年3月6日</td></tr><tr><td>文　　号：</td>"
    "<td>青政办发〔2024〕9号</td><td>有效性：</td><td>有效</td></tr></table>",
    # A list of label and value in one item each.
    '<ul class="xxgk"><li><span>索引号：</span>11320100MB/2024-00017</li>'
    "<li><span>发文机关：</span>青阳区人民政府办公室</li><li><span>发文日期：</span>2024-03-06</li>"
    "<li><span>发文字号：</span>青政办发〔2024〕9号</li></ul>",
]


@pytest.mark.parametrize("info", _OPEN_GOVERNMENT_TABLES)
def test_a_pages_open_government_table_gives_the_number(info: str, tmp_path: Path) -> None:
    from rag.parsing.readers import read_file

    path = tmp_path / "notice.html"
    path.write_text(_open_government_page(info), encoding="utf-8")
    (doc,) = load_documents(path).documents
    # The table's 文号 is the document's 发文字号, under the title as in a text file; the
    # site around the article is left out.
    assert doc.title == "青阳区关于规范公共停车场管理的通知"
    assert role_texts(doc, "docnumber") == ["青政办发〔2024〕9号"]
    assert cite(doc, role_paragraph(doc, "docnumber")).endswith("》发文字号")
    assert role_texts(doc, "addressee") == ["各街道办事处，区政府各部门："]
    assert role_texts(doc, "signature") == ["青阳区人民政府办公室\n2024年3月6日"]
    for chrome in ("首页", "当前位置", "发布时间", "分享到", "网站标识码"):
        assert chrome not in doc.text
    # Rows of the table the extractor keeps (it may put them after the signature) are text
    # where the page has them, above the article, in no section.
    body = doc.body_paragraphs
    rows = [k for k, p in enumerate(body) if "\t" in doc.text[p.start : p.end]]
    assert rows == list(range(len(rows)))
    assert all(body[k].section == () for k in rows)
    assert doc.text[body[len(rows)].start :].startswith("为规范公共停车场管理")
    # Its issuer and date are the page's metadata.
    raw = read_file(path)
    assert {k: raw.metadata[k] for k in ("number", "issuer", "date")} == {
        "number": "青政办发〔2024〕9号",
        "issuer": "青阳区人民政府办公室",
        "date": "2024-03-06",
    }


def test_a_lone_number_label_is_no_open_government_table() -> None:
    from rag.parsing.readers import Block
    from rag.parsing.readers.html import info_fields

    lines = [Block("文号："), Block("青政办发〔2024〕9号"), Block("正文。")]
    assert info_fields(lines) == {}
    assert info_fields([Block("索引号：001"), *lines]) == {"number": "青政办发〔2024〕9号"}


REPLY = """江州市人民政府关于同意设立江州滨江经济开发区的批复

滨江区人民政府：

你区《关于申请设立江州滨江经济开发区的请示》收悉。经研究，现批复如下：

一、同意设立江州滨江经济开发区，规划面积12.6平方公里。

二、开发区重点发展新能源装备、生物医药和现代物流产业。

江州市人民政府
2024年3月15日
"""

LETTER = """江州市交通运输局关于商请支持开通江州至临海城际公交的函

临海市交通运输局：

为方便两地群众出行，我局拟开通江州至临海城际公交线路，现就有关事项函商如下：

一、线路走向。起点为江州汽车客运南站，终点为临海市公交枢纽站，全长68公里。

二、请贵局于2024年5月31日前函复我局。

江州市交通运输局
2024年4月20日
"""


def test_a_document_pointed_at_by_its_kind_is_the_one_quoted(tmp_path: Path) -> None:
    # Two documents with a 落款 each: 这份函 points at the letter, so the reply's 落款 is
    # no second quote of who sent it.
    source = tmp_path / "src"
    source.mkdir()
    (source / "批复.txt").write_text(REPLY, encoding="utf-8")
    (source / "函.txt").write_text(LETTER, encoding="utf-8")
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    for question, kind, signature in (
        ("这份函是哪个单位发的？", "的函", "江州市交通运输局\n2024年4月20日"),
        ("批复是什么时候印发的？", "的批复", "江州市人民政府\n2024年3月15日"),
    ):
        answer = assistant.answer(question)
        assert answer.found
        assert answer.quotes[0].text == signature
        assert all(q.doc_title.endswith(kind) for q in answer.quotes)
    names = assistant._state.selector.names
    tokenizer = assistant._state.generation.tokenizer
    letter = names.of_kind("这份函发给哪个单位？", tokenizer.tokenize("这份函发给哪个单位？"))
    assert [assistant.documents[d].title for d in letter] == [LETTER.split("\n")[0]]
    # A kind must be a word of the question (函商 is not 函) and the question must point
    # with it (其他函 points at nothing); a kind every document has tells none apart.
    for question in ("函商的事项有哪些？", "有没有其他函？"):
        assert names.of_kind(question, tokenizer.tokenize(question)) == ()
    (source / "批复.txt").unlink()
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    alone = rag.load(tmp_path / "index", model="none")._state.selector.names
    assert alone.of_kind("这份函发给哪个单位？", ["函", "发给", "单位"]) == ()


@pytest.mark.parametrize("closing", ["特此通知。", "特此通告。", "此复。", "特此批复"])
def test_the_closing_formula_stands_in_no_section(closing: str, tmp_path: Path) -> None:
    text = FIXTURE.read_text(encoding="utf-8").replace(
        "各区、各部门要于每年12月31日前报送工作情况。",
        f"各区、各部门要于每年12月31日前报送工作情况。\n\n{closing}",
    )
    doc = parse_one(tmp_path, "closing.txt", text)
    (para,) = [p for p in doc.body_paragraphs if doc.text[p.start : p.end] == closing]
    assert para.section == ()
    assert role_texts(doc, "signature") == ["上海市人民政府办公厅\n2021年7月15日"]
    # A sentence that only starts like one stays in its section.
    longer = FIXTURE.read_text(encoding="utf-8").replace(
        "各区、各部门要于每年12月31日前报送工作情况。",
        "各区、各部门要于每年12月31日前报送工作情况。\n\n特此通知各区按时报送。",
    )
    doc = parse_one(tmp_path, "longer.txt", longer)
    (para,) = [p for p in doc.body_paragraphs if doc.text[p.start : p.end].startswith("特此通知各")]
    assert para.section != ()


@pytest.mark.parametrize("info", _OPEN_GOVERNMENT_TABLES)
def test_a_traditional_pages_open_government_table_gives_the_number(
    info: str, tmp_path: Path
) -> None:
    import opencc

    from rag.parsing.readers import read_file
    from rag.textnorm import fold_chars

    s2t = opencc.OpenCC("s2t")
    page = _open_government_page(info)
    simplified, traditional = tmp_path / "notice.html", tmp_path / "notice_t.html"
    simplified.write_text(page, encoding="utf-8")
    traditional.write_text(s2t.convert(page), encoding="utf-8")
    (simp,) = load_documents(simplified).documents
    (trad,) = load_documents(traditional).documents
    # Its labels are 文號, 發布機構, 成文日期…: read as 文号, 发布机构, 成文日期, so the page
    # has the outline of its Simplified twin, every text in its own characters.
    assert [(p.role, fold_chars(trad.text[p.start : p.end])) for p in trad.paragraphs] == [
        (p.role, simp.text[p.start : p.end]) for p in simp.paragraphs
    ]
    assert role_texts(trad, "docnumber") == ["青政辦發〔2024〕9號"]
    assert trad.text == s2t.convert(simp.text)
    for chrome in ("首頁", "當前位置", "發布時間", "分享到", "網站標識碼"):
        assert chrome not in trad.text
    raw = read_file(traditional)
    assert {k: raw.metadata[k] for k in ("number", "issuer", "date")} == {
        "number": "青政辦發〔2024〕9號",
        "issuer": "青陽區人民政府辦公室",
        "date": "2024-03-06",
    }


def test_an_issuer_mark_above_a_title_that_repeats_it(tmp_path: Path) -> None:
    # 江州市自然资源和规划局 over 江州市自然资源和规划局关于…的公告: a title never repeats its
    # first line, so the line above is the issuer's mark (a kicker), not the title's first line.
    mark = "江州市自然资源和规划局"
    title = f"{mark}关于江北新区G12地块国有建设用地使用权挂牌出让的公告"
    text = (
        f"{mark}\n\n{title}\n\n江自然资告〔2024〕15号\n\n"
        "经市人民政府批准，现将有关事项公告如下：\n\n一、出让面积35620平方米。\n\n"
        f"特此公告。\n\n{mark}\n2024年5月10日\n"
    )
    doc = parse_one(tmp_path, "notice.txt", text)
    assert doc.title == title
    assert [h.text for h in doc.headings if h.role == "kicker"] == [mark]
    assert role_texts(doc, "docnumber") == ["江自然资告〔2024〕15号"]
    # A title wrapped after the issuer's name is still one title.
    wrapped = text.replace(f"{mark}\n\n{title}", f"{mark}\n{title[len(mark) :]}")
    doc = parse_one(tmp_path, "wrapped.txt", wrapped)
    assert doc.title == title
    assert [h.text for h in doc.headings if h.role == "kicker"] == []


SPEECH = """# 在全市优化营商环境大会上的讲话

——2024年2月26日

市长　李明

同志们：

今天召开全市优化营商环境大会，主要任务是总结去年工作，部署今年任务。

## 一、充分肯定去年营商环境建设取得的成效

过去一年，全市新设经营主体12.8万户，同比增长15.3%。
"""


def test_who_gave_the_speech_is_its_byline(tmp_path: Path) -> None:
    # With a notice beside it, so that who gave the speech is a question among documents.
    source = tmp_path / "src"
    source.mkdir()
    (source / "讲话.md").write_text(SPEECH, encoding="utf-8")
    shutil.copy(FIXTURE, source / FIXTURE.name)
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none")
    for question in ("讲话是谁作的？", "谁发表了讲话？"):
        answer = assistant.answer(question)
        assert answer.found, question
        assert answer.quotes[0].text == "市长　李明"
        assert answer.quotes[0].citation.endswith("》署名")
    assert assistant.documents[answer.quotes[0].doc_id].date == "2024-02-26"


# A question-and-answer page (政策解读, 答记者问) and a statistical bulletin, as government
# sites publish them: the release line under the title, 问/答 pairs, the 附注 at the end.
QA_PAGE = """# 临江县城市管理局负责人就《临江县生活垃圾分类管理办法》答记者问

发布时间：2024-06-20　来源：临江县城市管理局

近日，《办法》经县人民政府常务会议审议通过。县城市管理局负责人回答了记者提问。

**问1：生活垃圾分为哪几类？**

答：《办法》将生活垃圾分为四类：可回收物、有害垃圾、厨余垃圾和其他垃圾。

二、问：违反《办法》会受到什么处罚？

答：个人未按规定分类投放生活垃圾的，处50元以上200元以下罚款。

三、问：《办法》什么时候开始施行？

答：《办法》自2024年8月1日起施行。
"""

BULLETIN = """临江县2023年国民经济和社会发展统计公报

　　全县经济持续恢复向好。

一、综合

　　全年全县地区生产总值326.58亿元，比上年增长6.3%。

二、旅游

　　全年接待国内外游客1526.3万人次，比上年增长42.6%。

附注：
　　1.本公报数据为初步统计数。
　　2.规模以上工业统计范围为年主营业务收入2000万元及以上的工业企业。
"""


def test_release_line_under_title_is_its_note_and_date(tmp_path: Path) -> None:
    doc = parse_one(tmp_path, "qa.md", QA_PAGE)
    release = next(p for p in doc.paragraphs if doc.text[p.start : p.end].startswith("发布时间"))
    assert release.role == "dateline"
    assert doc.date == "2024-06-20"
    assert all(not ref.title.startswith("发布时间") for p in doc.paragraphs for ref in p.section)


def test_question_heads_its_answer(tmp_path: Path) -> None:
    doc = parse_one(tmp_path, "qa.md", QA_PAGE)
    answers = [p for p in doc.paragraphs if doc.text[p.start : p.end].startswith("答：")]
    assert [p.role for p in answers] == ["body", "body", "body"]
    assert answers[0].section[-1].title == "问1：生活垃圾分为哪几类？"  # cited without **
    assert answers[1].section[-1].label == "二、"
    assert not [r for r in doc.repairs if r.kind == "fragment_flagged"]


def test_end_notes_close_the_last_part(tmp_path: Path) -> None:
    doc = parse_one(tmp_path, "bulletin.txt", BULLETIN)
    note = next(p for p in doc.paragraphs if doc.text[p.start : p.end].startswith("2.规模"))
    assert [ref.label for ref in note.section] == ["附注", "2."]


def test_question_heading_answered_by_what_stands_under_it(tmp_path: Path) -> None:
    assistant = assistant_of(tmp_path, "qa.md", QA_PAGE)
    answer = assistant.answer("垃圾分类管理办法什么时候开始施行？")
    assert answer.found
    assert answer.quotes[0].text.startswith("答：《办法》自2024年8月1日起施行")
    # A question none of whose words the page's questions hold is not answered by one.
    assert not assistant.answer("临江县的外贸进出口总额是多少？").found


def test_table_under_its_caption_is_no_item_of_the_paragraph_before(tmp_path: Path) -> None:
    text = (
        "江州市2023年统计公报\n\n一、综合\n\n　　全年居民消费价格比上年上涨0.4%。\n\n"
        "表1　居民消费价格涨跌幅度\n\n指标\t全市（%）\t农村（%）\n"
        "食品烟酒\t-1.2\t-1.7\n衣着\t1.3\t0.9\n"
    )
    assistant = assistant_of(tmp_path, "bulletin.txt", text)
    quotes = assistant.answer("居民消费价格上涨了多少？").quotes
    assert quotes and "表1" not in quotes[0].text


def test_bold_markdown_heading_keeps_its_numbering() -> None:
    from rag.parsing.blocks import marker_of

    marker = marker_of("**一、总体要求**")
    assert marker is not None and marker.label == "一、" and marker.rest == "总体要求"


def test_a_contact_line_under_any_document_is_its_note(tmp_path: Path) -> None:
    # 政策咨询电话：… under a 政策解读 with no 文号 and no 落款 (so no official document): what
    # a reader asks for, so quotable as its 附注; the editor's line under it stays metadata.
    text = (
        "关于《江州市人才住房补贴办法》的政策解读\n\n"
        "一、问：为什么要出台《办法》？\n\n"
        "答：为吸引和留住各类人才，完善人才安居保障体系，制定本办法。\n\n"
        "二、问：补贴标准是多少？\n\n"
        "答：A类人才购房补贴200万元，B类人才购房补贴100万元。\n\n"
        "政策咨询电话：0571-6123789（工作日9:00—17:00）\n\n"
        "编辑：李华\n"
    )
    doc = parse_one(tmp_path, "jiedu.txt", text)
    assert role_texts(doc, "annotation") == ["政策咨询电话：0571-6123789（工作日9:00—17:00）"]
    assert cite(doc, role_paragraph(doc, "annotation")).endswith("》附注")
    assert doc.metadata == ("编辑：李华",)


REQUEST = """澜州市生态环境局文件

澜环〔2024〕15号

关于申请拨付澜江支流综合整治工程经费的请示

市人民政府：

为加快推进澜江支流综合整治，改善流域水环境质量，我局拟于2024年实施澜江支流综合整治工程，总投资5000万元。现将有关事项请示如下：

一、工程建设内容包括河道清淤、生态护岸和截污管网建设。

二、特申请市级财政拨付专项经费2500万元，其余资金由区级财政统筹解决。工程完工后，评价结果报市财政局备案。

妥否，请批示。

澜州市生态环境局
2024年3月5日
"""


def test_whom_a_request_is_sent_up_to_is_its_addressee(tmp_path: Path) -> None:
    # A 请示 is 报 / 报送 / 呈报 to its 主送机关; before, 报给谁 quoted the sentence saying
    # 报市财政局备案, and 主送哪个单位 (cut 主 / 送) was refused with the 主送机关 ranked first.
    assistant = assistant_of(tmp_path, "request.txt", REQUEST)
    title = "关于申请拨付澜江支流综合整治工程经费的请示"
    for question in (
        "这份请示报给谁？",
        "这份请示呈报哪个单位？",
        "主送哪个单位？",
        "这份请示是发给谁的？",
    ):
        answer = assistant.answer(question)
        assert answer.found, question
        assert [(q.text, q.citation) for q in answer.quotes[:1]] == [
            ("市人民政府：", f"《{title}》主送机关")
        ], question
    # Who issued it is still the 落款.
    issued = assistant.answer("这份请示是哪个单位发的？")
    assert issued.quotes[0].citation == f"《{title}》落款"


def test_a_question_about_a_part_is_judged_lexically_on_a_dense_index(tmp_path: Path) -> None:
    # 报给谁 / 哪个单位发的 ask for the 主送机关 / 落款, whose words are names and dates: on an
    # index with sentence vectors (a real FAISS index, the deterministic hashing embedder)
    # they are answered as on a lexical one, while another question measures its cosines.
    from rag.embedding import HashingEmbedder
    from rag.settings import RetrievalMode

    source = tmp_path / "src"
    source.mkdir()
    (source / "request.txt").write_text(REQUEST, encoding="utf-8")
    rag.build_index(
        source, tmp_path / "dense", model="none", workers=1, embedder=HashingEmbedder(48)
    )
    rag.build_index(source, tmp_path / "lexical", model="none", workers=1)
    dense = rag.load(tmp_path / "dense", embedder=HashingEmbedder(48))
    lexical = rag.load(tmp_path / "lexical", model="none")
    for question in ("这份请示报给谁？", "这份请示是哪个单位发的？"):
        tokens = dense._state.generation.tokenizer.tokenize(question)
        examined = dense._state.selector.examine(question, tokens, 5, RetrievalMode.HYBRID)
        assert examined is not None and not examined.semantic, question
        got, want = dense.answer(question).to_dict(), lexical.answer(question).to_dict()
        for answer in (got, want):
            answer.pop("build_id")
        assert got == want, question
    question = "特申请市级财政拨付多少专项经费？"
    tokens = dense._state.generation.tokenizer.tokenize(question)
    examined = dense._state.selector.examine(question, tokens, 5, RetrievalMode.HYBRID)
    assert examined is not None and examined.semantic


PLAN = """江州市推进老旧小区改造工作实施方案

为加快推进我市老旧小区改造工作，结合我市实际，制定本实施方案。

一、改造内容

（一）完善类改造
1.加装电梯。在符合条件的多层住宅推进加装电梯，每台电梯给予财政补贴20万元。
责任单位：市住房城乡建设局、市市场监管局
2.停车设施建设。利用小区内空地建设停车位和电动自行车充电设施。
牵头单位：市公安局
完成时限：2024年底

二、保障措施

（一）加强资金保障。市级财政每年安排专项资金3亿元，各区按照1:1比例配套。
责任单位：市财政局，各区人民政府
"""


def test_who_does_an_item_of_a_plan_is_a_line_of_that_item(tmp_path: Path) -> None:
    # 实施方案 / 工作要点 print under each item who does it (责任单位：…, 牵头单位：…) and by
    # when (完成时限：…): lines of the item, never headings of the items after them.
    doc = parse_one(tmp_path, "plan.txt", PLAN)
    duty = {
        doc.text[p.start : p.end]: " ".join(ref.display for ref in p.section)
        for p in doc.paragraphs
        if doc.text[p.start : p.end].startswith(("责任单位", "牵头单位", "完成时限"))
    }
    assert duty == {
        "责任单位：市住房城乡建设局、市市场监管局": "一、 （一） 1.",
        "牵头单位：市公安局": "一、 （一） 2.",
        "完成时限：2024年底": "一、 （一） 2.",
        "责任单位：市财政局，各区人民政府": "二、 （一）",
    }
    assert not any(h.text.startswith("责任单位") for h in doc.headings)


def test_which_unit_does_an_item_is_quoted_from_its_duty_line(tmp_path: Path) -> None:
    answer = assistant_of(tmp_path, "plan.txt", PLAN).answer("加装电梯由哪个单位负责？")
    assert answer.found
    assert "责任单位：市住房城乡建设局、市市场监管局" in answer.quotes[0].text


DEPUTY_REPLY = """签发人：王建国　　　　　　　　　　类别：A类

江州市民政局关于市十六届人大一次会议第0123号代表建议的答复

江民建〔2023〕45号

尊敬的李明代表：

您提出的关于加快社区养老服务设施建设的建议收悉。经认真研究，现答复如下：

一、关于增加社区养老服务设施供给
截至2022年底，全市共建成社区综合为老服务中心42家。

二、关于资金保障
市级财政对新建社区综合为老服务中心按照每家最高200万元的标准给予补助。

联系人：张华
联系电话：0571-23111234

江州市民政局
2023年6月20日
"""


def test_the_fields_above_a_reply_are_its_head_marks(tmp_path: Path) -> None:
    # A 代表建议 / 提案 答复 (and a 上行文) prints its 签发人 and the 办理结果 class (A类) on a
    # line above the title: marks of the 版头, not the title.
    doc = parse_one(tmp_path, "reply.txt", DEPUTY_REPLY)
    assert doc.title == "江州市民政局关于市十六届人大一次会议第0123号代表建议的答复"
    assert role_texts(doc, "docmark") == ["签发人：王建国　　　　　　　　　　类别：A类"]
    assert role_texts(doc, "docnumber") == ["江民建〔2023〕45号"]
    asked = assistant_of(tmp_path, "reply.txt", DEPUTY_REPLY).answer("这份答复是谁签发的？")
    assert asked.found and asked.quotes[0].text.startswith("签发人：王建国")


def test_an_announcement_numbered_under_its_title_has_that_number(tmp_path: Path) -> None:
    # A 人大常委会 publishes each 地方性法规 it passes with an announcement titled by its
    # issuer alone and numbered on the next line: the number is its 发文字号, no heading.
    doc = parse_one(
        tmp_path,
        "gonggao.txt",
        "江州市人民代表大会常务委员会公告\n\n第12号\n\n"
        "《江州市养老服务条例》已由江州市第十五届人民代表大会常务委员会第二十三次会议于"
        "2020年12月30日通过，现予公布，自2021年3月1日起施行。\n\n"
        "江州市人民代表大会常务委员会\n2020年12月30日\n",
    )
    assert doc.title == "江州市人民代表大会常务委员会公告"
    assert role_texts(doc, "docnumber") == ["第12号"]
    assert [h.text for h in doc.headings if h.role == "section"] == []


def test_a_reply_is_addressed_to_its_deputy_and_closes_outside_its_points(
    tmp_path: Path,
) -> None:
    # A reply to a deputy is sent to that person (尊敬的李明代表：, its 主送机关); its courtesy
    # closing and its contact lines belong to no point of the reply (not to 二、).
    text = DEPUTY_REPLY.replace(
        "\n\n联系人：张华",
        "\n\n感谢您对民政工作的关心和支持，欢迎继续提出宝贵意见和建议。\n\n联系人：张华",
    )
    doc = parse_one(tmp_path, "reply.txt", text)
    assert role_texts(doc, "addressee") == ["尊敬的李明代表："]
    closing = [p for p in doc.body_paragraphs if doc.text[p.start :].startswith(("感谢", "联系人"))]
    assert len(closing) == 2
    assert all(p.section == () for p in closing)
    item = next(p for p in doc.body_paragraphs if "200万元" in doc.text[p.start : p.end])
    assert [r.display for r in item.section] == ["二、"]
    answer = assistant_of(tmp_path, "reply.txt", text).answer("补助标准是多少？")
    assert answer.found
    assert answer.quotes[0].text.endswith("给予补助。")
    # A greeting to all present, or a thanks that is a sentence of a point, stays text.
    assert (
        role_texts(
            parse_one(
                tmp_path, "speech.txt", DEPUTY_REPLY.replace("尊敬的李明代表：", "各位代表：")
            ),
            "addressee",
        )
        == []
    )
    from rag.parsing.blocks import is_closing

    assert is_closing("感谢您对民政工作的关心和支持，欢迎继续提出宝贵意见和建议。")
    assert not is_closing("感谢信应当在三日内寄出。")
