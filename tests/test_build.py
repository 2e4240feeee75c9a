"""Index build: manifest, up-to-date check, atomic switch, failures that keep the old index."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

import rag
from rag import store
from rag.errors import BuildLockedError, IndexMismatchError, IndexNotBuiltError, SourceError

SOURCE = Path(__file__).resolve().parent.parent / "source"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(next(SOURCE.glob("*.txt")), src / "seed.txt")
    return src


def build(source: Path, index: Path, **kw):
    return rag.build_index(source, index, model="none", workers=1, **kw)


def snapshot(index: Path) -> dict[str, str]:
    return {
        p.relative_to(index).as_posix(): store.sha256_file(p)
        for p in sorted(index.rglob("*"))
        if p.is_file() and p.name != store.LOCK
    }


def test_build_writes_a_self_describing_generation(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    report = build(source, index)
    assert not report.up_to_date
    assert report.documents == 2 and report.chunks > 20
    assert report.model is None and "none" in report.dense_note
    manifest = json.loads((report.generation / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == store.FORMAT_VERSION
    assert manifest["dense"] == {
        "model": None,
        "dimension": None,
        "kind": None,
        "sentence_vectors": None,
        "note": report.dense_note,
    }
    assert manifest["sources"] == {"seed.txt": store.sha256_file(source / "seed.txt")}
    assert manifest["counts"]["chunks"] == report.chunks
    assert {r["kind"] for r in manifest["repairs"]} >= {"duplicate_dropped", "joined"}
    for rel, meta in manifest["files"].items():
        assert store.sha256_file(report.generation / rel) == meta["sha256"]
    assert not list(report.generation.rglob("*.pkl"))
    assert report.size_bytes > 0


def test_unchanged_sources_are_up_to_date_and_force_rebuilds(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    first = build(source, index)
    again = build(source, index)
    assert again.up_to_date and again.build_id == first.build_id
    time.sleep(1.1)  # build ids carry the second
    forced = build(source, index, force=True)
    assert not forced.up_to_date and forced.build_id != first.build_id
    assert rag.load(index, model="none").info.build_id == forced.build_id
    # The previous generation is kept for readers that still hold it; older ones go.
    assert len(list(index.glob("gen-*"))) == 2
    (source / "seed.txt").write_text("全会强调，要守正创新。\n", encoding="utf-8")
    changed = build(source, index)
    assert not changed.up_to_date and changed.documents == 1


def test_failed_write_keeps_the_old_index(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "index"
    build(source, index)
    before = snapshot(index)
    old_id = rag.load(index, model="none").info.build_id

    from rag.lexical import LexicalIndex

    def disk_full(self, directory):  # after documents and chunks were written
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LexicalIndex, "save", disk_full)
    with pytest.raises(rag.RagError, match="previous index is still in use"):
        build(source, index, force=True)
    assert snapshot(index) == before
    assert rag.load(index, model="none").info.build_id == old_id
    assert not list(index.glob(".tmp-*"))


def test_debris_of_a_killed_build_is_removed(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build(source, index)
    debris = index / ".tmp-20200101-000000-abcdef"
    (debris / "lexical").mkdir(parents=True)
    (debris / "chunks.jsonl").write_text('{"half": ', encoding="utf-8")
    messages: list[str] = []
    rag.build_index(source, index, model="none", workers=1, force=True, log=messages.append)
    assert not debris.exists()
    assert any("unfinished build" in m for m in messages)


def test_bad_sources_leave_the_index_untouched(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build(source, index)
    before = snapshot(index)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError):
        build(empty, index, force=True)
    with pytest.raises(SourceError):
        build(tmp_path / "missing", index, force=True)
    assert snapshot(index) == before


def test_second_build_is_refused_while_one_runs(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    index.mkdir()
    with store.build_lock(index), pytest.raises(BuildLockedError, match="another build"):
        build(source, index)
    build(source, index)  # the lock is free again


def test_loading_refuses_missing_and_damaged_indexes(source: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    with pytest.raises(IndexNotBuiltError, match="rag build"):
        rag.load(index)
    report = build(source, index)
    chunks = report.generation / "corpus" / "doc_text.utf8"
    chunks.write_bytes(chunks.read_bytes()[:-10])
    with pytest.raises(IndexMismatchError, match="rag build"):
        rag.load(index, model="none")
    manifest_path = report.generation / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = 999
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="format version"):
        rag.load(index, model="none")


def test_unavailable_model_falls_back_to_lexical_quickly(source: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    started = time.monotonic()
    report = rag.build_index(
        source,
        tmp_path / "index",
        model="no-such-org/no-such-model",
        workers=1,
        log=messages.append,
    )
    assert time.monotonic() - started < 20
    assert report.model is None
    assert "no-such-org/no-such-model" in report.dense_note
    assert any(m.startswith("warning:") and "no-such-org/no-such-model" in m for m in messages)
    with pytest.raises(rag.ModelUnavailableError):
        rag.build_index(
            source,
            tmp_path / "index2",
            model="no-such-org/no-such-model",
            workers=1,
            require_dense=True,
        )
