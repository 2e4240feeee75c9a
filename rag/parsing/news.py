"""Stage 2c: the page layout — roles of blocks and documents on a page.

Blocks are classified (markdown heading, byline, photo credit, caption, in-text heading,
body paragraph) and grouped into documents: a byline or a title-level heading group after
body paragraphs starts a new one, which is how a newspaper page with a report and its side
report becomes two documents. The head blocks (title, kicker, subtitle, dateline, byline)
are collected here for every genre.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import (
    CAPTION_MAX_CHARS,
    COMPLETE_RE,
    DASH_RE,
    DATE_LINE_RE,
    DATE_PATTERN,
    DOC_MARK_RE,
    DOC_NUMBER_RE,
    HEADING_MAX_CHARS,
    Marker,
    Unit,
    is_attendance,
    is_byline,
    is_closing,
    is_contact_line,
    is_credit_line,
    is_heading_like,
    is_question,
    is_text_line,
    marker_of,
    stands_alone,
)

_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE_RE = re.compile(
    r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)
_DATELINE_WORDS_RE = re.compile(r"通过|发布|印发|公布|施行|颁布")
_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
# A web page's or a bulletin's release line under the title (发布时间：2024-03-18　来源：云川市
# 统计局　浏览次数：1024, 来源：… 发布日期：…): what the site says of the page, a note under
# the title (题注) dating the document, never the heading of the text below it.
_RELEASE_FIELD = (
    r"(?:发布|更新|发稿|成文|印发)?(?:时间|日期)|来源|作者|编辑"
    r"|责任编辑|浏览次数|点击数|访问量|字号"
)
_RELEASE_RE = re.compile(f"^(?:{_RELEASE_FIELD})\\s*[:：]")
# The header of a law database's page or text (全國法規資料庫: 法規名稱, 修正日期, 公布日期,
# 法規類別, 生效狀態; e-Legislation: 版本日期), read in Simplified script.
_LAW_FIELD_RE = re.compile(
    r"^(法规名称|法规类别|生效状态|(?:修正|公布|制定|施行|生效|废止|版本)日期)\s*[:：]"
)
# A date in the years of the Republic of China (民國 113 年 07 月 31 日 is 2024-07-31).
_ROC_DATE_RE = re.compile(r"民[国國]\s*(\d{1,3})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ROC_YEAR_ZERO = 1911
_RELEASE_DATE_RE = re.compile(r"(?:时间|日期)\s*[:：]")
# The issuer's mark at the top of an official document (国务院文件, 上海市人民政府文件).
_ISSUER_MARK_RE = re.compile(r"文件$")
# The 签发人 of a 上行文 (请示, 报告) on a line of its own under the 文号, as a Word file
# sets it in a right-aligned paragraph: part of the 版头's number line, not the title.
_SIGNER_RE = re.compile(
    r"^签发人\s*[：:]\s*[\u4e00-\u9fff·]{2,8}(?:[\s、，,]+[\u4e00-\u9fff·]{2,8}){0,5}$"
)
# The fields a document sent up or a reply to a deputy prints above its title, on one line
# or several (签发人：王建国　　类别：A类; 公开属性：主动公开): the 签发人, the 办理结果 class of a
# 代表建议 / 提案 答复 (A类 solved, B类 being solved, C类 noted) and whether it is published.
# Part of the 版头, never the title.
_HEAD_FIELD = (
    r"(?:签发人\s*[：:]\s*[\u4e00-\u9fff·]{2,8}(?:[、，,][\u4e00-\u9fff·]{2,8}){0,5}"
    r"|(?:办理结果|答复类别|类别|分类)\s*[：:]\s*[A-CＡ-Ｃ甲乙丙]\s*类?"
    r"|公开(?:属性|类型|方式)\s*[：:]\s*[\u4e00-\u9fff]{2,6})"
)
_HEAD_FIELDS_RE = re.compile(f"^{_HEAD_FIELD}(?:\\s+{_HEAD_FIELD})*$")
# The mark of an order (GB/T 9704 命令（令）格式: the issuer's full name and 令 or 命令,
# 国务院令, 江州市人民政府令) with its number on the next line (令号: 第45号, 第七百三十二号):
# the mark is no title, the number is the document's number (发文字号).
_ORDER_MARK_RE = re.compile(r"^[\u4e00-\u9fff]{2,30}(?:命令|令)$")
ORDER_NUMBER_RE = re.compile(r"^第\s*[\d〇零一二三四五六七八九十百千]{1,8}\s*[号號]$")
# An announcement titled by its issuer alone (…人民代表大会常务委员会公告, 国家税务总局公告)
# numbered on the next line (第12号, 2023年第1号): the mark is its title, the number its
# 发文字号 — as a 人大常委会 publishes each law or 地方性法规 it passes.
_ANNOUNCEMENT_MARK_RE = re.compile(r"^[\u4e00-\u9fff]{2,30}公告$")
_ANNOUNCEMENT_NUMBER_RE = re.compile(
    r"^(?:\d{4}\s*年\s*)?第\s*[\d〇零一二三四五六七八九十百千]{1,8}\s*[号號]$"
)
# How the title of an official document or statute ends: a title wrapped over two or three
# lines (…关于做好城市软实力 / 建设重点工作的通知) is one title when its last line ends so.
_TITLE_END_RE = re.compile(
    r"(?:通知|通报|通告|公告|公报|意见|决定|决议|办法|规定|条例|细则|规则|方案|规划|纲要|计划|报告|请示|批复"
    r"|函|纪要|法|法典|章程|准则)$"
)
TITLE_MAX_LINES = 3
# Under the title of minutes or a bulletin (GB/T 9704 纪要格式), its issue number (期号: 第12期)
# and the issuer with the date on one line (江州市人民政府办公厅　　2024年5月22日): marks of its
# head (版头), the date being the document's.
_ISSUE_RE = re.compile(r"^[（(]?第\s*[\d〇零一二三四五六七八九十百千]{1,6}\s*期[）)]?$")
_ISSUER_DATE_RE = re.compile(f"^[\u4e00-\u9fff]{{2,30}}[ \t\u3000]+{DATE_PATTERN}$")

# Under the title of a report or a speech, who gives it: a post and a name parted by a space
# (青阳区区长　周文涛, 市委书记 李明): its byline (署名), not a section heading.
_SPEAKER_RE = re.compile(
    r"^[\u4e00-\u9fff]{0,20}(?:长|书记|主任|主席|总理|委员)[ \t\u3000]+[\u4e00-\u9fff·]{2,5}$"
)


@dataclass
class Block:
    """A kept block of one document, before offsets in the canonical text are known."""

    role: str
    text: str
    lines: tuple[int, ...]
    level: int = 0
    marker: Marker | None = None
    # The block follows a picture, a caption or a cut-off paragraph, so its start may be the
    # continuation of a sentence from elsewhere on the page.
    after_break: bool = False
    # The block stands after the numbered text, in none of its sections (出席：… under minutes).
    outside: bool = False


@dataclass
class Draft:
    """One document being assembled: head blocks, body blocks (paragraphs and headings)."""

    head: list[Block] = field(default_factory=list)
    body: list[Block] = field(default_factory=list)
    title_level: int = 1
    has_paragraphs: bool = False

    def has(self, role: str) -> bool:
        return any(b.role == role for b in self.head)

    def add_body(self, block: Block) -> None:
        self.body.append(block)
        if block.role == "body":
            self.has_paragraphs = True


def classify(units: list[Unit]) -> int:
    """Give every unit its role; returns the blank-line gap that marks a removed picture."""
    before_text = True
    after_date = False
    for index, unit in enumerate(units):
        texts = [t.strip() for t in unit.raw]
        if unit.md_level:
            unit.role = "heading"
        elif index + 1 < len(units) and is_question(unit.text, units[index + 1].text):
            # The question of a 问/答 pair heads its answer (a section of its own).
            unit.role = "section"
        elif (before_text or after_date) and is_wrapped_title(texts):
            # The title of the file's first document, or of the next one under the date
            # that signs the one before (a gazette, a collection of documents), its issuer's
            # mark or its number.
            unit.role = "section"
        elif all(is_credit_line(t) for t in texts):
            unit.role = "credit"
        elif is_byline(texts):
            unit.role = "byline"
        elif is_text_line(unit.text):
            # A row of cells, an entry of a list (1.《…》（…）), the attendance of a meeting
            # (出席：…) or a closing formula (特此通知) is text, never a heading however short.
            unit.role = "body"
        elif is_heading_like(unit.text):
            unit.role = "section"
        else:
            unit.role = "body"
        before_text = before_text and unit.role != "body"
        after_date = stands_alone(unit.text) or (
            unit.role == "section" and _ISSUER_MARK_RE.search(unit.text) is not None
        )
    gap = image_gap(units)
    _mark_captions(units, gap)
    return gap


def image_gap(units: list[Unit]) -> int:
    """Blank lines that mark a removed picture: more than the file's usual separator."""
    gaps = sorted(u.gap_before for u in units[1:])
    usual = gaps[len(gaps) // 2] if gaps else 1
    return max(2, usual + 1)


def _mark_captions(units: list[Unit], gap: int) -> None:
    def short_plain(u: Unit) -> bool:
        return u.role in ("section", "body") and len(u.text) <= CAPTION_MAX_CHARS

    for index, unit in enumerate(units):
        if unit.role != "credit":
            continue
        # Short blocks between a picture gap and its credit line are the picture's captions.
        start = index
        while start > 0 and short_plain(units[start - 1]):
            start -= 1
        after_gap = [k for k in range(start, index) if units[k].gap_before >= gap]
        for k in range(after_gap[0] if after_gap else index, index):
            units[k].role = "caption"
    for index, unit in enumerate(units[:-1]):
        # A heading-like line right above a picture gap labels the picture.
        if (
            unit.role == "section"
            and marker_of(unit.text) is None
            and units[index + 1].gap_before >= gap
        ):
            unit.role = "caption"


def drafts(units: list[Unit], gap: int) -> list[Draft]:
    """Group classified units into documents.

    A byline or a title-level heading group after body paragraphs starts a new document.
    Captions and credits stay in the body, in reading order, as their own blocks.
    """
    out = [Draft()]
    index = 0
    previous: Unit | None = None
    while index < len(units):
        unit = units[index]
        doc = out[-1]
        if unit.role in ("caption", "credit"):
            for text, lines in _metadata_entries(unit):
                doc.add_body(Block(unit.role, text, lines))
        elif unit.role == "byline":
            if doc.has_paragraphs:
                doc = _new_draft(out)
            text = " ".join(t.strip() for t in unit.raw)
            doc.head.append(Block("byline", text, unit.lines))
        elif not doc.body and _law_fields(unit.raw):
            _place_law_fields(doc, unit)
        elif unit.role == "heading":
            end = index
            while end < len(units) and units[end].role == "heading":
                end += 1
            group = units[index:end]
            if doc.has_paragraphs and _starts_document(group, doc):
                doc = _new_draft(out)
            _place_heading_group(doc, group)
            previous, index = units[end - 1], end
            continue
        elif (
            not doc.body
            and not doc.has("docnumber")
            and all(DOC_MARK_RE.match(t.strip()) for t in unit.raw)
        ):
            # 份号, 密级, 紧急程度 above the issuer's mark: the 版头's marks, not the title.
            doc.head.append(Block("docmark", unit.text, unit.lines))
        elif (
            not doc.body
            and doc.has("title")
            and unit.role == "section"
            and (_ISSUE_RE.match(unit.text) or _ISSUER_DATE_RE.match(unit.text))
        ):
            # 第12期 / 江州市人民政府办公厅　2024年5月22日 under the title of minutes.
            doc.head.append(Block("docmark", unit.text, unit.lines))
        elif (
            not doc.body
            and doc.has("title")
            and not doc.has("byline")
            and unit.role == "section"
            and _SPEAKER_RE.match(unit.text)
        ):
            doc.head.append(Block("byline", unit.text, unit.lines))
        elif (
            not doc.body
            and doc.head
            and doc.head[-1].role == "docnumber"
            and _SIGNER_RE.match(unit.text.strip())
        ):
            # 澜环〔2024〕15号 / 签发人：周明远: the number line set over two paragraphs.
            number = doc.head[-1]
            number.text = f"{number.text}\n{unit.text}"
            number.lines = number.lines + unit.lines
        elif not doc.body and all(_HEAD_FIELDS_RE.match(t.strip()) for t in unit.raw):
            # 签发人：王建国　　类别：A类 above a reply's title: the 版头's marks.
            doc.head.append(Block("docmark", unit.text, unit.lines))
        elif unit.role == "section" and doc.has_paragraphs and _opens_next(doc, units, index):
            # Under the date that signs one official document, the next one's title, issuer
            # mark or number: a gazette or a collection holds one document after another.
            doc = _new_draft(out)
            if DOC_NUMBER_RE.match(unit.text):
                doc.head.append(Block("docnumber", unit.text, unit.lines))
            else:
                _place_plain_heading(doc, unit)
        elif not doc.body and ORDER_NUMBER_RE.match(unit.text) and _order_mark(doc):
            # 江州市人民政府令 / 第45号: an order's mark (a kicker, as …文件 is) and its number.
            doc.head[-1].role = "kicker"
            doc.head.append(Block("docnumber", unit.text, unit.lines))
        elif not doc.body and _ANNOUNCEMENT_NUMBER_RE.match(unit.text) and _announcement(doc):
            # 上海市人民代表大会常务委员会公告 / 第12号: the announcement's title and number.
            doc.head.append(Block("docnumber", unit.text, unit.lines))
        elif (
            not doc.has("docnumber")
            and DOC_NUMBER_RE.match(unit.text)
            and not any(b.marker is not None for b in doc.body)
        ):
            # 发文字号 above or under the title (a web page may print its metadata table
            # first), before the numbered text begins. Above the title, a first line such as
            # 国务院文件 is the issuer's mark (发文机关标志), not the title: the next heading is.
            if not doc.body:
                for block in doc.head:
                    if block.role == "title" and _ISSUER_MARK_RE.search(block.text):
                        block.role = "kicker"
            doc.head.append(Block("docnumber", unit.text, unit.lines))
        elif (
            not doc.body and doc.has("title") and not doc.has("dateline") and is_dateline(unit.text)
        ):
            doc.head.append(Block("dateline", unit.text, unit.lines))
        elif unit.role == "section":
            _place_plain_heading(doc, unit)
        else:
            after_break = unit.gap_before >= gap or _breaks_flow(previous)
            doc.add_body(
                Block(
                    "body",
                    unit.text,
                    unit.lines,
                    marker=marker_of(unit.text),
                    after_break=after_break,
                    outside=is_attendance(unit.text)
                    or is_closing(unit.text)
                    or is_contact_line(unit.text),
                )
            )
        previous = unit
        index += 1
    return out


def _opens_next(doc: Draft, units: list[Unit], index: int) -> bool:
    """``units[index]`` opens the next official document: it stands under the date line that
    signs ``doc`` and is a document number, a document's title (wrapped or not), or an
    issuer's mark (…文件) followed by either."""
    unit = units[index]
    if not _signed(doc):
        return False
    if DOC_NUMBER_RE.match(unit.text):
        return True
    if _ISSUER_MARK_RE.search(unit.text) and index + 1 < len(units):
        unit, index = units[index + 1], index + 1
        if DOC_NUMBER_RE.match(unit.text):
            return True
    elif _ORDER_MARK_RE.match(unit.text) and index + 1 < len(units):
        return ORDER_NUMBER_RE.match(units[index + 1].text) is not None
    lines = [unit.text]
    for nxt in units[index + 1 : index + TITLE_MAX_LINES]:
        if nxt.role != "section" or _TITLE_END_RE.search(lines[-1]):
            break
        lines.append(nxt.text)
    return marker_of(lines[0]) is None and (
        is_wrapped_title(lines) or (len(lines) == 1 and _TITLE_END_RE.search(lines[0]) is not None)
    )


def _order_mark(doc: Draft) -> bool:
    """The head so far is an order's mark alone (江州市人民政府令), taken for the title."""
    return _head_is_mark(doc, _ORDER_MARK_RE)


def _announcement(doc: Draft) -> bool:
    """The head so far is an announcement's title alone (…常务委员会公告), without a number."""
    return _head_is_mark(doc, _ANNOUNCEMENT_MARK_RE)


def _head_is_mark(doc: Draft, mark: re.Pattern[str]) -> bool:
    """The head so far is one line, the title, and it is such a mark."""
    return (
        len(doc.head) == 1
        and doc.head[0].role == "title"
        and "\n" not in doc.head[0].text
        and mark.match(doc.head[0].text) is not None
    )


def _signed(doc: Draft) -> bool:
    """The body ends with a bare date line, a signature's."""
    last = doc.body[-1] if doc.body else None
    return last is not None and last.role == "section" and DATE_LINE_RE.match(last.text) is not None


def _new_draft(out: list[Draft]) -> Draft:
    out.append(Draft())
    return out[-1]


def _breaks_flow(previous: Unit | None) -> bool:
    if previous is None:
        return False
    if previous.role in ("caption", "credit"):
        return True
    return previous.role == "body" and not COMPLETE_RE.search(previous.text)


def _metadata_entries(unit: Unit) -> list[tuple[str, tuple[int, ...]]]:
    if unit.role == "credit":
        return [(t.strip(), (n,)) for n, t in zip(unit.lines, unit.raw, strict=True) if t.strip()]
    return [(unit.text, unit.lines)]


def _title_index(group: list[Unit]) -> int | None:
    """The outermost unnumbered heading of a group that is not a subtitle."""
    eligible = [
        k for k, u in enumerate(group) if not DASH_RE.match(u.text) and marker_of(u.text) is None
    ]
    if not eligible:
        return None
    top = min(group[k].md_level for k in eligible)
    return next(k for k in eligible if group[k].md_level == top)


def _starts_document(group: list[Unit], doc: Draft) -> bool:
    title = _title_index(group)
    if title is None:
        return False
    has_subtitle = any(DASH_RE.match(u.text) for u in group[title + 1 :])
    return has_subtitle or group[title].md_level <= doc.title_level


def _place_heading_group(doc: Draft, group: list[Unit]) -> None:
    title = _title_index(group) if not doc.has("title") and not doc.body else None
    taken = _retitle(doc, group)
    for k, unit in enumerate(group):
        if k < taken:
            continue
        if title is not None and k < title:
            doc.head.append(Block("kicker", unit.text, unit.lines, unit.md_level))
        elif title is not None and k == title:
            doc.head.append(Block("title", unit.text, unit.lines, unit.md_level))
            doc.title_level = unit.md_level
        elif _extend_title(doc, unit):
            continue
        elif _is_subtitle(doc, unit.text):
            doc.head.append(Block("subtitle", unit.text, unit.lines, unit.md_level))
        else:
            doc.add_body(_section_block(unit))


def is_wrapped_title(lines: list[str]) -> bool:
    """Two or three short lines, none ending a sentence, that together end as a document's
    title does (…的通知): one title wrapped over several lines."""
    return (
        1 < len(lines) <= TITLE_MAX_LINES
        and all(is_heading_like(t) and marker_of(t) is None for t in lines)
        and _TITLE_END_RE.search(lines[-1]) is not None
    )


def _extend_title(doc: Draft, unit: Unit) -> bool:
    """Add ``unit`` to the title it continues (a PDF or a web page gives each line of a
    title wrapped over lines as a block of its own); False when it does not continue it."""
    last = doc.head[-1] if doc.head else None
    if (
        last is None
        or last.role != "title"
        or doc.body
        or last.level != unit.md_level
        or len(last.lines) >= TITLE_MAX_LINES
        or _TITLE_END_RE.search(last.text)
        or not is_wrapped_title([*last.text.split("\n"), unit.text])
    ):
        return False
    mark = re.sub(r"\s+", "", last.text)
    if "\n" not in last.text and re.sub(r"\s+", "", unit.text).startswith(mark):
        # 江州市自然资源和规划局 / 江州市自然资源和规划局关于…的公告: a title never repeats its
        # first line, so that line is the issuer's mark printed without 文件 (a kicker).
        last.role = "kicker"
        doc.head.append(Block("title", unit.text, unit.lines, unit.md_level))
        return True
    last.text = f"{last.text}\n{unit.text}"
    last.lines = last.lines + unit.lines
    return True


def _retitle(doc: Draft, units: list[Unit]) -> int:
    """The title under the 文号 when the first line above it was the issuer's mark printed
    without 文件 (江州市应急管理局 / 江应急〔2024〕9号 / 江州市应急管理局关于…的通报): the
    mark becomes the kicker and the leading ``units`` that end as a title does (wrapped over
    up to three lines, starting with the mark's name or 关于) the title. Returns how many
    units were taken (0: none, the title stays)."""
    numbered = [k for k, b in enumerate(doc.head) if b.role == "docnumber"]
    titles = [k for k, b in enumerate(doc.head) if b.role == "title"]
    if doc.body or not numbered or len(titles) != 1 or titles[0] > numbered[0]:
        return 0
    mark = doc.head[titles[0]]
    if "\n" in mark.text or _TITLE_END_RE.search(mark.text):
        return 0
    lines: list[str] = []
    taken: list[Unit] = []
    for unit in units[:TITLE_MAX_LINES]:
        taken.append(unit)
        lines.extend(t.strip() for t in unit.text.split("\n"))
        if len(lines) > TITLE_MAX_LINES:
            return 0
        if _TITLE_END_RE.search(lines[-1]):
            break
    else:
        return 0
    if not lines[0].startswith((re.sub(r"\s+", "", mark.text), "关于")):
        return 0
    if not (is_wrapped_title(lines) or (len(lines) == 1 and is_heading_like(lines[0]))):
        return 0
    mark.role = "kicker"
    text, numbers = "\n".join(lines), tuple(n for u in taken for n in u.lines)
    doc.head.append(Block("title", text, numbers, taken[0].md_level))
    return len(taken)


def _law_fields(raw: tuple[str, ...]) -> bool:
    """Every line is a field of a law database's header (法規名稱：…, 修正日期：民國 113 年…,
    法規類別：…, 生效狀態：…, as law.moj.gov.tw prints them; 版本日期：… on e-Legislation)."""
    return bool(raw) and all(_LAW_FIELD_RE.match(t.strip()) for t in raw if t.strip())


def _place_law_fields(doc: Draft, unit: Unit) -> None:
    """A law database's header fields, line by line: the law's name is the title (when no
    line above gave one), its date field the dateline that dates it, the others the 版头's
    marks; none of them is a heading of the text below."""
    for raw, line in zip(unit.raw, unit.lines, strict=True):
        at, text = (line,), raw.strip()
        field = _LAW_FIELD_RE.match(text)
        if field is None:
            continue
        value = text[field.end() :].strip()
        if field.group(1) == "法规名称" and value and not doc.has("title"):
            doc.head.append(Block("title", value, at))
        elif field.group(1).endswith("日期") and date_of(text) and not doc.has("dateline"):
            doc.head.append(Block("dateline", text, at))
        else:
            doc.head.append(Block("docmark", text, at))


def _place_plain_heading(doc: Draft, unit: Unit) -> None:
    if _extend_title(doc, unit) or _retitle(doc, [unit]):
        return
    if not doc.has("title") and not doc.body and marker_of(unit.text) is None:
        doc.head.append(Block("title", unit.text, unit.lines))
    elif _is_subtitle(doc, unit.text):
        doc.head.append(Block("subtitle", unit.text, unit.lines))
    else:
        doc.add_body(_section_block(unit))


def _is_subtitle(doc: Draft, text: str) -> bool:
    return (
        doc.has("title") and not doc.body and not doc.has("subtitle") and bool(DASH_RE.match(text))
    )


def _section_block(unit: Unit) -> Block:
    return Block("section", unit.text, unit.lines, unit.md_level, marker=marker_of(unit.text))


def is_dateline(text: str) -> bool:
    """``(2021年6月22日……全体会议通过)`` or a bare date under the title."""
    if "\n" in text or len(text) > 3 * HEADING_MAX_CHARS:
        return False
    if is_release_line(text):
        return True
    if date_of(text) and re.fullmatch(r"[\d〇零一二三四五六七八九十年月日\s]+", text):
        return True
    wrapped = re.fullmatch(r"[（(].*[)）]", text) is not None
    return wrapped and bool(date_of(text) or _DATELINE_WORDS_RE.search(text))


def is_release_line(text: str) -> bool:
    """``发布时间：2024-03-18　来源：云川市统计局``: a page's release line (fields of the page,
    one of them its date) under the title."""
    return (
        "\n" not in text
        and _RELEASE_RE.match(text) is not None
        and _RELEASE_DATE_RE.search(text) is not None
        and bool(date_of(text))
    )


def date_of(text: str) -> str:
    """The first date in ``text`` as ``YYYY-MM-DD``, or ``""`` (``2024-03-18`` on a page's
    release line, see :func:`is_release_line`)."""
    match = _DATE_RE.search(text)
    if not match and (_RELEASE_RE.match(text) or _LAW_FIELD_RE.match(text)):
        match = _ISO_DATE_RE.search(text)
    roc = None if match else _ROC_DATE_RE.search(text)
    if roc:
        year, month, day = (int(g) for g in roc.groups())
        year += _ROC_YEAR_ZERO
    elif match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _CN_DATE_RE.search(text)
        if not match:
            return ""
        digits = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
        year = int("".join(str(digits[c]) for c in match.group(1)))
        month, day = _cn_small_number(match.group(2)), _cn_small_number(match.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def all_dates(text: str) -> list[str]:
    """Every date in ``text`` as ``YYYY-MM-DD``, in order."""
    out = []
    for match in _DATE_RE.finditer(text):
        date = date_of(match.group())
        if date:
            out.append(date)
    return out


def _cn_small_number(text: str) -> int:
    """一 … 三十一."""
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")}
    if "十" not in text:
        return digits.get(text, 0)
    tens, _, ones = text.partition("十")
    return (digits.get(tens, 0) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)


__all__ = ["Block", "Draft", "classify", "date_of", "drafts", "is_dateline"]
