"""Candidates: the spans that could be quoted, drawn from the top passages.

A cheap pass (question terms in each sentence's stored tokens) keeps a shortlist of
sentences, with the best sentence of the second and third passages whatever its score; each
shortlisted sentence then yields its variants: the sentence itself (a long one cut to the
window of clauses that carries the match), the sentence with the one after it (answers that
continue: 陈鸣波认为… → the next sentence names 数据新高地), and, for a lead-in,
the lead-in with its items (但下列商品除外： with （一）…（四）). A question that names an
article by number (第三十九条规定了什么) also gets that article, with its items, from every
document whose title it names. On an index with sentence vectors (:class:`Semantic`), the
passages dense retrieval ranks first join the lexical ones, and the sentences closest in
meaning to the question join the shortlist: everyday wording (下班路上被车撞了) shares few words
with the formal text that answers it (在上下班途中，受到…交通事故). Which variant to quote is the
fitted model's decision, not a rule here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

from ..chunking import NOTE_CONTEXT
from ..lru import LRUCache
from ..retrieval import Ranked
from ..schema import Chunk, Document, Paragraph
from ..sentences import is_table_row, split_clauses
from ..store import Generation
from ..textnorm import is_traditional, normalize
from .analysis import Query, defines, names_a_rule, starts_with_anaphor
from .naming import aliases

PASSAGES_CONSIDERED = 6
# Passages of the dense ranking added to the lexical ones, and sentences added to the
# shortlist by their similarity to the question (when the index has sentence vectors).
DENSE_PASSAGES = 4
# Passages of the documents a question names (劳动合同法…) added to the pool.
NAMED_PASSAGES = 3
# Passages holding a sentence that enumerates a numbered slogan (“六个让”), added to the pool
# wherever they stand: the enumeration often shares no word with the question but the stem.
ENUMERATING_PASSAGES = 3
SEMANTIC_SHORTLIST = 2
# Sentences that get variants and full features after the cheap pass.
SHORTLIST = 4
# Passages after the first (the 2nd and 3rd) whose best sentence joins the shortlist whatever
# its cheap score: the first passage's sentences often fill the shortlist while the answer
# stands in the next one (CMRC 2018 dev answer@1 0.8481 -> 0.8524 with the shipped model;
# docs/BENCHMARKS.md).
DIVERSE_PASSAGES = 2
QUOTE_MAX_CHARS = 160
CLAUSE_CACHE = 4096
PASSAGE_CACHE = 8192
# A lead-in with its items, or a whole article, may be longer than one sentence.
LIST_MAX_CHARS = 800
LIST_MAX_PARAGRAPHS = 12
# A question asking for a name or heading, not for what stands under it.
_NAME_Q = re.compile(r"标题|题目|名称|叫什么|什么名字|章名|节名")
# A heading that asks a question (its answer stands under it), markup such as ** after it.
_QUESTION_HEADING = re.compile(r"[？?][*”’」』》）)】\s]*$")

KINDS = ("sentence", "next", "list")

_CLAUSE = re.compile(r"[，,；;：:]")
_OPENERS = "“‘「『《（(【"
_CLOSERS = "”’」』》）)】"
_LEAD_IN_END = ("：", ":")


class Candidate(NamedTuple):
    """A span that could be quoted (a named tuple: several are built per question, and a
    frozen dataclass costs five times as much to build).

    Attributes:
        passage: Index of the passage (chunk) it was found in.
        rank: That passage's position in the ranking (0 = best); -1 when added by article
            lookup (scored as a top hit: the question names it)
        sentence: Index of its first sentence in the passage.
        start: Span start in the document text.
        end: Span end in the document text.
        paragraph: Number of the paragraph it starts in.
        last_paragraph: Number of the paragraph it ends in.
        kind: ``sentence``, ``next`` (with the following sentence) or ``list`` (a lead-in
            with its items, or a whole article).
        cheap: The cheap-pass score of its sentence.
        retrieval: Its passage's retrieval score relative to the best passage (0 for a
            passage only dense retrieval found).
        semantic: Cosine between the question and its sentences (the closer of the two for
            ``next``); 0 without sentence vectors.
        dense_rank: 1 / (1 + its passage's rank in the dense ranking), 0 when not among the
            dense passages considered.
    """

    passage: int
    rank: int
    sentence: int
    start: int
    end: int
    paragraph: int
    last_paragraph: int
    kind: str
    cheap: float
    retrieval: float
    semantic: float = 0.0
    dense_rank: float = 0.0


class SentenceRecord(NamedTuple):
    """What selection reads of one sentence of a passage whatever the question, computed
    once per passage (:meth:`CandidateGenerator.record`).

    Attributes:
        start: Span start in the document text.
        end: Span end.
        paragraph: The paragraph it starts in (None when it lies outside the passage's).
        tokens: Its stored tokens.
        folded: Its text folded for matching (:meth:`CandidateGenerator.fold`).
        anaphor: ``folded`` opens with a pronoun (it leans on the sentence before).
        opens_anaphor: Its first four characters, folded on their own, open with a pronoun.
        lead_in: It ends with a colon (a lead-in to items).
        next_span: End and paragraph number of the sentence after it
            (:func:`_next_sentence`), or None.
    """

    start: int
    end: int
    paragraph: Paragraph | None
    tokens: frozenset[str]
    folded: str
    anaphor: bool
    opens_anaphor: bool
    lead_in: bool
    next_span: tuple[int, int] | None


class PassageRecord(NamedTuple):
    """A passage as selection reads it: the passage, its sentences' stored tokens (each
    space-joined), all of them joined, its context tokens (its document title's and, for a
    document number or signature, what the note is called, see
    :data:`rag.chunking.NOTE_CONTEXT`), its document and its sentences'
    question-independent facts."""

    chunk: Chunk
    strings: list[str]
    joined: str
    title: frozenset[str]
    doc: Document
    sentences: tuple[SentenceRecord, ...]


@dataclass
class Semantic:
    """The dense side of one question.

    Attributes:
        similarities: Cosines of the question with every sentence of a passage, in order.
        dense: Passages of the dense ranking, best first.
    """

    similarities: Callable[[int], list[float]]
    dense: list[int]
    _cache: dict[int, list[float]] = field(default_factory=dict)

    def of(self, passage: int) -> list[float]:
        """The cosines of a passage's sentences (computed once per question)."""
        sims = self._cache.get(passage)
        if sims is None:
            sims = self._cache[passage] = self.similarities(passage)
        return sims


class CandidateGenerator:
    """Draws candidates from one generation."""

    def __init__(self, gen: Generation) -> None:
        self.gen = gen
        self._titles: dict[str, frozenset[str]] = {}
        self._articles: dict[str, list[tuple[str, int]]] | None = None
        self._chunk_of: dict[tuple[str, int], int] | None = None
        # Clauses of long sentences, kept between questions (a generation has its own).
        self._clauses = LRUCache(CLAUSE_CACHE)
        self._records = LRUCache(PASSAGE_CACHE)
        self._enumerating = LRUCache(256)
        self._passages_of: dict[str, list[int]] | None = None
        self._traditional: dict[str, bool] = {}
        self._under: dict[tuple[str, int], tuple[Paragraph, Paragraph] | None] = {}

    def traditional(self, doc_id: str) -> bool:
        """The document is written in Traditional script (decided once per document, on its
        first 2,000 characters: folding every candidate of a Simplified corpus would cost
        more than the rest of answering)."""
        traditional = self._traditional.get(doc_id)
        if traditional is None:
            if len(self._traditional) > 100_000:
                self._traditional.clear()
            sample = self.gen.documents[doc_id].text[:2000]
            traditional = self._traditional[doc_id] = is_traditional(sample)
        return traditional

    def fold(self, doc_id: str, text: str) -> str:
        """A document's text folded for matching the question's (Simplified, lower-case)
        terms: lower case, and Simplified script when the document is Traditional."""
        return normalize(text) if self.traditional(doc_id) else text.lower()

    def title_tokens(self, doc_id: str) -> frozenset[str]:
        """Tokens of a document's title (cached)."""
        tokens = self._titles.get(doc_id)
        if tokens is None:
            if len(self._titles) > 50_000:
                self._titles.clear()
            title = self.gen.documents[doc_id].title
            words = set(self.gen.tokenizer.tokenize(title))
            for name in aliases(normalize(title)):
                # The short name segments on its own (中华人民共和国宪法 is one word to jieba).
                words.update(self.gen.tokenizer.tokenize(name))
            # ...and a title word also stands for the words it is made of (常务会议纪要's 会议纪要
            # is 会议 + 纪要, which 会议对防汛工作提出了什么要求 asks with), when they make it up
            # exactly (人民政府 is 人民 + 政府, never 民政).
            subwords = self.gen.tokenizer.subwords
            for word in list(words):
                if len(word) > 3:
                    words.update(tiling(word, subwords(word)))
            tokens = self._titles[doc_id] = frozenset(words)
        return tokens

    def passage_tokens(self, passage: int) -> str:
        """The stored tokens of a passage's sentences, space-joined (cached)."""
        return self.record(passage).joined

    def record(self, passage: int) -> PassageRecord:
        """What selection reads of a passage, in one cached record (one lookup per passage
        and question instead of one per column, sentence and paragraph)."""
        value = self._records.get(passage)
        if value is None:
            chunk = self.gen.chunks[passage]
            strings = self.gen.sentence_tokens[passage]
            doc = self.gen.documents[chunk.doc_id]
            context = self.title_tokens(chunk.doc_id)
            if doc.paragraph(chunk.paragraphs[0]).role in NOTE_CONTEXT:
                # A document number, signature or byline: what it is called is its
                # context, as the title is (its own words are a code and names).
                context = context | frozenset(self.gen.tokenizer.tokenize(" ".join(chunk.section)))
            header = _table_header(doc, doc.paragraph(chunk.paragraphs[0]))
            if header is not None:
                # A row of a table: its column names are its context (江北新区的开工时限 on
                # the row 江北新区 | 22 | 6400 | 6月30日 under 区 | … | 开工时限 | …).
                words = self.gen.tokenizer.tokenize(doc.text[header.start : header.end])
                context = context | frozenset(words)
            value = PassageRecord(
                chunk,
                strings,
                " ".join(strings),
                context,
                doc,
                self._sentence_records(doc, chunk, strings),
            )
            self._records.put(passage, value)
        return value

    def _read_passages(self, passages: list[int]) -> None:
        """Read the passages of the pool that have no record yet in one pass over the
        corpus columns (:meth:`rag.columnar.ChunkTable.take`), before :meth:`record` reads
        them one by one from the passage cache: one gather for six passages costs about a
        third of six single reads (25 → 9 µs a passage on CMRC 2018 dev), most of what a
        question's first reading of its passages costs beyond the reading itself."""
        take = getattr(self.gen.chunks, "take", None)
        if take is None:
            return
        unread = [p for p in passages if self._records.get(p) is None]
        if len(unread) > 1:
            take(unread)

    def _sentence_records(
        self, doc: Document, chunk: Chunk, strings: list[str]
    ) -> tuple[SentenceRecord, ...]:
        text, fold, doc_id = doc.text, self.fold, doc.doc_id
        out = []
        for j, (start, end) in enumerate(chunk.sentences):
            folded = fold(doc_id, text[start:end])
            para = _paragraph_at(doc, chunk.paragraphs, start)
            tokens = frozenset(strings[j].split()) if j < len(strings) else frozenset()
            if para is not None and start == para.start:
                number = _opens_digit_article(doc, para)
                if number:
                    # An article printed 第 5 條 over its text: its first sentence is read as
                    # a mainland article's (第五条　…) is, with its number in Chinese numerals
                    # among its words, so that 第五條是什麼 meets it.
                    tokens = tokens | frozenset(self.gen.tokenizer.tokenize(number))
            out.append(
                SentenceRecord(
                    start,
                    end,
                    para,
                    tokens,
                    folded,
                    starts_with_anaphor(folded),
                    starts_with_anaphor(fold(doc_id, text[start : start + 4])),
                    text[start:end].rstrip().endswith(_LEAD_IN_END),
                    None if para is None else _next_sentence(doc, chunk.sentences, j, para),
                )
            )
        return tuple(out)

    def generate(
        self,
        query: Query,
        ranked: list[Ranked],
        semantic: Semantic | None = None,
        named: list[Ranked] | None = None,
    ) -> list[Candidate]:
        """Candidates for a question from its ranked passages (and the dense side, if any;
        ``named``: the best passages of the documents the question names)."""
        chunks, documents = self.gen.chunks, self.gen.documents
        top_score = ranked[0].score or 1.0
        weights, terms = query.weights, query.terms
        # (passage, rank, retrieval): the lexical top passages, then the dense ones.
        pool = [
            (item.index, rank, item.score / top_score if top_score > 0 else 0.0)
            for rank, item in enumerate(ranked[:PASSAGES_CONSIDERED])
        ]
        dense_rank: dict[int, float] = {}
        if semantic is not None:
            dense_rank = {p: 1.0 / (1 + r) for r, p in enumerate(semantic.dense[:DENSE_PASSAGES])}
            have = {p for p, _, _ in pool}
            for p in semantic.dense[:DENSE_PASSAGES]:
                if p not in have:
                    pool.append((p, len(pool), 0.0))
        enumerations = self.enumerating(*query.numbered) if query.numbered else []
        if enumerations:
            have = {p for p, _, _ in pool}
            for p, _, _, _ in enumerations:
                if p not in have:
                    have.add(p)
                    pool.append((p, len(pool), 0.0))
        if named:
            have = {p for p, _, _ in pool}
            for item in named[:NAMED_PASSAGES]:
                if item.index not in have:
                    score = item.score / top_score if top_score > 0 else 0.0
                    pool.append((item.index, len(pool), score))
        self._read_passages([p for p, _, _ in pool])
        rough: list[tuple[float, int, int]] = []
        # Each passage's record, read once per question (every read is a cache lookup).
        records: dict[int, PassageRecord] = {}
        total = query.total
        record = self.record
        # A definition of the asked phrase, or the sentence that enumerates a numbered
        # slogan (“六个让” → 让…、让…), must not fall off the shortlist.
        scan = bool(query.defined or query.numbered)
        for at, (passage, _, retrieval) in enumerate(pool):
            rec = records[passage] = record(passage)
            strings, joined, title = rec.strings, rec.joined, rec.title
            # Terms the title gives every sentence alike, then the few the passage holds.
            title_weight = 0.0
            present = []
            for t in terms:
                if t in title:
                    title_weight += weights[t]
                elif t in joined:
                    present.append((t, weights[t]))
            bonus = 0.2 * retrieval
            if not present and not scan:
                # Every sentence scores what the title gives it.
                score = title_weight / total + bonus
                rough.extend([(score, at, j) for j in range(len(strings))])
                continue
            sentences = rec.sentences
            for j, toks in enumerate(strings):
                cheap = title_weight
                for t, w in present:
                    if t in toks:
                        cheap += w
                score = cheap / total + bonus
                if scan:
                    text = sentences[j].folded
                    if query.defined:
                        score += 0.15 * defines(text, query.defined)
                    if query.numbered:
                        count, stem = query.numbered
                        score += 0.3 * (text.count(stem) >= count)
                rough.append((score, at, j))
        rough.sort(key=itemgetter(0), reverse=True)  # stable: ties keep their order
        chosen = rough[:SHORTLIST]
        if DIVERSE_PASSAGES:
            # The best sentence of the next passages too: the answer often stands in the
            # second or third passage while the first one's sentences fill the shortlist.
            taken = {(at, j) for _, at, j in chosen}
            best: dict[int, tuple[float, int, int]] = {}
            for sentence in rough:  # best first: the first met of a passage is its best
                if 1 <= sentence[1] <= DIVERSE_PASSAGES and sentence[1] not in best:
                    best[sentence[1]] = sentence
            chosen += [s for _, s in sorted(best.items()) if s[1:] not in taken]
        if semantic is not None:
            # The sentences closest in meaning, whatever words they share.
            taken = {(at, j) for _, at, j in chosen}
            closest = sorted(
                (
                    (-sim, at, j)
                    for at, (passage, _, _) in enumerate(pool)
                    for j, sim in enumerate(semantic.of(passage))
                ),
            )
            cheap_of = {(at, j): score for score, at, j in rough}
            for _, at, j in closest:
                if len(chosen) >= SHORTLIST + SEMANTIC_SHORTLIST:
                    break
                if (at, j) not in taken:
                    taken.add((at, j))
                    chosen.append((cheap_of.get((at, j), 0.0), at, j))
        seeds = [(pool[at][0], pool[at][1], j, score, pool[at][2]) for score, at, j in chosen]
        if query.article:
            # An article the question names by number is an exact hit, whatever BM25 says
            # (first, so that a retrieved copy of it counts as looked up).
            seeds[:0] = [(p, r, j, sc, 1.0) for p, r, j, sc in self._article_seeds(query)]
        out: list[Candidate] = []
        seen: set[tuple[int, int, str]] = set()
        if enumerations:
            # The enumeration of a numbered slogan, from its first item to its last.
            at_of = {p: at for at, (p, _, _) in enumerate(pool)}
            cheap_of = {(at, j): score for score, at, j in rough}
            for passage, j, s, e in enumerations:
                at = at_of[passage]
                doc = documents[chunks[passage].doc_id]
                first = _paragraph_at(doc, chunks[passage].paragraphs, s)
                if first is None:
                    continue
                out.append(
                    Candidate(
                        passage=passage,
                        rank=pool[at][1],
                        sentence=j,
                        start=s,
                        end=e,
                        paragraph=first.number,
                        last_paragraph=first.number,
                        kind="list",
                        cheap=cheap_of.get((at, j), 0.0),
                        retrieval=pool[at][2],
                    )
                )
                seen.add((s, e, "list"))
        for passage, rank, j, score, retrieval in seeds:
            rec = records.get(passage) or record(passage)  # (an article looked up)
            variants = self._variants(rec, passage, rank, j, score, retrieval, query)
            if semantic is not None:
                sims = semantic.of(passage)
                near = dense_rank.get(passage, 0.0)
                variants = [
                    c._replace(
                        semantic=max(sims[j : j + 2]) if c.kind == "next" else sims[j],
                        dense_rank=near,
                    )
                    for c in variants
                ]
            for cand in variants:
                key = (cand.start, cand.end, cand.kind)
                if key not in seen:
                    seen.add(key)
                    out.append(cand)
        return out

    # -- variants ------------------------------------------------------------------------

    def _variants(
        self,
        rec: PassageRecord,
        passage: int,
        rank: int,
        j: int,
        cheap: float,
        retrieval: float,
        query: Query,
    ) -> list[Candidate]:
        doc = rec.doc
        info = rec.sentences[j]
        start, end, para = info.start, info.end, info.paragraph
        if para is None:
            return []
        clauses = None
        if end - start > QUOTE_MAX_CHARS:  # a long sentence: its clauses, from the cache
            clauses = self._clauses.get((passage, j))
            if clauses is None:
                clauses = sentence_clauses(
                    doc.text, start, end, normalize if self.traditional(doc.doc_id) else None
                )
                self._clauses.put((passage, j), clauses)
        s, e = window(doc.text, start, end, query, clauses)
        number = para.number

        def make(span_start: int, span_end: int, last: int, kind: str) -> Candidate:
            return Candidate(
                passage, rank, j, span_start, span_end, number, last, kind, cheap, retrieval
            )

        out = [make(s, e, number, "sentence")]
        # The sentence with the next one: of its paragraph, or the first of the next paragraph
        # of the same section (the next 款 of an article).
        next_span = info.next_span
        if next_span is not None:
            next_end, last_number = next_span
            if next_end - start <= QUOTE_MAX_CHARS * 1.5:
                joined_end = strip_trailing_mark(doc.text, start, next_end)
                out.append(make(start, joined_end, last_number, "next"))
        # A lead-in with its items; a whole article when it was asked for by number.
        lead_in = info.lead_in
        # A numbered heading paragraph with its sub-items (（二）基本原则。 then 1.… 2.…).
        heads_items = bool(para.section) and end >= para.end and para.role == "body"
        if lead_in or heads_items or rank < 0:
            last = _items_end(doc, para, start, whole_article=rank < 0)
            if last is not None and last.end > e:
                out.append(make(start, last.end, last.number, "list"))
            elif lead_in and end < para.end:
                # Items inside the paragraph: the rest of it.
                span_end = min(para.end, start + LIST_MAX_CHARS)
                if span_end == para.end:
                    out.append(make(start, span_end, number, "list"))
        if query.wants_list and _is_table_row(doc, para):
            rows = _table_end(doc, para)
            if rows is not None:  # the header row with the rows under it: the whole table
                out.append(make(para.start, rows.end, rows.number, "list"))
        if (
            para.role == "heading"
            and para.section
            and (
                query.wants_list
                or query.defined
                or not query.answer_types
                or _asks_it(doc.text[para.start : para.end], info.tokens, query)
            )
            and not _NAME_Q.search(query.question)
        ):
            # A heading asked for its list or content (保障措施有哪些？, 总体要求是什么？,
            # 重点任务讲了什么？ on 三、保障措施): the paragraphs under it, when the whole
            # section fits in a quote, instead of the heading, which only names what is asked
            # (unless its name is asked: 第二章的标题是什么). A question for a number, date or
            # name (2023年新增了多少个学位？ on 一、2023年工作回顾) wants a sentence in it,
            # unless the heading is itself a question (八、问：《办法》什么时候开始施行？ of a
            # 问/答 page, a FAQ's 如何申请？): that is never the answer, what stands under it is.
            under = self.under_heading(doc, para)
            if under is not None:
                first, last = under
                out = [
                    Candidate(
                        passage,
                        rank,
                        j,
                        first.start,
                        last.end,
                        first.number,
                        last.number,
                        "list",
                        cheap,
                        retrieval,
                    )
                ]
        return out

    def under_heading(
        self, doc: Document, heading: Paragraph
    ) -> tuple[Paragraph, Paragraph] | None:
        """The first and last body paragraphs of the section a heading opens
        (:func:`_section_under`), cached: the same headings come back question after
        question."""
        key = (doc.doc_id, heading.number)
        if key in self._under:
            return self._under[key]
        if len(self._under) > 10_000:
            self._under.clear()
        value = self._under[key] = _section_under(doc, heading)
        return value

    # -- numbered slogans ----------------------------------------------------------------

    def enumerating(self, count: int, stem: str) -> list[tuple[int, int, int, int]]:
        """Where a numbered slogan is enumerated (“六个让” → 让核心价值凝心铸魂、让文化魅力竞相
        绽放…): ``(passage, sentence, start, end)`` of each run of at least ``count``
        clauses holding ``stem`` in one paragraph, the runs nearest the number first (six
        让 before twelve), then in corpus order; at most :data:`ENUMERATING_PASSAGES`
        (cached per slogan). The stem is often a stopword or too common a word to rank a
        passage, and the run may span the passages a long sentence was cut into, so the
        texts are scanned: only the documents that hold the stem ``count`` times at all."""
        key = (count, stem)
        found = self._enumerating.get(key)
        if found is not None:
            return list(found)
        if self._passages_of is None:
            passages_of: dict[str, list[int]] = {}
            for i, chunk in enumerate(self.gen.chunks):
                passages_of.setdefault(chunk.doc_id, []).append(i)
            self._passages_of = passages_of
        forms = stem_forms(stem)  # 让 is 讓 in a Traditional document

        def occurrences(text: str, start: int, end: int) -> int:
            return sum(text.count(form, start, end) for form in forms)

        hits: list[tuple[int, int, int, int, int]] = []
        for doc_id, passages in self._passages_of.items():
            doc = self.gen.documents[doc_id]
            if occurrences(doc.text, 0, len(doc.text)) < count:
                continue
            for para in doc.paragraphs:
                if occurrences(doc.text, para.start, para.end) < count:
                    continue
                for s, e in enumeration_runs(doc.text, para.start, para.end, forms, count):
                    at = self._sentence_at(passages, s)
                    if at is not None and e - s <= LIST_MAX_CHARS:
                        hits.append((occurrences(doc.text, s, e) - count, at[0], at[1], s, e))
        hits.sort()
        found = tuple((p, j, s, e) for _, p, j, s, e in hits[:ENUMERATING_PASSAGES])
        self._enumerating.put(key, found)
        return list(found)

    def _sentence_at(self, passages: list[int], offset: int) -> tuple[int, int] | None:
        """The passage and sentence index holding ``offset``, among a document's passages."""
        for p in passages:
            for j, (s, e) in enumerate(self.gen.chunks[p].sentences):
                if s <= offset < e:
                    return p, j
        return None

    # -- article lookup ------------------------------------------------------------------

    def _article_seeds(self, query: Query) -> list[tuple[int, int, int, float]]:
        """The first sentence of the asked article in each document whose title the question
        names (or in every document when it names none)."""
        if self._articles is None:
            self._index_articles()
        assert self._articles is not None and self._chunk_of is not None
        places = self._articles.get(query.article, [])
        if query.named:
            # The law is named: its article, or none (宪法第三百条 is not another law's).
            named = [(doc_id, n) for doc_id, n in places if doc_id in query.named]
        elif names_a_rule(query.question):
            # It names a rule no document is (出租汽车客运管理办法第三条, where a 决定 amends
            # it): no document's article of that number is the one asked for.
            return []
        else:
            named = [
                (doc_id, n)
                for doc_id, n in places
                if any(len(t) >= 2 and t in self.title_tokens(doc_id) for t in query.terms)
                or any(len(t) >= 3 and t in self.gen.documents[doc_id].title for t in query.terms)
            ] or places
        seeds = []
        for doc_id, number in named[:3]:
            passage = self._chunk_of.get((doc_id, number))
            if passage is None:
                continue
            chunk = self.gen.chunks[passage]
            para = self.gen.documents[doc_id].paragraph(number)
            for j, (s, _) in enumerate(chunk.sentences):
                if s >= para.start:
                    seeds.append((passage, -1, j, 0.0))
                    break
        return seeds

    def _index_articles(self) -> None:
        articles: dict[str, list[tuple[str, int]]] = {}
        for doc in self.gen.documents.values():
            seen: set[str] = set()
            for para in doc.paragraphs:
                for ref in para.section:
                    label = ref.key  # 第三十九條 is looked up as 第三十九条
                    if label.endswith("条") or "条之" in label:
                        if label not in seen:
                            seen.add(label)
                            articles.setdefault(label, []).append((doc.doc_id, para.number))
                        break
        chunk_of: dict[tuple[str, int], int] = {}
        for i, chunk in enumerate(self.gen.chunks):
            for n in chunk.paragraphs:
                chunk_of.setdefault((chunk.doc_id, n), i)
        self._articles, self._chunk_of = articles, chunk_of


def tiling(word: str, parts: list[str]) -> list[str]:
    """The fewest of ``parts`` (words inside ``word``) that spell ``word`` end to end, in
    order (人民政府 → 人民, 政府); empty when none do (嵌入式: no 式)."""
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(word) + 1):
        for part in parts:
            start = end - len(part)
            before = best.get(start) if start >= 0 and word.startswith(part, start) else None
            if before is not None and (end not in best or len(before) + 1 < len(best[end])):
                best[end] = [*before, part]
    return best.get(len(word), [])


