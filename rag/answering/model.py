"""The fitted selection model: load it from its artifact and predict, nothing else.

``benchmarks/train_selection.py`` fits logistic regressions offline (scikit-learn) and
writes their coefficients to ``rag/data/selection_model.json`` (the artifact is small, plain
JSON and versioned: its ``version`` and training data are recorded in every index manifest).
At run time prediction is a dot product, so answering needs neither scikit-learn nor numpy.

* the **ranker** maps a candidate's :data:`~rag.answering.features.FEATURES` to the
  probability that it holds the answer: fitted pairwise (a candidate that holds the answer
  against one of the same question that does not), then calibrated on its score, so it
  orders the candidates of a question;
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
from dataclasses import dataclass
from importlib import resources
from itertools import compress
from pathlib import Path
from typing import Any

from ..errors import RagError
from .features import CONFIDENCE_FEATURES, FEATURES

MODEL_FORMAT = 1
MODEL_FILE = "selection_model.json"


@dataclass(frozen=True)
class LinearModel:
    """A logistic regression folded into one weight per feature and a bias."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: Sequence[str]) -> LinearModel:
        """Build from the artifact's ``{features, mean, scale, coef, intercept}``.

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
        return cls(features, weights, bias)

    def logit(self, x: Sequence[float]) -> float:
        """The linear score of one feature vector."""
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


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def paired_probabilities(
    first: LinearModel, second: LinearModel, rows: Sequence[Sequence[float]]
) -> tuple[list[float], list[float]]:
    """``[first.probability(x) for x in rows]`` and the same of ``second``, in one pass over
    each vector (the ranker and the absolute model read the same features of every
    candidate). Each sum is accumulated in the order :meth:`LinearModel.logit` uses, over
    the same nonzero features (found by :func:`itertools.compress`, in C: most features
    are 0 for most candidates), so the values are the same to the last bit."""
    wa, wb = first.weights, second.weights
    positions = range(len(wa))
    exp = math.exp
    out_a: list[float] = []
    out_b: list[float] = []
    for x in rows:
        if len(x) != len(wa):
            raise ValueError(f"{len(x)} features given, the model reads {len(wa)}")
        a, b = first.bias, second.bias
        for i in compress(positions, x):
            v = x[i]
            a += wa[i] * v
            b += wb[i] * v
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


__all__ = ["MODEL_FILE", "LinearModel", "SelectionModel", "default_model", "paired_probabilities"]
