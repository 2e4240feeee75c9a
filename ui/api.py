"""The JSON API beside the chat page: ``/api/answer``, ``/api/search``, ``/api/documents``.

The routes form a small FastAPI app (:func:`create_api`) that ``ui/server.py`` mounts at
``/api`` as the first route of Gradio's app, before it listens, so the server's access
middleware (login, host and origin checks, body cap)
covers them like the page. A question is answered by a plain route, directly on the server's
event loop, without Gradio's queue or a thread hand-off: the engine needs under a millisecond
per question and the queue's bookkeeping would cost a thousand times more.

Routes:
    ``POST /api/answer``  ``{"question", "history", "k", "mode", "scope"}`` -> ``Answer.to_dict()``
    ``POST /api/search``  ``{"question", "k", "mode", "scope"}`` -> list of ``Hit.to_dict()``

``scope`` is ``{"documents": [ids], "kinds": ["law", "决议"…]}``: only those documents and
kinds are searched (filtered before ranking); an unknown document or kind is a 400 whose
``detail`` says which and what is allowed.
    ``GET /api/documents`` -> the indexed documents (title, kind, date, size) and the build
    ``PUT /api/documents/{name}`` (raw file bytes) -> saved in ``source/``, a build started
    ``DELETE /api/documents/{name}`` -> the file removed from ``source/``, a build started
    ``GET /api/build`` -> the state of the background build
    ``GET /api/openapi.json`` -> the OpenAPI schema

Example:
    >>> import httpx
    >>> httpx.post(url + "api/answer", json={"question": "上海的城市精神是什么？"}).json()["found"]
    True
"""

from __future__ import annotations

import logging
import threading
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

import rag
from rag.questions import MAX_HISTORY
from rag.schema import KIND_LABELS

from .uploads import UploadError, too_large

if TYPE_CHECKING:
    from .app import ChatService

log = logging.getLogger(__name__)

MAX_K = 20
MAX_QUESTION_CHARS = 20_000
MAX_SCOPE = 1000
# How often a request may look for a newly built index (a file read) at most.
REFRESH_INTERVAL_S = 1.0


class Mode(StrEnum):
    """Retrieval mode."""

    hybrid = "hybrid"
    lexical = "lexical"
    dense = "dense"


_KINDS = "、".join(f"{k}（{label}）" for k, label in KIND_LABELS.items())


class ScopeModel(BaseModel):
    """Only these documents and/or kinds (a passage is in scope when its document is listed
    or is of a listed kind). A scope the question states itself (只在《劳动合同法》中…) takes
    its place."""

    model_config = ConfigDict(extra="forbid")

    documents: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=1000)]],
        Field(
            max_length=MAX_SCOPE, description="文件 id（见 GET /api/documents），或文件的完整标题"
        ),
    ] = []
    kinds: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]],
        Field(max_length=MAX_SCOPE, description=f"文件类别，英文键或中文名：{_KINDS}"),
    ] = []


class SearchRequest(BaseModel):
    """A question to search for."""

    model_config = ConfigDict(extra="forbid")

    question: Annotated[str, Field(max_length=MAX_QUESTION_CHARS, description="问题")]
    k: Annotated[int | None, Field(ge=1, le=MAX_K, description="返回的段落数")] = None
    mode: Mode | None = None
    scope: Annotated[
        ScopeModel | None,
        Field(description="只在这些文件或这些类别中检索（未知的文件或类别返回 400）"),
    ] = None


class AnswerRequest(SearchRequest):
    """A question to answer, with the earlier questions of the conversation."""

    history: Annotated[
        list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]],
        Field(max_length=MAX_HISTORY, description="此前的提问，从早到晚"),
    ] = []


class HitModel(BaseModel):
    """A ranked passage (``Hit.to_dict()``)."""

    doc_id: str
    doc_title: str
    section: list[str]
    paragraph: int
    text: str
    score: float
    start: int
    end: int
    chunk_id: str
    citation: str


class QuoteModel(BaseModel):
    """A verbatim quote (``Quote.to_dict()``)."""

    text: str
    doc_id: str
    doc_title: str
    section: list[str]
    paragraph: int
    start: int
    end: int
    citation: str
    doc_kind: str
    score: float


class AnsweredScopeModel(BaseModel):
    """Where the answer looked (``Scope.to_dict()``)."""

    documents: list[str]
    kinds: list[str]
    label: str
    stated: bool = Field(description="true：范围出自问题本身（只在《…》中）")
    inherited: bool = Field(
        False, description="true：追问沿用前面问题中指定的范围（stated 也为 true）"
    )


class AnswerModel(BaseModel):
    """The answer (``Answer.to_dict()``)."""

    question: str
    found: bool
    quotes: list[QuoteModel]
    markdown: str
    hits: list[HitModel]
    build_id: str
    source_hashes: dict[str, str]
    resolved_question: str
    notes: list[str]
    confidence: float
    scope: AnsweredScopeModel | None


class DocumentModel(BaseModel):
    """One indexed document."""

    doc_id: str
    title: str
    kind: str
    kind_label: str
    date: str
    chars: int
    source: str


