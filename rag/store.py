"""The on-disk index: generations, the manifest, checksums, the switch and the build lock.

Layout of an index directory::

    index/
      CURRENT                 {"generation": "gen-…"}: which generation serves (atomic replace)
      gen-<build_id>/         one complete, verified generation
        manifest.json         format version, settings, source hashes, counts, file checksums
        corpus/               documents, passages, sentence spans and sentence tokens as
                              memory-mapped columns (rag.columnar)
        terms.txt             key terms added to the tokenizer's dictionary
        tokenizer/            jieba's finished dictionary (terms added), read back at load
        lexical/              BM25 arrays (numpy, no pickle) + JSON
        vectors.faiss         dense vectors (only when a model was available)
      .tmp-<build_id>/        a build in progress (removed when a later build finds it)
      .build.lock             held with flock by the running build

Nothing is ever written into the serving generation: a build writes a new directory beside
it, verifies it by loading it back, and only then replaces ``CURRENT``. After the switch only
the new generation and the one it replaced are kept; anything else (a generation a killed
build renamed but never switched to) is removed.

Loading trusts nothing it has not checked: the manifest's shape, then the size and sha256 of
every file it lists (and that it lists every file a generation needs), all before any index
file is parsed; then the counts of documents, passages, BM25 rows and vectors against each
other. No file is ever unpickled.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import guards, integrity
from .errors import BuildLockedError, IndexMismatchError, IndexNotBuiltError, RagError
from .schema import Chunk, Document, IndexInfo

if TYPE_CHECKING:
    from .columnar import ChunkTable
    from .lexical import LexicalIndex
    from .tokenization import Tokenizer
    from .vectors import VectorIndex

# 2: the corpus as memory-mapped columns (corpus/) instead of documents.json + chunks.jsonl.
# 3: the tokenizer dictionary as narrow (<U4) and wide word arrays with tag codes (44 -> 11 MB).
# 4: each passage's citation as a column (corpus/chunk_cite): a search hit reads no Document.
# 5: the BM25 vocabulary read from a token list (lexical/vocab.tokens.txt), not from JSON.
FORMAT_VERSION = 5
CURRENT = "CURRENT"
LOCK = ".build.lock"
MANIFEST = "manifest.json"
CORPUS = "corpus"
TOKENIZER = "tokenizer"
TERMS = "terms.txt"
LEXICAL = "lexical"
VECTORS = "vectors.faiss"
_CURRENT_TMP = f".{CURRENT}.tmp"
_PROBE = ".write-probe-"
_REBUILD = "run `rag build --force` to rebuild it"
# What CURRENT may name: a generation directory this program writes (and so a short name).
_GENERATION_RE = re.compile(r"gen-[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
# CURRENT is ~40 bytes; a manifest lists every source and file (~200 bytes each).
_MAX_CURRENT_BYTES = 4096
_MAX_MANIFEST_BYTES = 256 * 1024 * 1024


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


def write_checked(path: Path, blocks: Iterable[bytes]) -> None:
    """Write ``blocks`` to ``path``, fsync, then check the file holds exactly those bytes.

    Python raises on ENOSPC, but a filesystem that accepts a short write without an error
    (or a library that ignores one) must not leave a short file behind that the manifest's
    checksums would then describe as correct.

    Raises:
        OSError: The write failed.
        RagError: The file on disk is not what was written.
    """
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as fh:
        for block in blocks:
            fh.write(block)
            digest.update(block)
            size += len(block)
        fh.flush()
        os.fsync(fh.fileno())
    on_disk = path.stat().st_size
    if on_disk != size or sha256_file(path) != digest.hexdigest():
        raise RagError(
            f"{path.name} holds {on_disk} bytes that differ from the {size} bytes written "
            "(is the disk full?)"
        )


def write_json(path: Path, data: Any) -> None:
    """Write JSON and flush it to disk (so a crash cannot leave a torn file behind)."""
    with path.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def fsync_tree(root: Path, skip: Collection[Path] = ()) -> None:
    """fsync every file and directory below ``root`` so the switch never exposes lost data.

    Args:
        root: The directory.
        skip: Files known to be on disk already (written by :func:`write_checked`, which
            fsyncs, or hard links to a synced generation's files); directories are always
            synced.
    """
    for path in [*root.rglob("*"), root]:
        if path in skip:
            continue
        flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0)
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def current_generation(index: Path) -> Path | None:
    """The serving generation directory, or None when nothing was built yet."""
    pointer = index / CURRENT
    if not os.path.lexists(pointer):
        return None
    if not pointer.is_file():
        raise IndexMismatchError(f"{pointer} is not a regular file; {_REBUILD}")
    try:
        name = guards.loads(
            guards.read_regular(pointer), what="its content", max_bytes=_MAX_CURRENT_BYTES
        )["generation"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexMismatchError(f"{pointer} is damaged ({_one_line(exc)}); {_REBUILD}") from None
    if not isinstance(name, str) or not _GENERATION_RE.fullmatch(name):
        raise IndexMismatchError(f"{pointer} names no generation; {_REBUILD}")
    return index / name


def _one_line(exc: BaseException) -> str:
    """An exception as one short line for a message (what a pointer held can be anything)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def switch_to(index: Path, generation: Path) -> None:
    """Atomically make ``generation`` the serving one.

    Afterwards only ``generation`` and the generation it replaced stay on disk (a running
    server keeps what it loaded in memory, so deleting files is safe; the replaced one is kept
    for a server that read ``CURRENT`` just before the switch and is still loading it).
    """
    try:
        previous = current_generation(index)
    except IndexMismatchError:
        previous = None
    pointer = index / CURRENT
    if pointer.is_dir() and not pointer.is_symlink():
        # A directory in CURRENT's place would make the replace below fail forever.
        shutil.rmtree(pointer)
    tmp = index / _CURRENT_TMP
    write_json(tmp, {"generation": generation.name})
    os.replace(tmp, index / CURRENT)
    dir_fd = os.open(index, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    keep = {generation.name} | ({previous.name} if previous is not None else set())
    for old in index.glob("gen-*"):
        if old.name not in keep and old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)


def remove_debris(index: Path) -> list[str]:
    """Remove what killed builds leave behind: half-written generations, a half-written
    ``CURRENT`` replacement and write probes (only call under the lock)."""
    removed = []
    for tmp in sorted(index.glob(".tmp-*")):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp.name)
    for leftover in [index / _CURRENT_TMP, *index.glob(f"{_PROBE}*")]:
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
            removed.append(leftover.name)
    return removed


