"""The facade: ``rag.load()`` and ``Assistant.search`` / ``Assistant.answer``.

Example:
    >>> import rag
    >>> assistant = rag.load("index")
    >>> answer = assistant.answer("上海的城市精神是什么？")
    >>> answer.found, answer.quotes[0].citation
    (True, '《十一届市委十一次全会决议》第3段')
"""

from __future__ import annotations

import logging
import math
import numbers
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import store
from .answering import AnswerSelector, Selection, build_answer, escape_markdown
from .backends import open_backend
from .errors import ArgumentError, IndexMismatchError, ModelUnavailableError
from .locate import MAX_PASSAGE_CHARS, MIN_PASSAGE_CHARS, PassageLocator, located_answer
from .lru import LRUCache
from .questions import (
    MAX_HISTORY,
    CleanQuestion,
    clean_question,
    is_followup,
    resolve_followup,
)
from .retrieval import Retriever
from .schema import Answer, Document, Hit, IndexInfo, Scope
from .scope import ScopeCatalogue, StatedScope, inherited_scope, scope_note
from .settings import RetrievalMode, Settings

if TYPE_CHECKING:
    from .embedding import Embedder

log = logging.getLogger(__name__)

EMPTY_PROMPT = "请输入一个问题，例如：上海的城市精神是什么？"
NOTHING_TO_SEARCH = "问题里没有可以检索的词语，请换一种问法。"
UNKNOWN_TITLE = (
    "收录的文件中没有{titles}，没有在其他文件中查找。可以在文件列表中查看收录了哪些文件。"
)


@dataclass(frozen=True)
class _State:
    """Everything one answer reads; replaced as a whole when a new generation is loaded."""

    generation: store.Generation
    retriever: Retriever
    selector: AnswerSelector
    dense_note: str
    locator: PassageLocator
    scopes: ScopeCatalogue
    # Answers of this generation by question, history, k, mode and scope: an answer depends on
    # nothing else, and a new generation starts with an empty cache.
    answers: LRUCache


