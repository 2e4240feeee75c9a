"""Typed records passed between the stages: documents, chunks, hits, quotes, answers.

All records are frozen dataclasses. Character offsets (``start``/``end``) always index into
``Document.text``, the canonical text of one document after layout repairs, so that
``document.text[quote.start:quote.end] == quote.text`` holds for every quote.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SectionRef:
    """One level of a section path.

    Attributes:
        label: The numbering as printed (``第二章``, ``三、``, ``（二）``, ``1.``), or ``""`` for
            an unnumbered heading.
        title: The heading text without its numbering (may be ``""``).
        level: Nesting depth; smaller is outer.
    """

    label: str
    title: str
    level: int

    @property
    def display(self) -> str:
        """The label when numbered, otherwise the title."""
        return self.label or self.title

    @property
    def key(self) -> str:
        """The label in Simplified characters (第三十九條 → 第三十九条), to compare labels of
        documents in either script with each other and with a question's."""
        return article_key(self.label)

    @property
    def numbered_in_digits(self) -> bool:
        """The label writes its number in Arabic digits (第 5 條, 第 22-1 條, as Taiwan's and
        Hong Kong's laws do), so that a question asking in Chinese numerals (第五條) cannot
        meet it word for word: only :attr:`key` says they are the same number."""
        return self.key != self.label.translate(_LABEL_FOLD)


# The Traditional characters of statute numbering (編/節/條, 兩 in numbers).
_LABEL_FOLD = str.maketrans("編節條兩項", "编节条两项")
# A label numbered in Arabic digits, as Taiwan's laws number articles (第1條, 第22-1條).
# Questions also write it 第 22-1 條 (spaced as the law is) or 第22條之1.
_ARABIC_LABEL = re.compile(r"^第(\d{1,4})(?:-(\d{1,3}))?([编节条章])(?:之(\d{1,3}))?$")
_CN_DIGITS = "零一二三四五六七八九"


def article_key(label: str) -> str:
    """A numbering label as Simplified Chinese numerals write it, to compare labels of
    documents in either script and either numeral system with each other and with a
    question's: 第三十九條 → 第三十九条, 第1條 → 第一条, 第22-1條 → 第二十二条之一."""
    folded = label.translate(_LABEL_FOLD)
    arabic = _ARABIC_LABEL.match(folded.replace(" ", "").replace("\u3000", ""))
    if arabic is None:
        return folded
    number, sub, unit, after = arabic.groups()
    sub = sub or after
    key = f"第{chinese_number(int(number))}{unit}"
    return f"{key}之{chinese_number(int(sub))}" if sub else key


def chinese_number(value: int) -> str:
    """A number in Chinese counting words, as statutes number articles and 款 and Word
    writes list numbers: 10 → 十, 21 → 二十一, 105 → 一百零五, 2021 → 二千零二十一 (0 and
    below 零, 10000 and above in digits)."""
    if value <= 0:
        return _CN_DIGITS[0]
    if value >= 10000:
        return str(value)
    out = []
    rest = value
    zero = False
    for size, unit in ((1000, "千"), (100, "百"), (10, "十")):
        digit, rest = divmod(rest, size)
        if digit:
            if zero:
                out.append("零")
                zero = False
            if not (size == 10 and digit == 1 and not out):
                out.append(_CN_DIGITS[digit])
            out.append(unit)
        elif out:
            zero = True
    if rest:
        if zero:
            out.append("零")
        out.append(_CN_DIGITS[rest])
    return "".join(out)


@dataclass(frozen=True)
class Sentence:
    """A sentence span in ``Document.text`` (closing quotes and brackets included)."""

    start: int
    end: int


@dataclass(frozen=True)
class Paragraph:
    """A numbered body paragraph.

    Attributes:
        number: 1-based body-paragraph number within its document (what citations show).
        start: Offset of the first character in ``Document.text``.
        end: Offset one past the last character.
        section: Section path from outermost to innermost.
        sentences: Sentence spans inside the paragraph.
        source_lines: 1-based line numbers of the source file the paragraph came from.
        clause: In a statute, the 款 of its article this paragraph belongs to (1-based; items
            belong to the 款 they follow); 0 outside articles.
        role: ``body`` for text paragraphs; ``caption`` (图片说明) and ``credit`` (图片署名)
            for the words around a picture; ``dateline`` (题注) for the dateline of a
            resolution or the enactment history of a law; ``docnumber`` (发文字号) and
            ``signature`` (落款: issuer and date) of an official document; ``byline`` (署名)
            of a report; ``heading`` (标题) for the title,
            引题, subtitle and section headings, quotable text over the same span as their
            :class:`Heading` (``section`` is the path the heading opens). Non-body
            paragraphs are numbered after the body paragraphs (captions, then datelines,
            then headings), so body numbers stay 1..n.
        page: 1-based page of the source (PDF), when known.
    """

    number: int
    start: int
    end: int
    section: tuple[SectionRef, ...]
    sentences: tuple[Sentence, ...]
    source_lines: tuple[int, ...] = ()
    clause: int = 0
    role: str = "body"
    page: int | None = None


