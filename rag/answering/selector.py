"""The answering pipeline of one generation: question analysis → candidates → features → the
fitted model → quotes and refusal, and the order of the answer's passages
(:mod:`rag.answering.ordering`; formatting is :mod:`rag.answering.formatting`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..backends import Within
from ..chunking import NOTE_CONTEXT
from ..retrieval import Ranked, Retriever
from ..schema import AUTHORITATIVE_KINDS
from ..settings import RetrievalMode
from ..textnorm import normalize
from .analysis import (
    Query,
    TermWeights,
    analyze,
    join_absent,
    money_for_absent,
    split_absent,
    with_addressee_terms,
    with_credit_terms,
    with_issue_terms,
    with_speaker_terms,
    without_pointed,
)
from .candidates import (
    DENSE_PASSAGES,
    NAMED_PASSAGES,
    PASSAGES_CONSIDERED,
    Candidate,
    CandidateGenerator,
    Semantic,
)
from .features import FeatureExtractor
from .model import SelectionModel, default_model, paired_probabilities
from .naming import TitleNames
from .ordering import PassageOrder
from .quotes import Selection, pick_quotes


@dataclass(frozen=True)
class Examined:
    """Everything selection computed for one question (for training and inspection).

    Attributes:
        query: The analysed question.
        ranked: The ranked passages.
        candidates: The candidates, in generation order.
        features: Their feature vectors.
        semantic: The semantic features were measured (sentence vectors and an embedder):
            the dense variant of the model applies.
    """

    query: Query
    ranked: list[Ranked]
    candidates: list[Candidate]
    features: list[list[float]]
    semantic: bool = False


class AnswerSelector:
    """Selects verbatim quotes for a question from one generation.

    Args:
        retriever: Retriever over the generation.
        model: The fitted selection model (default: the one shipped in the package).
    """

    def __init__(self, retriever: Retriever, model: SelectionModel | None = None) -> None:
        self.retriever = retriever
        self._model = model
        self.gen = retriever.generation
        self.weights = TermWeights(self.gen)
        self.names = TitleNames(self.gen.documents)
        self.candidates = CandidateGenerator(self.gen)
        self.extractor = FeatureExtractor(self.gen, self.candidates)
        self.order = PassageOrder(self.gen, self.candidates)
        self._roles: dict[str, bool] = {}
        self._speaker: bool | None = None
        self._parts: dict[str, tuple[str, ...]] = {}

    def _indexed(self, token: str) -> bool:
        return self.gen.lexical.df(token) > 0

    def _spoken(self, token: str) -> bool:
        """Some official document has a speaker's 署名 (found once, on the first question
        about who gave a speech, and only when the index holds the token) and the index the
        token."""
        if self.gen.lexical.df(token) == 0:
            return False
        if self._speaker is None:
            self._speaker = any(
                doc.kind in AUTHORITATIVE_KINDS and any(h.role == "byline" for h in doc.headings)
                for doc in self.gen.documents.values()
            )
        return self._speaker

    def _addressee_terms(self) -> tuple[str, ...]:
        """The words a 主送机关 is called by, and no other part, that the index holds."""
        return self._part_terms("addressee")

    def _part_terms(self, role: str) -> tuple[str, ...]:
        """The words a part of this role (:data:`rag.chunking.NOTE_CONTEXT`) is called by, and
        no other part, that the index holds (found once per role, on the first question asking
        for it); empty when no document has one."""
        words = self._parts.get(role)
        if words is None:
            tokenize = self.gen.tokenizer.tokenize
            has = self._has_paragraph(role)
            own = tokenize(" ".join(NOTE_CONTEXT[role])) if has else []
            # Only its own words: 机关 also names the 落款 (发文机关署名) and the 版记's 印发机关.
            others = {
                w
                for other, label in NOTE_CONTEXT.items()
                if other != role
                for w in tokenize(" ".join(label))
            }
            words = self._parts[role] = tuple(
                dict.fromkeys(
                    w for w in own if len(w) >= 2 and w not in others and self._indexed(w)
                )
            )
        return words

    def _held(self, token: str) -> bool:
        """Some 落款 is called by this word: the generation has a signature passage (found
        once, on the first question about who issued a document, and only when the index
        holds the token) and the index the token."""
        return self.gen.lexical.df(token) > 0 and self._has_paragraph("signature")

    def _has_paragraph(self, role: str) -> bool:
        """Some document has a paragraph of this role (found once per role, when first asked)."""
        has = self._roles.get(role)
        if has is None:
            has = self._roles[role] = any(
                para.role == role for doc in self.gen.documents.values() for para in doc.paragraphs
            )
        return has

    @property
    def model(self) -> SelectionModel:
        """The fitted model (the packaged one unless another was given)."""
        if self._model is None:
            self._model = default_model()
        return self._model

    def examine(
        self,
        question: str,
        tokens: list[str],
        k: int,
        mode: RetrievalMode,
        within: Within | None = None,
    ) -> Examined | None:
        """Analyse, retrieve, draw candidates and compute their features (no model yet);
        None when nothing was retrieved or nothing is searchable. ``within`` restricts
        retrieval and candidates to some passages (a scoped question)."""
        depth = max(k, PASSAGES_CONSIDERED)
        folded = normalize(question)
        searched, tokens = without_pointed(folded, tokens)
        if searched is not folded:
            question = searched
        # A word no passage holds, made of words they hold, is read as those words.
        tokens = split_absent(tokens, self._indexed, self.gen.tokenizer.subwords)
        # ...and one jieba cut across a word they hold (抄 / 送给 of 抄送给了), as that word.
        tokenizer = self.gen.tokenizer
        tokens = join_absent(folded, tokens, self._indexed, tokenizer.is_word, tokenizer.stopwords)
        # A question for an amount of 钱 where no passage says 钱: the 元 the documents state.
        tokens = money_for_absent(folded, tokens, self._indexed)
        # A question about who issued the document also searches what its 落款 is called.
        searching, tokens = with_issue_terms(folded, tokens, self._held)
        if searching is tokens:  # ...and one about who gave a speech, what its 署名 is called
            searching, tokens = with_speaker_terms(folded, tokens, self._spoken)
        if searching is tokens:  # ...and one about whom it is sent to, its 主送机关
            searching, tokens = with_addressee_terms(folded, tokens, self._addressee_terms)
        if searching is tokens:  # ...and one about who wrote it or took its pictures
            searching, tokens = with_credit_terms(folded, tokens, self._part_terms)
        ranked = (
            self.retriever.rank(searching, question, depth, mode)
            if within is None
            else self.retriever.rank(searching, question, depth, mode, within)
        )
        if not ranked or not tokens:
            return (
                Examined(analyze(question, tokens, self.weights), ranked, [], [])
                if ranked
                else None
            )
        query = analyze(folded, tokens, self.weights, self.names.named(folded))
        # A question about a part of the document (its 落款, 署名, 主送机关, a picture's
        # credit) is judged on the lexical side: the part's words are names and dates, which
        # no sentence embedding of the question resembles, and the dense model saw no such
        # question in training.
        part = searching is not tokens
        semantic = None if part else self.semantic(question, tokens, mode, within)
        cands = self.candidates.generate(
            query, ranked, semantic, self.in_named(query, tokens, question, within)
        )
        if within is not None:  # articles looked up by number may lie outside the scope
            cands = [c for c in cands if c.passage in within]
        features = self.extractor.all_features(query, cands)
        return Examined(query, ranked, cands, features, semantic is not None)

    def in_named(
        self, query: Query, tokens: list[str], question: str, within: Within | None
    ) -> list[Ranked]:
        """The best passages of the documents the question names (劳动合同法…), lexically:
        a question that names its law is answered from that law even when other laws share
        more of its words. Empty when it names none, or states a scope of its own."""
        if not query.named or within is not None:
            return []
        scope = self.retriever.within(query.named)
        return self.retriever.rank(tokens, question, NAMED_PASSAGES, RetrievalMode.LEXICAL, scope)

    def semantic(
        self,
        question: str,
        tokens: list[str],
        mode: RetrievalMode,
        within: Within | None = None,
    ) -> Semantic | None:
        """The dense side of a question: None in lexical mode or on an index without
        sentence vectors (or without its embedder). ``within``: dense passages only from
        these (a scoped question)."""
        retriever = self.retriever
        if retriever.effective_mode(mode) is RetrievalMode.LEXICAL:
            return None
        if not retriever.has_sentence_vectors:
            return None
        vector = retriever.query_vector(question)
        if vector is None:
            return None
        dense = (
            retriever.rank(tokens, question, DENSE_PASSAGES, RetrievalMode.DENSE)
            if within is None
            else retriever.rank(tokens, question, DENSE_PASSAGES, RetrievalMode.DENSE, within)
        )

        def similarities(passage: int) -> list[float]:
            count = len(self.gen.chunks[passage].sentences)
            ids = [retriever.sentence_id(passage, j) for j in range(count)]
            sims = retriever.sentence_similarities(vector, ids)
            return [] if sims is None else sims.astype(float).tolist()

        return Semantic(similarities, [r.index for r in dense])

    def select(
        self,
        question: str,
        tokens: list[str],
        k: int,
        mode: RetrievalMode,
        within: Within | None = None,
    ) -> Selection:
        """Rank passages and pick up to three quotes; ``confidence`` drives refusal.
        ``within``: only these passages (see :meth:`examine`)."""
        examined = self.examine(question, tokens, k, mode, within)
        if examined is None:
            return Selection((), (), 0.0)
        if not examined.candidates:
            return Selection((), tuple(self.retriever.hits(examined.ranked[:k])), 0.0)
        model = self.model.variant(examined.semantic)
        rows = examined.features
        own: list[float] | None = None
        if model.absolute is None:
            ranked = model.ranker.probabilities(rows)
        else:  # both models read the same vectors: one pass
            ranked, own = paired_probabilities(model.ranker, model.absolute, rows)
        scored = rank_candidates(ranked, examined.candidates)
        # The answer's passages: retrieval's order, corrected by what selection read.
        order = self.order.order(question, examined.ranked, scored)
        hits = tuple(self.retriever.hits(order[:k]))
        quotes = pick_quotes(scored, self.retriever)
        if not quotes:
            return Selection((), hits, 0.0)
        # 这份批复是什么时候印发的: the first quote from a 批复, the others from no other kind.
        pointed = self.names.of_kind(examined.query.question, tokens)
        if pointed and quotes[0].doc_id in pointed:
            quotes = tuple(q for q in quotes if q.doc_id in pointed)
        x = self.confidence_features(examined.query, scored, examined, model, own)
        return Selection(quotes, hits, round(model.confidence.probability(x), 4))

    def confidence_features(
        self,
        query: Query,
        scored: list[tuple[float, Candidate]],
        examined: Examined,
        model: SelectionModel,
        absolute: list[float] | None = None,
    ) -> list[float]:
        """The confidence model's input for candidates ``scored`` by the ranker. Whether the
        question is answered at all is judged on the candidate the pointwise (absolute)
        model likes best on its own, and its margin over the best of another paragraph:
        a pairwise ranker's calibrated probabilities say how a candidate compares with the
        question's others, not how good it is (fed to the confidence model, the held-out
        AUROC fell from 0.79 to 0.70 on CMRC trial). With a pointwise ranker (no absolute
        model in the artifact) the ranker's own scores are used. ``absolute``: the absolute
        model's probabilities of the candidates, when already computed."""
        own = model.absolute
        if own is None:  # the ranker was fitted pointwise: it is the absolute model
            return answerability(self.extractor, query, scored)
        probabilities = (
            absolute if absolute is not None else [own.probability(f) for f in examined.features]
        )
        return answerability(
            self.extractor, query, rank_candidates(probabilities, examined.candidates)
        )


def answerability(
    extractor: FeatureExtractor, query: Query, scored: list[tuple[float, Candidate]]
) -> list[float]:
    """:data:`~rag.answering.features.CONFIDENCE_FEATURES` from candidates sorted best
    first by the pointwise model."""
    best_p, best = scored[0]
    runner_up = next((p for p, c in scored[1:] if c.paragraph != best.paragraph), 0.0)
    return extractor.confidence_features(query, best, best_p, runner_up)


def rank_candidates(
    probabilities: list[float], candidates: list[Candidate]
) -> list[tuple[float, Candidate]]:
    """Candidates with their probabilities, best first (ties by position, deterministic)."""
    # Decorated tuples compared in C (no key function per candidate); the index keeps the
    # sort's order for candidates equal on every key.
    pairs = enumerate(zip(probabilities, candidates, strict=True))
    keyed = sorted([(-p, c.passage, c.start, c.end, n) for n, (p, c) in pairs])
    return [(probabilities[k[4]], candidates[k[4]]) for k in keyed]


__all__ = ["AnswerSelector", "Examined", "answerability", "rank_candidates"]
