"""Stage 1: a file's lines → blocks with their layout context.

Blank lines separate blocks (a line of only invisible characters such as U+200B, U+FEFF,
NBSP or full-width spaces is blank), markdown headings stand alone, a run of lines that each
end a sentence is one paragraph per line, and markup comments (``<!-- INFO END -->``) are
taken out of the text and kept as markers. The classifiers of single blocks (numbering,
credits, bylines, heading-like lines) live here too: every genre outline uses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..sentences import CLOSERS, SENTENCE_END, is_table_row

# A block this short without sentence-final punctuation reads as a heading.
HEADING_MAX_CHARS = 40
# Captions can be a full sentence, but never a long paragraph.
CAPTION_MAX_CHARS = 100

CN_NUM = "一二三四五六七八九十百千零〇两兩"
_FINAL = re.escape(SENTENCE_END)
_CLOSE = re.escape(CLOSERS + "》")
# Characters that show nothing: a line of only these is a blank line.
INVISIBLE = " \t\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff\u202f\u2002\u2003\u2009"
_MD_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?!#)[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_MARKUP_RE = re.compile(r"^\s*<!--(.*?)-->\s*$")
HAS_FINAL_RE = re.compile(f"[{_FINAL}]")
# A paragraph is complete when it ends in sentence-final punctuation, or in a colon that
# introduces a list, optionally followed by closing quotes/brackets.
COMPLETE_RE = re.compile(f"[{_FINAL}：:][{_CLOSE}]*$")
# Headings never end in a comma, enumeration comma or colon: those are cut-off sentences.
_CONTINUES_RE = re.compile(r"[，、：:,;（(“‘《—-]$")
# Starts mid-sentence: with punctuation, or a lone character followed by 、 or a dash
# (``跑、携最优者同行`` is the tail of a word such as 领跑).
HEAD_FRAGMENT_RE = re.compile(f"^(?:[，。、；：！？,.;:!?{_CLOSE}]|[\u4e00-\u9fff](?:、|—))")
DASH_RE = re.compile(r"^(?:——|──|--)")
_CREDIT_PREFIX_RE = re.compile(r"^(?:制图|摄影|摄像|图片|图表|图|视频|设计|绘图|漫画)\s*[：:]")
_BYLINE_RE = re.compile(
    r"^(?P<bullet>[■□●◆▲★]\s*)?(?P<org>本报|新华社|人民日报|中新社|央视)?"
    r"(?:特约|见习|实习|首席)?(?:记者|通讯员|评论员)"
)

# Official numbering, outermost first; the rank orders the two families 编>章>节>条 and
# 一、>（一）>1.>（1）>①, and puts articles (条) outside list items. ``第一百二十八 条`` (a
# space before 条) and ``第十七条之一`` are articles too, in either script (編, 節, 條).
# Taiwan's laws space and number theirs in Arabic digits, a later insertion with a hyphen
# (``第 1 條``, ``第 22-1 條``, ``第 一 章``).
_ARTICLE_RE = re.compile(
    f"^第[ \u3000]?(?:[{CN_NUM}]+|\\d+(?:-\\d+)?)[ \u3000]?([编編章节節条條])(?:之[{CN_NUM}]+)?"
)
_PART_RE = re.compile(f"^第[{CN_NUM}\\d]+分[编編]")
# A Hong Kong ordinance's Part and Division (第 1 部　導言, 第 2 分部　…, as e-Legislation
# prints them): the 编 and 节 of its sections, always followed by a space or nothing.
_HK_PART_RE = re.compile(f"^第[ \u3000]?(?:[{CN_NUM}]+|\\d+)[ \u3000]?(分?部)(?=[ \u3000]|$)")
ARTICLE_RANKS = {"编": 10, "分编": 15, "章": 20, "节": 30, "条": 40}
ARTICLE_RANKS |= {"編": 10, "節": 30, "條": 40}
_LIST_MARKERS = (
    (re.compile(f"^[{CN_NUM}]+、"), 50),
    (re.compile("^[甲乙丙丁戊己庚辛壬癸]、"), 55),
    (re.compile(f"^[（(][{CN_NUM}]+[）)]"), 60),
    (re.compile(r"^\d{1,3}(?:[.．](?!\d)|、)"), 70),
    (re.compile(r"^[（(]\d{1,3}[）)]"), 80),
    (re.compile(r"^[①-⑳]"), 90),
)
LIST_RANK_MIN = 50
# 1.、（1）、①: items of a list, below the 一、 and （一） headings.
ITEM_RANK_MIN = 70
# An item naming a work in 《》 or ending in a bracketed note (1.《江州市道路挖掘管理办法》
# （2015年市政府令第12号公布）) is an entry of a list, not the heading of what follows it, nor
# a sentence cut off: no clause inside it (a comma, a colon) and no final full stop.
_LISTED_RE = re.compile(r"^《[^《》]+》|[》）)]$")
_CLAUSE_RE = re.compile(f"[{_FINAL}，,；;：:]")
# Who attended a meeting (GB/T 9704 纪要格式: 出席：…, 请假：…, 列席：… under the text) and who
# took the minutes (记录：…; a Traditional file's 記錄 is read folded): a line of text however
# short or unfinished, never a heading, a fragment or a note of metadata.
_ATTENDANCE_RE = re.compile(
    r"^(?:(?:出席|列席|请假|缺席)(?:人员|单位|领导|同志)?|记录(?:人|员)?)\s*[：:]\s*\S"
)
# Who does an item of a plan and by when (实施方案, 工作要点, 任务分工: 责任单位：…, 牵头单位：…,
# 配合部门：…, 完成时限：… on the line under the item): text of that item however short, never
# a heading of what follows, so it is read and cited under the item it assigns.
_DUTY_RE = re.compile(
    r"^[（(]?(?:(?:牵头|责任|主责|主办|配合|协办|参与|协同|落实)(?:单位|部门|处室|领导)"
    r"|(?:完成|办结)(?:时限|时间)|时间节点|时限要求)[）)]?\s*[：:]\s*\S"
)
# The closing formula of an official document (特此通知。, 特此通告。, 此复。): it closes the
# whole text, not its last article or item.
_CLOSING_RE = re.compile(
    r"^(?:特此(?:通知|通告|公告|通报|函告|函复|函达|批复|报告|决定|说明)|此复|此致)[。！!]?$"
)
# The courtesy closing a reply or a letter ends its text with (感谢您对民政工作的关心和支持，…):
# like 特此函复, it closes the whole reply, not its last point.
_THANKS_RE = re.compile(
    r"^(?:再次)?(?:衷心)?(?:感谢|谢谢)(?:您|你们|你|各位|贵[\u4e00-\u9fff]{1,3})?"
    r"(?:长期以来)?对[^。\n]{1,40}?(?:的)?(?:关心|支持|关注|理解|帮助|信任)"
)
# A line giving whom to ask and how (联系人：王明　联系电话：…, 政策咨询电话：…, 监督举报邮箱：…):
# what a reader asks for, under any document its 附注, never metadata, and above a reply's
# 落款 it belongs to no point of the reply.
_CONTACT_RE = re.compile(
    r"^[（(]?[\u4e00-\u9fff]{0,6}(?:联系人|联系电话|联系方式|咨询电话|电话|传真|热线|邮箱|电子邮箱|"
    r"通讯地址|联系地址)\s*[：:]"
)
# An attachment of an official document (附件, 附件2, 附件：分工表): outside all numbering, so
# its own 一、（一） are cited under it (附件 一、 （一）), not taken for the main text's.
_ATTACHMENT_RE = re.compile(f"^附件[ \u3000]?(?:\\d{{1,2}}|[{CN_NUM}]{{1,3}})?(?=$|[：:\\s])")
ATTACHMENT_RANK = 5
# The notes at the end of a statistical bulletin or a report (附注 / 附注： alone, its items
# 1. 2. under it): they belong to no numbered part, so the heading closes the last one, as
# 附件 does.
_END_NOTES_RE = re.compile(r"^附\s*注\s*[：:]?$")
# A line wholly in brackets under a title is its 题注 or dateline, not the title's tail.
# A question-and-answer page (政策解读, 答记者问, 一问一答): each question on a line of its own
# (一、问：…？, 问1：…？, 记者：…？, bold in Markdown), its answer in the paragraphs under it
# (答：…, 发言人：…, …负责人：…). The question is the heading of its answer: the pair is one
# section, cited by the question, and the answer is read under it.
_QA_NUMBER = f"(?:[{CN_NUM}]+、|\\d{{1,2}}[.．、]|[（(][{CN_NUM}\\d]+[）)])?"
_QUESTION_RE = re.compile(
    f"^(?:\\*\\*)?{_QA_NUMBER}\\s*(?:问\\s*\\d{{0,2}}|记者)\\s*[：:].*[？?](?:\\*\\*)?$"
)
_ANSWER_RE = re.compile(
    "^(?:\\*\\*)?\\s*(?:答\\s*\\d{0,2}|[\u4e00-\u9fff]{0,20}(?:发言人|负责人))\\s*(?:\\*\\*)?[：:]"
)
QUESTION_MAX_CHARS = 150
_BOLD_LINE_RE = re.compile(r"^(\*\*|__)(?=\S)([^\n*_]+?)(?<=\S)\1$")
_WRAPPED_RE = re.compile(r"^[（(][^（()）]*(?:[（(][^（()）]*[）)][^（()）]*)*[）)]$")
# The document number of an official document (发文字号: 国办发〔2021〕18号, 沪府规〔2021〕3号,
# 國辦發〔2021〕18號, or bracketed under the title as web pages print it: （国发〔2021〕7号）)
# and a bare date line (成文日期 under the signature): each stands on a line of its own, never
# the tail of the title or of the signature above it.
DOC_NUMBER_RE = re.compile(
    r"^[（(]?[\u4e00-\u9fff]{1,12}\s*[〔\[［(（]\s*\d{4}\s*[〕\]］)）]\s*第?\s*\d{1,5}\s*[号號][）)]?"
    # a 上行文 prints its 签发人 on the same line (沪府〔2021〕5号　　签发人：王华)
    r"(?:\s*签发人\s*[：:]\s*[\u4e00-\u9fff·]{2,8}(?:[\s、，,]+[\u4e00-\u9fff·]{2,8}){0,5})?$"
)
# The marks above the issuer's mark (GB/T 9704 版头): 份号 (six digits), 密级 and its
# 保密期限 (机密★1年), 紧急程度 (特急, 加急), each on a line of its own.
DOC_MARK_RE = re.compile(
    r"^(?:\d{6}|(?:绝密|机密|秘密)(?:\s*[★☆*]\s*[\w年月个]{1,8})?|特急|加急|特提|平急|急件)$"
)
# A date as the 成文日期 writes it: 2021年6月30日 or 二〇二一年六月三十日.
DATE_PATTERN = (
    r"(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
    r"|[〇零一二三四五六七八九]{4}\s*年\s*[一二三四五六七八九十]{1,3}\s*月\s*[一二三四五六七八九十]{1,3}\s*日)"
)
DATE_LINE_RE = re.compile(f"^{DATE_PATTERN}$")
# The heading of a table of contents: 目录, 目 录, 目　　录.
_CONTENTS_RE = re.compile(r"^目\s*[录次]$|^contents$", re.IGNORECASE)


@dataclass
class Unit:
    """A block of source lines with its layout context."""

    lines: tuple[int, ...]
    raw: tuple[str, ...]
    text: str
    gap_before: int
    md_level: int = 0
    role: str = ""


@dataclass(frozen=True)
class Marker:
    """The numbering that opens a block: its label as cited, its rank, the rest of the text."""

    label: str
    rank: int
    rest: str


@dataclass(frozen=True)
class Markup:
    """A markup comment line taken out of the text (``<!-- INFO END -->``)."""

    line: int
    text: str


def is_blank(line: str) -> bool:
    """True for an empty line or one of only invisible characters."""
    return not line.strip(INVISIBLE + "\r\n\f\v")


def split_units(text: str) -> tuple[list[Unit], list[Markup]]:
    """Split a file's text into blocks.

    Args:
        text: The decoded file text (LF line ends).

    Returns:
        The blocks in file order and the markup comment lines taken out.

    Runs in one pass over the lines: linear in the size of the file.
    """
    units: list[Unit] = []
    markups: list[Markup] = []
    run: list[tuple[int, str]] = []
    blank = 0

    def flush() -> None:
        nonlocal blank
        for piece in _split_run(run):
            gap = blank if units else 0  # blank lines at the top of the file are no image
            units.append(_text_unit(piece, gap))
            blank = 0
        run.clear()

    for number, line in enumerate(text.split("\n"), start=1):
        if is_blank(line):
            flush()
            blank += 1
            continue
        markup = _MARKUP_RE.match(line)
        if markup:
            flush()
            markups.append(Markup(number, line.strip()))
            blank = 0  # a line of its own: the blank lines around it are no picture gap
            continue
        heading = _MD_HEADING_RE.match(line)
        if heading and heading.group(2).strip():
            flush()
            gap = blank if units else 0
            title = heading.group(2).strip()
            units.append(Unit((number,), (line,), title, gap, md_level=len(heading.group(1))))
            blank = 0
            continue
        run.append((number, line.rstrip()))
    flush()
    return units, markups


def _text_unit(piece: list[tuple[int, str]], gap: int) -> Unit:
    lines = tuple(n for n, _ in piece)
    raw = tuple(line for _, line in piece)
    return Unit(lines, raw, "\n".join(raw).strip(), gap)


def _split_run(run: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Cut a run of consecutive lines into paragraphs.

    Plain-text official documents often put one paragraph per line with no blank line in
    between, while wrapped text breaks lines mid-sentence. A line break is a paragraph break
    only after a complete sentence or a numbered heading (三、工作要求), before an indented
    line or a numbering marker, around a document number or a bare date line, and around
    every row of a table (two or more table rows in a row: each row is a paragraph, as the
    readers give a Word or web table's rows). Bylines and credit blocks (names on
    hard-broken lines) stay whole.
    """
    if len(run) <= 1:
        return [run] if run else []
    texts = [line.strip() for _, line in run]
    if is_byline(texts) or all(is_credit_line(t) for t in texts):
        return [run]
    table = _table_lines(texts)
    pieces: list[list[tuple[int, str]]] = [[run[0]]]
    for index, (prev_text, item) in enumerate(zip(texts, run[1:], strict=False), start=1):
        line = item[1]
        if (
            table[index - 1]
            or table[index]
            or COMPLETE_RE.search(prev_text)
            or stands_alone(prev_text)
            or stands_alone(line.strip())
            or (marker_of(prev_text) is not None and is_heading_like(prev_text))
            or is_contents_heading(prev_text)
            or is_contents_heading(line)
            or (_WRAPPED_RE.match(line.strip()) is not None and is_heading_like(prev_text))
            or line[:1] in ("\u3000", "\t")
            or line.startswith("  ")
            or marker_of(line.strip()) is not None
            or is_attendance(line.strip())
            or is_duty_line(line.strip())
        ):
            pieces.append([item])
        else:
            pieces[-1].append(item)
    return pieces