def lock_holder(index: Path) -> str | None:
    """Who holds the build lock right now (``"pid 123"``), or None when no build runs.

    Never blocks and never disturbs a running build.
    """
    path = index / LOCK
    if not path.is_file():
        return None
    with path.open("r", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return fh.read().strip() or "another process"
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    return None


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
    documents: Mapping[str, Document]
    chunks: ChunkTable
    sentence_tokens: Sequence[list[str]]
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
    """Read a generation's manifest and check its shape (not yet the files it lists).

    Raises:
        IndexMismatchError: Missing, unreadable, another format version, or malformed.
    """
    path = generation / MANIFEST
    if not path.is_file():
        raise IndexMismatchError(f"{path} is missing; {_REBUILD}")
    try:
        manifest = guards.loads(
            guards.read_regular(path), what="the manifest", max_bytes=_MAX_MANIFEST_BYTES
        )
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(f"{path} cannot be read ({_one_line(exc)}); {_REBUILD}") from None
    if not isinstance(manifest, dict):
        raise IndexMismatchError(f"{path} is not a JSON object; {_REBUILD}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:  # only picks the message: nothing else is believed yet
        raise IndexMismatchError(
            f"{path} has format version {version!r}, this program reads version "
            f"{FORMAT_VERSION}; {_REBUILD}"
        )
    sealed = integrity.seal_problem(manifest, integrity.index_key())
    if sealed:
        raise IndexMismatchError(f"{path} is refused: {sealed}; {_REBUILD}")
    for key in ("build_id", "built_at", "counts", "dense", "sources", "files", "settings"):
        if key not in manifest:
            raise IndexMismatchError(f"{path} lacks {key!r}; {_REBUILD}")
    problem = _manifest_problem(manifest)
    if problem:
        raise IndexMismatchError(f"{path} is damaged ({problem}); {_REBUILD}")
    return manifest


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _manifest_problem(m: dict[str, Any]) -> str:
    """What is wrong with the manifest's shape, or "" (so that nothing below trips on it)."""
    if not isinstance(m["build_id"], str) or not isinstance(m["built_at"], str):
        return "build_id and built_at must be strings"
    files = m["files"]
    if not isinstance(files, dict) or not all(
        isinstance(meta, dict)
        and isinstance(meta.get("sha256"), str)
        and _is_count(meta.get("bytes"))
        for meta in files.values()
    ):
        return "'files' must map each file to its sha256 and size"
    counts = m["counts"]
    if not isinstance(counts, dict) or not all(
        _is_count(counts.get(k)) for k in ("documents", "chunks")
    ):
        return "'counts' must give the numbers of documents and chunks"
    dense = m["dense"]
    if not isinstance(dense, dict) or not {"model", "dimension"} <= set(dense):
        return "'dense' must give model and dimension"
    if dense["model"] is None:
        if dense["dimension"] is not None:
            return "'dense' has a dimension but no model"
    elif not isinstance(dense["model"], str) or not (
        _is_count(dense["dimension"]) and dense["dimension"] > 0
    ):
        return "'dense' must name the model and a positive dimension"
    sources = m["sources"]
    if not isinstance(sources, dict) or not all(isinstance(v, str) for v in sources.values()):
        return "'sources' must map each source file to its sha256"
    if not isinstance(m["settings"], dict):
        return "'settings' must be an object"
    return ""


# The BM25 files every generation of this format version has (lexical.py writes them).
_LEXICAL_FILES = tuple(
    f"{LEXICAL}/{name}"
    for name in (
        "data.csc.index.npy",
        "indices.csc.index.npy",
        "indptr.csc.index.npy",
        "vocab.index.json",
        "vocab.tokens.txt",
        "params.index.json",
        "meta.json",
    )
)


def required_files(manifest: dict[str, Any]) -> list[str]:
    """Every file a generation of this format version needs (vectors only with a model)."""
    dense = [VECTORS] if manifest["dense"]["model"] else []
    from .columnar import REQUIRED_FILES
    from .tokenization import DICTIONARY_FILES

    tokenizer = [f"{TOKENIZER}/{name}" for name in DICTIONARY_FILES]
    return [*REQUIRED_FILES, TERMS, *tokenizer, *_LEXICAL_FILES, *dense]


def verify_files(generation: Path, manifest: dict[str, Any]) -> None:
    """Check every file against the manifest's size and sha256 before anything is read:
    FAISS and numpy load many damaged files silently and then return wrong results.

    The manifest must list the complete set of files its format version needs
    (:func:`required_files`), every file that is in the generation, and only paths inside it.

    Raises:
        IndexMismatchError: A file is missing, unlisted, of another size or checksum.
    """
    files: dict[str, dict[str, Any]] = manifest["files"]
    problems = integrity.file_set_problems(
        files, required_files(manifest), integrity.files_on_disk(generation, {MANIFEST})
    )
    to_hash: list[tuple[str, Path]] = []
    for rel, meta in files.items():
        parts = rel.split("/")
        if rel.startswith("/") or "\\" in rel or any(p in ("", ".", "..") for p in parts):
            problems.append(f"{rel!r} is not a path inside the generation")
            continue
        path = generation / rel
        if not path.is_file():
            problems.append(f"{rel} is missing")
        elif path.stat().st_size != meta["bytes"]:
            problems.append(f"{rel} has {path.stat().st_size} bytes, expected {meta['bytes']}")
        else:
            to_hash.append((rel, path))
    # hashlib releases the GIL on large blocks: one thread per core hashes in parallel
    # (1.1 GB/s per core here; the 10^6-passage generation holds ~1.5 GB).
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        digests = pool.map(lambda item: sha256_file(item[1]), to_hash)
        for (rel, _path), digest in zip(to_hash, digests, strict=True):
            if digest != files[rel]["sha256"]:
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
    from .columnar import ChunkTable, CorpusColumns, DocumentTable, SentenceTokens
    from .lexical import LexicalIndex
    from .tokenization import Tokenizer

    manifest = read_manifest(generation)
    if verify:
        verify_files(generation, manifest)
    try:
        terms = (generation / TERMS).read_text(encoding="utf-8").split("\n")
    except (OSError, ValueError) as exc:
        raise IndexMismatchError(
            f"index at {generation} cannot be read ({exc}); {_REBUILD}"
        ) from None
    lexical = LexicalIndex.load(generation / LEXICAL)
    columns = CorpusColumns(generation / CORPUS, lexical.vocab_size)
    documents = DocumentTable(columns)
    chunks = ChunkTable(columns, documents)
    sentence_tokens = SentenceTokens(columns, lexical.words)
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
    try:
        tokenizer = Tokenizer.load(generation / TOKENIZER, [t for t in terms if t])
    except RagError as exc:
        raise IndexMismatchError(f"{exc}; {_REBUILD}") from None
    return Generation(
        generation, manifest, documents, chunks, sentence_tokens, tokenizer, lexical, vectors
    )


def span_problem(documents: dict[str, Document], chunks: list[Chunk]) -> str:
    """Why some passage does not lie inside its document, or "" when every one does.

    Every passage must name a loaded document, its span must lie inside that document's text
    and hold exactly its text, and each sentence span must lie inside the passage: answers
    quote ``Document.text[start:end]`` and nothing else.
    """
    try:
        return _first_span_problem(documents, chunks)
    except (TypeError, ValueError):  # offsets that are not numbers, sentences not pairs
        return "passage offsets are not numbers"


def _first_span_problem(documents: dict[str, Document], chunks: list[Chunk]) -> str:
    for chunk in chunks:
        doc = documents.get(chunk.doc_id)
        if doc is None:
            return f"passage {chunk.chunk_id!r} names an unknown document"
        if not (0 <= chunk.start <= chunk.end <= len(doc.text)):
            return f"passage {chunk.chunk_id!r} lies outside its document"
        if doc.text[chunk.start : chunk.end] != chunk.text:
            return f"passage {chunk.chunk_id!r} differs from its document's text"
        for start, end in chunk.sentences:
            if not (chunk.start <= start <= end <= chunk.end):
                return f"a sentence of passage {chunk.chunk_id!r} lies outside it"
    return ""


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
        probe = index / f"{_PROBE}{os.getpid()}"
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
    "lock_holder",
    "read_manifest",
    "remove_debris",
    "required_files",
    "sha256_file",
    "span_problem",
    "switch_to",
    "verify_files",
    "write_checked",
    "write_json",
]
