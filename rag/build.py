"""``source/`` → ``index/``: parse, chunk, tokenize, embed, write a new generation, verify, switch.

A build never touches the serving generation. It fails before any expensive work when the
index directory cannot be written, takes the build lock, removes what killed builds left
behind, writes the new generation into ``.tmp-<id>/`` (every file read back and compared with
what was meant to be written: a full disk must fail the build, not leave a short file that the
checksums would then bless), loads it back exactly as a reader would, renames it and only then
switches ``CURRENT``. Any failure before the switch removes the new files and leaves the
previous index serving. The phases are announced through ``log`` (``parsing``, ``tokenizing``,
``embedding``, ``writing``, ``verifying``, ``switching``).

Example:
    >>> report = build_index("source", "index")
    >>> report.up_to_date, report.chunks
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import buildcache, integrity, store
from .buildcache import BuildCache, FileEntry
from .chunking import chunk_documents
from .citations import cite
from .columnar import write_corpus
from .errors import ModelUnavailableError, RagError
from .ngrams import FIELD as BIGRAM_FIELD
from .parsing import Corpus, load_documents, source_hashes
from .schema import Chunk, Document, Repair
from .settings import Settings
from .sources import scan_sources

if TYPE_CHECKING:
    from .embedding import Embedder
    from .lexical import LexicalIndex
    from .tokenization import Tokenizer, WorkerPool

# Bump when tokenization or passage text changes in a way that needs a rebuild.
PIPELINE_VERSION = 4
# Key terms are counted per file (and the counts reused) while the corpus is read whole by
# discover_terms, i.e. up to its default sample size; beyond, terms come from its sample.
_WHOLE_CORPUS_CHARS = 10_000_000

Log = Callable[[str], None]
# Called as a long stage advances: (stage, done, total). Stages: parsing, counting,
# tokenizing, embedding.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class BuildReport:
    """What a build did.

    Attributes:
        up_to_date: True when nothing changed and nothing was built.
        build_id: Id of the serving generation after the call.
        generation: Its directory.
        documents: Number of documents.
        chunks: Number of passages.
        model: Embedding model used, or None (lexical only).
        dense_note: Why there are no vectors, when there are none.
        repairs: Layout repairs made while parsing.
        warnings: Skipped files and similar.
        timings: Seconds per phase.
        size_bytes: Size of the generation on disk.
    """

    up_to_date: bool
    build_id: str
    generation: Path
    documents: int
    chunks: int
    model: str | None
    dense_note: str = ""
    repairs: tuple[Repair, ...] = ()
    warnings: tuple[str, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    size_bytes: int = 0


def build_index(
    source: str | Path | None = None,
    index: str | Path | None = None,
    *,
    settings: Settings | None = None,
    force: bool = False,
    embedder: Embedder | None = None,
    log: Log | None = None,
    progress: Progress | None = None,
    **overrides: Any,
) -> BuildReport:
    """Build the index for ``source`` into ``index`` (atomic; the old index keeps serving).

    Args:
        source: Source directory or single file (default: settings.source).
        index: Index directory (default: settings.index).
        settings: Base settings (default: ``Settings.load()``).
        force: Rebuild even when sources and settings are unchanged.
        embedder: Use this embedder instead of loading ``settings.model`` (tests, custom models).
        log: Receives progress messages (the library itself never prints).
        progress: Called as each long stage advances, with (stage, done, total): parsing
            (files), counting (files), tokenizing (sentences), embedding (passages).
        **overrides: Setting overrides, e.g. ``model="none"``, ``chunk_size=300``.

    Returns:
        A BuildReport.

    Raises:
        SourceError: The sources cannot be read; nothing is changed.
        BuildLockedError: Another build is running.
        ModelUnavailableError: ``require_dense`` is set and no model can be had.
        RagError: The index directory cannot be written, or the disk is full.
    """
    settings = (settings or Settings.load()).with_(source=source, index=index, **overrides)
    say = log or (lambda _msg: None)
    index_dir = settings.index
    store.ensure_writable(index_dir)
    with store.build_lock(index_dir):
        for name in store.remove_debris(index_dir):
            say(f"removed an unfinished build left behind: {name}")
        done, workers = _plan(settings, force, embedder)
        if done is not None:
            return done
        from .tokenization import worker_pool

        # Workers are forked before anything is parsed, so they share a small heap.
        with worker_pool(workers) as pool:
            return _build_locked(settings, force, embedder, say, pool, progress)


# Below this many characters of new or changed text, tokenizing in this process is faster
# than starting workers (each builds jieba's dictionary; ~2 s of the two cores).
_PARALLEL_CHARS = 1_000_000


def _plan(
    settings: Settings, force: bool, embedder: Embedder | None
) -> tuple[BuildReport | None, int]:
    """The report when the index is up to date, else how many tokenization processes the
    build needs: the changed files' text decides, read from the scan and the serving
    manifest (nothing is parsed, and the scan is released before workers are forked)."""
    if force or embedder is not None:
        return None, settings.worker_count
    # Up to date is decided on the files' hashes alone, before anything is parsed.
    scan = scan_sources(settings.source, max_bytes=settings.max_source_bytes)
    live = _up_to_date(settings, _fingerprint(settings, source_hashes(scan)))
    if live is not None:
        info = live.info
        return BuildReport(
            up_to_date=True,
            build_id=info.build_id,
            generation=live.path,
            documents=info.documents,
            chunks=info.chunks,
            model=info.model,
            dense_note=info.dense_note,
            repairs=tuple(
                Repair(r["kind"], r["source"], tuple(r["lines"]), r["detail"])
                for r in live.manifest.get("repairs", ())
            ),
            warnings=scan.warnings,
        ), 1
    try:
        serving = store.current_generation(settings.index)
        before = store.read_manifest(serving)["sources"] if serving is not None else {}
    except RagError:
        before = {}
    changed = sum(len(f.text) for f in scan.files if before.get(f.rel) != f.sha256)
    return None, settings.worker_count if changed >= _PARALLEL_CHARS else 1


def _fingerprint(settings: Settings, sources: dict[str, str]) -> str:
    from importlib import resources

    from . import ngrams, parsing, tokenization

    # A new parser gives other documents and passages for the same files.
    # Tokens must agree between index and query: a new tokenizer scheme, bigram scheme or
    # stopword list makes the index stale even when the sources are unchanged.
    stopwords = resources.files("rag").joinpath("data/stopwords.txt").read_bytes()
    key = {
        "format": store.FORMAT_VERSION,
        "pipeline": PIPELINE_VERSION,
        "parser": parsing.PARSER_VERSION,
        "tokenizer": tokenization.SCHEME,
        "bigrams": ngrams.FIELD,
        "stopwords": hashlib.sha256(stopwords).hexdigest(),
        "sources": sources,
        "chunk_size": settings.chunk_size,
        "chunk_overlap": settings.chunk_overlap,
        "bigram_weight": settings.bigram_weight,
        "model": settings.model if settings.dense_enabled else None,
        "ann_threshold": settings.ann_threshold,
        "backend": settings.backend,
    }
    if settings.backend == "milvus":
        key["milvus"] = [settings.milvus_target, settings.milvus_alias, settings.milvus_db]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _up_to_date(settings: Settings, fingerprint: str) -> store.Generation | None:
    try:
        live = store.current_generation(settings.index)
        if live is None:
            return None
        manifest = store.read_manifest(live)
    except RagError:
        return None
    if manifest.get("fingerprint") != fingerprint:
        return None
    try:
        return store.load_generation(live)
    except RagError:
        return None


def _build_locked(
    settings: Settings,
    force: bool,
    embedder: Embedder | None,
    say: Log,
    pool: WorkerPool | None,
    progress: Progress | None = None,
) -> BuildReport:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    report = progress or (lambda _stage, _done, _total: None)

    cache = BuildCache.open(settings.index) if not force else BuildCache()
    say(f"parsing {settings.source}")
    corpus = load_documents(
        settings.source,
        cache=cache.documents,
        progress=lambda done, total, _name: report("parsing", done, total),
        max_bytes=settings.max_source_bytes,
    )
    timings["parse"] = time.perf_counter() - clock
    fingerprint = _fingerprint(settings, corpus.source_hashes)
    changed = len(corpus.file_keys) - len(corpus.reused)
    say(
        f"parsed {len(corpus.documents)} documents from {settings.source} "
        f"({changed} file(s) read, {len(corpus.reused)} unchanged reused)"
    )

    clock = time.perf_counter()
    entries = _file_entries(corpus)
    chunks = _chunks(settings, entries, cache)
    if not chunks:
        raise RagError(f"the documents in {settings.source} contain no text to index")
    timings["chunk"] = time.perf_counter() - clock

    from .tokenization import Tokenizer

    clock = time.perf_counter()
    documents = {d.doc_id: d for d in corpus.documents}
    # The serving generation's dictionary serves when the key terms come out the same: both
    # the term counter (jieba's base dictionary) and the tokenizer are read from it lazily,
    # instead of being built from jieba's word list, and its files are linked, not rewritten.
    dictionary = cache.dictionary
    counter: Tokenizer | None = None
    tokenizer: Tokenizer | None = None
    if dictionary is not None:
        try:
            counter = Tokenizer.load_base(dictionary)
        except RagError:
            counter = None
    terms = _terms(corpus, entries, cache, pool, report, counter)
    if dictionary is not None:
        try:
            tokenizer = Tokenizer.reuse(dictionary, terms)
        except RagError:
            tokenizer = None
    if tokenizer is None:
        dictionary = None
        tokenizer = Tokenizer(user_terms=terms)
    workers = pool.workers if pool is not None else 1
    bigrams = settings.bigram_weight > 0
    tkey = buildcache.token_key(
        tokenizer.describe(),
        {"size": settings.chunk_size, "overlap": settings.chunk_overlap, "v": PIPELINE_VERSION},
        bigrams=_bigram_scheme() if bigrams else None,
    )
    todo = _reuse_blocks(entries, cache, tkey)
    say(
        f"tokenizing {sum(len(e.chunks or ()) for e in todo)} passages of {len(todo)} file(s) "
        f"({workers} process(es)); {len(entries) - len(todo)} unchanged file(s) reused"
    )
    _tokenize(todo, tokenizer, pool, bigrams=bigrams, report=report)
    if pool is not None:
        pool.close()  # the workers' memory is better spent on the steps that follow
    timings["tokenize"] = time.perf_counter() - clock

    clock = time.perf_counter()
    lexical, sentence_tokens = _lexical(entries, settings)
    timings["lexical"] = time.perf_counter() - clock

    clock = time.perf_counter()
    vectors, sentence_vectors, model, dense_note = _embed(
        chunks, documents, settings, embedder, say
    )
    timings["embed"] = time.perf_counter() - clock

    built_at = datetime.now(UTC)
    build_id = _new_build_id(settings.index, f"{built_at:%Y%m%d-%H%M%S}-{fingerprint[:6]}")
    clock = time.perf_counter()
    tmp = settings.index / f".tmp-{build_id}"
    final = settings.index / f"gen-{build_id}"
    collection: str | None = None
    if settings.backend == "milvus":
        from .backends import milvus

        collection = milvus.collection_name(settings.milvus_alias, build_id)
    try:
        say(f"writing generation {build_id}")
        generation = _write(
            tmp,
            settings=settings,
            build_id=build_id,
            built_at=built_at.isoformat(timespec="seconds"),
            fingerprint=fingerprint,
            corpus_hashes=corpus.source_hashes,
            documents=corpus.documents,
            chunks=chunks,
            sentence_tokens=sentence_tokens,
            terms=terms,
            tokenizer=tokenizer,
            dictionary=dictionary,
            collection=collection,
            lexical=lexical,
            vectors=vectors,
            sentence_vectors=sentence_vectors,
            model=model,
            dense_note=dense_note,
            repairs=corpus.repairs,
            warnings=corpus.warnings,
            timings=timings,
            cache_entries=entries,
            previous_cache=cache,
        )
        timings["write"] = time.perf_counter() - clock
        clock = time.perf_counter()
        # Release the build's copy before the reader's copy is loaded: holding both doubled
        # the peak memory of a large build.
        n_documents, n_chunks = len(corpus.documents), len(chunks)
        repairs, warnings = corpus.repairs, corpus.warnings
        del corpus, documents, chunks, sentence_tokens, lexical, vectors, sentence_vectors
        del entries, cache
        gc.collect()
        # Load the new generation back exactly as a reader would before anyone can see it.
        say(f"verifying {build_id}")
        loaded = store.load_generation(tmp)
        if collection is not None:
            clock_milvus = time.perf_counter()
            say(f"writing {n_chunks} passages into Milvus collection {collection}")
            milvus.publish(settings, loaded, collection, say)
            timings["milvus"] = time.perf_counter() - clock_milvus
        del loaded
        tmp.rename(final)
        say(f"switching to {build_id}")
        if collection is not None:
            milvus.switch_alias(settings, collection)
            collection = None  # published: a later failure must not drop it
        store.switch_to(settings.index, final)
        timings["verify_switch"] = time.perf_counter() - clock
    except OSError as exc:
        _discard(settings.index, tmp, final, settings, collection)
        raise RagError(
            f"writing the index failed ({exc.strerror or exc}); the previous index is still "
            "in use. Free disk space or fix permissions, then run `rag build` again"
        ) from None
    except RagError as exc:
        _discard(settings.index, tmp, final, settings, collection)
        if "Milvus" in str(exc):
            raise RagError(
                f"{exc}; the previous index and the Milvus alias are still in use. Check that "
                "Milvus is running and reachable, then run `rag build` again"
            ) from None
        raise RagError(
            f"the new index failed its checks after writing ({exc}); the previous index is "
            "still in use. Check free disk space, then run `rag build` again"
        ) from None
    except BaseException:
        _discard(settings.index, tmp, final, settings, collection)
        raise
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    del generation
    return BuildReport(
        up_to_date=False,
        build_id=build_id,
        generation=final,
        documents=n_documents,
        chunks=n_chunks,
        model=model,
        dense_note=dense_note,
        repairs=repairs,
        warnings=warnings,
        timings=timings,
        size_bytes=size,
    )


def _new_build_id(index: Path, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… when a generation of that id exists (two builds in
    one second): a build must never rename itself onto an existing generation."""
    build_id, n = base, 1
    while (index / f"gen-{build_id}").exists() or (index / f".tmp-{build_id}").exists():
        n += 1
        build_id = f"{base}-{n}"
    return build_id