def _table_lines(texts: list[str]) -> list[bool]:
    """Which lines are rows of a table: table rows (:func:`is_table_row`) next to another.

    A lone line with a tab (``第一条\t本法…`` wrapped onto the next line) is prose as before;
    a table has a header and at least one row (a markdown table its rule line too).
    """
    rows = [is_table_row(t) for t in texts]
    last = len(rows) - 1
    return [
        row and ((k > 0 and rows[k - 1]) or (k < last and rows[k + 1]))
        for k, row in enumerate(rows)
    ]


def unbold(text: str) -> str:
    """A line wholly in Markdown strong emphasis (``**问1：…？**``, a heading written bold
    instead of with #) without the marks; any other text as it is."""
    match = _BOLD_LINE_RE.match(text)
    return match.group(2) if match else text


def marker_of(text: str) -> Marker | None:
    """The numbering that starts ``text``: ``第十条``, ``三、``, ``（二）``, ``1.`` …

    The label is the numbering as cited: spaces inside (``第一百二十八 条``) are removed.
    A bold line's numbering is read inside the emphasis (``**一、总体要求**``).
    """
    text = unbold(text)
    attachment = _ATTACHMENT_RE.match(text)
    if attachment:
        label = re.sub(r"[ \u3000]", "", attachment.group())
        return Marker(label, ATTACHMENT_RANK, text[attachment.end() :].lstrip("：: \u3000"))
    if _END_NOTES_RE.match(text):
        return Marker("附注", ATTACHMENT_RANK, "")
    part = _PART_RE.match(text)
    if part:
        label = part.group()
        return Marker(label, ARTICLE_RANKS["分编"], text[len(label) :].strip())
    hk_part = _HK_PART_RE.match(text)
    if hk_part:
        label = hk_part.group()
        rank = ARTICLE_RANKS["编" if hk_part.group(1) == "部" else "节"]
        return Marker(re.sub(r"[ \u3000]", "", label), rank, text[len(label) :].strip())
    article = _ARTICLE_RE.match(text)
    if article:
        label = article.group()
        clean = re.sub(r"[ \u3000]", "", label)
        return Marker(clean, ARTICLE_RANKS[article.group(1)], text[len(label) :].strip())
    for pattern, rank in _LIST_MARKERS:
        match = pattern.match(text)
        if match:
            label = match.group()
            return Marker(label, rank, text[len(label) :].strip())
    return None


