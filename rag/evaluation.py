"""Evaluation on labelled questions: retrieval, answer, verbatim, citation and refusal metrics.

Input lines (JSONL): ``question``, ``answers`` (gold spans; empty = the documents do not answer
it), optional ``doc`` / ``doc_id`` (the gold document: an id, or a kind such as ``resolution``),
optional ``law`` and ``article`` (the gold law's title and article label, as in
``laws_dev.jsonl``: a question is then *fully right* when it is answered, its first quote holds a
gold span and that quote's citation names the law and the article) and optional ``kind`` (the
question's type; the report breaks the figures down by it).

Example:
    >>> items = read_qa("seed_qa.jsonl")
    >>> report = evaluate(rag.load("index"), items)
    >>> print(format_report(report))
"""

from __future__ import annotations

import itertools
import re
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import guards
from .assistant import Assistant
from .errors import SourceError
from .schema import Answer, Document, Quote
from .textnorm import normalize


@dataclass(frozen=True)
class QAItem:
    """One labelled question."""

    id: str
    question: str
    answers: tuple[str, ...]
    doc: str | None = None
    law: str | None = None
    article: str | None = None
    kind: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def read_qa(path: str | Path) -> list[QAItem]:
    """Read labelled questions from JSONL.

    Raises:
        SourceError: The file is missing or a line is malformed (file:line in the message).
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    items = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = guards.loads(line, what=f"line {n}")
            answers = row.get("answers") or []
            if not isinstance(row["question"], str) or not isinstance(answers, list):
                raise TypeError("question must be a string and answers a list")
            items.append(
                QAItem(
                    id=str(row.get("id", n)),
                    question=row["question"],
                    answers=tuple(str(a) for a in answers),
                    doc=row.get("doc_id") or row.get("doc"),
                    law=row.get("law") or None,
                    article=row.get("article") or None,
                    kind=row.get("kind") or None,
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SourceError(f"{path}:{n}: not a QA line ({exc})") from None
    if not items:
        raise SourceError(f"{path} holds no questions")
    return items


def doc_matches(doc: Document | None, doc_id: str, gold: str) -> bool:
    """Gold may be the document id, its last path part, or its kind (``resolution``)."""
    if doc_id == gold or doc_id.rsplit("/", 1)[-1] == gold:
        return True
    return doc is not None and doc.kind == gold


@dataclass
class ItemResult:
    """What happened to one question."""

    id: str
    question: str
    answerable: bool
    found: bool
    confidence: float
    rank: int | None
    answer_at_1: bool
    answer_at_3: bool
    citation_ok: bool | None
    verbatim_ok: bool
    latency_ms: float
    first_quote: str = ""
    citation: str = ""
    gold: tuple[str, ...] = ()
    gold_doc: str | None = None
    kind: str | None = None
    # Answered, first quote holds a gold span and (when the item names them) its citation
    # names the gold law and article.
    fully_right: bool = False
    # The first quote's citation names the gold law and article (None: no law named).
    article_ok: bool | None = None


@dataclass
class EvalReport:
    """Aggregated metrics (fractions in [0, 1]; None where the set has no such question)."""

    questions: int
    answerable: int
    unanswerable: int
    recall_at: dict[int, float | None]
    mrr: float | None
    answer_at_1: float | None
    answer_at_3: float | None
    verbatim_rate: float
    citation_accuracy: float | None
    refusal_precision: float | None
    refusal_recall: float | None
    false_refusals: int
    latency_ms_p50: float
    latency_ms_p95: float
    threshold: float
    fully_right: float | None = None
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    confidence_auroc: float | None = None
    items: list[ItemResult] = field(default_factory=list)

    def to_dict(self, with_items: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_items:
            data.pop("items")
        return data


def _contains_gold(quote: Quote, gold: Sequence[str]) -> bool:
    return any(g and g in quote.text for g in gold)


def evaluate(
    assistant: Assistant, items: Sequence[QAItem], *, k: int = 10, mode: str | None = None
) -> EvalReport:
    """Ask every question once and score the answers.

    Args:
        assistant: The assistant to evaluate.
        items: Labelled questions.
        k: Depth of the document ranking used for recall@k and MRR.
        mode: Retrieval mode (default: the assistant's).
    """
    results = []
    for item in items:
        start = time.perf_counter()
        answer = assistant.answer(item.question, k=k, mode=mode)
        latency = (time.perf_counter() - start) * 1000
        results.append(_score(assistant, item, answer, latency))
    return _aggregate(results, assistant.settings.refusal_threshold)


def _score(assistant: Assistant, item: QAItem, answer: Answer, latency: float) -> ItemResult:
    docs = assistant.documents
    ranking = list(dict.fromkeys(h.doc_id for h in answer.hits))
    rank = None
    if item.doc:
        for pos, doc_id in enumerate(ranking, 1):
            if doc_matches(docs.get(doc_id), doc_id, item.doc):
                rank = pos
                break
    quotes = answer.quotes
    verbatim = all(
        q.doc_id in docs and docs[q.doc_id].text[q.start : q.end] == q.text for q in quotes
    )
    citation_ok = None
    if item.doc and item.answerable and quotes:
        citation_ok = doc_matches(docs.get(quotes[0].doc_id), quotes[0].doc_id, item.doc)
    article_ok = None
    if item.law and item.answerable:
        article_ok = bool(quotes) and cites_article(quotes[0].citation, item.law, item.article)
        if citation_ok is None:
            citation_ok = article_ok
    at_1 = bool(quotes) and _contains_gold(quotes[0], item.answers)
    return ItemResult(
        id=item.id,
        question=item.question,
        answerable=item.answerable,
        found=answer.found,
        confidence=answer.confidence,
        rank=rank,
        answer_at_1=at_1,
        answer_at_3=any(_contains_gold(q, item.answers) for q in quotes[:3]),
        citation_ok=citation_ok,
        verbatim_ok=verbatim,
        latency_ms=latency,
        first_quote=quotes[0].text if quotes else "",
        citation=quotes[0].citation if quotes else (answer.hits[0].citation if answer.hits else ""),
        gold=item.answers,
        gold_doc=item.doc,
        kind=item.kind,
        fully_right=answer.found and at_1 and article_ok is not False,
        article_ok=article_ok,
    )


def cites_article(citation: str, law: str, article: str | None) -> bool:
    """True when a citation names the law (in 《》) and, if given, the article as a whole part
    of its path (第十四条 is not 第十四条之一 nor 第一百一十四条). Compared in Simplified script,
    so a Traditional document's 《中華人民共和國勞動合同法》第三十九條 names 第三十九条."""
    citation, law = normalize(citation), normalize(law)
    article = normalize(article) if article else article
    if f"《{law}" not in citation:
        return False
    if not article:
        return True
    # Law-style citations run on into the 款/项 (第三十九条第（二）项): only 之一 extends the label.
    return re.search(rf"{re.escape(article)}(?!之)", citation) is not None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _aggregate(results: list[ItemResult], threshold: float) -> EvalReport:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    gold_docs = [r for r in answerable if r.gold_doc]
    refused = [r for r in results if not r.found]
    latencies = sorted(r.latency_ms for r in results)
    cited = [r for r in answerable if r.citation_ok is not None]
    return EvalReport(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        recall_at={
            n: _ratio(
                sum(1 for r in gold_docs if r.rank is not None and r.rank <= n), len(gold_docs)
            )
            for n in (1, 5, 10)
        },
        mrr=(sum(1 / r.rank for r in gold_docs if r.rank) / len(gold_docs)) if gold_docs else None,
        answer_at_1=_ratio(sum(r.answer_at_1 for r in answerable), len(answerable)),
        answer_at_3=_ratio(sum(r.answer_at_3 for r in answerable), len(answerable)),
        verbatim_rate=sum(r.verbatim_ok for r in results) / len(results) if results else 1.0,
        citation_accuracy=_ratio(sum(bool(r.citation_ok) for r in cited), len(cited)),
        refusal_precision=_ratio(sum(not r.answerable for r in refused), len(refused)),
        refusal_recall=_ratio(sum(not r.found for r in unanswerable), len(unanswerable)),
        false_refusals=sum(1 for r in answerable if not r.found),
        latency_ms_p50=statistics.median(latencies) if latencies else 0.0,
        latency_ms_p95=latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else 0.0,
        threshold=threshold,
        fully_right=_ratio(sum(r.fully_right for r in answerable), len(answerable)),
        by_kind=_by_kind(results),
        confidence_auroc=confidence_auroc(
            [r.confidence for r in answerable if r.answer_at_1],
            [r.confidence for r in results if not (r.answerable and r.answer_at_1)],
        ),
        items=results,
    )


def _by_kind(results: list[ItemResult]) -> dict[str, dict[str, Any]]:
    kinds: dict[str, list[ItemResult]] = {}
    for r in results:
        if r.kind:
            kinds.setdefault(r.kind, []).append(r)
    out = {}
    for kind, rs in sorted(kinds.items()):
        answerable = [r for r in rs if r.answerable]
        out[kind] = {
            "questions": len(rs),
            "fully_right": sum(r.fully_right for r in answerable),
            "answer_at_1": sum(r.answer_at_1 and r.found for r in answerable),
            "refused_unanswerable": sum(not r.found for r in rs if not r.answerable),
            "unanswerable": len(rs) - len(answerable),
        }
    return out


def confidence_auroc(right: Sequence[float], wrong: Sequence[float]) -> float | None:
    """Probability that a right answer's confidence exceeds a wrong one's (ties count half):
    the area under the ROC curve of confidence as a detector of right answers. ``wrong``
    holds answerable questions whose first quote misses and unanswerable questions."""
    if not right or not wrong:
        return None
    ordered = sorted([(c, 1) for c in right] + [(c, 0) for c in wrong])
    # Mann-Whitney U through average ranks.
    rank_sum = 0.0
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        avg = (i + j + 1) / 2
        rank_sum += avg * sum(1 for _, y in ordered[i:j] if y)
        i = j
    n1, n0 = len(right), len(wrong)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def format_report(report: EvalReport, failures: bool = False) -> str:
    """A readable table (and, with ``failures``, each miss with what was answered)."""
    rows = [
        (
            "questions (answerable / unanswerable)",
            f"{report.questions} ({report.answerable} / {report.unanswerable})",
        ),
        ("document recall@1 / @5 / @10", " / ".join(_pct(report.recall_at[n]) for n in (1, 5, 10))),
        ("MRR", "—" if report.mrr is None else f"{report.mrr:.4f}"),
        ("answer@1 (first quote holds a gold span)", _pct(report.answer_at_1)),
        ("answer@3 (any quote holds a gold span)", _pct(report.answer_at_3)),
        ("verbatim rate (quotes that are exact slices)", _pct(report.verbatim_rate)),
        ("citation accuracy (first quote's document)", _pct(report.citation_accuracy)),
        (
            "refusal precision / recall",
            f"{_pct(report.refusal_precision)} / {_pct(report.refusal_recall)}",
        ),
        ("answerable questions refused", str(report.false_refusals)),
        (
            "latency median / p95",
            f"{report.latency_ms_p50:.2f} ms / {report.latency_ms_p95:.2f} ms",
        ),
        ("refusal threshold", f"{report.threshold:.3f}"),
        (
            "confidence AUROC (right answers vs the rest)",
            "—" if report.confidence_auroc is None else f"{report.confidence_auroc:.3f}",
        ),
    ]
    if any(r.article_ok is not None for r in report.items):
        rows.insert(
            5,
            ("fully right (answered, gold span, law and article cited)", _pct(report.fully_right)),
        )
    width = max(len(name) for name, _ in rows)
    lines = [f"{name.ljust(width)}  {value}" for name, value in rows]
    if report.by_kind:
        lines.append("\nby kind:")
        for kind, k in report.by_kind.items():
            answerable = k["questions"] - k["unanswerable"]
            parts = []
            if answerable:
                parts.append(f"fully right {k['fully_right']}/{answerable}")
            if k["unanswerable"]:
                parts.append(f"refused {k['refused_unanswerable']}/{k['unanswerable']}")
            lines.append(f"  {kind}: " + ", ".join(parts))
    if failures:
        misses = [
            r
            for r in report.items
            if (r.answerable and not (r.found and r.answer_at_1))
            or (r.answerable and not r.fully_right)
            or (not r.answerable and r.found)
            or not r.verbatim_ok
        ]
        lines.append(f"\nfailures ({len(misses)}):")
        for r in misses:
            what = (
                f"answered 「{r.first_quote}」 ({r.citation})"
                if r.found
                else f"refused (confidence {r.confidence:.3f}; closest: {r.citation})"
            )
            gold = " | ".join(r.gold) if r.gold else "(unanswerable)"
            lines.append(
                f"- [{r.id}] {r.question}\n    gold: {gold}\n    got:  {what}"
                f"\n    gold document rank: {r.rank}"
            )
    return "\n".join(lines)


@dataclass(frozen=True)
class Calibration:
    """The proposed refusal threshold and the trade-off around it."""

    threshold: float
    correct: int
    total: int
    table: tuple[tuple[float, int, int, int, int], ...]
    # rows: threshold, correct answers, correct refusals, answerable refused, unanswerable answered


def calibrate(assistant: Assistant, items: Sequence[QAItem], *, k: int = 10) -> Calibration:
    """Propose the threshold maximising correct answers plus correct refusals.

    Among equally good thresholds the middle of the widest such interval is taken, so the
    choice does not sit on the edge of one question's confidence.
    """
    rows = []
    for item in items:
        sel = assistant.select(item.question, k=k)
        correct = bool(sel.quotes) and _contains_gold(sel.quotes[0], item.answers)
        rows.append((sel.confidence, item.answerable, correct, bool(sel.quotes)))
    cuts = sorted({0.0, 1.0001, *(c for c, *_ in rows)})
    # Candidate thresholds: midpoints between neighbouring confidences.
    candidates = [0.0] + [(a + b) / 2 for a, b in itertools.pairwise(cuts)]

    def outcome(t: float) -> tuple[int, int, int, int]:
        answered = [(a, c) for conf, a, c, has in rows if has and conf >= t]
        refused = [a for conf, a, _c, has in rows if not (has and conf >= t)]
        return (
            sum(1 for a, c in answered if a and c),
            sum(1 for a in refused if not a),
            sum(1 for a in refused if a),
            sum(1 for a, _ in answered if not a),
        )

    scored = [(t, *outcome(t)) for t in candidates]
    best = max(ca + cr for _, ca, cr, _, _ in scored)
    winners = [t for t, ca, cr, _, _ in scored if ca + cr == best]
    # Widest run of consecutive winning candidates.
    runs: list[list[float]] = []
    for t in candidates:
        if t in winners and runs and runs[-1][-1] == candidates[candidates.index(t) - 1]:
            runs[-1].append(t)
        elif t in winners:
            runs.append([t])
    run = max(runs, key=lambda r: (r[-1] - r[0], -r[0]))
    threshold = round((run[0] + run[-1]) / 2, 4)
    step = [t for t in (0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)]
    table = tuple(sorted({(round(t, 4), *outcome(t)) for t in [*step, threshold]}))
    return Calibration(threshold, best, len(rows), table)


def format_calibration(cal: Calibration) -> str:
    """The proposed threshold and the trade-off table."""
    lines = [
        f"proposed refusal threshold: {cal.threshold:.4f} "
        f"({cal.correct}/{cal.total} correct answers + correct refusals)",
        "",
        "threshold  correct answers  correct refusals  answerable refused  unanswerable answered",
    ]
    for t, ca, cr, fr, fa in cal.table:
        mark = "  <- proposed" if t == cal.threshold else ""
        lines.append(f"{t:9.4f}  {ca:15d}  {cr:16d}  {fr:18d}  {fa:21d}{mark}")
    lines.append("\nset it with RAG_REFUSAL_THRESHOLD or Settings(refusal_threshold=...)")
    return "\n".join(lines)


__all__ = [
    "Calibration",
    "EvalReport",
    "ItemResult",
    "QAItem",
    "calibrate",
    "cites_article",
    "confidence_auroc",
    "doc_matches",
    "evaluate",
    "format_calibration",
    "format_report",
    "read_qa",
]
