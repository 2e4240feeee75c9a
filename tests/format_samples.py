# ruff: noqa: E501  (HTML and WordprocessingML literals read best unwrapped)
"""Real files of each format made from the seed resolution, for tests and benchmarks.

The resolution (title, dateline, ten paragraphs) is taken from ``source/``; the column break of
the newspaper page ("要强" / "化全社会") is joined as a web page, a Word file or a PDF would have it.
Each generator returns the bytes of a real file: an HTML page wrapped in government-site chrome
(navigation, breadcrumb, sidebar, share buttons, footer) in one of several markup styles, a
``.docx`` written by python-docx, a ``.pdf`` drawn by reportlab with a CJK font, lines wrapping
mid-sentence under a running header and page numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt"

# Words that only the site chrome holds; none may reach the extracted article.
CHROME_WORDS = (
    "首页",
    "要闻",
    "政务公开",
    "当前位置",
    "相关链接",
    "分享到",
    "微信",
    "微博",
    "QQ空间",
    "打印本页",
    "关闭窗口",
    "主办单位",
    "ICP备",
    "版权所有",
    "网站地图",
    "联系我们",
    "字号",
    "浏览次数",
    "上一篇",
)
HEADER = "中共上海市委文件"
SITE = "上海市人民政府"


@dataclass(frozen=True)
class Article:
    title: str
    dateline: str
    paragraphs: tuple[str, ...]

    @property
    def blocks(self) -> tuple[str, ...]:
        return (self.title, self.dateline, *self.paragraphs)


def resolution() -> Article:
    """The resolution of the seed page, its column break joined."""
    lines = [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines()]
    lines = [line for line in lines if line]
    start = lines.index("## 十一届市委十一次全会决议")
    end = next(i for i, line in enumerate(lines) if line.endswith("不懈奋斗！"))
    title = lines[start].lstrip("# ")
    dateline = lines[start + 1]
    body: list[str] = []
    for line in lines[start + 2 : end + 1]:
        if body and not body[-1].endswith(("。", "！", "？", "：")):
            body[-1] += line
        else:
            body.append(line)
    return Article(title, dateline, tuple(body))


def resolution_text() -> str:
    """The resolution as the text file a user would have (markdown title, blank-line paragraphs)."""
    art = resolution()
    return "\n\n".join([f"## {art.title}", art.dateline, *art.paragraphs]) + "\n"


# --------------------------------------------------------------------------------------- HTML

HTML_STYLES = ("p", "br", "div", "indent", "table")


def _chrome_top() -> str:
    nav = "".join(
        f'<li><a href="/{i}">{w}</a></li>'
        for i, w in enumerate(["首页", "要闻", "政务公开", "政务服务", "互动交流", "网站地图"])
    )
    return f"""
<div class="top-bar">欢迎访问{SITE}门户网站 | <a href="/en">English</a> | 无障碍浏览 | 联系我们</div>
<header class="header"><a class="logo" href="/"><img src="logo.png" alt="{SITE}"></a>
<form class="search"><input name="q" placeholder="请输入关键词"><button>搜索</button></form></header>
<nav class="nav"><ul>{nav}</ul></nav>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/yw">要闻</a> &gt; 正文</div>
"""


def _chrome_side() -> str:
    links = "".join(
        f'<li><a href="/n{i}.html">{t}</a><span>2021-06-{20 + i}</span></li>'
        for i, t in enumerate(
            [
                "市政府常务会议研究城市数字化转型工作",
                "本市召开优化营商环境推进大会",
                "上海发布“十四五”规划纲要解读",
                "长三角一体化发展示范区建设取得新进展",
            ]
        )
    )
    return f"""<aside class="sidebar"><div class="box"><h3>相关链接</h3><ul>{links}</ul></div>
<div class="box"><h3>热点专题</h3><ul><li><a href="/zt1">党史学习教育</a></li>
<li><a href="/zt2">一网通办</a></li></ul></div></aside>"""


def _chrome_after_article() -> str:
    return """<div class="share">分享到：<a class="wx">微信</a> <a class="wb">微博</a>
