"""Character bigrams: the second lexical field, beside jieba's words.

jieba segments a question and the passage that answers it independently, and they often
disagree: a transliteration written two ways (史特拉斯堡 / 斯特拉斯堡 → 史/特拉斯/堡 against
斯特拉斯堡), a word glued to its neighbour (资讯所), a name jieba does not know, a number
written next to its unit. Overlapping character bigrams of the normalised text match
wherever the characters do, whatever the segmentation. :func:`character_bigrams` is applied
to the passages at build time (their own BM25 columns, with their own length normalisation,
appended to the word columns and scaled by a fitted weight, see
:meth:`rag.lexical.LexicalIndex.with_field`) and to the question at query time.

Measured (``benchmarks/bigram_fusion.py``, document recall@1, the weight fitted on CMRC 2018
trial and the even DRCD documents): DRCD dev odd half (held out) 0.939 → 0.955, CMRC 2018 dev
(validation) 0.982 → 0.986. Trigrams on top cost DRCD 0.3 points; dropping the question's
stopwords before taking bigrams cost 0.1 point.

Tokens are marked with :data:`MARK` (a control character that :func:`rag.textnorm.normalize`
removes from any text, so no word token can carry it) so that the two fields never share a
vocabulary entry.

Example:
    >>> [t.lstrip(MARK) for t in character_bigrams("史特拉斯堡的人口？ABC 3")]
    ['史特', '特拉', '拉斯', '斯堡', '堡的', '的人', '人口', 'abc', '3']
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .textnorm import normalize

__all__ = ["FIELD", "MARK", "character_bigrams", "passage_bigrams"]

# The field's name in the lexical index's meta (LexicalIndex.with_field).
FIELD = "bigrams"
MARK = "\x1f"
# Runs of CJK ideographs (bigrammed), or of ASCII letters and digits (kept whole: a number or
# a Latin word is one token, as jieba makes it).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_HAN}]+|[a-z0-9]+")
# Whitespace between two ideographs separates nothing in Chinese writing (上海 城市精神 is
# 上海城市精神 typed with a space, a line break in a passage falls inside a word), so it is
# dropped there: the bigrams, like jieba's words, do not change with spacing.
_HAN_SPACE = re.compile(f"(?<=[{_HAN}])\\s+(?=[{_HAN}])")


def character_bigrams(text: str) -> list[str]:
    """Marked character bigrams of a passage or question, in text order.

    The text is normalised first (:func:`rag.textnorm.normalize`: Traditional folded to
    Simplified, full-width to ASCII, lower case), so both scripts give the same bigrams.
    Each run of ideographs gives its overlapping bigrams (a lone ideograph gives itself);
    each run of ASCII letters or digits is one token. Punctuation and other scripts separate
    runs, and so does whitespace except between two ideographs, where it is dropped.

    Args:
        text: Raw text.

    Returns:
        Tokens, each starting with :data:`MARK`; repeats are kept (they are term
        frequencies for a passage; a query counts each token once anyway).
    """
    out: list[str] = []
    append = out.append
    for match in _RUN.finditer(_HAN_SPACE.sub("", normalize(text))):
        run = match.group(0)
        if len(run) <= 2 or run.isascii():
            append(MARK + run)
            continue
        out.extend([MARK + run[i : i + 2] for i in range(len(run) - 1)])
    return out


def passage_bigrams(texts: Iterable[str]) -> list[str]:
    """A passage's bigram field: the bigrams of each of its texts (its sentences, then its
    document title and each heading of its section path), no bigram spanning two texts.

    Args:
        texts: The passage's sentence texts, title and headings.

    Returns:
        Marked bigram tokens (see :func:`character_bigrams`).
    """
    out: list[str] = []
    for text in texts:
        out.extend(character_bigrams(text))
    return out
