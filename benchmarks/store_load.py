"""Load time and memory of the columnar store at size, from a generation repeated N times.

Building 10^6 passages takes ~8 min on an idle 2-core machine and far longer on a busy one.
What ``rag.load`` costs depends on the bytes it hashes and the arrays it checks, not on how
the build produced them, so this script writes a generation whose corpus and BM25 columns
are those of an existing generation repeated ``--times`` times (documents and passages get
distinct ids; postings are copied, so each token has ``times`` times the postings, which
makes the BM25 arrays larger than a real corpus of that size: a pessimistic stand-in),
re-checksums it as a build would, then loads it in a fresh process and reports load time,
resident memory after loading and after 200 searches, and search latency.

Usage::

    .venv/bin/python benchmarks/store_load.py /tmp/rag-scale/index-10000 --times 100
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import integrity, store  # noqa: E402

CMRC = Path("/work/shared/bench/cmrc2018_dev")


def _strings(src: Path, dst: Path, name: str, times: int, suffix: bool) -> None:
    blob = (src / f"{name}.utf8").read_bytes()
    offsets = np.load(src / f"{name}.offsets.npy")
    if not suffix:
        parts = [blob] * times
        offs = [offsets[:-1] + k * len(blob) for k in range(times)] + [[len(blob) * times]]
    else:  # distinct ids: "<id>#k"
        items = [blob[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        parts, lengths = [], []
        for k in range(times):
            tail = f"#{k}".encode() if k else b""
            for item in items:
                parts.append(item + tail)
                lengths.append(len(item) + len(tail))
        offs = [np.concatenate([[0], np.cumsum(lengths)])]
    (dst / f"{name}.utf8").write_bytes(b"".join(parts))
    np.save(dst / f"{name}.offsets.npy", np.concatenate(offs).astype(np.int64))


def _csr(src: Path, dst: Path, name: str, times: int) -> None:
    values = np.load(src / f"{name}.npy")
    indptr = np.load(src / f"{name}.indptr.npy")
    np.save(dst / f"{name}.npy", np.concatenate([values] * times))
    total = indptr[-1]
    ptr = [indptr[:-1] + k * total for k in range(times)] + [[total * times]]
    np.save(dst / f"{name}.indptr.npy", np.concatenate(ptr).astype(np.int64))


def replicate(source_gen: Path, target: Path, times: int) -> Path:
    gen = target / source_gen.name
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source_gen, gen)
    src, dst = source_gen / store.CORPUS, gen / store.CORPUS
    n_docs = len(np.load(src / "doc_ids.offsets.npy")) - 1
    text_bytes = (src / "doc_text.utf8").stat().st_size
    _strings(src, dst, "doc_text", times, suffix=False)
    _strings(src, dst, "doc_meta", times, suffix=False)
    for name in ("doc_kind", "doc_title", "doc_subtitle", "doc_title_key"):  # the catalogue
        _strings(src, dst, name, times, suffix=False)
    _strings(src, dst, "doc_ids", times, suffix=True)
    _strings(src, dst, "chunk_ids", times, suffix=True)
    _strings(src, dst, "chunk_cite", times, suffix=False)
    chunk_doc = np.load(src / "chunk_doc.npy")
    np.save(dst / "chunk_doc.npy", np.concatenate([chunk_doc + k * n_docs for k in range(times)]))
    span = np.load(src / "chunk_span.npy")
    shift = np.array([0, 0, text_bytes, text_bytes], dtype=np.int64)
    np.save(dst / "chunk_span.npy", np.concatenate([span + k * shift for k in range(times)]))
    np.save(dst / "chunk_section.npy", np.concatenate([np.load(src / "chunk_section.npy")] * times))
    for name in ("chunk_paragraphs", "sentences", "tokens"):
        _csr(src, dst, name, times)
    lex_src, lex_dst = source_gen / store.LEXICAL, gen / store.LEXICAL
    data = np.load(lex_src / "data.csc.index.npy")
    indices = np.load(lex_src / "indices.csc.index.npy")
    indptr = np.load(lex_src / "indptr.csc.index.npy")
    meta = json.loads((lex_src / "meta.json").read_text())
    params = json.loads((lex_src / "params.index.json").read_text())
    p = meta["num_docs"]
    counts = np.diff(indptr)
    col = np.repeat(np.arange(len(counts)), counts)
    order = np.argsort(np.concatenate([col] * times), kind="stable")
    new_indices = np.concatenate([indices + k * p for k in range(times)])[order]
    new_data = np.concatenate([data] * times)[order]
    np.save(lex_dst / "data.csc.index.npy", new_data.astype(np.float32))
    np.save(lex_dst / "indices.csc.index.npy", new_indices.astype(np.int32))
    np.save(lex_dst / "indptr.csc.index.npy", (indptr * times).astype(np.int64))
    meta.update(num_docs=p * times, nnz=len(new_data))
    params.update(num_docs=p * times)
    (lex_dst / "meta.json").write_text(json.dumps(meta))
    (lex_dst / "params.index.json").write_text(json.dumps(params))
    manifest = json.loads((gen / store.MANIFEST).read_text())
    manifest["counts"].update(documents=n_docs * times, chunks=p * times)
    manifest["files"] = store.checksum_tree(gen)
    manifest = integrity.seal(manifest, integrity.index_key())  # as a build seals it
    (gen / store.MANIFEST).write_text(json.dumps(manifest))
    (target / store.CURRENT).write_text(json.dumps({"generation": gen.name}))
    return gen


def child(index: str) -> None:
    import psutil

    import rag

    questions = [json.loads(line)["question"] for line in (CMRC / "qa.jsonl").open()][:220]
    start = time.perf_counter()
    assistant = rag.load(index, model="none", mode="lexical", answer_cache=0)
    load_s = time.perf_counter() - start
    rss_loaded = psutil.Process().memory_info().rss
    start = time.perf_counter()
    assistant.answer(questions[0])
    first = time.perf_counter() - start
    for q in questions[1:20]:
        assistant.answer(q)
    times = []
    for q in questions[20:]:
        t = time.perf_counter()
        assistant.search(q, k=5)
        times.append((time.perf_counter() - t) * 1000)
    print(
        json.dumps(
            {
                "passages": assistant.info.chunks,
                "load_s": round(load_s, 2),
                "rss_loaded_gb": round(rss_loaded / 1024**3, 3),
                "first_answer_s": round(first, 3),
                "rss_after_queries_gb": round(psutil.Process().memory_info().rss / 1024**3, 3),
                "search_ms_p50": round(statistics.median(times), 3),
                "loadavg": os.getloadavg(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("index", nargs="?")
    parser.add_argument("--times", type=int, default=100)
    parser.add_argument("--work", default="/tmp/rag-store-load")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.index is None:
        parser.error("give the index to replicate (or --child INDEX to load one)")
    source_gen = store.current_generation(Path(args.index))
    assert source_gen is not None
    start = time.perf_counter()
    gen = replicate(source_gen, Path(args.work), args.times)
    size = sum(p.stat().st_size for p in gen.rglob("*") if p.is_file())
    print(f"wrote {gen} ({size / 1e9:.2f} GB) in {time.perf_counter() - start:.0f} s", flush=True)
    subprocess.run(["sync"], check=False)
    for _ in range(2):  # the second run reads from the page cache, as a server restart would
        out = subprocess.run(
            [sys.executable, __file__, "--child", args.work], capture_output=True, text=True
        )
        print(out.stdout.strip() or out.stderr[-2000:], flush=True)


if __name__ == "__main__":
    main()