def _opens_digit_article(doc: Document, para: Paragraph) -> str:
    """The key (第五条, 第二十二条之一) of the digit-numbered article (第 5 條, 第 22-1 條)
    that ``para`` is the first paragraph of, else ``""``."""
    ref = next((r for r in reversed(para.section) if r.numbered_in_digits), None)
    if ref is None or (ref.key[-1:] != "条" and "条之" not in ref.key):
        return ""
    if para.number > 1 and ref in doc.paragraph(para.number - 1).section:
        return ""
    return ref.key


def _paragraph_at(doc: Document, numbers: tuple[int, ...], offset: int) -> Paragraph | None:
    for n in numbers:
        p = doc.paragraph(n)
        if p.start <= offset < p.end:
            return p
    return None


def _next_sentence(
    doc: Document, sentences: tuple[tuple[int, int], ...], j: int, para: Paragraph
) -> tuple[int, int] | None:
    """End and paragraph number of the sentence after sentence ``j``."""
    if j + 1 < len(sentences) and sentences[j + 1][1] <= para.end:
        return sentences[j + 1][1], para.number
    if sentences[j][1] < para.end - 1 or para.number >= len(doc.paragraphs):
        return None
    nxt = doc.paragraph(para.number + 1)
    # Only into the next paragraph of the same kind that follows in the text (the body's
    # numbers end where the captions' and headings' begin).
    if nxt.section != para.section or not nxt.sentences or not _follows(para, nxt):
        return None
    if _is_table_row(doc, para):
        return None  # the next row (or paragraph) does not continue a table row
    return nxt.sentences[0].end, nxt.number