@dataclass(frozen=True)
class Heading:
    """A heading-like block kept in the text but not a body paragraph.

    ``role`` is one of ``title``, ``kicker`` (引题), ``subtitle``, ``dateline``, ``byline``,
    ``docnumber`` (发文字号), ``signature`` (落款), ``section``.
    """

    role: str
    text: str
    start: int
    end: int
    level: int = 0


@dataclass(frozen=True)
class Repair:
    """One repair of layout damage, or a flag where no safe repair exists.

    ``kind`` is ``duplicate_dropped``, ``joined``, ``markup_removed``, ``contents_skipped``
    (a table of contents, 目录, left out of the text) or ``fragment_flagged``.
    """

    kind: str
    source: str
    lines: tuple[int, ...]
    detail: str


@dataclass(frozen=True)
class Document:
    """One document with its structure.

    Attributes:
        doc_id: Stable id (for a ``.jsonl`` corpus the line's ``id``).
        title: The document's title.
        kind: What the document is, a key of :data:`KIND_LABELS`: ``law`` (法律),
            ``administrative_regulation`` (行政法规), ``local_regulation`` (地方性法规),
            ``party_regulation`` (党内法规), ``rules`` (规章), ``resolution`` (决议),
            ``decision`` (决定), ``opinion`` (意见), ``notice`` (通知), ``policy`` (文件),
            ``side_report`` (侧记), ``article`` (报道) or ``record`` (a ``.jsonl`` line).
        text: Canonical text: the kept blocks in reading order, separated by blank lines.
        paragraphs: Numbered body paragraphs.
        headings: Titles, kickers, datelines, bylines and section headings, with spans.
        source: Source file path relative to the source root.
        source_sha256: Hash of the source file's bytes.
        date: The document's date when a dateline gives one.
        metadata: Photo captions, credits and similar non-body lines.
        repairs: Repairs made while parsing this document.
        genre: Layout family the parser used: ``statute``, ``numbered``, ``news``, ``record``.
        history: Enactment history / 题注 lines (通过、修正、修订…), oldest first; they are head
            blocks of role ``history`` in the text, never body paragraphs.
    """

    doc_id: str
    title: str
    kind: str
    text: str
    paragraphs: tuple[Paragraph, ...]
    headings: tuple[Heading, ...] = ()
    source: str = ""
    source_sha256: str = ""
    date: str = ""
    subtitle: str = ""
    metadata: tuple[str, ...] = ()
    repairs: tuple[Repair, ...] = ()
    genre: str = ""
    history: tuple[str, ...] = ()

    @property
    def body_paragraphs(self) -> tuple[Paragraph, ...]:
        """The text paragraphs (captions, credits and headings left out), numbered 1..n."""
        return tuple(p for p in self.paragraphs if p.role == "body")

    @property
    def kind_label(self) -> str:
        """Chinese label of the document kind, used to attribute quotes."""
        return KIND_LABELS.get(self.kind, "文件")

    def paragraph(self, number: int) -> Paragraph:
        """Return body paragraph ``number`` (1-based)."""
        return self.paragraphs[number - 1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what ``dataclasses.asdict`` gives, built directly: asdict
        deep-copies every value and was most of the time spent writing ``documents.json``)."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "kind": self.kind,
            "text": self.text,
            "paragraphs": [
                {
                    "number": p.number,
                    "start": p.start,
                    "end": p.end,
                    "section": [
                        {"label": r.label, "title": r.title, "level": r.level} for r in p.section
                    ],
                    "sentences": [{"start": x.start, "end": x.end} for x in p.sentences],
                    "source_lines": list(p.source_lines),
                    "clause": p.clause,
                    "role": p.role,
                    "page": p.page,
                }
                for p in self.paragraphs
            ],
            "headings": [
                {"role": h.role, "text": h.text, "start": h.start, "end": h.end, "level": h.level}
                for h in self.headings
            ],
            "source": self.source,
            "source_sha256": self.source_sha256,
            "date": self.date,
            "subtitle": self.subtitle,
            "metadata": list(self.metadata),
            "repairs": [
                {"kind": r.kind, "source": r.source, "lines": list(r.lines), "detail": r.detail}
                for r in self.repairs
            ],
            "genre": self.genre,
            "history": list(self.history),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        # Paragraphs of one section share its path: one (immutable) SectionRef per level
        # instead of one per paragraph (a build reads every cached document this way).
        refs: dict[tuple[str, str, int], SectionRef] = {}

        def ref(s: dict[str, Any]) -> SectionRef:
            key = (s["label"], s["title"], s["level"])
            found = refs.get(key)
            if found is None:
                found = refs[key] = SectionRef(*key)
            return found

        return cls(
            doc_id=data["doc_id"],
            title=data["title"],
            kind=data["kind"],
            text=data["text"],
            paragraphs=tuple(
                Paragraph(
                    number=p["number"],
                    start=p["start"],
                    end=p["end"],
                    section=tuple(map(ref, p["section"])),
                    sentences=tuple(Sentence(s["start"], s["end"]) for s in p["sentences"]),
                    source_lines=tuple(p.get("source_lines", ())),
                    clause=p.get("clause", 0),
                    role=p.get("role", "body"),
                    page=p.get("page"),
                )
                for p in data["paragraphs"]
            ),
            headings=tuple(Heading(**h) for h in data.get("headings", ())),
            source=data.get("source", ""),
            source_sha256=data.get("source_sha256", ""),
            date=data.get("date", ""),
            subtitle=data.get("subtitle", ""),
            metadata=tuple(data.get("metadata", ())),
            repairs=tuple(
                Repair(r["kind"], r["source"], tuple(r["lines"]), r["detail"])
                for r in data.get("repairs", ())
            ),
            genre=data.get("genre", ""),
            history=tuple(data.get("history", ())),
        )


