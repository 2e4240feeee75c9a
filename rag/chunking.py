"""Passages for retrieval: whole sentences of one paragraph, packed up to a size limit.

A passage never crosses a paragraph (so every hit cites exactly one numbered paragraph) and
never cuts a sentence, unless that single sentence is longer than the limit, in which case it
is cut at clause marks (，；：、) and, failing those, at the limit itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .schema import Chunk, Document, Paragraph

# Clause marks a too-long sentence may be cut after, best first.
_CLAUSE_END = re.compile(r"[；;，,：:、]")


def chunk_documents(documents: Iterable[Document], *, size: int, overlap: int = 0) -> list[Chunk]:
    """Split documents into passages.

    Args:
        documents: Parsed documents.
        size: Target passage length in characters.
        overlap: Characters of whole trailing sentences repeated at the start of the next
            passage of the same paragraph (0 = none).

    Returns:
        Passages in document order.

    Example:
        >>> chunks = chunk_documents(corpus.documents, size=200)
    """
    return [c for doc in documents for c in _chunk_document(doc, size, overlap)]


# What an official document's number and signature, a report's byline and a picture's caption
# and credit are called: their passages' context words (as a section path is a body passage's),
# since the lines themselves (国办发〔2021〕18号; 国务院办公厅 2021年6月30日; 均本报记者 叶辰亮摄)
# hold none of the words a question about them uses.
NOTE_CONTEXT = {
    "docnumber": ("发文字号", "文号", "编号", "令号"),
    "signature": ("落款", "发文机关署名", "成文日期", "印发日期", "发布日期"),
    "byline": ("署名", "作者"),
    "colophon": ("版记", "抄送", "印发机关", "印发日期"),
    "addressee": ("主送机关", "主送", "发给"),
    "annex_note": ("附件说明", "附件名称", "附件"),
    # the 签发人 of a reply or a 上行文 on a line of its own above the title is a mark too
    "docmark": (
        "版头",
        "紧急程度",
        "密级",
        "保密期限",
        "份号",
        "期号",
        "成文日期",
        "签发人",
        "签发",
    ),
    "annotation": ("附注",),
    # A picture's caption and its credit (均本报记者 叶辰亮摄, 制图：李洁) under a report.
    "caption": ("图片说明", "照片", "图片"),
    "credit": ("图片署名", "摄影", "拍摄"),
}


def _chunk_document(doc: Document, size: int, overlap: int) -> Iterator[Chunk]:
    for para in doc.paragraphs:
        section = NOTE_CONTEXT.get(para.role) or tuple(ref.display for ref in para.section)
        for start, end, sentences in _windows(doc.text, para, size, overlap):
            yield Chunk(
                chunk_id=f"{doc.doc_id}:{start}-{end}",
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=section,
                paragraphs=(para.number,),
                start=start,
                end=end,
                text=doc.text[start:end],
                sentences=tuple(sentences),
            )


def _units(text: str, para: Paragraph, size: int) -> list[tuple[int, int]]:
    """Sentence spans of the paragraph, with over-long sentences cut into pieces."""
    spans = [(s.start, s.end) for s in para.sentences] or [(para.start, para.end)]
    units: list[tuple[int, int]] = []
    for start, end in spans:
        units.extend(_cut_long(text, start, end, size))
    return units


def _cut_long(text: str, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    while end - start > size:
        window = text[start : start + size]
        marks = [m.end() for m in _CLAUSE_END.finditer(window)]
        # Cut after the last clause mark in the window, unless that leaves a sliver.
        cut = marks[-1] if marks and marks[-1] >= size // 3 else size
        yield start, start + cut
        start += cut
    if end > start:
        yield start, end


def _windows(
    text: str, para: Paragraph, size: int, overlap: int
) -> Iterator[tuple[int, int, list[tuple[int, int]]]]:
    units = _units(text, para, size)
    i = 0
    while i < len(units):
        j = i
        # Pack whole units while the passage stays within the limit (at least one unit).
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
            j += 1
        yield units[i][0], units[j][1], units[i : j + 1]
        if j + 1 >= len(units):
            break
        # Start the next passage with trailing whole units worth at most `overlap` chars,
        # always moving forward by at least one unit.
        k = j + 1
        while overlap and k - 1 > i and units[j][1] - units[k - 1][0] <= overlap:
            k -= 1
        i = k


__all__ = ["chunk_documents"]
