"""Fit the answer-selection model (ranker + confidence) and write ``rag/data/selection_model.json``.

Training data (read in place, never copied into the repository):

* ``cmrc2018_trial`` (1,002 questions, Simplified Wikipedia) on its own index;
* ``drcd_dev`` (3,524 questions, Traditional Wikipedia) on its own index;
* ``seed_qa`` + ``seed_dev`` (the seed documents) and ``laws_dev`` (the 60-law corpus);
* questions with no answer: the unanswerable questions of those sets, and questions asked of
  a corpus that cannot answer them (CMRC trial questions on the seed and the law indexes,
  seed questions on the law index, law questions on the seed index). They share common
  words with the documents (今天, 上海, 规定) and teach the confidence model that matching
  common words is not answering;
* questions with one number changed (``SET~num``): an answerable question whose number or
  ordinal is replaced by one no document of the corpus holds (十一次全会 → 十二次全会,
  第三届 → 第四届). The document still shares every other word, so only the missing number
  tells that the question is not answered: the confidence model learns from data how much
  a missing name or number weighs (``missing_entity``, ``missing_share``), not from a
  hand-set penalty. Each keeps the fold of the question it was made from;
* numbered-slogan questions (``SET~enum``), made from the training corpora themselves (never
  from the seed): a run of at least three short clauses that open with the same one or two
  characters and are joined by 、 or ； (坚持…、坚持…、坚持…) becomes “三个坚持”具体指什么？,
  answered by a quote that holds its first clause. Only one real question of the kind
  exists (seed_dev h31, “六个让”), too few to learn from; these teach the ranker (not the
  confidence model) what the ``numbered`` feature is worth, and h31 stays a held-out check.

CMRC 2018 dev is never read here: it is the validation set (``rag eval``).

Held-out figures: every question is assigned to one of ``--folds`` folds by a hash of its set
and id; each fold is predicted by models fitted on the other folds (ranker and confidence
alike), so every figure printed as *held out* comes from questions the model did not see. The
shipped model is then fitted on everything. The refusal threshold is chosen on the held-out
confidences.

Usage::

    .venv/bin/python benchmarks/train_selection.py [--work /tmp/rag-train] [--json OUT]
        [--out rag/data/selection_model.json] [--misses SET…] [--drop FEATURE…]
        [--ranker pairwise|pointwise] [--trees N --depth D --learning-rate R]

The ranker is boosted with oblivious trees by default (``--trees 100 --depth 4``), which needs
CatBoost at training time only (``pip install -e '.[train]'``); ``--trees 0`` fits the linear
ranker alone.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared_data import BENCH, EVAL, LAWS  # noqa: E402

import rag  # noqa: E402
from rag.answering.analysis import ARTICLE, Query  # noqa: E402
from rag.answering.candidates import Candidate  # noqa: E402
from rag.answering.features import CONFIDENCE_FEATURES, FEATURES  # noqa: E402
from rag.answering.model import MODEL_FORMAT, ObliviousTrees  # noqa: E402
from rag.answering.selector import AnswerSelector, answerability, rank_candidates  # noqa: E402
from rag.evaluation import QAItem, confidence_auroc, read_qa  # noqa: E402
from rag.questions import clean_question  # noqa: E402

CORPORA = {
    "trial": BENCH / "cmrc2018_trial" / "corpus.jsonl",
    "drcd": BENCH / "drcd_dev" / "corpus.jsonl",
    "seed": ROOT / "source",
    "laws": LAWS,
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
    # A changed-number question (SET~num, id~) shares the fold of the one it was made from.
    name, qid = name.split("~")[0], qid.split("~")[0]
    return int(hashlib.sha256(f"{name}/{qid}".encode()).hexdigest(), 16) % folds


# One digit on (the last digit of a number is changed: 十一次 → 十二次, 2008 → 2009).
_DIGIT_ON = dict(zip("一二三四五六七八九0123456789", "二三四五六七八九一1234567890", strict=True))


def changed_numbers(assistant: rag.Assistant, items: list[QAItem]) -> list[QAItem]:
    """The answerable questions with one number or ordinal changed to one no document holds
    (see the module docstring); questions without such a number are left out."""
    gen = assistant._state.generation
    weights = assistant._state.selector.weights
    texts = [d.text for d in gen.documents.values()]
    out = []
    for item in items:
        if not item.answerable:
            continue
        holding = [t for t in texts if any(a and a in t for a in item.answers)]
        if not holding:
            continue
        cleaned = clean_question(item.question, assistant.settings.max_question_chars)
        for token in gen.tokenizer.tokenize(cleaned.text):
            at = max((i for i, ch in enumerate(token) if ch in _DIGIT_ON), default=-1)
            if at < 0 or token not in item.question or not weights.is_entity(token):
                continue
            new = token[:at] + _DIGIT_ON[token[at]] + token[at + 1 :]
            # No document may hold the new number: then the question is surely not
            # answered (a number met elsewhere in the corpus made look-alike negatives that
            # cost 76 DRCD answers held out). An article asked for by number (第三十九条)
            # need only be missing from the documents that answer (other laws have one):
            # the next article up, or one past the law's end (第九百三十九条).
            if ARTICLE.fullmatch(token):
                new = next(
                    (
                        n
                        for n in (new, "第九百" + token.removeprefix("第"))
                        if not any(n in t for t in holding)
                    ),
                    "",
                )
                if not new:
                    continue
            elif any(new in t for t in texts):
                continue
            out.append(QAItem(f"{item.id}~", item.question.replace(token, new, 1), ()))
            break
    return out


_CJK_NUMBER = dict(zip(range(3, 11), "三四五六七八九十", strict=True))
_SLOGAN_TEMPLATES = ("“{n}个{stem}”具体指什么？", "“{n}个{stem}”是哪些？", "哪“{n}个{stem}”？")
SLOGAN_ITEM_CHARS = 30  # a slogan's items are short parallel clauses
SLOGANS_PER_CORPUS = 150


def slogan_questions(assistant: rag.Assistant, name: str) -> list[QAItem]:
    """Numbered-slogan questions made from a corpus (see the module docstring), at most
    :data:`SLOGANS_PER_CORPUS`, in corpus order."""
    from rag.sentences import split_clauses

    gen = assistant._state.generation
    out: list[QAItem] = []
    seen: set[tuple[str, str]] = set()  # the same text in several documents counts once
    for doc in gen.documents.values():
        for para in doc.paragraphs:
            if para.role != "body":
                continue
            text = doc.text
            clauses = split_clauses(text, para.start, para.end)
            i = 0
            while i < len(clauses):
                run = None
                for width in (2, 1):
                    stem = text[clauses[i][0] : clauses[i][0] + width]
                    if len(stem) < width or not all("\u4e00" <= ch <= "\u9fff" for ch in stem):
                        continue
                    if stem[0] in "第一二三四五六七八九十":
                        continue  # ordinals and numbers, not slogans
                    j = i
                    # Parallel items: joined by 、 or ； (the last one may end otherwise).
                    while (
                        j < len(clauses)
                        and text.startswith(stem, clauses[j][0])
                        and clauses[j][1] - clauses[j][0] <= SLOGAN_ITEM_CHARS
                        and (j == i or text[clauses[j - 1][1] - 1] in "、；;")
                    ):
                        j += 1
                    if 3 <= j - i <= 10:
                        run = (stem, j)
                        break
                if run is None:
                    i += 1
                    continue
                stem, j = run
                first = text[clauses[i][0] : clauses[i][1]].rstrip("，、；;,：: ")
                n = j - i
                qid = f"{name}-enum-{len(out)}"
                template = _SLOGAN_TEMPLATES[len(out) % len(_SLOGAN_TEMPLATES)]
                question = template.format(n=_CJK_NUMBER[n], stem=stem)
                if len(first) >= 4 and (question, first) not in seen:
                    seen.add((question, first))
                    out.append(QAItem(qid, question, (first,)))
                i = j
                if len(out) >= SLOGANS_PER_CORPUS:
                    return out
    return out


def collect(
    name: str,
    assistant: rag.Assistant,
    items: list[QAItem],
    folds: int,
    answerable: bool = True,
    mode: object = None,
) -> list[Example]:
    state = assistant._state  # the loaded generation's selector (training reads internals)
    selector = state.selector
    gen = state.generation
    out = []
    for item in items:
        cleaned = clean_question(item.question, assistant.settings.max_question_chars)
        tokens = gen.tokenizer.tokenize(cleaned.text)
        ex = Example(name, item.id, answerable and item.answerable, fold_of(name, item.id, folds))
        examined = selector.examine(
            cleaned.text, tokens, 10, mode or rag.settings.RetrievalMode.LEXICAL
        )
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


_TREES: dict[int, tuple[dict, ObliviousTrees]] = {}


def trees_of(params: dict) -> ObliviousTrees | None:
    """The run-time evaluator of a boosted ranker's trees (built once per fitted model), so
    that every held-out figure is computed as answering computes it."""
    data = params.get("trees")
    if data is None:
        return None
    held = _TREES.get(id(data))
    if held is None or held[0] is not data:
        held = (data, ObliviousTrees.from_dict(data, len(params["coef"])))
        _TREES[id(data)] = held
    return held[1]


def logit(params: dict, x: np.ndarray) -> np.ndarray:
    z = ((x - np.asarray(params["mean"])) / np.asarray(params["scale"])) @ np.asarray(
        params["coef"]
    ) + params["intercept"]
    trees = trees_of(params)
    return z if trees is None else z + trees.scores(x)


def predict(params: dict, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(logit(params, x), -30, 30)))


def pointwise_data(examples: list[Example], set_weight: dict[str, float]):
    xs, ys, ws = [], [], []
    for ex in examples:
        if ex.x is None or not ex.answerable or ex.y is None or not ex.y.any():
            continue
        xs.append(ex.x)
        ys.append(ex.y)
        ws.append(np.full(len(ex.y), set_weight[ex.set] / len(ex.y)))
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit_pairs(
    diffs: list[np.ndarray], weights: list[np.ndarray], c: float
) -> tuple[np.ndarray, np.ndarray]:
    """A pairwise logistic regression on feature differences (better minus worse, one
    weight each): the standardising scale and the direction, both per feature."""
    from sklearn.linear_model import LogisticRegression

    d = np.vstack(diffs)
    w = np.concatenate(weights)
    scale = d.std(axis=0)
    scale[scale < 1e-9] = 1.0
    # Both orders of every pair: the two classes are symmetric, no intercept.
    pairwise = LogisticRegression(C=c, max_iter=2000, fit_intercept=False)
    pairwise.fit(
        np.vstack([d / scale, -d / scale]),
        np.concatenate([np.ones(len(d)), np.zeros(len(d))]),
        sample_weight=np.concatenate([w, w]),
    )
    return scale, pairwise.coef_[0]


@dataclass(frozen=True)
class Boosting:
    """Oblivious trees boosted from the linear pairwise ranker (CatBoost YetiRank)."""

    trees: int = 100
    depth: int = 4
    learning_rate: float = 0.1


def fit_ranker(
    examples: list[Example],
    set_weight: dict[str, float],
    c: float,
    pairwise: bool = True,
    boosting: Boosting | None = None,
) -> dict:
    """The ranker: a pairwise logistic regression (a candidate holding the answer against
    one of the same question that does not), then a one-feature logistic regression of
    the labels on its score, so that the ranker still gives probabilities (the confidence
    model reads them). Both fold into one linear model, so prediction stays a dot product.

    Pairs compare candidates of one question only, so the ranker learns what decides
    *within* a question (held out, CMRC trial 797 → 829 best candidates right against the
    pointwise fit of the same features). Each question weighs as its set says, spread over
    its pairs. ``pairwise=False``: the pointwise fit (the absolute model) ranks as well.

    ``boosting``: oblivious trees are then fitted on the same questions with the linear
    logit as their starting score (CatBoost's YetiRank, a pairwise ranking loss), so they
    add to it what a linear model cannot express (answer_type with coverage, focus with
    retrieval, thresholds); the sum is calibrated again and the calibration folded into
    the weights and the leaves (see :func:`boost`)."""
    from sklearn.linear_model import LogisticRegression

    if not pairwise:
        return fit_lr(*pointwise_data(examples, set_weight), c=c)

    diffs, weights = [], []
    for ex in examples:
        if ex.x is None or not ex.answerable or ex.y is None or not ex.y.any() or ex.y.all():
            continue
        pos, neg = ex.x[ex.y == 1], ex.x[ex.y == 0]
        d = (pos[:, None, :] - neg[None, :, :]).reshape(-1, ex.x.shape[1])
        diffs.append(d)
        weights.append(np.full(len(d), set_weight[ex.set] / len(d)))
    scale, direction = fit_pairs(diffs, weights, c)
    # Calibration: P(holds the answer | score), pointwise over the same questions.
    xs, ys, ws = [], [], []
    for ex in examples:
        if ex.x is None or not ex.answerable or ex.y is None or not ex.y.any():
            continue
        xs.append((ex.x / scale) @ direction)
        ys.append(ex.y)
        ws.append(np.full(len(ex.y), set_weight[ex.set] / len(ex.y)))
    calib = LogisticRegression(C=c, max_iter=2000)
    calib.fit(np.concatenate(xs)[:, None], np.concatenate(ys), sample_weight=np.concatenate(ws))
    a = float(calib.coef_[0][0])
    linear = {
        "mean": [0.0] * len(scale),
        "scale": scale.tolist(),
        "coef": (a * direction).tolist(),
        "intercept": float(calib.intercept_[0]),
    }
    return linear if boosting is None else boost(examples, set_weight, c, linear, boosting)


def _dump_trees(model: object) -> dict:
    """A fitted CatBoost model's oblivious trees as the artifact stores them (splits, float32
    borders, leaf values), read from its JSON export; it must add nothing else to the score."""
    with tempfile.TemporaryDirectory() as tmp:
        model.save_model(f"{tmp}/trees.json", format="json")  # type: ignore[attr-defined]
        dumped = json.loads(Path(tmp, "trees.json").read_text())
    scale, bias = dumped["scale_and_bias"]
    if scale != 1 or any(bias):
        raise SystemExit(f"unexpected CatBoost scale and bias {scale}, {bias}")
    fitted = dumped["oblivious_trees"]
    return {
        "splits": [[s["float_feature_index"] for s in t["splits"]] for t in fitted],
        "borders": [[s["border"] for s in t["splits"]] for t in fitted],
        "leaves": [t["leaf_values"] for t in fitted],
    }


def boost(
    examples: list[Example], set_weight: dict[str, float], c: float, linear: dict, how: Boosting
) -> dict:
    """Oblivious trees on top of the linear ranker ``linear`` (its logit the baseline), then
    a logistic calibration of the sum; returns the folded model (weights, bias and leaves all
    scaled by the calibration, so the run time adds leaves to a dot product)."""
    try:
        from catboost import CatBoost, Pool
    except ImportError:
        raise SystemExit(
            "boosting the ranker needs CatBoost: pip install -e '.[train]' "
            "(or --trees 0 for the linear ranker)"
        ) from None
    from sklearn.linear_model import LogisticRegression

    ranked = [
        ex
        for ex in examples
        if ex.x is not None and ex.answerable and ex.y is not None and ex.y.any()
    ]
    pairs = [ex for ex in ranked if not ex.y.all()]  # type: ignore[union-attr]
    x = np.vstack([ex.x for ex in pairs])
    pool = Pool(
        x,
        np.concatenate([ex.y for ex in pairs]),  # type: ignore[misc]
        group_id=np.concatenate([np.full(len(ex.y), q) for q, ex in enumerate(pairs)]),  # type: ignore[arg-type]
        # One weight per question (its set's), as CatBoost's ranking losses take it.
        group_weight=np.concatenate([np.full(len(ex.y), set_weight[ex.set]) for ex in pairs]),  # type: ignore[arg-type]
        baseline=logit(linear, x),
    )
    model = CatBoost(
        {
            "loss_function": "YetiRank",
            "iterations": how.trees,
            "depth": how.depth,
            "learning_rate": how.learning_rate,
            "random_seed": 0,
            "thread_count": 1,  # deterministic, and the machine is shared
            "verbose": False,
            "allow_writing_files": False,
        }
    )
    model.fit(pool)
    trees = _dump_trees(model)
    # Calibration of the boosted score, pointwise over every question with an answer.
    xs = np.vstack([ex.x for ex in ranked])
    ys = np.concatenate([ex.y for ex in ranked])  # type: ignore[misc]
    ws = np.concatenate([np.full(len(ex.y), set_weight[ex.set] / len(ex.y)) for ex in ranked])  # type: ignore[arg-type]
    raw = logit({**linear, "trees": trees}, xs)
    calib = LogisticRegression(C=c, max_iter=2000)
    calib.fit(raw[:, None], ys, sample_weight=ws)
    a, b = float(calib.coef_[0][0]), float(calib.intercept_[0])
    return {
        **linear,
        "coef": [a * w for w in linear["coef"]],
        "intercept": a * linear["intercept"] + b,
        "trees": {
            **trees,
            # Rounded before any figure is computed: the held-out figures are the shipped
            # leaves' (the artifact stays small).
            "leaves": [[round(a * v, 6) for v in leaf] for leaf in trees["leaves"]],
        },
    }


def fit_confidence(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, c: float, how: Boosting | None
) -> dict:
    """The confidence model: a logistic regression, and with ``how`` oblivious trees boosted
    from its logit (CatBoost Logloss, the linear logit as the baseline), whose leaves add to
    that logit at run time as the ranker's do (:class:`rag.answering.model.LinearModel`
    evaluates both). Logloss leaves are log-odds already: no calibration is refitted."""
    linear = fit_lr(x, y, w, c=c)
    if how is None:
        return linear
    try:
        from catboost import CatBoost, Pool
    except ImportError:
        raise SystemExit(
            "boosting the confidence model needs CatBoost: pip install -e '.[train]' "
            "(or --confidence-trees 0)"
        ) from None
    model = CatBoost(
        {
            "loss_function": "Logloss",
            "iterations": how.trees,
            "depth": how.depth,
            "learning_rate": how.learning_rate,
            "boost_from_average": False,
            "random_seed": 0,
            "thread_count": 1,
            "verbose": False,
            "allow_writing_files": False,
        }
    )
    model.fit(Pool(x, y, weight=w, baseline=logit(linear, x)))
    fitted = _dump_trees(model)
    return {
        **linear,
        # Rounded before any figure is computed: the held-out figures are the shipped leaves'.
        "trees": {**fitted, "leaves": [[round(v, 6) for v in leaf] for leaf in fitted["leaves"]]},
    }


def confidence_rows(
    examples: list[Example], probs: dict[int, np.ndarray], absolute: dict[int, np.ndarray]
):
    """Confidence features, the label they are fitted on and the one reported.

    The features and the fitting label come from the absolute (pointwise) model's best
    candidate: whether the question is answered at all is learnt as before the ranker was
    pairwise (labelled with the ranker's own choice, held-out refusals fell from 7/8 to
    5/8 on laws and 5/5 to 4/5 on seed). ``shown``: whether the ranker's best candidate, the
    one quoted, holds the answer; the held-out figures and the threshold read it."""
    rows, labels, shown, keep = [], [], [], []
    for i, ex in enumerate(examples):
        if ex.x is None or ex.set.endswith("~enum"):
            # Slogan questions teach the ranker only: made from any clause run, many are
            # not questions a reader would ask, so they say nothing of answerability.
            continue
        scored = rank_candidates(list(probs[i]), ex.candidates)
        assert ex.selector is not None and ex.query is not None and ex.y is not None
        by_own = rank_candidates(list(absolute[i]), ex.candidates)
        rows.append(answerability(ex.selector.extractor, ex.query, by_own))
        labels.append(int(bool(ex.y[ex.candidates.index(by_own[0][1])])))
        shown.append(int(bool(ex.y[ex.candidates.index(scored[0][1])])))
        keep.append(i)
    return np.asarray(rows), np.asarray(labels), np.asarray(shown), keep


def collect_all(assistants: dict, mode: object, f: int) -> list[Example]:
    """Examples of every set (and the off-corpus unanswerable ones) on one family of indexes."""
    trial = read_qa(BENCH / "cmrc2018_trial" / "qa.jsonl")
    seed = read_qa(EVAL / "seed_qa.jsonl") + read_qa(EVAL / "seed_dev.jsonl")
    laws = read_qa(EVAL / "laws_dev.jsonl")
    ex: list[Example] = []
    ex += collect("trial", assistants["trial"], trial, f, mode=mode)
    drcd = read_qa(BENCH / "drcd_dev" / "qa.jsonl")
    ex += collect("drcd", assistants["drcd"], drcd, f, mode=mode)
    ex += collect("seed", assistants["seed"], seed, f, mode=mode)
    ex += collect("laws", assistants["laws"], laws, f, mode=mode)
    off = [QAItem(f"{i.id}@", i.question, ()) for i in trial]
    ex += collect("trial@seed", assistants["seed"], off, f, answerable=False, mode=mode)
    ex += collect("trial@laws", assistants["laws"], off, f, answerable=False, mode=mode)
    seed_off = [QAItem(f"{i.id}@", i.question, ()) for i in seed if i.answerable]
    ex += collect("seed@laws", assistants["laws"], seed_off, f, answerable=False, mode=mode)
    laws_off = [QAItem(f"{i.id}@", i.question, ()) for i in laws if i.answerable]
    ex += collect("laws@seed", assistants["seed"], laws_off, f, answerable=False, mode=mode)
    for name, items in (("trial", trial), ("drcd", drcd), ("seed", seed), ("laws", laws)):
        changed = changed_numbers(assistants[name], items)
        ex += collect(f"{name}~num", assistants[name], changed, f, answerable=False, mode=mode)
    for name in ("trial", "drcd", "laws"):  # never the seed: h31 is the held-out check
        slogans = slogan_questions(assistants[name], name)
        ex += collect(f"{name}~enum", assistants[name], slogans, f, mode=mode)
    return ex


@dataclass
class Fitted:
    """One variant (lexical or dense): the shipped pair and its held-out figures."""

    ranker: dict
    confidence: dict
    absolute: dict
    threshold: float
    auroc: float
    report: dict[str, dict]
    counts: dict[str, int]


def fit_variant(examples: list[Example], args: argparse.Namespace, label: str) -> Fitted:
    """Held-out figures (5-fold by question) and the pair fitted on everything."""
    f = args.folds
    boosting = (
        Boosting(args.trees, args.depth, args.learning_rate)
        if args.trees and args.ranker == "pairwise"
        else None
    )
    dropped = [i for i, n in enumerate(FEATURES) if n in args.drop]
    for ex in examples:
        if ex.x is not None and dropped:
            ex.x = ex.x.copy()
            ex.x[:, dropped] = 0.0
    drop_conf = [i for i, n in enumerate(CONFIDENCE_FEATURES) if n in args.drop]
    conf_boosting = (
        Boosting(args.confidence_trees, args.confidence_depth, args.learning_rate)
        if args.confidence_trees
        else None
    )

    sets = sorted({ex.set for ex in examples})
    counts = {s: sum(1 for ex in examples if ex.set == s) for s in sets}
    # Each set weighs as much as the largest one (up to --cap times): the small sets of
    # official documents must not drown in Wikipedia questions.
    largest = max(counts[s] for s in ("trial", "drcd"))
    set_weight = {s: min(args.cap, largest / counts[s]) for s in sets}
    # A changed-number question counts as much as a question of the set it was made from
    # (with each set's weight it would outweigh its source: 590 DRCD ones at 6× moved the
    # threshold to 0.46 and refused 600 answerable DRCD questions, held out).
    for s in sets:
        if "~" in s:  # changed-number and slogan questions weigh as their source set's
            set_weight[s] = set_weight[s.split("~")[0]]

    # -- held-out ranker predictions --------------------------------------------------------
    oof: dict[int, np.ndarray] = {}
    oof_abs: dict[int, np.ndarray] = {}
    for k in range(f):
        train = [ex for ex in examples if ex.fold != k]
        params = fit_ranker(
            train, set_weight, c=args.c, pairwise=args.ranker == "pairwise", boosting=boosting
        )
        pointwise = fit_lr(*pointwise_data(train, set_weight), c=args.c)
        for i, ex in enumerate(examples):
            if ex.fold == k and ex.x is not None:
                oof[i] = predict(params, ex.x)
                oof_abs[i] = predict(pointwise, ex.x)
    xc, lc, yc, keep = confidence_rows(examples, oof, oof_abs)
    if drop_conf:
        xc[:, drop_conf] = 0.0
    wc = np.asarray([set_weight[examples[i].set] for i in keep])
    conf_oof = np.zeros(len(keep))
    folds_of = np.asarray([examples[i].fold for i in keep])
    for k in range(f):
        params = fit_confidence(
            xc[folds_of != k], lc[folds_of != k], wc[folds_of != k], args.c, conf_boosting
        )
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
        # The threshold is chosen on the real questions only: the changed-number ones teach
        # the confidence model, they do not set the trade-off (with them in, the threshold
        # rose to 0.37 and refused 300 answerable DRCD questions held out).
        for s in sets:
            if "~" in s:  # made-up questions (changed numbers, slogans)
                continue
            o = outcome(t, by_set[s])
            total += set_weight[s] * (o["right"] + o["refused_ok"])
        return total

    grid = [round(x, 3) for x in np.arange(0.05, 0.951, 0.01)]
    scores = [score(t) for t in grid]
    best_t = grid[int(np.argmax(scores))]

    # -- held-out report ---------------------------------------------------------------------
    report: dict[str, dict] = {}
    for s in sets:
        subset = by_set[s]
        o = outcome(best_t, subset)
        at1 = sum(1 for i in subset if examples[i].answerable and i in index_of and yc[index_of[i]])
        right = [confidence[i] for i in subset if i in index_of and yc[index_of[i]]]
        rest = [confidence.get(i, 0.0) for i in subset if not (i in index_of and yc[index_of[i]])]
        report[s] = {**o, "best_candidate_right": int(at1), "auroc": confidence_auroc(right, rest)}
    # laws by kind (the table)
    kinds = read_kinds(EVAL / "laws_dev.jsonl")
    for kind in sorted(set(kinds.values())):
        subset = [i for i in by_set.get("laws", []) if kinds.get(examples[i].id) == kind]
        o = outcome(best_t, subset)
        o["best_candidate_right"] = sum(
            1 for i in subset if examples[i].answerable and i in index_of and yc[index_of[i]]
        )
        report[f"laws:{kind}"] = o
    pooled_right = [confidence[i] for i in keep if yc[index_of[i]]]
    pooled_rest = [
        confidence.get(i, 0.0)
        for i, _ in enumerate(examples)
        if not (i in index_of and yc[index_of[i]])
    ]
    auroc = confidence_auroc(pooled_right, pooled_rest)

    for s in args.misses:
        for i in by_set.get(s, []):
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
                f"- [{label} {s} {ex.id}] {ex.query.question if ex.query else ''} conf "
                f"{confidence.get(i, 0):.2f} {'right' if right else 'wrong'}: {got!r}",
                file=sys.stderr,
            )

    # -- the shipped pair: fitted on everything ---------------------------------------------
    ranker = fit_ranker(
        examples, set_weight, c=args.c, pairwise=args.ranker == "pairwise", boosting=boosting
    )
    absolute = fit_lr(*pointwise_data(examples, set_weight), c=args.c)
    all_probs = {i: predict(ranker, ex.x) for i, ex in enumerate(examples) if ex.x is not None}
    all_abs = {i: predict(absolute, ex.x) for i, ex in enumerate(examples) if ex.x is not None}
    xa, ya, _, keep_a = confidence_rows(examples, all_probs, all_abs)
    if drop_conf:
        xa[:, drop_conf] = 0.0
    wa = np.asarray([set_weight[examples[i].set] for i in keep_a])
    conf = fit_confidence(xa, ya, wa, args.c, conf_boosting)
    return Fitted(ranker, conf, absolute, best_t, auroc, report, counts)


def read_kinds(path: Path) -> dict[str, str]:
    kinds = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            kinds[str(row["id"])] = str(row.get("kind", ""))
    return kinds


def shift_to(conf: dict, own: float, shared: float) -> dict:
    """The confidence pair with its intercept moved so that ``shared`` refuses what ``own``
    refused (the logistic is monotonic: one threshold serves both variants)."""

    def logit(p: float) -> float:
        return math.log(p / (1 - p))

    return {**conf, "intercept": conf["intercept"] + logit(shared) - logit(own)}


def keep_confidence(artifact: dict, kept: dict) -> dict:
    """``artifact``'s rankers with the absolute and confidence models and the threshold of
    ``kept`` (another artifact), in both pairs.

    Neither model reads the ranker (the confidence features come from the absolute model's
    best candidate), so every refusal stays what ``kept`` decides: a refit of the rankers
    alone changes which quote is shown, never whether the question is answered. The
    held-out table's refusal columns then describe the refitted confidence, not the kept
    one; its ``best candidate right`` column is the ranker's either way."""
    out = {**artifact, "threshold": kept["threshold"]}
    for key in ("absolute", "confidence"):
        out[key] = kept[key]
    if "dense" in out:
        out["dense"] = {
            **out["dense"],
            "threshold_fitted": kept["dense"]["threshold_fitted"],
            "absolute": kept["dense"]["absolute"],
            "confidence": kept["dense"]["confidence"],
        }
    out["kind"] += f"; absolute and confidence models kept from {kept['version']}"
    out["confidence_from"] = kept["version"]
    out["heldout"] = {
        **out["heldout"],
        "confidence_from": kept["version"],
        "note": "best_candidate_right is the ranker's; the refusal columns are those of "
        "a refitted confidence model, not of the kept one",
    }
    return out


