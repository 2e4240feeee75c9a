"""Documents from source files: titles, sections, numbered paragraphs, sentences, repairs.

A text file is read as a newspaper page or an official document: blocks separated by blank
lines are classified (markdown heading, byline, photo credit, caption, dateline, in-text
heading, body paragraph), grouped into documents, repaired (repeated paragraphs dropped,
paragraphs broken mid-word joined) and numbered. A ``.jsonl`` corpus holds one document per
line and is kept verbatim.

Example:
    >>> corpus = load_documents(Path("source"))
    >>> [d.doc_id for d in corpus.documents]
    ['shanghai_cpc_plenary_2021-06-22_soft_power/resolution', '…/side_report']
    >>> print(describe(corpus))
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from . import guards
from .errors import SourceError
from .schema import KIND_LABELS, Document, Heading, Paragraph, Repair, SectionRef, Sentence
from .sentences import CLOSERS, SENTENCE_END, split_sentences
from .sources import SourceFile, scan_sources

# A block this short without sentence-final punctuation reads as a heading.
HEADING_MAX_CHARS = 40
# Captions can be a full sentence, but never a long paragraph.
CAPTION_MAX_CHARS = 100
# Characters on each side of a paragraph break that are segmented to look for a split word.
JUNCTION_CHARS = 6
# Shorter repeated paragraphs (e.g. "（完）") may repeat on purpose and are kept.
DUPLICATE_MIN_CHARS = 6

_CN_NUM = "一二三四五六七八九十百千零〇两"
_FINAL = re.escape(SENTENCE_END)
_CLOSE = re.escape(CLOSERS + "》")
_MD_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?!#)[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_HAS_FINAL_RE = re.compile(f"[{_FINAL}]")
# A paragraph is complete when it ends in sentence-final punctuation, or in a colon that
# introduces a list, optionally followed by closing quotes/brackets.
_COMPLETE_RE = re.compile(f"[{_FINAL}：:][{_CLOSE}]*$")
# Headings never end in a comma, enumeration comma or colon: those are cut-off sentences.
_CONTINUES_RE = re.compile(r"[，、：:,;（(“‘《—-]$")
# Starts mid-sentence: with punctuation, or a lone character followed by 、 or a dash
# (``跑、携最优者同行`` is the tail of a word such as 领跑).
_HEAD_FRAGMENT_RE = re.compile(f"^(?:[，。、；：！？,.;:!?{_CLOSE}]|[\u4e00-\u9fff](?:、|—))")
_DASH_RE = re.compile(r"^(?:——|──|--)")
_CREDIT_PREFIX_RE = re.compile(r"^(?:制图|摄影|摄像|图片|图表|图|视频|设计|绘图|漫画)\s*[：:]")
_BYLINE_RE = re.compile(
    r"^(?P<bullet>[■□●◆▲★]\s*)?(?P<org>本报|新华社|人民日报|中新社|央视)?"
    r"(?:特约|见习|实习|首席)?(?:记者|通讯员|评论员)"
)
_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE_RE = re.compile(
    r"([〇零一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)
_DATELINE_WORDS_RE = re.compile(r"通过|发布|印发|公布|施行|颁布")
_BRACKET_TITLE_RE = re.compile(r"^[【（(]([^】）)]{1,20})[】）)]")
_LEAD_TITLE_RE = re.compile(r"^([^。！？；]{1,30})。")

# Official numbering, outermost first; the rank orders the two families 编>章>节>条 and
# 一、>（一）>1.>（1）>①, and puts articles (条) outside list items.
_ARTICLE_RE = re.compile(f"^第[{_CN_NUM}\\d]+([编章节条])")
_ARTICLE_RANKS = {"编": 10, "章": 20, "节": 30, "条": 40}
_LIST_MARKERS = (
    (re.compile(f"^[{_CN_NUM}]+、"), 50),
    (re.compile(f"^[（(][{_CN_NUM}]+[）)]"), 60),
    (re.compile(r"^\d{1,3}(?:[.．](?!\d)|、)"), 70),
    (re.compile(r"^[（(]\d{1,3}[）)]"), 80),
    (re.compile(r"^[①-⑳]"), 90),
)
_LIST_RANK_MIN = 50

_KIND_WORDS = (
    ("side_report", ("侧记",)),
    ("resolution", ("决议",)),
    ("policy", ("意见", "办法", "条例", "规定", "通知", "方案", "规划", "细则")),
)
# Head blocks come first in the canonical text, in this order.
_HEAD_ORDER = ("title", "kicker", "subtitle", "dateline", "byline")


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class Corpus:
    """All documents under a source path.

    Attributes:
        documents: Documents in file order, then page order.
        warnings: Skipped files and other remarks.
        source_hashes: sha256 of each source file's bytes, by relative path.
    """

    documents: tuple[Document, ...]
    warnings: tuple[str, ...]
    source_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def repairs(self) -> tuple[Repair, ...]:
        """Every repair of every document, in document order."""
        return tuple(r for d in self.documents for r in d.repairs)


def load_documents(path: Path) -> Corpus:
    """Scan ``path`` and parse every file into documents.

    Args:
        path: Source directory or single file.

    Returns:
        The documents with warnings and source hashes.

    Raises:
        SourceError: A file cannot be read or parsed, or two documents share an id; the
            message lists every problem.

    Example:
        >>> corpus = load_documents(Path("source"))
        >>> len(corpus.documents)
        2
    """
    scan = scan_sources(Path(path))
    documents: list[Document] = []
    warnings = list(scan.warnings)
    problems: list[str] = []
    for source in scan.files:
        try:
            docs, notes = _parse(source)
        except SourceError as exc:
            problems.append(str(exc))
            continue
        documents.extend(docs)
        warnings.extend(notes)
    problems.extend(_duplicate_ids(documents))
    if problems:
        raise SourceError("\n".join(problems))
    return Corpus(
        documents=tuple(documents),
        warnings=tuple(warnings),
        source_hashes={f.rel: f.sha256 for f in scan.files},
    )


def parse_source(f: SourceFile) -> list[Document]:
    """Parse one decoded source file into its documents.

    Args:
        f: The file from ``scan_sources``.

    Returns:
        Its documents in page order.

    Raises:
        SourceError: A ``.jsonl`` line is bad, or a text file holds no body paragraph.
    """
    return _parse(f)[0]


def describe(corpus: Corpus) -> str:
    """Render the parsed structure for ``rag inspect``.

    Args:
        corpus: The loaded corpus.

    Returns:
        Multi-line text: per document its id, title, kind, date, head blocks, sections,
        numbered paragraphs with source lines, metadata and repairs.
    """
    sources = len(corpus.source_hashes)
    out = [f"{len(corpus.documents)} document(s) from {sources} source file(s)"]
    out.extend(f"warning: {w}" for w in corpus.warnings)
    for doc in corpus.documents:
        out.append("")
        out.extend(_describe_document(doc))
    return "\n".join(out)


# --------------------------------------------------------------------------- dispatch


def _parse(f: SourceFile) -> tuple[list[Document], list[str]]:
    if f.format == "jsonl":
        return _parse_jsonl(f)
    return _parse_text(f), []


def _duplicate_ids(documents: list[Document]) -> list[str]:
    first: dict[str, str] = {}
    problems = []
    for doc in documents:
        if doc.doc_id in first:
            problems.append(
                f"duplicate document id {doc.doc_id!r} in {doc.source} (already used by "
                f"{first[doc.doc_id]}); rename one of the files or change the id"
            )
        else:
            first[doc.doc_id] = doc.source
    return problems


# --------------------------------------------------------------------------- .jsonl


def _parse_jsonl(f: SourceFile) -> tuple[list[Document], list[str]]:
    documents: list[Document] = []
    warnings: list[str] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(f.text.split("\n"), start=1):
        if not line.strip():
            continue
        record, problem = _jsonl_record(line)
        if problem:
            errors.append(f"{f.rel}:{number}: {problem}")
            continue
        doc_id, title, text = record
        if doc_id in first_line:
            errors.append(
                f"{f.rel}:{number}: duplicate id {doc_id!r} (first on line "
                f"{first_line[doc_id]}); ids must be unique"
            )
            continue
        first_line[doc_id] = number
        # Only line endings are normalised: benchmark answers are substrings of this text.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        paragraphs = _line_paragraphs(text, number)
        if not paragraphs:
            warnings.append(f"{f.rel}:{number}: record {doc_id!r} has an empty text; skipped")
            continue
        documents.append(
            Document(
                doc_id=doc_id,
                title=title,
                kind="record",
                text=text,
                paragraphs=paragraphs,
                source=f.rel,
                source_sha256=f.sha256,
            )
        )
    if errors:
        shown = errors[:20]
        more = f"\n  … and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise SourceError(
            f"{f.rel}: {len(errors)} bad line(s); each line must be a JSON object with string "
            'fields "id", "title" and "text":\n  ' + "\n  ".join(shown) + more
        )
    return documents, warnings


def _jsonl_record(line: str) -> tuple[tuple[str, str, str], str]:
    """The (id, title, text) of one line, or a description of what is wrong with it."""
    try:
        data: Any = guards.loads(line, what="the line")
    except guards.BoundedJSONError as exc:
        return ("", "", ""), exc.reason
    if not isinstance(data, dict):
        return ("", "", ""), f"expected a JSON object, got {type(data).__name__}"
    bad = [k for k in ("id", "title", "text") if not isinstance(data.get(k), str)]
    if bad:
        what = ", ".join(f'"{k}"' for k in bad)
        return ("", "", ""), f"field(s) {what} missing or not a string"
    if not data["id"].strip():
        return ("", "", ""), 'field "id" is empty'
    return (data["id"], data["title"], data["text"]), ""


def _line_paragraphs(text: str, source_line: int) -> tuple[Paragraph, ...]:
    paragraphs: list[Paragraph] = []
    for match in re.finditer(r"[^\n]+", text):
        piece = match.group()
        start = match.start() + len(piece) - len(piece.lstrip())
        end = match.start() + len(piece.rstrip())
        if end <= start:
            continue
        sentences = tuple(Sentence(s, e) for s, e in split_sentences(text, start, end))
        paragraphs.append(Paragraph(len(paragraphs) + 1, start, end, (), sentences, (source_line,)))
    return tuple(paragraphs)


# --------------------------------------------------------------------------- text: units


@dataclass
class _Unit:
    """A block of source lines with its layout context."""

    lines: tuple[int, ...]
    raw: tuple[str, ...]
    text: str
    gap_before: int
    md_level: int = 0
    role: str = ""


@dataclass(frozen=True)
class _Marker:
    label: str
    rank: int
    rest: str


def _units(text: str) -> list[_Unit]:
    """Split the file into blocks: blank lines separate them, markdown headings stand alone,
    and a run of lines that each end a sentence is one paragraph per line."""
    units: list[_Unit] = []
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
        if not line.strip():
            flush()
            blank += 1
            continue
        heading = _MD_HEADING_RE.match(line)
        if heading and heading.group(2).strip():
            flush()
            gap = blank if units else 0
            title = heading.group(2).strip()
            units.append(_Unit((number,), (line,), title, gap, md_level=len(heading.group(1))))
            blank = 0
            continue
        run.append((number, line.rstrip()))
    flush()
    return units


def _text_unit(piece: list[tuple[int, str]], gap: int) -> _Unit:
    lines = tuple(n for n, _ in piece)
    raw = tuple(line for _, line in piece)
    return _Unit(lines, raw, "\n".join(raw).strip(), gap)


def _split_run(run: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Cut a run of consecutive lines into paragraphs.

    Plain-text official documents often put one paragraph per line with no blank line in
    between, while wrapped text breaks lines mid-sentence. A line break is a paragraph break
    only after a complete sentence, before an indented line or before a numbering marker.
    Bylines and credit blocks (names on hard-broken lines) stay whole.
    """
    if len(run) <= 1:
        return [run] if run else []
    texts = [line.strip() for _, line in run]
    if _is_byline(texts) or all(_is_credit_line(t) for t in texts):
        return [run]
    pieces: list[list[tuple[int, str]]] = [[run[0]]]
    for prev_text, item in zip(texts, run[1:], strict=False):
        line = item[1]
        if (
            _COMPLETE_RE.search(prev_text)
            or line[:1] in ("\u3000", "\t")
            or line.startswith("  ")
            or _marker(line.strip()) is not None
        ):
            pieces.append([item])
        else:
            pieces[-1].append(item)
    return pieces


