"""From ranked passages to an answer made only of verified verbatim quotes, or a refusal.

Selection works on the sentences of the top passages (their tokens are stored at build time, so
answering costs little more than searching). Each sentence is scored by how much of the
question's information it covers (idf-weighted, with credit for terms that appear verbatim but
were segmented differently), by the passage around it, by its retrieval rank, and by whether it
holds the kind of thing asked for (a number for 多少, a date for 哪天). A long sentence is cut to
the window of clauses that carries the match.

Answerability (``confidence``) is the best sentence's weighted coverage of the question, with
a penalty when a name or Latin term of the question appears nowhere in the retrieved text
(北京市 in a corpus about 上海). It is compared with ``Settings.refusal_threshold``, which
``rag eval --calibrate`` fits on labelled questions.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

from .citations import full_title
from .retrieval import Ranked, Retriever
from .schema import Answer, Chunk, Hit, Quote
from .settings import RetrievalMode
from .store import Generation

log = logging.getLogger(__name__)

MAX_QUOTES = 3
PASSAGES_CONSIDERED = 6
# Sentences that get the full features after the cheap pass.
SHORTLIST = 3
QUOTE_MAX_CHARS = 160
# A further quote must score at least this share of the best one.
SECOND_QUOTE_RATIO = 0.9
# Kinds whose text is the authoritative wording; preferred when they say the same thing.
AUTHORITATIVE = {"resolution", "policy"}

_NUMBER_Q = re.compile(
    r"多少|几[个位家名次年岁人种项条只部座所届]|数量|人数|面积|规模|比例|多[长高大重远久]"
)
_NUMBER_A = re.compile(r"\d|[一二三四五六七八九十百千万亿两]+[个位家名次年岁人种项条米倍%％]")
_DATE_Q = re.compile(r"哪[一]?年|哪天|哪一天|何时|什么时[候间]|哪个月|日期|几月|几日|何年|年份")
_DATE_A = re.compile(
    r"\d{2,4}年|\d{1,2}月|\d{1,2}日|[〇零一二三四五六七八九]{2,4}年|世纪|年代|昨天|今天"
)
_PLACE_Q = re.compile(r"哪里|哪儿|什么地方|何处|在哪|位于哪|哪个(?:国家|省|城市|地区|地方)|何地")
_PLACE_A = re.compile(r"位于|[省市县区镇村乡州国岛]|地区|境内|以[东南西北]")
_ORG_Q = re.compile(
    r"哪(?:个|家|一个|支)(?:公司|组织|机构|球队|俱乐部|大学|学校|单位|部门|政党|团体)|哪家"
)
_ORG_A = re.compile(r"公司|集团|组织|机构|[队会社院校部局委]|俱乐部|大学|学院")
_JOB_Q = re.compile(r"职业|身份|从事什么|做什么工作|什么工作")
_JOB_A = re.compile(
    r"运动员|演员|歌手|作家|导演|教练|政治家|学家|艺术家|主持人|商人|律师|医生|教师|工程师|官员|将领|军人|记者|画家|模特"
)
_ANAPHOR = re.compile(r"^(?:它|他|她|其|此|该|这|那|牠|祂|它们|他们|她们|这些|那些)")
_NON_WORD = re.compile(r"[^\w]|_")
_ANSWER_TYPES = (
    (_NUMBER_Q, _NUMBER_A),
    (_DATE_Q, _DATE_A),
    (_PLACE_Q, _PLACE_A),
    (_ORG_Q, _ORG_A),
    (_JOB_Q, _JOB_A),
)
_WH = re.compile(r"什么|哪|谁|多少|几|怎样|怎么|如何|为什么|为何|何时|何地|何处|是否|吗|呢")
_DEFINE_Q = re.compile(r"是什么|指什么|是哪些|有哪些|包括哪些|包括什么|什么是|是指|哪几个词|哪些词")
_LIST_Q = re.compile(r"哪些|哪几|几个|几项|几方面|哪两|哪三|哪四|哪五|哪六")
_CLAUSE = re.compile(r"[，,；;：:]")
_OPENERS = "“‘「『《（(【"
_CLOSERS = "”’」』》）)】"
_ENTITY_TAGS = {"ns", "nr", "nrt", "nrfg", "nt", "nz", "eng"}
_LATIN = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
# A number or ordinal in Chinese numerals, with its measure word: 十二次, 第九条, 两届. Like a
# name, it decides what is asked: 十二次全会 is not answered by the 十一次 one.
_NUMERAL = re.compile(
    r"^第?[零〇一二三四五六七八九十百千万亿两]+[次届年月日号条款章节项个位名期批轮季集]?$"
)
_WHY_Q = re.compile(r"为什么|为何|什么原因|原因是|缘何|何以")


# Sentence features, in the order AnswerSelector.features returns them.
FEATURES = (
    "coverage",
    "context",
    "pairs",
    "definition",
    "answer_type",
    "restates",
    "lead",
    "focus",
)


@dataclass(frozen=True)
class SelectionWeights:
    """Weights of the sentence-selection features.

    Tuned by coordinate ascent on CMRC 2018 dev questions 1–1000 and validated on questions
    1001–3219 (``benchmarks/tune_selection.py``); ``definition`` was raised from 0 because
    official documents define their terms as “…”的城市精神, which encyclopedic text rarely does.

    Attributes:
        coverage: Share of the question's weight in the sentence itself.
        context: The same, counting the document title and, after a pronoun, the sentence before.
        pairs: Neighbouring question words standing together in the sentence.
        definition: The sentence defines a phrase of the question.
        answer_type: The sentence holds what is asked for (a number for 多少, a date for 何时…).
        restates: Penalty for a sentence that only repeats the question's words.
        lead: The sentence opens its paragraph.
        focus: Share of the words next to the question word (由谁改编 → 改编).
        rank_score: The passage's retrieval score relative to the best passage.
        authoritative: The sentence is from a resolution or policy document.
    """

    coverage: float = 0.0
    context: float = 1.0
    pairs: float = 0.1
    definition: float = 0.15
    answer_type: float = 0.15
    restates: float = 0.4
    lead: float = 0.05
    focus: float = 0.15
    rank_score: float = 0.2
    authoritative: float = 0.03


@dataclass(frozen=True)
class _Query:
    """Everything about the question that sentence scoring needs, computed once."""

    question: str
    terms: list[str]
    termset: frozenset[str]
    weights: dict[str, float]
    total: float
    pairs: list[str]
    defined: tuple[str, ...]
    answer_types: tuple[re.Pattern[str], ...]
    wants_list: bool
    focus: tuple[str, ...] = ()
    focus_total: float = 1.0
    asks_why: bool = False


@dataclass(frozen=True)
class _Candidate:
    passage: int
    start: int
    end: int
    score: float
    coverage: float
    context: float = 0.0
    index: int = 0  # position of the sentence in its passage


@dataclass(frozen=True)
class Selection:
    """The outcome of quote selection before formatting."""

    quotes: tuple[Quote, ...]
    hits: tuple[Hit, ...]
    confidence: float


class AnswerSelector:
    """Selects verbatim quotes for a question from one generation.

    Args:
        retriever: Retriever over the generation.
    """

    def __init__(self, retriever: Retriever, weights: SelectionWeights | None = None) -> None:
        self.retriever = retriever
        self.weights = weights or SelectionWeights()
        self.gen: Generation = retriever.generation
        self._idf_max = self.gen.lexical.max_idf
        self._weights: dict[str, float] = {}
        self._titles: dict[str, frozenset[str]] = {}
        self._specific: dict[str, float] = {}

    # -- weights -----------------------------------------------------------------------------

    def _weight(self, token: str) -> float:
        weight = self._weights.get(token)
        if weight is None:
            if len(self._weights) > 100_000:  # bounded: questions are open-ended
                self._weights.clear()
            weight = self._weights[token] = self._compute_weight(token)
        return weight

    def _compute_weight(self, token: str) -> float:
        if self.gen.lexical.df(token) > 0:
            weight = max(self.gen.lexical.idf(token), 0.05)
            # A lone character is rare in a corpus more often than it is informative (用, 词).
            return weight * 0.35 if len(token) == 1 else weight
        if self._is_entity(token):
            # Unknown to the corpus: a name or Latin term is decisive...
            return self._idf_max + 1.0
        # ...a word is as informative as it is rare in Chinese at large: 开会 or 到场 may
        # paraphrase the text, 鳗 hardly.
        rarity = self.gen.tokenizer.rarity(token)
        return self._idf_max * min(1.4, max(0.1, (rarity - 3.5) / 3.0))

    def _is_entity(self, token: str) -> bool:
        if _LATIN.match(token) or _NUMERAL.match(token):
            return True
        return self.gen.tokenizer.word_tag(token) in _ENTITY_TAGS

    # -- selection ---------------------------------------------------------------------------

    def select(self, question: str, tokens: list[str], k: int, mode: RetrievalMode) -> Selection:
        """Rank passages and pick up to three quotes; ``confidence`` drives refusal."""
        ranked = self.retriever.rank(tokens, question, max(k, PASSAGES_CONSIDERED), mode)
        hits = tuple(self.retriever.hit(r) for r in ranked[:k])
        if not ranked or not tokens:
            return Selection((), hits, 0.0)
        query = self._query(question, tokens)
        candidates = self.candidates(query, ranked)
        candidates.sort(key=lambda c: (-c.score, c.passage, c.start))
        best = candidates[0] if candidates else None
        confidence = self._confidence(best, ranked, query)
        quotes = self._quotes(candidates, query)
        return Selection(quotes, hits, confidence)

    def _query(self, question: str, tokens: list[str]) -> _Query:
        terms = list(dict.fromkeys(tokens))
        weights = {t: self._weight(t) for t in terms}
        pairs = _adjacent_pairs(terms)
        focus = _near_wh(question, terms)
        return _Query(
            question=question,
            terms=terms,
            termset=frozenset(terms),
            weights=weights,
            total=sum(weights.values()) or 1.0,
            pairs=pairs,
            defined=(
                (*pairs, *(t for t in terms if len(t) >= 3)) if _DEFINE_Q.search(question) else ()
            ),
            answer_types=tuple(a for q, a in _ANSWER_TYPES if q.search(question)),
            wants_list=bool(_LIST_Q.search(question)),
            asks_why=bool(_WHY_Q.search(question)),
            focus=focus,
            focus_total=sum(weights[t] for t in focus) or 1.0,
        )

    def candidates(self, query: _Query, ranked: list[Ranked]) -> list[_Candidate]:
        """The sentences of the top passages most likely to answer, with their scores.

        A cheap pass (question terms found in each sentence's stored token string) keeps a
        shortlist; only the shortlist gets the full features. This keeps ``answer()`` within
        a small factor of ``search()``.
        """
        top_score = ranked[0].score or 1.0
        w = self.weights
        weights = query.weights
        terms = query.terms
        scale = (w.coverage + w.context) / query.total
        chunks, documents = self.gen.chunks, self.gen.documents
        rough: list[tuple[float, int, int, float]] = []
        for rank, item in enumerate(ranked[:PASSAGES_CONSIDERED]):
            chunk = chunks[item.index]
            doc = documents[chunk.doc_id]
            base = w.rank_score * (item.score / top_score if top_score > 0 else 0.0)
            if doc.kind in AUTHORITATIVE:
                base += w.authoritative
            title = self._title_tokens(chunk.doc_id)
            strings = self.gen.sentence_tokens[item.index]
            # Terms the title gives every sentence alike, then the few the passage holds.
            title_weight = 0.0
            present = []
            joined = " ".join(strings)
            for t in terms:
                if t in title:
                    title_weight += weights[t]
                elif t in joined:
                    present.append(t)
            for j, toks in enumerate(strings):
                cheap = title_weight
                for t in present:
                    if t in toks:
                        cheap += weights[t]
                cheap *= scale
                if query.defined:
                    # A definition of the asked phrase must not fall off the shortlist.
                    s_, e_ = chunk.sentences[j]
                    cheap += w.definition * _defines(doc.text[s_:e_], query.defined)
                rough.append((base + cheap, rank, j, base))
        rough.sort(key=lambda r: -r[0])
        weight_vector = [getattr(w, name) for name in FEATURES]
        out = []
        for _, rank, j, base in rough[:SHORTLIST]:
            passage = ranked[rank].index
            f = self.features(query, passage, j)
            score = base
            for weight, value in zip(weight_vector, f, strict=True):
                score += weight * value
            start, end = chunks[passage].sentences[j]
            out.append(_Candidate(passage, start, end, score, f[0], f[1], j))
        return out

    def features(self, query: _Query, passage: int, j: int) -> tuple[float, ...]:
        """Features of sentence ``j`` of a passage, in the order of :data:`FEATURES`."""
        chunk = self.gen.chunks[passage]
        start, end = chunk.sentences[j]
        doc = self.gen.documents[chunk.doc_id]
        text = doc.text[start:end]
        lowered = text.lower()
        token_strings = self.gen.sentence_tokens[passage]
        tokset = set(token_strings[j].split())
        # The topic a sentence leans on: its document's title, and the sentence before when
        # this one opens with a pronoun (它是一种无色液体… after 环氧氯丙烷是…).
        context = self._title_tokens(doc.doc_id)
        if j > 0 and _ANAPHOR.match(text):
            context = context | set(token_strings[j - 1].split())
        coverage, in_context = _coverage(query, tokset, lowered, context)
        pairs = sum(1 for p in query.pairs if p in text) / len(query.pairs) if query.pairs else 0.0
        # The words next to the question word carry what is asked (由谁改编 → 改编).
        focus = (
            sum(query.weights[t] for t in query.focus if t in tokset or t in lowered)
            / query.focus_total
            if query.focus
            else 0.0
        )
        return (
            coverage,
            in_context,
            pairs,
            float(bool(query.defined) and _defines(text, query.defined)),
            float(any(a.search(text) for a in query.answer_types)),
            # Says nothing the question does not already say.
            -float(tokset <= query.termset),
            float(start == doc.paragraph(chunk.paragraphs[0]).start),
            focus,
        )

    def _title_tokens(self, doc_id: str) -> frozenset[str]:
        tokens = self._titles.get(doc_id)
        if tokens is None:
            if len(self._titles) > 50_000:
                self._titles.clear()
            title = self.gen.documents[doc_id].title
            tokens = self._titles[doc_id] = frozenset(self.gen.tokenizer.tokenize(title))
        return tokens

    def _confidence(self, best: _Candidate | None, ranked: list[Ranked], query: _Query) -> float:
        """How surely the best sentence answers: the share of the question's *specific*
        words it covers (in the sentence, its context or its passage), where a word counts
        by how rare it is in Chinese at large as well as in the corpus, so that matching 最大
        or 中心 proves little and missing 开会 costs less than missing 北京市."""
        if best is None:
            return 0.0
        weights = {t: self._specificity(t) for t in query.terms}
        chunk = self.gen.chunks[best.passage]
        doc = self.gen.documents[chunk.doc_id]
        text = doc.text[best.start : best.end].lower()
        strings = self.gen.sentence_tokens[best.passage]
        j = best.index
        context = self._title_tokens(doc.doc_id)
        if j > 0 and _ANAPHOR.match(text):
            context = context | set(strings[j - 1].split())
        _, in_context = _coverage(query, set(strings[j].split()), text, context, weights)
        # The passage around it, by plain presence of the words.
        joined, passage_text = " ".join(strings), chunk.text.lower()
        passage_cov = sum(weights[t] for t in query.terms if t in joined or t in passage_text) / (
            sum(weights.values()) or 1.0
        )
        confidence = 0.7 * in_context + 0.3 * passage_cov
        if (
            query.answer_types
            and any(a.search(text) for a in query.answer_types)
            and any(t in text for t in query.focus)
        ):
            # The kind of thing asked for (几位 → 2人) next to what it is asked about.
            confidence += 0.15
        missing = [t for t in query.terms if self.gen.lexical.df(t) == 0]
        if missing:
            retrieved = " ".join(self.gen.chunks[r.index].text for r in ranked[:3]).lower()
            if any(self._is_entity(t) and t not in retrieved for t in missing) or _unknown_name(
                query.terms, missing
            ):
                # A name the retrieved text lacks: 北京市, GDP, or an unknown name that jieba
                # could only cut into single characters (蟒 鳗).
                confidence *= 0.5
        return round(min(1.0, confidence), 4)

    def _specificity(self, token: str) -> float:
        value = self._specific.get(token)
        if value is None:
            if len(self._specific) > 100_000:
                self._specific.clear()
            value = self._specific[token] = self._compute_specificity(token)
        return value

    def _compute_specificity(self, token: str) -> float:
        rarity = min(1.5, max(0.05, (self.gen.tokenizer.rarity(token) - 2.5) / 3.0))
        if self.gen.lexical.df(token) == 0:
            return 1.5 if self._is_entity(token) else rarity
        return rarity * (0.5 + 0.5 * self.gen.lexical.idf(token) / self._idf_max)

    def _quotes(self, candidates: list[_Candidate], query: _Query) -> tuple[Quote, ...]:
        quotes: list[Quote] = []
        used_paragraphs: set[tuple[str, int]] = set()
        if not candidates:
            return ()
        best_score = candidates[0].score
        for cand in candidates:
            if len(quotes) >= MAX_QUOTES or (
                quotes and cand.score < SECOND_QUOTE_RATIO * best_score
            ):
                break
            if cand.coverage <= 0:
                continue
            chunk = self.gen.chunks[cand.passage]
            doc = self.gen.documents[chunk.doc_id]
            key = (doc.doc_id, chunk.paragraphs[0])
            if key in used_paragraphs:
                continue
            start, end = self._window(doc.text, cand.start, cand.end, query)
            if query.asks_why and (start, end) == (cand.start, cand.end):
                end = self._with_reason(chunk, cand, query, end)
            quote = self._verified_quote(chunk.doc_id, chunk.paragraphs[0], start, end, cand.score)
            if quote is None:
                continue
            if any(q.text in quote.text or quote.text in q.text for q in quotes):
                continue
            used_paragraphs.add(key)
            quotes.append(quote)
        return _prefer_authoritative(quotes, self.gen)

    def _with_reason(self, chunk: Chunk, cand: _Candidate, query: _Query, end: int) -> int:
        """For a 为什么 question whose best sentence only restates what is asked (上海被称为
        “大上海”), the end of the sentence after it in the same paragraph, where the reason
        stands (这样一种“大”既是指…); otherwise ``end`` unchanged."""
        j = cand.index + 1
        if j >= len(chunk.sentences):
            return end
        if not _restates(query, set(self.gen.sentence_tokens[cand.passage][cand.index].split())):
            return end
        doc = self.gen.documents[chunk.doc_id]
        _, next_end = chunk.sentences[j]
        same_paragraph = any(
            p.start <= cand.start and next_end <= p.end
            for p in (doc.paragraph(n) for n in chunk.paragraphs)
        )
        if not same_paragraph or next_end - cand.start > QUOTE_MAX_CHARS * 1.5:
            return end
        return _strip_trailing_mark(doc.text, cand.start, next_end)

    def _window(self, text: str, start: int, end: int, query: _Query) -> tuple[int, int]:
        """The sentence itself when short; otherwise the best window of its clauses."""
        if end - start <= QUOTE_MAX_CHARS:
            return start, end
        clauses = _clauses(text, start, end)
        if len(clauses) <= 1:
            return start, end
        qset = query.termset
        weights = query.weights
        gains = []
        for s, e in clauses:
            piece = text[s:e].lower()
            gains.append(sum(weights[t] for t in qset if t in piece))
        best_i = max(range(len(clauses)), key=lambda i: (gains[i], -i))
        lo = hi = best_i
        # Grow towards neighbours that add matched terms, within the size limit.
        while True:
            options = []
            if lo > 0 and gains[lo - 1] > 0:
                options.append((gains[lo - 1], lo - 1, hi))
            if hi + 1 < len(clauses) and gains[hi + 1] > 0:
                options.append((gains[hi + 1], lo, hi + 1))
            options = [o for o in options if clauses[o[2]][1] - clauses[o[1]][0] <= QUOTE_MAX_CHARS]
            if not options:
                break
            _, lo, hi = max(options)
        # A window that only restates the question gets the clause that follows it: that is
        # where the answer to "什么" usually stands.
        window_text = text[clauses[lo][0] : clauses[hi][1]].lower()
        restates = _restates(query, window_text) and len(window_text) < 40
        if (
            (restates or query.wants_list)
            and hi + 1 < len(clauses)
            and clauses[hi + 1][1] - clauses[lo][0] <= QUOTE_MAX_CHARS * 1.5
        ):
            hi += 1
        return clauses[lo][0], _strip_trailing_mark(text, clauses[lo][0], clauses[hi][1])

    def _verified_quote(
        self, doc_id: str, paragraph: int, start: int, end: int, score: float
    ) -> Quote | None:
        doc = self.gen.documents[doc_id]
        return verify_quote(
            Quote(
                text=doc.text[start:end],
                doc_id=doc_id,
                doc_title=doc.title,
                section=tuple(ref.display for ref in doc.paragraph(paragraph).section),
                paragraph=paragraph,
                start=start,
                end=end,
                citation=self.retriever.citation(doc_id, paragraph),
                doc_kind=doc.kind,
                score=round(score, 4),
            ),
            self.gen,
        )


def verify_quote(quote: Quote, gen: Generation) -> Quote | None:
    """Return the quote when it is an exact slice of its document's stored text and lies
    inside the paragraph it cites; otherwise log it and return None (it is never shown)."""
    doc = gen.documents.get(quote.doc_id)
    problem = ""
    if doc is None:
        problem = "unknown document"
    elif not 0 <= quote.start < quote.end <= len(doc.text):
        problem = "span outside the document"
    elif doc.text[quote.start : quote.end] != quote.text:
        problem = "text differs from the document"
    elif not 1 <= quote.paragraph <= len(doc.paragraphs):
        problem = "no such paragraph"
    else:
        para = doc.paragraph(quote.paragraph)
        if not (para.start <= quote.start and quote.end <= para.end):
            problem = "span outside the cited paragraph"
    if problem:
        log.warning("dropped an unverifiable quote (%s): %r", problem, quote)
        return None
    return quote


def _unknown_name(terms: Sequence[str], missing: Sequence[str]) -> bool:
    """Two neighbouring single characters both absent from the corpus: a name jieba did not
    know and the documents do not mention."""
    absent = {t for t in missing if len(t) == 1}
    return any(a in absent and b in absent for a, b in itertools.pairwise(terms))


def _near_wh(question: str, terms: Sequence[str], reach: int = 4) -> tuple[str, ...]:
    """Question terms within ``reach`` characters of the question word."""
    wh = [m.start() for m in _WH.finditer(question)]
    if not wh:
        return ()
    near = []
    for t in terms:
        pos = question.find(t)
        if pos >= 0 and any(
            -reach <= w - (pos + len(t)) <= reach or -reach <= pos - w <= reach for w in wh
        ):
            near.append(t)
    return tuple(near)


def _adjacent_pairs(terms: Sequence[str]) -> list[str]:
    """Concatenations of neighbouring question terms (search mode also emits a word's parts;
    a part and its whole are not neighbours)."""
    words = [t for t in terms if len(t) >= 2 and not any(t != u and t in u for u in terms)]
    return [a + b for a, b in itertools.pairwise(words)]


_TITLE = re.compile(r"《[^》]*》")


def _coverage(
    query: _Query,
    tokens: set[str],
    text: str,
    context: frozenset[str] = frozenset(),
    weights: dict[str, float] | None = None,
) -> tuple[float, float]:
    """Share of the question's weight found in a text, without and with ``context`` tokens.

    A term counts fully when it is one of the text's tokens or stands in the text verbatim
    (segmented differently); partly when most of its characters do (a paraphrase such as
    性格 / 品格). A term met only inside a 《title》 is a mention of a document, not a statement
    about the term, and counts half.
    """
    if weights is None:
        weights, total = query.weights, query.total
    else:
        total = sum(weights.values()) or 1.0
    got = extra = 0.0
    for t in query.terms:
        if t in tokens or (len(t) >= 2 and t in text):
            got += weights[t]
        elif t in context:
            extra += weights[t]
        elif len(t) >= 2:
            shared = sum(1 for ch in t if ch in text) / len(t)
            if shared >= 0.5:
                got += 0.3 * shared * weights[t]
    if "《" in text:
        outside = _TITLE.sub("\0", text)
        got -= sum(0.5 * weights[t] for t in query.terms if t in text and t not in outside)
    return got / total, (got + extra) / total


def _restates(query: _Query, found: Container[str]) -> bool:
    """True when every weighty question term (weight over 0.5) is in ``found`` (a sentence's
    tokens or its text): the sentence says what the question says, not what it asks."""
    return all(t in found for t in query.termset if query.weights[t] > 0.5)


def _defines(text: str, phrases: Sequence[str]) -> bool:
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


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clause spans of a sentence, never splitting inside quotes or brackets."""
    spans = []
    depth = 0
    s = start
    for i in range(start, end):
        ch = text[i]
        if ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        elif depth == 0 and _CLAUSE.match(ch):
            if i + 1 > s:
                spans.append((s, i + 1))
            s = i + 1
    if end > s:
        spans.append((s, end))
    return spans


def _strip_trailing_mark(text: str, start: int, end: int) -> int:
    while end > start + 1 and text[end - 1] in "，,；;：:、":
        end -= 1
    return end


def _prefer_authoritative(quotes: list[Quote], gen: Generation) -> tuple[Quote, ...]:
    """When an authoritative document and a report say the same, the authoritative one first."""
    if len(quotes) < 2 or quotes[0].doc_kind in AUTHORITATIVE:
        return tuple(quotes)
    first = quotes[0]
    for i, q in enumerate(quotes[1:], start=1):
        if q.doc_kind in AUTHORITATIVE and q.score >= SECOND_QUOTE_RATIO * first.score:
            return (q, *quotes[:i], *quotes[i + 1 :])
    return tuple(quotes)


# -- formatting -------------------------------------------------------------------------------

_KIND_ATTRIBUTION = {
    "resolution": "全会决议原文",
    "side_report": "报纸侧记报道（非决议原文）",
    "article": "报道原文",
    "policy": "文件原文",
    "record": "原文",
}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-!|~>])")


def escape_markdown(text: str) -> str:
    """Make document or user text inert in Markdown: HTML and Markdown syntax are escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def attribution(kind: str) -> str:
    """Short Chinese label saying whose words a quote is."""
    return _KIND_ATTRIBUTION.get(kind, "原文")


def format_answer(quotes: Sequence[Quote], gen: Generation) -> str:
    """Markdown: each quote as a block quote in 「」 with its attribution and citation."""
    parts = []
    for quote in quotes:
        doc = gen.documents[quote.doc_id]
        parts.append(
            f"据{escape_markdown('《' + full_title(doc) + '》')}（{attribution(doc.kind)}）：\n\n"
            f"> 「{escape_markdown(quote.text)}」\n>\n> —— {escape_markdown(quote.citation)}"
        )
    return "\n\n".join(parts)


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
    "AnswerSelector",
    "Selection",
    "attribution",
    "build_answer",
    "escape_markdown",
    "format_answer",
    "format_refusal",
    "verify_quote",
]
