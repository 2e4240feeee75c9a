"""What parsing did, for people: ``rag inspect`` and the line-accounting check ``rag check``.

The check proves that parsing lost nothing: every non-blank line of every source file (its
markdown heading marks aside) occurs in the stored text of that file's documents at least as
often as in the file, or is accounted for by a reported change (a dropped layout repeat, a
removed markup comment, a skipped table of contents, a signature moved to metadata).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..schema import KIND_LABELS, ROLE_LABELS, Document
from .blocks import is_blank, is_credit_line, lines_label

_MD_MARK_RE = re.compile(r"^ {0,3}#{1,6}(?!#)[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_SNIPPET = 36
# Changes that take whole source lines out of the stored text.
_LINES_OUT = ("duplicate_dropped", "markup_removed", "contents_skipped")


@dataclass(frozen=True)
class LineLoss:
    """A source line found fewer times in the stored text than in the file."""

    source: str
    line: str
    in_file: int
    stored: int


@dataclass(frozen=True)
class CheckReport:
    """The outcome of :func:`check_lines`.

    Attributes:
        files: Source files checked.
        lines: Non-blank lines checked.
        losses: Lines short in the stored text (empty when nothing was lost).
        accounted: Lines missing from the text but reported (dropped repeats, markup…).
    """

    files: int
    lines: int
    losses: tuple[LineLoss, ...]
    accounted: int

    @property
    def ok(self) -> bool:
        return not self.losses

    def format(self) -> str:
        """Readable summary, one line per loss."""
        head = (
            f"{self.files} source file(s), {self.lines} lines: "
            + ("every line is in the stored text" if self.ok else f"{len(self.losses)} lost")
            + (f" ({self.accounted} reported as changed)" if self.accounted else "")
        )
        rows = [
            f"  LOST {loss.source}: {loss.line[:60]!r} {loss.in_file}× in the file, "
            f"{loss.stored}× stored"
            for loss in self.losses
        ]
        return "\n".join([head, *rows])


def source_lines(text: str) -> list[str]:
    """The non-blank lines of a source file as stored: markdown heading marks removed."""
    out = []
    for line in text.split("\n"):
        if is_blank(line):
            continue
        heading = _MD_MARK_RE.match(line)
        out.append((heading.group(1) if heading else line).strip())
    return out


def check_lines(files: Iterable[tuple[str, str]], documents: Iterable[Document]) -> CheckReport:
    """Compare each file's lines with the stored text of its documents.

    Args:
        files: ``(rel, decoded text)`` of every source file (text formats).
        documents: The parsed documents.

    Returns:
        The report; ``ok`` when no line is lost.
    """
    by_source: dict[str, list[Document]] = {}
    for doc in documents:
        by_source.setdefault(doc.source, []).append(doc)
    losses: list[LineLoss] = []
    n_files = n_lines = accounted = 0
    for rel, text in files:
        n_files += 1
        docs = by_source.get(rel, [])
        stored = "\n\n".join(d.text for d in docs)
        reported = Counter(_reported_lines(text, docs))
        for line, count in Counter(source_lines(text)).items():
            n_lines += count
            have = stored.count(line)
            if have >= count:
                continue
            extra = reported.get(line, 0)
            if have + extra >= count:
                accounted += count - have
                continue
            losses.append(LineLoss(rel, line, count, have + extra))
    return CheckReport(n_files, n_lines, tuple(losses), accounted)


def _reported_lines(text: str, docs: list[Document]) -> list[str]:
    """Lines out of the text by a reported change: dropped, removed, moved to metadata."""
    lines = text.split("\n")
    out: list[str] = []
    for doc in docs:
        out.extend(doc.metadata)
        for repair in doc.repairs:
            if repair.kind in _LINES_OUT:
                out.extend(lines[n - 1].strip() for n in repair.lines if 0 < n <= len(lines))
    return out


def describe(documents: Iterable[Document], warnings: Iterable[str], sources: int) -> str:
    """Render the parsed structure for ``rag inspect``.

    Per document: id, title, kind, genre, date, history, head blocks, the outline (sections),
    numbered paragraphs with their source lines and citation path, captions, metadata and
    every change to the text (repairs).
    """
    documents = list(documents)
    out = [f"{len(documents)} document(s) from {sources} source file(s)"]
    out.extend(f"warning: {w}" for w in warnings)
    for doc in documents:
        out.append("")
        out.extend(_describe_document(doc))
    return "\n".join(out)


# Non-body paragraphs in the outline, by what they are cited as (a credit is cited with its
# picture's caption but listed as what it is); datelines keep their ¶ number.
_OUTLINE_TAGS = {r: label for r, label in ROLE_LABELS.items() if r != "dateline"} | {
    "credit": "图片署名"
}


def _describe_document(doc: Document) -> list[str]:
    body = doc.body_paragraphs
    out = [f"[{doc.doc_id}] {doc.title}"]
    out.append(
        f"  kind: {KIND_LABELS.get(doc.kind, doc.kind)} ({doc.kind}, layout {doc.genre or '-'})"
        f"   date: {doc.date or '-'}   source: {doc.source} (sha256 {doc.source_sha256[:12]})"
    )
    for role in ("kicker", "subtitle", "dateline", "byline"):
        for heading in doc.headings:
            if heading.role == role:
                out.append(f"  {role}: {heading.text}")
    if doc.history:
        out.append(f"  history ({len(doc.history)}):")
        out.extend(f"    {line}" for line in doc.history)
    sections = [h for h in doc.headings if h.role == "section"]
    quotable = sum(p.role == "heading" for p in doc.paragraphs)
    out.append(
        f"  outline ({len(sections)} headings, {len(body)} paragraphs; "
        f"{quotable} headings indexed as 标题):"
    )
    section_at = {h.start: h for h in sections}
    paragraph_at = {p.start: p for p in doc.paragraphs if p.role != "heading"}
    for start in sorted(section_at.keys() | paragraph_at.keys()):
        if start in section_at:
            h = section_at[start]
            out.append(f"    {'  ' * max(h.level - 1, 0)}§ {h.text}")
            continue
        p = paragraph_at[start]
        text = doc.text[p.start : p.end].replace("\n", " ")
        path = " ".join(s.display for s in p.section if s.label) or "-"
        clause = f" 第{p.clause}款" if p.clause > 1 else ""
        tag = _OUTLINE_TAGS.get(p.role, f"¶{p.number}")
        snippet = text[:_SNIPPET] + ("…" if len(text) > _SNIPPET else "")
        out.append(f"      {tag:<5} {lines_label(p.source_lines):<11} [{path}{clause}] {snippet}")
    if doc.metadata:
        out.append(f"  metadata ({len(doc.metadata)}):")
        for entry in doc.metadata:
            label = "credit" if is_credit_line(entry) else "signature/note"
            out.append(f"    {label}: {entry}")
    out.append(f"  changes to the text ({len(doc.repairs)}):")
    out.extend(f"    {r.kind}: {r.detail}" for r in doc.repairs)
    return out


def read_texts(paths: Iterable[tuple[str, Path]]) -> list[tuple[str, str]]:
    """Helper for callers holding paths: ``(rel, text)`` pairs (UTF-8, LF)."""
    return [(rel, p.read_text(encoding="utf-8").replace("\r\n", "\n")) for rel, p in paths]


__all__ = ["CheckReport", "LineLoss", "check_lines", "describe", "source_lines"]
