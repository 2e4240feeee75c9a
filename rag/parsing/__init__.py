"""Parsing: source files → documents with titles, outline, numbered paragraphs and citations.

The package's files are the stages, in order:

- :mod:`.readers` — one reader per format (text encodings, HTML, Word, PDF) → a
  :class:`~rag.parsing.readers.RawDocument` (text, blocks with pages, metadata from front
  matter or a sidecar, removed page chrome); :mod:`.intake` hands it to the text stages with
  the page of every line;
- :mod:`.blocks` — lines → blocks (blank and invisible-only lines separate them; markup
  comments are taken out), and the classifiers of single blocks;
- genre outline: :mod:`.genre` (what the document is), :mod:`.news` (page layout: head
  blocks, bylines, captions, documents on one page), :mod:`.numbering` (编/章/节/条/款/项 and
  一、（一）1. paths), :mod:`.statute` (enactment history, broken article lines);
- :mod:`.repairs` — layout repairs (repeats on a news page, words split across paragraphs),
  every one reported;
- :mod:`.assembly` — the canonical text and the :class:`~rag.schema.Document`;
- :mod:`.jsonl` — ``.jsonl`` corpora, one verbatim document per line;
- :mod:`.report` — ``rag inspect`` and the line-accounting check of ``rag check``.

Example:
    >>> corpus = load_documents(Path("source"))
    >>> [d.doc_id for d in corpus.documents]
    ['shanghai_cpc_plenary_2021-06-22_soft_power/resolution', '…/side_report']
    >>> print(describe(corpus))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..schema import Document, Repair
from ..sources import SourceFile, SourceScan, scan_sources
from .assembly import parse_text
from .intake import RawDocument, read_source
from .jsonl import parse_jsonl
from .report import CheckReport, check_lines
from .report import describe as _describe

# Bump when parsing gives different documents for the same file: cached parses are dropped.
PARSER_VERSION = 40

# Called with (done, total, name) after each file.
FileProgress = Callable[[int, int, str], None]
# A cached parse of a file, by its content key, or None.
ParseCache = Callable[[SourceFile, str], "list[Document] | None"]


@dataclass(frozen=True)
class Corpus:
    """All documents under a source path.

    Attributes:
        documents: Documents in file order, then page order.
        warnings: Skipped files and other remarks.
        source_hashes: sha256 of each source file's bytes (and of each sidecar), by path.
        file_keys: The cache key of each source file's parse, by relative path.
        reused: Relative paths whose documents came from the cache.
    """

    documents: tuple[Document, ...]
    warnings: tuple[str, ...]
    source_hashes: dict[str, str] = field(default_factory=dict)
    file_keys: dict[str, str] = field(default_factory=dict)
    reused: tuple[str, ...] = ()

    @property
    def repairs(self) -> tuple[Repair, ...]:
        """Every change to the text of every document, in document order."""
        return tuple(r for d in self.documents for r in d.repairs)


def load_documents(
    path: Path,
    *,
    cache: ParseCache | None = None,
    progress: FileProgress | None = None,
    max_bytes: int | None = None,
) -> Corpus:
    """Scan ``path`` and parse every file into documents.

    Args:
        path: Source directory or single file.
        cache: Returns the documents of an unchanged file from an earlier build (given the
            file and its key), so only new and changed files are parsed.
        progress: Called after each file with (files done, files in all, file name).
        max_bytes: Refuse a source file larger than this (see ``Settings.max_source_mb``).

    Returns:
        The documents with warnings, source hashes and per-file keys.

    Raises:
        SourceError: A file cannot be read or parsed, is too large, or two documents share
            an id; the message lists every problem.

    Example:
        >>> corpus = load_documents(Path("source"))
        >>> len(corpus.documents)
        2
    """
    scan = scan_sources(Path(path), max_bytes=max_bytes)
    documents: list[Document] = []
    warnings = list(scan.warnings)
    problems: list[str] = []
    keys: dict[str, str] = {}
    reused: list[str] = []
    hashes = source_hashes(scan)
    for done, source in enumerate(scan.files, start=1):
        key = file_key(source)
        keys[source.rel] = key
        docs = cache(source, key) if cache is not None else None
        if docs is not None:
            reused.append(source.rel)
        else:
            try:
                docs = parse_file(source)
            except SourceError as exc:
                problems.append(str(exc))
                docs = []
        documents.extend(docs)
        if progress is not None:
            progress(done, len(scan.files), source.rel)
    problems.extend(_duplicate_ids(documents))
    if problems:
        raise SourceError("\n".join(problems))
    return Corpus(
        documents=tuple(documents),
        warnings=tuple(warnings),
        source_hashes=hashes,
        file_keys=keys,
        reused=tuple(reused),
    )


def source_hashes(scan: SourceScan) -> dict[str, str]:
    """sha256 of every source file (with its sidecar metadata file), by relative path."""
    hashes: dict[str, str] = {}
    for source in scan.files:
        hashes[source.rel] = source.sha256  # the sidecar's bytes are hashed in with the file's
    return hashes


def file_key(source: SourceFile) -> str:
    """What a file's parse depends on: its bytes and its sidecar's, and the parser version."""
    return f"p{PARSER_VERSION}-{source.sha256}"


def parse_file(f: SourceFile) -> list[Document]:
    """Parse one decoded source file into its documents.

    Args:
        f: The file from ``scan_sources``.

    Returns:
        Its documents in page order.

    Raises:
        SourceError: A ``.jsonl`` line is bad, or a text file holds no body paragraph.
    """
    if f.format == "jsonl":
        return parse_jsonl(f)[0]
    return parse_text(read_source(f), f.rel, f.sha256)


# The name this function had before the parsing package.
parse_source = parse_file


def describe(corpus: Corpus) -> str:
    """Render the parsed structure of a corpus for ``rag inspect``."""
    return _describe(corpus.documents, corpus.warnings, len(corpus.file_keys))


def check_corpus(path: Path, corpus: Corpus | None = None) -> CheckReport:
    """Prove that every line of every text source is in the stored text (``rag check``).

    Args:
        path: Source directory or single file.
        corpus: Its parse (parsed here when not given).

    Returns:
        The line-accounting report.
    """
    scan = scan_sources(Path(path))
    corpus = corpus or load_documents(path)
    files = [(f.rel, read_source(f).text) for f in scan.files if f.format != "jsonl"]
    return check_lines(files, corpus.documents)


def _duplicate_ids(documents: list[Document]) -> list[str]:
    first: dict[str, str] = {}
    problems = []
    for doc in documents:
        if doc.doc_id in first:
            problems.append(
                f"duplicate document id {doc.doc_id!r} in {doc.source} (already used by "
                f"{first[doc.doc_id]}); rename one of the files or change the id"
            )
        else:
            first[doc.doc_id] = doc.source
    return problems


__all__ = [
    "PARSER_VERSION",
    "CheckReport",
    "Corpus",
    "RawDocument",
    "check_corpus",
    "describe",
    "file_key",
    "load_documents",
    "parse_file",
    "parse_source",
    "source_hashes",
]
