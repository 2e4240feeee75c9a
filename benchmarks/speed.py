"""Query speed side by side, in one process: our search() / answer() against two BM25 peers.

On the same 848 CMRC 2018 dev documents and the same 3,219 questions
(``/work/shared/bench/cmrc2018_dev``, read in place):

* ``rag search()``: ``rag.load(index).search(q, k=5)``, the index built from ``corpus.jsonl``
  with ``model="none"`` (BM25 over ~200-character passages, 2,800 of them);
* ``rag answer()``: ``rag.load(index).answer(q)``: retrieval, quote selection, verbatim check,
  refusal decision, Markdown;
* ``LangChain``: ``BM25Retriever.from_documents(..., preprocess_func=jieba.lcut, k=5)``, the
  code of ``../shared/bench/peer_langchain.py`` (whole documents, ``rank_bm25`` underneath);
* ``rank_bm25``: ``BM25Okapi`` over ``jieba.lcut`` of each document, queried directly with
  ``get_scores(jieba.lcut(q))`` and the top 5 by ``argsort`` (what ``get_top_n`` does).

With the default embedder (``use-multilingual-v3``) the same corpus is also indexed with
vectors (or ``--dense-index DIR`` reuses such an index), and four more systems join the same
run: ``search()`` and ``answer()`` of that index in lexical mode and in hybrid mode (the
question embedded by USE, ~5 ms). Each of them has its own assistant, so no system reuses a
question vector another one computed. ``--model none`` leaves them out.

Every timing is the question string in, the top 5 out (tokenization included); each system
answers 50 questions before timing starts. The systems take turns in a rotating order, so a
burst of load from other processes hits all of them alike, with two schedules in the same
run: turns of one question (every call starts with CPU caches full of another system's data,
which weighs on a 0.1 ms call far more than on a 2 ms one) and turns of ``--block``
questions (100 by default: each system runs as a service answering a stream of questions).
Ratios are the peer's median (or p95) over ours. Document recall@1 / @5 is reported for each
(for ours: the documents of the top 5 passages, in order).

Usage::

    .venv/bin/python benchmarks/speed.py [--json benchmarks/results/speed.json]
        [--model none | --dense-index DIR]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CMRC = Path("/work/shared/bench/cmrc2018_dev")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(q * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(CMRC), help="corpus.jsonl + qa.jsonl directory")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument(
        "--block",
        type=int,
        default=100,
        help="questions per turn in the second schedule (the first alternates every question)",
    )
    parser.add_argument(
        "--model",
        default="use-multilingual-v3",
        help="embedder of the dense systems; none leaves them out",
    )
    parser.add_argument("--dense-index", help="reuse this index built with --model")
    args = parser.parse_args()
    data = Path(args.data)

    import jieba
    from langchain_community.retrievers import BM25Retriever
    from langchain_core.documents import Document
    from rank_bm25 import BM25Okapi

    import rag

    jieba.setLogLevel(60)
    with open(data / "corpus.jsonl", encoding="utf-8") as fh:
        docs = [json.loads(line) for line in fh]
    with open(data / "qa.jsonl", encoding="utf-8") as fh:
        qas = [json.loads(line) for line in fh][: args.limit]
    jieba.initialize()  # the peers' global dictionary, loaded outside the build timings

    builds: dict[str, float] = {}
    tmp = tempfile.TemporaryDirectory(prefix="rag-speed-")
    t = time.perf_counter()
    rag.build_index(data / "corpus.jsonl", Path(tmp.name) / "index", model="none")
    builds["rag (build_index, 2 processes)"] = time.perf_counter() - t
    t = time.perf_counter()
    assistant = rag.load(Path(tmp.name) / "index", model="none", mode="lexical", answer_cache=0)
    builds["rag (load)"] = time.perf_counter() - t

    dense: dict[str, Any] = {}
    if args.model.lower() != "none":
        dense_index = Path(args.dense_index or Path(tmp.name) / "dense")
        if not (dense_index / "CURRENT").exists():
            t = time.perf_counter()
            rag.build_index(data / "corpus.jsonl", dense_index, model=args.model)
            builds[f"rag (build_index, {args.model})"] = time.perf_counter() - t
        for label in ("search lexical", "answer lexical", "search hybrid", "answer hybrid"):
            t = time.perf_counter()
            dense[label] = rag.load(dense_index, model=args.model, answer_cache=0)
            builds[f"rag (load, {args.model}, {label})"] = time.perf_counter() - t

    t = time.perf_counter()
    retriever = BM25Retriever.from_documents(
        [Document(page_content=d["text"], metadata={"id": d["id"]}) for d in docs],
        preprocess_func=jieba.lcut,
        k=5,
    )
    builds["LangChain BM25Retriever"] = time.perf_counter() - t

    t = time.perf_counter()
    bm25 = BM25Okapi([jieba.lcut(d["text"]) for d in docs])
    builds["rank_bm25 BM25Okapi"] = time.perf_counter() - t
    doc_ids = [d["id"] for d in docs]

    def ours_search(q: str) -> list[str]:
        return list(dict.fromkeys(h.doc_id for h in assistant.search(q, k=5)))

    def ours_answer(q: str) -> list[str]:
        return list(dict.fromkeys(h.doc_id for h in assistant.answer(q, k=5).hits))

    def langchain(q: str) -> list[str]:
        return [h.metadata["id"] for h in retriever.invoke(q)]

    def rank_bm25(q: str) -> list[str]:
        scores = bm25.get_scores(jieba.lcut(q))
        return [doc_ids[i] for i in np.argsort(scores)[::-1][:5]]

    systems: dict[str, Callable[[str], list[str]]] = {
        "rag search()": ours_search,
        "rag answer()": ours_answer,
        "LangChain BM25Retriever+jieba": langchain,
        "rank_bm25 BM25Okapi+jieba": rank_bm25,
    }
    for label, other in dense.items():
        kind, mode = label.split()
        if kind == "search":

            def fn(q: str, a: Any = other, m: str = mode) -> list[str]:
                return list(dict.fromkeys(h.doc_id for h in a.search(q, k=5, mode=m)))
        else:

            def fn(q: str, a: Any = other, m: str = mode) -> list[str]:
                return list(dict.fromkeys(h.doc_id for h in a.answer(q, k=5, mode=m).hits))

        systems[f"rag {kind}() [{args.model}, {mode}]"] = fn
    for q in qas[:50]:
        for fn in systems.values():
            fn(q["question"])

    schedules = {}
    for block in sorted({1, args.block}):
        schedules[f"block {block}"] = run_schedule(systems, qas, block)
    print(f"{len(docs)} documents, {len(qas)} questions")
    print("\nbuild / load (s): " + ", ".join(f"{k} {v:.2f}" for k, v in builds.items()))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "documents": len(docs),
                    "questions": len(qas),
                    "schedules": schedules,
                    "build_s": {k: round(v, 3) for k, v in builds.items()},
                },
                ensure_ascii=False,
                indent=1,
            )
            + "\n"
        )
    tmp.cleanup()


def run_schedule(
    systems: dict[str, Callable[[str], list[str]]], qas: list[dict[str, Any]], block: int
) -> dict[str, Any]:
    """Time every system on every question, ``block`` questions at a time per system.

    The systems take turns block by block in a rotating order, so a burst of load from other
    processes hits all of them alike. ``block=1`` alternates systems question by question:
    each call then finds the CPU caches full of the previous system's data, which costs a
    0.1 ms call relatively far more than a 2 ms one. Larger blocks time each system the way
    a service answering a stream of questions runs it.
    """
    names = list(systems)
    lat: dict[str, list[float]] = {n: [] for n in names}
    r1 = dict.fromkeys(names, 0)
    r5 = dict.fromkeys(names, 0)
    load_before = os.getloadavg()
    gc.collect()
    for b, start in enumerate(range(0, len(qas), block)):
        order = names[b % len(names) :] + names[: b % len(names)]
        for name in order:
            fn = systems[name]
            for q in qas[start : start + block]:
                t = time.perf_counter()
                ids = fn(q["question"])
                lat[name].append((time.perf_counter() - t) * 1000)
                r1[name] += ids[:1] == [q["doc_id"]]
                r5[name] += q["doc_id"] in ids[:5]
    load_after = os.getloadavg()

    n = len(qas)
    ours = {"median": statistics.median(lat["rag search()"]), "p95": pct(lat["rag search()"], 0.95)}
    rows = []
    for name in names:
        med, p95 = statistics.median(lat[name]), pct(lat[name], 0.95)
        rows.append(
            {
                "system": name,
                "recall@1": round(r1[name] / n, 4),
                "recall@5": round(r5[name] / n, 4),
                "ms_p50": round(med, 3),
                "ms_p95": round(p95, 3),
                "ratio_p50_vs_search": round(med / ours["median"], 1),
                "ratio_p95_vs_search": round(p95 / ours["p95"], 1),
            }
        )
    peers = [n for n in names if not n.startswith("rag ")]
    answer_ratio = {
        peer: round(statistics.median(lat[peer]) / statistics.median(lat["rag answer()"]), 1)
        for peer in peers
    }
    print(f"\n{block} question(s) per turn; load average {load_before} -> {load_after}")
    print("| system | recall@1 | recall@5 | median ms | p95 ms | median / ours | p95 / ours |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['system']} | {r['recall@1']:.3f} | {r['recall@5']:.3f} | {r['ms_p50']:.3f} "
            f"| {r['ms_p95']:.3f} | {r['ratio_p50_vs_search']}× | {r['ratio_p95_vs_search']}× |"
        )
    print(f"peer median / our answer() median: {answer_ratio}")
    return {
        "block": block,
        "loadavg": [list(load_before), list(load_after)],
        "rows": rows,
        "peer_over_answer_p50": answer_ratio,
    }


if __name__ == "__main__":
    main()