<a class="qq">QQ空间</a></div>
<div class="tools"><a href="javascript:print()">【打印本页】</a> <a href="javascript:close()">【关闭窗口】</a></div>
<div class="prevnext"><p>上一篇：<a href="/p.html">本市举行防汛防台工作会议</a></p>
<p>下一篇：<a href="/n.html">市领导调研城市更新工作</a></p></div>"""


def _chrome_footer() -> str:
    return f"""<footer class="footer"><p><a href="/about">关于我们</a> | <a href="/map">网站地图</a> |
<a href="/contact">联系我们</a></p><p>主办单位：{SITE}办公厅　承办：上海市大数据中心</p>
<p>沪ICP备12345678号-1　沪公网安备31010102000000号</p>
<p>版权所有 © {SITE}　网站标识码3100000001</p></footer>
<script>var _hmt = _hmt || []; (function(){{ var hm = 1; }})();</script>"""


def _body(art: Article, style: str) -> str:
    date = f'<p style="text-align:center">{art.dateline}</p>'
    if style == "p":
        inner = date + "".join(f"<p>{p}</p>" for p in art.paragraphs)
    elif style == "indent":
        inner = date + "".join(
            f'<p style="text-indent:2em">\u3000\u3000{p}</p>' for p in art.paragraphs
        )
    elif style == "br":
        inner = (
            art.dateline
            + "<br><br>"
            + "<br>\n<br>\n".join("&nbsp;&nbsp;&nbsp;&nbsp;" + p for p in art.paragraphs)
        )
    elif style == "div":
        inner = f"<div>{art.dateline}</div>" + "".join(f"<div>{p}</div>" for p in art.paragraphs)
    elif style == "table":
        rows = "".join(f"<tr><td>\u3000\u3000{p}</td></tr>" for p in art.paragraphs)
        inner = (
            f'<table class="content"><tr><td align="center">{art.dateline}</td></tr>{rows}</table>'
        )
    else:
        raise ValueError(style)
    return inner


def html_page(art: Article, style: str = "p") -> bytes:
    """A government news page holding ``art`` in the given markup style, as UTF-8 bytes."""
    info = '<div class="info">来源：解放日报　发布时间：2021-06-23 07:30　字号：<a>大</a> <a>中</a> <a>小</a>　浏览次数：1024</div>'
    article = f"""<div class="article"><h1 class="title">{art.title}</h1>{info}
<div class="TRS_Editor" id="ivs_content">{_body(art, style)}</div>{_chrome_after_article()}</div>"""
    if style == "table":
        layout = f"""<table width="1000"><tr><td width="700">{article}</td>
<td width="300">{_chrome_side()}</td></tr></table>"""
    else:
        layout = f'<div class="main"><div class="left">{article}</div>{_chrome_side()}</div>'
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{art.title}_要闻_{SITE}</title>
<meta name="keywords" content="软实力,全会">
<meta name="description" content="{art.paragraphs[0][:40]}">
<link rel="stylesheet" href="/css/main.css"><style>.nav li{{float:left}}</style></head>
<body>{_chrome_top()}{layout}{_chrome_footer()}</body></html>"""
    return page.encode("utf-8")


# --------------------------------------------------------------------------------------- DOCX


