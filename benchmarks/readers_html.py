"""Which library extracts the article from a government web page: a measurement.

The seed resolution is wrapped in site chrome (top bar, navigation, breadcrumb 首页>要闻,
source/date/字号 bar, sidebar 相关链接, 分享到 微信 微博, 打印/关闭, 上一篇/下一篇, footer
主办单位/ICP备案/版权所有) in five markup styles (``<p>``, ``<br>``-separated, ``<div>``
paragraphs, full-width-space indents, an old table layout). For every candidate and page:

- chrome: how many of the chrome-only words reach the output (target 0);
- lost: body characters (title, dateline, paragraphs) missing from the output (target 0);
- exact: share of the body blocks that come out as exactly one output block (paragraph
  boundaries right; target 100 %);
- title: the page's article title found (not the ``<title>`` with the site name).

Run:
    .venv/bin/python benchmarks/readers_html.py [--json benchmarks/results/readers_html.json]
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from format_samples import CHROME_WORDS, HTML_STYLES, html_page, resolution  # noqa: E402

_INVISIBLE = " \t\r\n\u3000\xa0\u200b\ufeff"


def _clean(blocks: list[str]) -> list[str]:
    return [b.strip(_INVISIBLE) for b in blocks if b.strip(_INVISIBLE)]


def trafilatura_txt(html: bytes, **options: bool) -> tuple[str, list[str]]:
    import trafilatura

    doc = trafilatura.bare_extraction(
        html.decode("utf-8"), output_format="python", with_metadata=True, **options
    )
    if doc is None:
        return "", []
    text = doc.text or ""
    return doc.title or "", _clean(text.split("\n"))


def readability_blocks(html: bytes) -> tuple[str, list[str]]:
    from readability import Document

    from rag.parsing.readers.html import fragment_blocks

    page = Document(html.decode("utf-8"))
    title = page.short_title()
    blocks = [b.text for b in fragment_blocks(page.summary(html_partial=True))]
    return title, [title, *blocks] if title and title not in blocks else blocks


def ours(html: bytes) -> tuple[str, list[str]]:
    from rag.parsing.readers.html import read_html

    doc = read_html(html, Path("page.html"))
    return doc.metadata.get("title", ""), [b.text for b in doc.blocks]


def selectolax_body(html: bytes) -> tuple[str, list[str]]:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(html.decode("utf-8"))
    for node in tree.css("script, style"):
        node.decompose()
    body = tree.body
    text = body.text(separator="\n") if body is not None else ""
    title = tree.css_first("title")
    return (title.text() if title else ""), _clean(text.split("\n"))


CANDIDATES: dict[str, Callable[[bytes], tuple[str, list[str]]]] = {
    "selectolax body text (baseline)": selectolax_body,
    "trafilatura": trafilatura_txt,
    "trafilatura favor_recall": lambda h: trafilatura_txt(h, favor_recall=True),
    "trafilatura favor_precision": lambda h: trafilatura_txt(h, favor_precision=True),
    "readability-lxml + lxml blocks": readability_blocks,
    "rag.parsing.readers.html (chosen)": ours,
}


def measure(blocks: list[str], title: str, expected: tuple[str, ...], art_title: str) -> dict:
    out = "\n".join(blocks)
    want = "".join(expected)
    got = "".join(blocks)
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    matched = sum(m.size for m in matcher.get_matching_blocks())
    exact = sum(1 for b in expected if b in set(blocks))
    return {
        "chrome": sum(out.count(w) for w in CHROME_WORDS),
        "lost": len(want) - matched,
        "exact": exact / len(expected),
        "title": art_title in title or (bool(blocks) and blocks[0] == art_title),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    art = resolution()
    results: dict[str, dict] = {}
    for name, fn in CANDIDATES.items():
        rows = {}
        start = time.perf_counter()
        for style in HTML_STYLES:
            try:
                title, blocks = fn(html_page(art, style))
            except Exception as exc:  # a candidate failing is a result too
                rows[style] = {"error": repr(exc)}
                continue
            rows[style] = measure(blocks, title, art.blocks, art.title)
        ms = (time.perf_counter() - start) * 1000 / len(HTML_STYLES)
        results[name] = {"pages": rows, "ms_per_page": round(ms, 1)}
    print(f"{'candidate':36} {'style':7} {'chrome':>6} {'lost':>6} {'exact':>6} title")
    for name, res in results.items():
        for style, row in res["pages"].items():
            if "error" in row:
                print(f"{name:36} {style:7} error {row['error'][:60]}")
                continue
            print(
                f"{name:36} {style:7} {row['chrome']:6d} {row['lost']:6d} "
                f"{row['exact']:6.0%} {row['title']}"
            )
        print(f"{name:36} {res['ms_per_page']} ms/page")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
