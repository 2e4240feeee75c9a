"""Sentence and clause spans in Chinese text.

Both splitters return absolute ``(start, end)`` offsets into the string they were given, so a
caller can split one paragraph of ``Document.text`` in place without slicing or re-indexing.
They run once per passage at build time, so each is a single precompiled regular expression
scanned with ``finditer``; Python only trims whitespace at the edges of each match.

Example:
    >>> text = "他说：“好。”我们走吧！"
    >>> [text[s:e] for s, e in split_sentences(text)]
    ['他说：“好。”', '我们走吧！']
"""

from __future__ import annotations

import re

# Sentence-final punctuation. "……" is a run of "…", so it needs no entry of its own.
SENTENCE_END = "。！？；…!?;"
# Clause boundaries add the comma, the enumeration comma and the colon.
CLAUSE_END = SENTENCE_END + "，、："
# Closing quotes and brackets stay with the sentence they close: `“好。”` ends at the `”`.
CLOSERS = "”’」』）)】\"'"


def _compile(ends: str) -> re.Pattern[str]:
    end_class = "[" + re.escape(ends) + "]"
    close_class = "[" + re.escape(CLOSERS) + "]"
    not_end = "[^" + re.escape(ends) + "\\n]"
    # The body may contain single line breaks (wrapped lines) but never a blank line, which
    # always separates blocks: a heading without a full stop must not run into the next block.
    body = f"{not_end}*(?:\\n(?!\\s*\\n){not_end}*)*"
    return re.compile(f"{body}(?:{end_class}+{close_class}*)+|{body}")


_SENTENCE_RE = _compile(SENTENCE_END)
_CLAUSE_RE = _compile(CLAUSE_END)


def _spans(
    pattern: re.Pattern[str], text: str, start: int, end: int | None
) -> list[tuple[int, int]]:
    stop = len(text) if end is None else min(end, len(text))
    spans: list[tuple[int, int]] = []
    for match in pattern.finditer(text, start, stop):
        piece = match.group()
        lead = len(piece) - len(piece.lstrip())
        kept = len(piece.rstrip())
        if kept > lead:
            base = match.start()
            spans.append((base + lead, base + kept))
    return spans


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentences.

    A sentence ends after a run of 。！？；… or ASCII ``!?;``, together with any closing quotes
    or brackets that follow (”’」』）)】 and ASCII quotes). A blank line also ends a sentence.
    Spans never begin or end with whitespace and are never empty.

    Args:
        text: The full string (typically ``Document.text``).
        start: Offset where splitting begins.
        end: Offset where it stops (``None`` for the end of ``text``).

    Returns:
        Absolute ``(start, end)`` offsets into ``text``, in order.

    Example:
        >>> split_sentences("甲。乙！", 0)
        [(0, 2), (2, 4)]
    """
    return _spans(_SENTENCE_RE, text, start, end)


def split_clauses(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into clauses: sentences further cut after ，、：.

    Used to pick clause-level quotes from a long sentence.

    Args:
        text: The full string (typically ``Document.text``).
        start: Offset where splitting begins.
        end: Offset where it stops (``None`` for the end of ``text``).

    Returns:
        Absolute ``(start, end)`` offsets into ``text``, in order.
    """
    return _spans(_CLAUSE_RE, text, start, end)


# A markdown table row (| 序号 | 任务 |) or its rule line (|---|---|).
_MD_TABLE_ROW_RE = re.compile(r"^\|.*\|$")


def is_table_row(text: str) -> bool:
    """A row of a table, a paragraph of its own that no sentence runs out of: cells joined by
    tabs (as the .docx and .html readers give a row, and as tab-separated text writes one),
    or a markdown table row (its rule line too). One line only.

    Parsing uses it to give each row its own paragraph, answering to quote a row alone and a
    table whole.
    """
    return "\n" not in text and ("\t" in text.strip() or bool(_MD_TABLE_ROW_RE.match(text)))


__all__ = [
    "CLAUSE_END",
    "CLOSERS",
    "SENTENCE_END",
    "is_table_row",
    "split_clauses",
    "split_sentences",
]