def _is_table_row(doc: Document, para: Paragraph) -> bool:
    """A row of a table: cells joined by tabs (as the readers join them; a tab anywhere, since
    a Word cell may hold a line break) or a markdown row."""
    text = doc.text[para.start : para.end]
    return "\t" in text or is_table_row(text)


def _is_body_row(doc: Document, para: Paragraph) -> bool:
    """A table row of the text (not a heading's or a note's paragraph)."""
    return para.role == "body" and _is_table_row(doc, para)


def _table_header(doc: Document, para: Paragraph) -> Paragraph | None:
    """The first row (the header) of the table ``para`` is a later row of; None when ``para``
    is no table row, or is the first row. At most :data:`LIST_MAX_PARAGRAPHS` rows back."""
    if para.number <= 1 or not _is_body_row(doc, para):
        return None
    first = None
    for n in range(para.number - 1, max(0, para.number - 1 - 4 * LIST_MAX_PARAGRAPHS), -1):
        p = doc.paragraph(n)
        if p.section != para.section or not _is_body_row(doc, p):
            break
        first = p
    return first


def _table_end(doc: Document, para: Paragraph) -> Paragraph | None:
    """The last row of the table whose first row (its header) is ``para``; None when ``para``
    is not a table's first row, or the table is one row. Rows past :data:`LIST_MAX_CHARS`
    are left out."""
    if para.number > 1 and _is_body_row(doc, doc.paragraph(para.number - 1)):
        return None
    last = None
    stop = min(len(doc.paragraphs), para.number + LIST_MAX_PARAGRAPHS)
    for n in range(para.number + 1, stop + 1):
        p = doc.paragraph(n)
        if (
            not _is_body_row(doc, p)
            or p.section != para.section
            or p.end - para.start > LIST_MAX_CHARS
        ):
            break
        last = p
    return last


