"""Stage 3: repairs of layout damage, each one reported as a :class:`~rag.schema.Repair`.

- A long paragraph repeated verbatim on a newspaper page is a layout fault and the repeat is
  dropped; in any other genre a repeated line is text and stays.
- A paragraph broken mid-word is joined to its continuation when a dictionary word spans the
  break: the next paragraph first, then the nearest paragraphs whose start may belong
  elsewhere (they follow a picture, a caption or another cut-off paragraph). The search looks
  at a bounded number of nearby candidates, so the cost is linear in the page.
- A paragraph that still starts or ends mid-sentence is flagged and kept as it is.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..schema import Repair
from .blocks import (
    COMPLETE_RE,
    HEAD_FRAGMENT_RE,
    HEADING_MAX_CHARS,
    excerpt,
    is_bracketed_note,
    is_text_line,
    lines_label,
)
from .news import Block

# Characters on each side of a paragraph break that are segmented to look for a split word.
JUNCTION_CHARS = 6
# A repeat shorter than a heading (e.g. "（完）", "好的。") may repeat on purpose.
DUPLICATE_MIN_CHARS = HEADING_MAX_CHARS
# Suspect continuations tried on each side of a cut-off paragraph, nearest first. A
# continuation sits on the same page; this bounds the work per paragraph (issue 12: the
# unbounded search made pages without final punctuation quadratic).
NEARBY_SUSPECTS = 8


def drop_layout_repeats(body: list[Block], rel: str) -> tuple[list[Block], list[Repair]]:
    """Drop verbatim repeats of long paragraphs (newspaper layout only)."""
    first: dict[str, tuple[int, ...]] = {}
    kept: list[Block] = []
    repairs: list[Repair] = []
    for block in body:
        if block.role == "body" and len(block.text) >= DUPLICATE_MIN_CHARS:
            if block.text in first:
                original = first[block.text]
                repairs.append(
                    Repair(
                        "duplicate_dropped",
                        rel,
                        block.lines,
                        f"{lines_label(block.lines)} repeats {lines_label(original)} exactly "
                        f"(a layout fault of the page); dropped: {excerpt(block.text)}",
                    )
                )
                continue
            first[block.text] = block.lines
        kept.append(block)
    return kept, repairs


def join_fragments(body: list[Block], rel: str) -> tuple[list[Block], list[Repair]]:
    """Join paragraphs broken mid-word to their continuation (see the module docstring)."""
    body = list(body)
    used: set[int] = set()
    repairs: list[Repair] = []
    suspects = [
        k
        for k, b in enumerate(body)
        if b.role == "body"
        and not _complete_as_is(b.text)
        and (b.after_break or HEAD_FRAGMENT_RE.match(b.text))
    ]
    for index, block in enumerate(body):
        # A table row or a list entry is complete without a full stop; it neither continues
        # nor is continued.
        if block.role != "body" or index in used or _complete_as_is(block.text):
            continue
        while not COMPLETE_RE.search(block.text):
            found = _find_continuation(body, index, used, suspects)
            if found is None:
                break
            other, word = found
            continuation = body[other]
            used.add(other)
            repairs.append(
                Repair(
                    "joined",
                    rel,
                    block.lines + continuation.lines,
                    f"{lines_label(block.lines)} ends '…{block.text[-8:]}' and "
                    f"{lines_label(continuation.lines)} continues '{continuation.text[:8]}…' "
                    f"(the word 「{word}」 spans the break); joined",
                )
            )
            block = replace(
                block, text=block.text + continuation.text, lines=block.lines + continuation.lines
            )
            body[index] = block
    return [b for k, b in enumerate(body) if k not in used], repairs


def _nearby(suspects: list[int], index: int, skip: Callable[[int], bool], limit: int) -> list[int]:
    """Up to ``limit`` suspects on each side of ``index``, nearest first (later on a tie)."""
    pos = bisect.bisect_left(suspects, index)
    left, right = pos - 1, pos
    found: list[int] = []
    taken_left = taken_right = 0
    while (left >= 0 and taken_left < limit) or (right < len(suspects) and taken_right < limit):
        cand_r = suspects[right] if right < len(suspects) and taken_right < limit else None
        cand_l = suspects[left] if left >= 0 and taken_left < limit else None
        if cand_r is not None and (cand_l is None or cand_r - index <= index - cand_l):
            right += 1
            if not skip(cand_r):
                found.append(cand_r)
                taken_right += 1
        elif cand_l is not None:
            left -= 1
            if not skip(cand_l):
                found.append(cand_l)
                taken_left += 1
    return found


def _find_continuation(
    body: list[Block], index: int, used: set[int], suspects: list[int]
) -> tuple[int, str] | None:
    """The paragraph that continues ``body[index]`` and the word spanning the break."""
    fragment = body[index].text
    following = index + 1
    while following in used:
        following += 1
    candidates: list[int] = []
    if following < len(body) and body[following].role == "body":
        candidates.append(following)
    candidates.extend(
        _nearby(
            suspects,
            index,
            lambda k: k in used or k in (index, following),
            NEARBY_SUSPECTS,
        )
    )
    for k in candidates:
        if body[k].marker is not None:
            continue  # a numbered paragraph begins a new item; it never continues another
        word = _word_across(fragment, body[k].text)
        if word:
            return k, word
    return None


def _word_across(left: str, right: str) -> str:
    """A dictionary word of two or more characters spanning ``left`` + ``right``, or ``""``."""
    tail, head = left[-JUNCTION_CHARS:], right[:JUNCTION_CHARS]
    tokenizer = _tokenizer()
    position = 0
    for token in tokenizer.cut(tail + head, HMM=False):
        start, position = position, position + len(token)
        if start < len(tail) < position and len(token) >= 2 and tokenizer.FREQ.get(token):
            return str(token)
        if position >= len(tail):
            break
    return ""


@functools.cache
def _tokenizer() -> Any:
    # A private copy of jieba's base dictionary: user words added to the global jieba
    # elsewhere must not change how pages are repaired, and the dictionary is built from the
    # package (never loaded from jieba's cache in the shared /tmp). Imported lazily: only
    # pages with a cut-off paragraph pay for it (about 0.6 s).
    from ..tokenization import _new_jieba

    return _new_jieba()


def _complete_as_is(text: str) -> bool:
    """A table row, a list entry (1.《…》（…）), an attendance line (列席：…), a note wholly
    in brackets (（其余14家企业略）) or a closing formula (特此通知) ends where it ends, without
    a full stop."""
    return is_text_line(text) or is_bracketed_note(text)


def flag_fragments(body: list[Block], rel: str) -> list[Repair]:
    """Flags for paragraphs that still start or end mid-sentence (kept as they are)."""
    flags = []
    for block in body:
        if block.role != "body" or _complete_as_is(block.text):
            continue
        if not COMPLETE_RE.search(block.text):
            flags.append(
                Repair(
                    "fragment_flagged",
                    rel,
                    block.lines,
                    f"{lines_label(block.lines)} ends mid-sentence ('…{block.text[-10:]}') and "
                    "no continuation was found on the page; kept as is",
                )
            )
        if block.marker is None and HEAD_FRAGMENT_RE.match(block.text):
            flags.append(
                Repair(
                    "fragment_flagged",
                    rel,
                    block.lines,
                    f"{lines_label(block.lines)} starts mid-sentence ('{block.text[:10]}…') and "
                    "its beginning is not on the page; kept as is",
                )
            )
    return flags


__all__ = ["drop_layout_repeats", "flag_fragments", "join_fragments"]
