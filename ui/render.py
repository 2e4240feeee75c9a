"""HTML for the chat: answer bubbles, the sources panel and the document view.

Every string that comes from a user or a document goes through :func:`inert`, which escapes
HTML *and* turns every ASCII character Markdown or an autolinker could act on into a numeric
character reference. The fragments are emitted on one line (newlines become ``<br>``), so the
Markdown renderer of the chat sees a single raw HTML block and parses nothing inside it; Gradio's
HTML sanitiser then runs on top as a second layer.

Citation links carry their target in the fragment (``#rag-cite:{doc}:{start}:{end}``) because
the chat's sanitiser drops ``data-*`` attributes; the highlighted span in the document view has
the matching id ``rag-hl:{doc}:{start}:{end}``.

Example:
    >>> inert("[x](http://e.example)")
    '&#91;x&#93;&#40;http&#58;&#47;&#47;e&#46;example&#41;'
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as _urlquote

from rag.answering import attribution
from rag.schema import NOTE_ROLES

if TYPE_CHECKING:
    from rag import Answer, Document, IndexInfo, Quote

# Characters that mean something to HTML, Markdown (CommonMark + GFM), KaTeX delimiters or
# the GFM autolinker (``http:``, ``www.``, ``a@b``). Each becomes ``&#NN;``.
_ACTIVE = "&<>\"'`\\*_{}[]()#+-.!|~$:@=^%;/"
_TABLE = {ord(c): f"&#{ord(c)};" for c in _ACTIVE}
_TABLE.update({ord("\r"): "", ord("\t"): " ", ord("\n"): "<br>"})


def inert(text: str) -> str:
    """Escape user or document text so that neither HTML nor Markdown can act on it.

    The result renders as the same characters in a browser; newlines become ``<br>``.
    """
    return str(text).translate(_TABLE)


def cite_key(doc_id: str, start: int, end: int) -> str:
    """The ``{doc}:{start}:{end}`` part shared by a citation link and its highlight id."""
    return f"{_urlquote(doc_id, safe='')}:{int(start)}:{int(end)}"


def cite_link(label: str, doc_id: str, start: int, end: int) -> str:
    """A citation that opens the document view at ``start:end`` when clicked."""
    return (
        f'<a class="rag-cite" href="#rag-cite:{cite_key(doc_id, start, end)}" '
        f'title="在原文中查看：{inert(label)}">{inert(label)}</a>'
    )


def parse_cite_key(key: str) -> tuple[str, int, int] | None:
    """Inverse of :func:`cite_key` (``None`` when malformed)."""
    from urllib.parse import unquote

    match = re.fullmatch(r"([^:]+):(\d{1,9}):(\d{1,9})", key.strip())
    if not match:
        return None
    return unquote(match.group(1)), int(match.group(2)), int(match.group(3))


# -- marking spans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A highlighted span in document coordinates; ``anchor`` adds the id used for scrolling."""

    start: int
    end: int
    anchor: str = ""


