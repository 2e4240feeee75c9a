"""The Milvus backend against the local one: same generation, same questions, same metrics.

Builds CMRC 2018 dev (``/work/shared/bench/cmrc2018_dev``) with ``backend="milvus"`` into
Milvus Lite (or ``--uri http://host:19530``), which writes the local generation *and* its
collection, then answers every question twice, through the local backend and through
Milvus, and reports the ``rag eval`` metrics of both, how often the top-10 passage rankings
are identical, the build's Milvus phase (passages/s) and the collection's size.

Usage::

    .venv/bin/python benchmarks/milvus_parity.py [--model none|DIR] [--uri URI] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.evaluation import evaluate, read_qa  # noqa: E402

CMRC = Path("/work/shared/bench/cmrc2018_dev")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="none", help="embedding model, or none")
    parser.add_argument("--uri", default="", help="Milvus URI (default: Milvus Lite file)")
    parser.add_argument("--work", default="/tmp/rag-milvus-parity")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--json")
    args = parser.parse_args()
    index = Path(args.work) / "index"
    common = {"model": args.model, "milvus_uri": args.uri or str(Path(args.work) / "milvus.db")}
    started = time.perf_counter()
    report = rag.build_index(CMRC / "corpus.jsonl", index, backend="milvus", force=True, **common)
    build_s = time.perf_counter() - started
    milvus_s = report.timings.get("milvus", 0.0)
    items = read_qa(CMRC / "qa.jsonl")[: args.limit]
    modes = ["lexical"] + (["dense", "hybrid"] if report.model else [])
    out: dict[str, object] = {
        "chunks": report.chunks,
        "build_s": round(build_s, 1),
        "milvus_write_s": round(milvus_s, 1),
        "milvus_passages_per_s": round(report.chunks / milvus_s, 1) if milvus_s else None,
        "uri": common["milvus_uri"],
    }
    lite = Path(common["milvus_uri"])
    if lite.exists():
        out["milvus_db_bytes"] = sum(
            p.stat().st_size for p in ([lite] if lite.is_file() else lite.rglob("*")) if p.is_file()
        )
    assistants = {
        b: rag.load(index, backend=b, answer_cache=0, **common) for b in ("local", "milvus")
    }
    for mode in modes:
        for backend, assistant in assistants.items():
            assistant.answer(items[0].question, mode=mode)  # warm-up
            r = evaluate(assistant, items, k=10, mode=mode)
            out[f"{backend}/{mode}"] = r.to_dict()
            print(
                f"{backend:6} {mode:7} R@1 {r.recall_at[1]:.4f} answer@1 {r.answer_at_1:.4f} "
                f"verbatim {r.verbatim_rate:.4f} p50 {r.latency_ms_p50:.2f} ms "
                f"p95 {r.latency_ms_p95:.2f} ms",
                flush=True,
            )
        same = 0
        for item in items:
            a, b = (
                [h.chunk_id for h in x.search(item.question, k=10, mode=mode)]
                for x in assistants.values()
            )
            same += a == b
        out[f"identical_top10/{mode}"] = same / len(items)
        print(f"identical top-10 rankings ({mode}): {same}/{len(items)}", flush=True)
    out["load_average"] = os.getloadavg()
    print(json.dumps({k: v for k, v in out.items() if "/" not in k}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