# --------------------------------------------------------------------------- text: classify


def _marker(text: str) -> _Marker | None:
    """The numbering that starts ``text``: ``第十条``, ``三、``, ``（二）``, ``1.`` …"""
    article = _ARTICLE_RE.match(text)
    if article:
        label = article.group()
        return _Marker(label, _ARTICLE_RANKS[article.group(1)], text[len(label) :].strip())
    for pattern, rank in _LIST_MARKERS:
        match = pattern.match(text)
        if match:
            label = match.group()
            return _Marker(label, rank, text[len(label) :].strip())
    return None


def _is_credit_line(line: str) -> bool:
    """``均本报记者 叶辰亮摄`` or ``制图：李洁``: who made the picture, not body text."""
    text = line.strip()
    if not text or len(text) > HEADING_MAX_CHARS:
        return False
    if _CREDIT_PREFIX_RE.match(text):
        return True
    return text.endswith("摄") and not re.search(f"[{_FINAL}，,]", text)


def _is_byline(lines: list[str]) -> bool:
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


def _is_heading_like(text: str) -> bool:
    """Short, one line, no sentence-final punctuation and not cut off mid-sentence."""
    return (
        len(text) <= HEADING_MAX_CHARS
        and "\n" not in text
        and not _HAS_FINAL_RE.search(text)
        and not _CONTINUES_RE.search(text)
        and not (_marker(text) is None and _HEAD_FRAGMENT_RE.match(text))
    )