def _merge(spans: Iterable[Span], lo: int, hi: int) -> list[Span]:
    """Clip to ``[lo, hi)`` and merge overlapping spans (adjacent ones stay separate)."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, s.end)):
        start, end = max(s.start, lo), min(s.end, hi)
        if start >= end:
            continue
        if out and start < out[-1].end:
            last = out[-1]
            out[-1] = Span(last.start, max(last.end, end), last.anchor or s.anchor)
        else:
            out.append(Span(start, end, s.anchor))
    return out


def _term_mask(text: str, terms: Sequence[str]) -> list[bool]:
    mask = [False] * len(text)
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words or not text:
        return mask
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    for m in pattern.finditer(text):
        for i in range(m.start(), m.end()):
            mask[i] = True
    return mask


def _terms_html(text: str, mask: Sequence[bool]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and mask[j] == mask[i]:
            j += 1
        piece = inert(text[i:j])
        parts.append(f'<span class="rag-term">{piece}</span>' if mask[i] else piece)
        i = j
    return "".join(parts)


def highlight(
    doc_text: str,
    lo: int,
    hi: int,
    quotes: Iterable[Span] = (),
    terms: Sequence[str] = (),
) -> str:
    """Render ``doc_text[lo:hi]`` with quotes in ``<mark class="rag-quote">`` and key terms in
    ``<span class="rag-term">``.

    Each quote span becomes exactly one ``<mark>`` over exactly its characters (offsets are
    document offsets); key terms are marked inside and outside quotes alike.
    """
    lo, hi = max(0, lo), min(len(doc_text), hi)
    text = doc_text[lo:hi]
    mask = _term_mask(text, terms)
    parts: list[str] = []
    pos = lo
    for span in _merge(quotes, lo, hi):
        parts.append(_terms_html(doc_text[pos : span.start], mask[pos - lo : span.start - lo]))
        anchor = f' id="rag-hl:{span.anchor}"' if span.anchor else ""
        inner = _terms_html(doc_text[span.start : span.end], mask[span.start - lo : span.end - lo])
        parts.append(f'<mark class="rag-quote"{anchor}>{inner}</mark>')
        pos = span.end
    parts.append(_terms_html(doc_text[pos:hi], mask[pos - lo : hi - lo]))
    return "".join(parts)


# -- chat bubbles -------------------------------------------------------------------------------

_COPY_BUTTON = (
    '<div class="rag-tools"><button type="button" class="rag-copy">复制回答</button></div>'
)


def _bubble(kind: str, body: str, *, copy: bool = False) -> str:
    tools = _COPY_BUTTON if copy else ""
    return f'<div class="rag-answer {kind}"><div class="rag-body">{body}</div>{tools}</div>'


def user_bubble(question: str) -> str:
    """The user's message, shown as typed and inert."""
    return f'<div class="rag-user">{inert(question)}</div>'


SCORE_HELP = "相关度：检索得分，数值越大与问题越相关；只在同一次检索的结果之间可比，不是百分比。"


def _score(value: float, show: bool) -> str:
    if not show:
        return ""
    return f' <span class="rag-score" title="{SCORE_HELP}">相关度 {value:.2f}</span>'


