"""The resolution as a web page, a Word file and a PDF builds and answers like the text file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from format_samples import (
    CHROME_WORDS,
    HEADER,
    docx_document,
    html_page,
    pdf_document,
    resolution,
    resolution_text,
)

import rag

# Four real builds (~4 s each on 2 cores).
pytestmark = pytest.mark.slow

QA = Path(__file__).parent / "data" / "seed_qa.jsonl"


def _questions() -> list[str]:
    rows = [json.loads(line) for line in QA.read_text(encoding="utf-8").splitlines() if line]
    return [r["question"] for r in rows if r.get("doc") == "resolution"]


def _build(tmp: Path, name: str, data: bytes) -> rag.Assistant:
    src = tmp / name.replace(".", "_") / "src"
    src.mkdir(parents=True)
    (src / name).write_bytes(data)
    index = src.parent / "index"
    rag.build_index(src, index, model="none", workers=1)
    return rag.load(index, model="none")


def _view(assistant: rag.Assistant, questions: list[str]) -> tuple[list, list, str]:
    docs = list(assistant.documents.values())
    paragraphs = [(p.number, d.text[p.start : p.end]) for d in docs for p in d.paragraphs]
    answers = []
    for q in questions:
        a = assistant.answer(q)
        answers.append((a.found, [(x.text, x.paragraph, x.section) for x in a.quotes]))
    return paragraphs, answers, "\n".join(d.text for d in docs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, list, str]:
    tmp = tmp_path_factory.mktemp("txt")
    return _view(_build(tmp, "resolution.txt", resolution_text().encode()), _questions())


@pytest.mark.parametrize("fmt", ["html", "docx", "pdf"])
def test_each_format_gives_the_text_files_paragraphs_and_answers(
    fmt: str, reference: tuple[list, list, str], tmp_path: Path
) -> None:
    art = resolution()
    data = {"html": html_page(art, "br"), "docx": docx_document(art), "pdf": pdf_document(art)}
    paragraphs, answers, text = _view(
        _build(tmp_path, f"resolution.{fmt}", data[fmt]), _questions()
    )
    ref_paragraphs, ref_answers, _ = reference
    assert paragraphs == ref_paragraphs
    assert len(ref_paragraphs) >= 8
    assert not [w for w in (*CHROME_WORDS, HEADER) if w in text]
    assert answers == ref_answers
    assert sum(found for found, _ in ref_answers) >= 10
