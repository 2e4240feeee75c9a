"""Stage 2d: what only statutes have — the enactment history (题注) and broken article lines.

The history ("1994年7月5日 第八届全国人民代表大会常务委员会第八次会议通过", "根据……修正", or a
bracketed 题注 under the title) is document metadata: it becomes head blocks of role
``history`` (kept in the text, never a body paragraph or a section) and ``Document.history``.
In a statute every line is law text, so nothing is dropped as a repeat; an article line that
stops without punctuation and is followed by an unnumbered line of the same article is one
line broken in two (居民身份证法 第十三条), joined and reported.
"""

from __future__ import annotations

import re

from ..schema import Repair
from .blocks import COMPLETE_RE, Markup, lines_label, marker_of
from .news import Block, Draft, date_of
from .numbering import ARTICLE_RANK

_HISTORY_RE = re.compile(
    r"^[（(]?\s*(?:\d{4}\s*年|[〇零一二三四五六七八九]{4}年|根据|自\d{4}年)"
    r".*(?:通过|通過|修正|修订|修訂|公布|施行|颁布|頒布|发布|發布|决定|決定|批准|印发|印發)"
)
_INFO_END = "INFO END"
# A line broken mid-sentence ends in a letter; a line ending in a comma is a line of a list
# laid out one member per line (宪法 第六十五条: 委员长，/ 副委员长若干人，/ …) and stays.
_MID_WORD_RE = re.compile(r"[\w\u4e00-\u9fff]$")
# Table rows (附表, 税率表) have no final punctuation and are never joined.
_TABLE_RE = re.compile(r"[|｜\t]")
# An article number alone on its line (第 5 條, 第 22-1 條) and what stands after it once the
# line under it is joined to it (the full-width space of 第五条　…).
_BARE_ARTICLE_RE = re.compile(r"^第[ \u3000]?\d+(?:-\d+)?[ \u3000]?[条條]$")
_LABEL_GAP = "\u3000"


def normalise_roles(draft: Draft) -> None:
    """A statute has no pictures and no article headings: what the page layout took for a
    caption is text, and a short article line (``第十三条 …有权使用``) is a paragraph."""
    for block in draft.body:
        if block.role in ("caption", "credit"):
            block.role = "body"
            block.marker = marker_of(block.text)
        elif (
            block.role == "section"
            and not block.level
            and block.marker is not None
            and block.marker.rank >= ARTICLE_RANK
        ):
            block.role = "body"
    draft.has_paragraphs = any(b.role == "body" for b in draft.body)


def take_history(draft: Draft, markups: list[Markup]) -> list[str]:
    """Move the enactment-history blocks of ``draft`` from its body into its head.

    The history runs from the top of the body to an ``<!-- INFO END -->`` marker when the
    file has one, else over the leading blocks that read as history lines.

    Returns:
        The history lines, in order.
    """
    end_line = next((m.line for m in markups if _INFO_END in m.text), None)
    history: list[Block] = []
    # A dateline recognised by the page layout is a history line of a statute.
    for block in draft.head:
        if block.role == "dateline":
            block.role = "history"
            history.append(block)
    while draft.body:
        block = draft.body[0]
        if block.role not in ("body", "section"):
            break
        before_marker = end_line is not None and block.lines[-1] < end_line
        if not before_marker and (block.marker is not None or not _HISTORY_RE.match(block.text)):
            break
        if not before_marker and len(block.text) > 300:
            break
        draft.body.pop(0)
        draft.head.append(Block("history", block.text, block.lines))
        history.append(block)
    draft.has_paragraphs = any(b.role == "body" for b in draft.body)
    return [b.text for b in history]


def history_date(history: list[str]) -> str:
    """The date of the latest version: the last date of the history."""
    dates = [d for d in (date_of(line) for line in history) if d]
    return max(dates) if dates else ""


def join_broken_lines(body: list[Block], rel: str) -> tuple[list[Block], list[Repair]]:
    """Join an article's line that stops mid-sentence to the unnumbered line after it."""
    out: list[Block] = []
    repairs: list[Repair] = []
    for block in body:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.role == "body"
            and block.role == "body"
            and block.marker is None
            and not COMPLETE_RE.search(prev.text)
            and _MID_WORD_RE.search(prev.text) is not None
            and not _TABLE_RE.search(prev.text + block.text)
        ):
            assert prev is not None
            # An article's number alone on its line (第 5 條 over its text, as law.moj.gov.tw
            # prints it) stays apart from the text as a mainland 第五条　… does: the line break
            # becomes a full-width space, and the report says so.
            between = _LABEL_GAP if _BARE_ARTICLE_RE.match(prev.text) else ""
            how = "joined with a full-width space after the number" if between else "joined"
            repairs.append(
                Repair(
                    "joined",
                    rel,
                    prev.lines + block.lines,
                    f"{lines_label(prev.lines)} ends '…{prev.text[-8:]}' without punctuation "
                    f"and {lines_label(block.lines)} continues the same article "
                    f"('{block.text[:8]}…'); {how}",
                )
            )
            out[-1] = Block(
                prev.role,
                prev.text + between + block.text,
                prev.lines + block.lines,
                prev.level,
                prev.marker,
            )
            continue
        out.append(block)
    return out, repairs


__all__ = ["history_date", "join_broken_lines", "normalise_roles", "take_history"]
