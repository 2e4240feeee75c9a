"""Per-file results of the previous build, reused by the next one (incremental builds).

Each generation keeps, beside its index files, two files per source file under ``parsed/``:
``NNNNN.json``, the documents parsed from it, its passages, the key-term counts of its text
and the vocabularies of its lexical block, and ``NNNNN.npy``, the block's int32 arrays (the
postings of both lexical fields and the word ids of its sentences, :mod:`rag.postings`).
The next build reads them from the serving generation — after checking each against that
generation's manifest checksums — and re-reads, re-counts and re-tokenizes only the files
whose bytes (or sidecar, or parser version) changed. A removed file simply has no entry in
the new generation. Blocks are reused only when the tokenizer (scheme, stopwords, user
terms), the passage settings and the bigram field are the same, so an incremental build
writes exactly what a full build would.

Nothing here can fail a build: an unreadable, damaged or foreign cache is ignored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import store
from .postings import FileBlock
from .schema import Chunk, Document
from .sources import SourceFile

CACHE_DIR = "parsed"
# 3: the file's passages and the tokens of each passage's context (title and section path)
# are kept too. 4: the lexical block (postings of both fields, sentence word ids) instead of
# token strings.
CACHE_VERSION = 4
Counts = tuple[Counter[str], Counter[str], Counter[str], Counter[Any], Counter[Any]]


@dataclass
class FileEntry:
    """What a build knows about one source file."""

    key: str
    documents: list[Document]
    counts: Counts | None = None
    # The lexical block of the file's passages, under the tokenizer, passage settings and
    # bigram field named by token_key.
    token_key: str = ""
    block: FileBlock | None = None
    # The passages of the file's documents under the passage settings named by chunk_key.
    chunk_key: str = ""
    chunks: list[Chunk] | None = None
    # The citation of each passage's first paragraph, by the citation code named by cite_key.
    cite_key: str = ""
    citations: list[str] | None = None
    # Where this entry was read from: an unchanged entry is linked, not written again.
    origin: Path | None = None


@dataclass
class BuildCache:
    """The previous generation's per-file entries, by relative path."""

    entries: dict[str, FileEntry] = field(default_factory=dict)
    hits: set[str] = field(default_factory=set)
    # The serving generation's tokenizer dictionary, checked against its manifest: a build
    # whose tokenizer is the same links these files instead of writing them again.
    dictionary: Path | None = None

    @classmethod
    def open(cls, index: Path) -> BuildCache:
        """The cache of the serving generation of ``index`` (empty when there is none)."""
        try:
            live = store.current_generation(index)
            if live is None:
                return cls()
            manifest = store.read_manifest(live)
            files = manifest.get("files", {})
            return cls(_read_entries(live, files), dictionary=_dictionary(live, files))
        except Exception:  # a bad cache only costs time, never the build
            return cls()

    def same(self, rel: str, entry: FileEntry) -> Path | None:
        """The cached file holding exactly ``entry`` (same file key and block), if any (its
        ``.npy`` beside it holds the block's arrays)."""
        old = self.entries.get(rel)
        if old is None or old.origin is None or old.key != entry.key:
            return None
        if old.token_key != entry.token_key or (old.block is None) != (entry.block is None):
            return None
        if old.chunk_key != entry.chunk_key or old.cite_key != entry.cite_key:
            return None
        if (old.citations is None) != (entry.citations is None):
            return None
        return old.origin

    def documents(self, source: SourceFile, key: str) -> list[Document] | None:
        """The parse of an unchanged file (the loader's ``cache`` callback)."""
        entry = self.entries.get(source.rel)
        if entry is None or entry.key != key:
            return None
        self.hits.add(source.rel)
        return entry.documents

    def counts(self, rel: str, key: str) -> Counts | None:
        """The key-term counts of an unchanged file."""
        entry = self.entries.get(rel)
        return entry.counts if entry is not None and entry.key == key else None

    def chunks(self, rel: str, key: str, chunk_key: str) -> list[Chunk] | None:
        """The passages of an unchanged file under the same passage settings."""
        entry = self.entries.get(rel)
        if entry is None or entry.key != key or entry.chunk_key != chunk_key:
            return None
        return entry.chunks

    def citations(self, rel: str, key: str, chunk_key: str, cite_key: str) -> list[str] | None:
        """The citations of an unchanged file's passages (same passages, same citation
        code)."""
        entry = self.entries.get(rel)
        if entry is None or entry.key != key or entry.chunk_key != chunk_key:
            return None
        return entry.citations if entry.cite_key == cite_key else None

    def block(self, rel: str, key: str, token_key: str) -> FileBlock | None:
        """The lexical block of an unchanged file under the same tokenizer, passage
        settings and bigram field."""
        entry = self.entries.get(rel)
        if entry is None or entry.key != key or entry.token_key != token_key:
            return None
        return entry.block


