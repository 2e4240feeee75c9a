"""The on-disk index: generations, the manifest, checksums, the switch and the build lock.

Layout of an index directory::

    index/
      CURRENT                 {"generation": "gen-…"}: which generation serves (atomic replace)
      gen-<build_id>/         one complete, verified generation
        manifest.json         format version, settings, source hashes, counts, file checksums
        documents.json        parsed documents
        chunks.jsonl          passages, with the tokens of each sentence
        terms.txt             key terms added to the tokenizer's dictionary
        lexical/              BM25 arrays (numpy, no pickle) + JSON
        vectors.faiss         dense vectors (only when a model was available)
      .tmp-<build_id>/        a build in progress (removed when a later build finds it)
      .build.lock             held with flock by the running build

Nothing is ever written into the serving generation: a build writes a new directory beside
it, verifies it by loading it back, and only then replaces ``CURRENT``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import BuildLockedError, IndexMismatchError, IndexNotBuiltError, RagError
from .schema import Chunk, Document, IndexInfo

if TYPE_CHECKING:
    from .lexical import LexicalIndex
    from .tokenization import Tokenizer
    from .vectors import VectorIndex

FORMAT_VERSION = 1
CURRENT = "CURRENT"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
DOCUMENTS = "documents.json"
CHUNKS = "chunks.jsonl"
TERMS = "terms.txt"
LEXICAL = "lexical"
VECTORS = "vectors.faiss"
KEEP_GENERATIONS = 2
_REBUILD = "run `rag build --force` to rebuild it"


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_tree(root: Path) -> dict[str, dict[str, Any]]:
    """Checksums of every file below ``root`` except the manifest, by POSIX relative path."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel != MANIFEST:
            files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


def write_json(path: Path, data: Any) -> None:
    """Write JSON and flush it to disk (so a crash cannot leave a torn file behind)."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_tree(root: Path) -> None:
    """fsync every file and directory below ``root`` so the switch never exposes lost data."""
    for path in [*root.rglob("*"), root]:
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def current_generation(index: Path) -> Path | None:
    """The serving generation directory, or None when nothing was built yet."""
    pointer = index / CURRENT
    if not pointer.is_file():
        return None
    try:
        name = json.loads(pointer.read_text(encoding="utf-8"))["generation"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(f"{pointer} is damaged ({exc}); {_REBUILD}") from None
    if not isinstance(name, str) or "/" in name or not name.startswith("gen-"):
        raise IndexMismatchError(f"{pointer} names no generation; {_REBUILD}")
    return index / name


def switch_to(index: Path, generation: Path) -> None:
    """Atomically make ``generation`` the serving one, then drop generations beyond the last
    few (a running server keeps what it loaded in memory, so deleting files is safe)."""
    tmp = index / f".{CURRENT}.tmp"
    write_json(tmp, {"generation": generation.name})
    os.replace(tmp, index / CURRENT)
    dir_fd = os.open(index, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    generations = sorted(
        (p for p in index.glob("gen-*") if p.is_dir() and p != generation),
        key=lambda p: p.stat().st_mtime,
    )
    for old in generations[: max(0, len(generations) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)


def remove_debris(index: Path) -> list[str]:
    """Remove half-written generations left by killed builds (only call under the lock)."""
    removed = []
    for tmp in index.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp.name)
    return removed


@contextlib.contextmanager
def build_lock(index: Path) -> Iterator[None]:
    """Hold the index's build lock; a second build is refused.

    The lock is an ``flock`` on ``.build.lock``: the kernel releases it when the holder dies,
    so a lock left by a killed build never blocks the next one.

    Raises:
        BuildLockedError: Another build is running.
    """
    path = index / LOCK
    fh = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise BuildLockedError(
                f"another build is running on {index} ({holder}); wait for it to finish"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        fh.close()


@dataclass
class Generation:
    """One loaded, verified index generation. Immutable once loaded: answers read only it."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    sentence_tokens: list[list[str]]
    tokenizer: Tokenizer
    lexical: LexicalIndex
    vectors: VectorIndex | None

    @functools.cached_property
    def info(self) -> IndexInfo:
        m = self.manifest
        return IndexInfo(
            build_id=m["build_id"],
            built_at=m["built_at"],
            documents=m["counts"]["documents"],
            chunks=m["counts"]["chunks"],
            model=m["dense"]["model"],
            dimension=m["dense"]["dimension"],
            source_hashes=dict(m["sources"]),
            dense_note=m["dense"].get("note", ""),
        )


