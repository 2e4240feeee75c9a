"""Documents written in Traditional characters get the layout their Simplified twins get:
the same documents, heads (byline, document number, signature), headings, numbered items and
repairs, with every text, title and citation in the document's own characters."""

from __future__ import annotations

from pathlib import Path

import opencc
import pytest

from rag.citations import cite
from rag.parsing import load_documents
from rag.parsing.script import Restorer
from rag.schema import Document
from rag.textnorm import fold_chars

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SEED = ROOT / "source" / "shanghai_cpc_plenary_2021-06-22_soft_power.txt"
S2T = opencc.OpenCC("s2t")


def layout(doc: Document) -> list[tuple[object, ...]]:
    """What the parser decided, in characters that do not depend on the script."""
    return [
        (p.role, p.source_lines, tuple(fold_chars(s.label) for s in p.section), len(p.sentences))
        for p in doc.paragraphs
    ]


def both_scripts(source: Path, tmp_path: Path) -> tuple[list[Document], list[Document]]:
    converted = tmp_path / source.name
    converted.write_text(S2T.convert(source.read_text(encoding="utf-8")), encoding="utf-8")
    return load_documents(source).documents, load_documents(converted).documents


@pytest.mark.parametrize(
    "source",
    [SEED]
    + [
        FIXTURES / name
        for name in (
            "official_notice.txt",
            "official_attachment.txt",
            "policy_numbered.md",
            "statute_excerpt.md",
            "statute_other.md",
            "statute_contents.txt",
        )
    ],
    ids=lambda p: p.stem,
)
def test_the_same_layout_in_either_script(source: Path, tmp_path: Path) -> None:
    simplified, traditional = both_scripts(source, tmp_path)
    assert [d.kind for d in traditional] == [d.kind for d in simplified]
    for simp, trad in zip(simplified, traditional, strict=True):
        assert layout(trad) == layout(simp)
        assert [h.role for h in trad.headings] == [h.role for h in simp.headings]
        assert [r.kind for r in trad.repairs] == [r.kind for r in simp.repairs]
        assert trad.date == simp.date
        # Every text in the document's own characters: the Traditional text is the
        # conversion of the Simplified one, character for character.
        assert trad.text == S2T.convert(simp.text)
        assert trad.title == S2T.convert(simp.title)
        assert trad.metadata == tuple(S2T.convert(m) for m in simp.metadata)


def test_a_traditional_report_keeps_its_byline_and_joined_word(tmp_path: Path) -> None:
    _, (resolution, report) = both_scripts(SEED, tmp_path)
    byline = [report.text[p.start : p.end] for p in report.paragraphs if p.role == "byline"]
    assert byline == ["■本報記者 顧一瓊 唐瑋婕 陸益峯 王嘉暘"]
    # 要強 | 化全社會廣泛參與: the word 強化 runs over the break, so the lines are one paragraph.
    texts = [resolution.text[p.start : p.end] for p in resolution.paragraphs]
    assert any("要強化全社會廣泛參與" in text for text in texts)
    assert [r.kind for r in resolution.repairs] == ["joined"]
    assert "強化" in resolution.repairs[0].detail
    assert cite(report, next(p.number for p in report.paragraphs if p.role == "byline")).startswith(
        "《發揮軟實力"
    )


def test_a_traditional_notice_cites_its_number_and_signature(tmp_path: Path) -> None:
    _, (notice,) = both_scripts(FIXTURES / "official_notice.txt", tmp_path)
    assert notice.kind == "notice"
    assert notice.title == "上海市人民政府辦公廳關於做好城市軟實力建設重點工作的通知"
    number = next(p.number for p in notice.paragraphs if p.role == "docnumber")
    assert notice.text[notice.paragraph(number).start : notice.paragraph(number).end] == (
        "滬府辦發〔2021〕12號"
    )
    assert cite(notice, number) == f"《{notice.title}》發文字號"


def test_the_restorer_cuts_parsed_text_from_the_original() -> None:
    original = "第一條　總則\n要強\n化全社會參與，以後再議。"
    restorer = Restorer.of(original)
    assert restorer is not None and restorer.folded == fold_chars(original)
    assert len(restorer.folded) == len(original)
    # A block joined over a line break (the break taken out) and a run of a single line.
    assert restorer.block("要强化全社会参与，以后再议。", (2, 3)) == "要強化全社會參與，以後再議。"
    assert restorer.block("总则", (1,)) == "總則"
    # Text from outside the given lines is found in the whole file.
    assert restorer.block("以后再议", (1,)) == "以後再議"
    # A Simplified text is parsed as it is.
    assert Restorer.of("第一条 总则") is None
