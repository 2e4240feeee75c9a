"""Format readers on real files of each format, made in the tests (tests/format_samples.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from format_samples import (
    BOXED_AFTER,
    BOXED_INTRO,
    BOXED_ITEMS,
    BOXED_TITLE,
    CHROME_WORDS,
    HEADER,
    HTML_STYLES,
    NOTICE_ANNEX_NOTE,
    NOTICE_ANNEXES,
    NOTICE_LAST,
    NOTICE_TABLE,
    NOTICE_TEXT,
    RULED_TABLE,
    WRAPPED_TABLE,
    WRAPPED_TABLE_NOTE,
    boxed_column_pdf,
    docx_document,
    html_page,
    numbered_docx,
    pdf_document,
    resolution,
    ruled_table_pdf,
    scanned_pdf,
    wrapped_table_pdf,
)

from rag.errors import SourceError
from rag.parsing import load_documents
from rag.parsing.readers import SUPPORTED_SUFFIXES, read_data, read_file
from rag.parsing.readers.docx import chinese_number, format_number
from rag.parsing.readers.text import decode
from rag.sources import scan_sources

ART = resolution()
FIXTURES = Path(__file__).parent / "fixtures"
NOTICE_PDF = FIXTURES / "official_notice.pdf"


def _texts(doc) -> list[str]:
    return [b.text for b in doc.blocks]


def test_every_format_has_a_reader() -> None:
    assert {".txt", ".md", ".jsonl", ".html", ".htm", ".docx", ".pdf"} <= SUPPORTED_SUFFIXES


# ---------------------------------------------------------------------------------- HTML


@pytest.mark.parametrize("style", HTML_STYLES)
def test_html_page_yields_only_the_article(style: str) -> None:
    doc = read_data(html_page(ART, style), Path("page.html"))
    assert _texts(doc) == list(ART.blocks)
    assert doc.blocks[0].kind == "title"
    assert not [w for w in CHROME_WORDS if w in doc.text]
    assert doc.text == "\n\n".join(ART.blocks)
    # What was left out is listed, not silently lost.
    assert any("首页" in line for line in doc.dropped)
    assert any("版权所有" in line for line in doc.dropped)
    assert doc.metadata["title"] == ART.title and doc.metadata["date"] == "2021-06-23"


def test_html_headings_lists_and_tables_keep_their_kind() -> None:
    body = "".join(f"<p>{p}</p>" for p in ART.paragraphs[:3])
    page = (
        "<html><body><nav><a href='/'>首页</a> <a href='/yw'>要闻</a></nav>"
        "<div class='article'><h1>关于做好防汛工作的通知</h1>"
        f"<p>各区人民政府：</p><h2>一、总体要求</h2>{body}<p>坚持人民至上、生命至上。</p>"
        "<ul><li>加强监测预警；</li><li>落实应急值守。</li></ul>"
        "<table><tr><td>区</td><td>责任人</td></tr><tr><td>黄浦区</td><td>张三</td></tr></table>"
        "<p>特此通知。</p></div><footer>版权所有</footer></body></html>"
    ).encode("gbk")
    doc = read_data(page, Path("通知.htm"))
    kinds = {b.text: b.kind for b in doc.blocks}
    assert kinds["关于做好防汛工作的通知"] == "title"
    # trafilatura leaves this short heading out; it lies inside the article, so it is put back.
    assert kinds["一、总体要求"] == "heading"
    assert kinds["加强监测预警；"] == "list_item"
    assert kinds["黄浦区\t张三"] == "table_row"
    assert "版权所有" not in doc.text and "特此通知。" in doc.text
    assert doc.dropped == ("首页 要闻", "版权所有")


def test_html_article_spaced_by_full_width_space_or_nbsp_is_read_once() -> None:
    # 第一条　本… with U+3000, &nbsp;, two U+3000 or a spaced <span>: the extractor writes the
    # space as one ASCII space, the page line keeps it. Compared as written, every such
    # article was taken for a line the extractor had left out and restored a second time.
    doc = read_file(FIXTURES / "notice_fullwidth_spaces.html")
    texts = _texts(doc)
    assert len(texts) == len(set(texts))
    assert [t[:3] for t in texts if t.startswith("第")] == [
        "第一条",
        "第二条",
        "第三条",
        "第四条",
        "第五条",
    ]
    assert "第一条 本通告所称中心城区，是指绕城高速公路以内的区域。" in texts
    assert texts[-3:] == ["特此通告。", "江州市公安局", "2023年12月25日"]
    # Only the chrome is listed as left out, not the articles.
    assert doc.dropped == (
        "首页 | 政务公开 | 互动交流",
        "版权所有：江州市人民政府\u3000网站标识码：3201000001",
    )
    (parsed,) = load_documents(FIXTURES / "notice_fullwidth_spaces.html").documents
    body = [parsed.text[p.start : p.end] for p in parsed.body_paragraphs]
    assert len(body) == 7 and body[-1] == "特此通告。"
    # The closing formula closes the notice, not its last article.
    last = [p.section[-1].key if p.section else "" for p in parsed.body_paragraphs][-2:]
    assert last == ["第五条", ""]


def test_html_line_left_out_by_the_extractor_is_restored_once_at_its_place() -> None:
    # Lines compared without their whitespace: the short heading the extractor drops inside
    # the article still comes back, once, before the articles under it (before, the articles
    # spaced with U+3000 were unmatched, and it came back after them with their copies).
    articles = zip("一二三", ART.paragraphs, strict=False)
    body = "".join(f"<p>第{n}条\u3000{p}</p>" for n, p in articles)
    page = (
        "<html><body><nav><a href='/'>首页</a> <a href='/yw'>要闻</a></nav>"
        "<div class='article'><h1>关于做好防汛工作的通知</h1>"
        f"<p>各区人民政府：</p><h2>一、总体要求</h2>{body}"
        "<ul><li>加强监测预警；</li><li>落实应急值守。</li></ul>"
        "<table><tr><td>区</td><td>责任人</td></tr><tr><td>黄浦区</td><td>张三</td></tr></table>"
        "<p>特此通知。</p></div><footer>版权所有</footer></body></html>"
    ).encode("gbk")
    doc = read_data(page, Path("通知.htm"))
    texts = _texts(doc)
    assert [t[:3] for t in texts[1:6]] == ["各区人", "一、总", "第一条", "第二条", "第三条"]
    assert texts[3] == f"第一条 {ART.paragraphs[0]}"
    assert len(texts) == len(set(texts)) and doc.dropped == ("首页 要闻", "版权所有")


def test_html_without_an_article_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="no article text"):
        read_data(b"<html><body><nav></nav></body></html>", Path("empty.html"))


# ---------------------------------------------------------------------------------- DOCX


def test_docx_paragraphs_title_and_header_chrome() -> None:
    doc = read_data(docx_document(ART), Path("决议.docx"))
    assert _texts(doc) == list(ART.blocks)
    assert doc.blocks[0].kind == "title"
    assert doc.metadata["title"] == ART.title
    assert doc.dropped == (HEADER,)
    assert HEADER not in doc.text


def test_docx_styles_named_in_traditional_script_are_title_and_headings() -> None:
    import io

    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    for name in ("標題", "標題 1", "標題 2"):
        document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("關於全面提升城市軟實力的實施意見", style="標題")
    document.add_paragraph("總體要求", style="標題 1")
    document.add_paragraph("指導思想", style="標題 2")
    document.add_paragraph("全會指出。")
    out = io.BytesIO()
    document.save(out)
    doc = read_data(out.getvalue(), Path("意見.docx"))
    # 標題 and 標題 1 are the styles 标题 and 标题 1 of a Simplified Word.
    assert [(b.kind, b.level) for b in doc.blocks] == [
        ("title", 1),
        ("heading", 1),
        ("heading", 2),
        ("paragraph", 0),
    ]
    assert doc.blocks[0].text == "關於全面提升城市軟實力的實施意見"


def test_docx_automatic_numbering_is_rendered_as_word_shows_it() -> None:
    doc = read_data(numbered_docx(), Path("意见.docx"))
    blocks = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert blocks[0] == ("title", 1, "关于全面提升城市软实力的实施意见")
    assert ("heading", 1, "总体要求") in blocks
    items = [b.text for b in doc.blocks if b.kind == "list_item"]
    assert items == [
        "一、总体要求",
        "（一）指导思想",
        "（二）基本原则",
        "1.坚持放大共性优势与彰显个性特质相结合；",
        "2.坚持对内凝聚人心与对外塑造形象相结合。",
        "二、重点任务",
        "（一）弘扬社会主义核心价值观",  # a deeper level restarts under a new 二、
        "1.铸牢精神内核。",
        "甲．甲项内容。",
        "乙．乙项内容。",
    ]
    levels = {b.text[:3]: b.level for b in doc.blocks if b.kind == "list_item"}
    assert levels["一、总"] == 1 and levels["（一）"] == 2 and levels["1.坚"] == 3
    rows = [b.text for b in doc.blocks if b.kind == "table_row"]
    assert rows == ["序号\t任务\t责任单位", "1\t塑造城市品牌形象\t市委宣传部"]
    assert doc.blocks[-1].text == "附件：任务分工表"
    assert doc.dropped == ("— 1 —",)


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (1, "chineseCounting", "一"),
        (10, "chineseCounting", "十"),
        (11, "chineseCounting", "十一"),
        (20, "chineseCountingThousand", "二十"),
        (105, "chineseCounting", "一百零五"),
        (110, "chineseCounting", "一百一十"),
        (3, "ideographTraditional", "丙"),
        (12, "decimal", "12"),
        (3, "decimalEnclosedCircle", "③"),
        (2, "decimalEnclosedParen", "⑵"),
        (4, "lowerRoman", "iv"),
        (28, "upperLetter", "BB"),
        (7, "decimalFullWidth", "７"),
    ],
)
def test_word_number_formats(value: int, fmt: str, shown: str) -> None:
    assert format_number(value, fmt) == shown


def test_chinese_number_thousands() -> None:
    assert chinese_number(1001) == "一千零一"
    assert chinese_number(2021) == "二千零二十一"


def test_old_binary_doc_and_broken_docx_are_clear_errors() -> None:
    with pytest.raises(SourceError, match=r"old binary Word document \(\.doc\)"):
        read_data(b"\xd0\xcf\x11\xe0" + b"\x00" * 100, Path("a.docx"))
    with pytest.raises(SourceError, match=r"not a readable \.docx"):
        read_data(b"PK\x03\x04 broken", Path("b.docx"))


# ----------------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("footer", ["- {page} -", "第{page}页 共3页", "{page}/3", "{page}"])
def test_pdf_paragraphs_rebuilt_and_chrome_removed(footer: str) -> None:
    doc = read_data(pdf_document(ART, footer=footer), Path("决议.pdf"))
    assert _texts(doc) == list(ART.blocks)
    assert doc.blocks[0].kind == "title" and doc.blocks[0].page == 1
    assert doc.blocks[-1].page == 3
    pages = [b.page for b in doc.blocks]
    assert pages == sorted(pages) and set(pages) == {1, 2, 3}
    assert HEADER not in doc.text
    # Spaces between Chinese characters are layout in a PDF: 第1页 共3页 reads 第1页共3页.
    numbers = [footer.format(page=n).replace("页 共", "页共") for n in (1, 2, 3)]
    assert sorted(doc.dropped) == sorted([HEADER] * 3 + numbers)
    assert doc.metadata["title"] == ART.title


def test_pdf_paragraph_spanning_a_page_break_keeps_its_first_page() -> None:
    doc = read_data(pdf_document(ART), Path("决议.pdf"))
    # The fifth body paragraph starts at the foot of page 1 and ends on page 2.
    spanning = next(b for b in doc.blocks if b.text.startswith("全会指出，大力弘扬"))
    assert spanning.page == 1 and spanning.text == ART.paragraphs[3]


def test_a_single_page_pdf_keeps_a_line_that_is_not_chrome() -> None:
    short = type(ART)(ART.title, ART.dateline, ART.paragraphs[:1])
    doc = read_data(pdf_document(short, footer="- {page} -"), Path("one.pdf"))
    # One page: the header cannot be told from text by repetition, so it is kept; the page
    # number is recognised by its pattern.
    assert _texts(doc) == [HEADER, short.title, short.dateline, short.paragraphs[0]]
    assert doc.dropped == ("- 1 -",)


@pytest.mark.parametrize("footer", ["第{page}頁 共1頁", "頁碼 {page}"])
def test_a_traditional_page_number_is_chrome(footer: str) -> None:
    import opencc

    s2t = opencc.OpenCC("s2t").convert
    short = type(ART)(s2t(ART.title), s2t(ART.dateline), (s2t(ART.paragraphs[0]),))
    doc = read_data(pdf_document(short, header=s2t(HEADER), footer=footer), Path("one.pdf"))
    # 第1頁 and 頁碼 are read as 第1页 and 页码: a page number, as in a Simplified PDF (the
    # spaces between its characters are layout).
    assert _texts(doc) == [s2t(HEADER), short.title, short.dateline, short.paragraphs[0]]
    assert doc.dropped == (footer.format(page=1).replace(" ", ""),)


def test_a_running_header_numbered_by_page_is_chrome() -> None:
    header = "江州日报第{page}版"
    doc = read_data(pdf_document(ART, header=header), Path("报.pdf"))
    assert _texts(doc) == list(ART.blocks)
    assert [t for t in doc.dropped if "日报" in t] == [header.format(page=n) for n in (1, 2, 3)]


def test_a_pdf_notice_keeps_its_paragraphs_labels_and_table() -> None:
    """tests/fixtures/official_notice.pdf (``format_samples.official_notice_pdf``): lines
    broken by character count, so lines with digits end short of the margin; 附件1 and 附件2
    at the top of their pages, where the text starts; a table without rules."""
    doc = read_file(NOTICE_PDF)
    texts = _texts(doc)
    # Each paragraph whole: a first-line indent, a line short by its half-width digits or a
    # number broken over two lines (隐患4 / 127项) does not split it.
    for paragraph in (*NOTICE_TEXT, NOTICE_LAST):
        assert paragraph in texts
    assert "发现各类隐患4127项" in doc.text
    assert [t for t in texts if t.startswith("附件")] == [NOTICE_ANNEX_NOTE[0], "附件1", "附件2"]
    # 附件1 / 附件2 name their attachment, not the page: text, not a running header.
    assert doc.dropped == ("— 1 —", "— 2 —", "— 3 —")
    labels = [b for b in doc.blocks if b.text in ("附件1", "附件2")]
    assert [(b.kind, b.page) for b in labels] == [("paragraph", 2), ("paragraph", 3)]
    assert [texts[texts.index(label) + 1] for label, _ in NOTICE_ANNEXES] == [
        title for _, title in NOTICE_ANNEXES
    ]
    # The table's rows, cells joined by tabs as the .docx reader gives them.
    rows = [b for b in doc.blocks if b.kind == "table_row"]
    assert [b.text for b in rows] == ["\t".join(row) for row in NOTICE_TABLE]
    assert {b.page for b in rows} == {2}
    assert texts[texts.index(rows[-1].text) + 1] == "（其余14家企业略）"


def _table_rows(doc) -> list[str]:
    return [b.text for b in doc.blocks if b.kind == "table_row"]


def test_a_wrapped_table_cell_continues_its_row(tmp_path: Path) -> None:
    """A cell whose text wraps (企业名称 and 隐患类型 of row 2, one cell of row 3, three
    lines of row 4) continues its row: the further lines stand under their cells, none in
    the first column, closer than the rows are; each piece joins its cell, verbatim."""
    path = tmp_path / "名单.pdf"
    path.write_bytes(wrapped_table_pdf())
    doc = read_file(path)
    assert _table_rows(doc) == ["\t".join("".join(cell) for cell in row) for row in WRAPPED_TABLE]
    assert [b.text for b in doc.blocks if b.kind != "table_row"][-1] == WRAPPED_TABLE_NOTE


def test_a_row_without_a_first_cell_at_the_rows_pitch_stays_a_row(tmp_path: Path) -> None:
    """A line under the columns but the first, as far from the row above as rows are (a
    first column merged over two rows), is a row of its own, not a wrapped cell."""
    rows = (*WRAPPED_TABLE[:2], (("",), ("江州宏达物流有限公司",), ("江北新区",), ("仓储违规",)))
    path = tmp_path / "名单.pdf"
    path.write_bytes(wrapped_table_pdf(rows, line_pitch=24))
    doc = read_file(path)
    texts = ["\t".join("".join(cell) for cell in row if cell != ("",)) for row in rows]
    assert _table_rows(doc) == texts


def test_a_boxed_column_keeps_its_items_whole(tmp_path: Path) -> None:
    """A plan's 专栏 (a drawn frame narrower than the page, its items set flush at the
    frame's margin): a line reaching the frame's right margin continues its item, the next
    item's number after a finished one starts a paragraph; nothing joins across the frame."""
    path = tmp_path / "规划.pdf"
    path.write_bytes(boxed_column_pdf())
    doc = read_file(path)
    texts = [b.text.replace("\u3000", "") for b in doc.blocks]
    title = BOXED_TITLE.replace("\u3000", "")
    assert texts == [BOXED_INTRO, title, *BOXED_ITEMS, BOXED_AFTER]


