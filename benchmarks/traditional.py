"""Traditional script: which script folding and lexical settings retrieve DRCD documents best?

Reads an index generation already built from a ``corpus.jsonl`` (its passages, sentences and
titles; build one with ``rag build --source ../shared/bench/drcd_dev/corpus.jsonl --index DIR
--model none``), re-tokenizes every passage under each configuration and measures document
recall@1 (document = best passage) on the questions, overall and on the documents with an
even / odd number (two halves, to see what is noise):

* folding: OpenCC ``t2s`` (the default), ``tw2s`` (Taiwan characters, e.g. 控制著 → 控制着),
  ``tw2sp`` (also Taiwan phrases, 軟體 → 软件), each with the variant fold of
  :func:`rag.textnorm.normalize` (甚麼 → 什么) and with the multi-character stopwords added
  to jieba's dictionary (so 哪一種 is cut as one word and dropped);
* BM25 k1 / b;
* jieba ``cut_for_search`` instead of precise mode; character bigrams.

Run it on CMRC 2018 trial (training) and DRCD dev::

    PYTHONPATH=. .venv/bin/python benchmarks/traditional.py GEN_DIR QA.jsonl [--stage all]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rag.textnorm as textnorm
import rag.tokenization as tokenization
from rag import store
from rag.lexical import LexicalIndex


def evaluate(
    gen: Any, items: list[dict[str, Any]], tok: Any, grid: list[tuple[float, float]]
) -> None:
    passages = []
    for c in gen.chunks:
        doc = gen.documents[c.doc_id]
        words = [w for s, e in c.sentences for w in tok.tokenize(doc.text[s:e])]
        passages.append(words + tok.tokenize(" ".join((c.doc_title, *c.section))))
    questions = [tok.tokenize(it["question"]) for it in items]
    doc_of = [c.doc_id for c in gen.chunks]
    even = np.array([int("".join(filter(str.isdigit, it["doc_id"])) or 0) % 2 == 0 for it in items])
    for k1, b in grid:
        index = LexicalIndex.build(passages, k1=k1, b=b)
        ok = []
        for q, it in zip(questions, items, strict=True):
            ids = index.search(q, 5)[0]
            ok.append(len(ids) > 0 and doc_of[ids[0]] == it["doc_id"])
        hit = np.array(ok)
        line = (
            f"k1={k1} b={b}: recall@1 {hit.mean():.4f} "
            f"(even {hit[even].mean():.4f}, odd {hit[~even].mean():.4f})"
        )
        print("   ", line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generation", type=Path)
    parser.add_argument("qa", type=Path)
    parser.add_argument("--stage", choices=["fold", "bm25", "tokens", "all"], default="all")
    args = parser.parse_args()
    gen = store.load_generation(args.generation, verify=False)
    items = [json.loads(line) for line in args.qa.open(encoding="utf-8")]
    texts = list({c.doc_id: gen.documents[c.doc_id].text for c in gen.chunks}.values())

    def tokenizer(extra_terms: bool = False, **kw: Any) -> Any:
        tokenization.default_stopwords.cache_clear()
        terms = tokenization.discover_terms(texts)
        stop = sorted(w for w in tokenization.default_stopwords() if len(w) > 1)
        return tokenization.Tokenizer(user_terms=terms + (stop if extra_terms else []), **kw)

    base = [(1.2, 0.75)]
    if args.stage in ("fold", "all"):
        import opencc

        for config in ("t2s", "tw2s", "tw2sp"):
            for extra in (False, True):
                textnorm._converter = opencc.OpenCC(config)
                print(f"{config}, stopwords in jieba's dictionary: {extra}")
                evaluate(gen, items, tokenizer(extra), base)
        textnorm._converter = None  # back to the default converter
    runs: list[tuple[str, Callable[[], Any], list[tuple[float, float]]]] = []
    if args.stage in ("bm25", "all"):
        grid = [(k1, b) for k1 in (0.9, 1.2, 1.5, 2.0) for b in (0.5, 0.75, 0.9)]
        runs.append(("precise (default)", tokenizer, grid))
    if args.stage in ("tokens", "all"):
        runs.append(("cut_for_search", lambda: tokenizer(mode="search"), base))
        runs.append(("character bigrams", lambda: tokenizer(bigrams=True), base))
    for label, make, grid in runs:
        print(label)
        evaluate(gen, items, make(), grid)


if __name__ == "__main__":
    main()
