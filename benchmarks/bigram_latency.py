"""What the character-bigram field costs at query time: ``search()`` and ``answer()`` of a
words-only index against an index of the same corpus with the bigram field, interleaved
question by question in one process (so load from other processes hits both alike).

Both indexes are built here (``--model none``; ``bigram_weight`` 0 and the default) into
``WORK`` unless they exist. Prints p50 / p95 in ms, the ratio, index size and the load
average::

    PYTHONPATH=. .venv/bin/python benchmarks/bigram_latency.py --data ../shared/bench/drcd_dev
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag
from rag.settings import Settings


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="corpus.jsonl + qa.jsonl")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bigram-latency"))
    parser.add_argument("--limit", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    weights = {"words": 0.0, "words+bigrams": Settings.load().bigram_weight}
    assistants, sizes = {}, {}
    for name, weight in weights.items():
        index = args.work / args.data.name / name
        if not (index / "CURRENT").is_file():
            started = time.perf_counter()
            rag.build_index(args.data / "corpus.jsonl", index, model="none", bigram_weight=weight)
            print(f"built {name} in {time.perf_counter() - started:.1f} s", flush=True)
        assistants[name] = rag.load(index, answer_cache=0)  # time the engine, not the cache
        sizes[name] = _size(index)
    questions = [
        json.loads(line)["question"] for line in (args.data / "qa.jsonl").open(encoding="utf-8")
    ][: args.limit]
    for a in assistants.values():  # warm up
        for q in questions[:50]:
            a.search(q, k=5, mode="lexical")
            a.answer(q, mode="lexical")
    times: dict[str, list[float]] = {
        f"{n} {c}": [] for n in assistants for c in ("search", "answer")
    }
    load = [os.getloadavg()[0]]
    for i, q in enumerate(questions):
        order = list(assistants.items())
        if i % 2:
            order.reverse()
        for name, a in order:
            t = time.perf_counter()
            a.search(q, k=5, mode="lexical")
            times[f"{name} search"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            a.answer(q, mode="lexical")
            times[f"{name} answer"].append((time.perf_counter() - t) * 1000)
    load.append(os.getloadavg()[0])
    out: dict[str, Any] = {"questions": len(questions), "load_average": load, "bytes": sizes}
    for key, values in times.items():
        values.sort()
        out[key] = {
            "p50_ms": statistics.median(values),
            "p95_ms": values[int(0.95 * len(values)) - 1],
        }
        print(f"{key:24s} p50 {out[key]['p50_ms']:.3f} ms  p95 {out[key]['p95_ms']:.3f} ms")
    for call in ("search", "answer"):
        ratio = out[f"words+bigrams {call}"]["p50_ms"] / out[f"words {call}"]["p50_ms"]
        out[f"{call}_p50_ratio"] = ratio
        print(f"{call}: with bigrams / words only, p50 {ratio:.2f}x")
    print(f"index bytes: {sizes}; load average {load[0]:.1f} -> {load[1]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