def docx_document(art: Article) -> bytes:
    """The resolution as a Word file: Title style, a centred dateline, Normal paragraphs."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    document.core_properties.title = art.title
    document.add_heading(art.title, level=0)
    date = document.add_paragraph(art.dateline)
    date.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for paragraph in art.paragraphs:
        document.add_paragraph(paragraph)
    section = document.sections[0]
    section.header.paragraphs[0].text = HEADER
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------- PDF


def pdf_document(
    art: Article, *, header: str = HEADER, footer: str = "- {page} -", chars_per_line: int = 28
) -> bytes:
    """The resolution as a PDF with a text layer: a CJK CID font, first-line indents of two
    characters, lines wrapping mid-sentence, a running header and a page number on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    font, size, leading = "STSong-Light", 14, 24
    width, height = A4
    left = (width - chars_per_line * size) / 2
    top, bottom = height - 90, 90
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(art.title)
    page = 1
    y = top

    def chrome() -> None:
        pdf.setFont(font, 10)
        pdf.drawCentredString(width / 2, height - 50, header.format(page=page))
        pdf.line(left, height - 56, width - left, height - 56)
        pdf.drawCentredString(width / 2, 50, footer.format(page=page))

    def line_feed() -> None:
        nonlocal y, page
        y -= leading
        if y < bottom:
            chrome()
            pdf.showPage()
            page += 1
            y = top

    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, y, art.title)
    line_feed()
    line_feed()
    pdf.setFont(font, size)
    pdf.drawCentredString(width / 2, y, art.dateline)
    line_feed()
    for paragraph in art.paragraphs:
        rest = paragraph
        first = True
        while rest:
            pdf.setFont(font, size)
            room = (chars_per_line - (2 if first else 0)) * size
            cut = 1
            while cut < len(rest) and pdfmetrics.stringWidth(rest[: cut + 1], font, size) <= room:
                cut += 1
            piece, rest = rest[:cut], rest[cut:]
            pdf.drawString(left + (2 * size if first else 0), y, piece)
            first = False
            line_feed()
    chrome()
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def scanned_pdf() -> bytes:
    """A PDF page with only drawing on it (no text layer), like a scan."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for i in range(40):
        pdf.rect(60 + i * 10, 400 + (i % 7) * 12, 8, 8, fill=1)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


_NUMBERING_XML = """<w:abstractNum {ns} w:abstractNumId="90">
<w:multiLevelType w:val="multilevel"/>
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%1、"/><w:suff w:val="nothing"/></w:lvl>
<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="（%2）"/><w:suff w:val="nothing"/></w:lvl>
<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%3."/><w:suff w:val="tab"/></w:lvl>
<w:lvl w:ilvl="3"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="（%4）"/></w:lvl>
</w:abstractNum>"""
_TIANGAN_XML = """<w:abstractNum {ns} w:abstractNumId="91">
<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="ideographTraditional"/><w:lvlText w:val="%1．"/></w:lvl>
</w:abstractNum>"""


def numbered_docx() -> bytes:
    """A policy document whose 一、（一）1. and 甲． numbers come from Word list definitions
    (numbering.xml), not from typed text; with heading styles and a table."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    numbering = document.part.numbering_part.element
    ns = nsdecls("w")
    # abstractNum elements must precede num elements.
    first_num = numbering.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}num")
    for xml in (_NUMBERING_XML, _TIANGAN_XML):
        element = parse_xml(xml.format(ns=ns))
        if first_num is not None:
            first_num.addprevious(element)
        else:
            numbering.append(element)
    numbering.append(parse_xml(f'<w:num {ns} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    numbering.append(parse_xml(f'<w:num {ns} w:numId="91"><w:abstractNumId w:val="91"/></w:num>'))

    def item(text: str, num: int, level: int) -> None:
        p = document.add_paragraph(text)
        p._p.get_or_add_pPr().append(
            parse_xml(f'<w:numPr {ns}><w:ilvl w:val="{level}"/><w:numId w:val="{num}"/></w:numPr>')
        )

    document.add_heading("关于全面提升城市软实力的实施意见", level=0)
    document.add_paragraph("各区人民政府，市政府各委、办、局：")
    document.add_heading("总体要求", level=1)
    item("总体要求", 90, 0)
    item("指导思想", 90, 1)
    document.add_paragraph("以习近平新时代中国特色社会主义思想为指导。")
    item("基本原则", 90, 1)
    item("坚持放大共性优势与彰显个性特质相结合；", 90, 2)
    item("坚持对内凝聚人心与对外塑造形象相结合。", 90, 2)
    item("重点任务", 90, 0)
    item("弘扬社会主义核心价值观", 90, 1)
    item("铸牢精神内核。", 90, 2)
    item("甲项内容。", 91, 0)
    item("乙项内容。", 91, 0)
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate(
        [("序号", "任务", "责任单位"), ("1", "塑造城市品牌形象", "市委宣传部")]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("附件：任务分工表")
    document.sections[0].footer.paragraphs[0].text = "— 1 —"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --------------------------------------------------------------------- a statute with 目录

CONTENTS_STATUTE = Path(__file__).resolve().parent / "fixtures" / "statute_contents.txt"


def statute_docx_with_contents() -> bytes:
    """The statute of ``fixtures/statute_contents.txt`` as Word writes it: the title, the 题注,
    then a table of contents as Word's TOC field inside a content control (``目录`` in the TOC
    Heading style, entries in the ``toc 1``/``toc 2`` styles, each a hyperlink with a tab and
    a PAGEREF page number), then the chapters in Heading 1/2 styles and the articles."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    lines = [x.strip("\u3000") for x in CONTENTS_STATUTE.read_text(encoding="utf-8").splitlines()]
    start = lines.index("目　　录")
    body_at = lines.index(lines[start + 1], start + 2)
    entries = lines[start + 1 : body_at]
    ns = nsdecls("w")
    document = docx.Document()
    document.add_heading(lines[0], level=0)
    document.add_paragraph(lines[1])

    def entry(k: int, text: str) -> str:
        level = 2 if "节" in text.split("\u3000")[0] else 1
        anchor = f"_Toc{k:04d}"
        return (
            f'<w:p {ns}><w:pPr><w:pStyle w:val="TOC{level}"/>'
            '<w:tabs><w:tab w:val="right" w:leader="dot" w:pos="8296"/></w:tabs></w:pPr>'
            + (
                '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                '<w:r><w:instrText xml:space="preserve"> TOC \\o "1-3" \\h \\z \\u </w:instrText></w:r>'
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
                if k == 0
                else ""
            )
            + f'<w:hyperlink w:anchor="{anchor}" w:history="1"><w:r><w:t>{text}</w:t></w:r>'
            "<w:r><w:tab/></w:r>"
            '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r><w:instrText xml:space="preserve"> PAGEREF {anchor} \\h </w:instrText></w:r>'
            '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
            f"<w:r><w:t>{k + 1}</w:t></w:r>"
            '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:hyperlink>'
            + ('<w:r><w:fldChar w:fldCharType="end"/></w:r>' if k == len(entries) - 1 else "")
            + "</w:p>"
        )

    toc = parse_xml(
        f'<w:sdt {ns}><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/>'
        "<w:docPartUnique/></w:docPartObj></w:sdtPr><w:sdtContent>"
        f'<w:p><w:pPr><w:pStyle w:val="TOCHeading"/></w:pPr><w:r><w:t>{lines[start]}</w:t></w:r></w:p>'
        + "".join(entry(k, text) for k, text in enumerate(entries))
        + "</w:sdtContent></w:sdt>"
    )
    document.element.body.insert(len(document.element.body) - 1, toc)
    for line in lines[body_at:]:
        marker = line.split("\u3000")[0]
        if marker.endswith("章"):
            document.add_heading(line, level=1)
        elif marker.endswith("节"):
            document.add_heading(line, level=2)
        else:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


class _Pages:
    """An A4 PDF in a CJK CID font (STSong-Light), written from the top down: ``y`` is the
    next baseline; :meth:`new_page` prints the page number at the foot (``footer`` with the
    page, at height ``footer_y``) and starts the next page; :meth:`done` gives the bytes."""

    font = "STSong-Light"

    def __init__(self, footer: str = "- {page} -", footer_y: float = 50) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen import canvas

        pdfmetrics.registerFont(UnicodeCIDFont(self.font))
        self.width, self.height = A4
        self.out = io.BytesIO()
        self.pdf = canvas.Canvas(self.out, pagesize=A4)
        self.footer, self.footer_y = footer, footer_y
        self.page, self.y = 1, self.height - 90.0

    def new_page(self) -> None:
        self.pdf.setFont(self.font, 10)
        self.pdf.drawCentredString(
            self.width / 2, self.footer_y, self.footer.format(page=self.page)
        )
        self.pdf.showPage()
        self.page += 1
        self.y = self.height - 90

    def done(self) -> bytes:
        self.pdf.save()
        return self.out.getvalue()


def statute_pdf_with_contents() -> bytes:
    """The statute of ``fixtures/statute_contents.txt`` as a printed PDF: the title and 题注
    centred, a 目录 page whose entries run into dot leaders and a right-aligned page number,
    then the text from a new page (chapter headings centred, articles indented two characters
    and wrapping), a page number at the foot of every page."""
    from reportlab.pdfbase import pdfmetrics

    lines = [x.strip("\u3000") for x in CONTENTS_STATUTE.read_text(encoding="utf-8").splitlines()]
    start = lines.index("目　　录")
    body_at = lines.index(lines[start + 1], start + 2)
    pages = _Pages()
    pdf, font, width = pages.pdf, pages.font, pages.width
    size, leading, per_line = 14, 24, 28
    left = (width - per_line * size) / 2
    right = width - left

    def feed() -> None:
        pages.y -= leading
        if pages.y < 90:
            pages.new_page()

    def wrapped(text: str, indent: int) -> None:
        first = True
        while text:
            room = (per_line - (indent if first else 0)) * size
            cut = 1
            while cut < len(text) and pdfmetrics.stringWidth(text[: cut + 1], font, size) <= room:
                cut += 1
            pdf.setFont(font, size)
            pdf.drawString(left + (indent * size if first else 0), pages.y, text[:cut])
            text, first = text[cut:], False
            feed()

    pdf.setFont(font, 20)
    pdf.drawCentredString(width / 2, pages.y, lines[0])
    feed()
    feed()
    wrapped(lines[1], 0)
    feed()
    pdf.setFont(font, 16)
    pdf.drawCentredString(width / 2, pages.y, lines[start])
    feed()
    for k, entry in enumerate(lines[start + 1 : body_at]):
        indent = 2 * size if "节" in entry.split("\u3000")[0] else 0
        pdf.setFont(font, size)
        pdf.drawString(left + indent, pages.y, entry)
        number = str(k + 2)
        pdf.drawRightString(right, pages.y, number)
        dots_from = left + indent + pdfmetrics.stringWidth(entry, font, size) + 6
        dots_to = right - pdfmetrics.stringWidth(number, font, size) - 6
        count = int((dots_to - dots_from) / pdfmetrics.stringWidth("…", font, size))
        pdf.drawString(dots_from, pages.y, "…" * max(count, 0))
        feed()
    pages.new_page()
    for line in lines[body_at:]:
        marker = line.split("\u3000")[0]
        if marker.endswith(("章", "节")):
            pdf.setFont(font, size)
            pdf.drawCentredString(width / 2, pages.y, line)
            feed()
        else:
            wrapped(line, 2)
    pages.new_page()
    return pages.done()


# The notice of ``fixtures/official_notice.pdf`` (generated by ``official_notice_pdf``): one
# entry per block as the reader should give it, tables as rows of tab-separated cells.
NOTICE_MARK = "江州市应急管理局"
NOTICE_NUMBER = "江应急〔2024〕9号"
NOTICE_TITLE = ("江州市应急管理局", "关于2024年第一季度全市安全生产检查情况的通报")
NOTICE_ADDRESSEE = "各区应急管理局，市安委会各成员单位，各重点企业："
NOTICE_TEXT = (
    "为深入开展安全生产治本攻坚三年行动，2024年1月至3月，市应急管理局组织开展了第一季度"
    "安全生产检查。现将有关情况通报如下：",
    "一、基本情况",
    "本次检查共派出检查组26个，检查生产经营单位1382家，发现各类隐患4127项，已整改3905项，"
    "整改率94.6%。对存在重大事故隐患的17家企业依法责令停产整顿，立案处罚93起。",
    "二、存在的主要问题",
    "（一）主体责任落实不到位。部分企业主要负责人安全意识淡薄，安全生产责任制流于形式，"
    "全员安全培训覆盖率不足80%。",
    "（二）重点行业领域隐患突出。危险化学品企业特殊作业审批不规范，工贸企业粉尘涉爆场所除尘"
    "系统未定期清理，建筑施工高处作业防护缺失问题较为普遍。",
    "三、下一步工作要求",
    "各区应急管理局要督促企业对检查发现的隐患逐项整改，于4月30日前将整改情况报送市应急管理局"
    "。对逾期未整改的，一律依法从重处罚。",
)
NOTICE_ANNEX_NOTE = ("附件：1.2024年第一季度重大事故隐患企业名单", "2.安全生产检查先进单位名单")
NOTICE_SIGNATURE = ("江州市应急管理局", "2024年4月8日")
NOTICE_TABLE = (
    ("序号", "企业名称", "所在区", "隐患类型"),
    ("1", "江州宏达化工有限公司", "江北新区", "特殊作业未审批"),
    ("2", "滨江金属制品厂", "滨江区", "粉尘涉爆"),
    ("3", "江州华盛建筑工程有限公司", "秦淮区", "高处作业防护缺失"),
)
NOTICE_ANNEXES = (
    ("附件1", "2024年第一季度重大事故隐患企业名单"),
    ("附件2", "安全生产检查先进单位名单"),
)
NOTICE_LAST = "玄湖区应急管理局、秦淮区应急管理局、江州市消防救援支队、江州钢铁集团有限公司。"


# A table whose cells wrap (``wrapped_table_pdf``): each cell a tuple of the lines it is
# printed on; a cell of its own joins them, as the reader should give the row.
WRAPPED_TABLE_TITLE = "重大事故隐患企业名单"
WRAPPED_TABLE = (
    (("序号",), ("企业名称",), ("所在区",), ("隐患类型",)),
    (("1",), ("江州宏达化工有限公司",), ("江北新区",), ("特殊作业未审批",)),
    (("2",), ("江州华盛建筑工程有限", "公司"), ("秦淮区",), ("高处作业防护", "缺失")),
    (("3",), ("江州市玄湖区远航物流", "有限公司"), ("玄湖区",), ("仓储违规",)),
    (("4",), ("江州钢铁集团有限公司",), ("江北新区",), ("煤气区域监测", "报警装置未按", "期检定")),
    (("5",), ("滨江金属制品厂",), ("滨江区",), ("粉尘涉爆",)),
)
WRAPPED_TABLE_NOTE = "（其余14家企业略）"


def wrapped_table_pdf(
    rows: tuple[tuple[tuple[str, ...], ...], ...] = WRAPPED_TABLE,
    line_pitch: float = 18,
    row_pitch: float = 24,
) -> bytes:
    """A page with a title and a table of four columns without rules whose cells wrap: a
    wrapped cell's further lines stand under it ``line_pitch`` apart, the next row starts
    ``row_pitch`` under the row's last line; a note under the table. A cell of ``("",)`` is
    left empty."""
    pages = _Pages()
    pdf, font, width, y = pages.pdf, pages.font, pages.width, pages.y
    size, left = 12, 72
    pdf.setFont(font, 16)
    pdf.drawCentredString(width / 2, y, WRAPPED_TABLE_TITLE)
    y -= 40
    pdf.setFont(font, size)
    for row in rows:
        for x, cell in zip((0, 50, 200, 300), row, strict=True):
            for k, text in enumerate(cell):
                pdf.drawString(left + x, y - k * line_pitch, text)
        y -= row_pitch + (max(len(cell) for cell in row) - 1) * line_pitch
    pdf.drawString(left, y, WRAPPED_TABLE_NOTE)
    pdf.showPage()
    return pages.done()


def official_notice_pdf() -> bytes:
    """An official notice (通报) laid out as printed: the issuer's mark in large type without
    文件, the 文号 centred, the title centred over two lines, the 主送机关 at the margin,
    paragraphs and headings indented two characters, lines broken by character count (37 a
    line, as on a character grid, so a line with half-width digits ends short and 4127 is
    broken over two lines), the 附件说明, the signature set right; then each attachment on a
    page of its own under its label (附件1 at the top of the page, at the height where the
    text starts) with its title, the first a table of four columns without rules; a page
    number (— N —) at the foot of every page."""
    pages = _Pages("— {page} —", footer_y=40)
    pdf, font, width = pages.pdf, pages.font, pages.width
    size = 12
    left, right = 72, width - 72
    per_line = int((right - left) // size)

    def line(text: str, at: float = size, how: str = "left", indent: int = 0) -> None:
        pdf.setFont(font, at)
        if how == "centre":
            pdf.drawCentredString(width / 2, pages.y, text)
        elif how == "right":
            pdf.drawRightString(right, pages.y, text)
        else:
            pdf.drawString(left + indent * at, pages.y, text)
        pages.y -= at * 1.8

    def paragraph(text: str, indent: int = 2) -> None:
        first = True
        while text:
            count = per_line - (indent if first else 0)
            line(text[:count], indent=indent if first else 0)
            text, first = text[count:], False

    line(NOTICE_MARK, 20, "centre")
    pages.y -= size
    line(NOTICE_NUMBER, how="centre")
    pages.y -= size
    for title in NOTICE_TITLE:
        line(title, 16, "centre")
    pages.y -= size
    line(NOTICE_ADDRESSEE)
    for text in NOTICE_TEXT:
        paragraph(text)
    line(NOTICE_ANNEX_NOTE[0])
    line(NOTICE_ANNEX_NOTE[1], indent=3)
    pages.y -= size
    for text in NOTICE_SIGNATURE:
        line(text, how="right")
    for label, title in NOTICE_ANNEXES:
        pages.new_page()
        line(label)
        line(title, 16, "centre")
        pages.y -= size
        if label == "附件1":
            for row in NOTICE_TABLE:
                pdf.setFont(font, size)
                for x, cell in zip((0, 50, 230, 320), row, strict=True):
                    pdf.drawString(left + x, pages.y, cell)
                pages.y -= size * 2
            line("（其余14家企业略）")
        else:
            paragraph(NOTICE_LAST)
    pages.new_page()
    return pages.done()


# A plan's 专栏: a boxed list of projects set flush inside a frame narrower than the page.
BOXED_INTRO = (
    "推广新能源汽车，到2025年，城市公交车、出租车新能源比例达到95%以上，"
    "加快淘汰国三及以下排放标准营运柴油货车，完善充电基础设施布局。"
)
BOXED_TITLE = "专栏1　大气污染防治重点工程"
BOXED_ITEMS = (
    "1.钢铁行业超低排放改造工程：完成澜钢集团2家企业全流程超低排放改造。",
    "2.挥发性有机物治理工程：完成120家重点企业挥发性有机物深度治理。",
    "3.清洁能源替代工程：实施城区集中供热管网扩建，新增供热面积300万平方米。",
    "4.大气监测能力提升工程：新建乡镇空气质量自动监测站45个。",
)
BOXED_AFTER = "各县（区）人民政府对本行政区域生态环境质量负总责，将规划目标任务分解落实到年度计划。"


def boxed_column_pdf() -> bytes:
    """A page of a plan (规划) with a 专栏: a paragraph indented two characters, then a
    drawn frame two characters in from each margin holding its title (centred, larger) and
    numbered items set flush at the frame's margin, each broken by character count so that
    it wraps onto a line at the same margin (35 a line, as on a character grid); then a
    paragraph under the frame; a page number at the foot."""
    pages = _Pages("— {page} —", footer_y=40)
    pdf, font, width = pages.pdf, pages.font, pages.width
    size = 12
    left, right = 72, width - 72
    per_line = int((right - left) // size)

    def paragraph(text: str, x0: float, chars: int, indent: int) -> None:
        first = True
        while text:
            count = chars - (indent if first else 0)
            pdf.setFont(font, size)
            pdf.drawString(x0 + (indent * size if first else 0), pages.y, text[:count])
            text, first = text[count:], False
            pages.y -= size * 1.8

    paragraph(BOXED_INTRO, left, per_line, 2)
    lines = 1 + sum(-(-len(t) // (per_line - 4)) for t in BOXED_ITEMS)
    height = lines * size * 1.8 + 20
    top = pages.y + 18
    pdf.rect(left, top - height, right - left, height)
    pdf.setFont(font, 13)
    pdf.drawCentredString(width / 2, pages.y, BOXED_TITLE)
    pages.y -= 13 * 1.8
    for item in BOXED_ITEMS:
        paragraph(item, left + 2 * size, per_line - 4, 0)
    pages.y = top - height - 18
    paragraph(BOXED_AFTER, left, per_line, 2)
    pages.new_page()
    return pages.done()


# A plan's table of indicators, ruled, its 序号 column narrow.
RULED_TABLE = (
    ("序号", "指标", "2020年", "2025年目标", "属性"),
    ("1", "细颗粒物（PM2.5）浓度（微克/立方米）", "38", "33", "约束性"),
    ("2", "空气质量优良天数比率（%）", "82.5", "86", "约束性"),
    ("3", "森林覆盖率（%）", "41.2", "42", "预期性"),
)


def ruled_table_pdf() -> bytes:
    """A table drawn with rules round every cell, its first column (序号) so narrow that the
    gap between 序号 and 指标 is under two characters: the rules, not the gap, part them."""
    pages = _Pages()
    pdf, font = pages.pdf, pages.font
    left, right, size, pitch = 72, pages.width - 72, 10.5, 22
    columns = (0, 36, 276, 336, 408, right - left)
    top = pages.y + 15
    for row in RULED_TABLE:
        pdf.setFont(font, size)
        for x, cell in zip(columns, row, strict=False):
            pdf.drawString(left + x + 4, pages.y, cell)
        pages.y -= pitch
    bottom = top - len(RULED_TABLE) * pitch
    for k in range(len(RULED_TABLE) + 1):
        pdf.line(left, top - k * pitch, right, top - k * pitch)
    for x in columns:
        pdf.line(left + x, top, left + x, bottom)
    pages.new_page()
    return pages.done()


def hk_ordinance_docx() -> bytes:
    """A Hong Kong ordinance as e-Legislation lays it out in Word: Parts (第 1 部　導言) and
    titled sections (第 4 條　書面合約) as headings, subsections (1)(2) and paragraphs (a)(b)
    as text."""
    import docx

    document = docx.Document()
    document.core_properties.title = "家務助理僱傭條例"
    document.add_heading("家務助理僱傭條例", level=0)
    document.add_paragraph("本條例旨在就家務助理的僱傭條件訂定條文。")
    for heading, level, lines in (
        ("第 1 部　導言", 1, ()),
        ("第 1 條　簡稱", 2, ("本條例可引稱為《家務助理僱傭條例》。",)),
        ("第 2 部　僱傭合約", 1, ()),
        (
            "第 4 條　書面合約",
            2,
            (
                "(1) 僱主須在僱傭開始前與家務助理訂立書面僱傭合約。",
                "(2) 合約須列明——",
                "(a) 工資及支付日期；",
                "(b) 工作時數及休息日。",
            ),
        ),
    ):
        document.add_heading(heading, level=level)
        for line in lines:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
