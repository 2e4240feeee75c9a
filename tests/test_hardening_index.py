"""Hardening of the on-disk index: integrity checks on load, no pickle, builds killed at each
phase, a full disk, a read-only directory, concurrent builds, a serving process that picks up
new generations, and ``rag doctor``."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import rag
from rag import build, integrity, store
from rag.cli import main
from rag.embedding import HashingEmbedder
from rag.errors import BuildLockedError, IndexMismatchError, RagError

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
DIM = 32
CITY_SPIRIT = "上海的城市精神是什么？"
SEED = next(SOURCE.glob("*.txt")).name


def hashing() -> HashingEmbedder:
    return HashingEmbedder(DIM)


def dense_build(source: Path, index: Path, **kw) -> rag.BuildReport:
    return rag.build_index(
        source, index, **({"model": "none", "workers": 1} | kw), embedder=hashing()
    )


def lexical_build(source: Path, index: Path, **kw) -> rag.BuildReport:
    return rag.build_index(source, index, **({"model": "none", "workers": 1} | kw))


def load(index: Path) -> rag.Assistant:
    return rag.load(index, model="none", embedder=hashing())


def snapshot(directory: Path) -> dict[str, str]:
    """sha256 of every file below ``directory`` (the lock file aside)."""
    return {
        p.relative_to(directory).as_posix(): store.sha256_file(p)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != store.LOCK
    }


@pytest.fixture(scope="module")
def dense_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dense (hashing embedder) index of source/, built once and copied by the tests."""
    index = tmp_path_factory.mktemp("dense_template") / "index"
    dense_build(SOURCE, index)
    return index


@pytest.fixture
def dense_index(dense_template: Path, tmp_path: Path) -> Path:
    index = tmp_path / "index"
    shutil.copytree(dense_template, index)
    return index


@pytest.fixture(scope="module")
def lexical_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lexical index of source/, built once and copied by the tests."""
    index = tmp_path_factory.mktemp("lexical_template") / "index"
    lexical_build(SOURCE, index)
    return index


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A copy of source/ that a test may change (file names kept, so the templates match)."""
    src = tmp_path / "src"
    shutil.copytree(SOURCE, src)
    return src


@pytest.fixture
def index(lexical_template: Path, tmp_path: Path) -> Path:
    """A lexical index of ``source``, ready to use."""
    path = tmp_path / "index"
    shutil.copytree(lexical_template, path)
    return path


def rewrite_manifest(generation: Path, change) -> None:
    """Apply ``change`` to the manifest and re-checksum the files (a consistent forgery)."""
    path = generation / store.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(integrity.seal(manifest, integrity.index_key())), encoding="utf-8")


def rechecksum(generation: Path) -> None:
    rewrite_manifest(generation, lambda m: m.update(files=store.checksum_tree(generation)))


# -- integrity on load --------------------------------------------------------------------------

GENERATION_FILES = [
    "corpus/doc_text.utf8",
    "corpus/doc_text.offsets.npy",
    "corpus/doc_meta.utf8",
    "corpus/chunk_span.npy",
    "corpus/sentences.npy",
    "corpus/tokens.npy",
    "terms.txt",
    "vectors.faiss",
    "lexical/data.csc.index.npy",
    "lexical/indices.csc.index.npy",
    "lexical/indptr.csc.index.npy",
    "lexical/vocab.index.json",
    "lexical/vocab.tokens.txt",
    "lexical/params.index.json",
    "lexical/meta.json",
]


