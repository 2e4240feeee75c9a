"""Lexical ``search()`` (or ``answer()``, ``--call answer``) latency of two code trees,
interleaved: cold (passages read for the first time) and warm (the same questions again,
passages cached; answers always computed, the answer cache off).

Each run is a fresh process that loads one index with one tree's ``rag`` and times 1,000
CMRC 2018 dev questions twice; runs alternate between the trees, so both see the same load.
Times are CPU time of the process (``time.process_time``), which another job on the cores
disturbs less than wall time; p50 / p95 in milliseconds.

Usage (the reference tree is a ``git worktree`` of an older commit with its own index):
    git worktree add --detach /tmp/ref 8ebbde2
    .venv/bin/python benchmarks/search_ab.py --a . /tmp/idx-new --b /tmp/ref /tmp/idx-old --runs 3
    .venv/bin/python benchmarks/search_ab.py --call answer --a . /tmp/idx --b /tmp/ref /tmp/idx
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from shared_data import BENCH

CMRC = BENCH / "cmrc2018_dev"


def child(index: str, n: int, call: str = "search") -> None:
    import numpy as np

    import rag

    questions = [json.loads(line)["question"] for line in (CMRC / "qa.jsonl").open()]
    rng = np.random.default_rng(1)
    sample = [questions[i] for i in rng.choice(len(questions), n, replace=False)]
    # answer(): every answer computed (a repeated question would come from the answer cache).
    assistant = rag.load(index, model="none", mode="lexical", answer_cache=0)
    ask = assistant.search if call == "search" else assistant.answer
    for q in sample[:40]:  # lazy imports and first look-ups
        ask(q, k=5)

    def timed() -> list[float]:
        out = []
        for q in sample:
            t = time.process_time()
            ask(q, k=5)
            out.append((time.process_time() - t) * 1000)
        return sorted(out)

    cold, warm = timed(), timed()
    print(
        json.dumps(
            {
                name: {"p50": round(statistics.median(ms), 3), "p95": round(ms[int(0.95 * n)], 3)}
                for name, ms in (("cold", cold), ("warm", warm))
            }
        )
    )


def run(tree: str, index: str, n: int, call: str = "search") -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(tree).resolve())}
    out = subprocess.run(
        [sys.executable, __file__, "--child", index, "--questions", str(n), "--call", call],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", nargs=2, metavar=("TREE", "INDEX"), help="first tree and index")
    parser.add_argument("--b", nargs=2, metavar=("TREE", "INDEX"), help="second tree and index")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument(
        "--call", choices=("search", "answer"), default="search", help="what to time"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.questions, args.call)
        return
    if not (args.a and args.b):
        parser.error("give --a TREE INDEX and --b TREE INDEX")
    results: dict[str, list[dict]] = {"a": [], "b": []}
    for _ in range(args.runs):
        for name, (tree, index) in (("a", args.a), ("b", args.b)):
            results[name].append(run(tree, index, args.questions, args.call))
            r = results[name][-1]
            print(
                f"{name}: cold p50 {r['cold']['p50']:.3f} p95 {r['cold']['p95']:.3f} | "
                f"warm p50 {r['warm']['p50']:.3f} p95 {r['warm']['p95']:.3f} ms",
                flush=True,
            )
    print(f"load average {os.getloadavg()[0]:.1f}")
    for phase in ("cold", "warm"):
        a = statistics.median(r[phase]["p50"] for r in results["a"])
        b = statistics.median(r[phase]["p50"] for r in results["b"])
        print(f"{phase}: median p50 a {a:.3f} ms, b {b:.3f} ms, a/b {a / b:.2f}")


if __name__ == "__main__":
    main()
