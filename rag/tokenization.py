"""Chinese tokenization for BM25: one function for passages and questions alike.

:class:`Tokenizer` runs :func:`rag.textnorm.normalize`, then a private jieba tokenizer, then
drops punctuation, whitespace and stopwords. Passages at build time and questions at query
time MUST go through the same :meth:`Tokenizer.tokenize` of a tokenizer constructed with the
same user terms, stopwords and options, or the index and the query disagree on tokens.

Chosen configuration, the default (measured with ``benchmarks/lexical_experiment.py`` on
CMRC 2018 dev: 848 documents, 3,219 questions, ~200-character sentence windows with the title
prepended, document = best passage; document recall@1 / recall@5):

* jieba precise mode (``mode="precise"``): 0.9817 / 0.9991, against 0.9811 / 0.9978 for
  ``cut_for_search``, which also emits the dictionary words inside long words; precise mode
  ties on recall@1, is better on recall@5 and gives fewer postings.
* HMM off (``hmm=False``): +0.6 points of recall@1 (HMM on: 0.9761). The HMM glues unknown
  characters into guessed words, and a question guesses differently from the passage.
* no character bigrams (``bigrams=False``): they cost 0.2 points with HMM off (0.9795) and
  only make up for the HMM's losses with HMM on (0.9814), at twice the postings.
* the packaged stopwords (``rag/data/stopwords.txt``): question words and particles (什么,
  哪个, 谁, 多少, 为什么, 吗, 呢 …) and function words (的, 了, 是, 在, 和 …); +0.25 points
  (without: 0.9792; +0.5 with HMM on). Question words hardly occur in documents, so without
  the list their high IDF pulls passages that happen to contain ``什么`` to the top.
* precise mode without HMM runs through :func:`precise_cut`, jieba's own algorithm in one
  loop (the same words, ~40% less time per question) when jieba is the 0.42.1 it was
  checked against; any other jieba runs its own code.
* user terms from :func:`discover_terms`, each emitted together with the words jieba made of
  it before it was added: neutral on CMRC (0.9817 / 0.9991 with and without), while
  documents' own terms (``软实力``) become tokens of their own. Emitting the term alone cost
  0.4 points: a question naming only part of a term no longer matched it.

Example:
    >>> tok = Tokenizer(user_terms=["软实力"])
    >>> tok.tokenize("全面提升城市軟實力！")
    ['全面', '提升', '城市', '软', '实力', '软实力']
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, TypeVar

import jieba

from .errors import RagError
from .textnorm import normalize

__all__ = [
    "DICTIONARY_FILES",
    "SCHEME",
    "Mode",
    "Tokenizer",
    "WorkerPool",
    "add_counts",
    "count_terms",
    "default_stopwords",
    "discover_terms",
    "precise_cut",
    "terms_from_counts",
    "worker_pool",
]

Mode = Literal["search", "precise"]
# What decides tokens: user terms, stopwords, mode, HMM, bigrams (sent to worker processes).
_Config = tuple[tuple[str, ...], frozenset[str], Mode, bool, bool]
_T = TypeVar("_T")
# Names the token scheme for the index manifest; bump it whenever tokens change for the same
# text, settings and user terms (Tokenizer.describe() adds the stopword and term digests).
SCHEME = "jieba-precise-nohmm-stopwords-termparts-variants/2"

# A token is kept when it has at least one letter or digit (CJK ideographs are letters).
_WORD_CHAR = re.compile(r"[^\W_]")
_HAN_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Characters jieba can match against dictionary words; user terms outside this set are never
# produced by jieba, so they are rejected rather than silently ignored.
_JIEBA_WORD = re.compile(r"[\u4e00-\u9fd5a-z0-9+#&._%\-]+")
_DICT_SHORT = "dictionary.short.npy"  # words of up to _SHORT characters, sorted (<U4)
_DICT_LONG = "dictionary.long.npy"  # the longer words, sorted
_DICT_FREQ = "dictionary.freq.npy"  # counts: the short words', then the long words'
_DICT_TAGS = "dictionary.tags.npy"  # part-of-speech tags as codes into the meta's "tags"
_DICT_META = "dictionary.json"
DICTIONARY_FILES = (_DICT_SHORT, _DICT_LONG, _DICT_FREQ, _DICT_TAGS, _DICT_META)
# 97 % of jieba's entries have at most 4 characters: a fixed-width array of 4 characters
# holds them in a quarter of the bytes of one as wide as the longest word (16), and every
# load hashes these files (the dictionary was 44 MB of a generation, now 11 MB).
_SHORT = 4
# A loaded tokenizer builds jieba's full dictionary after this many texts (see Tokenizer.save).
_PRIMED_TEXTS = 16
# Below this many texts, starting worker processes costs more than it saves.
_MIN_PARALLEL_TEXTS = 2000


@lru_cache(maxsize=1)
def default_stopwords() -> frozenset[str]:
    """The packaged stopword list (``rag/data/stopwords.txt``), normalised.

    Returns:
        Question words, question particles and function words.
    """
    raw = resources.files("rag").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    words = (line.split("#", 1)[0].strip() for line in raw.splitlines())
    return frozenset(normalize(w) for w in words if w)


@lru_cache(maxsize=1)
def _base_dictionary() -> tuple[dict[str, int], int]:
    """jieba's prefix dictionary (word → frequency, total), built once per process.

    Built from the dictionary file inside the jieba package, never read from the cache jieba
    keeps in the shared temporary directory (``/tmp/jieba.cache``): another local account can
    plant that file, and building takes no longer than loading it (0.57 s against 0.67 s).
    """
    tk = jieba.Tokenizer()
    freq, total = tk.gen_pfdict(tk.get_dict_file())
    return freq, total


def _new_jieba() -> jieba.Tokenizer:
    """A private, initialised jieba tokenizer: a copy of the base dictionary (~10 ms), so
    user terms added to it never reach another tokenizer."""
    freq, total = _base_dictionary()
    tk = jieba.Tokenizer()
    tk.FREQ, tk.total, tk.initialized = dict(freq), total, True
    return tk


class Tokenizer:
    """Normalise → jieba → drop punctuation, whitespace and stopwords.

    The jieba dictionary is loaded eagerly (about 0.6 s) so the first query is not slow. Each
    instance owns a private ``jieba.Tokenizer``; the global jieba state is never touched.

    Args:
        user_terms: Extra dictionary words (e.g. from :func:`discover_terms`); they are
            normalised, and words jieba cannot produce (spaces, punctuation inside) are
            ignored. The index must persist them: a query tokenizer without the same terms
            splits differently.
        stopwords: Tokens to drop; ``None`` uses :func:`default_stopwords`, an empty set
            disables stopword removal.
        mode: ``"search"`` (jieba ``cut_for_search``: words plus the dictionary words
            inside them) or ``"precise"`` (jieba ``cut``).
        hmm: Let jieba's HMM guess words that are not in its dictionary.
        bigrams: Also emit the character bigrams of Chinese tokens of three or more
            characters.

    Example:
        >>> Tokenizer().tokenize("上海的城市精神是什么？")
        ['上海', '城市', '精神']
    """

    def __init__(
        self,
        user_terms: Iterable[str] = (),
        stopwords: frozenset[str] | None = None,
        *,
        mode: Mode = "precise",
        hmm: bool = False,
        bigrams: bool = False,
    ) -> None:
        if mode not in ("search", "precise"):
            raise RagError(f"unknown tokenizer mode {mode!r}; allowed: search, precise")
        self._mode: Mode = mode
        self._hmm = bool(hmm)
        self._bigrams = bool(bigrams)
        self._stopwords = default_stopwords() if stopwords is None else frozenset(stopwords)
        terms = {normalize(t).strip() for t in user_terms}
        # Sorted: jieba's suggested frequency depends on the order words are added.
        self._user_terms = tuple(sorted(t for t in terms if _JIEBA_WORD.fullmatch(t)))
        self._jieba = _new_jieba()
        self._stored: _StoredDictionary | None = None
        self._dictionary: _StoredDictionary | None = None
        # A user term is emitted together with the words jieba made of it before the term
        # was added, so a question that names only part of the term still matches it.
        before = {term: self._filter(self._cut(term)) for term in self._user_terms}
        # What adding the terms changes in jieba's base dictionary (each entry's value before,
        # None when it was absent), saved so that a build can count terms with the base
        # dictionary recovered from the saved one instead of building it again.
        freq = self._jieba.FREQ
        self._base_total = int(self._jieba.total)
        self._base_changes: dict[str, int | None] = {}
        for term in self._user_terms:
            for end in range(1, len(term) + 1):
                self._base_changes.setdefault(term[:end], freq.get(term[:end]))
            self._jieba.add_word(term)
        self._parts: dict[str, tuple[str, ...]] = {}
        for term, parts in before.items():
            after = set(self._filter(self._cut(term)))
            extra = tuple(p for p in parts if p not in after)
            if extra:
                self._parts[term] = extra

    # Worker processes receive the tokenizer's configuration, not the tokenizer: jieba's lock
    # cannot be pickled, so the configuration travels and the dictionary is rebuilt.
    def _config(self) -> _Config:
        return (self._user_terms, self._stopwords, self._mode, self._hmm, self._bigrams)

    @classmethod
    def _from_config(cls, config: _Config) -> Tokenizer:
        user_terms, stopwords, mode, hmm, bigrams = config
        return cls(user_terms, stopwords, mode=mode, hmm=hmm, bigrams=bigrams)

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self._config()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(Tokenizer._from_config(state["config"]).__dict__)

    # -- the dictionary as an index artifact --------------------------------------------------
    # Building jieba's prefix dictionary from its word list is most of a one-shot `rag ask`
    # (0.57 s), and jieba's part-of-speech table another 0.2-0.5 s. A generation stores the
    # finished dictionary (user terms added) as sorted, memory-mapped arrays with each word's
    # tag instead. A loaded tokenizer looks up only the substrings of the text it is given
    # (what jieba's DAG will ask for, a few hundred binary searches per question), and builds
    # the full dictionary once it has served a few texts, so a server's questions cost what
    # they cost before.

    def save(self, directory: Path, write: Callable[[Path, Iterable[bytes]], None]) -> None:
        """Write the finished jieba dictionary, each word's part-of-speech tag and the
        settings that decide tokens.

        Args:
            directory: Target directory (created).
            write: Writes one file from byte blocks and checks it on disk.
        """
        import numpy as np

        if self._dictionary is not None:
            raise RagError("a loaded tokenizer is saved by linking the files it was loaded from")
        directory.mkdir(parents=True, exist_ok=True)
        freq = self._jieba.FREQ
        ordered = sorted(freq)
        short = [w for w in ordered if len(w) <= _SHORT]
        long = [w for w in ordered if len(w) > _SHORT]
        words = short + long
        tags = _word_tags()
        word_tags = [tags.get(w, "") for w in words]
        tag_names = sorted(set(word_tags) | {""})
        code = {t: i for i, t in enumerate(tag_names)}
        meta = {
            "describe": self.describe(),
            "options": [self._mode, self._hmm, self._bigrams],
            "total": int(self._jieba.total),
            "parts": {k: list(v) for k, v in self._parts.items()},
            "max_len": max(map(len, words), default=1),
            "tags": tag_names,
            "jieba_dictionary": _jieba_dictionary_digest(),
            "base": {
                "total": self._base_total,
                "changes": sorted(self._base_changes.items()),
            },
        }
        tag_type = np.uint8 if len(tag_names) <= 256 else np.uint16
        arrays = {
            _DICT_SHORT: np.array(short, dtype=f"<U{_SHORT}"),
            _DICT_LONG: np.array(long, dtype=str) if long else np.array([], dtype="<U1"),
            _DICT_FREQ: np.fromiter((freq[w] for w in words), dtype=np.int64, count=len(words)),
            _DICT_TAGS: np.fromiter((code[t] for t in word_tags), dtype=tag_type, count=len(words)),
        }
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.save(buf, array, allow_pickle=False)
            write(directory / name, [buf.getvalue()])
        write(directory / _DICT_META, [json.dumps(meta, ensure_ascii=False).encode("utf-8")])

    @classmethod
    def load(cls, directory: Path, user_terms: Iterable[str], *, lazy: bool = False) -> Tokenizer:
        """A tokenizer from :meth:`save`'s files, for the given user terms and the packaged
        stopwords; refused when they are not what the dictionary was built with.

        Args:
            directory: What :meth:`save` wrote.
            user_terms: The terms the dictionary must have been built with.
            lazy: Never build the full dictionary; look up each text's substrings only (a
                build tokenizing a few changed files, where the full dictionary would cost
                more than all the look-ups).

        Raises:
            RagError: The files are unreadable or were written for other terms, stopwords
                or options (the caller turns this into an index error).
        """
        self, _meta = cls._load(directory, user_terms, lazy=lazy)
        return self

    @classmethod
    def reuse(cls, directory: Path, user_terms: Iterable[str]) -> Tokenizer:
        """The tokenizer a build would construct for ``user_terms``, read lazily (see
        :meth:`load`) from a previous build's dictionary instead of built from jieba's word
        list; it tokenizes exactly as ``Tokenizer(user_terms)`` does.

        Raises:
            RagError: The files cannot serve: other terms, stopwords or options, or built by
                another jieba version or from another jieba dictionary file.
        """
        tokenizer, meta = cls._load(directory, user_terms, lazy=True)
        _check_jieba(directory, meta)
        return tokenizer

    @classmethod
    def load_base(cls, directory: Path) -> Tokenizer:
        """``Tokenizer(stopwords=None)`` (no user terms: jieba's base dictionary), read
        lazily from a previous build's dictionary with the user terms' changes undone, for
        counting key terms (:func:`count_terms`) without building jieba's dictionary.

        Raises:
            RagError: The files cannot serve (unreadable, another jieba, no record of what
                the user terms changed).
        """
        meta, stored = _read_dictionary(directory, lazy=True)
        _check_jieba(directory, meta)
        try:
            base = meta["base"]
            changes = {str(w): (None if f is None else int(f)) for w, f in base["changes"]}
            base_total = int(base["total"])
        except (KeyError, TypeError, ValueError):
            raise RagError(f"tokenizer dictionary in {directory} has no base record") from None
        stored.overlay = changes
        return cls._stored_tokenizer(meta, (), stored, base_total, {})

    @classmethod
    def _load(
        cls, directory: Path, user_terms: Iterable[str], *, lazy: bool
    ) -> tuple[Tokenizer, dict[str, Any]]:
        meta, stored = _read_dictionary(directory, lazy=lazy)
        terms = {normalize(t).strip() for t in user_terms}
        self = cls._stored_tokenizer(
            meta,
            tuple(sorted(t for t in terms if _JIEBA_WORD.fullmatch(t))),
            stored,
            int(meta["total"]),
            {k: tuple(v) for k, v in meta["parts"].items()},
        )
        wanted = {k: v for k, v in meta["describe"].items() if k != "jieba"}
        if {k: v for k, v in self.describe().items() if k != "jieba"} != wanted:
            raise RagError(
                f"tokenizer dictionary in {directory} was built with other terms, stopwords "
                "or options than this program uses"
            )
        return self, meta

    @classmethod
    def _stored_tokenizer(
        cls,
        meta: dict[str, Any],
        user_terms: tuple[str, ...],
        stored: _StoredDictionary,
        total: int,
        parts: dict[str, tuple[str, ...]],
    ) -> Tokenizer:
        mode, hmm, bigrams = meta["options"]
        self = cls.__new__(cls)
        self._mode, self._hmm, self._bigrams = mode, bool(hmm), bool(bigrams)
        self._stopwords = default_stopwords()
        self._user_terms = user_terms
        tk = jieba.Tokenizer()
        tk.FREQ, tk.total, tk.initialized = {}, total, True
        self._jieba = tk
        self._parts = parts
        self._stored = self._dictionary = stored
        return self

    def _prime(self, text: str) -> None:
        """Make sure jieba's dictionary holds every entry ``text`` can ask for."""
        stored = self._stored
        if stored is None:
            return
        if stored.texts >= _PRIMED_TEXTS and not stored.lazy:
            self._jieba.FREQ = stored.full()
            self._stored = None
            return
        stored.texts += 1
        stored.prime(text, self._jieba.FREQ)

    def word_tag(self, word: str) -> str:
        """jieba's part-of-speech tag of a dictionary word (``ns``, ``nr`` …), or ``""``."""
        stored = self._dictionary
        if stored is not None:
            return stored.tag(word)
        from jieba import posseg

        return str(posseg.dt.word_tag_tab.get(word, ""))

    @property
    def user_terms(self) -> tuple[str, ...]:
        """The normalised user terms added to the dictionary, sorted."""
        return self._user_terms

    @property
    def stopwords(self) -> frozenset[str]:
        """The stopwords that are dropped."""
        return self._stopwords

    def describe(self) -> dict[str, Any]:
        """Settings that decide the tokens, for the index manifest.

        An index must be rebuilt when any of these differ from the query side's.

        Returns:
            JSON-serialisable settings, with digests of the stopword and user-term lists.
        """

        def digest(words: Iterable[str]) -> str:
            return hashlib.sha256("\n".join(sorted(words)).encode()).hexdigest()[:16]

        return {
            "mode": self._mode,
            "hmm": self._hmm,
            "bigrams": self._bigrams,
            "stopwords": len(self._stopwords),
            "stopwords_sha256": digest(self._stopwords),
            "user_terms": len(self._user_terms),
            "user_terms_sha256": digest(self._user_terms),
            "jieba": getattr(jieba, "__version__", "unknown"),
        }

    def segment(self, text: str) -> list[str]:
        """Raw jieba words of normalised text, before any filtering.

        Args:
            text: Text to segment (normalised here).

        Returns:
            jieba's words, punctuation and whitespace included.
        """
        text = normalize(text)
        self._prime(text)
        if not self._hmm and _FAST_CUT:
            return precise_cut(self._jieba, text)
        return self._jieba.lcut(text, HMM=self._hmm)

    def cut(self, text: str) -> list[str]:
        """jieba's words of ``text`` as written (no normalisation, nothing dropped), so that
        ``"".join(cut(text)) == text``; used to rewrite questions."""
        self._prime(text)
        if _FAST_CUT:
            return precise_cut(self._jieba, text)
        return self._jieba.lcut(text, HMM=False)

    def rarity(self, word: str) -> float:
        """How rare a word is in Chinese at large: log10(total / (frequency + 1)) in jieba's
        dictionary (about 2 for 的, 4.5 for 开会, 7.8 for a word jieba does not know)."""
        self._prime(word)
        freq = self._jieba.FREQ.get(word, 0)
        return math.log10(self._jieba.total / (freq + 1))

    def is_word(self, word: str) -> bool:
        """Whether ``word`` is a word of the dictionary (jieba's, with the user terms)."""
        self._prime(word)
        return self._jieba.FREQ.get(word, 0) > 0

    def subwords(self, word: str) -> list[str]:
        """The dictionary words of two or more characters inside ``word`` (without ``word``
        itself), in order of where they start: 抄送单位 → 抄送, 单位."""
        self._prime(word)
        freq = self._jieba.FREQ
        n = len(word)
        return [
            word[i:j]
            for i in range(n)
            for j in range(i + 2, n + 1)
            if j - i < n and freq.get(word[i:j], 0) > 0
        ]

    def tokenize(self, text: str) -> list[str]:
        """Tokens of one passage or question.

        Args:
            text: Raw text; it is normalised here.

        Returns:
            Tokens in text order (search mode may emit a word's parts before the word).
        """
        text = normalize(text)
        self._prime(text)
        tokens = self._filter(self._cut(text))
        parts = self._parts
        if parts and not parts.keys().isdisjoint(tokens):
            tokens = [p for w in tokens for p in (*parts.get(w, ()), w)]
        if self._bigrams:
            return list(_with_bigrams(tokens, self._stopwords))
        return tokens

    def _cut(self, text: str) -> Iterable[str]:
        if self._mode == "search":
            return self._jieba.cut_for_search(text, HMM=self._hmm)
        if not self._hmm and _FAST_CUT:
            return precise_cut(self._jieba, text)
        return self._jieba.cut(text, HMM=self._hmm)

    def _filter(self, words: Iterable[str]) -> list[str]:
        stop = self._stopwords
        search = _WORD_CHAR.search
        return [w for w in words if w not in stop and search(w)]

    def tokenize_many(
        self, texts: Sequence[str], workers: int = 1, pool: WorkerPool | None = None
    ) -> list[list[str]]:
        """Tokenize many texts, in worker processes when that pays.

        The result is identical to ``[self.tokenize(t) for t in texts]`` whatever the number
        of workers: texts are split into contiguous chunks and the chunks are reassembled in
        order.

        Args:
            texts: Texts to tokenize.
            workers: Processes to use; 1 (or a batch under 2,000 texts) runs in-process.
                Ignored when ``pool`` is given.
            pool: Worker processes started earlier with :func:`worker_pool`. Without it the
                workers are started here and share the caller's heap as it is now.

        Returns:
            One token list per text.
        """
        n = len(texts)
        if pool is not None:
            workers = pool.workers
        workers = max(1, min(int(workers), n // 500 or 1))
        if workers == 1 or n < _MIN_PARALLEL_TEXTS:
            return _tokenize_chunk(self, texts)
        # Several chunks per worker balance uneven texts; few enough to keep IPC cheap.
        n_chunks = workers * 8
        size = -(-n // n_chunks)
        config = self._config()
        tasks: list[tuple[_Config, Sequence[str]]] = [
            (config, texts[i : i + size]) for i in range(0, n, size)
        ]
        if pool is not None:
            parts = pool.map(tasks, _tokenize_chunk)
        else:
            with worker_pool(workers) as own:
                assert own is not None
                parts = own.map(tasks, _tokenize_chunk)
        return [tokens for part in parts for tokens in part]


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    """jieba's part-of-speech tag of every word of its dictionary file (build time only)."""
    tk = jieba.Tokenizer()
    tags: dict[str, str] = {}
    with tk.get_dict_file() as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) == 3:
                tags[parts[0]] = parts[2]
    return tags


def _read_dictionary(directory: Path, *, lazy: bool) -> tuple[dict[str, Any], _StoredDictionary]:
    """The meta and memory-mapped arrays :meth:`Tokenizer.save` wrote, checked for shape.

    Raises:
        RagError: Unreadable or damaged.
    """
    import numpy as np

    try:
        meta = json.loads((directory / _DICT_META).read_text(encoding="utf-8"))
        short = np.load(directory / _DICT_SHORT, mmap_mode="r", allow_pickle=False)
        long = np.load(directory / _DICT_LONG, mmap_mode="r", allow_pickle=False)
        counts = np.load(directory / _DICT_FREQ, mmap_mode="r", allow_pickle=False)
        tags = np.load(directory / _DICT_TAGS, mmap_mode="r", allow_pickle=False)
        _mode, _hmm, _bigrams = meta["options"]
        total, max_len = int(meta["total"]), int(meta["max_len"])
        tag_names = [str(t) for t in meta["tags"]]
        dict(meta["parts"]), dict(meta["describe"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"tokenizer dictionary in {directory} cannot be read ({exc})") from None
    n = len(short) + len(long)
    if (
        short.dtype != np.dtype(f"<U{_SHORT}")
        or long.dtype.kind != "U"
        or tags.dtype.kind != "u"
        or counts.dtype != np.int64
        or counts.shape != (n,)
        or tags.shape != (n,)
        or (n and int(tags.max()) >= len(tag_names))
        or total <= 0
        or max_len < 1
    ):
        raise RagError(f"tokenizer dictionary in {directory} is damaged")
    return meta, _StoredDictionary(short, long, counts, tags, tag_names, max_len, lazy=lazy)


def _check_jieba(directory: Path, meta: dict[str, Any]) -> None:
    """Refuse a dictionary built by another jieba version or from another dictionary file."""
    if meta["describe"].get("jieba") != getattr(jieba, "__version__", "unknown") or (
        meta.get("jieba_dictionary") != _jieba_dictionary_digest()
    ):
        raise RagError(f"tokenizer dictionary in {directory} was built by another jieba")


@lru_cache(maxsize=1)
def _jieba_dictionary_digest() -> str:
    """sha256 of the dictionary file inside the jieba package (what the base dictionary is
    built from)."""
    digest = hashlib.sha256()
    with jieba.Tokenizer().get_dict_file() as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _StoredDictionary:
    """A saved jieba dictionary: sorted words (memory-mapped; the short ones in a narrow
    array, the long ones in a wide one), their counts and tag codes.

    ``overlay`` maps words to the value they have instead (None: absent), which turns the
    saved dictionary (user terms added) back into jieba's base dictionary; ``lazy`` keeps
    the tokenizer looking up substrings instead of building the full dictionary.
    """

    def __init__(
        self,
        short: Any,
        long: Any,
        counts: Any,
        tags: Any,
        tag_names: list[str],
        max_len: int,
        *,
        lazy: bool = False,
        overlay: dict[str, int | None] | None = None,
    ) -> None:
        self.short, self.long, self.counts, self.tags = short, long, counts, tags
        self.tag_names, self.max_len = tag_names, max_len
        self.texts = 0
        self.lazy = lazy
        self.overlay = overlay or {}
        self._lock = threading.Lock()

    def _find(self, candidates: list[str]) -> tuple[list[str], list[int]]:
        """The candidates that are dictionary words, and their rows in ``counts``."""
        import numpy as np

        found: list[str] = []
        rows: list[int] = []
        short = [c for c in candidates if len(c) <= _SHORT]
        long = [c for c in candidates if len(c) > _SHORT]
        for words, group, base in ((self.short, short, 0), (self.long, long, len(self.short))):
            if not group or not len(words):
                continue
            cand = np.array(group, dtype=words.dtype if words is self.short else str)
            pos = np.searchsorted(words, cand)
            inside = pos < len(words)
            hit = np.zeros(len(cand), dtype=bool)
            hit[inside] = words[pos[inside]] == cand[inside]
            found += cand[hit].tolist()
            rows += (pos[hit] + base).tolist()
        return found, rows

    def _lookup(self, wanted: list[str], freq: dict[str, int]) -> None:
        found, rows = self._find(wanted)
        counts = self.counts[rows].tolist() if rows else []
        overlay = self.overlay
        with self._lock:
            for word, count in zip(found, counts, strict=True):
                freq[word] = count
            for word in overlay.keys() & set(wanted):
                value = overlay[word]
                if value is None:
                    freq.pop(word, None)
                else:
                    freq[word] = value

    def prime(self, text: str, freq: dict[str, int]) -> None:
        """Copy into ``freq`` the entry of every substring of ``text`` jieba may look up.

        jieba's DAG extends a word from a position only while the text so far is an entry
        (every prefix of a word is one), so substrings are looked up one length at a time,
        and only after their prefix was found.
        """
        n = len(text)
        starts: Iterable[int] = range(n)
        for length in range(1, self.max_len + 1):
            spans = {i: text[i : i + length] for i in starts if i + length <= n}
            wanted = {w for w in spans.values() if w not in freq}
            if wanted:
                self._lookup(list(wanted), freq)
            starts = [i for i, w in spans.items() if w in freq]
            if not starts:
                return

    def full(self) -> dict[str, int]:
        """The whole dictionary as jieba holds it."""
        words = self.short.tolist() + self.long.tolist()
        freq = dict(zip(words, self.counts.tolist(), strict=True))
        for word, value in self.overlay.items():
            if value is None:
                freq.pop(word, None)
            else:
                freq[word] = value
        return freq

    def tag(self, word: str) -> str:
        found, rows = self._find([word])
        return self.tag_names[int(self.tags[rows[0]])] if found else ""


# jieba's precise mode without HMM, computed as jieba 0.42.1 computes it (the same DAG, the
# same route scores summed in the same order, the same splitting of blocks), in one pass and
# without generators: about 40% less time per question, most of tokenizing. Another jieba
# version uses jieba's own code. tests/test_tokenization.py compares the two on real text.
_FAST_CUT = getattr(jieba, "__version__", "") == "0.42.1"
_RE_HAN = jieba.re_han_default
_RE_SKIP = jieba.re_skip_default
_RE_ENG = jieba.re_eng


def precise_cut(tk: jieba.Tokenizer, sentence: str) -> list[str]:
    """``tk.lcut(sentence, HMM=False)``, the same words, faster (see :data:`_FAST_CUT`).

    Args:
        tk: An initialised jieba tokenizer (its ``FREQ`` primed for ``sentence``).
        sentence: The text.
    """
    tk.check_initialized()
    get = tk.FREQ.get
    logtotal = math.log(tk.total)
    out: list[str] = []
    for block in _RE_HAN.split(sentence):
        if not block:
            continue
        if _RE_HAN.match(block):
            _cut_block(block, get, logtotal, out)
            continue
        for piece in _RE_SKIP.split(block):
            if _RE_SKIP.match(piece):
                out.append(piece)
            else:
                out.extend(piece)  # one character at a time, as jieba yields them
    return out


def _cut_block(
    sentence: str, get: Callable[[str], int | None], logtotal: float, out: list[str]
) -> None:
    """jieba's ``get_DAG`` + ``calc`` + ``__cut_DAG_NO_HMM`` of one block, from the end: the
    best route from each position is (log frequency - log total + the route after the
    word, the word's last position), the largest such pair over the dictionary words that
    start there (prefixes are entries of frequency 0), a lone character when none does."""
    log = math.log
    n = len(sentence)
    scores = [0.0] * (n + 1)
    ends = [0] * n
    for k in range(n - 1, -1, -1):
        # The largest (score, end) pair: ends grow along the loop, so a later word with an
        # equal score is the larger pair (what comparing the tuples would pick).
        best: float | None = None
        end = k
        i = k
        f = get(sentence[k])
        while f is not None:
            if f:
                score = log(f) - logtotal + scores[i + 1]
                if best is None or score >= best:
                    best, end = score, i
            i += 1
            if i >= n:
                break
            f = get(sentence[k : i + 1])
        if best is None:
            best, end = log(1) - logtotal + scores[k + 1], k
        scores[k], ends[k] = best, end
    x = 0
    buf = ""
    eng = _RE_ENG.match
    while x < n:
        y = ends[x] + 1
        word = sentence[x:y]
        if y - x == 1 and eng(word):  # single Latin letters and digits run together
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)


def _with_bigrams(tokens: list[str], stop: frozenset[str]) -> Iterator[str]:
    for token in tokens:
        yield token
        if len(token) > 2 and _HAN_ONLY.fullmatch(token):
            for i in range(len(token) - 1):
                gram = token[i : i + 2]
                if gram not in stop:
                    yield gram


def _tokenize_chunk(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[str]]:
    # Share one string object per distinct token: far less memory for 10^6 passages, and
    # pickle then sends each distinct token of a chunk once.
    pool: dict[str, str] = {}
    intern = pool.setdefault
    return [[intern(t, t) for t in tokenizer.tokenize(text)] for text in texts]


class WorkerPool:
    """Tokenization worker processes (see :func:`worker_pool`)."""

    def __init__(self, pool: Any, workers: int) -> None:
        self._pool = pool
        self.workers = workers

    def map(
        self,
        tasks: list[tuple[_Config, Sequence[str]]],
        work: Callable[[Tokenizer, Sequence[str]], _T],
    ) -> list[_T]:
        """Run ``work(tokenizer, texts)`` for each ``(tokenizer configuration, texts)`` task in
        the workers, results in order.

        ``work`` must be a module-level function (it is pickled by name).

        Raises:
            RagError: The pool has been closed.
        """
        if self._pool is None:
            raise RagError("the tokenization worker pool is closed")
        jobs = [(work, config, texts) for config, texts in tasks]
        return self._pool.map(_run_task, jobs, chunksize=1)

    def close(self) -> None:
        """Stop the workers now (they hold a tokenizer each); closing twice is harmless."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


@contextmanager
def worker_pool(workers: int) -> Iterator[WorkerPool | None]:
    """Start ``workers`` tokenization processes; None when ``workers`` is 1 or less.

    Start the pool before the process holds much: on Linux the workers are forked, and a
    forked worker's resident memory counts every page of the parent's heap it shares, so a
    build starts its workers before it parses anything (at 10^6 passages the parsed
    documents are gigabytes). Forking, unlike a fork server or spawning, never re-imports
    the caller's main script, so a script without an ``if __name__ == "__main__"`` guard
    can build an index. The parent's objects are frozen around the fork so that a garbage
    collection in a worker never visits (and so copies) pages of the parent's heap.

    Each worker builds a tokenizer the first time it meets a configuration (~0.1 s) and
    keeps it for later tasks.
    """
    if workers <= 1:
        yield None
        return
    import multiprocessing  # here: it imports socket, selectors and signal; `rag ask` needs none

    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    _base_dictionary()  # inherited by forked workers instead of being rebuilt in each
    caller_froze = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        pool = ctx.Pool(workers)
    finally:
        # Unfreezing would also release objects the caller froze for its own reasons.
        if not caller_froze:
            gc.unfreeze()
    workers_pool = WorkerPool(pool, workers)
    try:
        yield workers_pool
    finally:
        workers_pool.close()


_worker_tokenizers: dict[_Config, Tokenizer] = {}


def _run_task(job: tuple[Callable[[Tokenizer, Sequence[str]], Any], _Config, Sequence[str]]) -> Any:
    work, config, texts = job
    tokenizer = _worker_tokenizers.get(config)
    if tokenizer is None:
        _worker_tokenizers.clear()  # one configuration at a time (terms, then tokens)
        tokenizer = _worker_tokenizers[config] = Tokenizer._from_config(config)
    return work(tokenizer, texts)


_QUOTED = re.compile(r"“([^“”]{2,10})”|「([^「」]{2,10})」|《([^《》]{2,10})》")
_TERM_CHARS = re.compile(r"[\u4e00-\u9fd5a-z0-9]+")


_Counts = tuple[
    "Counter[str]",
    "Counter[str]",
    "Counter[str]",
    "Counter[tuple[str, str]]",
    "Counter[tuple[str, str]]",
]


def _count_terms(tok: Tokenizer, texts: Sequence[str]) -> _Counts:
    """What :func:`discover_terms` counts: quoted phrases, single characters, runs of single
    characters, and lone characters on the left / right of a word."""
    stop = tok.stopwords
    jieba_tk = tok._jieba
    hmm = tok._hmm
    quoted: Counter[str] = Counter()
    singles: Counter[str] = Counter()  # single-character words, every occurrence
    runs: Counter[str] = Counter()  # maximal runs of 2+ single characters
    left: Counter[tuple[str, str]] = Counter()  # (word, char): lone char after a word
    right: Counter[tuple[str, str]] = Counter()  # (char, word): lone char before a word
    for raw in texts:
        text = normalize(raw)
        tok._prime(text)
        for match in _QUOTED.finditer(text):
            phrase = next(g for g in match.groups() if g is not None)
            if _TERM_CHARS.fullmatch(phrase):
                quoted[phrase] += 1
        # Chinese words between punctuation, digits and Latin; stopwords break groups too.
        group: list[str] = []
        for word in [*jieba_tk.cut(text, HMM=hmm), ""]:
            if word and word not in stop and _HAN_ONLY.fullmatch(word):
                group.append(word)
                continue
            _count_group(group, singles, runs, left, right)
            group = []
    return quoted, singles, runs, left, right


def _count_group(
    group: list[str],
    singles: Counter[str],
    runs: Counter[str],
    left: Counter[tuple[str, str]],
    right: Counter[tuple[str, str]],
) -> None:
    """Count single characters, runs of them, and lone characters next to a word."""
    n = len(group)
    i = 0
    while i < n:
        if len(group[i]) > 1:
            i += 1
            continue
        j = i
        while j < n and len(group[j]) == 1:
            singles[group[j]] += 1
            j += 1
        if j - i > 1:
            runs["".join(group[i:j])] += 1
        else:
            char = group[i]
            if i > 0:
                left[group[i - 1], char] += 1
            if j < n:
                right[char, group[j]] += 1
        i = j


def discover_terms(
    texts: Iterable[str],
    max_terms: int = 2000,
    *,
    min_count: int = 3,
    min_share: float = 0.8,
    max_chars: int = 10_000_000,
    tokenizer: Tokenizer | None = None,
    pool: WorkerPool | None = None,
) -> list[str]:
    """Find the documents' own key terms that jieba splits, to add as user terms.

    Two conservative sources:

    * quoted phrases (“…”, 「…」, 《…》) of 2–10 letters, digits or ideographs, with no
      punctuation inside, that jieba splits into several words;
    * collocations that jieba leaves as single characters, occurring at least
      ``min_count`` times: a run of single characters that holds at least ``min_share``
      of the occurrences of one of its characters (``张`` + ``江`` → ``张江``), or a lone
      character that at least ``min_share`` of the time sits on the same side of the same
      word (``软`` + ``实力`` → ``软实力``; when it sits as often on both sides, as in
      ``鲈形目 鲈 亚目``, it is ambiguous and skipped). Stopwords are never part of a term.

    The result is deterministic: terms are ordered by frequency, then by the term itself.

    Args:
        texts: The corpus (documents or passages).
        max_terms: At most this many terms are returned.
        min_count: A collocation must occur at least this many times.
        min_share: Share of the single character's occurrences the pair must account for.
        max_chars: Read at most about this many characters: beyond that, both quoted
            phrases and collocations come from an evenly spread, deterministic sample of the
            texts (every n-th text), so the cost stays ~20 s of one core whatever the corpus
            size (10^6 passages, 154 M characters: 25 s instead of ~70 s); smaller corpora are
            read whole.
        tokenizer: Supplies jieba and stopwords (a default :class:`Tokenizer` otherwise).
        pool: Worker processes (:func:`worker_pool`) to count in; the counts are summed, so
            the result is the same as counting in this process.

    Returns:
        Normalised terms, most frequent first.

    Example:
        >>> discover_terms(["提升城市软实力。", "软实力是关键。", "软实力很重要。"])
        ['软实力']
    """
    tok = tokenizer if tokenizer is not None else Tokenizer(stopwords=None)
    # Only references are kept: normalised copies of a large corpus would double its memory.
    corpus = list(texts)
    if not corpus:
        return []
    total_chars = sum(len(raw) for raw in corpus)
    stride = max(1, -(-total_chars // max(1, max_chars)))

    counts = count_terms(corpus[::stride], tokenizer=tok, pool=pool)
    return terms_from_counts(
        counts, tokenizer=tok, max_terms=max_terms, min_count=min_count, min_share=min_share
    )


def count_terms(
    texts: Sequence[str], *, tokenizer: Tokenizer | None = None, pool: WorkerPool | None = None
) -> _Counts:
    """What :func:`discover_terms` counts, for ``texts`` read whole (no sampling).

    Counts add up: the counts of a corpus are the sums of the counts of its parts, which is
    how an incremental build counts only the files that changed.
    """
    tok = tokenizer if tokenizer is not None else Tokenizer(stopwords=None)
    sample = list(texts)
    if pool is not None and pool.workers > 1 and len(sample) >= _MIN_PARALLEL_TEXTS:
        size = -(-len(sample) // (pool.workers * 4))
        config = tok._config()
        tasks: list[tuple[_Config, Sequence[str]]] = [
            (config, sample[i : i + size]) for i in range(0, len(sample), size)
        ]
        parts = pool.map(tasks, _count_terms)
        return add_counts(parts)
    return _count_terms(tok, sample)


def add_counts(parts: Sequence[_Counts]) -> _Counts:
    """The sum of several :func:`count_terms` results (a new object)."""
    quoted: Counter[str] = Counter()
    singles: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    left: Counter[tuple[str, str]] = Counter()
    right: Counter[tuple[str, str]] = Counter()
    for q, s1, r, lt, rt in parts:
        quoted.update(q)
        singles.update(s1)
        runs.update(r)
        left.update(lt)
        right.update(rt)
    return quoted, singles, runs, left, right


def terms_from_counts(
    counts: _Counts,
    *,
    tokenizer: Tokenizer | None = None,
    max_terms: int = 2000,
    min_count: int = 3,
    min_share: float = 0.8,
) -> list[str]:
    """The key terms of :func:`discover_terms` from summed :func:`count_terms` counts."""
    tok = tokenizer if tokenizer is not None else Tokenizer(stopwords=None)
    quoted, singles, runs, left, right = counts
    jieba_tk = tok._jieba
    hmm = tok._hmm
    candidates: dict[str, int] = {}

    def offer(term: str, count: int) -> None:
        if 2 <= len(term) <= 6 and count >= min_count:
            candidates[term] = max(candidates.get(term, 0), count)

    for run, count in runs.items():
        # 张 江 → 张江: accepted when the run holds most occurrences of one of its characters.
        if any(count >= min_share * singles[c] for c in set(run)):
            offer(run, count)
    best_left: dict[str, tuple[int, str]] = {}
    best_right: dict[str, tuple[int, str]] = {}
    for (word, char), count in left.items():
        best_left[char] = max(best_left.get(char, (0, "")), (count, word))
    for (char, word), count in right.items():
        best_right[char] = max(best_right.get(char, (0, "")), (count, word))
    for char in best_left.keys() | best_right.keys():
        # 软 实力 → 软实力: the lone character nearly always sits on one side of one word.
        lcount, lword = best_left.get(char, (0, ""))
        rcount, rword = best_right.get(char, (0, ""))
        lok = lcount >= min_share * singles[char]
        rok = rcount >= min_share * singles[char]
        if lok and not rok:
            offer(lword + char, lcount)
        elif rok and not lok:
            offer(char + rword, rcount)
        # Both sides (鲈形目 鲈 亚目): ambiguous, so neither.
    for phrase, count in quoted.items():
        tok._prime(phrase)
        if len(jieba_tk.lcut(phrase, HMM=hmm)) > 1:
            candidates[phrase] = max(candidates.get(phrase, 0), count)

    ranked = sorted(candidates.items(), key=lambda item: (-item[1], item[0]))
    return [term for term, _ in ranked[: max(0, max_terms)]]