def test_manifest_lists_a_checksum_of_every_index_file(dense_index: Path) -> None:
    generation = store.current_generation(dense_index)
    assert generation is not None
    manifest = store.read_manifest(generation)
    on_disk = {
        p.relative_to(generation).as_posix()
        for p in generation.rglob("*")
        if p.is_file() and p.name != store.MANIFEST
    }
    assert set(manifest["files"]) == on_disk
    assert set(GENERATION_FILES) <= on_disk
    for rel, meta in manifest["files"].items():
        assert meta["sha256"] == store.sha256_file(generation / rel)
        assert meta["bytes"] == (generation / rel).stat().st_size


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "delete"])
@pytest.mark.parametrize("rel", GENERATION_FILES)
def test_damaged_files_are_refused_before_anything_is_parsed(
    dense_index: Path, rel: str, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    generation = store.current_generation(dense_index)
    assert generation is not None
    path = generation / rel
    raw = path.read_bytes()
    if damage == "flip":
        middle = len(raw) // 2
        path.write_bytes(raw[:middle] + bytes([raw[middle] ^ 0x01]) + raw[middle + 1 :])
    elif damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    # Nothing may be parsed from a generation whose checksums fail.
    from rag.lexical import LexicalIndex
    from rag.vectors import VectorIndex

    def parsed(*_a, **_k):
        raise AssertionError("an index file was parsed before the checksums were verified")

    monkeypatch.setattr(LexicalIndex, "load", parsed)
    monkeypatch.setattr(VectorIndex, "load", parsed)
    import rag.columnar

    monkeypatch.setattr(rag.columnar, "CorpusColumns", parsed)
    with pytest.raises(IndexMismatchError, match=r"damaged.*rag build") as info:
        load(dense_index)
    assert rel in str(info.value)


def test_faiss_reads_a_damaged_file_silently_but_the_index_refuses_it(dense_index: Path) -> None:
    """Why checksums come first: a flipped byte among the vectors loads without complaint."""
    import faiss

    generation = store.current_generation(dense_index)
    assert generation is not None
    path = generation / store.VECTORS
    raw = bytearray(path.read_bytes())
    raw[-9] ^= 0x40  # inside the last vector's floats
    path.write_bytes(bytes(raw))
    assert faiss.read_index(str(path)).ntotal > 0  # FAISS is happy
    with pytest.raises(IndexMismatchError, match=r"vectors\.faiss does not match its checksum"):
        load(dense_index)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(files={}), "not listed in the manifest"),
        (
            lambda m: m["files"].pop("corpus/chunk_span.npy"),
            "corpus/chunk_span.npy is not listed",
        ),
        (lambda m: m["files"].pop("vectors.faiss"), "vectors.faiss is not listed"),
        (
            lambda m: m["files"].update({"../outside": {"sha256": "0" * 64, "bytes": 1}}),
            "not a path inside the generation",
        ),
        (lambda m: m.update(files=[]), "'files' must map"),
        (lambda m: m.update(counts={}), "'counts' must give"),
        (lambda m: m["dense"].update(dimension="32"), "'dense' must name"),
        (lambda m: m.update(build_id=7), "build_id and built_at"),
        (lambda m: m.pop("sources"), "lacks 'sources'"),
        (lambda m: m.update(format_version=99), "format version 99"),
        (lambda m: m.update(format_version=None), "format version None"),
    ],
)
def test_forged_or_malformed_manifests_are_refused(dense_index: Path, change, message: str) -> None:
    generation = store.current_generation(dense_index)
    assert generation is not None
    rewrite_manifest(generation, change)
    with pytest.raises(IndexMismatchError, match=message) as info:
        load(dense_index)
    assert "rag build" in str(info.value)


def test_unreadable_manifest_and_current_pointer(dense_index: Path) -> None:
    generation = store.current_generation(dense_index)
    assert generation is not None
    manifest = generation / store.MANIFEST
    manifest.write_bytes(manifest.read_bytes()[:100])
    with pytest.raises(IndexMismatchError, match=r"manifest.json cannot be read.*rag build"):
        load(dense_index)
    (dense_index / store.CURRENT).write_text('{"generation": "../../etc"}', encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="names no generation"):
        load(dense_index)
    (dense_index / store.CURRENT).write_text('{"generation": "gen-missing"}', encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"missing.*rag build"):
        load(dense_index)
    (dense_index / store.CURRENT).write_text("{", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"damaged.*rag build"):
        load(dense_index)


