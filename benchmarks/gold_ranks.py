"""Where does the gold passage or article rank, by question kind, under each signal?

For every answerable question of a QA file (``laws_dev.jsonl`` by default) over an index built
with the default embedder (USE multilingual v3), the rank of the best gold unit (a passage
holding a gold span, or the statute article — passages of one document sharing a section
path — that holds one) is computed over the whole corpus under:

- ``lexical``: the index's BM25 (words + character bigrams), as ``rag search`` ranks;
- ``dense-passage``: cosine with the passage vector (the normalised mean of its sentences,
  what FAISS holds);
- ``dense-sentence``: the maximum cosine over the passage's sentences;
- ``hybrid-passage`` / ``hybrid-sentence``: ``alpha`` · min-max(lexical) + (1 − ``alpha``) ·
  min-max(dense) over the top ``--depth`` of each, as ``rag.retrieval`` fuses;
- ``dense-article``: cosine with the article vector (the normalised mean of all the
  article's sentences); its passages share that score, so read it at article level;
- ``reduced`` / ``reduced-article``: the dense-sentence / dense-article score of the
  question reduced to its content words (jieba words of IDF ≥ a quantile of the question's
  IDFs, in order, single characters dropped unless indexed), embedded by the same model;
- ``prf``: dense-sentence score of a Rocchio query, the question vector plus ``beta`` times
  the mean vector of the top ``m`` passages of the hybrid ranking.

With ``--clauses N`` the top N articles of the passage vectors are also re-ranked by their best
clause window (one or two adjacent clauses, embedded on the fly).

Article level takes, for each signal, an article's best passage score. The constants of
``reduced`` and ``prf`` (quantile, beta) are chosen on the questions that are NOT of the
``--held-out`` kind (default ``everyday``) and then reported on that kind, so the
everyday figure is held out.

Usage::

    python -m rag build --source ../shared/corpora/laws --index /tmp/laws-use
    python benchmarks/gold_ranks.py --index /tmp/laws-use \\
        [--clauses 50] [--json benchmarks/results/gold_ranks.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thesaurus_expansion import LAWS_DEV  # noqa: E402  (where the shared data lives)

import rag  # noqa: E402
from rag.ngrams import FIELD, LEGACY_FIELD, character_bigrams  # noqa: E402
from rag.vectors import SENTENCE_VECTORS, mean_rows  # noqa: E402

CUTS = (1, 5, 20, 100)
_ARTICLE = re.compile(r"第[零〇一二三四五六七八九十百千]+条(?:之[一二三四五六七八九十]+)?")


def _minmax_top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Min-max over the top ``depth`` (as ``rag.retrieval._weighted``), 0 elsewhere."""
    top = np.argpartition(-scores, depth)[:depth]
    lo, hi = scores[top].min(), scores[top].max()
    out = np.zeros_like(scores, dtype=np.float32)
    out[top] = (scores[top] - lo) / ((hi - lo) or 1.0)
    return out


def _article_of(section: tuple[str, ...]) -> tuple[str, ...]:
    """The section path up to its article (第…条, 第…条之一), so items share their article."""
    for i, part in enumerate(section):
        if _ARTICLE.fullmatch(part):
            return section[: i + 1]
    return section


def _gold(corpus: Corpus, it: dict[str, Any]) -> list[int]:
    """Passages of the gold article holding a gold span (all its passages when none does);
    without a law and article, every passage holding a span."""
    spans = [i for i, t in enumerate(corpus.texts) if any(a in t for a in it["answers"])]
    if not it.get("law") or not it.get("article"):
        return spans
    key = (it["law"], it["article"])
    article = [
        i
        for i, (title, path) in enumerate(corpus.labels)
        if (title, path[-1:]) == (key[0], (key[1],))
    ]
    return [i for i in article if i in set(spans)] or article


def _rank(scores: np.ndarray, gold: list[int]) -> int:
    best = max(scores[i] for i in gold)
    return int((scores > best).sum()) + 1