def _classify(units: list[_Unit]) -> None:
    for unit in units:
        texts = [t.strip() for t in unit.raw]
        if unit.md_level:
            unit.role = "heading"
        elif all(_is_credit_line(t) for t in texts):
            unit.role = "credit"
        elif _is_byline(texts):
            unit.role = "byline"
        elif _is_heading_like(unit.text):
            unit.role = "section"
        else:
            unit.role = "body"
    _mark_captions(units, _image_gap(units))


def _image_gap(units: list[_Unit]) -> int:
    """Blank lines that mark a removed picture: more than the file's usual separator."""
    gaps = sorted(u.gap_before for u in units[1:])
    usual = gaps[len(gaps) // 2] if gaps else 1
    return max(2, usual + 1)


def _mark_captions(units: list[_Unit], gap: int) -> None:
    def short_plain(u: _Unit) -> bool:
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
            and _marker(unit.text) is None
            and units[index + 1].gap_before >= gap
        ):
            unit.role = "caption"


# --------------------------------------------------------------------------- text: documents


@dataclass
class _Block:
    """A kept block of one document, before offsets in the canonical text are known."""

    role: str
    text: str
    lines: tuple[int, ...]
    level: int = 0
    marker: _Marker | None = None
    # The block follows a picture, a caption or a cut-off paragraph, so its start may be the
    # continuation of a sentence from elsewhere on the page.
    after_break: bool = False