def test_count_mismatch_between_faiss_and_chunks_is_refused(dense_index: Path) -> None:
    import faiss
    import numpy as np

    generation = store.current_generation(dense_index)
    assert generation is not None
    path = generation / store.VECTORS
    index = faiss.read_index(str(path))
    vectors = index.reconstruct_n(0, index.ntotal - 1)
    smaller = faiss.IndexFlatIP(DIM)
    smaller.add(np.ascontiguousarray(vectors))
    faiss.write_index(smaller, str(path))
    rechecksum(generation)
    with pytest.raises(IndexMismatchError, match=r"inconsistent: vectors: \d+ \(expected \d+\)"):
        load(dense_index)


def test_count_mismatch_between_chunks_and_lexical_is_refused(
    dense_index: Path, tmp_path: Path
) -> None:
    other_src = tmp_path / "other"
    other_src.mkdir()
    (other_src / "a.txt").write_text("全会强调，要守正创新。\n\n会议指出，要开拓进取。\n", "utf-8")
    other = lexical_build(other_src, tmp_path / "other_index")
    generation = store.current_generation(dense_index)
    assert generation is not None
    shutil.rmtree(generation / store.CORPUS)
    shutil.copytree(other.generation / store.CORPUS, generation / store.CORPUS)
    rechecksum(generation)
    with pytest.raises(IndexMismatchError, match=r"inconsistent: .*chunks: .*rag build"):
        load(dense_index)


def test_lexical_index_of_another_corpus_is_refused(dense_index: Path, tmp_path: Path) -> None:
    other_src = tmp_path / "other"
    other_src.mkdir()
    (other_src / "a.txt").write_text("全会强调，要守正创新。\n\n会议指出，要开拓进取。\n", "utf-8")
    other = lexical_build(other_src, tmp_path / "other_index")
    generation = store.current_generation(dense_index)
    assert generation is not None
    shutil.rmtree(generation / store.LEXICAL)
    shutil.copytree(other.generation / store.LEXICAL, generation / store.LEXICAL)
    rechecksum(generation)
    with pytest.raises(IndexMismatchError, match="rag build"):
        load(dense_index)


def test_model_or_dimension_other_than_configured_is_refused(dense_index: Path) -> None:
    with pytest.raises(IndexMismatchError, match=r"16-dimensional.*holds 32.*rag build"):
        rag.load(dense_index, embedder=HashingEmbedder(16))
    # The index was built with the hashing double; another configured model is refused.
    with pytest.raises(IndexMismatchError, match=r"built with model 'hashing-test-double'.*rag"):
        rag.load(dense_index, model="BAAI/bge-small-zh-v1.5")
    generation = store.current_generation(dense_index)
    assert generation is not None
    rewrite_manifest(generation, lambda m: m["dense"].update(dimension=64))
    with pytest.raises(IndexMismatchError, match=r"dimension 32, the manifest says 64.*rag build"):
        load(dense_index)


def test_a_damaged_new_generation_never_replaces_the_serving_one(source: Path, index: Path) -> None:
    assistant = rag.load(index, model="none")
    old = assistant.info.build_id
    report = lexical_build(source, index, force=True)
    chunks = report.generation / store.CORPUS / "chunk_span.npy"
    chunks.write_bytes(chunks.read_bytes()[:-5])
    assert assistant.refresh() is False
    assert assistant.info.build_id == old
    assert assistant.answer(CITY_SPIRIT).build_id == old


# -- no pickle ----------------------------------------------------------------------------------

LOAD_PATH_MODULES = [
    "store.py",
    "columnar.py",
    "lexical.py",
    "vectors.py",
    "assistant.py",
    "retrieval.py",
]


