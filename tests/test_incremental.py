"""Incremental builds write exactly what a full build of the same sources writes.

An incremental build reuses the serving generation's per-file parses, passages, term counts
and tokens, and its tokenizer dictionary (linked, read lazily); these tests build the same
sources both ways and compare every file of the two generations byte for byte (the manifest
apart from the build's id, time and timings).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag import build_index, load
from rag.tokenization import Tokenizer, count_terms, terms_from_counts

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Differs between two builds of the same sources (and so does the seal over the manifest).
_PER_BUILD = ("build_id", "built_at", "timings")

NOTICE = (
    "# 关于推进“一网通办”的通知\n\n"
    "各区要推进“一网通办”，让“一网通办”惠及企业。\n\n"
    "“一网通办”平台要做到数据共享、业务协同。\n"
)


def _corpus(root: Path) -> Path:
    source = root / "src"
    source.mkdir()
    shutil.copy(FIXTURES / "statute_excerpt.md", source / "law.md")
    shutil.copy(FIXTURES / "policy_numbered.md", source / "policy.md")
    (source / "notice.md").write_text(NOTICE, encoding="utf-8")
    (source / "old.md").write_text("# 旧文件\n\n垃圾分类从我做起。\n", encoding="utf-8")
    return source


def _build(source: Path, index: Path, **kw: object):  # type: ignore[no-untyped-def]
    return build_index(source, index, model="none", workers=1, **kw)


def _contents(generation: Path) -> dict[str, object]:
    """Every file of a generation; the manifest without what differs per build."""
    files: dict[str, object] = {}
    for path in sorted(p for p in generation.rglob("*") if p.is_file()):
        rel = path.relative_to(generation).as_posix()
        if rel == "manifest.json":
            manifest = json.loads(path.read_text(encoding="utf-8"))
            for key in (*_PER_BUILD, "integrity"):  # the seal covers the build id and time
                manifest.pop(key, None)
            files[rel] = manifest
        else:
            files[rel] = path.read_bytes()
    return files


def _assert_same(incremental: Path, full: Path) -> None:
    a, b = _contents(incremental), _contents(full)
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == []


def test_incremental_build_equals_full_build(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _build(source, index)
    # Change one file, add one, remove one.
    law = source / "law.md"
    law.write_text(
        law.read_text(encoding="utf-8") + "\n第九十九条 本法自公布之日起施行。\n", "utf-8"
    )
    (source / "added.md").write_text("# 新增文件\n\n推进消防安全检查。\n", encoding="utf-8")
    (source / "old.md").unlink()
    messages: list[str] = []
    incremental = _build(source, index, log=messages.append)
    assert any("2 file(s) read, 2 unchanged reused" in m for m in messages)
    # Only the changed and the added file are tokenized; the others' blocks are reused.
    assert any(" of 2 file(s) " in m and "; 2 unchanged file(s) reused" in m for m in messages)
    # The key terms came out the same, so the dictionary was linked, not written again.
    dictionary = incremental.generation / "tokenizer" / "dictionary.short.npy"
    assert (
        dictionary.stat().st_ino
        == (first.generation / "tokenizer" / "dictionary.short.npy").stat().st_ino
    )
    full = _build(source, tmp_path / "full", force=True)
    _assert_same(incremental.generation, full.generation)

    assistant = load(index, model="none")
    assert assistant.search("本法自公布之日起施行")[0].doc_id == "law"
    assert assistant.search("消防安全检查")[0].doc_id == "added"
    assert all(h.doc_id != "old" for h in assistant.search("垃圾分类"))


def test_incremental_build_with_new_key_terms_equals_full_build(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _build(source, index)
    before = (first.generation / "terms.txt").read_text(encoding="utf-8")
    # A file that brings a new quoted term: the terms change, so every file is tokenized
    # again and the dictionary is written anew, still exactly as a full build does.
    (source / "more.md").write_text(
        "# 又一份通知\n\n要建设“随申码”。“随申码”方便市民。用好“随申码”。\n", encoding="utf-8"
    )
    incremental = _build(source, index)
    after = (incremental.generation / "terms.txt").read_text(encoding="utf-8")
    assert after != before and "随申码" in after.split("\n")
    full = _build(source, tmp_path / "full", force=True)
    _assert_same(incremental.generation, full.generation)
    assert load(index, model="none").search("随申码")[0].doc_id == "more"


def test_rebuild_without_changes_reuses_everything(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    _build(source, index)
    (source / "notice.md").write_text(NOTICE + "\n各区要抓好落实。\n", encoding="utf-8")
    incremental = _build(source, index)
    full = _build(source, tmp_path / "full", force=True)
    _assert_same(incremental.generation, full.generation)


TEXTS = [
    "全面提升城市软实力，软实力是城市的核心竞争力。",
    "“一网通办”让企业少跑腿；张江科学城建设“一网通办”。",
    "第一百三十三条之一 在道路上驾驶机动车，有下列情形之一的，处拘役，并处罚金。",
]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    terms = ["软实力", "一网通办", "张江科学城"]
    directory = tmp_path_factory.mktemp("dictionary")
    Tokenizer(user_terms=terms).save(directory, lambda p, blocks: p.write_bytes(b"".join(blocks)))
    return directory, terms


def test_reused_dictionary_tokenizes_like_a_new_tokenizer(saved: tuple[Path, list[str]]) -> None:
    directory, terms = saved
    fresh, reused = Tokenizer(user_terms=terms), Tokenizer.reuse(directory, terms)
    for text in TEXTS * 10:  # past the point where a loaded tokenizer builds it whole
        assert reused.tokenize(text) == fresh.tokenize(text)
    assert reused.describe() == fresh.describe()


def test_base_dictionary_counts_like_jiebas(saved: tuple[Path, list[str]]) -> None:
    directory, _terms = saved
    fresh, base = Tokenizer(stopwords=None), Tokenizer.load_base(directory)
    assert count_terms(TEXTS, tokenizer=base) == count_terms(TEXTS, tokenizer=fresh)
    counts = count_terms(TEXTS * 3, tokenizer=fresh)
    assert terms_from_counts(counts, tokenizer=base) == terms_from_counts(counts, tokenizer=fresh)
    # The terms' own entries are undone: jieba splits 软实力 without them.
    assert base.segment("软实力") == fresh.segment("软实力")


def test_dictionary_of_other_terms_is_not_reused(saved: tuple[Path, list[str]]) -> None:
    from rag.errors import RagError

    directory, _terms = saved
    with pytest.raises(RagError):
        Tokenizer.reuse(directory, ["别的词"])


def test_file_changed_and_changed_back_equals_full_build(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _contents(_build(source, index).generation)
    notice = source / "notice.md"
    notice.write_text(NOTICE + "\n各区要抓好落实。\n", encoding="utf-8")
    changed = _build(source, index)
    full = _build(source, tmp_path / "full", force=True)
    _assert_same(changed.generation, full.generation)
    assert load(index, model="none").search("抓好落实")[0].doc_id == "notice"
    # Back to the first version: the serving cache holds the changed one, so the file is
    # read and indexed again, and the result is the first build's again.
    notice.write_text(NOTICE, encoding="utf-8")
    messages: list[str] = []
    back = _build(source, index, log=messages.append)
    assert any(" of 1 file(s) " in m and "; 3 unchanged file(s) reused" in m for m in messages)
    assert _contents(back.generation) == first
    assert all(h.doc_id != "notice" for h in load(index, model="none").search("抓好落实"))


def test_unchanged_files_lexical_blocks_are_linked(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _build(source, index).generation
    names = json.loads((first / "parsed" / "files.json").read_text("utf-8"))["files"]
    inodes = {
        (rel, suffix): (first / "parsed" / name.replace(".json", suffix)).stat().st_ino
        for rel, name in names.items()
        for suffix in (".json", ".npy")
    }
    (source / "notice.md").write_text(NOTICE + "\n各区要抓好落实。\n", encoding="utf-8")
    second = _build(source, index).generation
    for (rel, suffix), inode in inodes.items():
        path = second / "parsed" / names[rel].replace(".json", suffix)
        assert (path.stat().st_ino == inode) == (rel != "notice.md"), (rel, suffix)


def test_damaged_cached_block_is_not_reused(tmp_path: Path) -> None:
    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _build(source, index)
    names = json.loads((first.generation / "parsed" / "files.json").read_text("utf-8"))["files"]
    block = first.generation / "parsed" / names["law.md"].replace(".json", ".npy")
    data = bytearray(block.read_bytes())
    data[-4:] = b"\x7f\x7f\x7f\x7f"  # a token id past the vocabulary, same size
    block.unlink()  # a new inode: the serving generation's link is not shared
    block.write_bytes(bytes(data))
    (source / "notice.md").write_text(NOTICE + "\n各区要抓好落实。\n", encoding="utf-8")
    messages: list[str] = []
    incremental = _build(source, index, log=messages.append)
    # The block no longer matches its manifest checksum: law.md is tokenized again.
    assert any(" of 2 file(s) " in m for m in messages)
    full = _build(source, tmp_path / "full", force=True)
    _assert_same(incremental.generation, full.generation)


def test_new_parser_version_makes_the_index_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.parsing

    source = _corpus(tmp_path)
    index = tmp_path / "index"
    first = _build(source, index)
    assert _build(source, index).generation == first.generation  # up to date
    # A parser that gives other documents for the same files (PARSER_VERSION bumped).
    monkeypatch.setattr(rag.parsing, "PARSER_VERSION", rag.parsing.PARSER_VERSION + 1)
    assert _build(source, index).generation != first.generation