def read_manifest(generation: Path) -> dict[str, Any]:
    """Read and sanity-check a generation's manifest."""
    path = generation / MANIFEST
    if not path.is_file():
        raise IndexMismatchError(f"{path} is missing; {_REBUILD}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"{path} cannot be read ({exc}); {_REBUILD}") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{path} has format version {version!r}, this program reads version "
            f"{FORMAT_VERSION}; {_REBUILD}"
        )
    for key in ("build_id", "built_at", "counts", "dense", "sources", "files", "settings"):
        if key not in manifest:
            raise IndexMismatchError(f"{path} lacks {key!r}; {_REBUILD}")
    return manifest


def verify_files(generation: Path, manifest: dict[str, Any]) -> None:
    """Check every file against the manifest's size and sha256 before anything is read:
    FAISS and numpy load many damaged files silently and then return wrong results."""
    problems = []
    for rel, meta in manifest["files"].items():
        path = generation / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif path.stat().st_size != meta["bytes"]:
            problems.append(f"{rel} has {path.stat().st_size} bytes, expected {meta['bytes']}")
        elif sha256_file(path) != meta["sha256"]:
            problems.append(f"{rel} does not match its checksum")
    if problems:
        raise IndexMismatchError(
            f"index at {generation} is damaged: {'; '.join(problems)}; {_REBUILD}"
        )


def load_generation(generation: Path, *, verify: bool = True) -> Generation:
    """Load one generation directory, verifying checksums and counts.

    Raises:
        IndexMismatchError: Damaged, truncated, missing or inconsistent files.
    """
    from .lexical import LexicalIndex
    from .tokenization import Tokenizer

    manifest = read_manifest(generation)
    if verify:
        verify_files(generation, manifest)
    try:
        raw_docs = json.loads((generation / DOCUMENTS).read_text(encoding="utf-8"))
        documents = {d["doc_id"]: Document.from_dict(d) for d in raw_docs}
        chunks: list[Chunk] = []
        sentence_tokens: list[list[str]] = []
        with (generation / CHUNKS).open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                sentence_tokens.append(row.pop("tokens"))
                chunks.append(Chunk.from_dict(row))
        terms = (generation / TERMS).read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(
            f"index at {generation} cannot be read ({exc}); {_REBUILD}"
        ) from None
    lexical = LexicalIndex.load(generation / LEXICAL)
    vectors = None
    dense = manifest["dense"]
    if dense["model"] is not None:
        from .vectors import VectorIndex

        vectors = VectorIndex.load(generation / VECTORS, dimension=dense["dimension"])
    counts = manifest["counts"]
    sizes = {
        "documents": len(documents),
        "chunks": len(chunks),
        "lexical passages": len(lexical),
        "vectors": vectors.ntotal if vectors is not None else counts["chunks"],
    }
    expected = {"documents": counts["documents"]} | dict.fromkeys(
        ("chunks", "lexical passages", "vectors"), counts["chunks"]
    )
    wrong = [f"{k}: {sizes[k]} (expected {expected[k]})" for k in sizes if sizes[k] != expected[k]]
    if wrong:
        raise IndexMismatchError(
            f"index at {generation} is inconsistent: {'; '.join(wrong)}; {_REBUILD}"
        )
    tokenizer = Tokenizer(user_terms=[t for t in terms if t])
    return Generation(
        generation, manifest, documents, chunks, sentence_tokens, tokenizer, lexical, vectors
    )


def load_current(index: Path) -> Generation:
    """Load the serving generation of an index directory.

    Raises:
        IndexNotBuiltError: Nothing was built there yet.
        IndexMismatchError: It is damaged or was written by another format version.
    """
    generation = current_generation(index)
    if generation is None:
        raise IndexNotBuiltError(
            f"no index in {index}; build it with `rag build --index {index}` "
            "(or `rag.build_index(...)`)"
        )
    if not generation.is_dir():
        raise IndexMismatchError(f"{generation} named by {index / CURRENT} is missing; {_REBUILD}")
    return load_generation(generation)


def ensure_writable(index: Path) -> None:
    """Fail early, before any expensive work, when the index directory cannot be written."""
    try:
        index.mkdir(parents=True, exist_ok=True)
        probe = index / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RagError(
            f"cannot write to the index directory {index} ({exc.strerror or exc}); "
            "choose another with --index or fix its permissions"
        ) from None


__all__ = [
    "FORMAT_VERSION",
    "Generation",
    "build_lock",
    "checksum_tree",
    "current_generation",
    "ensure_writable",
    "load_current",
    "load_generation",
    "read_manifest",
    "remove_debris",
    "sha256_file",
    "switch_to",
    "verify_files",
    "write_json",
]
