"""Asking within some documents or some kinds of document (只在《劳动合同法》中, 仅限决议).

A :class:`rag.schema.Scope` names document ids and/or kinds. :class:`ScopeCatalogue` (one
per generation) checks a scope against the index (:meth:`ScopeCatalogue.resolve`) and reads a
scope the question states itself (:meth:`ScopeCatalogue.from_question`): 只在《X》中, 在《X》里,
仅限《X》, 只看决议原文, 仅限法律. A plain mention of a title (《劳动合同法》第十条) is not a
scope: only a cue (只/仅, or 在/从 … 中/里/内) makes one. Matching runs on the normalised
question (:func:`rag.textnorm.normalize`), so Traditional script works alike.

Retrieval filters on the scope's passages before ranking (:mod:`rag.retrieval`), so a scoped
question gets its ``k`` best passages from inside the scope.

Example:
    >>> catalogue = ScopeCatalogue(generation.documents)
    >>> stated = catalogue.from_question("只在《劳动合同法》中，试用期最长多久？")
    >>> stated.question, stated.scope.label
    ('试用期最长多久？', '《中华人民共和国劳动合同法》')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .citations import full_title, title_with_subtitle
from .columnar import catalogue
from .errors import ArgumentError
from .lru import Once
from .questions import is_followup
from .schema import KIND_LABELS, Document, Scope
from .textnorm import normalize

__all__ = ["ScopeCatalogue", "StatedScope", "inherited_scope", "scope_note"]

# Kinds a question may name (文件 and 文档 would mean every document, not a kind).
_STATED_KINDS = {
    label: kind for kind, label in KIND_LABELS.items() if kind not in ("policy", "record")
}
_KIND_WORDS = "|".join(sorted(map(re.escape, _STATED_KINDS), key=len, reverse=True))
_TITLES = r"《[^《》]{1,100}》(?:\s*(?:和|与|及|、|,|或)\s*《[^《》]{1,100}》)*"
_ONLY = r"(?:只|仅仅|仅|单)(?:是)?(?:在|从|于|看|查|限于|限|针对|就)?"
_WITHIN = r"(?:中|里面|里|内|之中|之内|范围内)"
_TAIL = r"(?:的|来|看|查|回答)?"
# 只在《X》中 / 仅限《X》 / 在《X》里 / 从《X》中.
_TITLE_CUES = re.compile(rf"(?:{_ONLY}{_TITLES}{_WITHIN}?|(?:在|从){_TITLES}{_WITHIN}){_TAIL}")
# 只看决议原文 / 仅限法律 / 只在决议中 / 在法律里.
_KIND_CUES = re.compile(
    rf"(?:{_ONLY}(?P<kind>{_KIND_WORDS})(?:原文|文件|类文件|类)?{_WITHIN}?"
    rf"|(?:在|从)(?P<kind2>{_KIND_WORDS})(?:原文|文件|类文件|类)?{_WITHIN}){_TAIL}"
)
# A cheap test on the raw question before it is normalised (most questions state no scope):
# a 《 or a kind word, in either script.
_TRADITIONAL = str.maketrans("规党内决议见侧记报类", "規黨內決議見側記報類")


def _either_script(word: str) -> str:
    return "".join(
        f"[{c}{c.translate(_TRADITIONAL)}]" if c.translate(_TRADITIONAL) != c else c for c in word
    )


_MAYBE = re.compile("《|" + "|".join(_either_script(w) for w in _STATED_KINDS))
_EDGES = re.compile(r"^[\s,，。.:：;；、]+|[\s,，:：;；、]+$")
_PRC = "中华人民共和国"


@dataclass(frozen=True)
class StatedScope:
    """What :meth:`ScopeCatalogue.from_question` read from a question.

    Attributes:
        question: The question with the scope phrase taken out.
        scope: The scope it states (None: it states none).
        unknown: Titles it names that no indexed document has (then ``scope`` is None).
    """

    question: str
    scope: Scope | None
    unknown: tuple[str, ...] = ()


def scope_note(scope: Scope) -> str:
    """The line an answer shows about its scope (user-facing Chinese)."""
    if scope.inherited:
        return f"只在{scope.label}中查找（沿用前面问题中指定的范围）。"
    return f"只在{scope.label}中查找。"


def _read_catalogue(
    documents: Mapping[str, Document],
) -> tuple[dict[str, tuple[str, ...]], list[tuple[str, str, str]]]:
    """Document ids by kind, and ``(doc id, normalised title, full title)`` of every one."""
    kinds: dict[str, list[str]] = {}
    titles = []
    for doc_id, kind, title, subtitle, key in catalogue(documents):
        kinds.setdefault(kind, []).append(doc_id)
        titles.append((doc_id, key, title_with_subtitle(title, subtitle)))
    return {k: tuple(v) for k, v in kinds.items()}, titles


class ScopeCatalogue:
    """Titles and kinds of one generation's documents, to check and read scopes.

    Built on first use (it reads every document once) and safe to share between threads.

    Args:
        documents: The generation's documents by id.
    """

    def __init__(self, documents: Mapping[str, Document]) -> None:
        self._documents = documents
        self._catalogue = Once(lambda: _read_catalogue(documents))

    def _load(self) -> dict[str, tuple[str, ...]]:
        """Document ids by kind."""
        return self._catalogue.get()[0]

    @property
    def _titles(self) -> list[tuple[str, str, str]]:
        """``(doc id, normalised title, full title)`` of every document, in index order."""
        return self._catalogue.get()[1]

    def kinds(self) -> dict[str, int]:
        """Number of documents of each kind in the index."""
        return {kind: len(ids) for kind, ids in self._load().items()}

    def document_ids(self, scope: Scope) -> tuple[str, ...]:
        """Every document in ``scope``, each once (documents first, then those of its kinds)."""
        kinds = self._load()
        ids = dict.fromkeys(scope.documents)
        for kind in scope.kinds:
            ids.update(dict.fromkeys(kinds.get(kind, ())))
        return tuple(ids)

    def resolve(self, scope: Scope | Mapping[str, Any] | None) -> Scope | None:
        """Check a scope against the index and give it its label.

        Args:
            scope: A Scope, a mapping ``{"documents": [...], "kinds": [...]}``, or None.
                Documents are ids (a document's exact title is accepted too); kinds are keys
                of :data:`rag.schema.KIND_LABELS` or their Chinese labels (``law`` or 法律).

        Returns:
            The scope with ids and kind keys, each once, and its label; None for no scope
            (None, or nothing in either list).

        Raises:
            ArgumentError: Not a scope, an unknown document or kind, or a kind no indexed
                document has.
        """
        if scope is None:
            return None
        if isinstance(scope, Scope):
            documents, kinds = scope.documents, scope.kinds
        elif isinstance(scope, Mapping):
            extra = set(scope) - {"documents", "kinds"}
            if extra:
                raise ArgumentError(
                    f"a scope has 'documents' and 'kinds', not {', '.join(sorted(map(str, extra)))}"
                )
            documents = _strings(scope.get("documents"), "documents")
            kinds = _strings(scope.get("kinds"), "kinds")
        else:
            raise ArgumentError(
                "scope must be {'documents': [ids], 'kinds': [kinds]}, "
                f"got {type(scope).__name__}"
            )
        if not documents and not kinds:
            return None
        present = self._load()
        ids = tuple(dict.fromkeys(self._document_id(d) for d in documents))
        keys = tuple(dict.fromkeys(self._kind(k, present) for k in kinds))
        return Scope(ids, keys, self._label(ids, keys))

    def _document_id(self, value: str) -> str:
        if value in self._documents:
            return value
        by_title = [i for i, _, title in self._titles if title == value]
        by_title = by_title or [i for i, t, _ in self._titles if t == normalize(value)]
        if len(by_title) == 1:
            return by_title[0]
        sample = ", ".join(repr(i) for i, _, _ in self._titles[:3])
        raise ArgumentError(
            f"unknown document {value!r}: the index has {len(self._titles)} documents "
            f"(ids such as {sample}; the document list gives them all)"
        )

    @staticmethod
    def _kind(value: str, present: Mapping[str, tuple[str, ...]]) -> str:
        key = value if value in KIND_LABELS else _LABEL_KINDS.get(value, "")
        have = ", ".join(f"{k} ({KIND_LABELS.get(k, k)})" for k in present)
        if not key:
            allowed = ", ".join(f"{k} ({label})" for k, label in KIND_LABELS.items())
            raise ArgumentError(f"unknown document kind {value!r}; kinds are {allowed}")
        if key not in present:
            raise ArgumentError(f"no indexed document is of kind {value!r}; the index holds {have}")
        return key

    def _label(self, ids: tuple[str, ...], kinds: tuple[str, ...]) -> str:
        parts = [f"《{full_title(self._documents[i])}》" for i in ids[:3]]
        if len(ids) > 3:
            parts[-1] += f"等 {len(ids)} 份文件"
        parts += [KIND_LABELS[k] for k in kinds]
        return "、".join(parts)

    def from_question(self, question: str) -> StatedScope:
        """The scope a question states itself, and the question without it.

        Args:
            question: The cleaned question.

        Returns:
            A :class:`StatedScope`; its ``question`` is the question unchanged when it states
            no scope.
        """
        if _MAYBE.search(question) is None:
            return StatedScope(question, None)
        text = normalize(question)
        if _TITLE_CUES.search(text) is None and _KIND_CUES.search(text) is None:
            return StatedScope(question, None)  # 《…》 named, no scope stated: nothing to read
        self._load()
        ids: dict[str, None] = {}
        kinds: dict[str, None] = {}
        unknown: list[str] = []
        spans: list[tuple[int, int]] = []
        for match in _TITLE_CUES.finditer(text):
            spans.append(match.span())
            for title in re.findall(r"《([^《》]+)》", match.group(0)):
                found = self._by_title(title.strip())
                if found:
                    ids.update(dict.fromkeys(found))
                else:
                    unknown.append(title.strip())
        for match in _KIND_CUES.finditer(text):
            if any(s <= match.start() < e for s, e in spans):
                continue
            label = match.group("kind") or match.group("kind2")
            kind = _STATED_KINDS[label]
            if kind in self._load():
                spans.append(match.span())
                kinds[kind] = None
        if not spans:
            return StatedScope(question, None)
        # Offsets are the normalised text's; they fit the question itself when normalising
        # kept its length (it does for Chinese text), and the question keeps its characters.
        rest = question if len(question) == len(text) else text
        for start, end in sorted(spans, reverse=True):
            rest = rest[:start] + " " + rest[end:]
        rest = _EDGES.sub("", re.sub(r"\s+", " ", rest)).strip()
        if unknown:
            return StatedScope(rest, None, tuple(unknown))
        if not ids and not kinds:
            return StatedScope(question, None)
        doc_ids, kind_keys = tuple(ids), tuple(kinds)
        return StatedScope(
            rest, Scope(doc_ids, kind_keys, self._label(doc_ids, kind_keys), stated=True)
        )

    def _by_title(self, title: str) -> list[str]:
        """Documents a title in 《》 names: the exact title, the title without 中华人民共和国,
        or else every title that contains it."""
        wanted = normalize(title)
        if not wanted:
            return []
        exact = [i for i, t, _ in self._titles if wanted in (t, t.removeprefix(_PRC))]
        if exact:
            return exact
        if len(wanted) < 2:
            return []
        return [i for i, t, _ in self._titles if wanted in t]


def inherited_scope(chain: Sequence[StatedScope]) -> Scope | None:
    """The scope a follow-up keeps from the questions before it.

    A follow-up (那么违约金呢？) means the question it follows with one part changed, so it
    is asked where that question was: the scope the last question stated, or, when that one
    was itself a follow-up stating none, the scope of the one before, and so on. A question
    that is not a follow-up and states no scope ends the search.

    Args:
        chain: The earlier questions as :meth:`ScopeCatalogue.from_question` read them,
            oldest first.

    Returns:
        The scope of the last question that stated one, marked ``inherited``, when only
        follow-ups stating none come after it; else None.
    """
    for stated in reversed(chain):
        if stated.scope is not None:
            return replace(stated.scope, inherited=True)
        if stated.unknown or not is_followup(stated.question):
            return None
    return None


_LABEL_KINDS = {label: kind for kind, label in KIND_LABELS.items()}


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ArgumentError(f"scope {what} must be a list of strings, got {type(value).__name__}")
    items = tuple(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ArgumentError(f"scope {what} must be non-empty strings")
    return items