def test_a_ruled_tables_rules_part_its_cells(tmp_path: Path) -> None:
    """A ruled table whose narrow first column leaves less than the column gap between 序号
    and 指标: the vertical rule between them parts the cells, so the header is a row too."""
    path = tmp_path / "指标.pdf"
    path.write_bytes(ruled_table_pdf())
    assert _table_rows(read_file(path)) == ["\t".join(row) for row in RULED_TABLE]


def test_scanned_pdf_needs_ocr_first() -> None:
    with pytest.raises(SourceError, match="needs OCR first"):
        read_data(scanned_pdf(), Path("scan.pdf"))


def test_broken_pdf_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="not a readable PDF"):
        read_data(b"%PDF-1.4 broken", Path("x.pdf"))


# ---------------------------------------------------------------------------------- text


SIMPLIFIED = "全会由市委常委会主持。"
TRADITIONAL = "全會由市委常委會主持。"


@pytest.mark.parametrize(
    ("text", "encoding", "name"),
    [
        (SIMPLIFIED, "utf-8", "utf-8"),
        (SIMPLIFIED, "utf-8-sig", "utf-8-sig"),
        (SIMPLIFIED, "utf-16", "utf-16"),
        (SIMPLIFIED, "utf-32", "utf-32"),
        (SIMPLIFIED, "gbk", "gb18030"),
        (SIMPLIFIED, "gb18030", "gb18030"),
        (TRADITIONAL, "big5", "big5"),
        (TRADITIONAL, "gb18030", "gb18030"),
        ("上海市人民政府办公厅", "gbk", "gb18030"),
        ("臺北市政府", "big5", "big5"),
    ],
)
def test_short_chinese_texts_decode_in_every_encoding(text: str, encoding: str, name: str) -> None:
    assert decode(text.encode(encoding)) == (text, name)


