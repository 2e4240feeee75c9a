"""pdfplumber or pypdf for PDFs with a text layer? A measurement.

PDFs of the seed resolution drawn with reportlab (CJK CID font STSong-Light, first-line
indents, lines wrapping mid-sentence, a running header and page numbers; three variants:
``- N -`` footers, ``第N页 共3页`` footers, a wider column). For each library:

- lost / extra: body characters (whitespace ignored) missing from / added to the page text
  against the article, after removing the header and page-number lines by the library's own
  text alone (what a reader without geometry could do);
- geometry: whether the library gives each line's x/y position and font size, which the
  paragraph rebuild needs (first-line indent, short last line, title size);
- exact: share of paragraphs our reader (``rag.parsing.readers.pdf``, pdfplumber) rebuilds
  exactly, with its page; chrome left: header/page-number lines in its output.

Run:
    .venv/bin/python benchmarks/readers_pdf.py [--json benchmarks/results/readers_pdf.json]
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from format_samples import HEADER, pdf_document, resolution  # noqa: E402

_CHROME_LINE = re.compile(rf"^\s*(?:{HEADER}|-\s*\d+\s*-|第\d+页 共\d+页)\s*$")


def _compare(want: str, got: str) -> tuple[int, int]:
    a, b = re.sub(r"\s+", "", want), re.sub(r"\s+", "", got)
    matched = sum(
        m.size for m in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    )
    return len(a) - matched, len(b) - matched


def pypdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    return "\n".join(line for p in pages for line in p.splitlines() if not _CHROME_LINE.match(line))


def pdfplumber_text(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = [page.extract_text() or "" for page in pdf.pages]
    return "\n".join(line for p in pages for line in p.splitlines() if not _CHROME_LINE.match(line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from rag.parsing.readers.pdf import read_pdf

    art = resolution()
    want = "".join(art.blocks)
    variants = {
        "- N - footer": pdf_document(art),
        "第N页 共3页 footer": pdf_document(art, footer="第{page}页 共3页"),
        "wide column": pdf_document(art, chars_per_line=34),
    }
    results: dict[str, dict] = {}
    for lib, fn, geometry in (("pypdf", pypdf_text, False), ("pdfplumber", pdfplumber_text, True)):
        rows = {}
        start = time.perf_counter()
        for name, data in variants.items():
            lost, extra = _compare(want, fn(data))
            rows[name] = {"lost": lost, "extra": extra}
        ms = (time.perf_counter() - start) * 1000 / len(variants)
        results[lib] = {"pages": rows, "geometry": geometry, "ms_per_pdf": round(ms, 1)}
    ours: dict[str, dict] = {}
    start = time.perf_counter()
    for name, data in variants.items():
        doc = read_pdf(data, Path("r.pdf"))
        got = [b.text for b in doc.blocks]
        exact = sum(1 for b in art.blocks if b in got) / len(art.blocks)
        lost, extra = _compare(want, "".join(got))
        chrome = sum(1 for t in got if _CHROME_LINE.match(t) or HEADER in t)
        pages = sorted({b.page for b in doc.blocks})
        ours[name] = {"exact": exact, "lost": lost, "extra": extra, "chrome_left": chrome,
                      "dropped": len(doc.dropped), "pages": pages}  # fmt: skip
    results["rag.parsing.readers.pdf (pdfplumber)"] = {
        "pages": ours, "ms_per_pdf": round((time.perf_counter() - start) * 1000 / len(variants), 1)
    }  # fmt: skip
    for lib, res in results.items():
        for name, row in res["pages"].items():
            print(f"{lib:38} {name:18} " + " ".join(f"{k}={v}" for k, v in row.items()))
        print(f"{lib:38} geometry={res.get('geometry', True)} {res['ms_per_pdf']} ms/pdf")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
