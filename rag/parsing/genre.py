"""Stage 2a: what a document is — its genre (layout family) and its kind (what readers call it).

The genre decides which outline and which repairs apply:

- ``statute``: 法律、法规、规章、党内法规… numbered by 编/章/节/条/款/项/目; a repeated line is
  law text, never layout damage;
- ``numbered``: resolutions, opinions, notices, plans with 一、（一）1.（1） numbering;
- ``news``: a newspaper page (bylines, captions, picture gaps, repeated paragraphs from the
  layout).

The kind is detected from the title (and, for statutes, from the body's articles) and can be
stated by the user per file (front matter ``kind: 法律`` / ``genre: 通知`` in ``.md``, or a
sidecar file, see :mod:`rag.parsing.intake`).
"""

from __future__ import annotations

import re

from ..errors import SourceError
from ..schema import KIND_LABELS
from ..textnorm import normalize

STATUTE_KINDS = frozenset(
    {"law", "administrative_regulation", "local_regulation", "party_regulation", "rules"}
)
NEWS_KINDS = frozenset({"article", "side_report"})

# 第三条, 第 3 条, 第 22-1 條 (Taiwan prints the number in digits between spaces).
_ARTICLE_LINE_RE = re.compile(
    r"^第[ \u3000]?(?:[一二三四五六七八九十百千零〇两]+|\d+(?:-\d+)?)[ \u3000]?条"
)
_LOCAL_RE = re.compile(r"^.{1,12}?(?:省|自治区|市|自治州|县|特别行政区)")
_PARTY_RE = re.compile(r"^(?:中国共产党|中共|党的|党内|党委|党组)")
# The title's last words, most specific first.
_TITLE_KINDS = (
    ("side_report", re.compile(r"侧记")),
    ("resolution", re.compile(r"决议")),
    ("notice", re.compile(r"通知$|通告$|公告$")),
    ("opinion", re.compile(r"意见$")),
    ("decision", re.compile(r"决定$")),
    # A government work report, a communiqué, minutes, a reply, a speech: official texts,
    # not reports about them (政府工作报告 is not a 报道).
    ("policy", re.compile(r"方案$|规划$|纲要$|计划$|报告$|公报$|纪要$|批复$|讲话$")),
)
_STATUTE_TITLE_RE = re.compile(
    r"(?:法|法典|条例|规定|办法|细则|规则|准则|章程)$|^中华人民共和国.*法"
)
# Chinese labels a user may state, mapped to kinds.
_LABEL_TO_KIND = {label: kind for kind, label in KIND_LABELS.items()} | {
    "法规": "administrative_regulation",
    "规章": "rules",
    "报告": "article",
    "新闻": "article",
    "文件": "policy",
    "政策": "policy",
}


def genre_of(kind: str) -> str:
    """The layout family of a kind: ``statute``, ``news``, ``record`` or ``numbered``."""
    if kind in STATUTE_KINDS:
        return "statute"
    if kind in NEWS_KINDS:
        return "news"
    if kind == "record":
        return "record"
    return "numbered"


def _core(title: str) -> str:
    """A title in Simplified script without a bracketed tail (（2024—2026年）, （试行）)."""
    return re.sub(r"[（(][^）)]*[）)]$", "", normalize(title.strip()))


def detect_kind(title: str, body: list[str], official: bool = False, subtitle: str = "") -> str:
    """The kind of a document from its title and the first lines of its body.

    Args:
        title: Title of the document (with its subtitle, or without it when ``subtitle``
            gives it).
        body: Texts of its body blocks, in order.
        official: It carries a document number (发文字号) or ends signed with a date (落款),
            as an official document does: with no kind word in its title (…转发…工作要点)
            it is an official text (文件), not a report.
        subtitle: The subtitle under the title (——在…会议上): the kind words are looked for
            at the end of the title with it and without it.

    Returns:
        A key of :data:`rag.schema.KIND_LABELS`.

    Title and body are matched in Simplified script (:func:`~rag.textnorm.normalize`), so a
    Traditional 決議 is a resolution and 第一條 an article line.
    """
    core = _core(title + subtitle)
    # The title's own last words count with a subtitle under it (政府工作报告 /
    # ——在…会议上), as they do with one that ends in the kind (…——…全会侧记).
    cores = (core, _core(title)) if subtitle else (core,)
    articles = sum(1 for text in body if _ARTICLE_LINE_RE.match(normalize(text[:12])))
    for kind, pattern in _TITLE_KINDS:
        if any(pattern.search(c) for c in cores):
            return kind
    if _STATUTE_TITLE_RE.search(core) and (articles >= 2 or core.endswith(("法", "法典"))):
        return _statute_kind(core)
    if articles >= 3 and articles * 2 >= len(body) // 2:
        return _statute_kind(core)
    if official or any(
        w in core for w in ("意见", "办法", "条例", "规定", "通知", "方案", "规划", "细则")
    ):
        return "policy"
    return "article"


def _statute_kind(title: str) -> str:
    if _PARTY_RE.match(title):
        return "party_regulation"
    if (title.startswith("中华人民共和国") and title.endswith(("法", "法典"))) or title == "宪法":
        return "law"
    if title.endswith(("法", "法典")) and not _LOCAL_RE.match(title):
        return "law"
    if _LOCAL_RE.match(title):
        return "local_regulation" if title.endswith("条例") else "rules"
    if title.endswith("条例"):
        return "administrative_regulation"
    return "rules"


def stated_kind(value: str, where: str) -> str:
    """A kind the user stated (``法律``, ``law``, ``通知`` …).

    Raises:
        SourceError: The value names no known kind; the message lists the accepted ones.
    """
    value = value.strip()
    if value in KIND_LABELS:
        return value
    if value in _LABEL_TO_KIND:
        return _LABEL_TO_KIND[value]
    accepted = "、".join(sorted({*KIND_LABELS.values(), *_LABEL_TO_KIND}))
    raise SourceError(f"{where}: unknown document kind {value!r}; use one of: {accepted}")


__all__ = ["NEWS_KINDS", "STATUTE_KINDS", "detect_kind", "genre_of", "stated_kind"]