KIND_LABELS = {
    "law": "法律",
    "administrative_regulation": "行政法规",
    "local_regulation": "地方性法规",
    "party_regulation": "党内法规",
    "rules": "规章",
    "resolution": "决议",
    "decision": "决定",
    "opinion": "意见",
    "notice": "通知",
    "policy": "文件",
    "side_report": "侧记",
    "article": "报道",
    "record": "文档",
}
# Kinds whose words are the official text itself (quoted before reports about them).
AUTHORITATIVE_KINDS = frozenset(KIND_LABELS) - {"side_report", "article", "record"}
# What a quotable paragraph that is neither body text nor a heading is called in a citation
# (《…》题注, 《…》落款), by its Paragraph.role.
ROLE_LABELS = {
    "caption": "图片说明",
    "credit": "图片说明",
    "dateline": "题注",
    "docnumber": "发文字号",
    "signature": "落款",
    "byline": "署名",
    "colophon": "版记",
    "addressee": "主送机关",
    "annex_note": "附件说明",
    "docmark": "版头",
    "annotation": "附注",
}
# The roles among them that are also Heading records over the same span (the notes of a
# document's head and its signature), shown as such in the document view: all but a
# picture's caption and credit.
NOTE_ROLES = frozenset(ROLE_LABELS) - {"caption", "credit"}


@dataclass(frozen=True)
class Chunk:
    """A retrieval passage: whole sentences from one section of one document.

    Attributes:
        chunk_id: Stable id ``{doc_id}:{start}-{end}``.
        doc_id: Owning document.
        doc_title: Its title.
        section: Section path as display strings (label when numbered, else title).
        paragraphs: Body-paragraph numbers the chunk covers.
        start: Span start in the document text.
        end: Span end in the document text.
        text: Exactly ``document.text[start:end]``.
        sentences: Sentence spans (document offsets) inside the chunk.
    """

    chunk_id: str
    doc_id: str
    doc_title: str
    section: tuple[str, ...]
    paragraphs: tuple[int, ...]
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=data["chunk_id"],
            doc_id=data["doc_id"],
            doc_title=data["doc_title"],
            section=tuple(data["section"]),
            paragraphs=tuple(data["paragraphs"]),
            start=data["start"],
            end=data["end"],
            text=data["text"],
            sentences=tuple(tuple(s) for s in data.get("sentences", ())),
        )


