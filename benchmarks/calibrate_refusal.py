"""How the refusal threshold (``Settings.refusal_threshold``, 0.40) was chosen.

``rag eval --calibrate`` proposes a threshold for one question set on one index. The shipped
default was calibrated on three sets at once, so that it neither refuses answerable questions
nor answers questions the documents cannot answer:

* ``seed``: ``../shared/eval/seed_qa.jsonl`` on the index of ``source/`` (18 answerable,
  2 unanswerable);
* ``cmrc``: CMRC 2018 dev questions on the CMRC index (3,219 answerable);
* ``cmrc-on-seed``: the same 3,219 CMRC questions asked of the seed index, where none of them
  has an answer (3,219 unanswerable: Wikipedia questions against a Shanghai party resolution).

For every question the script takes the assistant's quote selection and its confidence
(``Assistant.select``, exactly what ``rag eval --calibrate`` uses); a question counts as a
*correct answer* when its confidence reaches the threshold and its first quote holds a gold
span, as a *correct refusal* when it is unanswerable and its confidence stays below. It prints
the trade-off per set and combined for thresholds 0.20–0.60, then the threshold maximising
correct answers + correct refusals on the combined set (the middle of the widest interval of
equally good thresholds, as ``rag.evaluation.calibrate`` does). Indexes are lexical
(``model="none"``): no Chinese embedding model is available on the machine.

Usage::

    .venv/bin/python benchmarks/calibrate_refusal.py [--work /tmp/rag-calibrate] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.evaluation import QAItem, read_qa  # noqa: E402

CMRC = Path("/work/shared/bench/cmrc2018_dev")
SEED_QA = ROOT.parent / "shared" / "eval" / "seed_qa.jsonl"
STEPS = [round(0.20 + 0.05 * i, 2) for i in range(9)]  # 0.20 .. 0.60


@dataclass(frozen=True)
class Row:
    confidence: float
    answerable: bool
    correct: bool  # the first quote holds a gold span
    has_quotes: bool


def collect(assistant: rag.Assistant, items: list[QAItem]) -> list[Row]:
    rows = []
    for item in items:
        sel = assistant.select(item.question, k=10)
        correct = bool(sel.quotes) and any(g and g in sel.quotes[0].text for g in item.answers)
        rows.append(Row(sel.confidence, item.answerable, correct, bool(sel.quotes)))
    return rows


def outcome(rows: list[Row], t: float) -> dict[str, int]:
    """Counts at threshold ``t`` (answered = has quotes and confidence >= t)."""
    out = {"correct_answers": 0, "correct_refusals": 0, "wrong_answers": 0,
           "answerable_refused": 0, "unanswerable_answered": 0}  # fmt: skip
    for r in rows:
        answered = r.has_quotes and r.confidence >= t
        if r.answerable and answered:
            out["correct_answers" if r.correct else "wrong_answers"] += 1
        elif r.answerable:
            out["answerable_refused"] += 1
        elif answered:
            out["unanswerable_answered"] += 1
        else:
            out["correct_refusals"] += 1
    out["score"] = out["correct_answers"] + out["correct_refusals"]
    return out


def optimum(rows: list[Row]) -> tuple[float, float, float, int]:
    """(proposed threshold, low and high end of the best interval, best score).

    Every threshold in ``(cuts[i-1], cuts[i]]`` between two neighbouring confidences gives the
    same outcome; the proposal is the middle of the widest run of such intervals that reach
    the best score.
    """
    cuts = sorted({0.0, 1.0001, *(r.confidence for r in rows)})
    scores = [outcome(rows, t)["score"] for t in cuts]  # cuts[i] stands for (cuts[i-1], cuts[i]]
    best = max(scores)
    runs: list[tuple[float, float]] = []
    previous = False
    for i, s in enumerate(scores):
        if s == best:
            low = cuts[i - 1] if i else 0.0
            if previous:
                runs[-1] = (runs[-1][0], cuts[i])
            else:
                runs.append((low, cuts[i]))
        previous = s == best
    low, high = max(runs, key=lambda r: (r[1] - r[0], -r[0]))
    return round((low + high) / 2, 4), low, high, best


def table(name: str, rows: list[Row], thresholds: list[float]) -> list[str]:
    n_ans = sum(r.answerable for r in rows)
    lines = [
        f"{name}: {len(rows)} questions ({n_ans} answerable, {len(rows) - n_ans} unanswerable)",
        "| threshold | correct answers | correct refusals | wrong answers | answerable refused "
        "| unanswerable answered | correct total |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in thresholds:
        o = outcome(rows, t)
        lines.append(
            f"| {t:.2f} | {o['correct_answers']} | {o['correct_refusals']} | {o['wrong_answers']} "
            f"| {o['answerable_refused']} | {o['unanswerable_answered']} | {o['score']} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="/tmp/rag-calibrate", help="where indexes are built")
    parser.add_argument("--json", help="also write the per-set optimum and tables here")
    args = parser.parse_args()
    work = Path(args.work)
    started = time.perf_counter()
    rag.build_index(ROOT / "source", work / "seed", model="none")
    rag.build_index(CMRC / "corpus.jsonl", work / "cmrc", model="none")
    seed = rag.load(work / "seed", model="none")
    cmrc = rag.load(work / "cmrc", model="none")
    cmrc_items = read_qa(CMRC / "qa.jsonl")
    unanswerable = [QAItem(f"{i.id}-seed", i.question, (), None) for i in cmrc_items]
    sets = {
        "seed": collect(seed, read_qa(SEED_QA)),
        "cmrc": collect(cmrc, cmrc_items),
        "cmrc-on-seed": collect(seed, unanswerable),
    }
    sets["combined"] = [r for rows in sets.values() for r in rows]
    report: dict[str, object] = {"settings_threshold": rag.Settings().refusal_threshold}
    for name, rows in sets.items():
        proposed, low, high, best = optimum(rows)
        print("\n".join(table(name, rows, sorted({*STEPS, proposed}))))
        print(
            f"optimum for {name}: {proposed:.4f} (every threshold in ({low:.4f}, {high:.4f}] "
            f"gives {best}/{len(rows)} correct)\n"
        )
        report[name] = {
            "proposed": proposed,
            "interval": [round(low, 4), round(high, 4)],
            "best": best,
            "questions": len(rows),
            "at": {f"{t:.2f}": outcome(rows, t) for t in STEPS},
        }
    shipped = rag.Settings().refusal_threshold
    print(
        f"shipped threshold {shipped:.2f}: "
        + ", ".join(
            f"{n} {outcome(rows, shipped)['score']}/{len(rows)}" for n, rows in sets.items()
        )
    )
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