def test_legacy_text_of_two_characters_is_ambiguous_but_decodes() -> None:
    # GBK "上海" is also valid Big5; below ~10 characters the detector may pick either
    # (benchmarks/readers_encoding.py: 100 % from 10 characters up). It never fails.
    text, encoding = decode("上海".encode("gbk"))
    assert encoding in ("gb18030", "big5") and len(text) == 2


def test_undecodable_text_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="neither UTF-8"):
        decode(b"abc \xff\xfe\xfd \x80")
    with pytest.raises(SourceError, match="UTF-16 BOM"):
        decode(b"\xff\xfe\x00\xd8")  # a lone surrogate


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    path = tmp_path / "决议.md"
    path.write_text(
        "---\ngenre: 决议\ntitle: 十一届市委十一次全会决议\ndate: 2021-06-22\n---\n"
        "# 标题\n\n正文。\n",
        encoding="utf-8",
    )
    doc = read_file(path)
    assert doc.fmt == "markdown"
    assert dict(doc.metadata) == {
        "genre": "决议",
        "title": "十一届市委十一次全会决议",
        "date": "2021-06-22",
    }
    # The front matter's lines become empty lines: line numbers stay those of the file.
    assert doc.text.splitlines()[5] == "# 标题" and "genre" not in doc.text


