"""Statutes and official genres (issue 10): nothing lost, law-style citations, kinds,
history as metadata, the line-accounting check, incremental builds, the source-size limit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import build_index, load
from rag.cli import main
from rag.errors import SourceError
from rag.parsing import check_corpus, describe, load_documents, parse_source, repairs
from rag.schema import Document
from rag.sources import scan_sources

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "statute_excerpt.md"
LAW = "《中华人民共和国示例法》"


@pytest.fixture(scope="module")
def law() -> Document:
    (doc,) = load_documents(FIXTURE).documents
    return doc


def para_starting(doc: Document, words: str) -> int:
    return next(p.number for p in doc.paragraphs if doc.text[p.start : p.end].startswith(words))


def citation(doc: Document, words: str) -> str:
    from rag.citations import cite

    return cite(doc, para_starting(doc, words))


def test_statute_kind_history_and_date(law: Document) -> None:
    assert (law.kind, law.kind_label, law.genre) == ("law", "法律", "statute")
    assert law.history == (
        "2007年6月29日 第十届全国人民代表大会常务委员会第二十八次会议通过",
        "2012年12月28日 第十一届全国人民代表大会常务委员会第三十次会议"
        "《关于修改〈中华人民共和国劳动合同法〉的决定》修正",
    )
    assert law.date == "2012-12-28"
    # The history is in the text as head blocks, never a body paragraph or a section.
    assert [h.role for h in law.headings][:3] == ["title", "history", "history"]
    assert all("通过" not in s.title for p in law.paragraphs for s in p.section)
    assert "INFO END" not in law.text


def test_every_line_kept_including_repeats(law: Document) -> None:
    assert law.text.count("（一）重婚；") == 2
    assert law.text.count("委员若干人。") == 2
    assert not [r for r in law.repairs if r.kind == "duplicate_dropped"]
    report = check_corpus(FIXTURE)
    assert report.ok and report.lines > 30


def test_invisible_lines_do_not_break_the_chapter_path(law: Document) -> None:
    for p in law.body_paragraphs:
        assert p.section[0].label.startswith("第") and p.section[0].label.endswith("章")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("第一条", "第一条"),
        ("第十三条", "第十三条第一款"),
        ("（二）为订立", "第十三条第一款第（二）项"),
        ("依照本法其他有关规定", "第十三条第二款"),  # a 款 after a list is not its last item
        ("（二）未到法定婚龄", "第一千零四十二条第（二）项"),
        ("第一百三十三条之一", "第一百三十三条之一第一款"),
        ("机动车所有人", "第一百三十三条之一第二款"),
        ("第一百三十三条 ", "第一百三十三条"),
        ("第一百二十八 条", "第一百二十八条"),  # a space before 条 in the source
    ],
)
def test_law_style_citations(law: Document, words: str, expected: str) -> None:
    assert citation(law, words) == LAW + expected


def test_span_citations(law: Document, seed_assistant) -> None:  # type: ignore[no-untyped-def]
    from rag.citations import cite_span

    first, last = para_starting(law, "第十三条"), para_starting(law, "依照本法其他有关规定")
    # Two 款 of one article: the article.
    assert cite_span(law, first, last) == LAW + "第十三条"
    assert cite_span(law, first, first) == LAW + "第十三条第一款"
    # Into the next article: both ends.
    after = para_starting(law, "第一百三十三条之一")
    assert cite_span(law, first, after) == LAW + "第十三条第一款至第一百三十三条之一第一款"
    # Unnumbered paragraphs of one part: a range of 段.
    gen = seed_assistant._state.generation
    doc = next(d for d in gen.documents.values() if d.title == "十一届市委十一次全会决议")
    assert cite_span(doc, 3, 4) == "《十一届市委十一次全会决议》第3至4段"


def test_clause_counted_within_the_article(law: Document) -> None:
    number = para_starting(law, "依照本法其他有关规定")
    assert law.paragraph(number).clause == 2
    assert [s.label for s in law.paragraph(number).section] == ["第一章", "第十三条"]


def test_article_broken_mid_line_is_joined_and_reported(law: Document) -> None:
    number = para_starting(law, "第十四条")
    assert law.text[law.paragraph(number).start : law.paragraph(number).end].endswith(
        "有权使用居民身份证证明身份，有关单位及其工作人员不得拒绝。"
    )
    assert [r.lines for r in law.repairs if r.kind == "joined"] == [(63, 65)]


def test_describe_shows_history_outline_and_changes() -> None:
    text = describe(load_documents(FIXTURE))
    for needle in ("kind: 法律 (law, layout statute)", "history (2):", "§ 第一章 总则", "第2款"):
        assert needle in text
    assert "markup_removed: line 7" in text


def parse(tmp_path: Path, text: str, name: str = "doc.md") -> list[Document]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return parse_source(scan_sources(tmp_path / name).files[0])


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("中华人民共和国劳动法", "law"),
        ("工伤保险条例", "administrative_regulation"),
        ("上海市市容环境卫生管理条例", "local_regulation"),
        ("中国共产党纪律处分条例", "party_regulation"),
        ("关于进一步加强安全生产工作的意见", "opinion"),
        ("关于做好春节期间工作的通知", "notice"),
    ],
)
def test_kind_from_title(tmp_path: Path, title: str, kind: str) -> None:
    body = (
        "第一条 为了规范管理，制定本规定。\n\n第二条 本规定适用于全体人员。\n\n"
        "第三条 本规定自公布之日起施行。\n"
    )
    (doc,) = parse(tmp_path, f"# {title}\n\n{body}")
    assert doc.kind == kind


def test_kind_stated_in_front_matter_and_sidecar(tmp_path: Path) -> None:
    (doc,) = parse(tmp_path, "---\nkind: 通知\n---\n# 某某事项\n\n各单位：现将有关事项告知如下。\n")
    assert doc.kind == "notice"
    assert doc.paragraphs[0].source_lines == (6,)  # front matter lines still count
    (tmp_path / "b.txt").write_text("某某办法\n\n第一条 为了规范。\n", encoding="utf-8")
    (tmp_path / "b.txt.meta.yaml").write_text("genre: 地方性法规\n", encoding="utf-8")
    corpus = load_documents(tmp_path / "b.txt")
    assert corpus.documents[0].kind == "local_regulation"
    before = corpus.source_hashes["b.txt"]
    (tmp_path / "b.txt.meta.yaml").write_text("genre: 小说\n", encoding="utf-8")
    assert scan_sources(tmp_path / "b.txt").files[0].sha256 != before  # a changed sidecar rebuilds
    with pytest.raises(SourceError, match="unknown document kind '小说'"):
        load_documents(tmp_path / "b.txt")


def test_source_size_limit(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("正文。\n" * 1000, encoding="utf-8")
    with pytest.raises(SourceError, match="over the source-size limit"):
        load_documents(tmp_path, max_bytes=1000)


def test_continuation_search_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = repairs._word_across

    def counted(left: str, right: str) -> str:
        calls.append(1)
        return real(left, right)

    monkeypatch.setattr(repairs, "_word_across", counted)
    n = 300
    line = "这一段讲的是一件没有说完的事情，它在版面上被截断了，后面的内容并不在这里而且"
    page = "# 标题\n\n" + "".join(f"{line}{k}\n\n" for k in range(n))
    parse(tmp_path, page)
    # Each cut-off paragraph tries its neighbour and a bounded set of nearby suspects.
    assert len(calls) <= n * (1 + 2 * repairs.NEARBY_SUSPECTS)


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(FIXTURE, tmp_path / "law.md")
    assert main(["check", "--source", str(tmp_path)]) == 0
    assert "every line is in the stored text" in capsys.readouterr().out


def lexical(source: Path, index: Path, **kw: object):  # type: ignore[no-untyped-def]
    return build_index(source, index, model="none", workers=1, **kw)


def test_hits_carry_chapter_and_law_citation(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "law.md")
    lexical(tmp_path, tmp_path / "index")
    hits = load(tmp_path / "index", model="none").search("在道路上驾驶机动车 追逐竞驶", k=3)
    top = hits[0]
    assert top.citation.startswith(LAW + "第一百三十三条之一")
    assert top.section[0] == "第三章"


def test_incremental_build_reuses_unchanged_files(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(FIXTURE, source / "law.md")
    (source / "b.md").write_text("# 另一份通知\n\n各单位要做好安全检查工作。\n", encoding="utf-8")
    (source / "c.md").write_text("# 第三份文件\n\n垃圾分类从我做起。\n", encoding="utf-8")
    lexical(source, tmp_path / "index")
    (source / "b.md").write_text("# 另一份通知\n\n各单位要做好消防检查工作。\n", encoding="utf-8")
    messages: list[str] = []
    incremental = build_index(
        source, tmp_path / "index", model="none", workers=1, log=messages.append
    )
    assert any("1 file(s) read, 2 unchanged reused" in m for m in messages)
    full = lexical(source, tmp_path / "full", force=True)

    def rows(generation: Path) -> dict[str, bytes]:
        # The stored corpus columns: documents, passages, sentence spans and tokens.
        corpus = generation / "corpus"
        return {f.name: f.read_bytes() for f in sorted(corpus.iterdir())}

    # The incremental build writes what a full build writes.
    assert rows(incremental.generation) == rows(full.generation)
    assert (incremental.generation / "terms.txt").read_bytes() == (
        full.generation / "terms.txt"
    ).read_bytes()
    assert load(tmp_path / "index", model="none").search("消防检查")[0].doc_id == "b"
    # A removed file disappears from the answers.
    (source / "c.md").unlink()
    lexical(source, tmp_path / "index")
    assistant = load(tmp_path / "index", model="none")
    assert all(h.doc_id != "c" for h in assistant.search("垃圾分类"))
    serving = assistant.info.build_id
    names = json.loads(
        (tmp_path / "index" / f"gen-{serving}" / "parsed" / "files.json").read_text("utf-8")
    )["files"]
    assert sorted(names) == ["b.md", "law.md"]


def test_damaged_cache_is_ignored(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(FIXTURE, source / "law.md")
    first = lexical(source, tmp_path / "index")
    blob = next((first.generation / "parsed").glob("0*.json"))
    blob.write_text(blob.read_text(encoding="utf-8").replace("重婚", "离婚"), encoding="utf-8")
    (source / "new.md").write_text("# 新文件\n\n新的正文。\n", encoding="utf-8")
    # law.md is unchanged, but its cached parse no longer matches the manifest: re-read.
    second = lexical(source, tmp_path / "index")
    text = (second.generation / "corpus" / "doc_text.utf8").read_text(encoding="utf-8")
    assert "（一）重婚；" in text and "（一）离婚；" not in text


def test_build_reports_progress_of_long_stages(tmp_path: Path) -> None:
    shutil.copy(FIXTURE, tmp_path / "law.md")
    seen: list[tuple[str, int, int]] = []
    lexical(tmp_path, tmp_path / "index", progress=lambda *event: seen.append(event))
    stages = {stage for stage, _, _ in seen}
    assert {"parsing", "counting", "tokenizing"} <= stages
    assert all(0 <= done <= total for _, done, total in seen)
    assert ("parsing", 1, 1) in seen


def test_a_statute_in_traditional_script_keeps_its_structure(tmp_path: Path) -> None:
    import opencc

    from rag.citations import cite
    from rag.evaluation import cites_article

    source = tmp_path / "trad.md"
    source.write_text(opencc.OpenCC("s2t").convert(FIXTURE.read_text(encoding="utf-8")), "utf-8")
    (doc,) = load_documents(source).documents
    assert doc.kind == "law" and doc.title == "中華人民共和國示例法"
    number = para_starting(doc, "（二）爲訂立")
    # Labels and citations in the document's own characters, compared across scripts.
    assert [s.label for s in doc.paragraph(number).section][-2:] == ["第十三條", "（二）"]
    assert doc.paragraph(number).section[-2].key == "第十三条"
    citation = cite(doc, number)
    assert citation == "《中華人民共和國示例法》第十三條第一款第（二）項"
    assert cites_article(citation, "中华人民共和国示例法", "第十三条")
    # The history is the Traditional 題注, not the first article.
    assert doc.history and doc.history[0].endswith("通過")