def _discard(
    index: Path,
    tmp: Path,
    final: Path,
    settings: Settings | None = None,
    collection: str | None = None,
) -> None:
    """Remove a failed build's files and Milvus collection; never the generation
    ``CURRENT`` names nor the collection the alias names."""
    if settings is not None and collection is not None:
        from .backends import milvus

        milvus.discard(settings, collection)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        serving = store.current_generation(index)
    except RagError:
        serving = None
    if final.exists() and serving != final:
        shutil.rmtree(final, ignore_errors=True)


def _file_entries(corpus: Corpus) -> dict[str, FileEntry]:
    """One cache entry per source file, with its documents (counts and tokens come later)."""
    entries = {rel: FileEntry(key, []) for rel, key in corpus.file_keys.items()}
    for doc in corpus.documents:
        entries[doc.source].documents.append(doc)
    return entries


def _chunks(settings: Settings, entries: dict[str, FileEntry], cache: BuildCache) -> list[Chunk]:
    """Passages of every file in corpus order, and the citation of each: an unchanged
    file's from the cache when the passage settings (and the citation code) are the same
    (chunking and citing are deterministic), the others chunked and cited."""
    chunk_key = buildcache.token_key(
        {}, {"size": settings.chunk_size, "overlap": settings.chunk_overlap, "v": PIPELINE_VERSION}
    )
    cite_key = _code_digest("citations.py")
    out: list[Chunk] = []
    for rel, entry in entries.items():
        chunks = cache.chunks(rel, entry.key, chunk_key)
        citations = cache.citations(rel, entry.key, chunk_key, cite_key)
        if chunks is None:
            chunks = chunk_documents(
                entry.documents, size=settings.chunk_size, overlap=settings.chunk_overlap
            )
            citations = None
        if citations is None or len(citations) != len(chunks):
            by_id = {doc.doc_id: doc for doc in entry.documents}
            citations = [cite(by_id[c.doc_id], c.paragraphs[0]) for c in chunks]
        entry.chunk_key, entry.chunks = chunk_key, chunks
        entry.cite_key, entry.citations = cite_key, citations
        out.extend(chunks)
    return out


