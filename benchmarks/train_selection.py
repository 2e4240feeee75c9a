"""Fit the answer-selection model (ranker + confidence) and write ``rag/data/selection_model.json``.

Training data (read in place, never copied into the repository):

* ``cmrc2018_trial`` (1,002 questions, Simplified Wikipedia) on its own index;
* ``drcd_dev`` (3,524 questions, Traditional Wikipedia) on its own index;
* ``seed_qa`` + ``seed_dev`` (the seed documents) and ``laws_dev`` (the 60-law corpus);
* questions with no answer: the unanswerable questions of those sets, and questions asked of
  a corpus that cannot answer them (CMRC trial questions on the seed and the law indexes,
  seed questions on the law index, law questions on the seed index). They share common
  words with the documents (今天, 上海, 规定) and teach the confidence model that matching
  common words is not answering.

CMRC 2018 dev is never read here: it is the validation set (``rag eval``).

Held-out figures: every question is assigned to one of ``--folds`` folds by a hash of its set
and id; each fold is predicted by models fitted on the other folds (ranker and confidence
alike), so every figure printed as *held out* comes from questions the model did not see. The
shipped model is then fitted on everything. The refusal threshold is chosen on the held-out
confidences.

Usage::

    .venv/bin/python benchmarks/train_selection.py [--work /tmp/rag-train] [--json OUT]
        [--out rag/data/selection_model.json] [--misses SET…] [--drop FEATURE…]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.answering.analysis import Query  # noqa: E402
from rag.answering.candidates import Candidate  # noqa: E402
from rag.answering.features import CONFIDENCE_FEATURES, FEATURES  # noqa: E402
from rag.answering.model import MODEL_FORMAT  # noqa: E402
from rag.answering.selector import AnswerSelector, rank_candidates  # noqa: E402
from rag.evaluation import QAItem, confidence_auroc, read_qa  # noqa: E402
from rag.questions import clean_question  # noqa: E402

SHARED = ROOT.parent / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
BENCH = SHARED / "bench"
EVAL = SHARED / "eval"
CORPORA = {
    "trial": BENCH / "cmrc2018_trial" / "corpus.jsonl",
    "drcd": BENCH / "drcd_dev" / "corpus.jsonl",
    "seed": ROOT / "source",
    "laws": SHARED / "corpora" / "laws",
}


@dataclass
class Example:
    """One question on one index, with its candidates' features and labels."""

    set: str
    id: str
    answerable: bool
    fold: int
    query: Query | None = None
    candidates: list[Candidate] = field(default_factory=list)
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    selector: AnswerSelector | None = None