class BuildModel(BaseModel):
    """The background build."""

    state: str
    message: str
    progress: float
    started_at: float | None
    finished_at: float | None
    build_id: str


class DocumentsModel(BaseModel):
    """The documents and the build state."""

    documents: list[DocumentModel]
    build: BuildModel
    uploads_allowed: bool
    max_upload_bytes: int


class ErrorModel(BaseModel):
    """What was wrong."""

    detail: str


class JSONBytes(Response):
    """JSON rendered by orjson, which serialises the frozen records (dataclasses) itself: the
    same document as ``Answer.to_dict()`` in 5 µs instead of 430 µs (``dataclasses.asdict``
    deep-copies every field)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorModel},
    403: {"model": ErrorModel},
    413: {"model": ErrorModel},
    422: {"description": "请求格式不对"},
    503: {"model": ErrorModel},
}


def create_api(service: ChatService, *, uploads_allowed: bool) -> FastAPI:
    """The API app for ``service`` (mount it with :func:`mount`).

    Args:
        service: The page's service (the same assistant and index answer both).
        uploads_allowed: Whether documents may be added and removed (the server allows it on
            loopback or behind a login only).
    """
    api = FastAPI(
        title="文件问答 API",
        version=rag.__version__,
        description="按文件原文回答问题：每条引文逐字摘录并注明出处。",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    assistant = service.assistant
    checked = [0.0]

    def refresh() -> None:
        # Answers are computed on the event loop (they take under a millisecond); loading a
        # new generation takes seconds, so it is looked for in a thread of its own, at most
        # once a REFRESH_INTERVAL_S, and requests keep answering from the current one.
        now = time.monotonic()
        if now - checked[0] >= REFRESH_INTERVAL_S:
            checked[0] = now
            threading.Thread(target=service.refresh, name="rag-refresh", daemon=True).start()

    def mode_of(mode: Mode | None) -> str | None:
        if not assistant.has_dense:
            return "lexical"
        return mode.value if mode is not None else None

    def scope_of(scope: ScopeModel | None) -> dict[str, list[str]] | None:
        if scope is None:
            return None
        return {"documents": scope.documents, "kinds": scope.kinds}

    @api.post(
        "/answer",
        response_class=JSONBytes,
        responses={200: {"model": AnswerModel}, **_ERRORS},
        summary="回答一个问题",
    )
    async def answer(body: AnswerRequest) -> Any:
        refresh()
        try:
            result = assistant.answer(
                body.question,
                history=body.history[-MAX_HISTORY:] or None,
                k=body.k,
                mode=mode_of(body.mode),
                scope=scope_of(body.scope),
            )
        except rag.RagError as exc:
            raise HTTPException(400, str(exc)) from exc
        return JSONBytes(result)

    @api.post(
        "/search",
        response_class=JSONBytes,
        responses={200: {"model": list[HitModel]}, **_ERRORS},
        summary="检索相关段落",
    )
    async def search(body: SearchRequest) -> Any:
        refresh()
        try:
            hits = assistant.search(
                body.question, k=body.k, mode=mode_of(body.mode), scope=scope_of(body.scope)
            )
        except rag.RagError as exc:
            raise HTTPException(400, str(exc)) from exc
        return JSONBytes(hits)

    def documents_reply() -> dict[str, Any]:
        return {
            "documents": service.document_list(),
            "build": service.library.status().to_dict(),
            "uploads_allowed": uploads_allowed,
            "max_upload_bytes": service.library.max_bytes,
        }

    @api.get(
        "/documents",
        response_class=JSONBytes,
        responses={200: {"model": DocumentsModel}},
        summary="已收录的文件",
    )
    def documents() -> Any:
        refresh()
        return JSONBytes(documents_reply())

    @api.get(
        "/build",
        response_class=JSONBytes,
        responses={200: {"model": BuildModel}},
        summary="后台建索引的进度",
    )
    def build() -> Any:
        refresh()
        return JSONBytes(service.library.status().to_dict())

    def require_uploads() -> None:
        if not uploads_allowed:
            raise HTTPException(403, "服务器未设置登录，不能添加或删除文件（见 docs/SECURITY.md）")

    @api.put(
        "/documents/{name}",
        response_class=JSONBytes,
        responses={202: {"model": DocumentsModel}, **_ERRORS},
        status_code=202,
        summary="上传一个文件并重建索引",
    )
    async def upload(name: str, request: Request) -> Any:
        require_uploads()
        cap = service.library.max_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise HTTPException(413, too_large(cap))
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > cap:
                raise HTTPException(413, too_large(cap))
        try:
            service.library.add(name, bytes(data))
        except UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from exc
        return JSONBytes(documents_reply(), status_code=202)

    @api.delete(
        "/documents/{name}",
        response_class=JSONBytes,
        responses={202: {"model": DocumentsModel}, **_ERRORS},
        status_code=202,
        summary="删除一个文件并重建索引",
    )
    def remove(name: str) -> Any:
        require_uploads()
        try:
            service.library.remove(name)
        except UploadError as exc:
            raise HTTPException(exc.status, str(exc)) from exc
        return JSONBytes(documents_reply(), status_code=202)

    return api


__all__ = ["AnswerRequest", "SearchRequest", "create_api"]