def is_contents_heading(line: str) -> bool:
    """``目录`` / ``目　　录`` alone on a line: the heading of a table of contents."""
    return bool(_CONTENTS_RE.match(re.sub(f"[{INVISIBLE}#]", "", line)))


def is_credit_line(line: str) -> bool:
    """``均本报记者 叶辰亮摄`` or ``制图：李洁``: who made the picture, not body text."""
    text = line.strip()
    if not text or len(text) > HEADING_MAX_CHARS:
        return False
    if _CREDIT_PREFIX_RE.match(text):
        return True
    return text.endswith("摄") and not re.search(f"[{_FINAL}，,]", text)


def is_byline(lines: list[str]) -> bool:
    """``■本报记者 顾一琼`` and further name lines."""
    if not lines or any(len(t) > HEADING_MAX_CHARS for t in lines):
        return False
    if re.search(f"[{_FINAL}，：,:]", "".join(lines)):
        return False
    match = _BYLINE_RE.match(lines[0])
    if not match:
        return False
    # Without a bullet or a newspaper name, ``记者`` must be followed by a name after a space,
    # so that a sentence such as ``记者近日获悉`` is not taken for a byline.
    after = lines[0][match.end() : match.end() + 1]
    return bool(match.group("bullet") or match.group("org") or after.isspace() or not after)


