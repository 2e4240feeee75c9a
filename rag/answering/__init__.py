"""From ranked passages to an answer made only of verified verbatim quotes, or a refusal.

The stages, one module each:

1. :mod:`~rag.answering.analysis`: the question's terms, their weights, what it asks for;
2. :mod:`~rag.answering.candidates`: sentences, continuations, lead-ins with their items and
   articles asked for by number, from the top passages;
3. :mod:`~rag.answering.features`: numbers describing each candidate and the question;
4. :mod:`~rag.answering.model`: the fitted ranker and confidence model, loaded from
   ``rag/data/selection_model.json`` (fitted by ``benchmarks/train_selection.py``);
5. :mod:`~rag.answering.quotes`: verified quotes and the refusal decision;
6. :mod:`~rag.answering.formatting`: Markdown;
7. :mod:`~rag.answering.ordering`: the order of the answer's passages (``Answer.hits``).

:class:`AnswerSelector` (:mod:`~rag.answering.selector`) runs stages 1–5 and 7.
"""

from __future__ import annotations

from .formatting import (
    REFUSAL,
    attribution,
    build_answer,
    escape_markdown,
    format_answer,
    format_refusal,
)
from .model import SelectionModel, default_model
from .quotes import Selection, verify_quote
from .selector import AnswerSelector

__all__ = [
    "REFUSAL",
    "AnswerSelector",
    "Selection",
    "SelectionModel",
    "attribution",
    "build_answer",
    "default_model",
    "escape_markdown",
    "format_answer",
    "format_refusal",
    "verify_quote",
]
