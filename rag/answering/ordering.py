"""The order of an answer's passages: retrieval's, corrected by what selection read.

BM25 sums the question's words and bigrams over a whole passage; it cannot tell which of
two paragraphs of one article holds the question's words *together* (in one sentence, where
the answer stands), nor that a passage's document title is what the question is about when
the passage itself never repeats it (问 拜占庭帝國的婚姻制度, the article's paragraph on
marriage says 一夫一妻制 without the empire's name, while 同性婚姻 has 婚姻制度). Answer
selection has read the top passages' sentences anyway, so :func:`order` reorders the first
:data:`~rag.answering.candidates.PASSAGES_CONSIDERED` passages of the answer
(``Answer.hits``) by

    ``bm25 / bm25 of the first`` + ``w_s`` × the best probability the fitted ranker gave a
    candidate of the passage + ``w_t`` × the share of the passage's title bigrams the
    question holds + ``w_b`` × the IDF share of the question's character bigrams found in
    the passage's best sentence

(weights :data:`WEIGHTS`; ties keep the retrieval order; the passages after them, and each
hit's ``score``, stay as retrieval gave them). :meth:`Assistant.search
<rag.assistant.Assistant.search>` is not affected: it never runs selection.

The weights were fitted by ``benchmarks/passage_order.py`` (every combination of a grid,
ties toward the smallest) on the training data, CMRC 2018 trial and the questions on
even-numbered DRCD documents, for the mean document recall@1 (0.9696 → 0.9741); held out
from the weights, the DRCD questions on odd documents 0.9535 → 0.9586; validation (never
fitted on, neither by the weights nor by the selection model) CMRC 2018 dev 0.9851 →
0.9913. The ranker's probabilities on DRCD are in-sample (the shipped selection model was
fitted on DRCD too): see docs/BENCHMARKS.md, round 10. A refit selection model changes
the scale of its probabilities: rerun the script after one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from ..lru import LRUCache
from ..ngrams import MARK, character_bigrams, question_bigrams
from ..retrieval import Ranked
from ..store import Generation
from .candidates import PASSAGES_CONSIDERED, Candidate, CandidateGenerator

# Fitted weights (benchmarks/passage_order.py): the ranker's best probability in the
# passage, the share of its title's bigrams in the question, the best sentence's share of
# the question's bigrams (IDF-weighted).
WEIGHTS = {"selection": 0.2, "title": 0.3, "sentence": 0.5}
# Title bigram sets kept (one per distinct title).
_TITLE_CACHE = 8192
# Passages' title bigrams and folded sentences kept, and bigram IDFs (a plain dictionary,
# cleared when full).
_PASSAGE_CACHE = 4096
_IDF_CACHE = 100_000


class PassageOrder:
    """Reorders an answer's first passages (see the module docstring).

    Args:
        gen: The generation.
        candidates: Selection's candidate generator (its passage records are reused).
        weights: The three weights (default :data:`WEIGHTS`).
    """

    def __init__(
        self,
        gen: Generation,
        candidates: CandidateGenerator,
        weights: dict[str, float] | None = None,
    ) -> None:
        self.gen = gen
        self.candidates = candidates
        w = WEIGHTS if weights is None else weights
        self.w_selection, self.w_title, self.w_sentence = (
            w["selection"],
            w["title"],
            w["sentence"],
        )
        self._titles = LRUCache(_TITLE_CACHE)
        self._passages = LRUCache(_PASSAGE_CACHE)
        self._idf: dict[str, float] = {}

    def title_bigrams(self, title: str) -> frozenset[str]:
        """A title's character bigrams (folded, unmarked), cached per title."""
        grams = self._titles.get(title)
        if grams is None:
            grams = frozenset(g.lstrip(MARK) for g in character_bigrams(title))
            self._titles.put(title, grams)
        return grams

    def components(
        self,
        question: str,
        ranked: Sequence[Ranked],
        scored: Sequence[tuple[float, Candidate]],
    ) -> list[tuple[float, float, float, float]]:
        """The four terms of each of the first :data:`PASSAGES_CONSIDERED` passages' score,
        unweighted: retrieval score relative to the first, the ranker's best probability in
        the passage (0 when none of its candidates was scored), the share of its title's
        bigrams in the question, its best sentence's IDF share of the question's bigrams."""
        head = ranked[:PASSAGES_CONSIDERED]
        if not head:
            return []
        best: dict[int, float] = {}
        for probability, cand in scored:
            if probability > best.get(cand.passage, -1.0):
                best[cand.passage] = probability
        grams = list(dict.fromkeys(g.lstrip(MARK) for g in question_bigrams(question, True)))
        idf = self.idf
        weights = [idf(g) for g in grams]
        total = sum(weights) or 1.0
        # The bigrams that can add to a sentence's share, with their IDF, in question order.
        weighted = [(g, w) for g, w in zip(grams, weights, strict=True) if w > 0]
        question_grams = frozenset(grams)
        top = head[0].score or 1.0
        out = []
        for item in head:
            title, folded, bounds = self.passage(item.index)
            title_share = len(title & question_grams) / len(title) if title else 0.0
            # The IDFs of the bigrams each sentence holds, in the question's order (summed as
            # a sum over them per sentence would be). A bigram never holds a line break, so
            # each occurrence lies in one sentence.
            held: dict[int, list[float]] = {}
            for g, w in weighted:
                at = folded.find(g)
                while at >= 0:
                    i = bisect_right(bounds, at) - 1
                    held.setdefault(i, []).append(w)
                    at = folded.find(g, bounds[i + 1])
            sentence = max([sum(ws) for ws in held.values()]) if held else 0.0
            out.append((item.score / top, best.get(item.index, 0.0), title_share, sentence / total))
        return out

    def idf(self, gram: str) -> float:
        """The IDF of a character bigram (unmarked) in the index's bigram field (cached)."""
        value = self._idf.get(gram)
        if value is None:
            if len(self._idf) > _IDF_CACHE:
                self._idf.clear()
            value = self._idf[gram] = self.gen.lexical.idf(MARK + gram)
        return value

    def passage(self, passage: int) -> tuple[frozenset[str], str, tuple[int, ...]]:
        """A passage's title bigrams, its sentences' folded texts joined by line breaks, and
        where each of them starts in that text, then the text's length + 1 (cached per
        passage: what :meth:`components` reads of it)."""
        value = self._passages.get(passage)
        if value is None:
            rec = self.candidates.record(passage)
            starts = []
            at = 0
            for s in rec.sentences:
                starts.append(at)
                at += len(s.folded) + 1
            starts.append(at)
            joined = "\n".join(s.folded for s in rec.sentences)
            value = (self.title_bigrams(rec.chunk.doc_title), joined, tuple(starts))
            self._passages.put(passage, value)
        return value

    def order(
        self,
        question: str,
        ranked: Sequence[Ranked],
        scored: Sequence[tuple[float, Candidate]],
    ) -> list[Ranked]:
        """``ranked`` with its first :data:`PASSAGES_CONSIDERED` passages reordered.

        Args:
            question: The question as searched.
            ranked: The retrieval ranking, best first.
            scored: Selection's candidates with the ranker's probabilities.

        Returns:
            The same passages; only the order of the first ones can differ.
        """
        if len(ranked) < 2 or ranked[0].score <= 0:
            return list(ranked)
        parts = self.components(question, ranked, scored)
        ws, wt, wb = self.w_selection, self.w_title, self.w_sentence
        keyed = sorted(
            (-(rel + ws * sel + wt * title + wb * sentence), at)
            for at, (rel, sel, title, sentence) in enumerate(parts)
        )
        return [ranked[at] for _, at in keyed] + list(ranked[len(parts) :])


__all__ = ["WEIGHTS", "PassageOrder"]
