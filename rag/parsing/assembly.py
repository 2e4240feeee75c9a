"""Stage 4: document assembly — blocks → genre → repairs → a :class:`~rag.schema.Document`.

The canonical text is the kept blocks in reading order joined by blank lines: head blocks
(title, kicker, subtitle, dateline or history, byline) first, then the body in file order
(section headings, paragraphs, picture captions and credits). Offsets of every paragraph,
sentence and heading index into that text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import PurePosixPath

from ..errors import SourceError
from ..schema import Document, Heading, Paragraph, Repair, SectionRef, Sentence
from ..sentences import split_sentences
from . import news, repairs, statute
from .blocks import (
    DATE_LINE_RE,
    DATE_PATTERN,
    Markup,
    excerpt,
    is_bracketed_note,
    is_contact_line,
    lines_label,
    split_units,
)
from .contents import Contents, skip_contents
from .genre import detect_kind, genre_of, stated_kind
from .intake import RawDocument, line_pages
from .news import Block, Draft
from .numbering import ARTICLE_RANK, SectionStack
from .script import Restorer

# Head blocks come first in the canonical text, in this order.
_HEAD_ORDER = (
    "title",
    "kicker",
    "docmark",
    "subtitle",
    "dateline",
    "history",
    "docnumber",
    "byline",
)
# Head blocks that are headings, quotable as text (role ``heading``, cited as 标题).
_QUOTABLE_HEAD = frozenset({"title", "kicker", "subtitle"})
# Lines of a signature above its date: issuer names (国务院办公厅, 中共上海市委 上海市人民政府).
SIGNATURE_MAX_CHARS = 30
SIGNATURE_MAX_LINES = 3
# 附件：… above the signature lists the attachments; it is not an issuer's name.
_ATTACHMENT_WORDS = ("附件", "附:", "附：")
# The 版记 under an official document: who else receives it (抄送：…) and who printed it when
# (…2021年7月16日印发).
_COLOPHON_RE = re.compile(r"^(?:抄送|抄报|分送|报送|发送)\s*[:：]|\d{1,2}\s*日\s*印\s*发$")
_PRINTED_RE = re.compile(r"^\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*印\s*发$")
# 附件说明 (GB/T 9704): 附件：名称 above the 落款, its further names numbered on lines of
# their own (附件：1.…, 2.…); the attachments themselves follow the signature.
_ANNEX_NOTE_RE = re.compile(r"^附件\s*[：:]\s*\S")
_ANNEX_ITEM_RE = re.compile(r"^\d{1,2}\s*[.．、]")
ANNEX_NOTE_MAX_LINES = 20
# 附注 (GB/T 9704): under the 成文日期, a line wholly in brackets.
_ANNOTATION_RE = re.compile(r"^[（(][^\n]*[）)]$")
# 主送机关 (GB/T 9704): the line under the title naming whom the document is sent to,
# organs joined by 、 or ， and ending with a colon (各省、自治区、直辖市人民政府，国务院各部委、
# 各直属机构：). Each part between commas ends in what names an organ or unit; a lead-in
# (现就有关事项通知如下：) or a salutation (各位代表：) does not.
ADDRESSEE_MAX_CHARS = 120
_ORGAN_END = re.compile(
    r"(?:政府|委员会|[委办局厅部署院会室处科所站社馆行团队]|中心|单位|机关|机构|部门|组织|"
    r"企业|公司|集团|学校|高校|党委|党组|街道|[省市县区镇乡])$"
)
_ADDRESSEE_PART = re.compile(r"[，,]")
# A reply to a deputy's suggestion or a member's proposal (代表建议 / 提案答复) is addressed
# to that person by name (尊敬的李明代表：, 王芳委员：): its 主送机关 too. A speech's greeting to
# all present (各位代表：, 亲爱的同学们：) names nobody and stays text.
_PERSON_ADDRESSEE = re.compile(
    r"^(?:尊敬的)?(?!各位|诸位|全体|在座|亲爱)[\u4e00-\u9fff·]{2,5}(?:代表|委员|同志|先生|女士)$"
)
_ADDRESSEE_NOT = re.compile(r"[。；;！？!?“”]|如下|现就|通知|根据|按照|为了|为贯彻")
# The dateline of a resolution and the enactment history of a law are quotable too (role
# ``dateline``, cited as 题注): they are where 哪一年通过的 / 什么时候施行 is answered; so is a
# report's byline (role ``byline``, cited as 署名: 这篇报道是谁写的).
_QUOTABLE_NOTE = frozenset({"dateline", "history"})
# The subtitle of a speech or a work report says when and where it was given, the date first
# (——2024年1月10日在青阳区第五届人民代表大会第四次会议上) or in brackets after the occasion
# (——在全市工作会议上的讲话（2024年2月5日）), or is the date alone (——2024年2月26日):
# the document's date when nothing else dates it.
_SPOKEN_ON_RE = re.compile(
    f"^[—－-]*\\s*[（(]?\\s*(?:{DATE_PATTERN}\\s*[，,]?\\s*在[^。；;]{{2,80}}?上"
    f"|在[^。；;]{{2,80}}?上[^。；;]*[（(]\\s*{DATE_PATTERN}\\s*[）)]$"
    f"|{DATE_PATTERN}\\s*[）)]?$)"
)
# An official document's number (发文字号) and its signature with the date (落款: issuer and
# 成文日期, under the last paragraph) are quotable too, cited as such: they answer 文号是什么
# and 哪天印发的.


def parse_text(raw: RawDocument, rel: str, sha256: str) -> list[Document]:
    """Parse one text document (``.txt``/``.md``) into its documents.

    Args:
        raw: The file as the reader produced it.
        rel: Its path relative to the source root (ids, citations, messages).
        sha256: Hash of its bytes.

    Returns:
        Its documents in page order.

    Raises:
        SourceError: The file holds no body paragraph, or its stated kind is unknown.
    """
    # A Traditional file's layout is read in simplified characters, its text kept as is.
    restorer = Restorer.of(raw.text)
    units, markups = split_units(restorer.folded if restorer else raw.text)
    units, contents = skip_contents(units)
    gap = news.classify(units)
    drafts = [d for d in news.drafts(units, gap) if d.has_paragraphs]
    if not drafts:
        raise SourceError(
            f"{rel}: no body paragraphs found; a document needs text paragraphs separated "
            "by blank lines"
        )
    stem = PurePosixPath(rel).with_suffix("").as_posix()
    stated = raw.metadata.get("kind") or raw.metadata.get("genre")
    kind_override = stated_kind(stated, rel) if stated else ""
    documents = []
    kinds: Counter[str] = Counter()
    markup_repairs = [_markup_repair(m, rel) for m in markups]
    if contents is not None:
        markup_repairs.append(_contents_repair(contents, rel))
    if restorer is not None:
        markup_repairs = restorer.repairs(markup_repairs)
    pages = line_pages(raw)
    for number, draft in enumerate(drafts):
        # A title wrapped over lines is one title (its lines stay as they are in the text).
        title = _head_text(draft, "title").replace("\n", "")
        subtitle = _head_text(draft, "subtitle")
        if raw.metadata.get("title") and len(drafts) == 1:
            title = title or raw.metadata["title"]
        kind = kind_override or detect_kind(
            title or stem.rsplit("/", 1)[-1],
            [b.text for b in draft.body if b.role == "body" or _article_heading(b)][:50],
            official=draft.has("docnumber") or _ends_signed(draft),
            subtitle=subtitle,
        )
        genre = genre_of(kind)
        history: list[str] = []
        if genre == "statute":
            statute.normalise_roles(draft)
            history = statute.take_history(draft, markups)
        # The signature and date of an opinion or notice are its 落款, short lines after it
        # metadata; in a statute every line is law text (国旗法 ends with the heading of its
        # appended figure).
        colophon = _take_colophon(draft) if genre != "statute" else []
        trailing = _move_trailing_lines(draft) if genre != "statute" else []
        official = False
        if genre != "statute":
            _mark_signature(draft)
            _mark_annex_note(draft)
            official = draft.has("docnumber") or any(b.role == "signature" for b in draft.body)
            if official:
                _mark_addressee(draft)
        # Under the 落款 of an official document a line wholly in brackets is its 附注
        # ((此件公开发布), (联系人：…，联系电话：…)), and under any document a line saying whom
        # to contact: text, quotable; other lines are metadata (编辑：…, 来源：…).
        notes: list[Block] = []
        metadata: list[str] = []
        for b in trailing:
            if (official and _ANNOTATION_RE.match(b.text)) or is_contact_line(b.text):
                notes.append(Block("annotation", b.text, b.lines))
            else:
                metadata.append(b.text)
        _mark_bracketed_notes(draft)
        body, fixes = _repair(draft.body, rel, genre)
        draft.body = body + notes + colophon
        if restorer is not None:
            from_head = title == _head_text(draft, "title").replace("\n", "")
            restorer.draft(draft)
            if from_head:
                title = _head_text(draft, "title").replace("\n", "")
            history = [restorer.text(h) for h in history]
            metadata = [restorer.text(m) for m in metadata]
            fixes = restorer.repairs(fixes)
        kinds[kind] += 1
        if len(drafts) == 1:
            doc_id = stem
        else:
            doc_id = f"{stem}/{kind}" + (f"-{kinds[kind]}" if kinds[kind] > 1 else "")
        all_fixes = (markup_repairs if number == 0 else []) + fixes
        documents.append(
            _assemble(
                draft,
                rel=rel,
                sha256=sha256,
                doc_id=doc_id,
                title=title or stem,
                kind=kind,
                genre=genre,
                history=tuple(history),
                metadata=tuple(metadata),
                repairs=tuple(all_fixes),
                pages=pages,
            )
        )
    return documents


def _article_heading(block: Block) -> bool:
    """An article's number alone on a line of its own, over its text (第 5 條 on
    law.moj.gov.tw): an article line of the body, as 第五条　… is in a mainland law, for
    telling the document's kind. A titled heading (第 4 條　書面合約 of an e-Legislation
    ordinance) is not: its (1)/(a) items nest as a numbered document's do, and the statute
    layout would join its ；及 lines."""
    return (
        block.role == "section"
        and block.marker is not None
        and block.marker.rank == ARTICLE_RANK
        and not block.marker.rest
    )


def _markup_repair(markup: Markup, rel: str) -> Repair:
    return Repair(
        "markup_removed",
        rel,
        (markup.line,),
        f"{lines_label((markup.line,))} is a markup comment, not text; removed: {markup.text}",
    )


def _contents_repair(contents: Contents, rel: str) -> Repair:
    first, last = contents.lines[0], contents.lines[-1]
    return Repair(
        "contents_skipped",
        rel,
        contents.lines,
        f"lines {first}-{last} are the table of contents (目录: {contents.entries} entries, "
        f"{len(contents.lines)} lines), not text; skipped",
    )


def _repair(body: list[Block], rel: str, genre: str) -> tuple[list[Block], list[Repair]]:
    fixes: list[Repair] = []
    if genre == "news":
        body, dropped = repairs.drop_layout_repeats(body, rel)
        fixes.extend(dropped)
    if genre == "statute":
        body, joined = statute.join_broken_lines(body, rel)
        fixes.extend(joined)
    body, joined = repairs.join_fragments(body, rel)
    fixes.extend(joined)
    return body, fixes + repairs.flag_fragments(body, rel)


def _take_colophon(draft: Draft) -> list[Block]:
    """The 版记 at the very end of an official document (抄送：…, 上海市人民政府办公厅
    2021年7月16日印发), taken out of the body as blocks of role ``colophon``: quotable, cited
    as 版记, never a paragraph of the last section or a note of metadata."""
    taken: list[Block] = []
    while draft.body and draft.body[-1].marker is None:
        block = draft.body[-1]
        if block.role not in ("body", "section") or not _COLOPHON_RE.search(block.text):
            break
        taken.insert(0, draft.body.pop())
    # The issuer's line above a 印发 date on a line of its own (上海市人民政府办公厅 /
    # 2021年7月16日印发) belongs to it.
    if (
        taken
        and _PRINTED_RE.match(taken[0].text)
        and draft.body
        and draft.body[-1].role == "section"
        and draft.body[-1].marker is None
        and len(draft.body[-1].text) <= SIGNATURE_MAX_CHARS
    ):
        taken.insert(0, draft.body.pop())
    if not taken:
        return []
    # One 版记, its lines in order (a blank line or a rule may part them in the source).
    lines = tuple(n for b in taken for n in b.lines)
    return [Block("colophon", "\n".join(b.text for b in taken), lines)]


def _move_trailing_lines(draft: Draft) -> list[Block]:
    """Short unnumbered lines after the last paragraph, taken out of the body (metadata, or
    an official document's 附注), except a signature ending in a date line (落款), which stays
    in the body for :func:`_mark_signature`."""
    trailing: list[Block] = []
    while draft.body and draft.body[-1].role == "section" and not draft.body[-1].level:
        if draft.body[-1].marker is not None:
            break
        trailing.insert(0, draft.body.pop())
    dated = [k for k, b in enumerate(trailing) if DATE_LINE_RE.match(b.text)]
    keep = dated[-1] + 1 if dated else 0
    draft.body.extend(trailing[:keep])
    return trailing[keep:]


def _mark_signature(draft: Draft) -> None:
    """The last date line among the body's headings with the issuer lines above it (落款:
    国务院办公厅 / 2021年6月30日), wherever it stands (attachments may follow it): one block
    of role ``signature`` in its place. A bare date is never a section heading."""
    body = draft.body
    at = next(
        (
            k
            for k in range(len(body) - 1, -1, -1)
            if body[k].role == "section"
            and body[k].marker is None
            and not body[k].level
            and DATE_LINE_RE.match(body[k].text)
        ),
        None,
    )
    if at is None:
        return
    first = at
    while (
        first > 0
        and at - first < SIGNATURE_MAX_LINES
        and body[first - 1].role == "section"
        and body[first - 1].marker is None
        and not body[first - 1].level
        and len(body[first - 1].text) <= SIGNATURE_MAX_CHARS
        and not body[first - 1].text.startswith(_ATTACHMENT_WORDS)
        # A further name of the 附件说明 (2.2024年度任务分解表: its digits leave it no list
        # marker) is no issuer's name either.
        and not _ANNEX_ITEM_RE.match(body[first - 1].text)
    ):
        first -= 1
    signed = body[first : at + 1]
    block = Block(
        "signature",
        "\n".join(b.text for b in signed),
        tuple(n for b in signed for n in b.lines),
    )
    body[first : at + 1] = [block]


def _mark_annex_note(draft: Draft) -> None:
    """The 附件说明 right above the 落款 (附件：城市软实力建设重点任务分工, or 附件：1.… with
    2.… on the lines after it): one block of role ``annex_note``, quotable and cited as
    such, not the heading of an attachment that would hold the signature."""
    body = draft.body
    at = next((k for k, b in enumerate(body) if b.role == "signature"), None)
    if at is None:
        return
    first = at - 1
    while (
        first > 0
        and at - first < ANNEX_NOTE_MAX_LINES
        and _ANNEX_ITEM_RE.match(body[first].text)
        and "\n" not in body[first].text
    ):
        first -= 1
    if first < 0 or not _ANNEX_NOTE_RE.match(body[first].text):
        return
    taken = body[first:at]
    body[first:at] = [
        Block(
            "annex_note",
            "\n".join(b.text for b in taken),
            tuple(n for b in taken for n in b.lines),
        )
    ]


def _mark_bracketed_notes(draft: Draft) -> None:
    """A line wholly in brackets among the body's headings is a note to what stands above
    it (（其余14家企业略） under a table): a paragraph of that section, never a heading of
    its own. Right under the 落款 of an official document it is the 附注 (GB/T 9704)."""
    for k, block in enumerate(draft.body):
        if block.role != "section" or block.level or not is_bracketed_note(block.text):
            continue
        above = draft.body[k - 1].role if k else ""
        role = "annotation" if above in ("signature", "annotation") else "body"
        draft.body[k] = Block(role, block.text, block.lines)


def _mark_addressee(draft: Draft) -> None:
    """The first line of an official document's body, when it names organs (or the deputy a
    reply answers) and ends with a colon (各区人民政府，市政府各委、办、局：; 尊敬的李明代表：),
    is its 主送机关: role ``addressee``, quotable and cited as such, not paragraph 1 of the
    text."""
    # A web page's metadata table (索引号, 发文机关…, rows of cells) may stand above it.
    at = next((k for k, b in enumerate(draft.body) if "\t" not in b.text), None)
    if at is None:
        return
    first = draft.body[at]
    text = first.text.strip()
    if (
        first.role not in ("body", "section")
        or first.marker is not None
        or first.level
        or "\n" in text
        or not text.endswith(("：", ":"))
        or len(text) > ADDRESSEE_MAX_CHARS
        or _ADDRESSEE_NOT.search(text)
    ):
        return
    parts = [p.strip() for p in _ADDRESSEE_PART.split(text[:-1])]
    if all(p and (_ORGAN_END.search(p) or _PERSON_ADDRESSEE.match(p)) for p in parts):
        draft.body[at] = Block("addressee", first.text, first.lines)


def _ends_signed(draft: Draft) -> bool:
    """The body ends with a bare date line under a short issuer line (落款), notes aside."""
    lines = [b for b in draft.body if b.role in ("section", "body")][-4:]
    for k in range(len(lines) - 1, 0, -1):
        if (
            lines[k].role == "section"
            and lines[k].marker is None
            and DATE_LINE_RE.match(lines[k].text)
        ):
            above = lines[k - 1]
            return above.role == "section" and len(above.text) <= SIGNATURE_MAX_CHARS
    return False


def _head_text(draft: Draft, role: str) -> str:
    return next((b.text for b in draft.head if b.role == role), "")


def _assemble(
    draft: Draft,
    *,
    rel: str,
    sha256: str,
    doc_id: str,
    title: str,
    kind: str,
    genre: str,
    history: tuple[str, ...],
    metadata: tuple[str, ...],
    repairs: tuple[Repair, ...],
    pages: dict[int, int] | None = None,
) -> Document:
    pieces: list[str] = []
    offset = 0

    def add(text: str) -> tuple[int, int]:
        nonlocal offset
        start = offset
        pieces.append(text)
        offset = start + len(text) + 2  # the "\n\n" that joins blocks
        return start, start + len(text)

    headings: list[Heading] = []
    # Headings as passages: span, source lines and the section path each heading opens.
    titled: list[tuple[int, int, tuple[int, ...], tuple[SectionRef, ...]]] = []
    notes: list[tuple[str, int, int, tuple[int, ...]]] = []
    for block in sorted(draft.head, key=lambda b: _HEAD_ORDER.index(b.role)):
        start, end = add(block.text)
        headings.append(Heading(block.role, block.text, start, end, block.level))
        if block.role in _QUOTABLE_HEAD:
            titled.append((start, end, block.lines, ()))
        elif block.role in _QUOTABLE_NOTE:
            notes.append(("dateline", start, end, block.lines))
        elif block.role in ("docnumber", "byline", "docmark"):
            notes.append((block.role, start, end, block.lines))
    stack = SectionStack(statute=genre == "statute")
    body_paragraphs: list[Paragraph] = []
    extra: list[tuple[str, int, int, tuple[int, ...]]] = []
    clause = 0
    for block in draft.body:
        start, end = add(block.text)
        if block.role == "section":
            stack.heading(block.marker, block.text, block.level)
            level = block.level or len(stack.entries)
            headings.append(Heading("section", block.text, start, end, level))
            titled.append((start, end, block.lines, stack.path()))
            clause = 0
            continue
        if block.role in ("caption", "credit"):
            extra.append((block.role, start, end, block.lines))
            continue
        if block.role in ("signature", "colophon", "addressee", "annex_note", "annotation"):
            headings.append(Heading(block.role, block.text, start, end))
            notes.append((block.role, start, end, block.lines))
            continue
        stack.paragraph(block.marker)
        marker = block.marker
        if marker is not None and marker.rank == ARTICLE_RANK:
            clause = 1
        elif marker is None and clause:
            clause += 1
        elif marker is not None and marker.rank < ARTICLE_RANK:
            clause = 0
        sentences = tuple(Sentence(s + start, e + start) for s, e in split_sentences(block.text))
        body_paragraphs.append(
            Paragraph(
                len(body_paragraphs) + 1,
                start,
                end,
                () if block.outside else stack.path(),
                sentences,
                block.lines,
                clause if genre == "statute" else 0,
                page=pages.get(block.lines[0]) if pages else None,
            )
        )
    paragraphs = list(body_paragraphs)
    text = "\n\n".join(pieces)
    for role, start, end, lines in extra + notes:
        sentences = tuple(Sentence(s, e) for s, e in split_sentences(text, start, end))
        page = pages.get(lines[0]) if pages else None
        paragraphs.append(
            Paragraph(len(paragraphs) + 1, start, end, (), sentences, lines, role=role, page=page)
        )
    # Headings are text too: numbered after the body and the captions, so body numbers stay
    # 1..n, each with the section path it opens (a 第二章 heading is in 第二章).
    for start, end, lines, section in titled:
        sentences = tuple(Sentence(s, e) for s, e in split_sentences(text, start, end))
        page = pages.get(lines[0]) if pages and lines else None
        paragraphs.append(
            Paragraph(
                len(paragraphs) + 1,
                start,
                end,
                section,
                sentences,
                lines,
                role="heading",
                page=page,
            )
        )
    dateline = _head_text(draft, "dateline")
    date = statute.history_date(list(history)) if history else ""
    if not date and dateline:
        date = news.date_of(dateline)
    signature = next((b.text for b in draft.body if b.role == "signature"), "")
    if not date and signature:
        date = news.date_of(signature)
    # Minutes date themselves in their head (江州市人民政府办公厅　2024年5月22日).
    marks = (b.text for b in draft.head if b.role == "docmark")
    date = date or next((d for d in map(news.date_of, marks) if d), "")
    subtitle = _head_text(draft, "subtitle")
    if not date and _SPOKEN_ON_RE.match(subtitle):
        date = news.date_of(subtitle)
    return Document(
        doc_id=doc_id,
        title=title,
        kind=kind,
        text=text,
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        source=rel,
        source_sha256=sha256,
        date=date,
        subtitle=subtitle,
        metadata=metadata,
        repairs=repairs,
        genre=genre,
        history=history,
    )


def metadata_from(raw: RawDocument) -> Mapping[str, str]:
    """The metadata a reader found (for ``rag inspect``)."""
    return raw.metadata


__all__ = ["excerpt", "parse_text"]
