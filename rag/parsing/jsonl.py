""".jsonl corpora: one document per line (``id``, ``title``, ``text``), kept verbatim.

Only line endings are normalised: benchmark answers are substrings of the text. Each line of
the text is one paragraph; there is no layout to read and nothing to repair.
"""

from __future__ import annotations

import re
from typing import Any

from .. import guards
from ..errors import SourceError
from ..schema import Document, Paragraph, Sentence
from ..sentences import split_sentences
from ..sources import SourceFile


def parse_jsonl(f: SourceFile) -> tuple[list[Document], list[str]]:
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
                genre="record",
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


__all__ = ["parse_jsonl"]
