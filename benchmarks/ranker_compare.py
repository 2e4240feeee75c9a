"""Experiment: nonlinear answer-selection rankers against the linear pairwise one.

Collects the candidates of ``train_selection.py`` (its ``collect_all``: the same questions,
features, labels, set weights and 5 folds by question) on one family of indexes, plus CMRC
2018 dev, and reports for each ranker how many answerable questions have a best candidate
that holds the answer: held out per set (each fold ranked by a model fitted on the other
four) and on CMRC dev (the model fitted on all training questions; dev is never fitted on).
Only the ranker varies: refusal is not applied here (``train_selection.py`` reports it).

Rankers (``--rankers``, comma-separated):

* ``linear``: the pairwise logistic regression of ``train_selection.fit_ranker``;
* ``products:K``: the same over the features plus K pairwise products, the K pairs a
  LightGBM ranker fitted on the training folds splits on one under the other most (by gain);
  ``products:all`` takes every pair;
* ``lgb``: LightGBM lambdarank (15 leaves, 300 trees, learning rate 0.05); ``lgb+``: the
  same boosted from the linear ranker's logit;
* ``cb[:depth:trees:rate]``: CatBoost YetiRank with oblivious trees boosted from the linear
  ranker's logit (``train_selection.boost``, the shipped kind; default 4:100:0.1);
  ``cb0[:…]`` the same from zero.

LightGBM is only needed for ``products:K`` and ``lgb``; CatBoost for ``cb``. Neither is
installed by the ``bench`` extra: ``pip install lightgbm catboost`` (``.[train]`` has CatBoost).

Usage::

    python benchmarks/ranker_compare.py --work /tmp/rag-train [--dense]
        [--rankers linear,cb,cb:6:300:0.05,lgb,lgb+,products:30] [--cache rows.pkl]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_selection as ts

import rag
from rag.answering.features import FEATURES
from rag.evaluation import read_qa

SETS = ("trial", "drcd", "seed", "laws")
DEV = ts.BENCH / "cmrc2018_dev"


def collect(work: Path, dense: bool) -> list[ts.Example]:
    model, suffix, mode = (
        (rag.settings.DEFAULT_MODEL, "-use", rag.settings.RetrievalMode.HYBRID)
        if dense
        else ("none", "", rag.settings.RetrievalMode.LEXICAL)
    )
    assistants = {}
    for name, source in {**ts.CORPORA, "dev": DEV / "corpus.jsonl"}.items():
        where = work / f"{name}{suffix}"
        if not (where / "CURRENT").exists() and not any(where.glob("gen-*")):
            rag.build_index(source, where, model=model)
        assistants[name] = rag.load(where, model=model, answer_cache=0)
    examples = ts.collect_all(assistants, mode, 5)
    examples += ts.collect("dev", assistants["dev"], read_qa(DEV / "qa.jsonl"), 5, mode=mode)
    for ex in examples:  # keep what ranking needs: candidates' positions break ties
        ex.pos = [(c.passage, c.start, c.end) for c in ex.candidates]  # type: ignore[attr-defined]
        ex.candidates, ex.selector, ex.query = [], None, None
    return examples


def set_weights(train: list[ts.Example]) -> dict[str, float]:
    """As ``train_selection.fit_variant`` weighs the sets (cap 20)."""
    counts: dict[str, int] = {}
    for ex in train:
        counts[ex.set] = counts.get(ex.set, 0) + 1
    largest = max(counts["trial"], counts["drcd"])
    weights = {s: min(20.0, largest / n) for s, n in counts.items()}
    return {s: weights[s.split("~")[0]] if "~" in s else w for s, w in weights.items()}


def top_right(ex: ts.Example, scores: np.ndarray) -> bool:
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], ex.pos[i]))  # type: ignore[attr-defined]
    return bool(ex.y[order[0]])  # type: ignore[index]


Fit = Callable[[list[ts.Example]], object]
Score = Callable[[object, np.ndarray], np.ndarray]


def rankers(weights: dict[str, float]) -> dict[str, Callable[[str], tuple[Fit, Score]]]:
    def linear(_: str) -> tuple[Fit, Score]:
        return (lambda tr: ts.fit_ranker(tr, weights, c=1.0)), ts.logit  # type: ignore[return-value,arg-type]

    def catboost(spec: str) -> tuple[Fit, Score]:
        parts = spec.split(":")
        how = (  # the spec reads depth:trees:rate
            ts.Boosting(trees=int(parts[2]), depth=int(parts[1]), learning_rate=float(parts[3]))
            if len(parts) > 1
            else ts.Boosting()
        )
        if parts[0] == "cb0":  # from zero: no linear part

            def fit(tr: list[ts.Example]) -> dict:
                zero = ts.fit_ranker(tr, weights, c=1.0)
                zero = {**zero, "coef": [0.0] * len(FEATURES), "intercept": 0.0}
                return ts.boost(tr, weights, 1.0, zero, how)
        else:

            def fit(tr: list[ts.Example]) -> dict:
                return ts.fit_ranker(tr, weights, c=1.0, boosting=how)

        return fit, ts.logit  # type: ignore[return-value]

    def lgb_rows(tr: list[ts.Example]):
        keep = [e for e in tr if e.x is not None and e.answerable and e.y is not None
                and e.y.any() and not e.y.all()]  # fmt: skip
        return (np.vstack([e.x for e in keep]), np.concatenate([e.y for e in keep]),
                [len(e.y) for e in keep],
                np.concatenate([np.full(len(e.y), weights[e.set]) for e in keep]))  # fmt: skip

    def lgb(spec: str) -> tuple[Fit, Score]:
        import lightgbm

        def fit(tr: list[ts.Example]) -> object:
            x, y, groups, w = lgb_rows(tr)
            base = ts.fit_ranker(tr, weights, c=1.0) if spec == "lgb+" else None
            model = lightgbm.LGBMRanker(objective="lambdarank", learning_rate=0.05,
                                        num_leaves=15, n_estimators=300, verbose=-1, n_jobs=1,
                                        lambdarank_truncation_level=3)  # fmt: skip
            init = None if base is None else ts.logit(base, x)
            model.fit(x, y, group=groups, sample_weight=w, init_score=init)
            return model, base

        def score(fitted: object, x: np.ndarray) -> np.ndarray:
            model, base = fitted  # type: ignore[misc]
            s = model.predict(x)
            return s if base is None else s + ts.logit(base, x)

        return fit, score

    def interactions(tr: list[ts.Example], k: int) -> list[tuple[int, int]]:
        import lightgbm

        x, y, groups, w = lgb_rows(tr)
        model = lightgbm.LGBMRanker(objective="lambdarank", learning_rate=0.05, num_leaves=15,
                                    n_estimators=300, verbose=-1, n_jobs=1,
                                    lambdarank_truncation_level=3)  # fmt: skip
        model.fit(x, y, group=groups, sample_weight=w)
        gain: dict[tuple[int, int], float] = {}

        def walk(node: dict, parent: int | None) -> None:
            if "split_feature" not in node:
                return
            f = node["split_feature"]
            if parent is not None and parent != f:
                pair = (min(parent, f), max(parent, f))
                gain[pair] = gain.get(pair, 0.0) + node["split_gain"]
            walk(node["left_child"], f)
            walk(node["right_child"], f)

        for tree in model.booster_.dump_model()["tree_info"]:
            walk(tree["tree_structure"], None)
        return [p for p, _ in sorted(gain.items(), key=lambda kv: -kv[1])[:k]]

    def products(spec: str) -> tuple[Fit, Score]:
        k = spec.split(":")[1]
        n = len(FEATURES)

        def expand(x: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
            a, b = np.asarray([p[0] for p in pairs]), np.asarray([p[1] for p in pairs])
            return np.hstack([x, x[:, a] * x[:, b]])

        def fit(tr: list[ts.Example]) -> object:
            pairs = ([(i, j) for i in range(n) for j in range(i + 1, n)] if k == "all"
                     else interactions(tr, int(k)))  # fmt: skip
            wide = []
            for e in tr:
                w = ts.Example(e.set, e.id, e.answerable, e.fold)
                w.y, w.x = e.y, None if e.x is None else expand(e.x, pairs)
                wide.append(w)
            return ts.fit_ranker(wide, weights, c=1.0), pairs

        def score(fitted: object, x: np.ndarray) -> np.ndarray:
            params, pairs = fitted  # type: ignore[misc]
            return ts.logit(params, expand(x, pairs))

        return fit, score

    return {"linear": linear, "cb": catboost, "cb0": catboost, "lgb": lgb, "lgb+": lgb,
            "products": products}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/rag-train", help="indexes (built if missing)")
    parser.add_argument("--dense", action="store_true", help="USE indexes, hybrid mode")
    parser.add_argument("--rankers", default="linear,cb")
    parser.add_argument("--cache", help="pickle of the collected rows (written once, then read)")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.cache and Path(args.cache).exists():
        examples = pickle.loads(Path(args.cache).read_bytes())
    else:
        examples = collect(Path(args.work), args.dense)
        if args.cache:
            Path(args.cache).write_bytes(pickle.dumps(examples))
    train = [e for e in examples if e.set != "dev"]
    dev = [e for e in examples if e.set == "dev" and e.x is not None]
    weights = set_weights(train)
    known = rankers(weights)
    print(f"{'dense (USE, hybrid)' if args.dense else 'lexical'}; load average "
          f"{[round(x, 2) for x in os.getloadavg()]}")  # fmt: skip
    print("| ranker | CMRC trial | DRCD | seed | laws | CMRC dev | fit time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for spec in args.rankers.split(","):
        fit, score = known[spec.split(":")[0]](spec)
        t0 = time.perf_counter()
        right = dict.fromkeys(SETS, 0)
        for k in range(5):
            model = fit([e for e in train if e.fold != k])
            for e in train:
                if e.fold == k and e.set in right and e.x is not None and e.answerable:
                    right[e.set] += top_right(e, score(model, e.x))
        model = fit(train)
        on_dev = sum(top_right(e, score(model, e.x)) for e in dev)  # type: ignore[arg-type]
        cells = " | ".join(str(right[s]) for s in SETS)
        print(f"| {spec} | {cells} | {on_dev} | {time.perf_counter() - t0:.0f} s |", flush=True)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