def _terms(
    corpus: Corpus,
    entries: dict[str, FileEntry],
    cache: BuildCache,
    pool: WorkerPool | None,
    report: Progress,
    counter: Tokenizer | None = None,
) -> list[str]:
    """Key terms of the corpus: per-file counts (unchanged files' from the cache), summed.

    ``counter`` is the tokenizer without user terms that counts (built when not given)."""
    from .tokenization import Tokenizer, add_counts, count_terms, discover_terms, terms_from_counts

    counter = counter if counter is not None else Tokenizer(stopwords=None)
    if sum(len(d.text) for d in corpus.documents) > _WHOLE_CORPUS_CHARS:
        return discover_terms((d.text for d in corpus.documents), tokenizer=counter, pool=pool)
    for done, (rel, entry) in enumerate(entries.items(), start=1):
        counts = cache.counts(rel, entry.key)
        if counts is None:
            counts = count_terms([d.text for d in entry.documents], tokenizer=counter, pool=pool)
        entry.counts = counts
        report("counting", done, len(entries))
    parts = [e.counts for e in entries.values() if e.counts is not None]
    return terms_from_counts(add_counts(parts), tokenizer=counter) if parts else []


def _reuse_blocks(
    entries: dict[str, FileEntry], cache: BuildCache, token_key: str
) -> list[FileEntry]:
    """Give each unchanged file its cached lexical block under the same token key; returns
    the files left to tokenize."""
    todo: list[FileEntry] = []
    for rel, entry in entries.items():
        entry.token_key, entry.block = token_key, cache.block(rel, entry.key, token_key)
        if entry.block is None:
            todo.append(entry)
    return todo


