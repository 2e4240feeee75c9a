"""Tune the sentence-selection weights (rag.answering.SelectionWeights) on CMRC 2018 dev.

Questions 1..N_TRAIN tune the weights by coordinate ascent; the rest only validate them, so the
reported held-out figure is not fitted. The objective is the share of questions whose
best-scoring sentence (among the top passages' sentences) holds a gold answer.

usage: python benchmarks/tune_selection.py INDEX_DIR QA.jsonl [N_TRAIN]
  (INDEX_DIR built from ../shared/bench/cmrc2018_dev/corpus.jsonl with `rag build`)
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np

import rag
from rag.answering import FEATURES, PASSAGES_CONSIDERED, SelectionWeights
from rag.settings import RetrievalMode

# Weight name -> column of the feature matrix: passage-level columns, then the sentence's.
COLUMNS = ["rank_score", "authoritative", *FEATURES]
GRID = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0]


def collect(assistant: rag.Assistant, items: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per question: feature matrix of candidate sentences and their gold labels."""
    state = assistant._state  # benchmark code: reads the generation the assistant serves
    gen, selector, retriever = state.generation, state.selector, state.retriever
    out = []
    for item in items:
        tokens = gen.tokenizer.tokenize(item["question"])
        if not tokens:
            continue
        ranked = retriever.rank(
            tokens, item["question"], PASSAGES_CONSIDERED, RetrievalMode.LEXICAL
        )
        if not ranked:
            continue
        query = selector._query(item["question"], tokens)
        top = ranked[0].score or 1.0
        rows, labels = [], []
        for r in ranked[:PASSAGES_CONSIDERED]:
            chunk = gen.chunks[r.index]
            doc = gen.documents[chunk.doc_id]
            for j in range(len(chunk.sentences)):
                f = selector.features(query, r.index, j)
                rows.append([r.score / top, float(doc.kind in {"resolution", "policy"}), *f])
                s, e = chunk.sentences[j]
                labels.append(any(g in doc.text[s:e] for g in item["answers"]))
        out.append((np.array(rows), np.array(labels)))
    return out


def accuracy(data: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray, n: int) -> float:
    hits = sum(bool(labels[int(np.argmax(rows @ w))]) for rows, labels in data)
    return hits / n


def vector(weights: SelectionWeights) -> np.ndarray:
    return np.array([getattr(weights, c) for c in COLUMNS])


def main() -> None:
    index, qa_path = sys.argv[1], sys.argv[2]
    n_train = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    with open(qa_path, encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh]
    assistant = rag.load(index, model="none")
    started = time.perf_counter()
    train = collect(assistant, items[:n_train])
    test = collect(assistant, items[n_train:])
    print(f"features in {time.perf_counter() - started:.1f} s")
    weights = SelectionWeights()
    best = accuracy(train, vector(weights), n_train)
    held = accuracy(test, vector(weights), len(items) - n_train)
    print(f"start: train {best:.4f}  held-out {held:.4f}")
    for _round in range(3):
        improved = False
        for name in COLUMNS:
            if name == "context":
                continue  # the scale: other weights are relative to it
            for value in GRID:
                trial = dataclasses.replace(weights, **{name: value})
                acc = accuracy(train, vector(trial), n_train)
                if acc > best + 1e-9:
                    best, weights, improved = acc, trial, True
        print(f"round {_round + 1}: train {best:.4f}  {weights}")
        if not improved:
            break
    held = accuracy(test, vector(weights), len(items) - n_train)
    print(
        json.dumps(
            {
                "train": round(best, 4),
                "held_out": round(held, 4),
                "weights": dataclasses.asdict(weights),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