@dataclass
class _Draft:
    head: list[_Block] = field(default_factory=list)
    body: list[_Block] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    title_level: int = 1

    def has(self, role: str) -> bool:
        return any(b.role == role for b in self.head)

    @property
    def has_paragraphs(self) -> bool:
        return any(b.role == "body" for b in self.body)


def _drafts(units: list[_Unit], gap: int) -> list[_Draft]:
    """Group classified units into documents.

    A byline or a title-level heading group after body paragraphs starts a new document.
    """
    drafts = [_Draft()]
    index = 0
    previous: _Unit | None = None
    while index < len(units):
        unit = units[index]
        doc = drafts[-1]
        if unit.role in ("caption", "credit"):
            doc.metadata.extend(_metadata_entries(unit))
        elif unit.role == "byline":
            if doc.has_paragraphs:
                doc = _new_draft(drafts)
            text = " ".join(t.strip() for t in unit.raw)
            doc.head.append(_Block("byline", text, unit.lines))
        elif unit.role == "heading":
            end = index
            while end < len(units) and units[end].role == "heading":
                end += 1
            group = units[index:end]
            if doc.has_paragraphs and _starts_document(group, doc):
                doc = _new_draft(drafts)
            _place_heading_group(doc, group)
            previous, index = units[end - 1], end
            continue
        elif (
            not doc.body
            and doc.has("title")
            and not doc.has("dateline")
            and _is_dateline(unit.text)
        ):
            doc.head.append(_Block("dateline", unit.text, unit.lines))
        elif unit.role == "section":
            _place_plain_heading(doc, unit)
        else:
            after_break = unit.gap_before >= gap or _breaks_flow(previous)
            doc.body.append(
                _Block(
                    "body",
                    unit.text,
                    unit.lines,
                    marker=_marker(unit.text),
                    after_break=after_break,
                )
            )
        previous = unit
        index += 1
    return drafts


