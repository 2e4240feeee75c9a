r"""Fit the weight of the character-bigram BM25 field (``Settings.bigram_weight``, rag.ngrams).

Builds each set's corpus words-only (``bigram_weight=0``, ``--model none``) into ``WORK``
(kept between runs), scores every passage for every question with the index's own word
BM25 and with the bigram field of the same passages (``rag.build._bigram_field``, what a
build appends), and measures document recall@1 / @5 (document = best passage) of
``words + w * bigrams`` over a grid of ``w``.

Fitting: ``w`` maximises the mean recall@1 of the training sets, CMRC 2018 trial and the
questions on DRCD documents with an even number. Held out: the DRCD questions on odd
documents; validation: CMRC 2018 dev (never fitted on). Both scripts are folded to
Simplified first (rag.textnorm), so the weight is the same for both.

    PYTHONPATH=. .venv/bin/python benchmarks/bigram_fusion.py \
        --json benchmarks/results/bigram_fusion.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag import store
from rag.build import _bigram_field, build_index
from rag.ngrams import FIELD, LEGACY_FIELD, character_bigrams
from rag.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
if not BENCH.is_dir():  # a worktree elsewhere than beside ../shared
    BENCH = Path("/work/shared/bench")
SETS = ("cmrc2018_trial", "drcd_dev", "cmrc2018_dev")
GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def _generation(name: str, bench: Path, work: Path) -> Any:
    index = work / name
    settings = Settings.load(
        source=bench / name / "corpus.jsonl", index=index, model="none", bigram_weight=0.0
    )
    build_index(settings=settings, log=lambda _m: None)  # a no-op when up to date
    return store.load_current(index)


def _ranks(name: str, bench: Path, work: Path) -> dict[str, Any]:
    gen = _generation(name, bench, work)
    if gen.lexical.field_weight(FIELD) > 0 or gen.lexical.field_weight(LEGACY_FIELD) > 0:
        raise SystemExit(f"{work / name} was built with a bigram field; remove it")
    items = [json.loads(line) for line in (bench / name / "qa.jsonl").open(encoding="utf-8")]
    bigram = _bigram_field(list(gen.chunks), dict(gen.documents.items()))
    docs = np.array([c.doc_id for c in gen.chunks])
    tok = gen.tokenizer
    words = np.stack([gen.lexical.scores(tok.tokenize(it["question"])) for it in items])
    grams = np.stack([bigram.scores(character_bigrams(it["question"])) for it in items])
    gold = np.array([it["doc_id"] for it in items])
    odd = np.array([int("".join(filter(str.isdigit, d)) or 0) % 2 == 1 for d in gold])
    out: dict[str, Any] = {"questions": len(items), "odd": odd, "at1": {}, "at5": {}}
    for w in GRID:
        scores = words + np.float32(w) * grams
        order = np.argsort(-scores, axis=1, kind="stable")[:, :50]
        ranked = docs[order]
        at1 = ranked[:, 0] == gold
        at5 = np.array([g in list(dict.fromkeys(r))[:5] for r, g in zip(ranked, gold, strict=True)])
        out["at1"][w], out["at5"][w] = at1, at5
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=BENCH)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bigram-fusion"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    start = time.perf_counter()
    runs = {name: _ranks(name, args.bench, args.work) for name in SETS}
    trial, drcd, dev = (runs[n] for n in SETS)

    def recall(run: dict[str, Any], w: float, mask: Any = None, at: str = "at1") -> float:
        hits = run[at][w]
        return float(hits.mean() if mask is None else hits[mask].mean())

    table = []
    for w in GRID:
        row = {
            "weight": w,
            "train": (recall(trial, w) + recall(drcd, w, ~drcd["odd"])) / 2,
            "cmrc_trial@1": recall(trial, w),
            "drcd_even@1": recall(drcd, w, ~drcd["odd"]),
            "drcd_odd@1 (held out)": recall(drcd, w, drcd["odd"]),
            "drcd@1": recall(drcd, w),
            "drcd@5": recall(drcd, w, at="at5"),
            "cmrc_dev@1 (validation)": recall(dev, w),
            "cmrc_dev@5 (validation)": recall(dev, w, at="at5"),
        }
        table.append(row)
        print("  ".join(f"{k} {v:.4f}" for k, v in row.items()), flush=True)
    best = max(table, key=lambda r: (r["train"], -r["weight"]))
    print(f"chosen on training data: weight {best['weight']}")
    print(f"load average {os.getloadavg()[0]:.1f}, {time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"grid": table, "chosen": best}, indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