def _asks_it(heading: str, tokens: frozenset[str], query: Query) -> bool:
    """The heading is itself a question (a 问 of a 问/答 page, a FAQ's 如何申请？) and asks
    something of what the reader asks: one of the question's words is in it (a title's words
    bring a page's every question up, 补贴标准是多少？ for 外贸进出口总额是多少？)."""
    return _QUESTION_HEADING.search(heading) is not None and not tokens.isdisjoint(query.termset)


def _section_under(doc: Document, heading: Paragraph) -> tuple[Paragraph, Paragraph] | None:
    """The first and last body paragraphs after a heading that lie in the section it opens,
    or None when there are none, or they would take a quote past :data:`LIST_MAX_CHARS` or
    :data:`LIST_MAX_PARAGRAPHS` (a section is quoted whole or not at all)."""
    path = heading.section
    depth = len(path)
    body = (p for p in doc.paragraphs if p.role == "body" and p.start >= heading.end)
    first = next(body, None)
    if first is None or first.section[:depth] != path or first.end - first.start > LIST_MAX_CHARS:
        return None
    last = first
    for p in body:
        if p.section[:depth] != path:
            break
        if p.end - first.start > LIST_MAX_CHARS or p.number - first.number >= LIST_MAX_PARAGRAPHS:
            return None
        last = p
    return first, last