def _new_draft(drafts: list[_Draft]) -> _Draft:
    drafts.append(_Draft())
    return drafts[-1]


def _breaks_flow(previous: _Unit | None) -> bool:
    if previous is None:
        return False
    if previous.role in ("caption", "credit"):
        return True
    return previous.role == "body" and not _COMPLETE_RE.search(previous.text)


def _metadata_entries(unit: _Unit) -> list[str]:
    if unit.role == "credit":
        return [t.strip() for t in unit.raw if t.strip()]
    return [unit.text]


def _title_index(group: list[_Unit]) -> int | None:
    """The outermost unnumbered heading of a group that is not a subtitle."""
    eligible = [
        k for k, u in enumerate(group) if not _DASH_RE.match(u.text) and _marker(u.text) is None
    ]
    if not eligible:
        return None
    top = min(group[k].md_level for k in eligible)
    return next(k for k in eligible if group[k].md_level == top)


def _starts_document(group: list[_Unit], doc: _Draft) -> bool:
    title = _title_index(group)
    if title is None:
        return False
    has_subtitle = any(_DASH_RE.match(u.text) for u in group[title + 1 :])
    return has_subtitle or group[title].md_level <= doc.title_level


def _place_heading_group(doc: _Draft, group: list[_Unit]) -> None:
    title = _title_index(group) if not doc.has("title") and not doc.body else None
    for k, unit in enumerate(group):
        if title is not None and k < title:
            doc.head.append(_Block("kicker", unit.text, unit.lines, unit.md_level))
        elif title is not None and k == title:
            doc.head.append(_Block("title", unit.text, unit.lines, unit.md_level))
            doc.title_level = unit.md_level
        elif _is_subtitle(doc, unit.text):
            doc.head.append(_Block("subtitle", unit.text, unit.lines, unit.md_level))
        else:
            doc.body.append(_section_block(unit))


def _place_plain_heading(doc: _Draft, unit: _Unit) -> None:
    if not doc.has("title") and not doc.body and _marker(unit.text) is None:
        doc.head.append(_Block("title", unit.text, unit.lines))
    elif _is_subtitle(doc, unit.text):
        doc.head.append(_Block("subtitle", unit.text, unit.lines))
    else:
        doc.body.append(_section_block(unit))


def _is_subtitle(doc: _Draft, text: str) -> bool:
    return (
        doc.has("title") and not doc.body and not doc.has("subtitle") and bool(_DASH_RE.match(text))
    )


def _section_block(unit: _Unit) -> _Block:
    return _Block("section", unit.text, unit.lines, unit.md_level, marker=_marker(unit.text))


def _is_dateline(text: str) -> bool:
    """``(2021年6月22日……全体会议通过)`` or a bare date under the title."""
    if "\n" in text or len(text) > 3 * HEADING_MAX_CHARS:
        return False
    if _date_of(text) and re.fullmatch(r"[\d〇零一二三四五六七八九十年月日\s]+", text):
        return True
    wrapped = re.fullmatch(r"[（(].*[)）]", text) is not None
    return wrapped and bool(_date_of(text) or _DATELINE_WORDS_RE.search(text))


def _date_of(text: str) -> str:
    """The first date in ``text`` as ``YYYY-MM-DD``, or ``""``."""
    match = _DATE_RE.search(text)
    if match:
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


def _cn_small_number(text: str) -> int:
    """一 … 三十一."""
    digits = {c: i for i, c in enumerate("〇一二三四五六七八九")}
    if "十" not in text:
        return digits.get(text, 0)
    tens, _, ones = text.partition("十")
    return (digits.get(tens, 0) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)


# --------------------------------------------------------------------------- text: repairs


def _repair(body: list[_Block], rel: str) -> tuple[list[_Block], list[Repair]]:
    body, repairs = _drop_duplicates(body, rel)
    body, joins = _join_fragments(body, rel)
    return body, repairs + joins + _flag_fragments(body, rel)


