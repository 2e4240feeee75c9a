r"""Fit the weights of the answer's passage order (``rag.answering.ordering.WEIGHTS``).

Each set's corpus is built lexical-only into ``WORK/NAME`` (``--model none``; a no-op when
up to date). Every question goes through the shipped selection (``AnswerSelector.examine``
and the packaged model), and :meth:`PassageOrder.components
<rag.answering.ordering.PassageOrder.components>` gives the four terms of each of its first
passages; the weights are then chosen over every combination of :data:`STEPS` (ties toward the
smallest) for the mean
document recall@1 (the first passage's document is the gold one) of the training data:
CMRC 2018 trial and the questions on even-numbered DRCD documents. Reported: the same for
the DRCD questions on odd documents (held out from the weights) and CMRC 2018 dev
(validation: never fitted on, neither here nor by the selection model). The selection
model was fitted on DRCD too, so the ranker's probabilities on DRCD are in-sample.

    PYTHONPATH=. .venv/bin/python benchmarks/passage_order.py --work /tmp/passage-order \
        --json benchmarks/results/passage_order.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared_data import BENCH  # noqa: E402

import rag  # noqa: E402
from rag.answering.model import paired_probabilities  # noqa: E402
from rag.answering.ordering import WEIGHTS  # noqa: E402
from rag.answering.selector import rank_candidates  # noqa: E402
from rag.evaluation import read_qa  # noqa: E402
from rag.questions import clean_question  # noqa: E402
from rag.settings import RetrievalMode  # noqa: E402

SETS = {"trial": "cmrc2018_trial", "drcd": "drcd_dev", "cmrc": "cmrc2018_dev"}
STEPS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)
TERMS = ("selection", "title", "sentence")


def _odd(doc_id: str) -> bool:
    return int("".join(filter(str.isdigit, doc_id)) or 0) % 2 == 1


def collect(name: str, work: Path) -> list[dict[str, Any]]:
    """Per question: the head passages' terms, which of them is in the gold document, and
    whether the question's gold document is odd-numbered."""
    data = BENCH / SETS[name]
    index = work / name
    rag.build_index(data / "corpus.jsonl", index, model="none")  # no-op when up to date
    assistant = rag.load(index)
    state = assistant._state
    selector, gen = state.selector, state.generation
    out = []
    for item in read_qa(data / "qa.jsonl"):
        question = clean_question(item.question, assistant.settings.max_question_chars).text
        tokens = gen.tokenizer.tokenize(question)
        examined = selector.examine(question, tokens, 10, RetrievalMode.LEXICAL)
        parts: list[tuple[float, float, float, float]] = []
        gold: list[bool] = []
        if examined is not None and examined.candidates:
            model = selector.model.variant(examined.semantic)
            if model.absolute is None:
                probabilities = model.ranker.probabilities(examined.features)
            else:
                probabilities, _ = paired_probabilities(
                    model.ranker, model.absolute, examined.features
                )
            scored = rank_candidates(probabilities, examined.candidates)
            parts = selector.order.components(question, examined.ranked, scored)
            head = examined.ranked[: len(parts)]
            gold = [gen.chunks[r.index].doc_id == item.doc for r in head]
        elif examined is not None and examined.ranked:
            parts = [(1.0, 0.0, 0.0, 0.0)]
            gold = [gen.chunks[examined.ranked[0].index].doc_id == item.doc]
        out.append(
            {
                "x": np.asarray(parts, dtype=float).reshape(-1, 4),
                "gold": gold,
                "odd": _odd(item.doc or ""),
            }
        )
    return out


def recall(rows: list[dict[str, Any]], w: np.ndarray, part: bool | None = None) -> float:
    hits = []
    for row in rows:
        if part is not None and row["odd"] != part:
            continue
        if not row["gold"]:
            hits.append(False)
            continue
        score = row["x"] @ np.concatenate([[1.0], w])
        hits.append(bool(row["gold"][int(np.argmax(score))]))  # argmax: ties keep rank order
    return float(np.mean(hits)) if hits else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/passage-order"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    runs = {name: collect(name, args.work) for name in SETS}

    def train(w: np.ndarray) -> float:
        return (recall(runs["trial"], w) + recall(runs["drcd"], w, False)) / 2

    # Every combination of STEPS; the best mean recall@1 of the training data, ties broken
    # toward the smallest weights (the order closest to retrieval's).
    grid = [np.array(c) for c in itertools.product(STEPS, repeat=len(TERMS))]
    fits = sorted((-train(c), float(c.sum()), tuple(c)) for c in grid)
    w = np.array(fits[0][2])
    print("best on training data:", [(round(-f[0], 4), f[2]) for f in fits[:8]])

    def row(label: str, weights: np.ndarray) -> dict[str, Any]:
        out = {
            "weights": label,
            "train": train(weights),
            "cmrc_trial@1": recall(runs["trial"], weights),
            "drcd_even@1": recall(runs["drcd"], weights, False),
            "drcd_odd@1 (held out)": recall(runs["drcd"], weights, True),
            "drcd@1": recall(runs["drcd"], weights),
            "cmrc_dev@1 (validation)": recall(runs["cmrc"], weights),
        }
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else str(v) for k, v in out.items()))
        return out

    shipped = np.array([WEIGHTS[t] for t in TERMS])
    table = [row("bm25 only", np.zeros(3))]
    for i, term in enumerate(TERMS):
        alone = np.zeros(3)
        alone[i] = w[i] if w[i] else shipped[i]
        table.append(row(f"{term} only ({alone[i]})", alone))
    table.append(row(f"fitted {dict(zip(TERMS, w.tolist(), strict=True))}", w))
    for i, term in enumerate(TERMS):
        without = w.copy()
        without[i] = 0.0
        table.append(row(f"fitted without {term}", without))
    table.append(row(f"shipped {WEIGHTS}", shipped))
    print(f"load average {os.getloadavg()[0]:.1f}, {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"fitted": dict(zip(TERMS, w.tolist(), strict=True)), "table": table}, indent=1
            )
            + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