def token_key(
    tokenizer_description: dict[str, Any],
    passage_settings: dict[str, Any],
    *,
    bigrams: str | None = None,
) -> str:
    """What a lexical block depends on besides the file: the tokenizer, the passages and
    the bigram field (its scheme, None for none)."""
    data: dict[str, Any] = {"tokenizer": tokenizer_description, "passages": passage_settings}
    if bigrams is not None:
        data["bigrams"] = bigrams
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def write(
    directory: Path,
    entries: dict[str, FileEntry],
    write_checked: Callable[[Path, Iterable[bytes]], None],
    previous: BuildCache | None = None,
) -> list[Path]:
    """Write the cache files of each source file into ``directory/parsed/``; returns the
    links.

    An entry identical to one of the ``previous`` cache is hard-linked from there (its bytes
    were checked against the previous manifest when it was read, and the new manifest
    checksums the link like any other file); files are never modified in place, so the two
    generations cannot affect each other.
    """
    target = directory / CACHE_DIR
    target.mkdir()
    names: dict[str, str] = {}
    linked: list[Path] = []
    for number, (rel, entry) in enumerate(sorted(entries.items())):
        name = f"{number:05d}.json"
        names[rel] = name
        arrays = target / name.replace(".json", ".npy")
        origin = previous.same(rel, entry) if previous is not None else None
        if origin is not None and entry.block is not None:
            if link(origin.with_suffix(".npy"), arrays):
                linked.append(arrays)
            else:
                origin = None
        if origin is not None and link(origin, target / name):
            linked.append(target / name)
            continue
        postings = None
        if entry.block is not None:
            postings, flat = entry.block.to_parts()
            if not arrays.exists():
                write_checked(arrays, _npy_blocks(flat))
        payload = {
            "version": CACHE_VERSION,
            "rel": rel,
            "key": entry.key,
            "documents": [d.to_dict() for d in entry.documents],
            "counts": _counts_to_json(entry.counts) if entry.counts is not None else None,
            "token_key": entry.token_key,
            "postings": postings,
            "chunk_key": entry.chunk_key,
            "chunks": _chunks_to_json(entry) if entry.chunks is not None else None,
            "cite_key": entry.cite_key,
            "citations": entry.citations,
        }
        write_checked(target / name, [json.dumps(payload, ensure_ascii=False).encode("utf-8")])
    index = {"version": CACHE_VERSION, "files": names}
    write_checked(target / "files.json", [json.dumps(index, ensure_ascii=False).encode("utf-8")])
    return linked


def _npy_blocks(array: np.ndarray) -> list[bytes]:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    return [out.getvalue()]


