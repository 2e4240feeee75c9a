"""Issue 10, items 2 and 5: a table of contents (目录) is skipped and reported, never parsed as
chapters nor indexed (one statute as a text, a Word and a PDF file); headings (title, kicker,
subtitle, 小标题, 第X章, 一、) are quotable text cited as 标题, without disturbing the body's
paragraph numbers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from format_samples import CONTENTS_STATUTE

from rag import build_index, load
from rag.chunking import chunk_documents
from rag.citations import cite
from rag.cli import main
from rag.parsing import check_corpus, describe, load_documents
from rag.parsing.blocks import split_units
from rag.parsing.contents import skip_contents
from rag.schema import Document

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONTENTS_DOCX = FIXTURES / "statute_contents.docx"
CONTENTS_PDF = FIXTURES / "statute_contents.pdf"
LAW = "《中华人民共和国劳动合同法》"
CONTENTS_LINES = tuple(range(3, 10))  # 目　　录 and its six entries in the .txt fixture
BODY_PATHS = [
    "第一章 第一条",
    "第一章 第二条",
    "第一章 第二条",
    "第二章 第七条",
    "第五章 第一节 第五十一条",
    "第五章 第二节 第五十七条",
    "第五章 第二节 第五十七条 （一）",
    "第五章 第二节 第五十七条 （二）",
    "第八章 第九十八条",
]


def _one(path: Path) -> Document:
    (doc,) = load_documents(path).documents
    return doc


def _paths(doc: Document) -> list[str]:
    return [" ".join(ref.display for ref in p.section) for p in doc.body_paragraphs]


def _sections(doc: Document) -> list[str]:
    return [h.text.replace("\u3000", "") for h in doc.headings if h.role == "section"]


# ------------------------------------------------------------------------------- 目录


@pytest.mark.parametrize(
    "fixture", [CONTENTS_STATUTE, CONTENTS_DOCX, CONTENTS_PDF], ids=["txt", "docx", "pdf"]
)
def test_contents_are_skipped_not_chapters(fixture: Path) -> None:
    doc = _one(fixture)
    assert (doc.title, doc.kind) == ("中华人民共和国劳动合同法", "law")
    # Each chapter once (the text's own headings), each article in its chapter.
    assert _sections(doc) == [
        "第一章总则",
        "第二章劳动合同的订立",
        "第五章特别规定",
        "第一节集体合同",
        "第二节劳务派遣",
        "第八章附则",
    ]
    assert _paths(doc) == BODY_PATHS
    assert "目　　录" not in doc.text and "目录" not in doc.text
    assert doc.text.count("劳动合同的订立") == 1
    (skipped,) = [r for r in doc.repairs if r.kind == "contents_skipped"]
    assert len(skipped.lines) == 7 and "目录" in skipped.detail and "6 entries" in skipped.detail
    assert cite(doc, 4) == f"{LAW}第七条"


def test_contents_lines_are_accounted_for_by_the_check(tmp_path: Path) -> None:
    shutil.copy(CONTENTS_STATUTE, tmp_path / CONTENTS_STATUTE.name)
    shutil.copy(CONTENTS_DOCX, tmp_path / "as_word.docx")
    shutil.copy(CONTENTS_PDF, tmp_path / "as_printed.pdf")
    corpus = load_documents(tmp_path)
    report = check_corpus(tmp_path, corpus)
    assert report.ok, report.format()
    assert report.accounted == 21  # 7 lines of 目录 in each file
    txt = next(d for d in corpus.documents if d.source.endswith(".txt"))
    (skipped,) = [r for r in txt.repairs if r.kind == "contents_skipped"]
    assert skipped.lines == CONTENTS_LINES
    assert "contents_skipped: lines 3-9 are the table of contents" in describe(corpus)


def test_check_command_says_how_many_lines_were_skipped_as_contents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CONTENTS_STATUTE, tmp_path / CONTENTS_STATUTE.name)
    assert main(["check", "--source", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "every line is in the stored text (7 reported as changed)" in out
    assert "7 lines skipped as 目录" in out


def _skip(text: str) -> tuple[list[str], tuple[int, ...] | None]:
    units, contents = skip_contents(split_units(text)[0])
    return [u.text for u in units], contents.lines if contents else None


def test_dot_leaders_page_numbers_and_numbered_parts() -> None:
    text = (
        "## 关于加强城市软实力建设的意见\n\n目 录\n\n"
        "一、总体要求……………………1\n\n（一）指导思想 . . . . 2\n\n二、重点任务\t3\n\n附件\t9\n\n"
        "一、总体要求\n\n（一）指导思想\n\n以人民为中心。\n"
    )
    kept, lines = _skip(text)
    assert lines == (3, 5, 7, 9, 11)
    assert kept == [
        "关于加强城市软实力建设的意见",
        "一、总体要求",
        "（一）指导思想",
        "以人民为中心。",
    ]


def test_title_printed_again_between_contents_and_text() -> None:
    text = (
        "示例法\n\n目录\n\n第一章 总则\n\n第二章 附则\n\n示例法\n\n第一章 总则\n\n第一条 本法。\n"
    )
    kept, lines = _skip(text)
    assert lines == (3, 5, 7)
    assert kept == ["示例法", "示例法", "第一章 总则", "第一条 本法。"]


@pytest.mark.parametrize(
    "text",
    [
        # The first entry never comes back: not certain it is a contents list.
        "目录\n\n第一章 总则\n\n第二章 附则\n\n第一条 本法。\n",
        # One entry only.
        "目录\n\n第一章 总则\n\n第一章 总则\n\n第一条 本法。\n",
        # After the articles have begun, 目录 is text (an article's own words).
        "第一条 本法。\n\n目录\n\n第一章 总则\n\n第二章 附则\n\n第一章 总则\n",
        # A sentence among the entries.
        "目录\n\n第一章 总则\n\n国家制定并公布具体目录。\n\n第一章 总则\n\n第一条 本法。\n",
    ],
    ids=["no-repeat", "one-entry", "after-articles", "sentence"],
)
def test_nothing_skipped_unless_certain(text: str) -> None:
    kept, lines = _skip(text)
    assert lines is None
    assert len(kept) == len(split_units(text)[0])


def test_a_statute_without_contents_is_unchanged() -> None:
    law = _one(FIXTURES / "statute_excerpt.md")
    assert not [r for r in law.repairs if r.kind == "contents_skipped"]


# ------------------------------------------------------------------------------- 标题


def test_headings_are_passages_numbered_after_the_body() -> None:
    doc = _one(CONTENTS_STATUTE)
    body = doc.body_paragraphs
    assert [p.number for p in body] == list(range(1, len(body) + 1))
    notes = [p for p in doc.paragraphs if p.role == "dateline"]
    heads = [p for p in doc.paragraphs if p.role == "heading"]
    # Body 1..n, then the history (题注), then the headings.
    assert [p.number for p in notes] == list(range(len(body) + 1, len(body) + 1 + len(notes)))
    assert [p.number for p in heads] == list(
        range(len(body) + len(notes) + 1, len(doc.paragraphs) + 1)
    )
    assert [doc.text[p.start : p.end] for p in heads][:2] == [
        "中华人民共和国劳动合同法",
        "第一章\u3000总\u3000\u3000则",
    ]
    # The history is quotable as 题注, not as a heading.
    assert not any(doc.text[p.start : p.end].startswith("（2007") for p in heads)
    assert notes and doc.text[notes[0].start : notes[0].end].startswith("（2007")
    assert cite(doc, notes[0].number) == f"{LAW}题注"
    cites = [cite(doc, p.number) for p in heads]
    assert cites[:2] == [f"{LAW}标题", f"{LAW}第一章 标题"]
    assert f"{LAW}第五章 第一节 标题" in cites
    # Every heading is a passage of its own, after the body's.
    chunks = chunk_documents([doc], size=200)
    assert [c.paragraphs for c in chunks][-len(heads) :] == [(p.number,) for p in heads]


def test_news_headings_cited_for_what_they_are(seed_assistant) -> None:
    side = seed_assistant.documents["shanghai_cpc_plenary_2021-06-22_soft_power/side_report"]
    title = "《发挥软实力“加速器”作用，为“更好的上海”厚植实力之基——十一届市委十一次全会侧记》"
    heads = {
        side.text[p.start : p.end]: cite(side, p.number)
        for p in side.paragraphs
        if p.role == "heading"
    }
    assert (
        heads["做强软实力，就要持守上海之“大”"] == f"{title}「做强软实力，就要持守上海之“大”」标题"
    )
    assert heads["——十一届市委十一次全会侧记"] == f"{title}标题"
    assert len(heads) == 5  # title, kicker, subtitle and two 小标题
    assert len(side.body_paragraphs) == 19


def test_a_heading_is_found_and_quoted(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(CONTENTS_STATUTE, source / CONTENTS_STATUTE.name)
    build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = load(tmp_path / "index", model="none")
    hits = assistant.search("劳务派遣", k=5)
    heading = next(h for h in hits if h.citation.endswith("标题"))
    assert heading.citation == f"{LAW}第五章 第二节 标题"
    assert heading.section[:2] == ("第五章", "第二节")


def test_a_pasted_chapter_with_its_heading_is_quoted_in_reading_order(seed_assistant) -> None:
    side = seed_assistant.documents["shanghai_cpc_plenary_2021-06-22_soft_power/side_report"]
    head = side.text.index("做优软实力，就要凸显上海之“新”")
    body = next(p for p in side.body_paragraphs if p.start > head)
    answer = seed_assistant.answer(side.text[head : body.end])
    assert answer.found
    assert [q.text for q in answer.quotes] == [
        "做优软实力，就要凸显上海之“新”",
        side.text[body.start : body.end],
    ]
    assert answer.quotes[0].citation.endswith("「做优软实力，就要凸显上海之“新”」标题")
    # The place is named by its body paragraph, not by the heading's passage number.
    first_line = answer.markdown.split("\n", 1)[0]
    assert f"「做优软实力，就要凸显上海之“新”」第{body.number}段。" in first_line


def test_numbered_headings_of_an_opinion_are_cited_by_their_numbers() -> None:
    docs = load_documents(FIXTURES / "policy_numbered.md").documents
    opinion = next(d for d in docs if d.title == "关于全面提升城市软实力的实施意见")
    heads = {
        opinion.text[p.start : p.end]: (cite(opinion, p.number), p.section)
        for p in opinion.paragraphs
        if p.role == "heading"
    }
    citation, section = heads["二、重点任务"]
    assert citation == "《关于全面提升城市软实力的实施意见》二、 标题"
    assert [ref.label for ref in section] == ["二、"]
    assert (
        heads["关于全面提升城市软实力的实施意见"][0] == "《关于全面提升城市软实力的实施意见》标题"
    )
