"""The fitted selection model: load it from its artifact and predict, nothing else.

``benchmarks/train_selection.py`` fits logistic regressions and boosted trees offline
(scikit-learn, CatBoost) and writes their coefficients and trees to
``rag/data/selection_model.json`` (the artifact is small, plain JSON and versioned: its
``version`` and training data are recorded in every index manifest). At run time prediction
is a dot product, plus for the ranker a few numpy operations over all of a question's
candidates at once (:class:`ObliviousTrees`), so answering needs neither training library.

* the **ranker** maps a candidate's :data:`~rag.answering.features.FEATURES` to the
  probability that it holds the answer: fitted pairwise (a candidate that holds the answer
  against one of the same question that does not), then boosted with oblivious trees that
  add what a linear score cannot say (interactions between features, thresholds), and
  calibrated on its score, so it orders the candidates of a question;
* the **absolute** model maps the same features to that probability fitted pointwise (each
  candidate on its own): it says how good the best candidate is in itself, which the
  ordering does not, and the confidence model reads it;
* the **confidence model** maps :data:`~rag.answering.features.CONFIDENCE_FEATURES` of the
  absolute model's best candidate to the probability that the answer is right; the refusal
  threshold reads it.

The artifact holds a second set under ``dense``, fitted on indexes with sentence vectors
(the default USE embedder), where the semantic features are measured; an index built with
``--model none`` uses the lexical pair, fitted with those features absent. An artifact
without ``dense`` uses the lexical pair everywhere. The dense confidence model is shifted so
that the one refusal threshold applies to both.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import compress
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RagError
from .features import CONFIDENCE_FEATURES, FEATURES

MODEL_FORMAT = 1
MODEL_FILE = "selection_model.json"
MAX_DEPTH = 8  # a leaf number must fit in a byte (see ObliviousTrees.scores)


@dataclass(frozen=True, eq=False)
class ObliviousTrees:
    """Oblivious decision trees (CatBoost's kind), their leaf values summed into a logit.

    Every node of one level of an oblivious tree asks the same question (is feature ``f``
    above ``border``?), so the leaf a vector reaches is the binary number of the tree's
    ``depth`` answers: all trees are evaluated for all of a question's candidates with a
    handful of numpy operations, whatever their number. Features are compared in float32,
    as CatBoost compares them, so the scores are the training library's.

    Attributes:
        splits: ``(trees, depth)`` feature indexes, level by level (level ``i`` is bit ``i``).
        borders: ``(trees, depth)`` float32 thresholds; the answer is ``x[f] > border``.
        leaves: Leaf values, tree after tree (``trees * 2**depth``).
        width: The number of features of a row.
    """

    splits: np.ndarray
    borders: np.ndarray
    leaves: np.ndarray
    width: int
    _flat_splits: np.ndarray = field(init=False, repr=False)
    _flat_borders: np.ndarray = field(init=False, repr=False)
    _powers: np.ndarray = field(init=False, repr=False)
    _offsets: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        trees, depth = self.splits.shape
        set_ = object.__setattr__
        set_(self, "_flat_splits", self.splits.ravel())
        set_(self, "_flat_borders", self.borders.ravel())
        # A bool @ uint8 product is the cheapest numpy way to the leaf number (depth ≤ 8).
        set_(self, "_powers", (1 << np.arange(depth)).astype(np.uint8))
        set_(self, "_offsets", np.arange(trees, dtype=np.intp) << depth)

    @classmethod
    def from_dict(cls, data: dict[str, Any], width: int) -> ObliviousTrees:
        """Build from the artifact's ``{splits, borders, leaves}`` over ``width`` features.

        Raises:
            RagError: The arrays do not describe trees of one depth over these features.
        """
        splits = np.asarray(data["splits"], dtype=np.intp)
        borders = np.asarray(data["borders"], dtype=np.float32)
        leaves = np.asarray(data["leaves"], dtype=np.float64)
        if (
            splits.ndim != 2
            or borders.shape != splits.shape
            or leaves.shape != (splits.shape[0], 1 << splits.shape[1])
            or not 1 <= splits.shape[1] <= MAX_DEPTH
            or (splits.size and not 0 <= splits.min() <= splits.max() < width)
        ):
            raise RagError(
                "the selection model's trees are malformed (splits, borders and leaves must "
                "describe trees of one depth over its features); refit it with "
                "benchmarks/train_selection.py"
            )
        return cls(splits, borders, leaves.ravel(), width)

    def scores(self, rows: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        """The summed leaf values of every row (one row per candidate).

        Raises:
            ValueError: The rows are not vectors of :attr:`width` features.
        """
        # Through float64: numpy converts Python floats to float64 several times faster, and
        # float64 → float32 rounds as float → float32 does.
        x = np.asarray(rows, dtype=np.float64).astype(np.float32)
        if x.ndim != 2 or x.shape[1] != self.width:
            raise ValueError(f"expected rows of {self.width} features, got shape {x.shape}")
        trees, depth = self.splits.shape
        above = np.take(x, self._flat_splits, axis=1) > self._flat_borders
        # (rows, trees): the leaf each row reaches in each tree, as an index into leaves
        leaf = above.reshape(len(x), trees, depth) @ self._powers + self._offsets
        return self.leaves[leaf].sum(axis=1)


@dataclass(frozen=True)
class LinearModel:
    """A logistic regression folded into one weight per feature and a bias; for the ranker,
    oblivious trees whose leaf values add to the linear logit (boosted from it)."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    trees: ObliviousTrees | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: Sequence[str]) -> LinearModel:
        """Build from the artifact's ``{features, mean, scale, coef, intercept}`` and, for a
        boosted model, ``trees`` (see :class:`ObliviousTrees`).

        Raises:
            RagError: The artifact's features are not the ones this code computes.
        """
        features = tuple(data["features"])
        if features != tuple(expected):
            raise RagError(
                "the selection model was fitted on other features than this version computes; "
                "refit it with benchmarks/train_selection.py"
            )
        mean, scale, coef = data["mean"], data["scale"], data["coef"]
        weights = tuple(c / s for c, s in zip(coef, scale, strict=True))
        bias = float(data["intercept"]) - sum(w * m for w, m in zip(weights, mean, strict=True))
        trees = data.get("trees")
        return cls(
            features,
            weights,
            bias,
            None if trees is None else ObliviousTrees.from_dict(trees, len(features)),
        )

    def logit(self, x: Sequence[float]) -> float:
        """The score of one feature vector: the linear part, then the trees'."""
        total = self._linear(x)
        if self.trees is not None:
            total += float(self.trees.scores([x])[0])
        return total

    def _linear(self, x: Sequence[float]) -> float:
        weights = self.weights
        if len(x) != len(weights):
            raise ValueError(f"{len(x)} features given, the model reads {len(weights)}")
        total = self.bias
        # Most features are 0 for most candidates (adding 0.0 changes nothing): only the
        # others, in order, picked in C.
        for i in compress(range(len(weights)), x):
            total += weights[i] * x[i]
        return total

    def probability(self, x: Sequence[float]) -> float:
        """The predicted probability of one feature vector."""
        return _sigmoid(self.logit(x))

    def probabilities(self, rows: Sequence[Sequence[float]]) -> list[float]:
        """``[self.probability(x) for x in rows]``, the trees evaluated for all rows at once
        (the same values to the last bit)."""
        if self.trees is None or not rows:
            return [self.probability(x) for x in rows]
        offsets = self.trees.scores(rows).tolist()
        return [_sigmoid(self._linear(x) + t) for x, t in zip(rows, offsets, strict=True)]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def paired_probabilities(
    first: LinearModel, second: LinearModel, rows: Sequence[Sequence[float]]
) -> tuple[list[float], list[float]]:
    """``[first.probability(x) for x in rows]`` and the same of ``second``, in one pass over
    each vector (the ranker and the absolute model read the same features of every
    candidate). Each sum is accumulated in the order :meth:`LinearModel.logit` uses, over
    the same nonzero features (found by :func:`itertools.compress`, in C: most features
    are 0 for most candidates), so the values are the same to the last bit. Only ``first``
    may have trees (the ranker): they are evaluated for all rows at once and added last, as
    :meth:`LinearModel.logit` adds them.

    Raises:
        ValueError: The rows are not vectors of the models' features, or ``second`` has
            trees.
    """
    if second.trees is not None:
        raise ValueError("paired_probabilities: only the first model may have trees")
    trees = first.trees
    offsets = trees.scores(rows).tolist() if trees is not None and rows else None
    wa, wb = first.weights, second.weights
    positions = range(len(wa))
    exp = math.exp
    out_a: list[float] = []
    out_b: list[float] = []
    for n, x in enumerate(rows):
        if len(x) != len(wa):
            raise ValueError(f"{len(x)} features given, the model reads {len(wa)}")
        a, b = first.bias, second.bias
        for i in compress(positions, x):
            v = x[i]
            a += wa[i] * v
            b += wb[i] * v
        if offsets is not None:
            a += offsets[n]
        # _sigmoid, inlined (two per candidate)
        out_a.append(1.0 / (1.0 + exp(-max(-30.0, min(30.0, a)))))
        out_b.append(1.0 / (1.0 + exp(-max(-30.0, min(30.0, b)))))
    return out_a, out_b


@dataclass(frozen=True)
class SelectionModel:
    """Ranker, confidence model and the refusal threshold fitted with them.

    Attributes:
        version: The artifact's version string (recorded in manifests and answers).
        ranker: Candidate features → probability of holding the answer.
        confidence: Question features → probability that the answer is right.
        absolute: Candidate features → probability of holding the answer, fitted pointwise
            (None in an artifact without it: the confidence model then reads 0).
        threshold: The refusal threshold chosen on held-out data.
        meta: Training data and held-out figures, as written by the training script.
    """

    version: str
    ranker: LinearModel
    confidence: LinearModel
    threshold: float
    meta: dict[str, Any]
    dense: SelectionModel | None = None
    absolute: LinearModel | None = None

    def variant(self, semantic: bool) -> SelectionModel:
        """The pair to use: the dense one when the semantic features are measured."""
        return self.dense if semantic and self.dense is not None else self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SelectionModel:
        """Read the artifact's JSON object.

        Raises:
            RagError: Another format, or features this version does not compute.
        """
        if data.get("format") != MODEL_FORMAT:
            raise RagError(
                f"selection model format {data.get('format')!r} is not {MODEL_FORMAT}; "
                "refit it with benchmarks/train_selection.py"
            )
        dense = data.get("dense")

        def absolute(part: dict[str, Any]) -> LinearModel | None:
            return LinearModel.from_dict(part["absolute"], FEATURES) if "absolute" in part else None

        return cls(
            version=str(data["version"]),
            ranker=LinearModel.from_dict(data["ranker"], FEATURES),
            confidence=LinearModel.from_dict(data["confidence"], CONFIDENCE_FEATURES),
            threshold=float(data["threshold"]),
            meta={
                k: v
                for k, v in data.items()
                if k not in ("ranker", "confidence", "dense", "absolute")
            },
            absolute=absolute(data),
            dense=None
            if dense is None
            else cls(
                version=str(data["version"]),
                ranker=LinearModel.from_dict(dense["ranker"], FEATURES),
                confidence=LinearModel.from_dict(dense["confidence"], CONFIDENCE_FEATURES),
                threshold=float(data["threshold"]),
                meta={},
                absolute=absolute(dense),
            ),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> SelectionModel:
        """Load an artifact; by default the one shipped in the package.

        Raises:
            RagError: Unreadable, or not a selection model of this version.
        """
        if path is None:
            return default_model()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RagError(f"cannot read the selection model {path}: {exc}") from None
        return cls.from_dict(data)


@functools.cache
def default_model() -> SelectionModel:
    """The selection model shipped in ``rag/data/`` (loaded once per process)."""
    text = resources.files("rag").joinpath("data", MODEL_FILE).read_text(encoding="utf-8")
    return SelectionModel.from_dict(json.loads(text))


__all__ = [
    "MODEL_FILE",
    "LinearModel",
    "ObliviousTrees",
    "SelectionModel",
    "default_model",
    "paired_probabilities",
]
