"""The web chat without a browser: rendering, escaping, highlighting, feedback, wiring.

A small deterministic fake stands in for ``rag.Assistant`` so that these tests isolate the UI.
"""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

import rag
from rag.answering import attribution
from rag.schema import Heading, Paragraph, SectionRef, Sentence
from ui import render
from ui.app import ChatService, build_app
from ui.examples import candidates, suggest_questions
from ui.feedback import append_feedback, rating_of

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![x](http://evil.example/a.png)",
    "[x](javascript:alert(1))",
    "<http://evil.example/auto>",
    "www.evil.example and https://evil.example/b.png",
    '"><svg onload=alert(1)>',
    "$$\\href{http://evil.example}{x}$$",
    "**bold** _em_ `code` # head\n\n    indented\n- item\n1. one\n> quote",
    "&lt;script&gt; &#60;b&#62;",
]

# -- a fake assistant ---------------------------------------------------------------------------

RES_TEXT = (
    "决议标题\n\n"
    "一、总体要求\n\n"
    "全会认为，“海纳百川、追求卓越、开明睿智、大气谦和”的上海城市精神和“开放、创新、包容”的"
    "上海城市品格，指明了方向。\n\n"
    "要着力提升文化品位，塑造城市软实力的神韵魅力，弘扬城市精神。<script>alert(1)</script> ![x](http://evil.example/a.png)"
)


def _doc(doc_id: str, title: str, kind: str, text: str, date: str = "") -> rag.Document:
    paragraphs = []
    headings = [Heading("title", title, 0, len(title))]
    pos = 0
    number = 0
    section: tuple[SectionRef, ...] = ()
    for block in text.split("\n\n"):
        start = text.index(block, pos)
        end = start + len(block)
        pos = end
        if start == 0:
            continue
        if block.startswith("一、"):
            headings.append(Heading("section", block, start, end, level=1))
            section = (SectionRef("一、", block[2:], 1),)
            continue
        number += 1
        paragraphs.append(Paragraph(number, start, end, section, (Sentence(start, end),)))
    return rag.Document(
        doc_id=doc_id,
        title=title,
        kind=kind,
        text=text,
        paragraphs=tuple(paragraphs),
        headings=tuple(headings),
        date=date,
    )


DOCS = {
    "a/resolution": _doc("a/resolution", "决议标题", "resolution", RES_TEXT, "2021-06-22"),
    "a/side:report": _doc(
        "a/side:report",
        "侧记<标题>",
        "side_report",
        "侧记<标题>\n\n与会委员认为，软实力是实力之基。\n\n做强软实力，就要持守上海之“大”。",
    ),
}


def _quote(doc: rag.Document, phrase: str, paragraph: int) -> rag.Quote:
    start = doc.text.index(phrase)
    return rag.Quote(
        text=phrase,
        doc_id=doc.doc_id,
        doc_title=doc.title,
        section=(),
        paragraph=paragraph,
        start=start,
        end=start + len(phrase),
        citation=f"《{doc.title}》第{paragraph}段",
        doc_kind=doc.kind,
        score=0.87,
    )


def _hit(doc: rag.Document, paragraph: int) -> rag.Hit:
    p = doc.paragraph(paragraph)
    return rag.Hit(
        doc_id=doc.doc_id,
        doc_title=doc.title,
        section=(),
        paragraph=paragraph,
        text=doc.text[p.start : p.end],
        score=0.31,
        start=p.start,
        end=p.end,
        chunk_id=f"{doc.doc_id}:{p.start}-{p.end}",
        citation=f"《{doc.title}》第{paragraph}段",
    )


