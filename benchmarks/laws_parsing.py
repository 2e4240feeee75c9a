"""Parsing quality and build speed on the laws corpus (issue 10).

Measures, over ``../shared/corpora/laws/`` (all 60 files, or ``--first N`` of SOURCES.md):

- **lines lost**: body lines of a source file (after its ``<!-- INFO END -->`` marker, markdown
  heading marks removed) that occur fewer times in the stored text of its documents than in
  the file;
- **articles miscited / not found / without chapter**: every article (第X条, 第X条之一 …) is
  searched by its opening words through the real :meth:`rag.Assistant.search`; the hit holding
  those words must cite the article's own number and carry every division it is under (its
  编, 分编, 章, 节, or an unnumbered 附则; a 编 may hold articles with no 章 at all) in
  ``Hit.section``;
- **build times**: a full build, a no-change build, and a rebuild after touching one file.

Indexes go to a temporary directory; the corpus is read in place.

Usage:
    PYTHONPATH=. .venv/bin/python benchmarks/laws_parsing.py --json benchmarks/results/laws.json
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from rag import build_index, load

_ROOT = Path(__file__).resolve().parents[1]
# ../shared beside the clone (CI), or the shared directory of the work machine.
LAWS = (
    next(
        (p for p in (_ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()),
        _ROOT.parent / "shared",
    )
    / "corpora"
    / "laws"
)
_CN = "零〇一二三四五六七八九十百千两"
_ARTICLE = re.compile(rf"^(第[{_CN}\d]+)\s*(条(?:之[{_CN}]+)?)\s*")
# A division heading (below the title): its label, 第X编 / 第X分编 / 第X章 / 第X节, or its text
# when unnumbered (附则). A 编 may hold articles without any 章 (刑事诉讼法 第四编 执行).
_HEADING = re.compile(r"^(#{2,})\s*(\S.*)$")
_NUMBERED = re.compile(rf"^第[{_CN}\d]+(?:分编|编|章|节)")
_INVISIBLE = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff\u00a0\u3000]*$")
# Opening characters of an article searched for it.
OPENING_CHARS = 24


def listed_files(root: Path, first: int | None) -> list[str]:
    """File names in the order of SOURCES.md's table."""
    names = []
    for line in (root / "SOURCES.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 4 and cells[1].isdigit():
            names.append(cells[3])
    return names[:first] if first else names


def body_lines(text: str) -> list[str]:
    """Non-blank lines after the enactment-history marker, heading marks removed."""
    lines = text.split("\n")
    if "<!-- INFO END -->" in text:
        lines = lines[lines.index("<!-- INFO END -->") + 1 :]
    out = []
    for line in lines:
        if _INVISIBLE.match(line) or line.strip().startswith("<!--"):
            continue
        out.append(re.sub(r"^#+\s*", "", line).strip())
    return out


def articles(text: str) -> list[tuple[str, tuple[str, ...], str, str]]:
    """(label, divisions, opening words, first line) of every article, in file order; the
    divisions are the headings the article is under (a heading closes every division at its
    heading depth and below)."""
    found = []
    path: dict[int, str] = {}
    for line in body_lines_raw(text):
        head = _HEADING.match(line)
        if head:
            depth, title = len(head.group(1)), head.group(2).strip()
            numbered = _NUMBERED.match(title)
            path = {d: label for d, label in path.items() if d < depth}
            path[depth] = numbered.group(0) if numbered else title
            continue
        match = _ARTICLE.match(line.strip())
        if match:
            label = match.group(1) + match.group(2)
            rest = line.strip()[match.end() :]
            divisions = tuple(path[r] for r in sorted(path))
            found.append((label, divisions, rest[:OPENING_CHARS], line.strip()[:40]))
    return found


def body_lines_raw(text: str) -> list[str]:
    lines = text.split("\n")
    if "<!-- INFO END -->" in text:
        lines = lines[lines.index("<!-- INFO END -->") + 1 :]
    return lines


def measure_quality(index: Path, sources: list[Path]) -> dict[str, object]:
    assistant = load(index, model="none")
    docs_by_source: dict[str, list[str]] = {}
    for doc_id, doc in assistant._state.generation.documents.items():
        docs_by_source.setdefault(doc.source, []).append(doc_id)
    lost: list[dict[str, object]] = []
    miscited: list[dict[str, str]] = []
    not_found: list[dict[str, str]] = []
    no_chapter: list[dict[str, str]] = []
    n_articles = 0
    for path in sources:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
        ids = docs_by_source.get(path.name, [])
        stored = "\n\n".join(assistant.document(i).text for i in ids)
        for line, count in Counter(body_lines(text)).items():
            have = stored.count(line)
            if have < count:
                lost.append({"file": path.name, "line": line, "missing": count - have})
        for label, divisions, opening, first_line in articles(text):
            if len(opening) < 6:
                continue  # too short to be searched for by its words
            n_articles += 1
            hits = assistant.search(opening, k=10)
            # The article's own passage: it holds the article's first line, number included
            # (several articles may open with the same words).
            hit = next((h for h in hits if h.doc_id in ids and first_line in h.text), None)
            row = {"file": path.name, "article": label, "opening": opening}
            if hit is None:
                not_found.append(row)
                continue
            if not re.search(re.escape(label) + "(?!之)", hit.citation):
                miscited.append(row | {"citation": hit.citation})
            # Every division the article is under (its 编, 章, 节) is on the hit's path.
            if not all(any(s.startswith(d) for s in hit.section) for d in divisions):
                no_chapter.append(
                    row | {"divisions": " / ".join(divisions), "section": " / ".join(hit.section)}
                )
    return {
        "files": len(sources),
        "body_lines": sum(len(body_lines(p.read_text(encoding="utf-8"))) for p in sources),
        "lines_lost": sum(int(r["missing"]) for r in lost),  # type: ignore[call-overload]
        "files_with_lost_lines": len({r["file"] for r in lost}),
        "articles": n_articles,
        "articles_not_found": len(not_found),
        "articles_miscited": len(miscited),
        "articles_without_chapter": len(no_chapter),
        "examples": {
            "lost": lost[:10],
            "miscited": miscited[:10],
            "not_found": not_found[:10],
            "without_chapter": no_chapter[:10],
        },
    }


def measure_builds(source: Path, index: Path, touch: Path) -> dict[str, float]:
    def timed(**kw: object) -> float:
        clock = time.perf_counter()
        build_index(source, index, model="none", **kw)  # type: ignore[arg-type]
        return time.perf_counter() - clock

    full = timed(force=True)
    unchanged = timed()
    original = touch.read_bytes()
    touch.write_bytes(original + b"\n")
    changed = timed()
    touch.write_bytes(original)
    restored = timed()
    return {
        "full_s": round(full, 2),
        "unchanged_s": round(unchanged, 2),
        "one_file_changed_s": round(changed, 2),
        "one_file_restored_s": round(restored, 2),
        "speedup_one_file": round(full / changed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--laws", type=Path, default=LAWS)
    parser.add_argument("--first", type=int, default=None, help="only the first N of SOURCES.md")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--no-timing", action="store_true", help="skip the build timings")
    args = parser.parse_args()
    names = listed_files(args.laws, args.first)
    with tempfile.TemporaryDirectory(prefix="rag-laws-") as tmp:
        source = Path(tmp) / "laws"
        source.mkdir()
        for name in names:
            shutil.copyfile(args.laws / name, source / name)
        index = Path(tmp) / "index"
        result: dict[str, object] = {}
        if not args.no_timing:
            result["builds"] = measure_builds(source, index, source / names[-1])
        else:
            build_index(source, index, model="none", force=True)
        result["quality"] = measure_quality(index, sorted(source.iterdir()))
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    quality = result["quality"]
    assert isinstance(quality, dict)
    summary = {k: v for k, v in quality.items() if k != "examples"}
    print(json.dumps({"builds": result.get("builds"), **summary}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