def print_table(label: str, fitted: Fitted) -> None:
    print(f"\n{label}: threshold {fitted.threshold}, pooled AUROC {fitted.auroc:.3f}")
    print(
        "| set | questions | best candidate right | answered right | right refusals "
        "| wrong answers | answerable refused | AUROC |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for s, r in fitted.report.items():
        a = r.get("auroc")
        a = f"{a:.3f}" if a is not None and not math.isnan(a) else "—"
        n = fitted.counts.get(s, r["answerable"] + r["unanswerable"])
        print(
            f"| {s} | {n} | {r['best_candidate_right']}/{r['answerable']} | "
            f"{r['right']}/{r['answerable']} | {r['refused_ok']}/{r['unanswerable']} | "
            f"{r['wrong']} | {r['false_refusals']} | {a} |"
        )


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
    parser.add_argument(
        "--ranker",
        choices=("pairwise", "pointwise"),
        default="pairwise",
        help="how the ranker is fitted (pointwise: the absolute model ranks too, the kind of "
        "ranker shipped before; see docs/BENCHMARKS.md)",
    )
    parser.add_argument(
        "--trees",
        type=int,
        default=Boosting.trees,
        help="oblivious trees boosted from the pairwise ranker (CatBoost YetiRank; 0: the "
        "linear ranker alone, shipped before; see docs/BENCHMARKS.md)",
    )
    parser.add_argument("--depth", type=int, default=Boosting.depth, help="depth of each tree")
    parser.add_argument("--learning-rate", type=float, default=Boosting.learning_rate)
    parser.add_argument(
        "--confidence-trees",
        type=int,
        default=0,
        help="oblivious trees boosted from the linear confidence model (CatBoost Logloss; "
        "0: the logistic regression alone)",
    )
    parser.add_argument("--confidence-depth", type=int, default=3)
    parser.add_argument(
        "--keep-confidence",
        metavar="ARTIFACT",
        help="refit the rankers only: the absolute and confidence models and the threshold "
        "come from this artifact (they never read the ranker, so every refusal stays as it "
        "decides; see keep_confidence)",
    )
    parser.add_argument("--drop", nargs="*", default=[], help="features to leave out (ablation)")
    parser.add_argument(
        "--no-dense",
        action="store_true",
        help="fit the lexical pair only (no USE indexes; the artifact then has no dense pair)",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(args.work)
    f = args.folds
    families = [("lexical", "none", "", rag.settings.RetrievalMode.LEXICAL)]
    if not args.no_dense:
        families.append(
            ("dense", rag.settings.DEFAULT_MODEL, "-use", rag.settings.RetrievalMode.HYBRID)
        )
    fitted: dict[str, Fitted] = {}
    for label, model, suffix, mode in families:
        assistants = {}
        for name, source in CORPORA.items():
            where = work / f"{name}{suffix}"
            if not (where / "CURRENT").exists() and not any(where.glob("gen-*")):
                rag.build_index(source, where, model=model)
            assistants[name] = rag.load(where, model=model, answer_cache=0)
        examples = collect_all(assistants, mode, f)
        print(
            f"{label}: features of {len(examples)} questions in "
            f"{time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        fitted[label] = fit_variant(examples, args, label)
        del assistants, examples

    lexical = fitted["lexical"]
    boosted = "trees" in lexical.ranker
    today = datetime.date.today().isoformat()
    dense = fitted.get("dense")
    heldout = {
        "threshold": lexical.threshold,
        "auroc": lexical.auroc,
        "sets": lexical.report,
    }
    artifact: dict = {
        "kind": f"logistic regression (scikit-learn): {args.ranker} ranker"
        + (
            f" boosted with {args.trees} oblivious trees of depth {args.depth} "
            f"(CatBoost YetiRank, learning rate {args.learning_rate})"
            if args.trees and args.ranker == "pairwise"
            else ""
        )
        + " + confidence"
        + (
            f" boosted with {args.confidence_trees} oblivious trees of depth "
            f"{args.confidence_depth} (CatBoost Logloss)"
            if args.confidence_trees
            else ""
        )
        + "; lexical and dense pairs",
        "trained_on": lexical.counts,
        "folds": f,
        "C": args.c,
        "threshold": lexical.threshold,
        "heldout": heldout,
        "ranker": {"features": list(FEATURES), **lexical.ranker},
        "confidence": {"features": list(CONFIDENCE_FEATURES), **lexical.confidence},
    }
    if args.ranker == "pairwise":
        artifact["absolute"] = {"features": list(FEATURES), **lexical.absolute}
    if dense is not None:
        heldout["dense"] = {
            "model": rag.settings.DEFAULT_MODEL,
            "threshold": dense.threshold,
            "auroc": dense.auroc,
            "sets": dense.report,
        }
        artifact["dense"] = {
            "model": rag.settings.DEFAULT_MODEL,
            "threshold_fitted": dense.threshold,
            "ranker": {"features": list(FEATURES), **dense.ranker},
            "confidence": {
                "features": list(CONFIDENCE_FEATURES),
                **shift_to(dense.confidence, dense.threshold, lexical.threshold),
            },
        }
        if args.ranker == "pairwise":
            artifact["dense"]["absolute"] = {"features": list(FEATURES), **dense.absolute}
    if args.keep_confidence:
        artifact = keep_confidence(artifact, json.loads(Path(args.keep_confidence).read_text()))
    models = {
        k: v for k, v in artifact.items() if k in ("ranker", "confidence", "absolute", "dense")
    }
    digest = hashlib.sha256(json.dumps(models, default=_plain).encode()).hexdigest()
    artifact = {
        "format": MODEL_FORMAT,
        "version": f"{today}-{'gb' if boosted else 'lr'}-{digest[:8]}",
        **artifact,
    }
    Path(args.out).write_text(
        json.dumps(artifact, ensure_ascii=False, indent=1, default=_plain) + "\n"
    )
    print(
        f"held out ({f}-fold by question); load average "
        f"{[round(x, 2) for x in os.getloadavg()]}; {time.perf_counter() - started:.0f} s"
    )
    for label, fit in fitted.items():
        print_table(label, fit)
    if args.json:
        Path(args.json).write_text(json.dumps(heldout, indent=1, default=_plain) + "\n")


if __name__ == "__main__":
    main()
