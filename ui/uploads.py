"""Documents added and removed from the page: files saved in ``source/``, a background build.

A file is checked before anything is written (name, format, size, content), saved under a
temporary name and renamed into place, so ``source/`` never holds half a file. A build then
runs in a background thread while the current index keeps answering; when it is done the
chat switches to the new generation (``ChatService.refresh``). A build that fails leaves
the index as it was; if the file just added is what broke it, that file is taken out again
and the message says why. Uploads while a build runs are picked up by one more build.

Example:
    >>> library = Library(settings, on_built=service.refresh)
    >>> library.add("通知.txt", "关于……的通知\\n\\n一、……".encode())
    >>> library.status().state
    'running'
"""

from __future__ import annotations

import logging
import os
import threading
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rag

if TYPE_CHECKING:
    from rag import Document, Settings

log = logging.getLogger(__name__)

ACCEPTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".docx", ".pdf", ".jsonl")
# The default upload cap (Settings.max_upload_mb, RAG_MAX_UPLOAD_MB, sets it per server).
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 120
# Build log message prefixes -> (share of the work done, what the reader sees).
_STAGES = (
    ("parsing", 0.1, "正在读取文件…"),
    ("parsed", 0.25, "文件已读取，正在切分段落…"),
    ("tokenizing", 0.35, "正在分词…"),
    ("embedding", 0.5, "正在计算向量…"),
    ("writing", 0.8, "正在写入新索引…"),
    ("verifying", 0.9, "正在校验新索引…"),
    ("switching", 0.95, "正在切换到新索引…"),
)
_TEXT_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")


