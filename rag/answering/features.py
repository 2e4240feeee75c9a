"""Features: numbers describing how well a candidate answers the question.

Two sets. :data:`FEATURES` describe one candidate (coverage of the question's weight, the
passage around it, the kind of thing asked for, the question type against the candidate's
shape); the fitted ranker turns them into a probability that the candidate holds the answer.
:data:`CONFIDENCE_FEATURES` describe the question and its best candidate (that probability,
the margin to the runner-up, how much of the question's *specific* vocabulary the documents
hold at all); the fitted confidence model turns them into the probability that the answer is
right, which the refusal threshold reads.

All text matching runs on folded text (Simplified script, lower case), so Traditional
documents and questions match either way; quotes keep the document's own characters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from ..lru import LRUCache
from ..schema import AUTHORITATIVE_KINDS, Document
from ..store import Generation
from .analysis import Query, defines, states_unit
from .candidates import Candidate, CandidateGenerator, PassageRecord

FEATURES = (
    "coverage",  # share of the question's weight in the candidate
    "context",  # the same, counting the title and (after a pronoun) the sentence before
    "head_coverage",  # share in its first sentence alone
    "added",  # share the continuation adds beyond the first sentence
    "pairs",  # neighbouring question words standing together
    "definition",  # defines a phrase of the question (“…”的城市精神, 城市精神是)
    "answer_type",  # holds what is asked for (a number for 多少, a date for 何时)
    "restates",  # its first sentence only repeats the question's words
    "focus",  # share of the words next to the question word
    "lead",  # opens its paragraph
    "retrieval",  # its passage's score relative to the best passage
    "rank",  # 1 / (1 + passage rank)
    "authoritative",  # from an official text (schema.AUTHORITATIVE_KINDS), not a report
    "title",  # share of the question's weight in the document title
    "log_length",
    "is_next",
    "is_list",
    "list_q_list",  # a list question, a lead-in with items
    "list_q_enumeration",  # a list question, a candidate enumerating (、；)
    "numbered",  # “五个坚持”: the stem appears as often as the number says
    "article_hit",  # the article the question names by number
    "article_q_list",  # asked by number, that article with its items and 款
    "why_next",  # a why-question, with the sentence after
    "said_next",  # who-said-what, with the sentence after
    "restates_next",  # a restating first sentence, with the sentence after
    "anaphor_next",  # the added sentence opens with a pronoun (continues the first)
    "condition",  # a condition question, a candidate with 但是/除外/不得
    "whole_article",  # spans one whole statute article (every 款 and 项)
    "named_doc",  # from a document the question names (劳动合同法 → 中华人民共和国劳动合同法)
    "named_other",  # the question names documents, this is none of them
    "permission",  # a may-I question, a candidate stating a rule (不得, 禁止, 可以, 有权)
    "unit",  # a number question: states a number in the unit asked (几次 → 3次)
    # The dense side (0 on an index without sentence vectors; a model of its own is fitted
    # for indexes with them, see rag.answering.model).
    "semantic",  # cosine of the question with the candidate's sentence(s)
    "dense_rank",  # 1 / (1 + its passage's rank in the dense ranking)
    # Against the question's other candidates (see with_context).
    "official_echo",  # a report's candidate: share of its text an official candidate repeats
    "official_alt",  # a report's candidate: an official candidate covers as much of the question
    # The same against the question's best candidate (0 for the best): a linear model
    # ranks within a question through these.
    "coverage_gap",
    "context_gap",
    "retrieval_gap",
    "focus_gap",
    "semantic_gap",
)
RELATIVE = ("coverage", "context", "retrieval", "focus", "semantic")
# Filled by :func:`with_context` (the per-candidate pass leaves them 0).
CROSS = ("official_echo", "official_alt")
_OFFICIAL = FEATURES.index("authoritative")
_COVERAGE = FEATURES.index("coverage")
_ECHO, _ALT = FEATURES.index("official_echo"), FEATURES.index("official_alt")
_RELATIVE_AT = tuple(FEATURES.index(n) for n in RELATIVE)

CONFIDENCE_FEATURES = (
    "probability",  # the ranker's probability for the best candidate
    "margin",  # minus the runner-up's
    "specific_coverage",  # the question's specific words in the best sentence and context
    "passage_coverage",  # the same in its passage
    "missing_share",  # share of the specific weight on words no document holds
    "missing_max",  # the most specific such word
    "missing_entity",  # a name or number no document holds
    "typed_focus",  # the asked kind next to the asked word (几位 → 2人)
    "log_terms",
    "semantic",  # the best candidate's cosine with the question (0 without vectors)
    "unit_missing",  # a number question whose best candidate states no number in its unit
    "dense_rank",  # the best candidate's passage in the dense ranking (0 without vectors)
    "article_miss",  # an article asked for by number, the best candidate is not in it
    # The kind of thing asked for (a number for 几位, a date for 哪一年) against what the
    # best candidate holds: none of it, or a number in the very unit asked (79人 for 多少名).
    "type_missing",  # the question asks a kind of thing, the best candidate holds none
    "unit_stated",  # a number question, the best candidate states a number in its unit
)

# Candidate spans (folded text, bigrams) and passages kept between questions (sentences are
# kept in the candidate generator's passage records).
BIGRAM_CACHE = 4096
SPAN_CACHE = 16384
PASSAGE_CACHE = 4096
ECHO_CACHE = 16384

_ENUMERATION = re.compile(r"[、；;]")
_CONDITION_A = re.compile(r"但是|但|除外|不得|不适用|例外|除.{1,20}外|情形之一")
_TITLE = re.compile(r"《[^》]*》")
_RULE = re.compile(r"不得|禁止|严禁|可以|有权|无权|应当|必须|不予|不准|准许|允许")


def with_gaps(rows: list[list[float]]) -> list[list[float]]:
    """Append each candidate's distance to the question's best value of :data:`RELATIVE`."""
    if not rows:
        return rows
    at = _RELATIVE_AT
    best = [(i, max(r[i] for r in rows)) for i in at]
    return [r + [r[i] - b for i, b in best] for r in rows]


def with_context(
    rows: list[list[float]],
    texts: Sequence[str],
    echo: Callable[[int, int], float | None] | None = None,
) -> list[list[float]]:
    """Fill :data:`CROSS`: whether a report's candidate says what an official candidate of
    the same question says (its character bigrams found there) or covers no more of the
    question than one. Official candidates keep 0.

    ``texts`` (the candidates' folded spans) is read only when the question has candidates
    of both kinds. ``echo(n, m)``, when given, is the share of candidate ``n``'s bigrams
    found in candidate ``m`` (None when ``n`` has none), from a cache; by default it is
    computed from ``texts``."""
    sources = [n for n, r in enumerate(rows) if r[_OFFICIAL]]
    reports = [n for n, r in enumerate(rows) if not r[_OFFICIAL]]
    if not sources or not reports:  # nothing to compare (a corpus of one kind): no bigrams
        return rows
    if echo is None:
        grams = {n: span_bigrams(texts[n]) for n in (*sources, *reports)}

        def echo(n: int, m: int) -> float | None:
            return len(grams[n] & grams[m]) / len(grams[n]) if grams[n] else None

    for n in reports:
        shares = [echo(n, m) for m in sources]
        if shares[0] is None:  # a span too short for a bigram
            continue
        row = rows[n]
        row[_ECHO] = max(share or 0.0 for share in shares)
        row[_ALT] = float(any(rows[m][_COVERAGE] >= row[_COVERAGE] for m in sources))
    return rows


def span_bigrams(text: str) -> frozenset[str]:
    """The character bigrams of a text."""
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


class _Spans(Sequence[str]):
    """The candidates' folded spans, each folded when first read (most questions read none)."""

    def __init__(self, extractor: FeatureExtractor, cands: list[Candidate]) -> None:
        self._extractor = extractor
        self._cands = cands

    def __len__(self) -> int:
        return len(self._cands)

    def __getitem__(self, n: int) -> str:  # type: ignore[override]
        return self._extractor._span(self._cands[n])


def whole_article(doc: Document, cand: Candidate) -> bool:
    """The candidate runs from the first to the last character of one statute article."""
    if doc.genre != "statute":
        return False
    first = doc.paragraph(cand.paragraph)
    if not first.section or not first.section[-1].key.endswith("条"):
        return False
    if cand.start != first.start or (
        cand.paragraph > 1 and doc.paragraph(cand.paragraph - 1).section == first.section
    ):
        return False
    last = cand.last_paragraph
    if last < len(doc.paragraphs) and doc.paragraph(last + 1).section == first.section:
        return False
    end = doc.paragraph(last)
    return end.section == first.section and cand.end >= end.end


class _Asked(NamedTuple):
    """A question's facts that every candidate's features read, in the form they are read
    (computed once per question by :meth:`FeatureExtractor.features`)."""

    terms: list[tuple[str, float, int]]
    pairs: list[str]
    focus: list[tuple[str, float]]
    wants_list: float
    numbered: tuple[int, str] | None
    article: str
    answer_types: tuple[re.Pattern[str], ...]
    defined: tuple[str, ...]
    asks_why: float
    asks_said: float
    asks_condition: bool
    asks_permission: bool
    units: tuple[str, ...]

    @classmethod
    def of(cls, query: Query) -> _Asked:
        weights = query.weights
        return cls(
            [(t, weights[t], len(t)) for t in query.terms],
            query.pairs,
            [(t, weights[t]) for t in query.focus],
            float(query.wants_list),
            query.numbered,
            query.article,
            query.answer_types,
            query.defined,
            float(query.asks_why),
            float(query.asks_said),
            query.asks_condition,
            query.asks_permission,
            query.units,
        )


class FeatureExtractor:
    """Computes :data:`FEATURES` and :data:`CONFIDENCE_FEATURES` on one generation."""

    def __init__(self, gen: Generation, candidates: CandidateGenerator) -> None:
        self.gen = gen
        self.candidates = candidates
        # Question-independent work on the passages, kept between questions (this extractor
        # belongs to one generation: a new generation starts with empty caches).
        self._bigrams = LRUCache(BIGRAM_CACHE)
        self._spans = LRUCache(SPAN_CACHE)
        self._passages = LRUCache(PASSAGE_CACHE)
        self._echoes = LRUCache(ECHO_CACHE)

    def fold(self, doc_id: str, text: str) -> str:
        """A document's text folded for matching (:meth:`CandidateGenerator.fold`)."""
        return self.candidates.fold(doc_id, text)

    def all_features(self, query: Query, cands: list[Candidate]) -> list[list[float]]:
        """Feature vectors of all candidates of a question, cross-candidate features and
        gaps included."""
        memo: dict[Any, Any] = {}
        rows = [self.features(query, c, memo) for c in cands]
        return with_gaps(
            with_context(rows, _Spans(self, cands), lambda n, m: self.echo(cands[n], cands[m]))
        )

    def echo(self, report: Candidate, source: Candidate) -> float | None:
        """Share of ``report``'s span bigrams found in ``source``'s span, None when it has
        none (cached by the pair of spans)."""
        key = (report.passage, report.start, report.end, source.passage, source.start, source.end)
        share = self._echoes.get(key)
        if share is None:
            own = self.span_bigrams(report)
            if not own:
                return None
            share = len(own & self.span_bigrams(source)) / len(own)
            self._echoes.put(key, share)
        return share

    def span_bigrams(self, cand: Candidate) -> frozenset[str]:
        """The bigrams of a candidate's folded span (cached by span)."""
        key = (cand.passage, cand.start, cand.end)
        grams = self._bigrams.get(key)
        if grams is None:
            grams = span_bigrams(self._span(cand))
            self._bigrams.put(key, grams)
        return grams

    def passage(self, passage: int) -> tuple[str, str]:
        """A passage's stored tokens (space-joined) and its folded text (cached)."""
        value = self._passages.get(passage)
        if value is None:
            gen = self.gen
            chunk = gen.chunks[passage]
            value = (self.candidates.passage_tokens(passage), self.fold(chunk.doc_id, chunk.text))
            self._passages.put(passage, value)
        return value

    def sentence(self, passage: int, j: int) -> tuple[frozenset[str], str]:
        """Sentence ``j`` of a passage: its stored tokens as a set and its folded text (from
        the passage's cached record)."""
        info = self.candidates.record(passage).sentences[j]
        return info.tokens, info.folded

    def _span(self, cand: Candidate) -> str:
        """A candidate's span, folded (cached by span: the same sentences and their
        continuations are candidates of many questions)."""
        key = (cand.passage, cand.start, cand.end)
        text = self._spans.get(key)
        if text is None:
            doc = self.candidates.record(cand.passage).doc
            text = self.fold(doc.doc_id, doc.text[cand.start : cand.end])
            self._spans.put(key, text)
        return text

    def features(
        self, query: Query, cand: Candidate, memo: dict[Any, Any] | None = None
    ) -> list[float]:
        """The feature vector of one candidate, in the order of :data:`FEATURES` without the
        gaps (:func:`with_gaps` adds them over all candidates of the question). ``memo``
        shares the question's own facts between its candidates, the first sentence's work
        between the variants of one sentence, and the passage's between its candidates."""
        if memo is None:
            memo = {}
        asked = memo.get(None)
        if asked is None:
            asked = memo[None] = _Asked.of(query)
        (
            terms,
            pairs,
            focus_weights,
            wants_list,
            numbered_q,
            article,
            answer_types,
            defined,
            asks_why,
            asks_said,
            asks_condition,
            asks_permission,
            units,
        ) = asked
        passage, rank, j, start, end, number, _, kind, _, retrieval, semantic, dense_rank = cand
        place = memo.get(passage)
        if place is None:
            place = memo[passage] = self._place(query, passage)
        rec, title_cov, official, named_doc, named_other, article_scope, statute = place
        chunk, strings, _, title, doc, sentences = rec
        info = sentences[j]
        hs, he = info.start, info.end
        paragraph = doc.paragraph(number)
        key = (passage, j)
        cached = memo.get(key)
        if cached is None:
            head_tokens, head = info.tokens, info.folded
            context = title
            if j > 0 and info.anaphor:
                context = context | set(strings[j - 1].split())
            measured = _coverage(terms, query.total, head_tokens, head, context)
            # Says nothing the question does not already say.
            restates = float(head_tokens <= query.termset)
            cached = memo[key] = (head_tokens, head, context, measured, restates)
        head_tokens, head, context, head_pair, restates = cached
        same = start == hs and end == he
        text = head if same else self._span(cand)
        tokens = head_tokens
        if kind == "next" and j + 1 < len(strings):
            tokens = head_tokens | sentences[j + 1].tokens
        coverage, in_context = (
            head_pair if same else _coverage(terms, query.total, tokens, text, context)
        )
        head_cov = head_pair[0]
        pairs_share = len([p for p in pairs if p in text]) / len(pairs) if pairs else 0.0
        focus = (
            sum([w for t, w in focus_weights if t in tokens or t in text]) / query.focus_total
            if focus_weights
            else 0.0
        )
        is_next = 1.0 if kind == "next" else 0.0
        is_list = 1.0 if kind == "list" else 0.0
        extended = is_next or is_list
        # Read only by a list question (the feature is 0 for any other).
        enumeration = min(1.0, len(_ENUMERATION.findall(text)) / 4) if wants_list else 0.0
        numbered = 0.0
        if numbered_q:
            count, stem = numbered_q
            numbered = min(1.0, text.count(stem) / count)
        article_hit = 0.0
        if article_scope:
            article_hit = float(any([ref.key == article for ref in paragraph.section]))
        anaphor_next = 0.0
        if is_next and j + 1 < len(chunk.sentences):
            anaphor_next = float(sentences[j + 1].opens_anaphor)
        return [
            coverage,
            in_context,
            head_cov,
            max(0.0, coverage - head_cov),
            pairs_share,
            float(bool(defined) and defines(text, defined)),
            float(any([a.search(text) for a in answer_types])) if answer_types else 0.0,
            restates,
            focus,
            float(hs == paragraph.start),
            retrieval,
            1.0 / (1 + rank) if rank >= 0 else 1.0,
            official,
            title_cov,
            math.log1p(end - start),
            is_next,
            is_list,
            wants_list * is_list,
            wants_list * enumeration,
            numbered,
            article_hit,
            article_hit * is_list,
            asks_why * is_next,
            asks_said * extended,
            restates * extended,
            anaphor_next,
            float(asks_condition and bool(_CONDITION_A.search(text))),
            float(statute and whole_article(doc, cand)),
            named_doc,
            named_other,
            float(asks_permission and bool(_RULE.search(text))),
            float(states_unit(text, units)),
            semantic,
            dense_rank,
            0.0,
            0.0,
        ]

    def _place(
        self, query: Query, passage: int
    ) -> tuple[PassageRecord, float, float, float, float, bool, bool]:
        """What :meth:`features` reads of a candidate's passage for a question: its record,
        its title's share of the question's weight, whether it is official, from a
        document the question names, from another when it names some, whether the article
        the question asks for by number is looked for in it, and whether it is a statute."""
        rec = self.candidates.record(passage)
        title = rec.title
        title_cov = sum(query.weights[t] for t in query.terms if t in title) / query.total
        doc = rec.doc
        in_named = doc.doc_id in query.named
        article_scope = bool(query.article) and (
            in_named if query.named else (title_cov > 0 or not query.names_title)
        )
        return (
            rec,
            title_cov,
            float(doc.kind in AUTHORITATIVE_KINDS),
            float(in_named),
            float(bool(query.named) and not in_named),
            article_scope,
            doc.genre == "statute",
        )

    def confidence_features(
        self, query: Query, best: Candidate, probability: float, runner_up: float
    ) -> list[float]:
        """The question-level vector, in the order of :data:`CONFIDENCE_FEATURES`."""
        rec = self.candidates.record(best.passage)
        doc, strings = rec.doc, rec.strings
        info = rec.sentences[best.sentence]
        text = self._span(best)
        context = rec.title
        if best.sentence > 0 and info.opens_anaphor:
            context = context | set(strings[best.sentence - 1].split())
        tokens = info.tokens
        specific = query.specific
        if query.heads:
            # The kind of answer asked for (什么文件) need not be named by the answer.
            specific = {
                t: v
                for t, v in specific.items()
                if t not in query.heads or t in tokens or t in text
            }
        total = sum(specific.values()) or 1.0
        _, in_context = coverage_of(query, tokens, text, context, specific)
        joined, passage_text = self.passage(best.passage)
        passage_cov = (
            sum(s for t, s in specific.items() if t in joined or t in passage_text) / total
        )
        missing = [specific[t] for t in query.missing]
        typed = any(a.search(text) for a in query.answer_types)
        typed_focus = float(typed and any(t in text for t in query.focus))
        stated = states_unit(text, query.units)
        return [
            probability,
            probability - runner_up,
            in_context,
            passage_cov,
            sum(missing) / total,
            max(missing, default=0.0),
            float(query.missing_entity),
            typed_focus,
            math.log1p(len(query.terms)),
            best.semantic,
            float(bool(query.units) and not stated),
            best.dense_rank,
            float(
                bool(query.article)
                and all(ref.key != query.article for ref in doc.paragraph(best.paragraph).section)
            ),
            float(bool(query.answer_types) and not typed),
            float(stated),
        ]


def coverage_of(
    query: Query,
    tokens: set[str] | frozenset[str],
    text: str,
    context: frozenset[str] | set[str] = frozenset(),
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
        terms = [(t, weights[t], len(t)) for t in query.terms]
    else:
        total = sum(weights.values()) or 1.0
        terms = [(t, weights[t], len(t)) for t in query.terms if t in weights]
    return _coverage(terms, total, tokens, text, context)


def _coverage(
    terms: Sequence[tuple[str, float, int]],
    total: float,
    tokens: set[str] | frozenset[str],
    text: str,
    context: frozenset[str] | set[str],
) -> tuple[float, float]:
    """:func:`coverage_of` over ``(term, weight, length)`` triples, in the question's order."""
    got = extra = 0.0
    for t, w, n in terms:
        if t in tokens or (n >= 2 and t in text):
            got += w
        elif t in context:
            extra += w
        elif n >= 2:
            shared = sum(map(text.__contains__, t)) / n  # characters of the term in the text
            if shared >= 0.5:
                got += 0.3 * shared * w
    if "《" in text:
        outside = _TITLE.sub("\0", text)
        got -= sum(0.5 * w for t, w, _ in terms if t in text and t not in outside)
    return got / total, (got + extra) / total


__all__ = ["CONFIDENCE_FEATURES", "FEATURES", "FeatureExtractor", "coverage_of", "with_gaps"]