def _drop_duplicates(body: list[_Block], rel: str) -> tuple[list[_Block], list[Repair]]:
    first: dict[str, tuple[int, ...]] = {}
    kept: list[_Block] = []
    repairs: list[Repair] = []
    for block in body:
        if block.role == "body" and len(block.text) >= DUPLICATE_MIN_CHARS:
            if block.text in first:
                original = first[block.text]
                repairs.append(
                    Repair(
                        "duplicate_dropped",
                        rel,
                        block.lines,
                        f"{_lines(block.lines)} repeats {_lines(original)} exactly; dropped: "
                        f"{_excerpt(block.text)}",
                    )
                )
                continue
            first[block.text] = block.lines
        kept.append(block)
    return kept, repairs


def _join_fragments(body: list[_Block], rel: str) -> tuple[list[_Block], list[Repair]]:
    """Join paragraphs broken mid-word to their continuation.

    The only evidence accepted is a dictionary word that spans the break. The next paragraph
    is tried first; after that, paragraphs whose start may belong elsewhere (they follow a
    picture, a caption or another cut-off paragraph, or start like a fragment), nearest first.
    """
    body = list(body)
    used: set[int] = set()
    repairs: list[Repair] = []
    # Computed once, so a page with many cut-off paragraphs stays linear in candidates.
    suspects = [
        k
        for k, b in enumerate(body)
        if b.role == "body" and (b.after_break or _HEAD_FRAGMENT_RE.match(b.text))
    ]
    for index, block in enumerate(body):
        if block.role != "body" or index in used:
            continue
        while not _COMPLETE_RE.search(block.text):
            found = _find_continuation(body, index, used, suspects)
            if found is None:
                break
            other, word = found
            continuation = body[other]
            used.add(other)
            repairs.append(
                Repair(
                    "joined",
                    rel,
                    block.lines + continuation.lines,
                    f"{_lines(block.lines)} ends '…{block.text[-8:]}' and "
                    f"{_lines(continuation.lines)} continues '{continuation.text[:8]}…' "
                    f"(the word 「{word}」 spans the break); joined",
                )
            )
            block = replace(
                block, text=block.text + continuation.text, lines=block.lines + continuation.lines
            )
            body[index] = block
    return [b for k, b in enumerate(body) if k not in used], repairs


def _find_continuation(
    body: list[_Block], index: int, used: set[int], suspects: list[int]
) -> tuple[int, str] | None:
    """The paragraph that continues ``body[index]`` and the word spanning the break."""
    fragment = body[index].text
    following = next((k for k in range(index + 1, len(body)) if k not in used), None)
    candidates: list[int] = []
    if following is not None and body[following].role == "body":
        candidates.append(following)
    others = [k for k in suspects if k not in used and k not in (index, following)]
    # Nearest first; on a tie the later paragraph, since text usually flows forward.
    candidates.extend(sorted(others, key=lambda k: (abs(k - index), k < index)))
    for k in candidates:
        if body[k].marker is not None:
            continue  # a numbered paragraph begins a new item; it never continues another
        word = _word_across(fragment, body[k].text)
        if word:
            return k, word
    return None


def _word_across(left: str, right: str) -> str:
    """A dictionary word of two or more characters spanning ``left`` + ``right``, or ``""``."""
    tail, head = left[-JUNCTION_CHARS:], right[:JUNCTION_CHARS]
    tokenizer = _tokenizer()
    position = 0
    for token in tokenizer.cut(tail + head, HMM=False):
        start, position = position, position + len(token)
        if start < len(tail) < position and len(token) >= 2 and tokenizer.FREQ.get(token):
            return str(token)
        if position >= len(tail):
            break
    return ""


@functools.cache
def _tokenizer() -> Any:
    # A private instance: the global jieba dictionary may carry user words added elsewhere,
    # which must not change how pages are repaired. Imported lazily: only pages with a
    # cut-off paragraph pay for loading the dictionary (about 0.6 s).
    import jieba

    tokenizer = jieba.Tokenizer()
    logger = jieba.default_logger
    level = logger.level
    logger.setLevel(logging.WARNING)  # jieba announces the dictionary load on stderr
    try:
        tokenizer.initialize()
    finally:
        logger.setLevel(level)
    return tokenizer