def test_front_matter_errors_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ngenre: [决议\n---\n正文。\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"a\.md: .*invalid YAML front matter"):
        read_file(tmp_path / "a.md")
    (tmp_path / "b.md").write_text("---\ncolour: red\n---\n正文。\n", encoding="utf-8")
    with pytest.raises(SourceError, match="unknown metadata key 'colour'"):
        read_file(tmp_path / "b.md")


@pytest.mark.parametrize("suffix", [".meta.yaml", ".meta.json"])
def test_a_sidecar_states_the_genre_of_any_format(tmp_path: Path, suffix: str) -> None:
    pdf = tmp_path / "决议.pdf"
    pdf.write_bytes(pdf_document(ART))
    side = tmp_path / f"决议.pdf{suffix}"
    if suffix == ".meta.json":
        side.write_text(json.dumps({"kind": "决议", "date": "2021-06-22"}), encoding="utf-8")
    else:
        side.write_text("kind: 决议\ndate: 2021-06-22\n", encoding="utf-8")
    doc = read_file(pdf)
    assert doc.metadata["genre"] == "决议" and doc.metadata["date"] == "2021-06-22"
    assert doc.metadata["title"] == ART.title  # from the PDF itself


def test_a_sidecar_key_in_traditional_script(tmp_path: Path) -> None:
    page = tmp_path / "決議.html"
    page.write_bytes(html_page(ART, "p"))
    (tmp_path / "決議.html.meta.yaml").write_text("文種: 決議\n標題: 全會決議\n", encoding="utf-8")
    doc = read_file(page)
    assert doc.metadata["genre"] == "決議" and doc.metadata["title"] == "全會決議"