def _follows(para: Paragraph, nxt: Paragraph) -> bool:
    return nxt.role == para.role and nxt.start > para.start


# A statute's own numbering (第七条, 第二章, 第一节): the units a document is made of, never
# the items of a lead-in.
_ARTICLE_LABEL = re.compile(r"^第[^第]+[编章节条]$")


def _items_end(doc: Document, para: Paragraph, start: int, whole_article: bool) -> Paragraph | None:
    """The last paragraph of the items after a lead-in: the following paragraphs nested
    under its section (（一）… under 第二十五条); with ``whole_article``, every following
    paragraph of the same section too (the further 款 of an article). Items that would take
    the quote past :data:`LIST_MAX_CHARS` are left out."""
    path = para.section
    last = None
    for n in range(
        para.number + 1, min(len(doc.paragraphs), para.number + LIST_MAX_PARAGRAPHS) + 1
    ):
        p = doc.paragraph(n)
        if not _follows(para, p):
            break
        nested = len(p.section) > len(path) and p.section[: len(path)] == path
        same = whole_article and p.section == path
        if not (nested or same) or p.end - start > LIST_MAX_CHARS:
            break
        if any(_ARTICLE_LABEL.match(ref.key) for ref in p.section[len(path) :]):
            break  # an article is not an item (通告如下： then 第一条…第九条)
        if any(not ref.label for ref in p.section[len(path) :]):
            break  # nor what an unnumbered heading opens (a table under 表1 …, a 问 of a page)
        last = p
    return last