def stands_alone(line: str) -> bool:
    """A document number (发文字号) or a bare date line: a block of its own."""
    return bool(DOC_NUMBER_RE.match(line) or DATE_LINE_RE.match(line))


def is_bracketed_note(text: str) -> bool:
    """A line wholly in brackets and numbered by none of them: a note to what stands above
    it (（其余14家企业略） under a table, （此件公开发布） under a signature), text however
    short, never a heading; complete without a full stop. ``（一）`` alone is numbering."""
    line = text.strip()
    return "\n" not in line and _WRAPPED_RE.match(line) is not None and marker_of(line) is None


def is_list_entry(text: str) -> bool:
    """A numbered item that is an entry of a list however short: 1.… opening with a work's
    name in 《》 or ending in 》 or a bracketed note, with no clause in it; never a heading,
    and complete without a full stop."""
    marker = marker_of(text)
    return (
        marker is not None
        and marker.rank >= ITEM_RANK_MIN
        and "\n" not in text
        and len(text) <= 2 * HEADING_MAX_CHARS
        and _LISTED_RE.search(marker.rest) is not None
        and not _CLAUSE_RE.search(marker.rest)
    )


def is_closing(text: str) -> bool:
    """``特此通知。`` / ``特此通告。`` / ``此复。``: the formula that closes an official
    document, in no section (not the last article's or item's)."""
    text = text.strip()
    return _CLOSING_RE.match(text) is not None or (
        "\n" not in text and _THANKS_RE.match(text) is not None
    )