# ---------------------------------------------------------------------------------- scan


def test_scan_reads_every_format_and_reports_chrome(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_bytes(html_page(ART, "br"))
    (tmp_path / "b.docx").write_bytes(docx_document(ART))
    (tmp_path / "c.pdf").write_bytes(pdf_document(ART))
    (tmp_path / "c.pdf.meta.yaml").write_text("genre: 决议\n", encoding="utf-8")
    scan = scan_sources(tmp_path)
    assert [(f.rel, f.format) for f in scan.files] == [
        ("a.html", "html"),
        ("b.docx", "docx"),
        ("c.pdf", "pdf"),
    ]
    for f in scan.files:
        assert f.text.startswith(f"## {ART.title}\n\n{ART.dateline}\n\n")
        assert f.document is not None
    assert scan.files[2].document is not None
    assert scan.files[2].document.metadata["genre"] == "决议"
    # The sidecar is metadata, not a skipped document; removed chrome is reported per file.
    assert not [w for w in scan.warnings if "meta.yaml" in w]
    assert [w.split(":")[0] for w in scan.warnings] == ["a.html", "b.docx", "c.pdf"]
    assert "6 line(s) of page chrome" in scan.warnings[2]


def test_scan_collects_every_bad_file(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf())
    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 10)
    with pytest.raises(SourceError) as info:
        scan_sources(tmp_path)
    message = str(info.value)
    assert message.startswith("2 source file(s) cannot be read")
    assert "scan.pdf: the PDF has no text layer" in message and "old.docx: an old binary" in message