def _flag_fragments(body: list[_Block], rel: str) -> list[Repair]:
    flags = []
    for block in body:
        if block.role != "body":
            continue
        if not _COMPLETE_RE.search(block.text):
            flags.append(
                Repair(
                    "fragment_flagged",
                    rel,
                    block.lines,
                    f"{_lines(block.lines)} ends mid-sentence ('…{block.text[-10:]}') and no "
                    "continuation was found on the page; kept as is",
                )
            )
        if block.marker is None and _HEAD_FRAGMENT_RE.match(block.text):
            flags.append(
                Repair(
                    "fragment_flagged",
                    rel,
                    block.lines,
                    f"{_lines(block.lines)} starts mid-sentence ('{block.text[:10]}…') and its "
                    "beginning is not on the page; kept as is",
                )
            )
    return flags


# --------------------------------------------------------------------------- text: sections


@dataclass(frozen=True)
class _Entry:
    label: str
    title: str
    rank: float
    md_level: int = 0
    plain: bool = False
    from_paragraph: bool = False


class _SectionStack:
    """The current section path while walking a document.

    Numbered entries nest by rank (a new marker closes markers of equal or deeper rank).
    Unnumbered headings close the previous heading of the same kind (same or deeper markdown
    level, or the previous plain heading) and nest under whatever numbering is open.
    """

    def __init__(self) -> None:
        self.entries: list[_Entry] = []

    def heading(self, block: _Block) -> None:
        # A heading is never inside a numbered paragraph such as ``第十条 ……。``.
        while self.entries and self.entries[-1].from_paragraph:
            self.entries.pop()
        if block.marker is not None:
            self._push_marker(block.marker, block.marker.rest, block.level, from_paragraph=False)
            return
        if block.level:
            self._truncate(lambda e: e.md_level > 0 and e.md_level >= block.level)
        else:
            self._truncate(lambda e: e.plain)
        rank = (self.entries[-1].rank if self.entries else 0) + 0.5
        self.entries.append(_Entry("", block.text, rank, block.level, plain=not block.level))

    def paragraph(self, block: _Block) -> None:
        if block.marker is not None:
            title = _paragraph_title(block.marker)
            self._push_marker(block.marker, title, 0, from_paragraph=True)

    def path(self) -> tuple[SectionRef, ...]:
        return tuple(SectionRef(e.label, e.title, k + 1) for k, e in enumerate(self.entries))

    def _push_marker(
        self, marker: _Marker, title: str, md_level: int, from_paragraph: bool
    ) -> None:
        while self.entries and self.entries[-1].rank >= marker.rank:
            self.entries.pop()
        self.entries.append(
            _Entry(marker.label, title, marker.rank, md_level, from_paragraph=from_paragraph)
        )

    def _truncate(self, closes: Callable[[_Entry], bool]) -> None:
        for k, entry in enumerate(self.entries):
            if closes(entry):
                del self.entries[k:]
                return


def _paragraph_title(marker: _Marker) -> str:
    """Heading words of a numbered paragraph: ``（二）着力提升文化品位。……`` → 着力提升文化品位.

    Articles (第十条) carry a title only in brackets; their first sentence is law text.
    """
    bracket = _BRACKET_TITLE_RE.match(marker.rest)
    if bracket:
        return bracket.group(1)
    if marker.rank >= _LIST_RANK_MIN:
        lead = _LEAD_TITLE_RE.match(marker.rest)
        if lead and lead.end() < len(marker.rest):
            return lead.group(1)
    return ""


# --------------------------------------------------------------------------- text: assembly


def _parse_text(f: SourceFile) -> list[Document]:
    units = _units(f.text)
    _classify(units)
    drafts = [d for d in _drafts(units, _image_gap(units)) if d.has_paragraphs]
    if not drafts:
        raise SourceError(
            f"{f.rel}: no body paragraphs found; a document needs text paragraphs separated "
            "by blank lines"
        )
    stem = PurePosixPath(f.rel).with_suffix("").as_posix()
    documents = []
    kinds: Counter[str] = Counter()
    for draft in drafts:
        _move_trailing_lines(draft)
        body, repairs = _repair(draft.body, f.rel)
        title, subtitle = _head_text(draft, "title"), _head_text(draft, "subtitle")
        kind = _kind(title + subtitle)
        kinds[kind] += 1
        if len(drafts) == 1:
            doc_id = stem
        else:
            doc_id = f"{stem}/{kind}" + (f"-{kinds[kind]}" if kinds[kind] > 1 else "")
        documents.append(
            _assemble(replace(draft, body=body), f, doc_id, title or stem, kind, tuple(repairs))
        )
    return documents