class UploadError(Exception):
    """A file that cannot be added or removed; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class BuildStatus:
    """The background build as the page shows it.

    Attributes:
        state: ``idle``, ``running``, ``done`` or ``failed``.
        message: What happens or happened, in Chinese.
        progress: 0..1.
        started_at: Unix time the build started.
        finished_at: Unix time it ended.
        build_id: Id of the generation it produced.
    """

    state: str = "idle"
    message: str = ""
    progress: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    build_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_name(name: str) -> str:
    """The file name if it may be saved in ``source/``, else :class:`UploadError`.

    A name is one path component (no folders, no ``..``, not hidden), of printable
    characters, with one of :data:`ACCEPTED_SUFFIXES`.
    """
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise UploadError("文件名不能为空")
    if len(name) > MAX_NAME_CHARS:
        raise UploadError(f"文件名太长（最多 {MAX_NAME_CHARS} 个字符）")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise UploadError("文件名不能包含路径，也不能以“.”开头")
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        raise UploadError("文件名含有不可见字符")
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise UploadError(
            "不支持这种文件格式；可以上传：" + " ".join(ACCEPTED_SUFFIXES), status=415
        )
    return name


def too_large(max_bytes: int) -> str:
    """The message for a file over the cap (user-facing Chinese)."""
    return f"文件太大：最多 {max_bytes / 2**20:g} MB（服务器设置 RAG_MAX_UPLOAD_MB）"


def check_content(name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
    """Refuse content that does not fit the suffix or is over ``max_bytes``
    (:class:`UploadError`)."""
    if not data:
        raise UploadError("文件是空的")
    if len(data) > max_bytes:
        raise UploadError(too_large(max_bytes), status=413)
    suffix = name.lower().rsplit(".", 1)[-1]
    if suffix == "pdf" and not data.startswith(b"%PDF-"):
        raise UploadError("这不是 PDF 文件（文件头不是 %PDF-）", status=415)
    if suffix == "docx" and not data.startswith(b"PK\x03\x04"):
        raise UploadError("这不是 Word（.docx）文件", status=415)
    if f".{suffix}" in _TEXT_SUFFIXES:
        if b"\x00" in data[:65536]:
            raise UploadError("这不是文本文件（含有二进制内容）", status=415)
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise UploadError("无法识别文件的编码（请保存为 UTF-8）", status=415)


class Library:
    """The source folder as the page edits it, and the build that follows each change.

    Args:
        settings: Source and index directories (and the build settings).
        model: Embedding model of the builds (the serving index's, so that it keeps fitting).
        on_built: Called after a build switched the index (the chat loads the new one).
        documents: The documents now served (to tell whether an added file was read).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None = None,
        on_built: Callable[[], Any] | None = None,
        documents: Callable[[], Mapping[str, Document]] | None = None,
    ) -> None:
        self.settings = settings
        self.max_bytes = int(getattr(settings, "max_upload_bytes", MAX_UPLOAD_BYTES))
        self.model = model or "none"
        self.on_built = on_built
        self.documents = documents
        self._lock = threading.Lock()
        self._status = BuildStatus()
        self._pending = False
        self._added: set[str] = set()
        self._thread: threading.Thread | None = None

    @property
    def source(self) -> Path:
        return Path(self.settings.source)

    def _path(self, name: str) -> Path:
        root = self.source.resolve()
        path = (root / name).resolve()
        if path.parent != root:
            raise UploadError("文件只能放在文件夹 source/ 中", status=403)
        return path

    def add(self, name: str, data: bytes) -> str:
        """Check and save ``data`` as ``source/name``, then start a build.

        Returns:
            The saved name.

        Raises:
            UploadError: The name, the format or the content is refused, or a file of that
                name exists already (status 409).
        """
        name = check_name(name)
        check_content(name, data, self.max_bytes)
        path = self._path(name)
        if path.exists():
            raise UploadError(f"已有同名文件：{name}（请先删除或改名）", status=409)
        self.source.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".upload-{os.getpid()}-{threading.get_ident()}-{name}")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        log.info("document added: %s (%d bytes)", name, len(data))
        with self._lock:
            self._added.add(name)
        self.start_build()
        return name

    def remove(self, name: str) -> None:
        """Delete ``source/name`` and start a build.

        Raises:
            UploadError: No such file (404), or the name is not a plain file name.
        """
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise UploadError("文件名不能包含路径", status=400)
        path = self._path(name)
        if not path.is_file():
            raise UploadError(f"没有这个文件：{name}", status=404)
        path.unlink()
        log.info("document removed: %s", name)
        self.start_build()

    def status(self) -> BuildStatus:
        """The current or last build."""
        with self._lock:
            return self._status

    def wait(self, timeout: float | None = None) -> BuildStatus:
        """Wait for the running build (tests, scripts) and return its status."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def start_build(self) -> None:
        """Build in the background (once more after the running one, if one runs)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._pending = True
                return
            self._status = BuildStatus("running", "正在准备建索引…", 0.02, time.time())
            self._thread = threading.Thread(target=self._run, name="rag-build", daemon=True)
            self._thread.start()

    def _say(self, message: str) -> None:
        log.info("build: %s", message)
        for prefix, share, text in _STAGES:
            if message.startswith(prefix):
                with self._lock:
                    self._status = BuildStatus(
                        "running", text, share, self._status.started_at, None
                    )
                return

    def _run(self) -> None:
        while True:
            with self._lock:
                self._pending = False
                added = set(self._added)
                self._added.clear()
            self._build_once(added)
            with self._lock:
                if not self._pending:
                    return
                self._status = BuildStatus("running", "正在准备建索引…", 0.02, time.time())

    def _build_once(self, added: set[str]) -> None:
        started = self.status().started_at or time.time()
        try:
            report = rag.build_index(
                self.source,
                self.settings.index,
                settings=self.settings,
                model=self.model,
                workers=1,
                log=self._say,
            )
        except rag.SourceError as exc:
            dropped = [n for n in sorted(added) if n in str(exc)]
            for name in dropped:
                (self.source / name).unlink(missing_ok=True)
            note = f"已移除无法读取的文件：{'、'.join(dropped)}。" if dropped else ""
            self._fail(started, f"建索引失败，原索引照常使用。{note}原因：{exc}")
            return
        except Exception as exc:  # the old index keeps serving; say what happened
            log.exception("background build failed")
            self._fail(started, f"建索引失败，原索引照常使用。原因：{exc}")
            return
        if self.on_built is not None:
            try:
                self.on_built()
            except Exception:
                log.exception("switching to the new index failed")
        build_id = str(getattr(report, "build_id", "") or "")
        message = "新索引已启用。"
        unread = [n for n in sorted(added) if not self._indexed(n)]
        if unread:
            message += f"注意：{'、'.join(unread)} 中没有读出正文（这种格式可能还不支持）。"
        with self._lock:
            self._status = BuildStatus("done", message, 1.0, started, time.time(), build_id)

    def _indexed(self, name: str) -> bool:
        if self.documents is None:
            return True  # cannot tell; do not claim otherwise
        return any(
            d.source == name or d.source.startswith(name + "#") for d in self.documents().values()
        )

    def _fail(self, started: float, message: str) -> None:
        with self._lock:
            self._status = BuildStatus("failed", message, 1.0, started, time.time())


__all__ = [
    "ACCEPTED_SUFFIXES",
    "MAX_UPLOAD_BYTES",
    "BuildStatus",
    "Library",
    "UploadError",
    "check_content",
    "check_name",
    "too_large",
]