def is_contact_line(text: str) -> bool:
    """``联系人：张华　联系电话：021-…`` / ``政策咨询电话：…``: whom to ask and how."""
    return _CONTACT_RE.match(text.strip()) is not None


def is_attendance(text: str) -> bool:
    """``出席：李明、王建国`` / ``请假：…`` / ``列席：…`` / ``记录：…``: who attended the meeting
    of minutes, and who took them."""
    return "\n" not in text and _ATTENDANCE_RE.match(text) is not None


def is_duty_line(text: str) -> bool:
    """``责任单位：市财政局，各区人民政府`` / ``牵头单位：…`` / ``完成时限：…``: who does the
    item above and by when, a line of that item."""
    return "\n" not in text and _DUTY_RE.match(text) is not None


def is_question(text: str, answer: str) -> bool:
    """``text`` is a question of a question-and-answer page and ``answer`` (the next block)
    its answer: ``二、问：哪些人可以申请？`` / ``答：……``."""
    return (
        "\n" not in text
        and len(text) <= QUESTION_MAX_CHARS
        and _QUESTION_RE.match(text) is not None
        and _ANSWER_RE.match(answer) is not None
    )


def is_text_line(text: str) -> bool:
    """A line that is text however short and complete without a full stop: a table row, a
    list entry (1.《…》（…）), an attendance line (出席：…) or a closing formula (特此通知);
    never a heading, and neither continued nor continuing. So is the line under an item of
    a plan saying who does it (责任单位：…)."""
    return (
        is_table_row(text)
        or is_list_entry(text)
        or is_attendance(text)
        or is_duty_line(text)
        or is_closing(text)
    )