def _move_trailing_lines(draft: _Draft) -> None:
    """Short unnumbered lines after the last paragraph (signature, date) are metadata."""
    trailing: list[str] = []
    while draft.body and draft.body[-1].role == "section" and not draft.body[-1].level:
        if draft.body[-1].marker is not None:
            break
        trailing.insert(0, draft.body.pop().text)
    draft.metadata.extend(trailing)


def _head_text(draft: _Draft, role: str) -> str:
    return next((b.text for b in draft.head if b.role == role), "")


def _kind(text: str) -> str:
    for kind, words in _KIND_WORDS:
        if any(w in text for w in words):
            return kind
    return "article"


def _assemble(
    draft: _Draft, f: SourceFile, doc_id: str, title: str, kind: str, repairs: tuple[Repair, ...]
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
    for block in sorted(draft.head, key=lambda b: _HEAD_ORDER.index(b.role)):
        start, end = add(block.text)
        headings.append(Heading(block.role, block.text, start, end, block.level))
    stack = _SectionStack()
    paragraphs: list[Paragraph] = []
    for block in draft.body:
        start, end = add(block.text)
        if block.role == "section":
            stack.heading(block)
            level = block.level or len(stack.entries)
            headings.append(Heading("section", block.text, start, end, level))
            continue
        stack.paragraph(block)
        sentences = tuple(Sentence(s + start, e + start) for s, e in split_sentences(block.text))
        paragraphs.append(
            Paragraph(len(paragraphs) + 1, start, end, stack.path(), sentences, block.lines)
        )
    dateline = _head_text(draft, "dateline")
    return Document(
        doc_id=doc_id,
        title=title,
        kind=kind,
        text="\n\n".join(pieces),
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        source=f.rel,
        source_sha256=f.sha256,
        date=_date_of(dateline) if dateline else "",
        subtitle=_head_text(draft, "subtitle"),
        metadata=tuple(draft.metadata),
        repairs=repairs,
    )


# --------------------------------------------------------------------------- describe


def _describe_document(doc: Document) -> list[str]:
    out = [f"[{doc.doc_id}] {doc.title}"]
    out.append(f"  kind: {doc.kind} ({KIND_LABELS.get(doc.kind, '')})   date: {doc.date or '-'}")
    out.append(f"  source: {doc.source} (sha256 {doc.source_sha256[:12]})")
    for role in ("kicker", "subtitle", "dateline", "byline"):
        for heading in doc.headings:
            if heading.role == role:
                out.append(f"  {role}: {heading.text}")
    sections = [h for h in doc.headings if h.role == "section"]
    out.append(f"  sections ({len(sections)}):")
    out.extend(f"    level {h.level}: {h.text}" for h in sections)
    out.append(f"  paragraphs ({len(doc.paragraphs)}):")
    for p in doc.paragraphs:
        section = " ".join(s.display for s in p.section) or "-"
        text = doc.text[p.start : p.end].replace("\n", " ")
        snippet = text[:40] + ("…" if len(text) > 40 else "")
        out.append(f"    ¶{p.number:<3} {_lines(p.source_lines):<12} [{section}] {snippet}")
    out.append(f"  metadata ({len(doc.metadata)}):")
    for entry in doc.metadata:
        label = "credit" if _is_credit_line(entry) else "caption/note"
        out.append(f"    {label}: {entry}")
    out.append(f"  repairs ({len(doc.repairs)}):")
    out.extend(f"    {r.kind}: {r.detail}" for r in doc.repairs)
    return out


def _lines(lines: tuple[int, ...]) -> str:
    return ("line " if len(lines) == 1 else "lines ") + "+".join(str(n) for n in lines)


def _excerpt(text: str, size: int = 24) -> str:
    return text[:size] + ("…" if len(text) > size else "")


__all__ = ["Corpus", "describe", "load_documents", "parse_source"]
