"""Lexical, dense and hybrid retrieval measured, and the hybrid weight chosen on training data.

For each set an index is built (or reused) with an embedding model (default: the offline
USE multilingual v3, ``use-multilingual-v3``), then, for every question, the lexical and the
dense top 50 passages are ranked once and every fusion is computed from those two lists:
lexical only, dense only, reciprocal rank fusion (k=60) and the min-max normalised weighted
sum ``alpha * lexical + (1 - alpha) * dense`` for alpha in 0.0, 0.05 … 1.0 (what
``rag.retrieval`` does in hybrid mode).

Sets (read in place from ``../shared``, never copied into the repository):

* ``cmrc-trial``: CMRC 2018 trial (256 documents, 1,002 questions), TRAINING: alpha is
  chosen here;
* ``cmrc``: CMRC 2018 dev (848 documents, 3,219 questions), held out;
* ``drcd``: DRCD dev (Traditional script, 1,000 documents, 3,524 questions), held out;
* ``laws``: ``eval/laws_dev.jsonl`` over ``corpora/laws`` (60 laws, 52 answerable
  questions): a hit is a passage holding a gold span (so from the gold article); held out.

Document recall@1 / @5 for CMRC and DRCD (document = its best passage); for laws the share of
questions whose first (first five) passages hold a gold span.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/fusion.py [--sets cmrc-trial,cmrc,drcd,laws]
        [--model use-multilingual-v3] [--work /tmp/fusion] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared_data import BENCH, EVAL, LAWS  # noqa: E402

import rag  # noqa: E402
from rag.retrieval import FUSION_DEPTH, Ranked, _rrf, _weighted  # noqa: E402
from rag.settings import RetrievalMode  # noqa: E402

ALPHAS = [round(a * 0.05, 2) for a in range(21)]


def sets() -> dict[str, tuple[Path, Path, str]]:
    def pair(name: str) -> tuple[Path, Path, str]:
        return BENCH / name / "corpus.jsonl", BENCH / name / "qa.jsonl", "doc"

    return {
        "cmrc-trial": pair("cmrc2018_trial"),
        "cmrc": pair("cmrc2018_dev"),
        "drcd": pair("drcd_dev"),
        "laws": (LAWS, EVAL / "laws_dev.jsonl", "span"),
    }


def rankings(name: str, model: str, work: Path) -> dict[str, Any]:
    """Lexical and dense top-50 passages of every question, with what makes a hit."""
    corpus, qa, kind = sets()[name]
    index = work / f"{name}-{model.replace('/', '_')}"
    build_s = None
    if not (index / "CURRENT").exists():
        clock = time.perf_counter()
        report = rag.build_index(corpus, index, model=model, workers=2)
        build_s = time.perf_counter() - clock
        print(f"{name}: built {report.chunks} passages in {build_s:.1f} s", flush=True)
    assistant = rag.load(index, model=model, answer_cache=0)
    state = assistant._state  # benchmark code: reads the generation the assistant serves
    gen, retriever = state.generation, state.retriever
    items = [json.loads(line) for line in qa.open(encoding="utf-8")]
    if kind == "span":
        items = [it for it in items if it.get("answers")]
    rows = []
    embed_times = []
    for item in items:
        q = item["question"]
        tokens = gen.tokenizer.tokenize(q)
        lex = retriever.rank(tokens, q, FUSION_DEPTH, RetrievalMode.LEXICAL)
        clock = time.perf_counter()
        retriever.query_vector(q)
        embed_times.append(time.perf_counter() - clock)
        dense = retriever.rank(tokens, q, FUSION_DEPTH, RetrievalMode.DENSE)
        rows.append({"item": item, "lex": lex, "dense": dense})
    return {
        "gen": gen,
        "kind": kind,
        "rows": rows,
        "build_s": build_s,
        "manifest_timings": gen.manifest.get("timings", {}),
        "query_embed_ms": 1000 * float(np.median(embed_times)) if embed_times else None,
    }


def ranks(data: dict[str, Any], fuse: Any) -> np.ndarray:
    """Rank (1-based, 0 = not in the top 5) of the first hit for each question."""
    gen, out = data["gen"], []
    for row in data["rows"]:
        ranked: list[Ranked] = fuse(row["lex"], row["dense"])
        item = row["item"]
        if data["kind"] == "doc":
            docs = list(dict.fromkeys(gen.chunks[r.index].doc_id for r in ranked))[:5]
            out.append(docs.index(item["doc_id"]) + 1 if item["doc_id"] in docs else 0)
        else:
            spans = [a for a in item["answers"] if a]
            hit = 0
            for pos, r in enumerate(ranked[:5], 1):
                if any(s in gen.chunks[r.index].text for s in spans):
                    hit = pos
                    break
            out.append(hit)
    return np.array(out)


def recall(r: np.ndarray) -> dict[str, float]:
    return {
        "recall@1": round(float(np.mean(r == 1)), 4),
        "recall@5": round(float(np.mean((r >= 1) & (r <= 5))), 4),
    }


def evaluate(data: dict[str, Any], part: slice = slice(None)) -> dict[str, dict[str, float]]:
    """Recall of every method, over the questions ``part`` selects."""
    k = FUSION_DEPTH
    methods: dict[str, Any] = {
        "lexical": lambda lex, dense: lex,
        "dense": lambda lex, dense: dense,
        "rrf (k=60)": lambda lex, dense: _rrf([lex, dense], k),
    }
    for alpha in ALPHAS:
        methods[f"alpha={alpha:.2f}"] = lambda lex, dense, a=alpha: _weighted(lex, dense, a, k)
    return {name: recall(ranks(data, fuse)[part]) for name, fuse in methods.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="cmrc-trial,cmrc,drcd,laws")
    parser.add_argument("--model", default="use-multilingual-v3")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fusion"))
    parser.add_argument(
        "--train",
        default="cmrc-trial,laws:even",
        help="sets alpha is chosen on (mean recall@1); laws:even = its even-numbered questions",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    data_by_name: dict[str, dict[str, Any]] = {}
    for name in args.sets.split(","):
        data = data_by_name[name] = rankings(name, args.model, args.work)
        results[name] = {
            "questions": len(data["rows"]),
            "build_s": data["build_s"],
            "build_timings": data["manifest_timings"],
            "passages": len(data["gen"].chunks),
            "sentences": sum(len(c.sentences) for c in data["gen"].chunks),
            "query_embed_ms_median": data["query_embed_ms"],
            "methods": evaluate(data),
        }
        m = results[name]["methods"]
        print(f"== {name} ({len(data['rows'])} questions)")
        for method, r in m.items():
            print(f"  {method:12s} recall@1 {r['recall@1']:.4f}  recall@5 {r['recall@5']:.4f}")
    train: list[dict[str, dict[str, float]]] = []
    held_out: dict[str, dict[str, dict[str, float]]] = {}
    for spec in args.train.split(","):
        name, _, half = spec.partition(":")
        if name not in data_by_name:
            continue
        if half:
            even, odd = slice(0, None, 2), slice(1, None, 2)
            train.append(evaluate(data_by_name[name], even if half == "even" else odd))
            held_out[f"{name}:{'odd' if half == 'even' else 'even'}"] = evaluate(
                data_by_name[name], odd if half == "even" else even
            )
        else:
            train.append(results[name]["methods"])
    if train:
        score = {
            a: float(np.mean([t[f"alpha={a:.2f}"]["recall@1"] for t in train])) for a in ALPHAS
        }
        best = max(ALPHAS, key=lambda a: (round(score[a], 6), a))
        results["chosen_alpha"] = {"train": args.train, "alpha": best, "train_recall@1": score}
        print(f"alpha chosen on {args.train}: {best} (mean train recall@1 {score[best]:.4f})")
        trained = {spec.partition(":")[0] for spec in args.train.split(",")}
        report = {n: results[n]["methods"] for n in data_by_name if n not in trained}
        report.update(held_out)
        results["held_out"] = {}
        for name, m in report.items():
            pair = {"lexical": m["lexical"], f"hybrid alpha={best:.2f}": m[f"alpha={best:.2f}"]}
            results["held_out"][name] = pair
            print(
                f"  held out {name}: lexical {m['lexical']['recall@1']:.4f} -> "
                f"hybrid {m[f'alpha={best:.2f}']['recall@1']:.4f}"
            )
        if "laws" in data_by_name:  # by kind of question, all 52 (train and held-out halves)
            laws = data_by_name["laws"]
            kinds = [row["item"].get("kind", "") for row in laws["rows"]]
            lex = ranks(laws, lambda lex, dense: lex)
            hyb = ranks(laws, lambda lex, dense: _weighted(lex, dense, best, FUSION_DEPTH))
            by_kind = {}
            for kind in sorted(set(kinds)):
                mask = np.array([k == kind for k in kinds])
                by_kind[kind] = {
                    "questions": int(mask.sum()),
                    "lexical recall@1": round(float(np.mean(lex[mask] == 1)), 4),
                    "hybrid recall@1": round(float(np.mean(hyb[mask] == 1)), 4),
                }
                print(f"  laws {kind}: {by_kind[kind]}")
            results["laws_by_kind"] = by_kind
    text = json.dumps({"model": args.model, "results": results}, ensure_ascii=False, indent=1)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
