"""The corpus of a generation as columnar arrays: written once, memory-mapped, read lazily.

Loading parsed ``documents.json`` and ``chunks.jsonl`` into Python objects before: 46 s and
4.7 GB at 10^6 passages. Here every column is a ``.npy`` array opened with
``mmap_mode="r"`` (or a UTF-8 blob with an offset array), so loading opens files and checks
their shapes, and a passage or a document becomes a Python object only when it is read.

Layout, below ``corpus/`` of a generation (``n`` documents, ``p`` passages, ``s``
sentences)::

    doc_text.utf8, doc_text.offsets.npy     the documents' texts, one UTF-8 blob (n + 1 offsets)
    doc_ids.utf8, doc_ids.offsets.npy       document ids
    doc_meta.utf8, doc_meta.offsets.npy     every other field of each document as JSON
                                           (``Document.to_dict()`` minus ``text``): new fields
                                           of the record are stored without a format change
    chunk_ids.utf8, chunk_ids.offsets.npy   passage ids
    chunk_doc.npy                          int32 (p,): the passage's document row
    chunk_span.npy                         int64 (p, 4): character start, end in the document
                                           text, byte start, end in ``doc_text.utf8``
    chunk_section.npy                      int32 (p,): row in ``sections``
    sections.utf8, sections.offsets.npy     each distinct section path once, as JSON
    chunk_paragraphs.npy, .indptr.npy      paragraph numbers (body, captions, headings), CSR
    sentences.npy, sentences.indptr.npy    int64 (s, 2) sentence spans, CSR by passage
    tokens.npy, tokens.indptr.npy          int32 lexical token ids of each sentence, CSR by
                                           sentence (the strings are the BM25 vocabulary's)
    chunk_cite.utf8, chunk_cite.offsets.npy the citation of each passage's first paragraph
                                           (what a search hit shows, without a Document built)
    chunk_extra.utf8, .offsets.npy          only when a passage has fields beyond these, JSON

A passage's text is never stored twice: it is the byte range of its document's text.
Nothing is unpickled (``allow_pickle=False``); every file is covered by the manifest's
checksums, verified before any of them is opened, and :func:`open_corpus` checks shapes,
dtypes, offsets and cross references before the first read.

numpy rather than Arrow: the columns are flat arrays that numpy memory-maps
in microseconds, while ``import pyarrow`` alone costs more than the whole cold-start budget
of a one-shot ``rag ask`` (measured in ``docs/SCALING.md``).
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np
import orjson

from .errors import IndexMismatchError, RagError
from .lru import LRUCache
from .schema import Chunk, Document
from .textnorm import normalize

__all__ = [
    "CORPUS",
    "REQUIRED_FILES",
    "ChunkTable",
    "CorpusColumns",
    "DocumentTable",
    "SentenceTokens",
    "catalogue",
]

CORPUS = "corpus"
# Fields a passage's columns hold; any other field of Chunk goes to chunk_extra as JSON.
_CHUNK_COLUMNS = (
    "chunk_id",
    "doc_id",
    "section",
    "paragraphs",
    "start",
    "end",
    "text",
    "sentences",
)
# What the catalogue of documents needs (kind, title, subtitle, normalised title), each its
# own column so that listing 10^5 documents by title or kind decodes four blobs instead of
# building every Document from its JSON (a scoped question at 10^6 passages took 63 s).
_CATALOGUE = ("doc_kind", "doc_title", "doc_subtitle", "doc_title_key")
_STRINGS = (
    "doc_text",
    "doc_ids",
    "doc_meta",
    "chunk_ids",
    "chunk_cite",
    "sections",
    *_CATALOGUE,
)
_ARRAYS = (
    "chunk_doc",
    "chunk_span",
    "chunk_section",
    "chunk_paragraphs",
    "chunk_paragraphs.indptr",
    "sentences",
    "sentences.indptr",
    "tokens",
    "tokens.indptr",
)
# Every file a corpus needs (chunk_extra is optional), relative to the generation.
REQUIRED_FILES = tuple(
    [f"{CORPUS}/{n}.utf8" for n in _STRINGS]
    + [f"{CORPUS}/{n}.offsets.npy" for n in _STRINGS]
    + [f"{CORPUS}/{n}.npy" for n in _ARRAYS]
)
_BLOCK = 1 << 24
_FIX = "run `rag build --force` to rebuild it"

Write = Callable[[Path, Iterable[bytes]], None]


# ---------------------------------------------------------------------------------- writing


def _npy_blocks(array: np.ndarray) -> Iterator[bytes]:
    """An array as ``.npy`` bytes, block by block (never a second copy of a large array)."""
    array = np.ascontiguousarray(array)
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, np.lib.format.header_data_from_array_1_0(array))
    yield head.getvalue()
    view = array.data.cast("B") if array.size else memoryview(b"")
    for i in range(0, len(view), _BLOCK):
        yield bytes(view[i : i + _BLOCK])


class _Strings:
    """Accumulates a UTF-8 blob and its offsets."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offsets: list[int] = [0]

    def add(self, data: bytes) -> None:
        self.parts.append(data)
        self.offsets.append(self.offsets[-1] + len(data))

    def write(self, write: Write, directory: Path, name: str) -> None:
        write(directory / f"{name}.utf8", self.parts)
        write(directory / f"{name}.offsets.npy", _npy_blocks(np.asarray(self.offsets, np.int64)))


