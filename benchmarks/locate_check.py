"""Pasted passages found, and questions not mistaken for pastes (rag.locate), on QA corpora.

For each corpus: builds a lexical index (into ``--work``), then (1) pastes 50 random body
paragraphs of at least 60 characters (seed 0) and counts those located at their own place,
and (2) counts the questions that the locator would take for a pasted passage (each one
would be answered with its place instead of an answer).

Usage:
    python benchmarks/locate_check.py ../shared/bench/cmrc2018_dev ../shared/bench/drcd_dev
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import rag
from rag.locate import PassageLocator


def check(corpus: Path, work: Path, samples: int = 50) -> dict[str, int]:
    index = work / f"locate-{corpus.name}"
    rag.build_index(corpus / "corpus.jsonl", index, model="none")
    assistant = rag.load(index, model="none")
    locator = PassageLocator(assistant.documents)
    rows = [
        json.loads(line) for line in (corpus / "qa.jsonl").open(encoding="utf-8") if line.strip()
    ]
    taken = sum(locator.locate(r["question"]) is not None for r in rows)
    rng = random.Random(0)
    found = tried = 0
    for doc in rng.sample(list(assistant.documents.values()), samples):
        paragraphs = [p for p in doc.paragraphs if p.end - p.start >= 60]
        if not paragraphs:
            continue
        para = rng.choice(paragraphs)
        tried += 1
        where = locator.locate(doc.text[para.start : para.end])
        found += bool(
            where
            and where.doc_id == doc.doc_id
            and where.start <= para.start + 2
            and where.end >= para.end - 2
        )
    return {"questions": len(rows), "taken_for_pastes": taken, "pasted": tried, "located": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path, help="folders with corpus.jsonl, qa.jsonl")
    parser.add_argument("--work", type=Path, default=Path("/tmp"), help="where indexes are built")
    args = parser.parse_args()
    for corpus in args.corpora:
        print(corpus.name, json.dumps(check(corpus, args.work)))


if __name__ == "__main__":
    main()
