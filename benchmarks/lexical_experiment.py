"""Which lexical configuration retrieves CMRC 2018 documents best, and how fast is it?

Reads ``/work/shared/bench/cmrc2018_dev/{corpus,qa}.jsonl`` (848 documents, 3,219 questions;
the data is never copied into the repository) and measures document recall@1 and @5 of:

* stage 1, the tokenizer: jieba precise vs ``cut_for_search``, HMM on/off, character bigrams
  on/off, stopwords on/off, discovered user terms on/off (passages, title prepended);
* stage 2, the unit: whole documents vs ~200-character windows of whole sentences (split
  after 。！？) with document score = best passage, or best passage + a share of the
  document-level score; title prepended or not;
* stage 3, BM25: method (lucene, robertson, atire, bm25l, bm25+) and k1/b;
* latency of ``Tokenizer.tokenize`` + ``LexicalIndex.search`` per query (median, p95), and
  of the peer (LangChain ``BM25Retriever`` over ``jieba.lcut`` on whole documents);
* optionally (``--scale N``) query latency and build time over N passages made by
  repeating the corpus, and tokenization throughput with 2 worker processes.

Usage::

    .venv/bin/python benchmarks/lexical_experiment.py            # all stages (~5 min)
    .venv/bin/python benchmarks/lexical_experiment.py --quick    # chosen config only
    .venv/bin/python benchmarks/lexical_experiment.py --scale 1000000 --no-peer
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.lexical import LexicalIndex
from rag.tokenization import Tokenizer, discover_terms

DATA = Path("/work/shared/bench/cmrc2018_dev")
_SENTENCE = re.compile(r"[^。！？!?]*(?:[。！？!?]+[”’」』）)]*|$)")


@dataclass
class Data:
    doc_ids: list[str]
    titles: list[str]
    texts: list[str]
    questions: list[str]
    gold: np.ndarray  # document position of each question


def load(data: Path) -> Data:
    docs = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8")]
    qa = [json.loads(line) for line in (data / "qa.jsonl").open(encoding="utf-8")]
    pos = {d["id"]: i for i, d in enumerate(docs)}
    return Data(
        doc_ids=[d["id"] for d in docs],
        titles=[d["title"] for d in docs],
        texts=[d["text"] for d in docs],
        questions=[q["question"] for q in qa],
        gold=np.array([pos[q["doc_id"]] for q in qa]),
    )


def windows(text: str, size: int = 200) -> list[str]:
    """Greedy windows of whole sentences of about ``size`` characters."""
    sentences = [s for s in _SENTENCE.findall(text) if s.strip()]
    out: list[str] = []
    current = ""
    for sentence in sentences:
        if current and len(current) + len(sentence) > size:
            out.append(current)
            current = ""
        current += sentence
    if current:
        out.append(current)
    return out or [text]


@dataclass
class Passages:
    texts: list[str]
    owner: np.ndarray  # document position of each passage
    starts: np.ndarray  # first passage of each document (passages are grouped by document)


def make_passages(data: Data, size: int = 200) -> Passages:
    texts: list[str] = []
    owner: list[int] = []
    starts: list[int] = []
    for i, text in enumerate(data.texts):
        starts.append(len(texts))
        for window in windows(text, size):
            texts.append(window)
            owner.append(i)
    return Passages(texts, np.array(owner), np.array(starts))


def recall(rankings: list[np.ndarray], gold: np.ndarray) -> tuple[float, float]:
    r1 = np.mean([len(r) > 0 and r[0] == g for r, g in zip(rankings, gold, strict=True)])
    r5 = np.mean([g in r[:5] for r, g in zip(rankings, gold, strict=True)])
    return float(r1), float(r5)


def top_docs(doc_scores: np.ndarray, k: int = 5) -> np.ndarray:
    k = min(k, len(doc_scores))
    cand = np.argpartition(-doc_scores, k - 1)[:k]
    cand = cand[np.lexsort((cand, -doc_scores[cand]))]
    return cand[doc_scores[cand] > 0]


def evaluate(
    query_tokens: list[list[str]],
    gold: np.ndarray,
    passage_index: LexicalIndex | None,
    passages: Passages | None,
    doc_index: LexicalIndex | None,
    alpha: float = 0.0,
) -> tuple[float, float]:
    """Recall of document ranking: best passage (+ alpha * normalised document score)."""
    rankings = []
    for q in query_tokens:
        score = None
        if passage_index is not None and passages is not None:
            ps = passage_index.scores(q)
            score = np.maximum.reduceat(ps, passages.starts)
            if alpha and score.max() > 0:
                score = score / score.max()
        if doc_index is not None:
            ds = doc_index.scores(q)
            if score is None:
                score = ds
            elif ds.max() > 0:
                score = score + alpha * ds / ds.max()
        assert score is not None
        rankings.append(top_docs(score))
    return recall(rankings, gold)


def with_title(title: str, text: str) -> str:
    return f"{title}。{text}"


class Experiment:
    def __init__(self, data: Data, workers: int) -> None:
        self.data = data
        self.workers = workers
        self.passages = make_passages(data)
        self.terms_time = time.perf_counter()
        self.terms = discover_terms(data.texts)
        self.terms_time = time.perf_counter() - self.terms_time
        self._cache: dict[tuple[object, ...], tuple[list[list[str]], ...]] = {}

    def tokens(
        self, tok_key: tuple[str, bool, bool, bool, bool], title: bool
    ) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
        """(passage tokens, document tokens, question tokens) for a tokenizer config."""
        key = (tok_key, title)
        if key not in self._cache:
            mode, hmm, bigrams, stop, terms = tok_key
            tok = Tokenizer(
                self.terms if terms else (),
                None if stop else frozenset(),
                mode=mode,  # type: ignore[arg-type]
                hmm=hmm,
                bigrams=bigrams,
            )
            d, p = self.data, self.passages
            ptexts = [
                with_title(d.titles[o], t) if title else t
                for t, o in zip(p.texts, p.owner, strict=True)
            ]
            ptoks = tok.tokenize_many(ptexts, workers=self.workers)
            title_toks = [tok.tokenize(t) for t in d.titles]
            dtoks: list[list[str]] = [
                list(title_toks[i]) if title else [] for i in range(len(d.texts))
            ]
            for i, o in enumerate(p.owner):
                dtoks[o].extend(ptoks[i][len(title_toks[o]) :] if title else ptoks[i])
            qtoks = [tok.tokenize(q) for q in d.questions]
            self._cache[key] = (ptoks, dtoks, qtoks)
        return self._cache[key]  # type: ignore[return-value]

    def run(
        self,
        tok_key: tuple[str, bool, bool, bool, bool],
        *,
        unit: str,
        title: bool = True,
        alpha: float = 0.0,
        method: str = "lucene",
        k1: float = 1.2,
        b: float = 0.75,
    ) -> tuple[float, float]:
        ptoks, dtoks, qtoks = self.tokens(tok_key, title)
        pidx = didx = None
        if unit in ("passage", "combined"):
            pidx = LexicalIndex.build(ptoks, k1=k1, b=b, method=method)
        if unit in ("document", "combined"):
            didx = LexicalIndex.build(dtoks, k1=k1, b=b, method=method)
        return evaluate(qtoks, self.data.gold, pidx, self.passages, didx, alpha)


def tok_name(key: tuple[str, bool, bool, bool, bool]) -> str:
    mode, hmm, bigrams, stop, terms = key
    return (
        f"{mode:7s} hmm={'on ' if hmm else 'off'} bigrams={'on ' if bigrams else 'off'} "
        f"stop={'on ' if stop else 'off'} terms={'on ' if terms else 'off'}"
    )


def latency(
    fn: Callable[[str], object], queries: Sequence[str], repeat: int = 3
) -> tuple[float, float]:
    """Median and p95 per-query time in microseconds (best of ``repeat`` passes per query)."""
    for q in queries[:200]:
        fn(q)
    times = []
    for q in queries:
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn(q)
            best = min(best, time.perf_counter() - t)
        times.append(best)
    arr = np.array(times) * 1e6
    return float(np.median(arr)), float(np.percentile(arr, 95))


def latency_single(fn: Callable[[str], object], queries: Sequence[str]) -> tuple[float, float]:
    """Median and p95 of one timed call per query, in microseconds."""
    for q in queries[:200]:
        fn(q)
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append(time.perf_counter() - t)
    arr = np.array(times) * 1e6
    return float(np.median(arr)), float(np.percentile(arr, 95))


def peer(data: Data) -> dict[str, float]:
    """LangChain BM25Retriever + jieba.lcut on whole documents (the reference to beat)."""
    import jieba
    from langchain_community.retrievers import BM25Retriever

    jieba.setLogLevel(60)
    retriever = BM25Retriever.from_texts(
        data.texts,
        metadatas=[{"i": i} for i in range(len(data.texts))],
        preprocess_func=jieba.lcut,
        k=5,
    )
    rankings = [np.array([d.metadata["i"] for d in retriever.invoke(q)]) for q in data.questions]
    r1, r5 = recall(rankings, data.gold)
    med, p95 = latency_single(retriever.invoke, data.questions[:1000])
    return {"recall@1": r1, "recall@5": r5, "median_us": med, "p95_us": p95}


def scale_test(data: Data, passages: Passages, n: int, tokenizer: Tokenizer) -> dict[str, float]:
    """Query latency and build time over ``n`` passages made by repeating the corpus."""
    out: dict[str, float] = {}
    sample = passages.texts[:4000]
    t = time.perf_counter()
    tokenizer.tokenize_many(sample, workers=2)
    per = (time.perf_counter() - t) / len(sample)
    out["tokenize_2workers_us_per_passage"] = per * 1e6
    out["tokenize_1e6_passages_min_est"] = per * 1e6 / 60
    base = tokenizer.tokenize_many(passages.texts, workers=2)
    reps = -(-n // len(base))
    corpus = list(itertools.islice(itertools.chain.from_iterable(itertools.repeat(base, reps)), n))
    t = time.perf_counter()
    index = LexicalIndex.build(corpus)
    out["build_s"] = time.perf_counter() - t
    del corpus
    out["passages"] = float(len(index))
    qtoks = [tokenizer.tokenize(q) for q in data.questions[:500]]
    times = []
    for q in qtoks:
        t = time.perf_counter()
        index.search(q, 10)
        times.append(time.perf_counter() - t)
    out["search_median_ms"] = statistics.median(times) * 1e3
    out["search_p95_ms"] = float(np.percentile(times, 95)) * 1e3
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--quick", action="store_true", help="measure the chosen config only")
    parser.add_argument("--no-peer", action="store_true", help="skip the LangChain peer")
    parser.add_argument("--scale", type=int, default=0, help="also test N repeated passages")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write all results here as JSON")
    args = parser.parse_args()

    data = load(args.data)
    exp = Experiment(data, args.workers)
    results: dict[str, object] = {
        "documents": len(data.texts),
        "questions": len(data.questions),
        "passages": len(exp.passages.texts),
        "discovered_terms": len(exp.terms),
        "discover_terms_s": exp.terms_time,
    }
    print(
        f"{len(data.texts)} documents, {len(exp.passages.texts)} passages, "
        f"{len(data.questions)} questions, {len(exp.terms)} discovered terms "
        f"({exp.terms_time:.1f} s)"
    )
    chosen = ("precise", False, False, True, True)

    def row(label: str, r: tuple[float, float]) -> None:
        print(f"| {label:70s} | {r[0]:.4f} | {r[1]:.4f} |", flush=True)

    if not args.quick:
        print("\n## stage 1: tokenizer (~200-char passages, title prepended, doc = best passage)")
        print("| variant | R@1 | R@5 |\n|---|---|---|")
        stage1 = {}
        for mode, hmm, bigrams, stop, terms in itertools.product(
            ("precise", "search"), (True, False), (False, True), (True, False), (False, True)
        ):
            key = (mode, hmm, bigrams, stop, terms)
            r = exp.run(key, unit="passage")
            stage1[tok_name(key)] = r
            row(tok_name(key), r)
        results["stage1"] = stage1

        print("\n## stage 2: unit and title (tokenizer: " + tok_name(chosen) + ")")
        print("| variant | R@1 | R@5 |\n|---|---|---|")
        stage2 = {}
        for title in (True, False):
            for unit, alpha in (
                ("document", 0.0),
                ("passage", 0.0),
                ("combined", 0.3),
                ("combined", 0.5),
                ("combined", 1.0),
            ):
                label = f"{unit}{f' alpha={alpha}' if unit == 'combined' else ''} title={title}"
                r = exp.run(chosen, unit=unit, title=title, alpha=alpha)
                stage2[label] = r
                row(label, r)
        results["stage2"] = stage2

        print("\n## stage 3: BM25 variant and parameters (passage, title)")
        print("| variant | R@1 | R@5 |\n|---|---|---|")
        stage3 = {}
        for method in ("lucene", "robertson", "atire", "bm25l", "bm25+"):
            r = exp.run(chosen, unit="passage", method=method)
            stage3[f"{method} k1=1.2 b=0.75"] = r
            row(f"{method} k1=1.2 b=0.75", r)
        for k1, b in itertools.product((0.6, 0.9, 1.2, 1.5, 2.0), (0.3, 0.5, 0.75, 0.9)):
            r = exp.run(chosen, unit="passage", k1=k1, b=b)
            stage3[f"lucene k1={k1} b={b}"] = r
            row(f"lucene k1={k1} b={b}", r)
        results["stage3"] = stage3

    print("\n## chosen: " + tok_name(chosen) + ", passages + title, lucene k1=1.2 b=0.75")
    r = exp.run(chosen, unit="passage")
    results["chosen"] = r
    print(f"recall@1 {r[0]:.4f}  recall@5 {r[1]:.4f}")

    tok = Tokenizer(exp.terms)
    ptoks, _, _ = exp.tokens(chosen, True)
    index = LexicalIndex.build(ptoks)
    med, p95 = latency_single(lambda q: index.search(tok.tokenize(q), 10), data.questions)
    qt = {q: tok.tokenize(q) for q in data.questions}
    smed, sp95 = latency_single(lambda q: index.search(qt[q], 10), data.questions)
    tmed, tp95 = latency_single(tok.tokenize, data.questions)
    results["latency_us"] = {
        "tokenize+search": [med, p95],
        "search": [smed, sp95],
        "tokenize": [tmed, tp95],
    }
    print(
        f"latency per query over {len(index)} passages: tokenize+search median {med:.0f} µs "
        f"(p95 {p95:.0f}); search {smed:.0f} µs (p95 {sp95:.0f}); tokenize {tmed:.0f} µs"
    )

    if not args.no_peer:
        p = peer(data)
        results["peer"] = p
        print(
            f"peer BM25Retriever+jieba.lcut: recall@1 {p['recall@1']:.4f} recall@5 "
            f"{p['recall@5']:.4f}; median {p['median_us']:.0f} µs (p95 {p['p95_us']:.0f})"
        )

    if args.scale:
        s = scale_test(data, exp.passages, args.scale, tok)
        results["scale"] = s
        print("scale:", json.dumps(s))

    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