class FakeAssistant:
    """Same surface as ``rag.Assistant``; answers from a fixed table."""

    def __init__(self, *, vectors: bool = False, feedback_path: Path | None = None) -> None:
        self.settings = rag.Settings.load(
            model="none", feedback_path=feedback_path or Path("feedback.jsonl")
        )
        self.info = rag.IndexInfo(
            build_id="test-build-1",
            built_at="2024-01-02T03:04:05+00:00",
            documents=len(DOCS),
            chunks=5,
            model="fake-model" if vectors else None,
            dimension=8 if vectors else None,
            dense_note="" if vectors else "dense retrieval turned off (model: none)",
        )
        self.documents = DOCS
        self.calls: list[tuple[str, tuple[str, ...] | None, int | None, str | None]] = []
        self.scopes: list[object] = []
        self.refreshes = 0
        self.refresh_error: Exception | None = None
        self.answer_error: Exception | None = None

    def document(self, doc_id: str) -> rag.Document:
        return self.documents[doc_id]

    def refresh(self) -> bool:
        self.refreshes += 1
        if self.refresh_error:
            raise self.refresh_error
        return False

    def key_terms(self, question: str) -> list[str]:
        return [t for t in ("城市精神", "上海", "软实力", "script") if t in question]

    def search(self, question, k=None, mode=None):
        return list(self.answer(question, k=k, mode=mode).hits)

    def answer(self, question, history=None, k=None, mode=None, scope=None) -> rag.Answer:
        self.calls.append((question, tuple(history) if history else None, k, mode))
        self.scopes.append(scope)
        if self.answer_error:
            raise self.answer_error
        res, side = DOCS["a/resolution"], DOCS["a/side:report"]
        resolved = question
        if question.startswith("那") and history:
            resolved = history[-1].replace("城市精神", question.strip("那呢？?"))
        if "城市精神" in resolved or "城市品格" in resolved:
            phrase = (
                "海纳百川、追求卓越、开明睿智、大气谦和"
                if "精神" in resolved
                else "开放、创新、包容"
            )
            quotes = (_quote(res, phrase, 1),)
            return rag.Answer(
                question=question,
                found=True,
                quotes=quotes,
                markdown=f"据《决议标题》：\n\n> 「{phrase}」\n>\n> —— 《决议标题》第1段",
                hits=(_hit(res, 1),),
                build_id=self.info.build_id,
                resolved_question=resolved,
                confidence=0.9,
            )
        if "payload" in question:
            quotes = (
                _quote(res, "<script>alert(1)</script>", 2),
                _quote(res, "![x](http://evil.example/a.png)", 2),
            )
            return rag.Answer(question, True, quotes, "…", (_hit(res, 2),), self.info.build_id)
        if "。。" in question:
            return rag.Answer(question, False, (), "问题里没有可以检索的词语，请换一种问法。")
        return rag.Answer(
            question=question,
            found=False,
            quotes=(),
            markdown="**文件中没有找到能回答这个问题的内容。**",
            hits=(_hit(side, 1), _hit(res, 2)),
            build_id=self.info.build_id,
            resolved_question=question,
            confidence=0.1,
        )


@pytest.fixture
def fake(tmp_path: Path) -> FakeAssistant:
    return FakeAssistant(feedback_path=tmp_path / "deep" / "dir" / "feedback.jsonl")


# -- HTML inspection helpers ------------------------------------------------------------------

ALLOWED_TAGS = {
    "div",
    "p",
    "span",
    "strong",
    "blockquote",
    "a",
    "mark",
    "br",
    "ul",
    "li",
    "button",
    "h1",
    "h3",
    "h4",
    "nav",
    "details",
    "summary",
    "ol",
}
# The chat's sanitiser (DOMPurify) keeps these; aria-* name the outline for screen readers.
ALLOWED_ATTRS = {"class", "href", "title", "id", "type", "aria-label", "aria-current", "open"}


