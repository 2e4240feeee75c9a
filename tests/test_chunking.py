"""Passages never cut a sentence and always carry exact spans."""

from __future__ import annotations

import itertools

from rag.chunking import chunk_documents
from rag.schema import Document, Paragraph, SectionRef, Sentence


def make_doc(paragraphs: list[list[str]]) -> Document:
    text_parts: list[str] = []
    paras: list[Paragraph] = []
    pos = 0
    for number, sentences in enumerate(paragraphs, 1):
        if text_parts:
            pos += 2
        start = pos
        spans = []
        for s in sentences:
            spans.append(Sentence(pos, pos + len(s)))
            pos += len(s)
        text_parts.append("".join(sentences))
        paras.append(Paragraph(number, start, pos, (SectionRef("一、", "总则", 1),), tuple(spans)))
    return Document("d", "测试", "policy", "\n\n".join(text_parts), tuple(paras))


def test_spans_are_exact_and_sentences_whole() -> None:
    sentences = [f"第{i}句话讲的是城市软实力建设的第{i}个方面。" for i in range(1, 13)]
    doc = make_doc([sentences, ["短段落。"]])
    chunks = chunk_documents([doc], size=60, overlap=0)
    assert chunks
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert c.chunk_id == f"d:{c.start}-{c.end}"
        assert c.section == ("一、",)
        assert c.text.endswith("。")
        assert len(c.text) <= 60
    assert [c.paragraphs for c in chunks][-1] == (2,)
    # Every sentence is covered exactly once without overlap.
    covered = "".join(c.text for c in chunks if c.paragraphs == (1,))
    assert covered == "".join(sentences)


def test_overlap_repeats_whole_trailing_sentences() -> None:
    sentences = [f"这是第{i}句。" for i in range(1, 20)]
    doc = make_doc([sentences])
    chunks = chunk_documents([doc], size=30, overlap=12)
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # overlapping
        assert b.start > a.start  # always progressing
        assert doc.text[b.start - 0 : b.start + 1] == "这"  # starts at a sentence start


def test_single_long_sentence_is_cut_at_clause_marks() -> None:
    long_sentence = "，".join(["要着力提升城市软实力"] * 30) + "。"
    doc = make_doc([[long_sentence]])
    chunks = chunk_documents([doc], size=50)
    assert len(chunks) > 1
    assert "".join(c.text for c in chunks) == long_sentence
    assert all(len(c.text) <= 50 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)
