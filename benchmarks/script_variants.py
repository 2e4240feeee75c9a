"""Either script, same answers: the public question sets asked in Traditional characters, and
the seed documents stored in Traditional characters.

Readers ask in Simplified or Traditional script, and documents come in either. Nothing in
the question sets is Traditional except two seed_dev questions, so this makes the other
cases with OpenCC (the same library the tokenizer folds with, but the opposite direction):

1. **questions**: every question of ``seed_qa``, ``seed_dev`` and ``laws_dev`` converted
   with OpenCC ``s2t`` (standard Traditional), ``s2tw`` (Taiwan) and ``s2hk`` (Hong Kong),
   asked of the Simplified documents;
2. **documents**: the seed source and the 60 laws converted to Traditional (``s2t``) and
   indexed, the Simplified and the ``s2tw`` questions asked of them; a gold span counts in
   its converted form, every quote must still be an exact slice of the Traditional text,
   and a law's citation must still name the article (第三十九條 for 第三十九条).

Each row is compared with the plain run (Simplified questions, Simplified documents).

Usage::

    .venv/bin/python benchmarks/script_variants.py [--work /tmp/rag-script] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import opencc  # noqa: E402
from shared_data import EVAL, LAWS  # noqa: E402

import rag  # noqa: E402
from rag.evaluation import QAItem, evaluate, read_qa  # noqa: E402

SETS = {
    "seed_qa": ("seed", EVAL / "seed_qa.jsonl"),
    "seed_dev": ("seed", EVAL / "seed_dev.jsonl"),
    "laws_dev": ("laws", EVAL / "laws_dev.jsonl"),
}
CONVERSIONS = ("s2t", "s2tw", "s2hk")


def converted(items: list[QAItem], conversion: str, answers_too: bool = False) -> list[QAItem]:
    """The questions (and, for converted documents, the gold spans) in another script."""
    cc = opencc.OpenCC(conversion)
    return [
        replace(
            item,
            question=cc.convert(item.question),
            answers=tuple(cc.convert(a) for a in item.answers) if answers_too else item.answers,
        )
        for item in items
    ]


def summary(report: rag.evaluation.EvalReport) -> dict[str, object]:
    """The figures a row shows: answered right (fully right for laws), refused, verbatim."""
    right = report.fully_right if report.fully_right is not None else report.answer_at_1
    return {
        "right": round((right or 0.0) * report.answerable),
        "answerable": report.answerable,
        "refused": round((report.refusal_recall or 0.0) * report.unanswerable),
        "unanswerable": report.unanswerable,
        "verbatim": report.verbatim_rate,
    }


def build(source: Path, index: Path) -> rag.Assistant:
    rag.build_index(source, index, model="none")
    return rag.load(index, model="none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-script"))
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    assistants = {
        "seed": build(ROOT / "source", args.work / "seed"),
        "laws": build(LAWS, args.work / "laws"),
    }
    # The documents in Traditional characters (s2t), indexed as a user would.
    cc = opencc.OpenCC("s2t")
    traditional = {}
    for corpus, source in (("seed", ROOT / "source"), ("laws", LAWS)):
        converted_source = args.work / f"{corpus}-s2t-source"
        converted_source.mkdir(exist_ok=True)
        for path in source.iterdir():
            if path.is_file() and path.name != "SOURCES.md":
                text = path.read_text(encoding="utf-8")
                (converted_source / path.name).write_text(cc.convert(text), encoding="utf-8")
        traditional[corpus] = build(converted_source, args.work / f"{corpus}-s2t")

    rows: list[dict[str, object]] = []

    def row(name: str, questions: str, documents: str, report: object) -> None:
        figures = summary(report)  # type: ignore[arg-type]
        rows.append({"set": name, "questions": questions, "documents": documents, **figures})
        print(
            f"| {name} | {questions} | {documents} | {figures['right']}/{figures['answerable']}"
            f" | {figures['refused']}/{figures['unanswerable']}"
            f" | {100 * float(figures['verbatim']):.1f}% |",  # type: ignore[arg-type]
            flush=True,
        )

    print("| set | questions | documents | right | refused | verbatim |")
    print("|---|---|---|---:|---:|---:|")
    for name, (corpus, path) in SETS.items():
        items = read_qa(path)
        row(name, "as given", "Simplified", evaluate(assistants[corpus], items))
        for conversion in CONVERSIONS:
            row(
                name,
                conversion,
                "Simplified",
                evaluate(assistants[corpus], converted(items, conversion)),
            )
        # Gold spans in the documents' own (converted) characters.
        gold = converted(items, "s2t", answers_too=True)
        as_given = [replace(g, question=i.question) for g, i in zip(gold, items, strict=True)]
        trad = traditional[corpus]
        row(name, "as given", "Traditional (s2t)", evaluate(trad, as_given))
        tw = [
            replace(g, question=t.question)
            for g, t in zip(gold, converted(items, "s2tw"), strict=True)
        ]
        row(name, "s2tw", "Traditional (s2t)", evaluate(trad, tw))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    main()