def _preview(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "……"


def _notes(answer: Answer) -> str:
    out = [f'<p class="rag-note">{inert(n)}</p>' for n in answer.notes]
    resolved = (answer.resolved_question or "").strip()
    if resolved and resolved != answer.question.strip():
        out.append(f'<p class="rag-note">按「{inert(resolved)}」理解并检索。</p>')
    return "".join(out)


def plain_text(markdown: str) -> str:
    """The words of the library's Markdown (escapes and emphasis removed), for display."""
    import html

    text = re.sub(r"\\(.)", r"\1", markdown)
    text = re.sub(r"(?<!\\)\*{1,2}", "", text)
    return html.unescape(text).strip()


# How rag.locate's answers begin ("this passage is from ..."), shown as the bubble's lead.
LOCATED_PREFIX = "这段文字出自"


def answer_bubble(
    answer: Answer,
    documents: Mapping[str, Document],
    *,
    show_scores: bool = False,
) -> str:
    """The assistant's message: quotes with citations, or a refusal with 相关段落."""
    notes = _notes(answer)
    if answer.found and answer.quotes:
        items = []
        for q in answer.quotes:
            doc = documents.get(q.doc_id)
            # The answer's own label (rag.answering.attribution): one source of truth.
            who = attribution(doc.kind if doc else q.doc_kind)
            items.append(
                '<blockquote class="rag-quote-block">'
                f'<p class="rag-said">据《{inert(q.doc_title)}》（{inert(who)}）：</p>'
                f'<p class="rag-verbatim">「{inert(q.text)}」</p>'
                f'<p class="rag-cite-line">—— {cite_link(q.citation, q.doc_id, q.start, q.end)}'
                f"{_score(q.score, show_scores)}</p></blockquote>"
            )
        lead = next(
            (
                line
                for line in plain_text(answer.markdown).split("\n\n")
                if line.startswith(LOCATED_PREFIX)
            ),
            "",
        )
        lead_html = f'<p class="rag-lead">{inert(lead)}</p>' if lead else ""
        body = notes + lead_html + "".join(items)
        return _bubble("rag-found", body, copy=True)
    if not answer.hits:
        message = plain_text(answer.markdown) or "没有可以检索的内容，请换一种问法。"
        body = f'<div class="rag-callout rag-callout-info">{inert(message)}</div>'
        return _bubble("rag-empty", body)
    related = "".join(
        f'<li><span class="rag-hit-text">{inert(_preview(h.text))}</span> '
        f"{cite_link(h.citation or h.doc_title, h.doc_id, h.start, h.end)}"
        f"{_score(h.score, show_scores)}</li>"
        for h in answer.hits[:3]
    )
    body = (
        notes + '<div class="rag-callout rag-callout-refusal"><strong>未找到答案</strong>'
        "<span>已收录的文件中没有能回答这个问题的原文，因此不作回答。</span></div>"
        '<p class="rag-related-title">相关段落（并非答案）：</p>'
        f'<ul class="rag-related">{related}</ul>'
    )
    return _bubble("rag-refusal", body, copy=True)


PENDING_BUBBLE = (
    '<div class="rag-answer rag-pending" role="status" aria-live="polite">'
    '<span class="rag-spinner" aria-hidden="true"></span>正在检索…</div>'
)
# The question box takes a question or a passage pasted to be located (rag.locate).
INPUT_LIMIT = 5000


def input_hint(count: int, question_chars: int = 500, *, empty: bool = False) -> str:
    """The line under the question box: characters typed, the limits, or a hint to type."""
    if empty:
        return (
            '<p class="rag-hint rag-hint-empty" role="alert">'
            "请先输入问题，再按回车或点击“提问”。</p>"
        )
    over = " rag-hint-over" if count > question_chars else ""
    return (
        f'<p class="rag-hint{over}" id="rag-hint-text" aria-live="polite">'
        f'<span class="rag-count">{count}</span> / {INPUT_LIMIT} 字。'
        f"问题超过 {question_chars} 字时只按前 {question_chars} 字检索；"
        "粘贴一段原文（最多 5000 字）可查它出自哪份文件、哪一段。</p>"
    )


def upload_form(max_mb: float = 2) -> str:
    """The form that adds a document (the page's script sends it to ``PUT /api/documents``)."""
    return (
        '<form class="rag-upload-form" aria-label="添加文件">'
        '<label for="rag-upload-file">添加文件（.txt .md .html .htm .docx .pdf .jsonl，'
        f"最多 {max_mb:g} MB）：</label>"
        '<input type="file" id="rag-upload-file" '
        'accept=".txt,.md,.html,.htm,.docx,.pdf,.jsonl">'
        '<button type="submit" class="rag-upload-send">上传并重建索引</button>'
        '<div class="rag-upload-status" role="status" aria-live="polite"></div>'
        '<progress class="rag-upload-progress" max="1" value="0" hidden '
        'aria-label="建索引进度"></progress>'
        "</form>"
    )


def error_bubble(message: str) -> str:
    """A failure the user should know about, in words (never a traceback)."""
    body = f'<div class="rag-callout rag-callout-error">{inert(message)}</div>'
    return _bubble("rag-error", body)


# -- sources panel ------------------------------------------------------------------------------

SOURCES_EMPTY = '<div class="rag-panel-empty">提问后，这里显示回答引用的原文段落。</div>'


def _paragraph_window(doc: Document, start: int, end: int) -> tuple[int, int, list[int]]:
    """The whole paragraph(s) covering ``start:end`` (and the span itself, whatever it is)."""
    numbers = [p.number for p in doc.paragraphs if p.start < end and start < p.end]
    if not numbers:
        return start, end, []
    first, last = doc.paragraph(numbers[0]), doc.paragraph(numbers[-1])
    return min(first.start, start), max(last.end, end), numbers


def _section_path(doc: Document, number: int) -> str:
    if not number:
        return ""
    para = doc.paragraph(number)
    return " / ".join(f"{ref.label}{ref.title}" for ref in para.section if ref.display)


def sources_panel(
    answer: Answer,
    documents: Mapping[str, Document],
    key_terms: Sequence[str] = (),
    *,
    show_scores: bool = False,
) -> str:
    """Each cited paragraph with the quoted characters and the question's key terms marked.

    Quotes that fall in the same paragraph share one passage. For a refusal, the closest
    passages are listed under 相关段落（并非答案）.
    """
    blocks: list[str] = []
    if answer.found and answer.quotes:
        head = (
            '<div class="rag-panel-head">回答引用的段落：'
            '<mark class="rag-legend">高亮</mark>为引文，'
            '<span class="rag-term">加下划线</span>为问题中的关键词。</div>'
        )
        groups: dict[tuple[str, int, int], list[Quote]] = {}
        for q in answer.quotes:
            doc = documents.get(q.doc_id)
            if doc is None:
                continue
            lo, hi, _ = _paragraph_window(doc, q.start, q.end)
            groups.setdefault((q.doc_id, lo, hi), []).append(q)
        for (doc_id, lo, hi), quotes in groups.items():
            doc = documents[doc_id]
            first = quotes[0]
            meta = [cite_link(first.citation, doc_id, first.start, first.end)]
            section = _section_path(doc, first.paragraph)
            if section:
                meta.append(f'<span class="rag-section">{inert(section)}</span>')
            if show_scores:
                meta.append(_score(max(q.score for q in quotes), True).strip())
            text = highlight(doc.text, lo, hi, [Span(q.start, q.end) for q in quotes], key_terms)
            blocks.append(
                f'<div class="rag-src"><div class="rag-src-meta">{" · ".join(meta)}</div>'
                f'<div class="rag-src-text">{text}</div></div>'
            )
    elif answer.hits:
        head = (
            '<div class="rag-panel-head rag-panel-refusal">未找到答案。相关段落（并非答案）：'
            '<span class="rag-term">加下划线</span>为问题中的关键词。</div>'
        )
        for h in answer.hits:
            doc = documents.get(h.doc_id)
            if doc is None:
                continue
            meta = [cite_link(h.citation or h.doc_title, h.doc_id, h.start, h.end)]
            if show_scores:
                meta.append(_score(h.score, True).strip())
            text = highlight(doc.text, h.start, h.end, (), key_terms)
            blocks.append(
                '<div class="rag-src rag-src-related">'
                f'<div class="rag-src-meta">{" · ".join(meta)}</div>'
                f'<div class="rag-src-text">{text}</div></div>'
            )
    else:
        return SOURCES_EMPTY
    return f'<div class="rag-sources">{head}{"".join(blocks)}</div>'


# -- document view ------------------------------------------------------------------------------

DOCUMENT_EMPTY = (
    '<div class="rag-panel-empty">点击任一引文（如《……》第3段），在这里查看原文全文。</div>'
)

_HEADING_TAGS = {
    "title": ("h3", "rag-h-title"),
    "kicker": ("div", "rag-h-kicker"),
    "subtitle": ("div", "rag-h-subtitle"),
    "dateline": ("div", "rag-h-meta"),
    "docnumber": ("div", "rag-h-meta"),
    "byline": ("div", "rag-h-meta"),
    "signature": ("div", "rag-h-meta"),
    "colophon": ("div", "rag-h-meta"),
    "addressee": ("div", "rag-h-meta"),
    "annex_note": ("div", "rag-h-meta"),
    "docmark": ("div", "rag-h-meta"),
    "annotation": ("div", "rag-h-meta"),
    "section": ("h4", "rag-h-section"),
}


def _anchor(doc: Document, number: int) -> str:
    return f"rag-p:{_urlquote(doc.doc_id, safe='')}:{number}"


def outline(doc: Document) -> list[tuple[int, str, int]]:
    """The document's outline: ``(level, label and title, first paragraph)``, in order.

    Taken from the section paths the parser gave the body paragraphs (编/章/节/条,
    一、/（一）, unnumbered headings), one entry where each path level starts.
    """
    entries: list[tuple[int, str, int]] = []
    previous: tuple[tuple[str, str], ...] = ()
    for para in doc.body_paragraphs:
        path = tuple((ref.label, ref.title) for ref in para.section)
        for depth, (label, title) in enumerate(path):
            if previous[: depth + 1] == path[: depth + 1]:
                continue
            text = f"{label} {title}".strip() if label else title
            if text:
                entries.append((depth, text, para.number))
        previous = path
    return entries


def _outline_html(doc: Document, current: int | None) -> str:
    entries = outline(doc)
    if len(entries) < 2:
        return ""
    # The entry that holds the cited paragraph: the last one starting at or before it.
    here = None
    if current is not None:
        starts = [e for e in entries if e[2] <= current]
        here = starts[-1] if starts else None
    items = []
    for entry in entries:
        depth, text, number = entry
        mark = ' aria-current="location" class="rag-outline-link rag-outline-here"'
        attrs = mark if entry == here else ' class="rag-outline-link"'
        items.append(
            f'<li class="rag-outline-l{min(depth, 3)}"><a href="#{_anchor(doc, number)}"{attrs}>'
            f"{inert(text)}</a></li>"
        )
    return (
        '<nav class="rag-outline" aria-label="文件目录"><details open><summary>目录</summary>'
        f"<ol>{''.join(items)}</ol></details></nav>"
    )


# What a paragraph that is not body text is shown as in the document view.
_ROLE_TAGS = {"caption": "图片说明", "credit": "图片署名", "heading": "标题"}


def document_view(doc: Document, start: int | None = None, end: int | None = None) -> str:
    """The whole document: its outline, headings shown, body paragraphs numbered (each with an
    anchor the outline links to), ``start:end`` marked.

    The marked span gets the id ``rag-hl:{doc}:{start}:{end}`` (on its first piece when it
    crosses paragraphs) so the page can scroll to it; the outline entry that holds it is
    marked as the current place.
    """
    text = doc.text
    target: list[Span] = []
    current = None
    if start is not None and end is not None and 0 <= start < end <= len(text):
        target = [Span(start, end, cite_key(doc.doc_id, start, end))]
        # The body paragraph that holds the span, or for a quoted heading the first body
        # paragraph under it (the outline marks the section the heading opens).
        body = doc.body_paragraphs
        current = next((p.number for p in body if p.start <= start < p.end), None)
        if current is None:
            current = next((p.number for p in body if p.start >= start), None)
    blocks: list[tuple[int, int, str, str]] = [
        (h.start, h.end, "heading", h.role) for h in doc.headings
    ]
    blocks += [(p.start, p.end, "paragraph", str(p.number)) for p in doc.paragraphs]
    blocks.sort(key=lambda b: (b[0], -b[1]))
    roles = {p.number: p.role for p in doc.paragraphs}
    # A heading shown as a heading is also a quotable passage: it carries that passage's anchor.
    heading_passage = {
        (p.start, p.end): p.number
        for p in doc.paragraphs
        if p.role == "heading" or p.role in NOTE_ROLES
    }

    def marked(lo: int, hi: int) -> str:
        nonlocal target
        html = highlight(text, lo, hi, target)
        if target and ' id="rag-hl:' in html:
            # Only the first piece of a span that crosses blocks carries the id.
            target = [Span(max(target[0].start, hi), target[0].end)]
        return html

    out: list[str] = []
    cursor = 0
    for lo, hi, kind, tag in blocks:
        if lo < cursor:  # overlapping blocks: keep the first
            continue
        gap = text[cursor:lo]
        if gap.strip():
            out.append(f'<p class="rag-other">{marked(cursor, lo)}</p>')
        if kind == "heading":
            element, cls = _HEADING_TAGS.get(tag, ("div", "rag-h-other"))
            number = heading_passage.get((lo, hi))
            anchor = f' id="{_anchor(doc, number)}"' if number else ""
            out.append(f'<{element} class="{cls}"{anchor}>{marked(lo, hi)}</{element}>')
        elif roles.get(int(tag), "body") != "body":
            # A caption, credit or heading is text but not a numbered paragraph: labelled
            # for what it is, as its citation says.
            label = _ROLE_TAGS.get(roles[int(tag)], "")
            out.append(
                f'<p class="rag-para rag-para-{inert(roles[int(tag)])}" '
                f'id="{_anchor(doc, int(tag))}"><span class="rag-prole">{label}</span>'
                f"{marked(lo, hi)}</p>"
            )
        else:
            out.append(
                f'<p class="rag-para" id="{_anchor(doc, int(tag))}">'
                f'<span class="rag-pno">{tag}</span>{marked(lo, hi)}</p>'
            )
        cursor = hi
    if text[cursor:].strip():
        out.append(f'<p class="rag-other">{marked(cursor, len(text))}</p>')
    meta = [doc.kind_label]
    if doc.date:
        meta.append(doc.date)
    meta.append(f"{len(text):,} 字")
    head = (
        f'<div class="rag-doc-head"><strong>《{inert(doc.title)}》</strong>'
        f'<span class="rag-doc-meta">{inert(" · ".join(meta))}</span>'
        '<button type="button" class="rag-back rag-hidden">返回对话</button></div>'
    )
    return (
        f'<div class="rag-doc">{head}<div class="rag-doc-body">{_outline_html(doc, current)}'
        f'<div class="rag-doc-text">{"".join(out)}</div></div></div>'
    )


def document_table(documents: Mapping[str, Document], *, removable: bool = False) -> str:
    """The indexed documents as a table: title (opens the document), kind, date, size."""
    if not documents:
        return '<div class="rag-panel-empty">还没有收录文件。</div>'
    rows = []
    for doc in documents.values():
        key = _urlquote(doc.doc_id, safe="")
        remove = ""
        if removable and doc.source:
            name = doc.source.split("#", 1)[0]
            remove = (
                f'<td><button type="button" class="rag-remove" value="{inert(name)}">'
                "删除</button></td>"
            )
        rows.append(
            f'<tr><td><a class="rag-doc-link" href="#rag-doc:{key}">《{inert(doc.title)}》</a></td>'
            f"<td>{inert(doc.kind_label)}</td><td>{inert(doc.date or '—')}</td>"
            f'<td class="rag-num">{len(doc.text):,} 字</td>{remove}</tr>'
        )
    head = "<th>标题</th><th>类别</th><th>日期</th><th>篇幅</th>"
    if removable:
        head += "<th>操作</th>"
    return (
        f'<table class="rag-doc-table"><caption>收录的 {len(documents)} 份文件</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def document_missing(doc_id: str) -> str:
    return (
        '<div class="rag-callout rag-callout-error">当前索引中没有这份文件（'
        f"{inert(doc_id)}），可能已经重建索引。请重新提问。</div>"
    )


# -- page header --------------------------------------------------------------------------------


def collection_title(documents: Mapping[str, Document]) -> str:
    """A page title from the documents themselves (plain text)."""
    docs = list(documents.values())
    if not docs:
        return "公文问答"
    first = docs[0].title.strip("《》 ")
    if len(docs) == 1:
        return f"《{first}》问答"
    return f"《{first}》等 {len(docs)} 份文件问答"


def collection_description(documents: Mapping[str, Document]) -> str:
    """One line about what is indexed (plain text): kinds, dates, and how answers work."""
    docs = list(documents.values())
    kinds = Counter(d.kind_label for d in docs)
    parts = "、".join(f"{label} {n} 份" for label, n in kinds.most_common())
    dates = sorted({d.date for d in docs if d.date})
    when = ""
    if dates:
        when = f"，{dates[0]}" if len(dates) == 1 else f"，{dates[0]} 至 {dates[-1]}"
    return (
        f"收录 {len(docs)} 份文件（{parts}{when}）。回答只摘录原文并注明出处，"
        "文件中没有的内容会明确说明。"
    )


def status_line(info: IndexInfo) -> str:
    """Build id, counts and retrieval mode (HTML, inert)."""
    note = ""
    if info.has_vectors:
        mode = f"混合检索（关键词 + 向量模型 {info.model}）"
    else:
        mode = "仅关键词检索（索引不含向量）"
        # Why there are no vectors is for operators; it is in the tooltip.
        note = f' title="{inert(info.dense_note)}"' if info.dense_note else ""
    built = info.built_at.replace("T", " ")[:19]
    fields = [
        f"索引构建于 {built}" if built else "",
        f"{info.documents} 份文件",
        f"{info.chunks} 个段落",
        f"检索方式：{mode}",
    ]
    return f'<div class="rag-status"{note}>{inert(" · ".join(f for f in fields if f))}</div>'


def document_rows(documents: Mapping[str, Document]) -> list[dict[str, Any]]:
    """One plain record per document for the document list and the API."""
    return [
        {
            "doc_id": d.doc_id,
            "title": d.title,
            "kind": d.kind,
            "kind_label": d.kind_label,
            "date": d.date,
            "chars": len(d.text),
            "source": d.source,
        }
        for d in documents.values()
    ]


SCOPE_ALL = "全部文件"


def scope_choices(documents: Mapping[str, Document]) -> list[tuple[str, str]]:
    """The choices of the 检索范围 control (several may be chosen; none is every document):
    each kind present with its count, then each document by title; values are
    ``kind:{kind}`` and ``doc:{id}``. Empty with one document (nothing to choose)."""
    docs = list(documents.values())
    if len(docs) < 2:
        return []
    kinds = Counter(d.kind for d in docs)
    labels = {d.kind: d.kind_label for d in docs}
    out = [(f"{labels[k]}类（{n} 份）", f"kind:{k}") for k, n in kinds.most_common()]
    return out + [(f"《{d.title}》", f"doc:{d.doc_id}") for d in docs]


def scope_values(value: str | Iterable[str] | None) -> list[str]:
    """The control's value as a list of choice values (one string is one choice)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [v for v in dict.fromkeys(items) if isinstance(v, str) and v]


def scope_of(value: str | Iterable[str] | None) -> dict[str, list[str]] | None:
    """The ``scope`` argument of ``Assistant.answer`` for values of :func:`scope_choices`
    (None: every document)."""
    documents: list[str] = []
    kinds: list[str] = []
    for item in scope_values(value):
        kind, _, key = item.partition(":")
        if key and kind in ("kind", "doc"):
            (kinds if kind == "kind" else documents).append(key)
    if not documents and not kinds:
        return None
    return {"documents": documents, "kinds": kinds}


def scope_label(value: str | Iterable[str] | None, documents: Mapping[str, Document]) -> str:
    """How the chosen scope is named to the reader: 全部文件, or 决议类、《…》、《…》."""
    parts = []
    kind_labels = {d.kind: d.kind_label for d in documents.values()}
    for item in scope_values(value):
        kind, _, key = item.partition(":")
        if kind == "kind":
            parts.append(f"{kind_labels.get(key, key)}类")
        elif kind == "doc":
            doc = documents.get(key)
            parts.append(f"《{doc.title}》" if doc is not None else f"（已删除的文件 {key}）")
    return "、".join(parts) or SCOPE_ALL


def scope_line(
    value: str | Iterable[str] | None, documents: Mapping[str, Document], stated: str = ""
) -> str:
    """The line above the scope control naming where the next question is searched;
    ``stated`` is the scope the last question stated (只在《…》中), which follow-ups keep."""
    text = f"检索范围：{scope_label(value, documents)}"
    if stated:
        text += f"；追问（如“那么……呢？”）沿用上一问指定的{stated}"
    return f'<p class="rag-scope-line">{inert(text)}</p>'


def header(documents: Mapping[str, Document]) -> str:
    return (
        f'<div class="rag-header"><h1 class="rag-title">{inert(collection_title(documents))}</h1>'
        f'<p class="rag-description">{inert(collection_description(documents))}</p></div>'
    )


def citations(answer: Answer) -> list[str]:
    """Citation strings of an answer (quotes, or the offered passages of a refusal)."""
    if answer.found:
        return [q.citation for q in answer.quotes]
    return [h.citation for h in answer.hits[:3] if h.citation]


__all__ = [
    "DOCUMENT_EMPTY",
    "INPUT_LIMIT",
    "PENDING_BUBBLE",
    "SOURCES_EMPTY",
    "Span",
    "answer_bubble",
    "citations",
    "cite_key",
    "cite_link",
    "collection_description",
    "collection_title",
    "document_missing",
    "document_rows",
    "document_table",
    "document_view",
    "error_bubble",
    "header",
    "highlight",
    "inert",
    "input_hint",
    "outline",
    "parse_cite_key",
    "plain_text",
    "scope_choices",
    "scope_label",
    "scope_line",
    "scope_of",
    "scope_values",
    "sources_panel",
    "status_line",
    "upload_form",
    "user_bubble",
]