def is_heading_like(text: str) -> bool:
    """Short, one line, no sentence-final punctuation and not cut off mid-sentence."""
    return (
        len(text) <= HEADING_MAX_CHARS
        and "\n" not in text
        and not HAS_FINAL_RE.search(text)
        and not _CONTINUES_RE.search(text)
        and not (marker_of(text) is None and HEAD_FRAGMENT_RE.match(text))
    )


def lines_label(lines: tuple[int, ...]) -> str:
    """``line 3`` or ``lines 3+5`` for messages."""
    return ("line " if len(lines) == 1 else "lines ") + "+".join(str(n) for n in lines)


def excerpt(text: str, size: int = 24) -> str:
    """The start of ``text`` for messages."""
    return text[:size] + ("…" if len(text) > size else "")


__all__ = [
    "DATE_LINE_RE",
    "DATE_PATTERN",
    "DOC_MARK_RE",
    "DOC_NUMBER_RE",
    "Marker",
    "Markup",
    "Unit",
    "is_attendance",
    "is_blank",
    "is_bracketed_note",
    "is_byline",
    "is_closing",
    "is_contact_line",
    "is_contents_heading",
    "is_credit_line",
    "is_duty_line",
    "is_heading_like",
    "is_list_entry",
    "is_table_row",
    "is_text_line",
    "marker_of",
    "split_units",
    "stands_alone",
]