class Corpus:
    """The index's passages, their sentence and passage vectors, and their articles."""

    def __init__(self, index: Path, depth: int) -> None:
        self.assistant = rag.load(index)
        state = self.assistant._state
        self.gen, self.retriever = state.generation, state.retriever
        if not self.retriever.has_dense:
            raise SystemExit(f"{index} has no vectors: build it with the default embedder")
        self.lex, self.tok = self.gen.lexical, self.gen.tokenizer
        self.references = self.lex.field_weight(FIELD) > 0
        self.bigrams = self.references or self.lex.field_weight(LEGACY_FIELD) > 0
        n = len(self.gen.chunks)
        chunks = self.gen.chunks.take(list(range(n)))
        self.texts = [c.text for c in chunks]
        counts = np.array([len(c.sentences) for c in chunks], dtype=np.int64)
        matrix = np.load(self.gen.path / SENTENCE_VECTORS, mmap_mode="r")
        self.sentences = np.asarray(matrix, dtype=np.float32)
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self.counts = counts
        self.passages = mean_rows(self.sentences, counts.tolist())
        keys: dict[tuple[str, tuple[str, ...]], int] = {}
        self.labels = [(c.doc_title, _article_of(c.section)) for c in chunks]
        self.article = np.array(
            [keys.setdefault((c.doc_id, _article_of(c.section)), len(keys)) for c in chunks],
            dtype=np.int64,
        )
        self.n_articles = len(keys)
        self.depth = depth
        # One vector per article: the normalised mean of all its sentences.
        order = np.argsort(self.article, kind="stable")
        rows = np.concatenate(
            [np.arange(self.starts[p], self.starts[p] + counts[p]) for p in order]
        ).astype(np.int64)
        sizes = np.bincount(self.article, weights=counts, minlength=self.n_articles)
        self.articles = mean_rows(self.sentences[rows], sizes.astype(np.int64).tolist())

    def lexical(self, question: str) -> np.ndarray:
        tokens = self.tok.tokenize(question)
        if self.bigrams:
            tokens = [*tokens, *character_bigrams(question, references=self.references)]
        return np.asarray(self.lex.scores(tokens), dtype=np.float32)

    def embed(self, text: str) -> np.ndarray:
        vector = self.retriever.query_vector(text)
        assert vector is not None
        return np.asarray(vector, dtype=np.float32).reshape(-1)

    def sentence_max(self, vector: np.ndarray) -> np.ndarray:
        sims = self.sentences @ vector
        out = np.full(len(self.counts), -1.0, dtype=np.float32)
        nonempty = self.counts > 0
        out[nonempty] = np.maximum.reduceat(sims, self.starts[nonempty])
        # A passage without sentences keeps its passage cosine.
        out[~nonempty] = self.passages[~nonempty] @ vector
        return out

    def hybrid(self, lexical: np.ndarray, dense: np.ndarray, alpha: float) -> np.ndarray:
        return alpha * _minmax_top(lexical, self.depth) + (1 - alpha) * _minmax_top(
            dense, self.depth
        )

    def per_article(self, scores: np.ndarray) -> np.ndarray:
        out = np.full(self.n_articles, -np.inf, dtype=np.float32)
        np.maximum.at(out, self.article, scores)
        return out

    def reduce(self, question: str, quantile: float) -> str:
        """The question's content words: jieba words whose IDF reaches the quantile."""
        words = [w for w in self.tok.tokenize(question) if len(w) > 1 or self.lex.df(w) > 0]
        if not words:
            return question
        idf = [self.lex.idf(w) if self.lex.df(w) else self.lex.max_idf for w in words]
        cut = float(np.quantile(idf, quantile))
        kept = [w for w, v in zip(words, idf, strict=True) if v >= cut]
        return "".join(dict.fromkeys(kept)) or question


Signal = Callable[[dict[str, Any]], np.ndarray]


def signals(
    corpus: Corpus, alpha: float, quantile: float, beta: float, m: int
) -> dict[str, Signal]:
    def lexical(it: dict[str, Any]) -> np.ndarray:
        return corpus.lexical(it["question"])

    def dense_passage(it: dict[str, Any]) -> np.ndarray:
        return corpus.passages @ corpus.embed(it["question"])

    def dense_sentence(it: dict[str, Any]) -> np.ndarray:
        return corpus.sentence_max(corpus.embed(it["question"]))

    def hybrid_passage(it: dict[str, Any]) -> np.ndarray:
        return corpus.hybrid(lexical(it), dense_passage(it), alpha)

    def hybrid_sentence(it: dict[str, Any]) -> np.ndarray:
        return corpus.hybrid(lexical(it), dense_sentence(it), alpha)

    def dense_article(it: dict[str, Any]) -> np.ndarray:
        # Every passage carries its article's score (passage ranks then tie within articles).
        return (corpus.articles @ corpus.embed(it["question"]))[corpus.article]

    def reduced_article(it: dict[str, Any]) -> np.ndarray:
        vector = corpus.embed(corpus.reduce(it["question"], quantile))
        return (corpus.articles @ vector)[corpus.article]

    def reduced(it: dict[str, Any]) -> np.ndarray:
        return corpus.sentence_max(corpus.embed(corpus.reduce(it["question"], quantile)))

    def prf(it: dict[str, Any]) -> np.ndarray:
        q = corpus.embed(it["question"])
        first = hybrid_sentence(it)
        top = np.argsort(-first)[:m]
        centroid = corpus.passages[top].mean(axis=0)
        v = q + beta * centroid
        return corpus.sentence_max(v / (np.linalg.norm(v) or 1.0))

    return {
        "lexical": lexical,
        "dense-passage": dense_passage,
        "dense-sentence": dense_sentence,
        "hybrid-passage": hybrid_passage,
        "hybrid-sentence": hybrid_sentence,
        "dense-article": dense_article,
        "reduced": reduced,
        "reduced-article": reduced_article,
        "prf": prf,
    }


