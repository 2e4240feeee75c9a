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

A reference by number, 第 + Chinese numerals + its unit (第五十二条, 第三款, 第十四章, 第（二）项
is not one: that is punctuation), is one token, and no bigram straddles into it: otherwise
第五十二条 holds the bigrams 第五 五十 十二 二条 and a question about 第二条 matches every article
whose number ends in 二 (measured: 法律援助法第二条 was refused, its bigrams outscored by 第五十二条
elsewhere). Numerals outside such a reference (三年, 二倍) are bigrammed as any ideographs are.

Tokens are marked with :data:`MARK` (a control character that :func:`rag.textnorm.normalize`
removes from any text, so no word token can carry it) so that the two fields never share a
vocabulary entry.

Example:
    >>> [t.lstrip(MARK) for t in character_bigrams("史特拉斯堡的人口？ABC 3")]
    ['史特', '特拉', '拉斯', '斯堡', '堡的', '的人', '人口', 'abc', '3']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from .textnorm import normalize

__all__ = [
    "FIELD",
    "LEGACY_FIELD",
    "MARK",
    "character_bigrams",
    "passage_bigrams",
    "question_bigrams",
]

# The field's name in the lexical index's meta (LexicalIndex.with_field). It names the scheme:
# indexes built before references were single tokens have LEGACY_FIELD, whose questions are
# bigrammed as their passages were (``references=False``).
FIELD = "bigrams-ref"
LEGACY_FIELD = "bigrams"
MARK = "\x1f"
# Runs of CJK ideographs (bigrammed), or of ASCII letters and digits (kept whole: a number or
# a Latin word is one token, as jieba makes it).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(f"[{_HAN}]+|[a-z0-9]+")
# Whitespace between two ideographs separates nothing in Chinese writing (上海 城市精神 is
# 上海城市精神 typed with a space, a line break in a passage falls inside a word), so it is
# dropped there: the bigrams, like jieba's words, do not change with spacing.
_HAN_SPACE = re.compile(f"(?<=[{_HAN}])\\s+(?=[{_HAN}])")
# 第 + Chinese numerals + the unit of a numbered division (article, paragraph, item, chapter,
# section, part, book), with the 之一 of an inserted article: one token.
_NUMERALS = "零〇一二三四五六七八九十百千万两"
_REFERENCE = re.compile(f"第[{_NUMERALS}]+[条款项章节编目部卷](?:之[{_NUMERALS}]+)?")


def character_bigrams(text: str, *, references: bool = True) -> list[str]:
    """Marked character bigrams of a passage or question, in text order.

    The text is normalised first (:func:`rag.textnorm.normalize`: Traditional folded to
    Simplified, full-width to ASCII, lower case), so both scripts give the same bigrams.
    Each run of ideographs gives its overlapping bigrams (a lone ideograph gives itself);
    each run of ASCII letters or digits is one token. Punctuation and other scripts separate
    runs, and so does whitespace except between two ideographs, where it is dropped.

    Args:
        text: Raw text.
        references: Each 第…条/款/项/章/节/编 reference is one token, and no bigram spans
            its edge (what :data:`FIELD` indexes hold); ``False`` bigrams them too (what
            :data:`LEGACY_FIELD` indexes hold).

    Returns:
        Tokens, each starting with :data:`MARK`; repeats are kept (they are term
        frequencies for a passage; a query counts each token once anyway).
    """
    out: list[str] = []
    append = out.append
    for match in _RUN.finditer(_HAN_SPACE.sub("", normalize(text))):
        run = match.group(0)
        if run.isascii():
            append(MARK + run)
        elif references and "第" in run:
            start = 0
            for ref in _REFERENCE.finditer(run):
                _bigrams_of(run[start : ref.start()], out)
                append(MARK + ref.group(0))
                start = ref.end()
            _bigrams_of(run[start:], out)
        else:
            _bigrams_of(run, out)
    return out


@functools.lru_cache(maxsize=16)
def question_bigrams(question: str, references: bool = True) -> tuple[str, ...]:
    """:func:`character_bigrams` of a question, kept for the few last questions: an answer
    reads them twice, to search the bigram field (:meth:`rag.retrieval.Retriever.rank`) and
    to reorder its passages (:mod:`rag.answering.ordering`). Only a handful are kept (the
    calls of one answer, or of a few answered at once), so a repeated question costs what a
    new one does: repeats are the answer cache's business. Pass ``references``
    positionally (the cache keys a keyword apart)."""
    return tuple(character_bigrams(question, references=references))


def _bigrams_of(run: str, out: list[str]) -> None:
    """Append the overlapping bigrams of a run of ideographs (itself when shorter)."""
    if len(run) <= 2:
        if run:
            out.append(MARK + run)
        return
    out.extend([MARK + run[i : i + 2] for i in range(len(run) - 1)])


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