def test_no_pickle_in_the_library_or_the_index(dense_index: Path) -> None:
    forbidden = re.compile(
        r"^\s*(import|from)\s+(pickle|cPickle|dill|joblib|shelve)\b|pickle\.loads?\(|"
        r"allow_pickle\s*=\s*True|torch\.load\(|np\.load\((?![^)]*allow_pickle=False)",
        re.MULTILINE,
    )
    for path in sorted((ROOT / "rag").rglob("*.py")):
        found = forbidden.findall(path.read_text(encoding="utf-8"))
        assert not found, f"{path.name}: {found}"
    for name in LOAD_PATH_MODULES:
        text = (ROOT / "rag" / name).read_text(encoding="utf-8")
        assert "np.load(" not in text or "allow_pickle=False" in text, name
    suffixes = {p.suffix for p in dense_index.rglob("*") if p.is_file()}
    assert not suffixes & {".pkl", ".pickle", ".joblib", ".pt", ".bin"}


def test_loading_and_answering_never_unpickle(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pickle

    def refuse(*_a, **_k):
        raise AssertionError("something was unpickled")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    assistant = load(dense_index)
    answer = assistant.answer(CITY_SPIRIT, mode="hybrid")
    assert answer.found and assistant.has_dense


# -- builds killed at each phase ----------------------------------------------------------------

KILLER = r"""
import os, sys, time
from pathlib import Path
from rag import build, store
from rag.embedding import HashingEmbedder
from rag.lexical import LexicalIndex
import rag

source, index, phase = sys.argv[1], sys.argv[2], sys.argv[3]


def stop(name):
    if name == phase:
        print(f"at {name}", flush=True)
        while True:
            time.sleep(60)


def log(message):
    for name in ("parsing", "tokenizing", "embedding", "writing", "verifying", "switching"):
        if message.startswith(name):
            stop(name)


real_load_documents = build.load_documents


def load_documents(path, **kwargs):
    corpus = real_load_documents(path, **kwargs)
    stop("parsed")
    return corpus


real_save = LexicalIndex.save


def save(self, directory):
    stop("writing-lexical")  # documents, chunks and terms are written, the rest is not
    return real_save(self, directory)


real_checked = build._write_checked


def write_checked(path, blocks):
    if path.name == "manifest.json" and phase == "writing-manifest":
        data = b"".join(blocks)
        with open(path, "wb") as fh:  # a torn manifest
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        stop("writing-manifest")
    return real_checked(path, blocks)


real_replace = os.replace


def replace(src, dst, *args, **kwargs):
    if str(dst).endswith("CURRENT"):
        stop("replacing")  # the new pointer is written beside CURRENT, not yet moved
    return real_replace(src, dst, *args, **kwargs)


real_rmtree = store.shutil.rmtree


def rmtree(path, *args, **kwargs):
    if Path(path).name.startswith("gen-"):
        stop("cleaning")  # CURRENT already names the new generation
    return real_rmtree(path, *args, **kwargs)


build.load_documents = load_documents
LexicalIndex.save = save
build._write_checked = write_checked
os.replace = replace
store.shutil.rmtree = rmtree
rag.build_index(
    source, index, model="none", workers=1, force=True, log=log, embedder=HashingEmbedder(32)
)
print("finished", flush=True)
"""

PHASES = [
    "parsing",
    "parsed",
    "tokenizing",
    "embedding",
    "writing",
    "writing-lexical",
    "writing-manifest",
    "verifying",
    "switching",
    "replacing",
    "cleaning",
]
# One phase before anything is written, one in the middle of writing, one after the rename
# and one in the middle of the switch run by default; `pytest -m slow` runs the others too.
FAST_PHASES = {"tokenizing", "writing-lexical", "switching", "replacing"}
KILL_TEST = "test_a_build_killed_at_each_phase_leaves_a_complete_index_and_no_blocking_debris"


def start_killer(tmp: Path, source: Path, index: Path, phase: str) -> subprocess.Popen[str]:
    script = tmp / "killer.py"
    if not script.exists():
        script.write_text(KILLER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, str(script), str(source), str(index), phase],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for(proc: subprocess.Popen[str], marker: str, timeout: float = 120) -> None:
    assert proc.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or result[0].strip() != marker:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"expected {marker!r}, got {result!r}; stderr:\n{err}")