def _byte_offsets(text: str) -> np.ndarray:
    """Byte offset in UTF-8 of every character position of ``text`` (len(text) + 1 values)."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    widths = 1 + (points >= 0x80) + (points >= 0x800) + (points >= 0x10000)
    out = np.zeros(len(points) + 1, dtype=np.int64)
    np.cumsum(widths, out=out[1:])
    return out


def write_corpus(
    directory: Path,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    sentence_tokens: np.ndarray,
    sentence_indptr: np.ndarray,
    *,
    citations: Sequence[str],
    write: Write,
) -> None:
    """Write documents, passages and the token ids of every sentence as columns.

    Args:
        directory: The ``corpus/`` directory of a generation being built (created).
        documents: Every document; passages refer to them by ``doc_id``.
        chunks: Every passage, in index order (row ``i`` is BM25 row and vector ``i``).
        sentence_tokens: int32 lexical token ids of all sentences of all passages, in order.
        sentence_indptr: int64, one more than the number of sentences: sentence ``j`` holds
            ``sentence_tokens[sentence_indptr[j]:sentence_indptr[j + 1]]``.
        citations: The citation of each passage's first paragraph, in passage order (a
            search hit shows it; reading it builds no Document).
        write: Writes one file from byte blocks and checks it on disk.

    Raises:
        RagError: A passage's text is not its document's text at its span, the sentence
            token arrays do not fit the passages, or there is not one citation per passage.
    """
    if len(citations) != len(chunks):
        raise RagError(f"{len(citations)} citations for {len(chunks)} passages")
    directory.mkdir(parents=True, exist_ok=True)
    row_of: dict[str, int] = {}
    texts, ids, metas = _Strings(), _Strings(), _Strings()
    catalogue = {name: _Strings() for name in _CATALOGUE}
    doc_bytes: list[int] = [0]
    for doc in documents:
        row_of[doc.doc_id] = len(row_of)
        data = doc.text.encode("utf-8")
        texts.add(data)
        ids.add(doc.doc_id.encode("utf-8"))
        meta = doc.to_dict()
        del meta["text"]
        metas.add(orjson.dumps(meta))
        card = (doc.kind, doc.title, doc.subtitle, normalize(doc.title))
        for name, value in zip(_CATALOGUE, card, strict=True):
            catalogue[name].add(value.encode("utf-8"))
        doc_bytes.append(doc_bytes[-1] + len(data))
    texts.write(write, directory, "doc_text")
    ids.write(write, directory, "doc_ids")
    metas.write(write, directory, "doc_meta")
    for name, column in catalogue.items():
        column.write(write, directory, name)
    del texts, metas, catalogue

    extra_fields = [f.name for f in dataclasses.fields(Chunk) if f.name not in _CHUNK_COLUMNS]
    p = len(chunks)
    chunk_doc = np.empty(p, dtype=np.int32)
    span = np.empty((p, 4), dtype=np.int64)
    chunk_section = np.empty(p, dtype=np.int32)
    sections: dict[tuple[str, ...], int] = {}
    chunk_ids, extras = _Strings(), _Strings()
    paragraphs: list[int] = []
    par_indptr = [0]
    sentences: list[tuple[int, int]] = []
    sent_indptr = [0]
    any_extra = False
    by_doc: dict[int, np.ndarray] = {}
    docs = list(documents)
    for i, chunk in enumerate(chunks):
        row = row_of[chunk.doc_id]
        doc = docs[row]
        if doc.text[chunk.start : chunk.end] != chunk.text:
            raise RagError(f"passage {chunk.chunk_id} is not the text of its document at its span")
        offsets = by_doc.get(row)
        if offsets is None:
            by_doc.clear()  # passages come document by document
            offsets = by_doc[row] = _byte_offsets(doc.text)
        chunk_doc[i] = row
        base = doc_bytes[row]
        span[i] = (chunk.start, chunk.end, base + offsets[chunk.start], base + offsets[chunk.end])
        chunk_section[i] = sections.setdefault(chunk.section, len(sections))
        chunk_ids.add(chunk.chunk_id.encode("utf-8"))
        paragraphs.extend(chunk.paragraphs)
        par_indptr.append(len(paragraphs))
        sentences.extend(chunk.sentences)
        sent_indptr.append(len(sentences))
        extra = {
            name: getattr(chunk, name)
            for name in extra_fields
            if not (name == "doc_title" and chunk.doc_title == doc.title)
        }
        any_extra = any_extra or bool(extra)
        extras.add(json.dumps(extra, ensure_ascii=False).encode("utf-8") if extra else b"")
    if len(sentence_indptr) != len(sentences) + 1 or sentence_indptr[-1] != len(sentence_tokens):
        raise RagError("sentence tokens do not fit the passages' sentences")
    chunk_ids.write(write, directory, "chunk_ids")
    cites = _Strings()
    for citation in citations:
        cites.add(citation.encode("utf-8"))
    cites.write(write, directory, "chunk_cite")
    del cites
    if any_extra:
        extras.write(write, directory, "chunk_extra")
    section_table = _Strings()
    for section in sections:
        section_table.add(orjson.dumps(section))
    section_table.write(write, directory, "sections")
    arrays: list[tuple[str, np.ndarray]] = [
        ("chunk_doc.npy", chunk_doc),
        ("chunk_span.npy", span),
        ("chunk_section.npy", chunk_section),
        ("chunk_paragraphs.npy", np.asarray(paragraphs, dtype=np.int32)),
        ("chunk_paragraphs.indptr.npy", np.asarray(par_indptr, dtype=np.int64)),
        ("sentences.npy", np.asarray(sentences, dtype=np.int64).reshape(-1, 2)),
        ("sentences.indptr.npy", np.asarray(sent_indptr, dtype=np.int64)),
        ("tokens.npy", np.asarray(sentence_tokens, dtype=np.int32)),
        ("tokens.indptr.npy", np.asarray(sentence_indptr, dtype=np.int64)),
    ]
    for name, array in arrays:
        write(directory / name, _npy_blocks(array))


# ---------------------------------------------------------------------------------- reading


class _Column:
    """A read-only UTF-8 string column: ``column[i]`` decodes string ``i``."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self._blob = blob
        # Slicing a memoryview and decoding it in place is a third cheaper than slicing the
        # array and copying it out (every string read of every hit goes through here).
        self._view = blob.data
        self._offsets = offsets

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def bytes_at(self, start: int, end: int) -> str:
        return str(self._view[start:end], "utf-8")

    def all(self) -> list[str]:
        """Every string of the column (one pass over the blob, not one lookup per row)."""
        raw = self._blob.tobytes()
        bounds = self._offsets.tolist()
        return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]

    def __getitem__(self, i: int) -> str:
        start, end = self._offsets[i : i + 2].tolist()
        return str(self._view[start:end], "utf-8")

    def take(self, rows: np.ndarray) -> list[str]:
        """Strings ``rows`` (int64 positions, checked by the caller), with one gather of the
        offsets for all of them."""
        view = self._view
        starts, ends = self._offsets[rows].tolist(), self._offsets[rows + 1].tolist()
        return [str(view[a:b], "utf-8") for a, b in zip(starts, ends, strict=True)]