def ranks(
    corpus: Corpus, items: list[dict[str, Any]], gold: dict[str, list[int]], signal: Signal
) -> dict[str, tuple[int, int]]:
    """Question id → (passage rank, article rank) of its best gold unit."""
    out = {}
    for it in items:
        scores = signal(it)
        articles = sorted({int(corpus.article[i]) for i in gold[it["id"]]})
        out[it["id"]] = (_rank(scores, gold[it["id"]]), _rank(corpus.per_article(scores), articles))
    return out


def summary(values: list[int]) -> dict[str, Any]:
    return {f"@{c}": sum(v <= c for v in values) for c in CUTS} | {
        "median": statistics.median(values),
        "n": len(values),
    }


def _auroc(positives: list[float], negatives: list[float]) -> float | None:
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def separability(corpus: Corpus, qa: Path, held_out: str, report: dict[str, Any]) -> dict[str, Any]:
    """Could the best dense cosine tell an answerable question from an unanswerable one?

    The top passage cosine of every question, by kind (unanswerable questions included), and
    the AUROC of the questions whose gold article the dense side ranks first against the
    unanswerable ones (1.0: a threshold separates them; 0.5: chance), for all answerable kinds
    and for the held-out kind alone.
    """
    items = [json.loads(line) for line in qa.open(encoding="utf-8")]
    first = report["signals"]["dense-passage"]["per_question"]
    tops: dict[str, list[float]] = {}
    found: list[float] = []
    found_held_out: list[float] = []
    for it in items:
        kind = it.get("kind", "-") if it.get("answers") else "unanswerable"
        top = float((corpus.passages @ corpus.embed(it["question"])).max())
        tops.setdefault(kind, []).append(top)
        if it["id"] in first and first[it["id"]][1] == 1 and kind != "unanswerable":
            found.append(top)
            if kind == held_out:
                found_held_out.append(top)
    out: dict[str, Any] = {
        k: {"median": statistics.median(v), "min": min(v), "max": max(v)}
        for k, v in sorted(tops.items())
    }
    negatives = tops.get("unanswerable", [])
    out["auroc_dense_first_vs_unanswerable"] = _auroc(found, negatives)
    out[f"auroc_dense_first_{held_out}_vs_unanswerable"] = _auroc(found_held_out, negatives)
    for k, v in out.items():
        print(f"top dense cosine {k}: {v}")
    return out


_CLAUSE_END = re.compile(r"(?<=[，；：。！？])")