@dataclass(frozen=True)
class Hit:
    """A ranked passage returned by search, best first.

    Attributes:
        doc_id: Document id (for a ``.jsonl`` corpus, the line's ``id``).
        doc_title: Document title.
        section: Section path as display strings.
        paragraph: First body-paragraph number of the passage.
        text: Passage text, exactly ``document.text[start:end]``.
        score: Retrieval score (higher is better; comparable within one result list).
        start: Span start in the document text.
        end: Span end in the document text.
        chunk_id: The passage's stable id.
        citation: Chinese citation string.
    """

    doc_id: str
    doc_title: str
    section: tuple[str, ...]
    paragraph: int
    text: str
    score: float
    start: int
    end: int
    chunk_id: str = ""
    citation: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Quote:
    """A verbatim quote: ``text`` is exactly the document text between ``start`` and ``end``.

    ``paragraph`` is the body paragraph it starts in (the one cited); a lead-in quoted with its
    items ends in a later one, ``last_paragraph`` (0 = the same paragraph).
    """

    text: str
    doc_id: str
    doc_title: str
    section: tuple[str, ...]
    paragraph: int
    start: int
    end: int
    citation: str
    doc_kind: str = ""
    score: float = 0.0
    last_paragraph: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Scope:
    """Where a question is asked: some documents and/or some kinds of document.

    A passage is in scope when its document is one of ``documents`` or of one of ``kinds``;
    an empty scope is every document. :func:`rag.scope.resolve_scope` checks a scope against
    an index and fills in ``label``.

    Attributes:
        documents: Document ids.
        kinds: Document kinds, keys of :data:`KIND_LABELS` (``law``, ``resolution``…).
        label: How the answer names it, e.g. ``《劳动合同法》`` or ``决议`` (set on resolving).
        stated: True when the question itself said it (只在《劳动合同法》中…).
        inherited: True when an earlier question of the conversation said it and this
            follow-up (那么违约金呢？) keeps it (``stated`` is then True as well).
    """

    documents: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    label: str = ""
    stated: bool = False
    inherited: bool = False

    def __bool__(self) -> bool:
        return bool(self.documents or self.kinds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": list(self.documents),
            "kinds": list(self.kinds),
            "label": self.label,
            "stated": self.stated,
            "inherited": self.inherited,
        }


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    Attributes:
        question: The question as asked (after length capping).
        found: False when the documents do not answer the question.
        quotes: Verbatim quotes, best first (empty when ``found`` is False).
        markdown: Formatted Chinese answer with citations.
        hits: The passages the answer was selected from (or offered as 相关段落), best
            first: retrieval's order with its first six corrected by what selection read
            (:mod:`rag.answering.ordering`); each ``score`` is the retrieval score.
        build_id: Id of the index generation that answered.
        source_hashes: sha256 of each source file of that generation.
        resolved_question: The question actually searched (follow-ups are expanded).
        notes: Remarks for the reader, e.g. that the question was shortened.
        confidence: The calibrated answerability score compared with the refusal threshold.
        scope: The documents the question was asked within (None: all of them).
    """

    question: str
    found: bool
    quotes: tuple[Quote, ...]
    markdown: str
    hits: tuple[Hit, ...] = ()
    build_id: str = ""
    source_hashes: dict[str, str] = field(default_factory=dict)
    resolved_question: str = ""
    notes: tuple[str, ...] = ()
    confidence: float = 0.0
    scope: Scope | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        data = asdict(self)
        data["quotes"] = [q.to_dict() for q in self.quotes]
        data["hits"] = [h.to_dict() for h in self.hits]
        data["notes"] = list(self.notes)
        data["scope"] = self.scope.to_dict() if self.scope is not None else None
        return data


@dataclass(frozen=True)
class IndexInfo:
    """What an index generation holds, as shown in status lines.

    Attributes:
        build_id: Id of the generation (changes on every build).
        built_at: ISO time of the build.
        documents: Number of documents.
        chunks: Number of passages.
        model: Embedding model name, or ``None`` when the index is lexical only.
        dimension: Vector dimension, or ``None``.
        source_hashes: sha256 of each source file, by relative path.
        dense_note: Why there are no vectors, when there are none.
    """

    build_id: str
    built_at: str
    documents: int
    chunks: int
    model: str | None
    dimension: int | None
    source_hashes: dict[str, str] = field(default_factory=dict)
    dense_note: str = ""

    @property
    def has_vectors(self) -> bool:
        return self.model is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


__all__ = [
    "AUTHORITATIVE_KINDS",
    "KIND_LABELS",
    "NOTE_ROLES",
    "ROLE_LABELS",
    "Answer",
    "Chunk",
    "Document",
    "Heading",
    "Hit",
    "IndexInfo",
    "Paragraph",
    "Quote",
    "Repair",
    "Scope",
    "SectionRef",
    "Sentence",
]
