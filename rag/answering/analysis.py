"""Question analysis: the question's terms, how much each weighs, and what kind of thing it asks.

Everything here is computed once per question and read by the candidate and feature stages.
Term weights come from the corpus (idf) and from Chinese at large (jieba's word frequencies),
so that an unknown name weighs more than a common word the documents happen to lack.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ..schema import article_key
from ..store import Generation

_NUMBER_Q = re.compile(
    r"多少|几[个位家名次年岁人种项条只部座所届天日月周]|数量|人数|面积|规模|比例|多[长高大重远久]"
)
# A quantity, not an ordinal reference: 第五十三条 numbers an article, it does not answer
# 多少钱 (the numeral run must not follow 第 or another numeral).
_NUMBER_A = re.compile(
    r"\d|(?<![第零〇一二三四五六七八九十百千万亿两])"
    r"[一二三四五六七八九十百千万亿两]+[个位家名次年岁人种项条米倍%％日天月周]"
)
_DATE_Q = re.compile(r"哪[一]?年|哪天|哪一天|何时|什么时[候间]|哪个月|日期|几月|几日|何年|年份")
_DATE_A = re.compile(
    r"\d{2,4}年|\d{1,2}月|\d{1,2}日|[〇零一二三四五六七八九]{2,4}年|世纪|年代|昨天|今天"
)
_PLACE_Q = re.compile(r"哪里|哪儿|什么地方|何处|在哪|位于哪|哪个(?:国家|省|城市|地区|地方)|何地")
_PLACE_A = re.compile(r"位于|[省市县区镇村乡州国岛]|地区|境内|以[东南西北]")
_ORG_Q = re.compile(
    r"哪(?:个|家|一个|支)(?:公司|组织|机构|球队|俱乐部|大学|学校|单位|部门|政党|团体)|哪家"
)
# Organs of government count (上海市人民政府办公厅 is the 单位 that issued a notice).
_ORG_A = re.compile(r"公司|集团|组织|机构|[队会社院校部局委厅署]|俱乐部|大学|学院|政府|办公室|机关")
_JOB_Q = re.compile(r"职业|身份|从事什么|做什么工作|什么工作")
_JOB_A = re.compile(
    r"运动员|演员|歌手|作家|导演|教练|政治家|学家|艺术家|主持人|商人|律师|医生|教师|工程师|官员|将领|军人|记者|画家|模特"
)
ANSWER_TYPES = (
    (_NUMBER_Q, _NUMBER_A),
    (_DATE_Q, _DATE_A),
    (_PLACE_Q, _PLACE_A),
    (_ORG_Q, _ORG_A),
    (_JOB_Q, _JOB_A),
)
# The noun right after 什么 / 哪个 / 几位 names the kind of answer (什么文件, 几位委员): the
# documents need not use that word, so its absence proves nothing.
_TYPE_HEAD = re.compile(r"(?:什么|哪[个些位种类家一]?|几[个位名种项条次]?|多少)$")
_WH = re.compile(r"什么|哪|谁|多少|几|怎样|怎么|如何|为什么|为何|何时|何地|何处|是否|吗|呢")
_DEFINE_Q = re.compile(r"是什么|指什么|是哪些|有哪些|包括哪些|包括什么|什么是|是指|哪几个词|哪些词")
_LIST_Q = re.compile(
    r"哪些|哪几|几个|几项|几方面|几种|几类|哪[两三四五六七八九十]|有哪|包括|具体指|分别|"
    r"[两二三四五六七八九十]个[“\"「]"
)
# 五个坚持, “六个让”: a numbered slogan whose items repeat its stem.
_NUMBERED = re.compile(r"([两二三四五六七八九十]+)个[“\"「]?([\u4e00-\u9fff]{1,4}?)[”\"」]")
_WHY_Q = re.compile(r"为什么|为何|什么原因|原因是|缘何|何以")
# A reader pointing at the document itself with a generic noun (这份文件是哪天印发的): the
# noun names nothing to find in its text (这份通知 keeps 通知: the title says it). A report
# (这篇报道, 该稿件) is pointed at in the same way.
_POINTED_Q = re.compile(r"(?:这份|这篇|这部|这个|这一|该|此)(文件|文章|材料|文档|文本|报道|稿件)")
_CONDITION_Q = re.compile(
    r"除外|例外|不得|不能|不可以|禁止|情形|情况下|条件|前提|但是|是否可以|能否|可以不"
)
# Whether something is allowed (能把烟卖给初中生吗, 可以扣押…吗, 有权…吗): answered by a rule
# (不得, 禁止, 可以, 有权…), whatever words the asker used.
_PERMISSION_Q = re.compile(
    r"(?:可以|能|能够|有权|允许|准许|必须|需要|应该|要).{0,24}[吗么]|能不能|可不可以|能否|是否(?:可以|能|有权|必须|需要|应当)|有没有权"
)
_SAID_Q = re.compile(r"认为|表示|指出|强调|提出|说|称|介绍|谈到|看来")
# 第三十九条, 第二百九十一条之一: the article asked for by number; in digits as Taiwan's and
# Hong Kong's laws print it, spaced or not (第 22-1 條, 第22條之1).
ARTICLE = re.compile(
    r"第(?:[零〇一二三四五六七八九十百千]+|[ \u3000]?\d{1,4}(?:-\d{1,3})?[ \u3000]?)条"
    r"(?:之(?:[一二三四五六七八九十]+|\d{1,3}))?"
)
_ANAPHOR = re.compile(r"^(?:它|他|她|其|此|该|这|那|牠|祂|它们|他们|她们|这些|那些)")
_ENTITY_TAGS = {"ns", "nr", "nrt", "nrfg", "nt", "nz", "eng"}
_LATIN = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
# A number or ordinal in Chinese numerals, with its measure word: 十二次, 第九条, 两届. Like a
# name, it decides what is asked: 十二次全会 is not answered by the 十一次 one.
_NUMERAL = re.compile(
    r"^第?[零〇一二三四五六七八九十百千万亿两]+[次届年月日号条款章节项个位名期批轮季集]?$"
)
# The unit a number question asks in (几次 → 次, 多少日内 → 日, 多少名学生 → 名): the answer
# states a number in it (60日内, 5人 does not answer 几次).
_UNIT_Q = re.compile(
    r"(?:几|多少|多长|多久)(?:个)?(小时|分钟|公里|平方米|万元|周岁|工作日|"
    r"[天日月年周次名人元岁项条倍种家位届期批户钱])"
)
# 几个灭火器, 多少个: a count in 个 (not 哪几个, which asks for a list).
_COUNT_Q = re.compile(r"(?<!哪)(?:几|多少)个(?![天日月年周次名人元岁项条倍种家位届期批户小])")
_TIME_Q = re.compile(r"多长时间|多久|多少时间|期限是多长|几年|几个月|几天")
_TIME_UNITS = ("日", "天", "月", "年", "小时", "工作日")
_CN_DIGITS = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


# A rule named right before the article asked for (《…道路挖掘管理办法》第八条, 出租汽车客运
# 管理办法第三条), not the document itself (本法第三条, 该条例第五条).
_RULE_ARTICLE = re.compile(
    r"(?:《[^《》]+》|[\u4e00-\u9fff]{2,}?(?:法典|法|条例|办法|规定|细则|规则|章程))"
    r"的?第[零〇一二三四五六七八九十百千]+条"
)
_SELF_RULE = re.compile(
    r"(?:本|该|此|这|这部|这个|上述)(?:法典|法|条例|办法|规定|细则|规则|章程)的?第"
)


def names_a_rule(question: str) -> bool:
    """The question names the rule whose article it asks for by number (劳动合同法第三十九条,
    《…办法》第八条), not the document it points at (本法第三条). ``question`` is folded."""
    return any(not _SELF_RULE.search(m.group(0)) for m in _RULE_ARTICLE.finditer(question))


def starts_with_anaphor(text: str) -> bool:
    """The sentence opens with a pronoun and leans on the sentence before (它是…)."""
    return bool(_ANAPHOR.match(text))


class Query(NamedTuple):
    """Everything about the question that later stages need, computed once (a named tuple:
    built on every question, where a frozen dataclass of 24 fields costs ~4 µs).

    Attributes:
        question: The (cleaned) question.
        terms: Its distinct tokens, in order.
        termset: The same as a set.
        weights: Selection weight of each term (corpus idf, or rarity when the corpus lacks it).
        total: Sum of the weights.
        specific: Answerability weight of each term (how specific the word is in Chinese).
        pairs: Concatenations of neighbouring terms (城市 + 精神 → 城市精神).
        defined: Phrases a definition sentence would define (for 是什么 questions).
        answer_types: Patterns of the kind of thing asked for (a number for 多少…).
        focus: Terms next to the question word (由谁改编 → 改编).
        focus_total: Sum of their weights.
        wants_list: The question asks for several things (哪些, 五个坚持).
        numbered: For “N个X”: the number and the slogan's stem (5, 坚持).
        asks_why: A 为什么 question.
        asks_condition: Conditions and exceptions (除外, 不得, 什么情形).
        asks_permission: Whether something is allowed or required (可以…吗, 能不能).
        asks_said: Who said what (认为, 表示).
        article: The article asked for by number (第三十九条), or "".
        names_title: A term of the question is in some document's title (劳动合同法).
        heads: Terms right after a question word (什么文件 → 文件): they name the kind of
            answer, which the text need not repeat.
        missing: Terms no document holds (heads left out).
        missing_entity: A name or number is among them.
        named: Documents the question names by title or short name (劳动合同法), see
            :mod:`rag.answering.naming`.
        units: The units a number question asks in (几次 → 次; 多久 → 日, 月, 年…), empty
            when it asks none.
    """

    question: str
    terms: list[str]
    termset: frozenset[str]
    weights: dict[str, float]
    total: float
    specific: dict[str, float]
    pairs: list[str]
    defined: tuple[str, ...]
    answer_types: tuple[re.Pattern[str], ...]
    focus: tuple[str, ...]
    focus_total: float
    wants_list: bool
    numbered: tuple[int, str] | None
    asks_why: bool
    asks_condition: bool
    asks_permission: bool
    asks_said: bool
    article: str
    names_title: bool
    heads: frozenset[str]
    missing: tuple[str, ...]
    missing_entity: bool
    named: tuple[str, ...] = ()
    units: tuple[str, ...] = ()


class TermWeights:
    """Term weights of one generation, cached (questions are open-ended, so the caches are
    bounded)."""

    def __init__(self, gen: Generation) -> None:
        self.gen = gen
        self.idf_max = gen.lexical.max_idf
        self._weights: dict[str, float] = {}
        self._specific: dict[str, float] = {}
        self._entities: dict[str, bool] = {}
        self._terms: dict[str, tuple[float, float, bool]] = {}
        self._title_text: str | None = None

    def term(self, token: str) -> tuple[float, float, bool]:
        """``(weight, specificity, absent)`` of a term in one cached record: what question
        analysis reads of every term (``absent``: no passage holds it)."""
        value = self._terms.get(token)
        if value is None:
            if len(self._terms) > 100_000:
                self._terms.clear()
            value = self._terms[token] = (
                self.weight(token),
                self.specificity(token),
                self.gen.lexical.df(token) == 0,
            )
        return value

    def weight(self, token: str) -> float:
        """How much a term decides which sentence answers."""
        value = self._weights.get(token)
        if value is None:
            if len(self._weights) > 100_000:
                self._weights.clear()
            value = self._weights[token] = self._compute_weight(token)
        return value

    def is_entity(self, token: str) -> bool:
        """A name, Latin term or number (the tokenizer's part-of-speech tag, or its shape)."""
        value = self._entities.get(token)
        if value is None:
            if len(self._entities) > 100_000:
                self._entities.clear()
            value = self._entities[token] = bool(
                _LATIN.match(token)
                or _NUMERAL.match(token)
                or self.gen.tokenizer.word_tag(token) in _ENTITY_TAGS
            )
        return value

    def _compute_weight(self, token: str) -> float:
        if self.gen.lexical.df(token) > 0:
            weight = max(self.gen.lexical.idf(token), 0.05)
            # A lone character is rare in a corpus more often than it is informative (用, 词).
            return weight * 0.35 if len(token) == 1 else weight
        if self.is_entity(token):
            # Unknown to the corpus: a name or Latin term is decisive...
            return self.idf_max + 1.0
        # ...a word is as informative as it is rare in Chinese at large.
        rarity = self.gen.tokenizer.rarity(token)
        return self.idf_max * min(1.4, max(0.1, (rarity - 3.5) / 3.0))

    def names_title(self, terms: Sequence[str]) -> bool:
        """Some term of at least two characters stands in a document title."""
        if self._title_text is None:
            self._title_text = "\n".join(d.title for d in self.gen.documents.values())
        return any(len(t) >= 2 and t in self._title_text for t in terms)

    def specificity(self, token: str) -> float:
        """How much a term counts for answerability: matching 最大 or 中心 proves little,
        missing 北京市 (or 天气 in documents about policy) a lot."""
        value = self._specific.get(token)
        if value is None:
            if len(self._specific) > 100_000:
                self._specific.clear()
            value = self._specific[token] = self._compute_specificity(token)
        return value

    def _compute_specificity(self, token: str) -> float:
        rarity = min(1.5, max(0.05, (self.gen.tokenizer.rarity(token) - 2.5) / 3.0))
        if self.gen.lexical.df(token) == 0:
            return 1.5 if self.is_entity(token) else rarity
        return rarity * (0.5 + 0.5 * self.gen.lexical.idf(token) / self.idf_max)


# Variant spellings of question words that script folding leaves (甚麼 → 甚么).
_VARIANTS = (("甚么", "什么"), ("为甚么", "为什么"))


def without_pointed(question: str, tokens: list[str]) -> tuple[str, list[str]]:
    """The question and its search tokens without the generic noun a reader points at the
    document with (这份文件的文号是什么 → 的文号是什么, without 文件): that noun is no word
    to search for (a heading 上海市人民政府办公厅文件 would win on it). ``question`` is
    folded (:func:`~rag.textnorm.normalize`). Unchanged when there is none, or nothing else
    would be left to search for."""
    pointed = _POINTED_Q.findall(question)
    if not pointed:
        return question, tokens
    kept = [t for t in tokens if t not in pointed]
    rest = _POINTED_Q.sub("", question)
    return (rest, kept) if kept and rest.strip() else (question, tokens)


# 多少钱 where no passage says 钱: official texts state amounts in 元 (经费2500万元, 不少于3亿元).
MONEY_WORD = "钱"
MONEY_UNITS = ("万元", "亿元", "元")


def money_for_absent(question: str, tokens: list[str], held: Callable[[str], bool]) -> list[str]:
    """The question's tokens with 钱, when the question asks how much (多少钱) and no passage
    holds 钱, read as the units of money the passages hold (请示申请多少钱 searches 万元, where
    the 请示 asks for 2500万元): the word asked about is the amount, which documents never
    call 钱. 借了我的钱 (not asking an amount) and other tokens unchanged."""
    if MONEY_WORD not in tokens or held(MONEY_WORD) or "元" not in asked_units(question):
        return tokens
    units = [u for u in MONEY_UNITS if u not in tokens and held(u)]
    if not units:
        return tokens
    out: list[str] = []
    for token in tokens:
        out.extend(units if token == MONEY_WORD else (token,))
    return out


def split_absent(
    tokens: list[str], held: Callable[[str], bool], subwords: Callable[[str], list[str]]
) -> list[str]:
    """The question's tokens with each word no passage holds, but made wholly of words that
    passages hold, read as those words: 抄送单位 (one word to jieba) → 抄送 单位 when the
    documents print 抄送 and 单位 but never 抄送单位. The longest held words are kept, and
    only when together they cover every character of the word; any other absent word (a
    name, 天气预报 where no 预报 is held) stays whole, for refusal to weigh.

    Args:
        tokens: The question's search tokens.
        held: Whether some passage holds a token.
        subwords: The dictionary words inside a word
            (:meth:`rag.tokenization.Tokenizer.subwords`).
    """
    out: list[str] = []
    split = False
    for token in tokens:
        parts = None
        if len(token) >= 3 and _HAN_WORD.fullmatch(token) and not held(token):
            parts = _covering(token, [w for w in subwords(token) if held(w)])
        if parts is None:
            out.append(token)
            continue
        split = True
        out.extend(p for p in parts if p not in tokens and p not in out)
    return out if split else tokens


def join_absent(
    question: str,
    tokens: list[str],
    held: Callable[[str], bool],
    is_word: Callable[[str], bool],
    stopwords: frozenset[str],
) -> list[str]:
    """The question's tokens with each word no passage holds that jieba cut across a word
    passages hold read as that word: 抄送给了 is cut 抄 / 送给 / 了, but the documents print
    抄送, so 抄 and 送给 (neither held) become 抄送. A held dictionary word of two to four
    characters of the question that overlaps the absent token and runs past its edge takes
    its place, when the token's characters outside it are none or stopwords (送给 less 送 is
    给); held tokens stay as they are, and so does an absent word no held word crosses (a
    name, for refusal to weigh). The mirror of :func:`split_absent`.

    Args:
        question: The question, folded as its tokens were made from it.
        tokens: The question's search tokens, in question order.
        held: Whether some passage holds a token.
        is_word: Whether a string is a word of the tokenizer's dictionary.
        stopwords: The tokenizer's stopwords.
    """
    out: list[str] = []
    joined = False
    at = 0
    for token in tokens:
        start = question.find(token, at)
        if start < 0:  # a token not spelled in the question (a user term's part)
            out.append(token)
            continue
        end = start + len(token)
        at = end
        word = None
        if _HAN_WORD.fullmatch(token) and not held(token):
            word = _crossing(question, start, end, held, is_word, stopwords)
        if word is None:
            if token not in out:
                out.append(token)
            continue
        joined = True
        if word not in out and word not in tokens:
            out.append(word)
    return out if joined else tokens


def _crossing(
    question: str,
    start: int,
    end: int,
    held: Callable[[str], bool],
    is_word: Callable[[str], bool],
    stopwords: frozenset[str],
) -> str | None:
    """The longest held dictionary word of ``question`` overlapping ``[start, end)`` and
    running past one of its edges, whose overlap leaves of the token only stopwords; None
    when there is none (see :func:`join_absent`)."""
    best = None
    for s in range(max(0, start - 3), end):
        for e in range(max(s + 2, start + 1), min(len(question), s + 4) + 1):
            if start <= s and e <= end:
                continue  # inside the token, not across its edge
            word = question[s:e]
            if best is not None and len(word) <= len(best):
                continue
            rest = question[start : max(start, s)] + question[min(end, e) : end]
            if any(ch not in stopwords for ch in rest):
                continue
            if _HAN_WORD.fullmatch(word) and is_word(word) and held(word):
                best = word
    return best


def _covering(word: str, held: list[str]) -> list[str] | None:
    """The held words inside ``word`` not inside a longer one of them, in order, when they
    cover every character of ``word``; None otherwise."""
    spans = []
    for w in held:
        start = word.find(w)
        while start >= 0:
            spans.append((start, start + len(w)))
            start = word.find(w, start + 1)
    kept = [
        (s, e)
        for s, e in spans
        if not any(s2 <= s and e <= e2 and (s2, e2) != (s, e) for s2, e2 in spans)
    ]
    covered: set[int] = set()
    for s, e in kept:
        covered.update(range(s, e))
    if len(covered) < len(word):
        return None
    return list(dict.fromkeys(word[s:e] for s, e in sorted(kept)))


_HAN_WORD = re.compile(r"[\u4e00-\u9fff]+")


# A question about the document itself: who issued it, or when (这份通知是谁发的, 通知是哪个
# 单位印发的, 发文日期是哪天). Its answer is the 落款 (the issuing organ's signature with the
# date), whose own words are a name and a date: the question is searched with what that part
# is called (rag.chunking.NOTE_CONTEXT), as 发文机关是什么 already is. The words saying the
# document was issued are jieba's tokens, so 爆发 and 头发 are not 发.
# 签署 is (a 令 or a 决定 is signed by its 市长, whose post and name are its 落款); 签发 is not:
# the 签发人 is printed on the 文号's line.
_ISSUED = ("发", "印发", "发布", "下发", "制发", "颁发", "出台", "发出", "发文", "成文", "签署")
_ISSUED_WORDS = frozenset((*_ISSUED, "落款", "署名"))
_ISSUER_Q = re.compile(
    r"谁|哪(?:个|家|一个|些|级)?(?:单位|部门|机关|机构|组织)|什么(?:单位|部门|机关|机构)|"
    r"(?:发文|发布|印发)(?:机关|单位|部门|机构)"
)
_ISSUE_DATE_Q = re.compile(r"什么时[候间]|何时|哪[一]?天|哪[一]?年|几月|几号|日期|时间")
_ISSUERS = frozenset(("单位", "部门", "机关", "机构", "组织"))
# 发给谁, 主送哪些单位: the addressee (主送机关), not the issuer.
# A document sent up (a 请示 or 报告) is 报 / 报送 / 呈报 / 上报 to its addressee.
# 抄送给 names the 版记's copies, not the addressee.
_SENT_TO_Q = re.compile(
    r"发给|(?<!抄)送给|主送|发往|下发给|印发给|报送|报给|呈报|呈送|上报|报(?=哪|谁)"
)
ISSUER_TERMS = ("落款", "署名")
ISSUE_DATE_TERMS = ("落款", "成文", "日期")


def issue_terms(question: str, tokens: Sequence[str]) -> tuple[str, ...]:
    """What the 落款 is called, for a question asking who issued the document or when
    (empty for any other question). ``question`` is folded, ``tokens`` its search tokens."""
    if _ISSUED_WORDS.isdisjoint(tokens) or _SENT_TO_Q.search(question):
        return ()
    if _ISSUER_Q.search(question):
        return ISSUER_TERMS
    if _ISSUE_DATE_Q.search(question):
        return ISSUE_DATE_TERMS
    return ()


def with_issue_terms(
    question: str, tokens: list[str], held: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    """The tokens to search and to analyse for a question about who issued the document or
    when, when some 落款 is called by those words (``held``: the corpus has a 落款 and the
    token; any other corpus, or question, keeps ``tokens`` for both). Searched: the
    question's tokens and what the 落款 is called (落款, 署名 / 成文, 日期). Analysed: the
    verb of issuing (发, 印发, 发布…) read as the part it names, 落款, so that the question's
    other words still decide whether it is answered (天气预报是什么时候发布的 stays unanswered
    by a 落款)."""
    terms = issue_terms(question, tokens)
    extra = [t for t in terms if t not in tokens and held(t)]
    if not extra:
        return tokens, tokens
    # 哪个部门印发: the 部门 asked for is the one the 落款 names, as the 发 is its act.
    said = _ISSUED_WORDS | _ISSUERS if terms is ISSUER_TERMS else _ISSUED_WORDS
    analysed = [t for t in tokens if t not in said]
    if ISSUER_TERMS[0] not in analysed:
        analysed.append(ISSUER_TERMS[0])
    return tokens + extra, analysed


# Whom the document is sent to (这份请示报给谁, 主送哪个单位, 这份通知发给哪些单位): its 主送机关,
# whose own words are organs' names; searched with what that part is called, the verb of
# sending read as that part (报 of 报给谁 is no word of the 主送机关 line).
_SENT = frozenset(
    (
        "发给",
        "送给",
        "主送",
        "发往",
        "下发",
        "印发",
        "报",
        "报送",
        "报给",
        "呈报",
        "呈送",
        "上报",
        "主",
        "送",
        "发",
    )
)
_ADDRESSEE_Q = re.compile(
    r"谁|哪(?:个|些|几个|一个|级)?(?:单位|部门|机关|机构)|什么(?:单位|部门|机关|机构)"
)


def with_addressee_terms(
    question: str, tokens: list[str], terms: Callable[[], Sequence[str]]
) -> tuple[list[str], list[str]]:
    """The tokens to search and to analyse for a question asking whom the document is sent
    to, when some 主送机关 of the corpus is called by ``terms()`` (asked only for such a
    question; empty: no document of the corpus has one, and the question keeps ``tokens``
    for both). Searched: the question's tokens and those terms; analysed: the verb of
    sending (报, 发给, 主 / 送…) read as the part. ``question`` is folded."""
    if not _SENT_TO_Q.search(question) or not _ADDRESSEE_Q.search(question):
        return tokens, tokens
    extra = [t for t in terms() if t not in tokens]
    if not extra:
        return tokens, tokens
    analysed = [t for t in tokens if t not in _SENT and t not in _ISSUERS]
    return tokens + extra, analysed + extra


# Who gave a speech or a report (讲话是谁作的, 政府工作报告是谁做的, 谁发表了讲话): its 署名, the
# speaker's post and name under the title (青阳区区长　周文涛), whose own words are a post and a
# name: searched with what that part is called, the verb of speaking read as that part.
_SPOKE = frozenset(("作", "做", "发表"))
_SPEECHES = frozenset(("讲话", "报告", "工作报告", "重要讲话", "发言", "致辞"))
SPEAKER_TERM = "署名"


def with_speaker_terms(
    question: str, tokens: list[str], held: Callable[[str], bool]
) -> tuple[list[str], list[str]]:
    """The tokens to search and to analyse for a question asking who gave a speech or a
    report, when an official document of the corpus has a speaker's 署名 (``held``); any other
    question or corpus keeps ``tokens`` for both. ``question`` is folded."""
    if (
        "谁" not in question
        or _SPOKE.isdisjoint(tokens)
        or _SPEECHES.isdisjoint(tokens)
        or SPEAKER_TERM in tokens
        or not held(SPEAKER_TERM)
    ):
        return tokens, tokens
    analysed = [t for t in tokens if t not in _SPOKE]
    return [*tokens, SPEAKER_TERM], [*analysed, SPEAKER_TERM]


# Who wrote a report or took its pictures (这篇报道是谁写的, 侧记的作者是谁, 照片是谁拍的): the
# report's 署名 (■本报记者 顾一琼 唐玮婕) or a picture's credit (均本报记者 叶辰亮摄, 制图：李洁),
# whose own words are names. Searched with what the part is called, the verb of writing or of
# taking the picture read as that part. A picture named without such a verb (照片里发言的是谁)
# asks about what the picture shows, its caption, and is searched as it stands.
_WROTE = frozenset(("写", "撰写", "执笔", "撰稿", "采写", "撰文", "作者", "记者", "写作"))
_SHOT = frozenset(
    ("拍", "拍摄", "摄", "摄影", "拍照", "摄影记者", "摄影师", "摄制", "制图", "绘制", "绘图", "画")
)
_PICTURES = frozenset(("照片", "图片", "图", "配图", "插图", "图表", "组图", "摄影作品"))
# What a reader calls a report when asking who wrote it (侧记是哪几位记者写的): the document
# itself, as 这份文件 is, no word of its byline to look for (the subtitle ——…全会侧记 would win).
_REPORTS = frozenset(("侧记", "报道", "文章", "稿件", "通讯", "新闻", "特写", "评论", "消息"))
_WHO_MADE_Q = re.compile(r"谁|哪(?:一|几)?(?:位|些|个)|什么人|(?:作者|记者|摄影师?)(?:是|有|叫)")


def with_credit_terms(
    question: str,
    tokens: list[str],
    terms: Callable[[str], Sequence[str]],
) -> tuple[list[str], list[str]]:
    """The tokens to search and to analyse for a question asking who wrote a report
    (``byline``) or who took or drew its pictures (``credit``), when some passage of the corpus
    is such a part: ``terms(role)`` gives the words that part is called by and no other, which
    the index holds (empty: no document has one, and the question keeps ``tokens`` for both).
    Analysed: the question's words without the verb of writing or taking (and, for a picture,
    the picture's name), with the part's words. ``question`` is folded."""
    if not _WHO_MADE_Q.search(question):
        return tokens, tokens
    said = set(tokens)
    pictured = not _PICTURES.isdisjoint(said)
    if not _SHOT.isdisjoint(said) or (pictured and not _WROTE.isdisjoint(said)):
        role, verbs = "credit", _SHOT | _WROTE | _PICTURES
    elif not _WROTE.isdisjoint(said) and not pictured:
        role, verbs = "byline", _WROTE
    else:
        return tokens, tokens
    extra = [t for t in terms(role) if t not in said]
    if not extra:
        return tokens, tokens
    kept = [t for t in tokens if t not in _REPORTS] or tokens
    analysed = [t for t in kept if t not in verbs]
    return kept + extra, analysed + extra


def analyze(
    question: str, tokens: list[str], weights: TermWeights, named: tuple[str, ...] = ()
) -> Query:
    """Analyse a question once for all candidates.

    Args:
        question: The cleaned question.
        tokens: Its search tokens (folded to Simplified script).
        weights: The generation's term weights.
        named: The documents it names (:meth:`rag.answering.naming.TitleNames.named`).
    """
    for variant, standard in _VARIANTS[:2]:
        question = question.replace(variant, standard)
    terms = list(dict.fromkeys(tokens))
    pointed = _POINTED_Q.findall(question)
    if pointed:
        terms = [t for t in terms if t not in pointed] or terms
    w: dict[str, float] = {}
    specific: dict[str, float] = {}
    absent = []
    term = weights.term
    for t in terms:
        w[t], specific[t], missing_here = term(t)
        if missing_here:
            absent.append(t)
    pairs = adjacent_pairs(terms)
    focus = near_wh(question, terms)
    heads = answer_type_heads(question, terms)
    missing = tuple(t for t in absent if t not in heads)
    numbered = None
    m = _NUMBERED.search(question)
    if m:
        count = _CN_DIGITS.get(m.group(1)[-1]) if len(m.group(1)) == 1 else None
        if count:
            numbered = (count, m.group(2))
    article = ARTICLE.search(question)
    return Query(
        question=question,
        terms=terms,
        termset=frozenset(terms),
        weights=w,
        total=sum(w.values()) or 1.0,
        specific=specific,
        pairs=pairs,
        defined=(*pairs, *(t for t in terms if len(t) >= 3)) if _DEFINE_Q.search(question) else (),
        answer_types=tuple(a for q, a in ANSWER_TYPES if q.search(question)),
        focus=focus,
        focus_total=sum(w[t] for t in focus) or 1.0,
        wants_list=bool(_LIST_Q.search(question)) or numbered is not None,
        numbered=numbered,
        asks_why=bool(_WHY_Q.search(question)),
        asks_condition=bool(_CONDITION_Q.search(question)),
        asks_permission=bool(_PERMISSION_Q.search(question)),
        asks_said=bool(_SAID_Q.search(question)),
        article=article_key(article.group(0)) if article else "",
        names_title=bool(article) and weights.names_title(terms),
        heads=heads,
        missing=missing,
        missing_entity=bool(missing)
        and (any(weights.is_entity(t) for t in missing) or unknown_name(terms, missing)),
        named=named,
        units=asked_units(question),
    )


def asked_units(question: str) -> tuple[str, ...]:
    """The units a number question asks in: 几次 → (次,), 多少日内 → (日, 天),
    多长时间 → the units of time, 多少钱 → 元, 几个灭火器 → 个."""
    units: list[str] = []
    for m in _UNIT_Q.finditer(question):
        unit = m.group(1)
        if unit == "钱":  # 多少钱: an amount of money
            units.extend(("元", "万元"))
            continue
        units.extend(_TIME_UNITS if unit in ("日", "天") else (unit,))
        if unit in ("人", "名", "位"):
            units.extend(("人", "名", "位"))
    if _TIME_Q.search(question):
        units.extend(_TIME_UNITS)
    if _COUNT_Q.search(question):
        units.append("个")
    return tuple(dict.fromkeys(units))


_NUMBER_IN = r"(?:\d+(?:\.\d+)?|[零〇一二三四五六七八九十百千万亿两半]+)\s*(?:个)?"


def states_unit(text: str, units: tuple[str, ...]) -> bool:
    """The text states a number in one of ``units`` (60日, 三十日, 两年, 5人)."""
    if not units:
        return False
    pattern = _UNIT_CACHE.get(units)
    if pattern is None:
        if len(_UNIT_CACHE) > 1000:
            _UNIT_CACHE.clear()
        alternatives = "|".join(sorted(map(re.escape, units), key=len, reverse=True))
        pattern = _UNIT_CACHE[units] = re.compile(f"{_NUMBER_IN}(?:{alternatives})")
    return pattern.search(text) is not None


_UNIT_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def answer_type_heads(question: str, terms: Sequence[str]) -> frozenset[str]:
    """Terms that stand right after a question word (什么文件 → 文件)."""
    heads = set()
    for t in terms:
        pos = question.find(t)
        while pos >= 0:
            if _TYPE_HEAD.search(question[max(0, pos - 3) : pos]):
                heads.add(t)
                break
            pos = question.find(t, pos + 1)
    return frozenset(heads)


def defines(text: str, phrases: Sequence[str]) -> bool:
    """True when the text defines a phrase: a quotation right before it (“…”的城市精神) or a
    copula right after it (城市精神是 / 为 / ：)."""
    for phrase in phrases:
        i = text.find(phrase)
        while i >= 0:
            if any(c in text[max(0, i - 6) : i] for c in "”」』") or text[
                i + len(phrase) : i + len(phrase) + 1
            ] in ("是", "为", "即", "：", ":"):
                return True
            i = text.find(phrase, i + 1)
    return False


def unknown_name(terms: Sequence[str], missing: Sequence[str]) -> bool:
    """Two neighbouring single characters both absent from the corpus: a name jieba did not
    know and the documents do not mention."""
    absent = {t for t in missing if len(t) == 1}
    return any(a in absent and b in absent for a, b in itertools.pairwise(terms))


def near_wh(question: str, terms: Sequence[str], reach: int = 4) -> tuple[str, ...]:
    """Question terms within ``reach`` characters of the question word."""
    wh = [m.start() for m in _WH.finditer(question)]
    if not wh:
        return ()
    near = []
    for t in terms:
        pos = question.find(t)
        if pos < 0:
            continue
        end = pos + len(t)
        for w in wh:
            if -reach <= w - end <= reach or -reach <= pos - w <= reach:
                near.append(t)
                break
    return tuple(near)


def adjacent_pairs(terms: Sequence[str]) -> list[str]:
    """Concatenations of neighbouring question terms (search mode also emits a word's parts;
    a part and its whole are not neighbours)."""
    # A part of another term is shorter than it: only longer terms can hold a term.
    longer = [u for u in terms if len(u) >= 3]
    words = []
    for t in terms:
        n = len(t)
        if n >= 2 and not any(len(u) > n and t in u for u in longer):
            words.append(t)
    return [a + b for a, b in itertools.pairwise(words)]


__all__ = [
    "ARTICLE",
    "Query",
    "TermWeights",
    "analyze",
    "asked_units",
    "join_absent",
    "money_for_absent",
    "names_a_rule",
    "split_absent",
    "starts_with_anaphor",
    "states_unit",
    "with_addressee_terms",
    "with_credit_terms",
    "with_issue_terms",
    "with_speaker_terms",
    "without_pointed",
]
