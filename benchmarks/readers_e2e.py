"""The resolution as a text file, web pages, a Word file and a PDF: same paragraphs, same answers.

Each format is written from the seed resolution (``tests/format_samples.py``), put alone in a
source directory as ``resolution.<ext>``, built with ``rag build`` (lexical, ``--model none``)
and compared with the text file's build:

- paragraphs: the numbered paragraphs (text and number) equal those of the text file;
- chrome: no word of the page chrome (navigation, share buttons, footer, running header,
  page numbers) in any stored document text;
- answers: for every question of ``seed_qa.jsonl`` whose doc is the resolution, the same
  found/refused decision, the same quotes and the same paragraph numbers as the text file.

Run:
    .venv/bin/python benchmarks/readers_e2e.py [--qa ../shared/eval/seed_qa.jsonl] [--json out]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from format_samples import (  # noqa: E402
    CHROME_WORDS,
    HEADER,
    HTML_STYLES,
    docx_document,
    html_page,
    pdf_document,
    resolution,
    resolution_text,
)

DEFAULT_QA = (
    next(
        (p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()), Path("../shared")
    )
    / "eval"
    / "seed_qa.jsonl"
)


def variants() -> dict[str, tuple[str, bytes]]:
    art = resolution()
    out = {"txt": ("resolution.txt", resolution_text().encode("utf-8"))}
    for style in HTML_STYLES:
        out[f"html-{style}"] = ("resolution.html", html_page(art, style))
    out["docx"] = ("resolution.docx", docx_document(art))
    out["pdf"] = ("resolution.pdf", pdf_document(art))
    out["pdf-第X页"] = ("resolution.pdf", pdf_document(art, footer="第{page}页 共3页"))
    return out


def run(name: str, filename: str, data: bytes, work: Path, questions: list[str]) -> dict:
    import rag

    src = work / name / "src"
    src.mkdir(parents=True)
    (src / filename).write_bytes(data)
    index = work / name / "index"
    start = time.perf_counter()
    cli = subprocess.run(
        [sys.executable, "-m", "rag", "build", "--source", str(src), "--index", str(index),
         "--model", "none"],
        capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    if cli.returncode != 0:
        raise SystemExit(f"rag build failed for {name}: {cli.stderr}")
    seconds = time.perf_counter() - start
    assistant = rag.load(index, model="none")
    docs = list(assistant.documents.values())
    paragraphs = [(d.doc_id, p.number, d.text[p.start : p.end]) for d in docs for p in d.paragraphs]
    texts = "\n".join(d.text for d in docs)
    answers = []
    for q in questions:
        a = assistant.answer(q)
        answers.append(
            {
                "found": a.found,
                "quotes": [(x.text, x.paragraph, x.section) for x in a.quotes],
            }
        )
    return {
        "paragraphs": paragraphs,
        "titles": [d.title for d in docs],
        "chrome": [w for w in (*CHROME_WORDS, HEADER) if w in texts],
        "answers": answers,
        "build_seconds": round(seconds, 2),
        "build_output": (cli.stdout + cli.stderr).strip().splitlines()[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qa", type=Path, default=DEFAULT_QA)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.qa.read_text(encoding="utf-8").splitlines() if line]
    questions = [r["question"] for r in rows if r.get("doc") == "resolution"]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (filename, data) in variants().items():
            results[name] = run(name, filename, data, Path(tmp), questions)
    ref = results["txt"]
    print(f"{len(questions)} questions on the resolution from {args.qa}")
    print(f"{'format':14} {'paras':>5} {'same paras':>10} {'chrome':>6} {'same answers':>12}")
    summary = {}
    for name, res in results.items():
        same_paras = res["paragraphs"] == ref["paragraphs"]
        same = sum(a == b for a, b in zip(res["answers"], ref["answers"], strict=True))
        summary[name] = {
            "paragraphs": len(res["paragraphs"]),
            "same_paragraphs": same_paras,
            "chrome_words": res["chrome"],
            "same_answers": same,
            "questions": len(questions),
            "found": sum(a["found"] for a in res["answers"]),
            "build_seconds": res["build_seconds"],
        }
        print(
            f"{name:14} {len(res['paragraphs']):5d} {same_paras!s:>10} {len(res['chrome']):6d} "
            f"{same:5d}/{len(questions)}"
        )
        if not same_paras:
            for a, b in zip(res["paragraphs"], ref["paragraphs"], strict=False):
                if a != b:
                    print(f"   differs: {a[1]} {a[2][:40]!r} vs {b[1]} {b[2][:40]!r}")
                    break
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