def _read_entries(generation: Path, files: dict[str, Any]) -> dict[str, FileEntry]:
    import orjson

    listed = f"{CACHE_DIR}/files.json"
    raw = _checked_bytes(generation, listed, files.get(listed))
    if raw is None:
        return {}
    index = orjson.loads(raw)
    if index.get("version") != CACHE_VERSION:
        return {}
    entries: dict[str, FileEntry] = {}
    for rel, name in index["files"].items():
        path = f"{CACHE_DIR}/{name}"
        raw = _checked_bytes(generation, path, files.get(path))
        if raw is None:
            continue
        data = orjson.loads(raw)
        if data.get("version") != CACHE_VERSION or data.get("rel") != rel:
            continue
        block = None
        if data.get("postings") is not None:
            npy = path.replace(".json", ".npy")
            arrays = _checked_bytes(generation, npy, files.get(npy))
            if arrays is None:
                continue
            try:
                buffer = io.BytesIO(arrays)
                flat = np.load(buffer, allow_pickle=False)
                if flat.dtype != np.int32 or flat.ndim != 1:
                    continue
                block = FileBlock.from_parts(data["postings"], flat)
            except (ValueError, KeyError, TypeError):
                continue
        counts = data.get("counts")
        documents = [Document.from_dict(d) for d in data["documents"]]
        chunks = data.get("chunks")
        entries[rel] = FileEntry(
            key=data["key"],
            documents=documents,
            chunk_key=data.get("chunk_key", ""),
            chunks=_chunks_from_json(documents, chunks) if chunks is not None else None,
            counts=_counts_from_json(counts) if counts is not None else None,
            token_key=data.get("token_key", ""),
            block=block,
            cite_key=data.get("cite_key", ""),
            citations=data.get("citations"),
            origin=generation / path,
        )
    return entries


def _chunks_to_json(entry: FileEntry) -> list[Any]:
    """Passages without what their document gives (id, title, text): row of the document
    in the file, span, section path, paragraph numbers, sentence spans (flat)."""
    rows = {d.doc_id: i for i, d in enumerate(entry.documents)}
    assert entry.chunks is not None
    return [
        [
            rows[c.doc_id],
            c.start,
            c.end,
            list(c.section),
            list(c.paragraphs),
            [x for span in c.sentences for x in span],
        ]
        for c in entry.chunks
    ]


def _chunks_from_json(documents: list[Document], data: list[Any]) -> list[Chunk]:
    chunks = []
    for row, start, end, section, paragraphs, flat in data:
        doc = documents[row]
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}:{start}-{end}",
                doc_id=doc.doc_id,
                doc_title=doc.title,
                section=tuple(section),
                paragraphs=tuple(paragraphs),
                start=start,
                end=end,
                text=doc.text[start:end],
                sentences=tuple(zip(flat[::2], flat[1::2], strict=True)),
            )
        )
    return chunks


def _dictionary(generation: Path, files: dict[str, Any]) -> Path | None:
    """The generation's tokenizer directory when each of its files matches the manifest."""
    from .tokenization import DICTIONARY_FILES

    for name in DICTIONARY_FILES:
        rel = f"{store.TOKENIZER}/{name}"
        if rel not in files or not _checked(generation, rel, files[rel]):
            return None
    return generation / store.TOKENIZER


def link(origin: Path, target: Path) -> bool:
    """Hard-link ``origin`` (a checked file of the previous generation) at ``target``;
    False when the filesystem cannot (the caller then writes the file).

    Generations never modify a file in place, so a file shared by two of them is safe; the
    new manifest checksums the link like any other file.
    """
    try:
        os.link(origin, target)
    except OSError:
        return False
    return True


def _checked_bytes(generation: Path, rel: str, meta: dict[str, Any] | None) -> bytes | None:
    """The file's bytes when they match the manifest's size and sha256 (read once: the
    checked bytes are the ones parsed)."""
    path = generation / rel
    if meta is None or not path.is_file() or path.stat().st_size != meta.get("bytes"):
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == meta.get("sha256") else None


def _checked(generation: Path, rel: str, meta: dict[str, Any]) -> bool:
    path = generation / rel
    return (
        path.is_file()
        and path.stat().st_size == meta.get("bytes")
        and store.sha256_file(path) == meta.get("sha256")
    )


def _counts_to_json(counts: Counts) -> list[Any]:
    quoted, singles, runs, left, right = counts
    return [
        dict(quoted),
        dict(singles),
        dict(runs),
        [[a, b, n] for (a, b), n in left.items()],
        [[a, b, n] for (a, b), n in right.items()],
    ]


def _counts_from_json(data: list[Any]) -> Counts:
    quoted, singles, runs, left, right = data
    return (
        Counter(quoted),
        Counter(singles),
        Counter(runs),
        Counter({(a, b): n for a, b, n in left}),
        Counter({(a, b): n for a, b, n in right}),
    )


__all__ = ["CACHE_DIR", "BuildCache", "FileEntry", "link", "token_key", "write"]