@functools.lru_cache(maxsize=256)
def stem_forms(stem: str) -> tuple[str, ...]:
    """A slogan's stem as Simplified questions write it and as documents in either script do
    (让 → 让, 讓: OpenCC ``s2t``, ``s2tw``, ``s2hk``), each form once."""
    import opencc

    forms = [stem]
    for config in ("s2t", "s2tw", "s2hk"):
        form = opencc.OpenCC(config).convert(stem)
        if form not in forms:
            forms.append(form)
    return tuple(forms)


def enumeration_runs(
    text: str, start: int, end: int, stem: str | tuple[str, ...], count: int
) -> list[tuple[int, int]]:
    """Spans of ``text[start:end]`` (one paragraph) that enumerate ``stem`` (or any of its
    forms) at least ``count`` times: runs of clauses holding it, allowing one clause without
    it between two that hold it (让A、让B，形成… is not cut at a clause that explains the one
    before). A span runs from the start of its first such clause to the end of its last."""
    forms = (stem,) if isinstance(stem, str) else stem
    runs: list[tuple[int, int]] = []
    clauses = split_clauses(text, start, end)
    run: list[tuple[int, int]] = []
    gap = 0
    for s, e in [*clauses, (end, end)]:
        if s < end and any(form in text[s:e] for form in forms):
            run.append((s, e))
            gap = 0
            continue
        gap += 1
        if run and (gap > 1 or s >= end):
            if sum(text.count(f, a, b) for a, b in run for f in forms) >= count:
                runs.append((run[0][0], strip_trailing_mark(text, run[0][0], run[-1][1])))
            run = []
    return runs