def _plain(value: object) -> object:
    """numpy scalars as Python numbers, for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def fold_of(name: str, qid: str, folds: int) -> int:
    return int(hashlib.sha256(f"{name}/{qid}".encode()).hexdigest(), 16) % folds


def collect(
    name: str, assistant: rag.Assistant, items: list[QAItem], folds: int, answerable: bool = True
) -> list[Example]:
    state = assistant._state  # the loaded generation's selector (training reads internals)
    selector = state.selector
    gen = state.generation
    out = []
    for item in items:
        cleaned = clean_question(item.question, assistant.settings.max_question_chars)
        tokens = gen.tokenizer.tokenize(cleaned.text)
        ex = Example(name, item.id, answerable and item.answerable, fold_of(name, item.id, folds))
        examined = selector.examine(cleaned.text, tokens, 10, rag.settings.RetrievalMode.LEXICAL)
        if examined is not None and examined.candidates:
            ex.query = examined.query
            ex.candidates = examined.candidates
            ex.x = np.asarray(examined.features, dtype=np.float64)
            labels = []
            for c in examined.candidates:
                text = gen.documents[gen.chunks[c.passage].doc_id].text[c.start : c.end]
                labels.append(ex.answerable and any(g and g in text for g in item.answers))
            ex.y = np.asarray(labels, dtype=np.int8)
            ex.selector = selector
        out.append(ex)
    return out


def fit_lr(x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float) -> dict:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=w)
    return {
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def predict(params: dict, x: np.ndarray) -> np.ndarray:
    z = ((x - np.asarray(params["mean"])) / np.asarray(params["scale"])) @ np.asarray(
        params["coef"]
    ) + params["intercept"]
    return 1 / (1 + np.exp(-np.clip(z, -30, 30)))


def ranker_data(examples: list[Example], set_weight: dict[str, float]):
    xs, ys, ws = [], [], []
    for ex in examples:
        if ex.x is None or not ex.answerable or ex.y is None or not ex.y.any():
            continue
        xs.append(ex.x)
        ys.append(ex.y)
        ws.append(np.full(len(ex.y), set_weight[ex.set] / len(ex.y)))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def confidence_rows(examples: list[Example], probs: dict[int, np.ndarray]):
    rows, labels, keep = [], [], []
    for i, ex in enumerate(examples):
        if ex.x is None:
            continue
        scored = rank_candidates(list(probs[i]), ex.candidates)
        assert ex.selector is not None and ex.query is not None and ex.y is not None
        rows.append(ex.selector.confidence_features(ex.query, scored))
        best = scored[0][1]
        labels.append(int(bool(ex.y[ex.candidates.index(best)])))
        keep.append(i)
    return np.asarray(rows), np.asarray(labels), keep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/rag-train", help="where indexes are built")
    parser.add_argument("--out", default=str(ROOT / "rag" / "data" / "selection_model.json"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation")
    parser.add_argument("--json", help="write the held-out report here")
    parser.add_argument(
        "--misses", nargs="*", default=[], help="list held-out misses of these sets"
    )
    parser.add_argument("--cap", type=float, default=20.0, help="largest weight of a small set")
    parser.add_argument("--drop", nargs="*", default=[], help="features to leave out (ablation)")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(args.work)
    assistants = {}
    for name, source in CORPORA.items():
        if not (work / name / "CURRENT").exists() and not any((work / name).glob("gen-*")):
            rag.build_index(source, work / name, model="none")
        assistants[name] = rag.load(work / name, model="none")
    trial = read_qa(BENCH / "cmrc2018_trial" / "qa.jsonl")
    seed = read_qa(EVAL / "seed_qa.jsonl") + read_qa(EVAL / "seed_dev.jsonl")
    laws = read_qa(EVAL / "laws_dev.jsonl")
    f = args.folds
    examples: list[Example] = []
    examples += collect("trial", assistants["trial"], trial, f)
    examples += collect("drcd", assistants["drcd"], read_qa(BENCH / "drcd_dev" / "qa.jsonl"), f)
    examples += collect("seed", assistants["seed"], seed, f)
    examples += collect("laws", assistants["laws"], laws, f)
    off = [QAItem(f"{i.id}@", i.question, ()) for i in trial]
    examples += collect("trial@seed", assistants["seed"], off, f, answerable=False)
    examples += collect("trial@laws", assistants["laws"], off, f, answerable=False)
    examples += collect(
        "seed@laws",
        assistants["laws"],
        [QAItem(f"{i.id}@", i.question, ()) for i in seed if i.answerable],
        f,
        answerable=False,
    )
    examples += collect(
        "laws@seed",
        assistants["seed"],
        [QAItem(f"{i.id}@", i.question, ()) for i in laws if i.answerable],
        f,
        answerable=False,
    )
    print(
        f"features of {len(examples)} questions in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    dropped = [i for i, n in enumerate(FEATURES) if n in args.drop]
    for ex in examples:
        if ex.x is not None and dropped:
            ex.x = ex.x.copy()
            ex.x[:, dropped] = 0.0

    sets = sorted({ex.set for ex in examples})
    counts = {s: sum(1 for ex in examples if ex.set == s) for s in sets}
    # Each set weighs as much as the largest one (up to --cap times): the small sets of
    # official documents must not drown in Wikipedia questions.
    largest = max(counts[s] for s in ("trial", "drcd"))
    set_weight = {s: min(args.cap, largest / counts[s]) for s in sets}

    # -- held-out ranker predictions --------------------------------------------------------
    oof: dict[int, np.ndarray] = {}
    for k in range(f):
        train = [ex for ex in examples if ex.fold != k]
        params = fit_lr(*ranker_data(train, set_weight), c=args.c)
        for i, ex in enumerate(examples):
            if ex.fold == k and ex.x is not None:
                oof[i] = predict(params, ex.x)
    xc, yc, keep = confidence_rows(examples, oof)
    wc = np.asarray([set_weight[examples[i].set] for i in keep])
    conf_oof = np.zeros(len(keep))
    folds_of = np.asarray([examples[i].fold for i in keep])
    for k in range(f):
        params = fit_lr(xc[folds_of != k], yc[folds_of != k], wc[folds_of != k], c=args.c)
        conf_oof[folds_of == k] = predict(params, xc[folds_of == k])
    confidence = {i: float(conf_oof[n]) for n, i in enumerate(keep)}
    index_of = {i: n for n, i in enumerate(keep)}
    by_set = {s: [i for i, ex in enumerate(examples) if ex.set == s] for s in sets}

    # -- threshold on held-out confidences: most right answers + right refusals, each set
    # counting as much as its weight.
    def outcome(t: float, subset: list[int]) -> dict[str, float]:
        right = refused_ok = wrong = false_refusal = answerable = unanswerable = 0
        for i in subset:
            ex = examples[i]
            conf = confidence.get(i, 0.0)
            answered = ex.x is not None and conf >= t
            correct = answered and bool(yc[index_of[i]])
            if ex.answerable:
                answerable += 1
                right += correct
                false_refusal += not answered
                wrong += answered and not correct
            else:
                unanswerable += 1
                refused_ok += not answered
        return {
            "right": int(right),
            "answerable": answerable,
            "refused_ok": refused_ok,
            "unanswerable": unanswerable,
            "wrong": wrong,
            "false_refusals": false_refusal,
        }

    def score(t: float) -> float:
        total = 0.0
        for s in sets:
            o = outcome(t, by_set[s])
            total += set_weight[s] * (o["right"] + o["refused_ok"])
        return total

    grid = [round(x, 3) for x in np.arange(0.05, 0.951, 0.01)]
    scores = [score(t) for t in grid]
    best_t = grid[int(np.argmax(scores))]

    # -- held-out report ---------------------------------------------------------------------
    report: dict[str, dict] = {}
    for s in sets:
        subset = [i for i, ex in enumerate(examples) if ex.set == s]
        o = outcome(best_t, subset)
        at1 = sum(1 for i in subset if examples[i].answerable and i in index_of and yc[index_of[i]])
        right = [confidence[i] for i in subset if i in index_of and yc[index_of[i]]]
        rest = [confidence.get(i, 0.0) for i in subset if not (i in index_of and yc[index_of[i]])]
        report[s] = {**o, "best_candidate_right": int(at1), "auroc": confidence_auroc(right, rest)}
    pooled_right = [confidence[i] for i in keep if yc[index_of[i]]]
    pooled_rest = [
        confidence.get(i, 0.0)
        for i, _ in enumerate(examples)
        if not (i in index_of and yc[index_of[i]])
    ]
    auroc = confidence_auroc(pooled_right, pooled_rest)

    for s in args.misses:
        for i in by_set[s]:
            ex = examples[i]
            right = i in index_of and bool(yc[index_of[i]])
            answered = i in confidence and confidence[i] >= best_t
            if (right and answered) or (not ex.answerable and not answered):
                continue
            got = "(no candidate)"
            if ex.x is not None:
                best = rank_candidates(list(oof[i]), ex.candidates)[0][1]
                g = ex.selector.gen  # type: ignore[union-attr]
                got = g.documents[g.chunks[best.passage].doc_id].text[best.start : best.end][:90]
            print(
                f"- [{s} {ex.id}] {ex.query.question if ex.query else ''} conf "
                f"{confidence.get(i, 0):.2f} {'right' if right else 'wrong'}: {got!r}",
                file=sys.stderr,
            )

    # -- the shipped model: fitted on everything ----------------------------------------------
    ranker = fit_lr(*ranker_data(examples, set_weight), c=args.c)
    all_probs = {i: predict(ranker, ex.x) for i, ex in enumerate(examples) if ex.x is not None}
    xa, ya, keep_a = confidence_rows(examples, all_probs)
    wa = np.asarray([set_weight[examples[i].set] for i in keep_a])
    conf = fit_lr(xa, ya, wa, c=args.c)
    today = datetime.date.today().isoformat()
    digest = hashlib.sha256(json.dumps([ranker, conf]).encode()).hexdigest()
    artifact = {
        "format": MODEL_FORMAT,
        "version": f"{today}-lr-{digest[:8]}",
        "kind": "logistic regression (scikit-learn), ranker + confidence",
        "trained_on": {s: counts[s] for s in sets},
        "folds": f,
        "C": args.c,
        "threshold": best_t,
        "heldout": {"threshold": best_t, "auroc": auroc, "sets": report},
        "ranker": {"features": list(FEATURES), **ranker},
        "confidence": {"features": list(CONFIDENCE_FEATURES), **conf},
    }
    Path(args.out).write_text(
        json.dumps(artifact, ensure_ascii=False, indent=1, default=_plain) + "\n"
    )
    print(
        f"held out ({f}-fold by question), threshold {best_t}, pooled AUROC {auroc:.3f}; "
        f"load average {[round(x, 2) for x in os.getloadavg()]}; "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(
        "| set | questions | best candidate right | answered right | right refusals "
        "| wrong answers | answerable refused | AUROC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s in sets:
        r = report[s]
        a = f"{r['auroc']:.3f}" if r["auroc"] is not None and not math.isnan(r["auroc"]) else "—"
        print(
            f"| {s} | {counts[s]} | {r['best_candidate_right']}/{r['answerable']} | "
            f"{r['right']}/{r['answerable']} | {r['refused_ok']}/{r['unanswerable']} | "
            f"{r['wrong']} | {r['false_refusals']} | {a} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(artifact["heldout"], indent=1, default=_plain) + "\n")


if __name__ == "__main__":
    main()