class Inspector(HTMLParser):
    """Collects tags, attributes, and the text inside each quote ``<mark>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.marks: list[str] = []
        self.mark_ids: list[str | None] = []
        self._depth = 0
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "br":
            self.handle_data("\n")
        if tag == "mark" and "rag-quote" in (attributes.get("class") or "").split():
            self._depth += 1
            self.marks.append("")
            self.mark_ids.append(attributes.get("id"))

    def handle_endtag(self, tag):
        if tag == "mark" and self._depth:
            self._depth -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self._depth:
            self.marks[-1] += data


def inspect(fragment: str) -> Inspector:
    parser = Inspector()
    parser.feed(fragment)
    parser.close()
    return parser


def assert_inert(fragment: str) -> None:
    """Only our own tags and attributes; nothing that loads, links out or runs."""
    assert "\n" not in fragment, "fragments must stay one raw HTML block"
    for tag, attrs in inspect(fragment).tags:
        assert tag in ALLOWED_TAGS, tag
        assert set(attrs) <= ALLOWED_ATTRS, attrs
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#rag-cite:"), href
    lowered = html.unescape(fragment).lower()
    raw = fragment.lower()
    for needle in ("<script", "<img", "<svg", "onerror=", "onload="):
        assert needle not in raw
    for needle in ("](", "javascript:", "http://", "https://", "www."):
        assert needle not in raw, needle
    assert "$$" not in raw
    # Rendering as Markdown (CommonMark with raw HTML) creates nothing new either.
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark", {"html": True}).render(fragment).lower()
    for needle in ("<img", "<script", "<svg", 'href="http', 'href="javascript', "<code", "<em>"):
        assert needle not in rendered, needle
    assert lowered  # the text itself is still there, as text


# -- escaping -----------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_inert_round_trips_as_text(payload: str) -> None:
    out = render.inert(payload)
    assert_inert(f"<p>{out}</p>")
    assert "".join(inspect(out).text) == payload.replace("\r", "")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_user_bubble_is_inert(payload: str) -> None:
    bubble = render.user_bubble(payload)
    assert_inert(bubble)
    assert "".join(inspect(bubble).text) == payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_answer_and_refusal_bubbles_are_inert(fake: FakeAssistant, payload: str) -> None:
    found = fake.answer("payload")
    assert_inert(render.answer_bubble(found, DOCS, show_scores=True))
    refusal = fake.answer(payload)
    assert not refusal.found
    bubble = render.answer_bubble(refusal, DOCS, show_scores=True)
    assert_inert(bubble)
    assert_inert(render.sources_panel(refusal, DOCS, [payload, "<b>"]))
    assert_inert(render.error_bubble(payload))


def test_panels_and_document_view_are_inert(fake: FakeAssistant) -> None:
    answer = fake.answer("payload")
    assert_inert(render.sources_panel(answer, DOCS, ["script", "<img"], show_scores=True))
    for doc in DOCS.values():
        assert_inert(render.document_view(doc, 3, 9))
        assert_inert(render.document_view(doc))
    assert_inert(render.header(DOCS))
    assert_inert(render.status_line(fake.info))
    assert_inert(render.document_missing("<img src=x onerror=alert(1)>"))


def test_cite_keys_round_trip_for_awkward_ids() -> None:
    for doc_id in ("a/side:report", "中文 文件#1", "x%y", "<img>"):
        key = render.cite_key(doc_id, 12, 34)
        assert ":" not in key.split(":", 1)[0]
        assert render.parse_cite_key(key) == (doc_id, 12, 34)
    assert render.parse_cite_key("nonsense") is None
    assert render.parse_cite_key("a:1") is None


# -- highlighting -------------------------------------------------------------------------------


def test_quote_marks_are_character_exact_with_terms_inside_and_across(fake: FakeAssistant) -> None:
    doc = DOCS["a/resolution"]
    answer = fake.answer("上海的城市精神是什么？")
    quote = answer.quotes[0]
    assert doc.text[quote.start : quote.end] == quote.text
    # Key terms that overlap the quote's edges and sit inside and outside it.
    terms = ["上海城市精神", "大气谦和”的上海", "追求卓越", "开放"]
    panel = render.sources_panel(answer, DOCS, terms)
    found = inspect(panel)
    assert found.marks == [quote.text]
    assert "rag-term" in panel
    # The whole paragraph is shown.
    para = doc.paragraph(quote.paragraph)
    assert "".join(found.text).endswith(doc.text[para.start : para.end])


def test_highlight_exact_for_many_spans_and_special_characters() -> None:
    text = "甲<乙>&丙\n丁[戊](己)!庚" * 3
    spans = [render.Span(0, 3), render.Span(3, 7), render.Span(9, 12), render.Span(20, 35)]
    out = render.highlight(text, 0, len(text), spans, ["丙", "戊](", "庚甲"])
    found = inspect(out)
    assert found.marks == [text[s.start : s.end] for s in spans]
    assert "".join(found.text) == text


def test_highlight_clips_to_window_and_merges_overlaps() -> None:
    text = "0123456789"
    out = render.highlight(text, 2, 8, [render.Span(0, 4), render.Span(3, 6), render.Span(7, 20)])
    found = inspect(out)
    assert "".join(found.text) == "234567"
    assert found.marks == ["2345", "7"]


def test_document_view_labels_captions_instead_of_numbering_them() -> None:
    from rag.schema import Document, Paragraph

    text = "正文第一段。\n\n武康大楼成为网红打卡点。\n\n记者 摄"
    doc = Document(
        doc_id="p",
        title="报道",
        kind="article",
        text=text,
        paragraphs=(
            Paragraph(1, 0, 6, (), ()),
            Paragraph(2, 8, 20, (), (), role="caption"),
            Paragraph(3, 22, 26, (), (), role="credit"),
        ),
    )
    view = html.unescape(render.document_view(doc))
    assert view.count('class="rag-pno"') == 1
    assert '<span class="rag-prole">图片说明</span>武康大楼成为网红打卡点。' in view
    assert '<span class="rag-prole">图片署名</span>记者 摄' in view


def test_document_view_numbers_paragraphs_shows_headings_and_marks_target() -> None:
    doc = DOCS["a/resolution"]
    phrase = "开放、创新、包容"
    start = doc.text.index(phrase)
    view = render.document_view(doc, start, start + len(phrase))
    found = inspect(view)
    assert found.marks == [phrase]
    assert found.mark_ids == [f"rag-hl:{render.cite_key(doc.doc_id, start, start + len(phrase))}"]
    assert '<h4 class="rag-h-section">一、总体要求</h4>' in view
    assert view.count('class="rag-pno"') == len(doc.body_paragraphs)
    # A span crossing two paragraphs is marked in both, with one id.
    first, second = doc.paragraph(1), doc.paragraph(2)
    view = render.document_view(doc, first.end - 4, second.start + 3)
    found = inspect(view)
    assert found.marks == [
        doc.text[first.end - 4 : first.end],
        doc.text[second.start : second.start + 3],
    ]
    assert [i for i in found.mark_ids if i] and len([i for i in found.mark_ids if i]) == 1
    # Out-of-range spans mark nothing.
    assert inspect(render.document_view(doc, 5, 10**6)).marks == []


def test_document_view_marks_a_quoted_heading_and_its_place_in_the_outline() -> None:
    from rag.parsing import load_documents

    seed = Path(__file__).resolve().parent.parent / "source"
    side = next(d for d in load_documents(seed).documents if d.kind == "side_report")
    head = next(
        p for p in side.paragraphs if side.text[p.start : p.end] == "做优软实力，就要凸显上海之“新”"
    )
    view = render.document_view(side, head.start, head.end)
    found = inspect(view)
    assert found.marks == ["做优软实力，就要凸显上海之“新”"]
    assert found.mark_ids == [f"rag-hl:{render.cite_key(side.doc_id, head.start, head.end)}"]
    # Shown as the heading it is, carrying its passage's anchor; no number of its own.
    assert f'<h4 class="rag-h-section" id="{render._anchor(side, head.number)}">' in view
    assert view.count('class="rag-pno"') == len(side.body_paragraphs)
    # The outline marks the section the heading opens, and lists body places only.
    assert 'rag-outline-here">做优软实力，就要凸显上海之“新”</a>' in html.unescape(view)
    assert [e[2] for e in render.outline(side)] == sorted(e[2] for e in render.outline(side))
    assert all(n <= len(side.body_paragraphs) for _, _, n in render.outline(side))


# -- bubbles ------------------------------------------------------------------------------------


def test_found_answer_bubble_has_quotes_citations_and_copy(fake: FakeAssistant) -> None:
    answer = fake.answer("上海的城市精神是什么？")
    bubble = render.answer_bubble(answer, DOCS)
    assert "「海纳百川、追求卓越、开明睿智、大气谦和」" in html.unescape(bubble)
    assert 'class="rag-cite"' in bubble and "《决议标题》第1段" in html.unescape(bubble)
    assert "rag-copy" in bubble
    # The same label as the answer's Markdown (rag.answering.attribution).
    assert f"（{attribution('resolution')}）" in html.unescape(bubble)
    assert attribution("resolution") == "决议原文"
    assert "相关度" not in bubble
    assert "相关度" in render.answer_bubble(answer, DOCS, show_scores=True)


def test_refusal_bubble_is_distinct_and_offers_related_passages(fake: FakeAssistant) -> None:
    answer = fake.answer("上海的GDP是多少？")
    bubble = render.answer_bubble(answer, DOCS)
    assert "rag-callout-refusal" in bubble and "rag-found" not in bubble
    assert "相关段落（并非答案）" in bubble
    assert bubble.count('class="rag-cite"') == 2
    panel = render.sources_panel(answer, DOCS, ["上海"])
    assert "并非答案" in panel and "rag-quote" not in panel


def test_header_and_status_come_from_the_index(fake: FakeAssistant) -> None:
    head = html.unescape(render.header(DOCS))
    assert "《决议标题》等 2 份文件问答" in head
    assert "决议 1 份" in head and "侧记 1 份" in head and "2021-06-22" in head
    status = html.unescape(render.status_line(fake.info))
    assert "test-build-1" not in status  # no internal index id for readers
    assert "2 份文件" in status and "5 个段落" in status
    assert "仅关键词检索" in status
    vectors = FakeAssistant(vectors=True)
    assert "混合检索" in html.unescape(render.status_line(vectors.info))


# -- the service --------------------------------------------------------------------------------


def test_ask_refreshes_first_and_passes_history(fake: FakeAssistant) -> None:
    service = ChatService(fake)
    turn = service.ask("上海的城市精神是什么？", k=3, mode="hybrid")
    assert fake.refreshes == 1
    assert fake.calls[-1] == ("上海的城市精神是什么？", None, 3, "lexical")  # no vectors
    turn = service.ask("那城市品格呢？", turn.messages, turn.questions, turn.records, 3)
    assert fake.calls[-1][1] == ("上海的城市精神是什么？",)
    assert [m["role"] for m in turn.messages] == ["user", "assistant"] * 2
    assert "开放、创新、包容" in turn.messages[-1]["content"]
    assert "按「上海的城市品格是什么？」理解" in html.unescape(turn.messages[-1]["content"])
    assert turn.questions == ["上海的城市精神是什么？", "那城市品格呢？"]
    assert sorted(turn.records) == [1, 3]
    assert "rag-quote" in turn.sources and "5 个段落" in html.unescape(turn.status)


def test_scope_choices_and_the_scope_they_pass(fake: FakeAssistant) -> None:
    choices = render.scope_choices(DOCS)
    labels = dict(choices)
    assert labels["决议类（1 份）"] == "kind:resolution"
    assert labels["《决议标题》"] == "doc:a/resolution"
    assert render.scope_of("") is None and render.scope_of([]) is None
    assert render.scope_of(["junk"]) is None
    assert render.scope_of("kind:resolution") == {"documents": [], "kinds": ["resolution"]}
    # Several documents and kinds at once, each once.
    chosen = ["doc:a/side:report", "kind:resolution", "doc:a/resolution", "doc:a/side:report"]
    assert render.scope_of(chosen) == {
        "documents": ["a/side:report", "a/resolution"],
        "kinds": ["resolution"],
    }
    assert render.scope_label(chosen, DOCS) == "《侧记<标题>》、决议类、《决议标题》"
    assert "<标题>" not in render.scope_line(chosen, DOCS)  # titles stay text
    assert render.scope_label([], DOCS) == "全部文件"
    assert "检索范围：全部文件" in render.scope_line(None, DOCS)
    line = html.unescape(render.scope_line(["kind:resolution"], DOCS, "《某法》"))
    assert "检索范围：决议类" in line and "沿用上一问指定的《某法》" in line
    service = ChatService(fake)
    service.ask("上海的城市精神是什么？", scope=["doc:a/side:report", "kind:resolution"])
    assert fake.scopes[-1] == {"documents": ["a/side:report"], "kinds": ["resolution"]}
    service.ask("上海的城市精神是什么？", scope=[])
    assert fake.scopes[-1] is None
    # A document removed meanwhile: said in Chinese, nothing asked; a stored scope drops it.
    calls = len(fake.calls)
    turn = service.ask("上海的城市精神是什么？", scope=["doc:a/resolution", "doc:gone"])
    assert "所选的检索范围已不在索引中" in html.unescape(turn.messages[-1]["content"])
    assert len(fake.calls) == calls
    assert service.known_scope(["doc:a/resolution", "doc:gone"]) == ["doc:a/resolution"]
    # One document only: no choice to offer.
    assert render.scope_choices({"a/resolution": DOCS["a/resolution"]}) == []


def test_conversation_store_keeps_its_scope() -> None:
    from ui.app import _store_scope, _store_turn

    saved = _store_turn(None, "c1", [], ["只在《某法》中，试用期多久？"], {}, ["kind:law"])
    saved = _store_turn(saved, "c2", [], ["城市精神？"], {}, None)
    assert [c["scope"] for c in saved["items"]] == [[], ["kind:law"]]
    changed = _store_scope(saved, "c1", ["doc:x", "doc:y"])
    assert changed["items"][1]["scope"] == ["doc:x", "doc:y"]
    assert changed["items"][0]["scope"] == [] and changed["current"] == "c2"


def test_ask_survives_refresh_and_library_errors(fake: FakeAssistant) -> None:
    service = ChatService(fake)
    fake.refresh_error = OSError("index directory is being replaced")
    turn = service.ask("上海的城市精神是什么？")
    assert "rag-found" in turn.messages[-1]["content"]
    fake.answer_error = rag.IndexMismatchError("the index is damaged; run rag build --force")
    turn = service.ask("上海的城市精神是什么？", turn.messages, turn.questions, turn.records)
    assert "rag-error" in turn.messages[-1]["content"]
    assert "rag build --force" in html.unescape(turn.messages[-1]["content"])
    assert turn.questions == ["上海的城市精神是什么？"]  # failed turns are not history
    fake.answer_error = RuntimeError("boom")
    turn = service.ask("x", turn.messages)
    assert "boom" not in turn.messages[-1]["content"]


def test_unsearchable_question_shows_the_library_message(fake: FakeAssistant) -> None:
    turn = ChatService(fake).ask("。。")
    assert "没有可以检索的词语" in turn.messages[-1]["content"]


def test_open_citation_renders_the_document(fake: FakeAssistant) -> None:
    service = ChatService(fake)
    doc = DOCS["a/side:report"]
    start = doc.text.index("软实力是实力之基")
    view = service.open_citation(render.cite_key(doc.doc_id, start, start + 8))
    assert inspect(view).marks == ["软实力是实力之基"]
    assert "当前索引中没有这份文件" in service.open_citation(render.cite_key("gone", 1, 2))
    assert service.open_citation("garbage") == render.DOCUMENT_EMPTY


def test_feedback_appends_one_json_line_per_rating(fake: FakeAssistant) -> None:
    service = ChatService(fake)
    turn = service.ask("上海的城市精神是什么？")
    turn = service.ask("上海的GDP是多少？", turn.messages, turn.questions, turn.records)
    assert service.feedback(turn.records, 1, True)
    assert service.feedback(turn.records, [3], False)
    assert not service.feedback(turn.records, 0, True)  # a user message
    path = fake.settings.feedback_path
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["rating"] for line in lines] == ["up", "down"]
    first = lines[0]
    assert first["question"] == "上海的城市精神是什么？"
    assert first["citations"] == ["《决议标题》第1段"]
    assert first["build_id"] == "test-build-1"
    assert "海纳百川" in first["answer"]
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert lines[1]["found"] is False and lines[1]["citations"]


def test_append_feedback_creates_parents_and_keeps_unicode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "fb.jsonl"
    append_feedback(target, {"question": "问题<script>"}, rating_of(True))
    append_feedback(target, {"question": "二"}, rating_of(""))
    text = target.read_text(encoding="utf-8")
    assert "问题<script>" in text
    assert [json.loads(x)["rating"] for x in text.splitlines()] == ["up", "retracted"]


def test_api_answer_is_answer_to_dict(fake: FakeAssistant) -> None:
    data = ChatService(fake).api_answer("上海的城市精神是什么？")
    assert data == fake.answer("上海的城市精神是什么？").to_dict()
    json.dumps(data, ensure_ascii=False)


# -- examples -----------------------------------------------------------------------------------


def test_examples_are_derived_from_documents(fake: FakeAssistant) -> None:
    found = candidates(DOCS)
    assert "上海城市精神是什么？" in found
    assert "如何提升文化品位？" in found
    checked = suggest_questions(DOCS, n=2, check=lambda q: fake.answer(q).found)
    assert checked and all(fake.answer(q).found for q in checked)
    assert suggest_questions(DOCS, check=lambda q: 1 / 0) == []


# -- the Blocks ---------------------------------------------------------------------------------


def test_build_app_wires_one_public_api_endpoint(fake: FakeAssistant) -> None:
    import gradio as gr

    demo = build_app(fake)
    assert isinstance(demo, gr.Blocks)
    public = [fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"]
    assert public == ["ask"]
    assert demo.title == render.collection_title(DOCS)
    config = demo.get_config_file()
    chat = next(c for c in config["components"] if c["type"] == "chatbot")
    assert chat["props"]["sanitize_html"] is True
    assert chat["props"]["buttons"] == []
    radio = next(c for c in config["components"] if c["type"] == "radio")
    assert [choice[1] for choice in radio["props"]["choices"]] == ["lexical"]
    assert radio["props"]["interactive"] is False


def test_build_app_offers_all_modes_with_vectors() -> None:
    demo = build_app(FakeAssistant(vectors=True))
    config = demo.get_config_file()
    radio = next(c for c in config["components"] if c["type"] == "radio")
    assert [choice[1] for choice in radio["props"]["choices"]] == ["hybrid", "lexical", "dense"]


# -- serving ------------------------------------------------------------------------------------


def test_binding_beyond_localhost_warns_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    from ui.server import _warn_exposure, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    _warn_exposure("127.0.0.1", None)
    assert capsys.readouterr().err == ""
    _warn_exposure("0.0.0.0", None)
    err = capsys.readouterr().err
    assert "warning" in err and "--auth" in err
    _warn_exposure("0.0.0.0", ("user", "pass"))
    err = capsys.readouterr().err
    assert "warning" in err and "--auth" not in err


def test_no_telemetry_and_no_remote_fonts(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui
    from ui.app import launch_options

    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_TELEMETRY", raising=False)
    ui.disable_telemetry()
    assert ui.os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert ui.os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    options = launch_options()
    assert options["share"] is False and options["run_history"] is False
    assert options["enable_monitoring"] is False and options["mcp_server"] is False
    theme = options["theme"]
    assert theme._stylesheets == []
    css = theme._get_theme_css().replace("xmlns='http://www.w3.org/2000/svg'", "")
    assert "http" not in css and "@import" not in css
    assert "WenQuanYi Micro Hei" in theme.font


def test_document_view_anchors_every_note_of_an_official_document() -> None:
    from urllib.parse import quote

    from rag.parsing import load_documents
    from rag.schema import NOTE_ROLES

    fixture = Path(__file__).parent / "fixtures" / "official_notice.txt"
    (doc,) = load_documents(fixture).documents
    view = render.document_view(doc)
    notes = [p for p in doc.paragraphs if p.role in NOTE_ROLES]
    # 发文字号, 主送机关, 落款 and 附注: a citation of any of them scrolls to its anchor.
    assert {p.role for p in notes} >= {"docnumber", "addressee", "signature", "annotation"}
    for p in notes:
        assert f'id="rag-p:{quote(doc.doc_id, safe="")}:{p.number}"' in view, p.role