def _tokenize(
    todo: list[FileEntry],
    tokenizer: Any,
    pool: WorkerPool | None,
    *,
    bigrams: bool = True,
    report: Progress | None = None,
) -> None:
    """Give each of these files its lexical block (:class:`rag.postings.FileBlock`).

    Sentences are tokenized once (all new files' together, spread over the workers); a
    passage's words are its document title's and section path's tokens, which carry the
    topic the passage often omits, then its sentences' tokens. Its bigram field is the
    character bigrams of its sentences, then of its title and section path.
    """
    from .ngrams import passage_bigrams
    from .postings import FileBlock

    texts: list[str] = []
    for entry in todo:
        by_id = {d.doc_id: d for d in entry.documents}
        for chunk in entry.chunks or ():
            text = by_id[chunk.doc_id].text
            texts.extend(text[s:e] for s, e in chunk.sentences)
    flat: list[list[str]] = []
    # About 20 batches, for progress; each batch is still spread over the workers.
    batch = max(2000, -(-len(texts) // 20))
    for start in range(0, len(texts), batch):
        flat.extend(tokenizer.tokenize_many(texts[start : start + batch], pool=pool))
        if report is not None:
            report("tokenizing", min(len(texts), start + batch), len(texts))
    context_cache: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    bigram_context: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    pos = 0
    for entry in todo:
        by_id = {d.doc_id: d for d in entry.documents}
        passages: list[tuple[list[str], list[list[str]]]] = []
        grams: list[list[str]] = []
        for chunk in entry.chunks or ():
            key = (chunk.doc_title, chunk.section)
            words = context_cache.get(key)
            if words is None:
                words = tokenizer.tokenize(" ".join((chunk.doc_title, *chunk.section)))
                context_cache[key] = words
            passages.append((words, flat[pos : pos + len(chunk.sentences)]))
            pos += len(chunk.sentences)
            if bigrams:
                context = bigram_context.get(key)
                if context is None:
                    context = bigram_context[key] = passage_bigrams(key[:1] + key[1])
                text = by_id[chunk.doc_id].text
                grams.append([*passage_bigrams(text[s:e] for s, e in chunk.sentences), *context])
        entry.block = FileBlock.build(passages, grams if bigrams else None)
        del passages, grams


def _lexical(
    entries: dict[str, FileEntry], settings: Settings
) -> tuple[LexicalIndex, tuple[np.ndarray, np.ndarray]]:
    """BM25 over the files' blocks put together in corpus order, and the corpus's sentence
    token ids (ids of the word field's vocabulary) with their row pointer."""
    from .lexical import LexicalIndex
    from .postings import assemble

    blocks = [e.block for e in entries.values() if e.block is not None]
    assert len(blocks) == len(entries)
    words = assemble([b.words for b in blocks])
    lexical = LexicalIndex.from_postings(
        words.rows, words.cols, words.tf, words.lengths, words.vocab
    )
    sentence_ids = [remap[b.sentence_ids] for remap, b in zip(words.remaps, blocks, strict=True)]
    tokens = (
        np.concatenate(sentence_ids).astype(np.int32) if sentence_ids else np.empty(0, np.int32)
    )
    lengths = [b.sentence_lengths for b in blocks]
    indptr = np.zeros(sum(len(x) for x in lengths) + 1, dtype=np.int64)
    if len(indptr) > 1:
        np.cumsum(np.concatenate(lengths), out=indptr[1:])
    del words, sentence_ids
    if settings.bigram_weight > 0:
        grams = assemble([b.bigrams for b in blocks if b.bigrams is not None])
        field = LexicalIndex.from_postings(
            grams.rows, grams.cols, grams.tf, grams.lengths, grams.vocab
        )
        lexical = lexical.with_field(field, settings.bigram_weight, BIGRAM_FIELD)
    return lexical, (tokens, indptr)


def _bigram_scheme() -> str:
    """What the passages' bigrams depend on: the code of rag.ngrams and rag.textnorm (and
    the Traditional → Simplified tables), so a change to either invalidates cached blocks."""
    from importlib import metadata

    opencc = ""
    with contextlib.suppress(metadata.PackageNotFoundError):
        opencc = metadata.version("opencc")
    return _code_digest("ngrams.py", "textnorm.py", extra=opencc)


def _code_digest(*modules: str, extra: str = "") -> str:
    """Digest of rag modules' source: what a cached result computed by them depends on
    (a change to the code, in this tree or another version, makes it stale)."""
    digest = hashlib.sha256(extra.encode())
    for name in modules:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


def _embed(
    chunks: list[Chunk],
    documents: dict[str, Document],
    settings: Settings,
    embedder: Embedder | None,
    say: Log,
) -> tuple[Any, Any, str | None, str]:
    """Vectors of every passage (FAISS) and of every sentence (answer selection), or
    (None, None, None, why) when no model can be had."""
    if embedder is None:
        if not settings.dense_enabled:
            return None, None, None, "dense retrieval turned off (model: none)"
        from .embedding import load_embedder

        try:
            embedder = load_embedder(settings.model, hub_timeout=settings.hub_timeout)
        except ModelUnavailableError as exc:
            if settings.require_dense:
                raise
            say(f"warning: {exc}")
            say("warning: building the lexical (keyword) index only")
            return None, None, None, str(exc)
    from .vectors import SentenceVectors, VectorIndex, mean_rows

    # Sentences are embedded once; a passage's vector is the normalised mean of its
    # sentences' vectors. On CMRC 2018 trial that retrieves as well as embedding each
    # passage again (dense document recall@1 0.7874 against 0.7864) at half the cost.
    counts = [len(c.sentences) for c in chunks]
    texts = [documents[c.doc_id].text[s:e] for c in chunks for s, e in c.sentences]
    say(f"embedding {len(texts)} sentences of {len(chunks)} passages with {embedder.name}")
    matrix = embedder.embed(texts, batch_size=settings.embed_batch_size, progress=len(texts) > 256)
    del texts
    passages = mean_rows(matrix, counts)
    empty = [i for i, n in enumerate(counts) if n == 0]
    if empty:  # a passage without sentence spans is embedded whole
        passages[empty] = embedder.embed([chunks[i].text for i in empty])
    index = VectorIndex.build(passages, ann_threshold=settings.ann_threshold)
    return index, SentenceVectors.build(matrix, counts), embedder.name, ""


_write_checked = store.write_checked


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")


def _write(tmp: Path, **kw: Any) -> Path:
    settings: Settings = kw["settings"]
    tmp.mkdir(parents=True)
    # Files written (and fsynced) by write_checked, and links to the serving generation's
    # synced files, need no second fsync: only the directories and the other files do.
    synced: set[Path] = set()

    def write(path: Path, blocks: Iterable[bytes]) -> None:
        _write_checked(path, blocks)
        synced.add(path)

    tokens, indptr = kw["sentence_tokens"]
    citations = [c for e in kw["cache_entries"].values() for c in e.citations]
    write_corpus(
        tmp / store.CORPUS,
        kw["documents"],
        kw["chunks"],
        tokens,
        indptr,
        citations=citations,
        write=write,
    )
    write(tmp / store.TERMS, ["\n".join(kw["terms"]).encode("utf-8")])
    synced.update(
        _write_dictionary(tmp / store.TOKENIZER, kw["tokenizer"], kw["dictionary"], write)
    )
    kw["lexical"].save(tmp / store.LEXICAL)
    vectors = kw["vectors"]
    if vectors is not None:
        vectors.save(tmp / store.VECTORS)
    sentence_vectors = kw["sentence_vectors"]
    if sentence_vectors is not None:
        from .vectors import SENTENCE_VECTORS

        sentence_vectors.save(tmp / SENTENCE_VECTORS)
    synced.update(buildcache.write(tmp, kw["cache_entries"], write, kw["previous_cache"]))
    store.fsync_tree(tmp, skip=synced)
    manifest = {
        "format_version": store.FORMAT_VERSION,
        "pipeline_version": PIPELINE_VERSION,
        "build_id": kw["build_id"],
        "built_at": kw["built_at"],
        "fingerprint": kw["fingerprint"],
        "source_root": str(settings.source),
        "sources": kw["corpus_hashes"],
        "settings": {
            "chunk_size": settings.chunk_size,
            "chunk_overlap": settings.chunk_overlap,
            "ann_threshold": settings.ann_threshold,
        },
        "tokenizer": _tokenizer_meta(kw["terms"]),
        "selection": _selection_meta(),
        "dense": {
            "model": kw["model"],
            "dimension": vectors.dimension if vectors is not None else None,
            "kind": vectors.kind if vectors is not None else None,
            # One float16 unit vector per sentence (rag.vectors.SentenceVectors).
            "sentence_vectors": len(sentence_vectors) if sentence_vectors is not None else None,
            "note": kw["dense_note"],
        },
        "backend": (
            {"kind": "milvus", "collection": kw["collection"], "alias": settings.milvus_alias}
            if kw["collection"]
            else {"kind": "local"}
        ),
        "counts": {
            "documents": len(kw["documents"]),
            "chunks": len(kw["chunks"]),
            "vocabulary": kw["lexical"].vocab_size,
            "terms": len(kw["terms"]),
        },
        "repairs": [
            {"kind": r.kind, "source": r.source, "lines": list(r.lines), "detail": r.detail}
            for r in kw["repairs"]
        ],
        "warnings": list(kw["warnings"]),
        "timings": {k: round(v, 3) for k, v in kw["timings"].items()},
        "files": store.checksum_tree(tmp),
    }
    sealed = integrity.seal(manifest, integrity.index_key())  # its own checksum (+ HMAC)
    write(tmp / store.MANIFEST, [_json_bytes(sealed)])
    store.fsync_tree(tmp, skip=synced)
    return tmp


def _write_dictionary(
    target: Path,
    tokenizer: Any,
    origin: Path | None,
    write: Callable[[Path, Iterable[bytes]], None],
) -> list[Path]:
    """The tokenizer's dictionary files: hard links to the serving generation's when the
    tokenizer was read from them (checked against its manifest by the cache), else
    written. Returns the links made."""
    from .tokenization import DICTIONARY_FILES

    if origin is None:
        tokenizer.save(target, write)
        return []
    target.mkdir(parents=True)
    linked = []
    for name in DICTIONARY_FILES:
        if buildcache.link(origin / name, target / name):
            linked.append(target / name)
        else:
            write(target / name, [(origin / name).read_bytes()])
    return linked


def _selection_meta() -> dict[str, Any]:
    """Which fitted selection model answers from this index (``rag/data/selection_model.json``,
    read as data: the answering stage is downstream of the build)."""
    from importlib import resources

    try:
        text = resources.files("rag").joinpath("data", "selection_model.json").read_text("utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {"version": None}
    return {"version": data.get("version"), "kind": data.get("kind"),
            "trained_on": data.get("trained_on")}  # fmt: skip


def _tokenizer_meta(terms: list[str]) -> dict[str, Any]:
    import jieba

    from . import tokenization

    return {
        "jieba": jieba.__version__,
        "scheme": getattr(tokenization, "SCHEME", "jieba"),
        "user_terms": len(terms),
    }


__all__ = ["BuildReport", "build_index"]