class CorpusColumns:
    """The opened, checked columns of one generation (see the module docstring)."""

    def __init__(self, directory: Path, vocabulary_size: int) -> None:
        """Map every column and check that they fit each other.

        Raises:
            IndexMismatchError: A file is missing or unreadable, or the columns disagree.
        """
        self.directory = directory

        def fail(why: str) -> IndexMismatchError:
            return IndexMismatchError(f"passages in {directory} {why}; {_FIX}")

        def array(name: str, dtype: Any, ndim: int = 1) -> np.ndarray:
            path = directory / name
            try:
                if path.stat().st_size == 0:
                    raise fail(f"are damaged: {name} is empty")
                a = np.load(path, mmap_mode="r", allow_pickle=False)
            except FileNotFoundError:
                raise fail(f"are incomplete: {name} is missing") from None
            except (OSError, ValueError) as exc:
                raise fail(f"cannot be read ({name}: {exc})") from None
            if a.dtype != np.dtype(dtype) or a.ndim != ndim:
                raise fail(f"are damaged: {name} is {a.dtype} with {a.ndim} dimensions")
            # A plain ndarray over the same mapping: slicing a np.memmap builds a memmap
            # object each time (__array_finalize__), tens of µs per answer for nothing.
            return a.view(np.ndarray)

        def strings(name: str) -> tuple[np.ndarray, np.ndarray]:
            path = directory / f"{name}.utf8"
            offsets = array(f"{name}.offsets.npy", np.int64)
            try:
                size = path.stat().st_size
                blob = (
                    np.memmap(path, dtype=np.uint8, mode="r").view(np.ndarray)
                    if size
                    else np.empty(0, np.uint8)
                )
            except FileNotFoundError:
                raise fail(f"are incomplete: {name}.utf8 is missing") from None
            except (OSError, ValueError) as exc:
                raise fail(f"cannot be read ({name}.utf8: {exc})") from None
            _check_indptr(offsets, size, f"{name}.offsets.npy", fail)
            return blob, offsets

        def csr(name: str, dtype: Any, ndim: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
            values = array(f"{name}.npy", dtype, ndim)
            indptr = array(f"{name}.indptr.npy", np.int64)
            if len(indptr) != rows + 1:
                raise fail(f"are inconsistent: {name} has {len(indptr) - 1} rows, not {rows}")
            _check_indptr(indptr, len(values), f"{name}.indptr.npy", fail)
            return values, indptr

        text_blob, text_offsets = strings("doc_text")
        n = len(text_offsets) - 1
        self.doc_text = _Column(text_blob, text_offsets)
        self.doc_ids = _Column(*strings("doc_ids"))
        self.doc_meta = _Column(*strings("doc_meta"))
        self.chunk_ids = _Column(*strings("chunk_ids"))
        p = len(self.chunk_ids)
        self.chunk_cite = _Column(*strings("chunk_cite"))
        if len(self.chunk_cite) != p:
            raise fail("are inconsistent: chunk_cite has another length")
        self.catalogue = {name: _Column(*strings(name)) for name in _CATALOGUE}
        if len(self.doc_ids) != n or len(self.doc_meta) != n:
            raise fail("are inconsistent: document columns differ in length")
        if any(len(column) != n for column in self.catalogue.values()):
            raise fail("are inconsistent: the catalogue columns differ in length")
        self.chunk_doc = array("chunk_doc.npy", np.int32)
        self.chunk_span = array("chunk_span.npy", np.int64, 2)
        self.chunk_section = array("chunk_section.npy", np.int32)
        self.sections = _Column(*strings("sections"))
        self.paragraphs, self.paragraph_indptr = csr("chunk_paragraphs", np.int32, 1, p)
        self.sentences, self.sentence_indptr = csr("sentences", np.int64, 2, p)
        self.tokens, self.token_indptr = csr("tokens", np.int32, 1, len(self.sentences))
        self.chunk_extra: _Column | None = None
        if (directory / "chunk_extra.utf8").exists():
            self.chunk_extra = _Column(*strings("chunk_extra"))
            if len(self.chunk_extra) != p:
                raise fail("are inconsistent: chunk_extra has another length")
        if len(self.chunk_doc) != p or len(self.chunk_section) != p:
            raise fail("are inconsistent: passage columns differ in length")
        if self.chunk_span.shape != (p, 4) or self.sentences.shape[1:] != (2,):
            raise fail("are damaged: span arrays have the wrong shape")
        if p and (int(self.chunk_doc.min()) < 0 or int(self.chunk_doc.max()) >= n):
            raise fail("refer to documents that do not exist")
        if p and (
            int(self.chunk_section.min()) < 0 or int(self.chunk_section.max()) >= len(self.sections)
        ):
            raise fail("refer to sections that do not exist")
        if p:
            rows = self.chunk_doc.astype(np.int64)
            byte_lo, byte_hi = self.chunk_span[:, 2], self.chunk_span[:, 3]
            chars = self.chunk_span[:, 1] - self.chunk_span[:, 0]
            if np.any(self.chunk_span[:, 0] < 0) or np.any(
                (chars > byte_hi - byte_lo) | (byte_hi - byte_lo > 4 * chars)
            ):
                raise fail("have spans outside their documents")
            owner = np.repeat(np.arange(p), np.diff(self.sentence_indptr))
            if len(owner) and (
                np.any(self.sentences[:, 0] < self.chunk_span[owner, 0])
                or np.any(self.sentences[:, 1] > self.chunk_span[owner, 1])
                or np.any(self.sentences[:, 0] > self.sentences[:, 1])
            ):
                raise fail("have a sentence outside its passage")
            if (
                np.any(self.chunk_span[:, 0] > self.chunk_span[:, 1])
                or np.any(byte_lo > byte_hi)
                or np.any(byte_lo < text_offsets[rows])
                or np.any(byte_hi > text_offsets[rows + 1])
            ):
                raise fail("have spans outside their documents")
        if len(self.tokens) and (
            int(self.tokens.min()) < 0 or int(self.tokens.max()) >= vocabulary_size
        ):
            raise fail("hold token ids outside the vocabulary")
        self.documents = n


def _check_indptr(
    indptr: np.ndarray, total: int, name: str, fail: Callable[[str], IndexMismatchError]
) -> None:
    if len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != total or np.any(np.diff(indptr) < 0):
        raise fail(f"are damaged: {name} does not fit its data")


class DocumentTable(Mapping[str, Document]):
    """Documents by id, built from the columns on first access (and kept in a small cache)."""

    def __init__(self, columns: CorpusColumns, cache: int = 4096) -> None:
        self._c = columns
        self._rows: dict[str, int] | None = None
        self._cache = LRUCache(cache)
        self._lock = Lock()

    def row(self, doc_id: str) -> int | None:
        """The row of a document id, or None."""
        rows = self._rows
        if rows is None:
            with self._lock:
                if self._rows is None:
                    self._rows = {doc_id: i for i, doc_id in enumerate(self._c.doc_ids.all())}
                rows = self._rows
        return rows.get(doc_id)

    def at(self, row: int) -> Document:
        """The document of a row."""
        doc = self._cache.get(row)
        if doc is None:
            try:
                meta = json.loads(self._c.doc_meta[row])
                meta["text"] = self._c.doc_text[row]
                doc = Document.from_dict(meta)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise IndexMismatchError(
                    f"document {row} in {self._c.directory} is damaged ({exc}); {_FIX}"
                ) from None
            self._cache.put(row, doc)
        return doc

    def catalogue(self) -> list[tuple[str, str, str, str, str]]:
        """Every document's ``(doc_id, kind, title, subtitle, normalised title)``, in row
        order, from the catalogue columns (no Document is built)."""
        c = self._c
        cols = [c.doc_ids.all(), *(c.catalogue[name].all() for name in _CATALOGUE)]
        return list(zip(*cols, strict=True))

    def title_at(self, row: int) -> str:
        """A document's title, from the catalogue column (no Document is built)."""
        return self._c.catalogue["doc_title"][row]

    def __getitem__(self, doc_id: str) -> Document:
        rows = self._rows  # the hot path of answering: no further calls for a cached document
        row = rows.get(doc_id) if rows is not None else self.row(doc_id)
        if row is None:
            raise KeyError(doc_id)
        doc = self._cache.get(row)
        return doc if doc is not None else self.at(row)

    def __contains__(self, doc_id: object) -> bool:
        return isinstance(doc_id, str) and self.row(doc_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._c.doc_ids.all())

    def __len__(self) -> int:
        return self._c.documents


def catalogue(documents: Mapping[str, Document]) -> Iterable[tuple[str, str, str, str, str]]:
    """Every document's ``(doc_id, kind, title, subtitle, normalised title)``: from the
    catalogue columns when ``documents`` is a stored table (:meth:`DocumentTable.catalogue`),
    else built from the Documents."""
    stored = getattr(documents, "catalogue", None)
    if callable(stored):
        return stored()
    return ((i, d.kind, d.title, d.subtitle, normalize(d.title)) for i, d in documents.items())


class ChunkTable(Sequence[Chunk]):
    """Passages by index, built from the columns on access (and kept in a small cache)."""

    def __init__(self, columns: CorpusColumns, documents: DocumentTable, cache: int = 65536):
        self._c = columns
        self._docs = documents
        self._cache = LRUCache(cache)
        # Section paths by row, parsed once: passages of one section share its tuple.
        self._sections: dict[int, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._c.chunk_ids)

    def citations(self, rows: Sequence[int]) -> list[str]:
        """The citation of each passage's first paragraph, as the build computed it (one
        gather of the column for all ``rows``)."""
        return self._c.chunk_cite.take(np.asarray(rows, dtype=np.int64))

    def __getitem__(self, i: int) -> Chunk:  # type: ignore[override]
        if type(i) is int:  # a cached passage is a valid position: no checks needed
            cached = self._cache.get(i)
            if cached is not None:
                return cached
        if not isinstance(i, int | np.integer):
            raise TypeError("passages are read one at a time, by position")
        i = int(i)
        if i < 0:
            i += len(self)
        return self.take([i])[0]

    def take(self, rows: Sequence[int]) -> list[Chunk]:
        """The passages at ``rows``, in that order: cached ones from the cache, the others
        read in one pass over the columns (one gather per column, not one lookup per row
        and column: the hit list of a search).

        Raises:
            IndexError: A row is not a passage position (0 <= row < ``len(self)``).
        """
        out: list[Chunk | None] = [self._cache.get(r) for r in rows]
        missing = [k for k, chunk in enumerate(out) if chunk is None]
        if missing:
            wanted = np.fromiter((rows[k] for k in missing), dtype=np.int64, count=len(missing))
            if wanted.min() < 0 or wanted.max() >= len(self):
                bad = next(int(r) for r in wanted if not 0 <= r < len(self))
                raise IndexError(bad)
            for k, chunk in zip(missing, self._build(wanted), strict=True):
                self._cache.put(int(rows[k]), chunk)
                out[k] = chunk
        return out  # type: ignore[return-value]

    def document_rows(self) -> np.ndarray:
        """The document row (:meth:`DocumentTable.row`) of every passage (no record built)."""
        return self._c.chunk_doc

    def sentence_counts(self) -> np.ndarray:
        """Number of sentences of every passage (no record built)."""
        return np.diff(self._c.sentence_indptr)

    def text(self, i: int) -> str:
        """Only the text of passage ``i`` (no record built)."""
        start, end = self._c.chunk_span[i, 2:4].tolist()
        return self._c.doc_text.bytes_at(start, end)

    def _build(self, rows: np.ndarray) -> list[Chunk]:
        c = self._c
        doc_rows = c.chunk_doc[rows].astype(np.int64)
        spans = c.chunk_span[rows].tolist()
        par = zip(
            c.paragraph_indptr[rows].tolist(), c.paragraph_indptr[rows + 1].tolist(), strict=True
        )
        sent = zip(
            c.sentence_indptr[rows].tolist(), c.sentence_indptr[rows + 1].tolist(), strict=True
        )
        chunk_ids = c.chunk_ids.take(rows)
        doc_ids = c.doc_ids.take(doc_rows)
        titles = c.catalogue["doc_title"].take(doc_rows)
        extras = c.chunk_extra.take(rows) if c.chunk_extra is not None else None
        out = []
        for k, (i, section_row, (p0, p1), (s0, s1)) in enumerate(
            zip(rows.tolist(), c.chunk_section[rows].tolist(), par, sent, strict=True)
        ):
            start, end, byte_start, byte_end = spans[k]
            try:
                section = self._sections.get(section_row)
                if section is None:
                    section = self._sections[section_row] = tuple(
                        json.loads(c.sections[section_row])
                    )
                extra = json.loads(extras[k]) if extras is not None and extras[k] else {}
            except ValueError as exc:
                raise IndexMismatchError(
                    f"passage {i} in {c.directory} is damaged ({exc}); {_FIX}"
                ) from None
            doc_title = extra.pop("doc_title", None)
            chunk = Chunk(
                chunk_ids[k],
                doc_ids[k],
                titles[k] if doc_title is None else doc_title,
                section,
                tuple(c.paragraphs[p0:p1].tolist()),
                start,
                end,
                c.doc_text.bytes_at(byte_start, byte_end),
                tuple(map(tuple, c.sentences[s0:s1].tolist())),
            )
            out.append(dataclasses.replace(chunk, **extra) if extra else chunk)
        return out

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


class SentenceTokens(Sequence[list[str]]):
    """``tokens[i]``: the token strings of each sentence of passage ``i``, space-joined."""

    def __init__(self, columns: CorpusColumns, words: Callable[[], Sequence[str]]) -> None:
        self._c = columns
        self._words = words
        self._cache = LRUCache(65536)

    def __len__(self) -> int:
        return len(self._c.chunk_ids)

    def __getitem__(self, i: int) -> list[str]:  # type: ignore[override]
        i = int(i)
        value = self._cache.get(i)
        if value is None:
            c = self._c
            words = self._words()
            s0, s1 = c.sentence_indptr[i : i + 2].tolist()
            bounds = c.token_indptr[s0 : s1 + 1].tolist()
            ids = c.tokens[bounds[0] : bounds[-1]].tolist()
            base = bounds[0]
            runs = getattr(words, "joined_runs", None)  # a vocabulary's: one decode a passage
            value = (
                runs(ids, [b - base for b in bounds])
                if runs is not None
                else [
                    " ".join([words[t] for t in ids[a - base : b - base]])
                    for a, b in itertools.pairwise(bounds)
                ]
            )
            self._cache.put(i, value)
        return value

    def __iter__(self) -> Iterator[list[str]]:
        return (self[i] for i in range(len(self)))
