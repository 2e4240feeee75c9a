"""Formatting: the answer as Chinese Markdown, quotes attributed and cited, or a refusal that
offers the closest passages as 相关段落 (marked as not an answer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..citations import full_title
from ..schema import AUTHORITATIVE_KINDS, KIND_LABELS, Answer, Hit, Quote
from ..store import Generation
from .quotes import Selection

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")


def escape_markdown(text: str) -> str:
    """Make document or user text inert in Markdown: HTML and Markdown syntax are escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def attribution(kind: str) -> str:
    """Short Chinese label saying whose words a quote is, from the document kind.

    Official texts are 法律原文, 决议原文…; a side report or news article is marked as not the
    official text (侧记（非原文）, 报道（非原文）); a record or an unknown kind is plain 原文.
    """
    label = KIND_LABELS.get(kind)
    if label is None or kind == "record":
        return "原文"
    if kind in AUTHORITATIVE_KINDS:
        return f"{label}原文"
    return f"{label}（非原文）"


def format_answer(quotes: Sequence[Quote], gen: Generation) -> str:
    """Markdown: each quote as a block quote in 「」 with its attribution and citation."""
    parts = []
    for quote in quotes:
        doc = gen.documents[quote.doc_id]
        parts.append(
            f"据{escape_markdown('《' + full_title(doc) + '》')}（{attribution(doc.kind)}）：\n\n"
            f"> 「{_block(quote.text)}」\n>\n> —— {escape_markdown(quote.citation)}"
        )
    return "\n\n".join(parts)


def _block(text: str) -> str:
    """A quote over several paragraphs (a lead-in with its items) stays one block quote."""
    lines = [escape_markdown(line) for line in text.split("\n") if line.strip()]
    return "\n>\n> ".join(lines)


REFUSAL = "文件中没有找到能回答这个问题的内容。"


def format_refusal(hits: Sequence[Hit], reason: str = REFUSAL) -> str:
    """Markdown refusal; the closest passages are offered, marked as not an answer."""
    text = f"**{reason}**"
    if hits:
        related = "\n".join(
            f"- {escape_markdown(h.citation)}：{escape_markdown(_preview(h.text))}" for h in hits
        )
        text += f"\n\n相关段落（并非答案，仅供参考）：\n\n{related}"
    return text


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "……"


def build_answer(
    question: str,
    resolved: str,
    selection: Selection,
    gen: Generation,
    threshold: float,
    notes: tuple[str, ...] = (),
) -> Answer:
    """Assemble the Answer: quotes when confident enough, else a refusal with 相关段落."""
    info = gen.info
    found = bool(selection.quotes) and selection.confidence >= threshold
    markdown = format_answer(selection.quotes, gen) if found else format_refusal(selection.hits[:3])
    if notes:
        markdown = "\n\n".join([*(f"*{escape_markdown(n)}*" for n in notes), markdown])
    return Answer(
        question=question,
        found=found,
        quotes=selection.quotes if found else (),
        markdown=markdown,
        hits=selection.hits,
        build_id=info.build_id,
        source_hashes=info.source_hashes,
        resolved_question=resolved,
        notes=notes,
        confidence=selection.confidence,
    )


__all__ = [
    "REFUSAL",
    "attribution",
    "build_answer",
    "escape_markdown",
    "format_answer",
    "format_refusal",
]