def clause_windows(
    corpus: Corpus, items: list[dict[str, Any]], gold: dict[str, list[int]], top: int
) -> dict[str, Any]:
    """Re-rank the ``top`` articles of the passage vectors by their best clause window.

    A window is one clause or two adjacent ones (split after ，；：。！？), embedded on the fly
    (the index stores sentence vectors only). Returns the gold article's rank before and after
    by kind; a question whose gold article is not in the ``top`` counts as not found.
    """
    embedder = corpus.retriever.embedder
    assert embedder is not None
    cache: dict[int, np.ndarray] = {}
    by_kind: dict[str, list[tuple[int, int]]] = {}
    for it in items:
        q = corpus.embed(it["question"])
        wanted = {int(corpus.article[i]) for i in gold[it["id"]]}
        shortlist = list(np.argsort(-corpus.per_article(corpus.passages @ q))[:top])
        best: dict[int, float] = {}
        for art in shortlist:
            for p in np.nonzero(corpus.article == art)[0]:
                if p not in cache:
                    parts = [x for x in _CLAUSE_END.split(corpus.texts[p]) if x.strip()]
                    windows = parts + [a + b for a, b in itertools.pairwise(parts)]
                    cache[p] = np.asarray(embedder.embed(windows)) if windows else np.zeros((0, 1))
                if len(cache[p]):
                    best[art] = max(best.get(art, -1.0), float((cache[p] @ q).max()))
        reranked = sorted(shortlist, key=lambda a: -best.get(a, -1.0))
        before = next((i + 1 for i, a in enumerate(shortlist) if a in wanted), top + 1)
        after = next((i + 1 for i, a in enumerate(reranked) if a in wanted), top + 1)
        by_kind.setdefault(it.get("kind", "-"), []).append((before, after))
    out = {}
    for kind, pairs in sorted(by_kind.items()):
        out[kind] = {
            "passage_vector": summary([b for b, _ in pairs]),
            "clause_window": summary([a for _, a in pairs]),
        }
        print(f"clause windows {kind}: {out[kind]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index with USE vectors")
    parser.add_argument("--qa", type=Path, default=LAWS_DEV)
    parser.add_argument("--held-out", default="everyday", help="kind the constants never see")
    parser.add_argument("--alpha", type=float, default=0.5, help="lexical weight of hybrid")
    parser.add_argument("--depth", type=int, default=100, help="fusion depth of each side")
    parser.add_argument("--quantiles", nargs="+", type=float, default=[0.0, 0.25, 0.5, 0.75])
    parser.add_argument("--betas", nargs="+", type=float, default=[0.0, 0.5, 1.0, 2.0])
    parser.add_argument("--prf-depth", type=int, default=5)
    parser.add_argument(
        "--clauses", type=int, default=0, help="re-rank this many articles by clause windows"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    corpus = Corpus(args.index, args.depth)
    items = [json.loads(line) for line in args.qa.open(encoding="utf-8")]
    items = [it for it in items if it.get("answers")]
    gold = {it["id"]: _gold(corpus, it) for it in items}
    missing = [k for k, v in gold.items() if not v]
    items = [it for it in items if gold[it["id"]]]
    fit = [it for it in items if it.get("kind") != args.held_out]

    def fit_score(signal: Signal) -> float:
        # Mean reciprocal article rank on the fitting questions (never the held-out kind).
        return float(np.mean([1 / r[1] for r in ranks(corpus, fit, gold, signal).values()]))

    base = signals(corpus, args.alpha, 0.0, 0.0, args.prf_depth)
    fitted: dict[str, Any] = {}
    q_scores = {
        q: fit_score(signals(corpus, args.alpha, q, 0.0, args.prf_depth)["reduced"])
        for q in args.quantiles
    }
    quantile = max(q_scores, key=lambda q: q_scores[q])
    b_scores = {
        b: fit_score(signals(corpus, args.alpha, 0.0, b, args.prf_depth)["prf"]) for b in args.betas
    }
    beta = max(b_scores, key=lambda b: b_scores[b])
    fitted = {"quantile": quantile, "quantile_mrr": q_scores, "beta": beta, "beta_mrr": b_scores}
    print(f"fitted on {len(fit)} questions not of kind {args.held_out}: {fitted}")
    chosen = signals(corpus, args.alpha, quantile, beta, args.prf_depth)
    report: dict[str, Any] = {
        "index": str(args.index),
        "alpha": args.alpha,
        "fitted": fitted,
        "no_gold_passage": missing,
        "signals": {},
    }
    kinds = sorted({it.get("kind", "-") for it in items})
    for name in base:
        got = ranks(corpus, items, gold, chosen[name])
        row: dict[str, Any] = {"per_question": got}
        for level, pos in (("passage", 0), ("article", 1)):
            row[level] = {
                k: summary([got[it["id"]][pos] for it in items if it.get("kind", "-") == k])
                for k in kinds
            }
            cells = "  ".join(
                f"{k[:10]} {v['@1']}/{v['@5']}/{v['@20']} med {v['median']:g}"
                for k, v in row[level].items()
            )
            print(f"{name:16} {level:8} {cells}")
        report["signals"][name] = row
    report["separability"] = separability(corpus, args.qa, args.held_out, report)
    if args.clauses:
        report["clause_windows"] = clause_windows(corpus, items, gold, args.clauses)
    if args.json:
        args.json.write_text(
            json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