@pytest.fixture(scope="module")
def killed(
    dense_template: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> dict[str, dict]:
    """For every selected phase: an index whose rebuild was SIGKILLed at that phase. The
    builds run in parallel, so all of them cost about as much as the slowest."""
    wanted = {
        item.callspec.params["phase"]
        for item in request.session.items
        if getattr(item, "originalname", "") == KILL_TEST and hasattr(item, "callspec")
    }
    base = tmp_path_factory.mktemp("killed")
    runs: dict[str, dict] = {}
    for phase in [p for p in PHASES if p in wanted]:
        index = base / phase / "index"
        shutil.copytree(dense_template, index)
        if phase == "cleaning":  # only a third generation makes the switch delete one
            dense_build(SOURCE, index, force=True)
        generation = store.current_generation(index)
        assert generation is not None
        runs[phase] = {
            "index": index,
            "generation": generation,
            "files": snapshot(generation),
            "build_id": store.read_manifest(generation)["build_id"],
            "proc": start_killer(base, SOURCE, index, phase),
        }
    for phase, run in runs.items():
        wait_for(run["proc"], f"at {phase}")
        run["proc"].send_signal(signal.SIGKILL)
        run["proc"].wait(30)
        run["proc"].stdout.close()
        run["proc"].stderr.close()
    return runs


@pytest.mark.parametrize(
    "phase", [p if p in FAST_PHASES else pytest.param(p, marks=pytest.mark.slow) for p in PHASES]
)
def test_a_build_killed_at_each_phase_leaves_a_complete_index_and_no_blocking_debris(
    killed: dict[str, dict], phase: str
) -> None:
    run = killed[phase]
    index: Path = run["index"]
    assert run["proc"].returncode == -signal.SIGKILL
    assistant = load(index)
    if phase == "cleaning":
        # Killed after the switch: the new generation serves, complete and verified.
        assert assistant.info.build_id != run["build_id"]
        assert run["generation"].is_dir() and snapshot(run["generation"]) == run["files"]
    else:
        assert assistant.info.build_id == run["build_id"]
        assert snapshot(run["generation"]) == run["files"]
    assert assistant.answer(CITY_SPIRIT).found
    # The lock died with the process; the next build removes the debris and succeeds.
    messages: list[str] = []
    report = dense_build(SOURCE, index, force=True, log=messages.append)
    assert load(index).info.build_id == report.build_id
    assert not list(index.glob(".tmp-*")) and not (index / ".CURRENT.tmp").exists()
    generations = sorted(p.name for p in index.glob("gen-*"))
    assert len(generations) == 2 and report.generation.name in generations
    if phase in {"writing-lexical", "writing-manifest", "verifying"}:
        assert any("unfinished build" in m for m in messages)


def test_a_second_build_is_refused_and_a_killed_builds_lock_is_recovered(
    source: Path, dense_index: Path, tmp_path: Path
) -> None:
    index = dense_index
    proc = start_killer(tmp_path, source, index, "tokenizing")
    try:
        wait_for(proc, "at tokenizing")
        with pytest.raises(BuildLockedError, match=rf"another build is running .*pid {proc.pid}"):
            dense_build(source, index, force=True)
        assert main(["build", "--source", str(source), "--index", str(index), "--force"]) == 1
        assert store.lock_holder(index) == f"pid {proc.pid}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert (index / store.LOCK).read_text(encoding="utf-8") == f"pid {proc.pid}"  # stale
    assert store.lock_holder(index) is None
    report = dense_build(source, index, force=True)
    assert load(index).info.build_id == report.build_id


# -- a full disk, a read-only directory ---------------------------------------------------------


def test_enospc_while_writing_keeps_the_old_index(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(dense_index)
    old = load(dense_index).info.build_id
    real_open = Path.open

    def full_disk(self: Path, mode: str = "r", *args, **kwargs):
        if self.name == "chunk_span.npy" and "w" in mode:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(self, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full_disk)
    with pytest.raises(RagError, match=r"No space left on device.*previous index is still in use"):
        dense_build(SOURCE, dense_index, force=True)
    assert snapshot(dense_index) == before
    assert load(dense_index).info.build_id == old


def test_faiss_writing_an_empty_file_fails_the_build(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    before = snapshot(dense_index)

    def silent_failure(_index, path: str) -> None:
        Path(path).write_bytes(b"")  # FAISS can "succeed" like this on a full disk

    monkeypatch.setattr(faiss, "write_index", silent_failure)
    with pytest.raises(RagError, match=r"empty file.*previous index is still in use"):
        dense_build(SOURCE, dense_index, force=True)
    assert snapshot(dense_index) == before


def test_faiss_writing_a_short_file_fails_the_build(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    before = snapshot(dense_index)
    real_write = faiss.write_index

    def short_write(index, path: str) -> None:
        real_write(index, path)
        raw = Path(path).read_bytes()
        Path(path).write_bytes(raw[: len(raw) // 2])

    monkeypatch.setattr(faiss, "write_index", short_write)
    with pytest.raises(RagError, match="previous index is still in use"):
        dense_build(SOURCE, dense_index, force=True)
    assert snapshot(dense_index) == before


def test_a_write_that_silently_loses_bytes_fails_the_build(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem (or library) that reports success but keeps fewer bytes: the written file
    would get a matching checksum, so what was written is compared with what was meant."""
    before = snapshot(dense_index)
    real_open = Path.open

    class Lossy:
        def __init__(self, fh) -> None:
            self._fh = fh

        def write(self, data: bytes) -> int:
            return self._fh.write(data[: len(data) - 1])  # claims success

        def __getattr__(self, name: str):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self._fh.close()

    def lossy_open(self: Path, mode: str = "r", *args, **kwargs):
        fh = real_open(self, mode, *args, **kwargs)
        return Lossy(fh) if self.name == store.TERMS and "w" in mode else fh

    monkeypatch.setattr(Path, "open", lossy_open)
    with pytest.raises(RagError, match=r"terms.txt holds .* bytes that differ.*previous index"):
        dense_build(SOURCE, dense_index, force=True)
    assert snapshot(dense_index) == before


def test_enospc_while_switching_keeps_the_old_index_and_leaves_no_orphan(
    dense_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(dense_index)
    real_write_json = store.write_json

    def full(path: Path, data) -> None:
        if path.name == ".CURRENT.tmp":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write_json(path, data)

    monkeypatch.setattr(store, "write_json", full)
    with pytest.raises(RagError, match="previous index is still in use"):
        dense_build(SOURCE, dense_index, force=True)
    assert snapshot(dense_index) == before  # the renamed new generation is gone too


def test_read_only_index_directory_fails_before_any_parsing(
    source: Path, index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(index)
    real_write_bytes = Path.write_bytes

    def read_only(self: Path, data: bytes) -> int:
        if self.parent == index:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_write_bytes(self, data)

    def parse(_path, **_kwargs):
        raise AssertionError("the sources were parsed although the index cannot be written")

    monkeypatch.setattr(Path, "write_bytes", read_only)
    monkeypatch.setattr(build, "load_documents", parse)
    with pytest.raises(RagError, match=r"cannot write to the index directory .*Read-only"):
        lexical_build(source, index, force=True)
    assert snapshot(index) == before


def test_a_build_never_renames_itself_onto_an_existing_generation(tmp_path: Path) -> None:
    # Build ids carry the second; two builds within one second must still differ.
    (tmp_path / "gen-20260101-000000-abcdef").mkdir()
    (tmp_path / ".tmp-20260101-000000-abcdef-2").mkdir()
    assert build._new_build_id(tmp_path, "20260101-000000-abcdef") == "20260101-000000-abcdef-3"
    assert build._new_build_id(tmp_path, "20260101-000001-abcdef") == "20260101-000001-abcdef"


# -- a serving process and new generations ------------------------------------------------------


def _ask_http(url: str, question: str) -> dict:
    import urllib.request

    request = urllib.request.Request(
        url + "gradio_api/call/ask",
        data=json.dumps({"data": [question]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(url + f"gradio_api/call/ask/{event_id}", timeout=60) as response:
        body = response.read().decode("utf-8")
    event, _, data = body.partition("\ndata: ")
    assert event.strip() == "event: complete", body[:300]
    return json.loads(data.split("\n", 1)[0])[0]


def test_serve_picks_up_a_new_generation_and_each_answer_is_from_one(
    source: Path, index: Path
) -> None:
    from ui.server import start

    running = start(rag.load(index, model="none"), port=0)
    try:
        first = _ask_http(running.url, CITY_SPIRIT)
        # The next generation says something else in the answering paragraph.
        text = (source / SEED).read_text(encoding="utf-8")
        assert "海纳百川" in text
        (source / SEED).write_text(text.replace("海纳百川", "海纳百川（新版）"), "utf-8")
        texts: dict[str, dict[str, str]] = {}
        errors: list[BaseException] = []
        answers: list[dict] = []

        def rebuild() -> None:
            try:
                lexical_build(source, index)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        worker = threading.Thread(target=rebuild)
        worker.start()
        while worker.is_alive() or not answers:
            answers.append(_ask_http(running.url, CITY_SPIRIT))
        worker.join()
        answers.append(_ask_http(running.url, CITY_SPIRIT))
        assert not errors, errors
    finally:
        running.close()
    for generation in index.glob("gen-*"):
        loaded = store.load_generation(generation)
        texts[loaded.info.build_id] = {d: doc.text for d, doc in loaded.documents.items()}
    last = answers[-1]
    assert last["build_id"] != first["build_id"] and "海纳百川（新版）" in last["quotes"][0]["text"]
    for answer in answers:
        assert answer["found"], answer
        documents = texts[answer["build_id"]]
        for quote in [*answer["quotes"], *answer["hits"]]:
            assert documents[quote["doc_id"]][quote["start"] : quote["end"]] == quote["text"]
        new = "（新版）" in answer["quotes"][0]["text"]
        assert new == (answer["build_id"] == last["build_id"])


def test_simultaneous_first_questions_after_start_agree(index: Path) -> None:
    from ui.server import start

    running = start(rag.load(index, model="none"), port=0)
    try:
        barrier = threading.Barrier(16)
        results: list[dict] = []
        errors: list[BaseException] = []

        def ask() -> None:
            try:
                barrier.wait(10)
                results.append(_ask_http(running.url, CITY_SPIRIT))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=ask) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        running.close()
    assert not errors, errors
    assert len(results) == 16 and results[0]["found"]
    assert all(r == results[0] for r in results)


# -- rag doctor ---------------------------------------------------------------------------------


def doctor(index: Path, source: Path, capsys: pytest.CaptureFixture[str], *extra: str):
    code = main(["doctor", "--index", str(index), "--source", str(source), *extra])
    return code, capsys.readouterr().out


def test_doctor_healthy(source: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(index, source, capsys, "--model", "none")
    assert code == 0, out
    for name in ("python", "packages", "jieba", "index", "model", "sources", "lock"):
        assert re.search(rf"^  ok\s+{name}\b", out, re.MULTILINE), (name, out)
    assert "jieba 0.42" in out and "gradio" in out and "faiss-cpu" in out
    assert "every file matches its checksum" in out and "no problems found" in out


def test_doctor_reports_where_the_model_would_come_from(
    source: Path, index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "modules.json").write_text("[]", encoding="utf-8")
    _, out = doctor(index, source, capsys, "--model", str(model_dir))
    assert re.search(r"ok\s+model\s+.*local directory", out), out
    _, out = doctor(index, source, capsys, "--model", "no-such-org/no-such-model")
    assert re.search(r"warn\s+model\s+no-such-org/no-such-model is not available offline", out)
    assert "fix: supply it as a local directory" in out


def test_doctor_missing_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = doctor(tmp_path / "none", SOURCE, capsys, "--model", "none")
    assert code == 1
    assert re.search(r"FAIL\s+index\s+no index in", out) and "fix: build it: `rag build" in out
    assert not (tmp_path / "none").exists()  # doctor changes nothing


def test_doctor_damaged_index(dense_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    generation = store.current_generation(dense_index)
    assert generation is not None
    (generation / store.TERMS).write_text("篡改", encoding="utf-8")
    code, out = doctor(dense_index, SOURCE, capsys, "--model", "none")
    assert code == 1
    assert re.search(r"FAIL\s+index\s+.*terms.txt", out) and "fix: run `rag build --force`" in out


def test_doctor_stale_index(source: Path, index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (source / SEED).write_text("全会强调，要守正创新。\n", encoding="utf-8")
    (source / "new.md").write_text("新文件。\n", encoding="utf-8")
    code, out = doctor(index, source, capsys, "--model", "none")
    assert code == 1
    assert re.search(rf"FAIL\s+sources\s+the index is stale .*added: new.md; changed: {SEED}", out)
    assert "fix: run `rag build`" in out


def test_doctor_reports_a_running_build_and_leftovers(
    source: Path, index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (index / ".tmp-20200101-000000-abcdef").mkdir()
    with store.build_lock(index):
        code, out = doctor(index, source, capsys, "--model", "none")
    assert code == 0
    assert re.search(r"warn\s+lock\s+a build is running \(pid \d+\)", out)
    assert re.search(r"warn\s+leftovers\s+.*\.tmp-20200101-000000-abcdef", out)


def test_doctor_names_changed_settings(
    index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_CHUNK_SIZE", "120")
    code, out = doctor(index, SOURCE, capsys, "--model", "none")
    assert code == 1
    assert re.search(
        r"FAIL\s+sources\s+.*settings changed since the build: chunk_size 200 -> 120", out
    )


def test_a_chat_turn_never_mixes_two_generations(
    source: Path, index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.app import ChatService

    assistant = rag.load(index, model="none")
    service = ChatService(assistant)
    old = assistant.info.build_id
    text = (source / SEED).read_text(encoding="utf-8")
    (source / SEED).write_text(text.replace("海纳百川", "海纳百川（新版）"), encoding="utf-8")
    lexical_build(source, index)  # a new generation on disk, not loaded yet
    real_answer = assistant.answer
    answered: list[str] = []

    def answer_then_swap(*args, **kwargs):
        result = real_answer(*args, **kwargs)
        answered.append(result.build_id)
        if len(answered) == 1:  # another request's refresh lands mid-turn
            assert assistant.refresh()
        return result

    monkeypatch.setattr(assistant, "answer", answer_then_swap)
    monkeypatch.setattr(service, "refresh", lambda: False)
    turn = service.ask(CITY_SPIRIT)
    assert turn.last is not None
    answer = turn.last[0]
    assert answered[0] == old and answered[1] == answer.build_id == assistant.info.build_id != old
    quote = answer.quotes[0]
    assert "（新版）" in quote.text
    assert assistant.document(quote.doc_id).text[quote.start : quote.end] == quote.text