class Assistant:
    """Answers questions from one index directory, always from a single generation.

    Use :func:`load` to create one. Methods are safe to call from several threads; a call to
    :meth:`refresh` switches later calls to a newly built generation while running calls
    finish on the one they started with.
    """

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._injected = embedder
        self._lock = threading.Lock()
        self._state = self._load_state(store.load_current(settings.index))

    # -- loading -----------------------------------------------------------------------------

    def _load_state(self, generation: store.Generation) -> _State:
        embedder, note = self._query_embedder(generation)
        backend = open_backend(self.settings, generation)
        retriever = Retriever(
            generation, embedder, alpha=self.settings.hybrid_alpha, backend=backend
        )
        locator = PassageLocator(generation.documents)
        scopes = ScopeCatalogue(generation.documents)
        answers = LRUCache(self.settings.answer_cache)
        return _State(
            generation, retriever, AnswerSelector(retriever), note, locator, scopes, answers
        )

    def _query_embedder(self, generation: store.Generation) -> tuple[Embedder | None, str]:
        dense = generation.manifest["dense"]
        if dense["model"] is None:
            return None, dense.get("note") or "index built without an embedding model"
        if self._injected is not None:
            return self._check_dimension(self._injected, dense["dimension"]), ""
        if not self.settings.dense_enabled:
            return None, "dense retrieval turned off (model: none)"
        if self.settings.model != dense["model"]:
            raise IndexMismatchError(
                f"the index was built with model {dense['model']!r} but {self.settings.model!r} "
                "is configured; run `rag build --force` or set RAG_MODEL to the index's model"
            )
        from .embedding import load_embedder

        try:
            embedder = load_embedder(dense["model"], hub_timeout=self.settings.hub_timeout)
        except ModelUnavailableError as exc:
            log.warning("answering with keywords only: %s", exc)
            return None, str(exc)
        return self._check_dimension(embedder, dense["dimension"]), ""

    @staticmethod
    def _check_dimension(embedder: Embedder, dimension: int) -> Embedder:
        if embedder.dimension != dimension:
            raise IndexMismatchError(
                f"model {embedder.name!r} gives {embedder.dimension}-dimensional vectors, the "
                f"index holds {dimension}; run `rag build --force`"
            )
        return embedder

    def refresh(self) -> bool:
        """Switch to a newer generation if one was built meanwhile.

        Returns:
            True when a new generation was loaded. A damaged new generation is not loaded:
            the current one keeps answering and the error is logged.
        """
        current = store.current_generation(self.settings.index)
        if current is None or current == self._state.generation.path:
            return False
        with self._lock:
            if current == self._state.generation.path:
                return False
            try:
                state = self._load_state(store.load_generation(current))
            except Exception as exc:  # keep serving the generation we have
                log.error("not switching to %s: %s", current, exc)
                return False
            self._state = state
            return True

    # -- read-only views ---------------------------------------------------------------------

    @property
    def info(self) -> IndexInfo:
        """Build id, counts and model of the generation in use."""
        state = self._state
        info = state.generation.info
        if state.retriever.has_dense or not state.dense_note or info.dense_note:
            return info
        return IndexInfo(**{**info.to_dict(), "dense_note": state.dense_note})

    @property
    def has_dense(self) -> bool:
        """True when dense (and so hybrid) retrieval is available."""
        return self._state.retriever.has_dense

    @property
    def documents(self) -> Mapping[str, Document]:
        """The indexed documents by id."""
        return self._state.generation.documents

    def document(self, doc_id: str) -> Document:
        """One document by id (KeyError when unknown)."""
        return self._state.generation.documents[doc_id]

    def key_terms(self, question: str) -> list[str]:
        """The question's informative terms, as searched (stop and question words removed)."""
        cleaned = clean_question(question, self.settings.max_question_chars)
        tokens = self._state.generation.tokenizer.tokenize(cleaned.text)
        return list(dict.fromkeys(tokens))

    # -- search and answer -------------------------------------------------------------------

    def search(
        self,
        question: str,
        k: int | None = None,
        mode: str | RetrievalMode | None = None,
        scope: Scope | Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Ranked passages for a question, best first.

        Args:
            question: The question (capped at ``max_question_chars``).
            k: Number of passages, a whole number 0 or more (more than there are passages gives
                all of them; 0 gives none; default ``top_k``).
            mode: ``hybrid``, ``lexical`` or ``dense`` (default from settings; without vectors
                hybrid falls back to lexical).
            scope: Only these documents and/or kinds, e.g. ``{"kinds": ["resolution"]}`` or
                ``Scope(documents=("labour-contract-law",))`` (see :mod:`rag.scope`); the
                passages are filtered before ranking. A scope the question states itself
                (只在《劳动合同法》中…) takes its place.

        Returns:
            Hits; empty when the question has nothing searchable, ``k`` is 0, or the question
            scopes itself to a title no indexed document has.

        Raises:
            ArgumentError: ``k`` is negative, not a whole number, NaN or infinite (also a
                ``ValueError``), or ``scope`` names an unknown document or kind.

        Example:
            >>> assistant.search("城市精神", scope={"kinds": ["resolution"]})[0].doc_title
            '十一届市委十一次全会决议'
        """
        state = self._state
        count = self._k(k)
        requested = state.scopes.resolve(scope)
        cleaned = clean_question(question, self.settings.max_question_chars)
        if not cleaned.searchable or count == 0:
            return []
        stated = state.scopes.from_question(cleaned.text)
        if stated.unknown:
            return []
        effective = stated.scope or requested
        tokens = state.generation.tokenizer.tokenize(stated.question)
        within = self._within(effective, state)
        ranked = (
            state.retriever.rank(tokens, stated.question, count, self._mode(mode))
            if within is None
            else state.retriever.rank(tokens, stated.question, count, self._mode(mode), within)
        )
        return state.retriever.hits(ranked)

    @staticmethod
    def _within(scope: Scope | None, state: _State) -> Any:
        if scope is None:
            return None
        return state.retriever.within(state.scopes.document_ids(scope))

    def answer(
        self,
        question: str,
        history: Sequence[str] | str | None = None,
        k: int | None = None,
        mode: str | RetrievalMode | None = None,
        scope: Scope | Mapping[str, Any] | None = None,
    ) -> Answer:
        """Answer with verbatim quotes and citations, or refuse.

        Args:
            question: The question.
            history: Earlier user questions, oldest first, for elliptical follow-ups
                (after 上海的城市精神是什么？, 那城市品格呢？ asks for the 城市品格). A plain
                string is one earlier question.
            k: Passages returned in ``Answer.hits``, as for :meth:`search` (0: none; the
                quotes are still chosen from the best passages).
            mode: Retrieval mode, as for :meth:`search`.
            scope: Only these documents and/or kinds, as for :meth:`search`; the answer's
                ``scope`` and a note in its Markdown say where it looked. A scope stated in
                the question comes first; a follow-up stating none (那么违约金呢？) keeps the
                scope stated in the question it follows (``Scope.inherited``, see
                :func:`rag.scope.inherited_scope`); ``scope`` applies otherwise.

        Returns:
            An Answer; ``found`` is False when the documents do not answer the question
            (or, for a scoped question, when the documents in scope do not).

        Raises:
            ArgumentError: ``k`` or ``scope`` is invalid (see :meth:`search`) or ``history``
                is not a sequence of questions.

        Example:
            >>> assistant.answer("只在《劳动合同法》中，试用期最长多久？").scope.label
            '《中华人民共和国劳动合同法》'
        """
        state = self._state
        count = self._k(k)
        earlier = _history(history)
        requested = state.scopes.resolve(scope)
        retrieval = self._mode(mode)
        cleaned = clean_question(question, self.settings.max_question_chars)
        stated = state.scopes.from_question(cleaned.text) if cleaned.searchable else None
        chain = (
            self._chain(state, earlier)
            if stated is not None and not stated.unknown and is_followup(stated.question)
            else []
        )
        # Only the question and the follow-up chain it ends decide the answer.
        key = _answer_key(question, chain, count, retrieval, requested)
        if key is not None:
            cached = state.answers.get(key)
            if cached is not None:
                return cached
        answer = self._answer(state, question, cleaned, stated, chain, count, retrieval, requested)
        if key is not None:
            state.answers.put(key, answer)
        return answer

    def _chain(self, state: _State, earlier: list[Any]) -> list[StatedScope]:
        """The earlier questions a follow-up reads, oldest first: back from the last one to
        the first that is not itself a follow-up (nothing before it can change the answer),
        at most :data:`MAX_HISTORY`; questions with nothing to search are passed over."""
        chain: list[StatedScope] = []
        for raw in reversed(earlier):
            if len(chain) == MAX_HISTORY:
                break
            cleaned = clean_question(raw, self.settings.max_question_chars)
            if not cleaned.searchable:
                continue
            stated = state.scopes.from_question(cleaned.text)
            chain.append(stated)
            if not is_followup(stated.question):
                break
        chain.reverse()
        return chain

    def _answer(
        self,
        state: _State,
        question: str,
        cleaned: CleanQuestion,
        stated: StatedScope | None,
        chain: list[StatedScope],
        count: int,
        retrieval: RetrievalMode,
        requested: Scope | None,
    ) -> Answer:
        if stated is not None and stated.unknown:
            titles = "、".join(f"《{t}》" for t in stated.unknown)
            return self._empty(
                cleaned.text, UNKNOWN_TITLE.format(titles=titles), cleaned.notes, state
            )
        inherited = inherited_scope(chain) if stated is not None and stated.scope is None else None
        effective = (stated.scope if stated is not None else None) or inherited or requested
        located = self._located(question, state, effective)
        if located is not None:
            return located
        if not cleaned.searchable:
            return self._empty(cleaned.text, EMPTY_PROMPT, cleaned.notes, state)
        assert stated is not None
        notes = cleaned.notes + ((scope_note(effective),) if effective else ())
        if effective is not None and not stated.question:
            return self._empty(cleaned.text, EMPTY_PROMPT, notes, state, scope=effective)
        tokenizer = state.generation.tokenizer
        past = [earlier.question for earlier in chain]
        resolved = resolve_followup(stated.question, past, tokenizer.cut, tokenizer.word_tag)
        tokens = tokenizer.tokenize(resolved)
        if not tokens:
            return self._empty(
                cleaned.text, NOTHING_TO_SEARCH, notes, state, resolved, scope=effective
            )
        within = self._within(effective, state)
        if within is None:
            selection = state.selector.select(resolved, tokens, count, retrieval)
        else:
            selection = state.selector.select(resolved, tokens, count, retrieval, within)
        answer = build_answer(
            cleaned.text,
            resolved,
            selection,
            state.generation,
            self.settings.refusal_threshold,
            notes,
        )
        return answer if effective is None else replace(answer, scope=effective)

    @staticmethod
    def _located(question: str, state: _State, scope: Scope | None) -> Answer | None:
        """A pasted passage found in the documents, answered with its place (rag.locate);
        under a scope, only a passage from a document in it."""
        if isinstance(question, str) and len(question) < MIN_PASSAGE_CHARS:
            return None  # cleaning never lengthens it: too short to be located (most questions)
        pasted = clean_question(question, MAX_PASSAGE_CHARS)
        location = state.locator.locate(pasted.text) if pasted.searchable else None
        if location is None:
            return None
        if scope is not None and location.doc_id not in state.scopes.document_ids(scope):
            return None
        answer = located_answer(pasted.text, location, state.generation)
        return answer if answer is None or scope is None else replace(answer, scope=scope)

    def _empty(
        self,
        question: str,
        message: str,
        notes: tuple[str, ...],
        state: _State,
        resolved: str = "",
        *,
        scope: Scope | None = None,
    ) -> Answer:
        info = state.generation.info
        markdown = "\n\n".join([*(escape_markdown(n) for n in notes), message])
        return Answer(
            question=question,
            found=False,
            quotes=(),
            markdown=markdown,
            hits=(),
            build_id=info.build_id,
            source_hashes=info.source_hashes,
            resolved_question=resolved or question,
            notes=notes,
            scope=scope,
        )

    def select(self, question: str, k: int | None = None, mode: Any = None) -> Selection:
        """Quote selection without the refusal decision (used by evaluation and calibration)."""
        state = self._state
        cleaned = clean_question(question, self.settings.max_question_chars)
        tokens = state.generation.tokenizer.tokenize(cleaned.text) if cleaned.searchable else []
        if not tokens:
            return Selection((), (), 0.0)
        return state.selector.select(cleaned.text, tokens, self._k(k), self._mode(mode))

    def _k(self, k: Any) -> int:
        chunks = len(self._state.generation.chunks)
        if k is None:
            return max(1, min(self.settings.top_k, chunks))
        return min(passage_count(k), chunks)

    def _mode(self, mode: str | RetrievalMode | None) -> RetrievalMode:
        return RetrievalMode.parse(mode) if mode is not None else self.settings.mode


def passage_count(k: Any) -> int:
    """``k`` as a number of passages: a whole number, 0 or more.

    Accepts ints, floats with no fractional part and strings of digits (from forms and
    environment variables).

    Raises:
        ArgumentError: Negative, fractional, NaN, infinite, a bool or not a number.
    """
    if type(k) is int and k >= 0:  # the common case, without the number ABCs
        return k
    value = k
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ArgumentError(f"k must be a whole number of passages, got {k!r}") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentError(f"k must be a whole number of passages, got {k!r}")
    if not isinstance(value, numbers.Integral):
        number = float(value)
        if not (math.isfinite(number) and number.is_integer()):
            raise ArgumentError(f"k must be a whole number of passages, got {k!r}")
        value = int(number)
    if value < 0:
        raise ArgumentError(f"k must be 0 or more passages, got {k!r}")
    return int(value)


def _answer_key(
    question: Any,
    chain: list[StatedScope],
    count: int,
    mode: RetrievalMode,
    scope: Scope | None,
) -> tuple[Any, ...] | None:
    """What decides an answer within one generation, or None when it cannot be a key."""
    key = (question, tuple(chain), count, mode, scope)
    try:
        hash(key)
    except TypeError:  # e.g. a list inside the history: answered, not cached
        return None
    return key


def _history(history: Any) -> list[Any]:
    """Earlier questions as a list: a plain string is one question, not its characters."""
    if history is None:
        return []
    if isinstance(history, str):
        return [history]
    if isinstance(history, (bytes, Mapping)) or not isinstance(history, Iterable):
        raise ArgumentError(
            f"history must be a list of earlier questions, got {type(history).__name__}"
        )
    return list(history)


def load(
    index: str | Path | None = None,
    *,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
    **overrides: Any,
) -> Assistant:
    """Load the index in ``index`` (default: settings' index directory).

    Args:
        index: Index directory.
        settings: Base settings (default ``Settings.load()``, i.e. defaults < RAG_* env).
        embedder: Query embedder to use instead of loading the index's model.
        **overrides: Setting overrides such as ``top_k=3`` or ``mode="lexical"``.

    Raises:
        IndexNotBuiltError: No index there yet (the message says how to build one).
        IndexMismatchError: The index is damaged or does not fit the settings.
    """
    settings = (settings or Settings.load()).with_(index=index, **overrides)
    return Assistant(settings, embedder=embedder)


__all__ = ["Assistant", "load", "passage_count"]