def window(
    text: str,
    start: int,
    end: int,
    query: Query,
    clauses: tuple[list[tuple[int, int]], list[str]] | None = None,
) -> tuple[int, int]:
    """The sentence itself when short; otherwise the best window of its clauses.
    ``clauses``: the sentence's :func:`sentence_clauses` when known (cached by the caller)."""
    if end - start <= QUOTE_MAX_CHARS:
        return start, end
    spans, pieces = clauses if clauses is not None else sentence_clauses(text, start, end)
    if len(spans) <= 1:
        return start, end
    weights = query.weights
    gains = [sum(weights[t] for t in query.termset if t in piece) for piece in pieces]
    best_i = max(range(len(spans)), key=lambda i: (gains[i], -i))
    lo = hi = best_i
    # Grow towards neighbours that add matched terms, within the size limit.
    while True:
        options = []
        if lo > 0 and gains[lo - 1] > 0:
            options.append((gains[lo - 1], lo - 1, hi))
        if hi + 1 < len(spans) and gains[hi + 1] > 0:
            options.append((gains[hi + 1], lo, hi + 1))
        options = [o for o in options if spans[o[2]][1] - spans[o[1]][0] <= QUOTE_MAX_CHARS]
        if not options:
            break
        _, lo, hi = max(options)
    # A window that only restates the question gets the clause that follows it: that is
    # where the answer to 什么 usually stands.
    window_text = "".join(pieces[lo : hi + 1])
    restates = len(window_text) < 40 and all(
        t in window_text for t in query.termset if weights[t] > 0.5
    )
    if (
        (restates or query.wants_list)
        and hi + 1 < len(spans)
        and spans[hi + 1][1] - spans[lo][0] <= QUOTE_MAX_CHARS * 1.5
    ):
        hi += 1
    return spans[lo][0], strip_trailing_mark(text, spans[lo][0], spans[hi][1])


def sentence_clauses(
    text: str, start: int, end: int, fold: Callable[[str], str] | None = None
) -> tuple[list[tuple[int, int]], list[str]]:
    """The clause spans of a sentence and each clause's text for matching the question's
    terms: in lower case, or through ``fold`` (:func:`~rag.textnorm.normalize` for a
    Traditional document, whose clauses would otherwise match no Simplified term)."""
    spans = _clauses(text, start, end)
    fold = fold or str.lower
    return spans, [fold(text[s:e]) for s, e in spans]


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


def strip_trailing_mark(text: str, start: int, end: int) -> int:
    """``end`` moved before trailing commas and colons."""
    while end > start + 1 and text[end - 1] in "，,；;：:、":
        end -= 1
    return end


__all__ = [
    "DENSE_PASSAGES",
    "KINDS",
    "NAMED_PASSAGES",
    "PASSAGES_CONSIDERED",
    "Candidate",
    "CandidateGenerator",
    "Semantic",
    "window",
]
