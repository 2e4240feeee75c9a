"""``rag doctor``: check the installation offline and say how to fix what is wrong.

Nothing here contacts the network (the model hub is looked up in the local cache only) or
writes anything; torch is not imported (versions come from package metadata).

Example:
    >>> report = diagnose(Settings.load())
    >>> print(report.format())
    >>> report.ok
    True
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from . import integrity, store
from .errors import RagError
from .settings import Settings

# Distribution names: (name, required, what is lost without it).
PACKAGES: tuple[tuple[str, bool, str], ...] = (
    ("rag-zh-docs", False, "running from a source tree"),
    ("jieba", True, "tokenization"),
    ("bm25s", True, "the keyword index"),
    ("numpy", True, "every index"),
    ("scipy", True, "the keyword index"),
    ("opencc", True, "traditional → simplified folding"),
    ("faiss-cpu", True, "the vector index"),
    ("huggingface-hub", False, "finding models in the Hugging Face cache"),
    ("sentence-transformers", False, "dense retrieval (keyword search still works)"),
    ("torch", False, "dense retrieval (keyword search still works)"),
    ("gradio", False, "`rag serve` (the web chat)"),
)
_PROBE_QUESTION = "上海的城市精神是什么？"
_PROBE_TOKENS = ["上海", "城市", "精神"]


class Status(StrEnum):
    """Outcome of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Check:
    """One finding.

    Attributes:
        name: What was checked (``python``, ``index`` …).
        status: ok, warn (works, but worth knowing) or FAIL (something is wrong).
        detail: What was found.
        fix: What to do about it (empty when nothing needs doing).
    """

    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    """Every check, in the order run."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(c.status is not Status.FAIL for c in self.checks)

    @property
    def problems(self) -> tuple[Check, ...]:
        """The failed checks."""
        return tuple(c for c in self.checks if c.status is Status.FAIL)

    def format(self) -> str:
        """A readable report: one block per check, the fix under each problem."""
        lines = ["rag doctor: checking the installation (offline, nothing is changed)"]
        for c in self.checks:
            head = f"  {c.status.value:<5} {c.name:<9} "
            detail = c.detail.splitlines() or [""]
            lines.append(head + detail[0])
            lines.extend(" " * len(head) + more for more in detail[1:])
            if c.fix:
                lines.append(" " * len(head) + f"fix: {c.fix}")
        n = len(self.problems)
        lines.append("no problems found" if n == 0 else f"{n} problem(s) found")
        return "\n".join(lines)


def diagnose(settings: Settings) -> Report:
    """Run every check for ``settings`` (index, source and model from there).

    Args:
        settings: What ``rag build`` / ``rag serve`` would use.

    Returns:
        The report; ``report.ok`` is False when something must be fixed.
    """
    checks = [_python(), _packages(), _jieba()]
    generation, manifest, index_checks = _index(settings.index)
    checks.extend(index_checks)
    checks.append(_model(settings, manifest))
    if generation is not None and manifest is not None:
        checks.append(_staleness(settings, manifest))
        if not any(c.name == "index" and c.status is Status.FAIL for c in checks):
            checks.append(_backend(settings, generation))
    checks.append(_lock(settings.index))
    return Report(tuple(checks))


def _backend(settings: Settings, generation: Path) -> Check:
    """The search backend: reachable, its collection complete, the alias on it."""
    if settings.backend == "local":
        return Check("backend", Status.OK, "local: BM25 arrays and FAISS in the index directory")
    from .backends import open_backend

    fix = "start Milvus or fix RAG_MILVUS_URI, then `rag build --force --backend milvus`"
    try:
        backend = open_backend(settings, store.load_generation(generation))
    except RagError as exc:
        return Check("backend", Status.FAIL, str(exc), fix)
    try:
        problems = backend.problems()
    finally:
        close = getattr(backend, "close", None)
        if close is not None:
            close()
    if problems:
        return Check("backend", Status.FAIL, f"milvus at {settings.milvus_target}: "
                     + "; ".join(problems), fix)  # fmt: skip
    name = getattr(backend, "collection", "?")
    return Check(
        "backend",
        Status.OK,
        f"milvus at {settings.milvus_target}: collection {name} reachable, alias "
        f"{settings.milvus_alias} on it, passage count matches the manifest",
    )


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", Status.OK, f"{version} ({sys.executable})")


def _packages() -> Check:
    found: list[str] = []
    missing_required: list[str] = []
    missing_optional: list[str] = []
    for name, required, role in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            (missing_required if required else missing_optional).append(f"{name} ({role})")
    detail = ", ".join(found)
    if missing_required:
        return Check(
            "packages",
            Status.FAIL,
            f"{detail}\nmissing: {', '.join(missing_required)}",
            "reinstall: `pip install -e .` in the project directory (or `make serve`)",
        )
    if missing_optional:
        return Check(
            "packages", Status.WARN, f"{detail}\nnot installed: {', '.join(missing_optional)}"
        )
    return Check("packages", Status.OK, detail)


def _jieba() -> Check:
    try:
        import jieba

        dictionary = Path(jieba.__file__).parent / "dict.txt"
        if not dictionary.is_file():
            return Check(
                "jieba",
                Status.FAIL,
                f"dictionary {dictionary} is missing",
                "reinstall jieba: `pip install --force-reinstall jieba`",
            )
        from .tokenization import Tokenizer

        started = time.perf_counter()
        tokens = Tokenizer().tokenize(_PROBE_QUESTION)
        seconds = time.perf_counter() - started
    except Exception as exc:  # a broken install can fail in many ways; report, never crash
        return Check(
            "jieba",
            Status.FAIL,
            f"the tokenizer cannot be loaded ({type(exc).__name__}: {exc})",
            "reinstall: `pip install --force-reinstall jieba` and `pip install -e .`",
        )
    detail = f"dictionary {dictionary} loads in {seconds:.1f} s"
    if tokens != _PROBE_TOKENS:
        return Check(
            "jieba",
            Status.FAIL,
            f"{detail}, but {_PROBE_QUESTION} gives {tokens}, expected {_PROBE_TOKENS}",
            "reinstall jieba and this package; a changed dictionary needs `rag build --force`",
        )
    return Check("jieba", Status.OK, detail)


def _index(index: Path) -> tuple[Path | None, dict[str, Any] | None, list[Check]]:
    """The serving generation, its manifest (when readable) and the index checks."""
    checks: list[Check] = []
    try:
        generation = store.current_generation(index)
    except RagError as exc:
        return None, None, [Check("index", Status.FAIL, str(exc), "run `rag build --force`")]
    if generation is None:
        return (
            None,
            None,
            [
                Check(
                    "index",
                    Status.FAIL,
                    f"no index in {index}",
                    f"build it: `rag build --index {index}`",
                )
            ],
        )
    manifest: dict[str, Any] | None = None
    try:
        manifest = store.read_manifest(generation)
        loaded = store.load_generation(generation)  # checksums, then counts, as a reader would
    except RagError as exc:
        checks.append(Check("index", Status.FAIL, str(exc), "run `rag build --force`"))
        return generation, manifest, checks
    info = loaded.info
    size = sum(p.stat().st_size for p in generation.rglob("*") if p.is_file())
    model = info.model or "none (keyword search only)"
    checks.append(
        Check(
            "index",
            Status.OK,
            f"{generation}: build {info.build_id} of {info.built_at}, {info.documents} "
            f"documents, {info.chunks} passages, model {model}, {size / 1024:.0f} KiB; "
            f"every file matches its checksum; {_signature(loaded.manifest)}",
        )
    )
    if integrity.is_signed(loaded.manifest) and integrity.index_key() is None:
        checks.append(
            Check(
                "signature",
                Status.WARN,
                f"the index is signed, but {integrity.KEY_ENV} is not set here: a forged index "
                "would not be noticed",
                f"set {integrity.KEY_ENV} to the key the index was built with",
            )
        )
    if not os.access(index, os.W_OK):
        checks.append(
            Check(
                "writable",
                Status.WARN,
                f"{index} is not writable: `rag build` will refuse to start",
                "fix its permissions or build into another directory with --index",
            )
        )
    debris = sorted(p.name for p in index.glob(".tmp-*"))
    if debris:
        checks.append(
            Check(
                "leftovers",
                Status.WARN,
                f"left behind by interrupted builds: {', '.join(debris)}",
                "harmless; the next `rag build` removes them",
            )
        )
    return generation, manifest, checks


def _signature(manifest: dict[str, Any]) -> str:
    if integrity.index_key() is not None:
        return f"its signature matches {integrity.KEY_ENV}"
    return "signed (not checked)" if integrity.is_signed(manifest) else "not signed"


def _model(settings: Settings, manifest: dict[str, Any] | None) -> Check:
    built_with = manifest["dense"]["model"] if manifest is not None else None
    if not settings.dense_enabled:
        return Check("model", Status.OK, "dense retrieval turned off (model: none); keyword search")
    name = settings.model
    if built_with is not None and built_with != name:
        return Check(
            "model",
            Status.FAIL,
            f"the index was built with model {built_with!r} but {name!r} is configured; "
            "loading it will be refused",
            f"run `rag build --force` or set RAG_MODEL={built_with}",
        )
    where = _model_location(name)
    if where is not None:
        note = "" if built_with else " (the index holds no vectors: `rag build --force` adds them)"
        return Check("model", Status.OK, f"{name}: {where}{note}")
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}
    tail = (
        "HF_HUB_OFFLINE is set, so a build would not try the hub"
        if offline
        else f"a build would try {endpoint} (not contacted by doctor)"
    )
    fix = (
        "supply it as a local directory (`--model /path` or RAG_MODEL=/path), in a pre-filled "
        "Hugging Face cache (HF_HOME=/path), or through a mirror (HF_ENDPOINT=https://…); "
        "or use `--model none` on purpose"
    )
    status = Status.FAIL if built_with is not None or settings.require_dense else Status.WARN
    fallback = (
        "answers fall back to keyword search only"
        if built_with is not None
        else "builds fall back to keyword search only"
    )
    return Check("model", status, f"{name} is not available offline; {tail}; {fallback}", fix)


def _model_location(name: str) -> str | None:
    """Where the model would be loaded from without the network, or None."""
    from .embedding import _from_cache, _hub_cache, _is_model_dir

    local = Path(name).expanduser()
    if local.is_dir():
        return f"local directory {local.resolve()}" if _is_model_dir(local) else None
    if name.startswith(("/", "./", "../", "~")) or name.count("/") > 1:
        return None
    try:
        cached = _from_cache(name, _hub_cache())
    except Exception:  # huggingface_hub missing or broken: treat as not cached
        return None
    return f"Hugging Face cache {cached}" if cached else None


def _staleness(settings: Settings, manifest: dict[str, Any]) -> Check:
    from .build import _fingerprint
    from .sources import scan_sources

    try:
        scan = scan_sources(settings.source)
    except RagError as exc:
        return Check("sources", Status.FAIL, str(exc), "fix the source files, then `rag build`")
    current = {f.rel: f.sha256 for f in scan.files}
    built: dict[str, str] = manifest["sources"]
    added = sorted(set(current) - set(built))
    removed = sorted(set(built) - set(current))
    changed = sorted(r for r in set(current) & set(built) if current[r] != built[r])
    if added or removed or changed:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (("added", added), ("removed", removed), ("changed", changed))
            if names
        ]
        return Check(
            "sources",
            Status.FAIL,
            f"the index is stale against {settings.source}; " + "; ".join(parts),
            "run `rag build` (a running `rag serve` picks the new index up by itself)",
        )
    if manifest.get("fingerprint") != _fingerprint(settings, current):
        built = manifest["settings"]
        differ = [
            f"{key} {built.get(key)!r} -> {getattr(settings, key)!r}"
            for key in ("chunk_size", "chunk_overlap", "ann_threshold")
            if built.get(key) != getattr(settings, key)
        ]
        model = settings.model if settings.dense_enabled else "none"
        what = ", ".join(differ) or (
            f"the configured model ({model}) or this program's version differs from the build's"
        )
        return Check(
            "sources",
            Status.FAIL,
            f"{len(current)} source file(s) unchanged, but the settings changed since the "
            f"build: {what}",
            "run `rag build` (or use the settings the index was built with)",
        )
    return Check(
        "sources",
        Status.OK,
        f"{len(current)} file(s) in {settings.source} match the index"
        + (f"; {len(scan.warnings)} skipped (see `rag build`)" if scan.warnings else ""),
    )


def _lock(index: Path) -> Check:
    try:
        holder = store.lock_holder(index)
    except OSError as exc:
        return Check("lock", Status.WARN, f"cannot check the build lock ({exc.strerror})")
    if holder is not None:
        return Check("lock", Status.WARN, f"a build is running ({holder})", "wait for it")
    return Check("lock", Status.OK, "no build running")


__all__ = ["Check", "Report", "Status", "diagnose"]
