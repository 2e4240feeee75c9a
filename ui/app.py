"""The web chat: ``build_app(assistant)`` returns a ready ``gr.Blocks`` (not launched).

Layout: a header taken from the indexed documents and a status line; the chat with example
questions; on the right the sources of the last answer and the document view that a click on
any citation opens; settings (passages, retrieval mode, scores) in a collapsed accordion.

Programmatic access is one public endpoint, ``/ask``: question in, ``Answer.to_dict()`` out.
Every other event is private.

Example:
    >>> import rag
    >>> from ui.app import build_app, launch_options
    >>> demo = build_app(rag.load("index"))
    >>> demo.launch(server_name="127.0.0.1", **launch_options())
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gradio as gr

import rag

from . import render
from .assets import BRIDGE_JS, CSS, theme
from .examples import suggest_questions
from .feedback import FeedbackLog, answer_record, rating_of

if TYPE_CHECKING:
    from rag import Answer, Assistant, Document, IndexInfo, Settings

log = logging.getLogger(__name__)

HISTORY_TURNS = 6
MAX_K = 20
MODE_LABELS = {"hybrid": "混合检索", "lexical": "仅关键词检索", "dense": "仅向量检索"}
PLACEHOLDER = "请输入关于这些文件的问题。回答只摘录文件原文，并注明出处；点击出处可查看原文。"
INTERNAL_ERROR = "处理这个问题时出错了，请稍后再试或换一种问法。"
API_CONCURRENCY = 4


@dataclass
class Turn:
    """What one question changes on the page."""

    messages: list[dict[str, str]]
    questions: list[str]
    records: dict[int, dict[str, Any]]
    sources: str
    status: str
    last: tuple[Answer, list[str]] | None
    elapsed: float = 0.0


class ChatService:
    """The page's behaviour, independent of Gradio so that it can be tested directly.

    A new index generation is loaded by ``refresh()`` while other questions are being
    answered (``Assistant.refresh`` loads it aside and swaps it in at once), so a rebuild never
    stalls the chat. A turn reads the answer, the documents and the key terms in separate
    calls; it checks that the generation did not change meanwhile and otherwise answers again,
    so an answer and the documents used to render it always come from one generation.
    """

    def __init__(self, assistant: Assistant, settings: Settings | None = None) -> None:
        self.assistant = assistant
        self.settings = settings or assistant.settings
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()
        self.feedback_log = FeedbackLog(self.settings.feedback_path)

    # -- index state ------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Pick up a newly built index; failures keep the current one (and are logged).

        Never waits: loading a generation takes a second or more, and while one request
        loads it the others answer from the current generation instead of queueing behind it.
        """
        if not self._refreshing.acquire(blocking=False):
            return False
        try:
            return bool(self.assistant.refresh())
        except Exception:
            log.exception("index refresh failed; answering from the current index")
            return False
        finally:
            self._refreshing.release()

    @property
    def info(self) -> IndexInfo:
        return self.assistant.info

    def status(self) -> str:
        return render.status_line(self.info)

    def header(self) -> str:
        return render.header(self.assistant.documents)

    def mode_choices(self) -> tuple[list[tuple[str, str]], str, bool]:
        """Radio choices, the default value, and whether the user may change it."""
        if not self.info.has_vectors:
            return [(MODE_LABELS["lexical"], "lexical")], "lexical", False
        default = str(getattr(self.settings.mode, "value", self.settings.mode))
        choices = [(MODE_LABELS[m], m) for m in ("hybrid", "lexical", "dense")]
        return choices, default if default in MODE_LABELS else "hybrid", True

    def examples(self, n: int = 4) -> list[str]:
        """Example questions the current index can answer."""
        with self._lock:
            documents = self.assistant.documents
        return suggest_questions(documents, n=n, check=lambda q: self._answer(q).found)

    # -- answering --------------------------------------------------------------------------

    def _answer(
        self,
        question: str,
        history: list[str] | None = None,
        k: int | None = None,
        mode: str | None = None,
    ) -> Answer:
        with self._lock:
            return self.assistant.answer(question, history=history or None, k=k, mode=mode)

    def _mode(self, mode: str | None) -> str | None:
        if not self.info.has_vectors:
            return "lexical"
        return mode if mode in MODE_LABELS else None

    def ask(
        self,
        message: str,
        messages: list[dict[str, str]] | None = None,
        questions: list[str] | None = None,
        records: dict[int, dict[str, Any]] | None = None,
        k: float | None = None,
        mode: str | None = None,
        show_scores: bool = False,
    ) -> Turn:
        """Answer ``message`` as the next turn of a chat.

        Earlier user questions are passed as history so that follow-ups (那城市品格呢？)
        resolve. Library errors become a visible message in the chat, never an exception.
        """
        messages = list(messages or [])
        questions = list(questions or [])
        records = dict(records or {})
        question = (message or "").strip()
        started = time.perf_counter()
        self.refresh()
        last = None
        messages.append({"role": "user", "content": render.user_bubble(question)})
        try:
            kk = None if k is None else max(1, min(int(k), MAX_K))
            for _attempt in range(3):
                generation = self.info.build_id
                with self._lock:
                    answer = self.assistant.answer(
                        question,
                        history=questions[-HISTORY_TURNS:] or None,
                        k=kk,
                        mode=self._mode(mode),
                    )
                    documents = self.assistant.documents
                    terms = self._key_terms(answer)
                if self.info.build_id == generation:
                    break  # no new generation was swapped in while this turn read
            bubble = render.answer_bubble(answer, documents, show_scores=show_scores)
            sources = render.sources_panel(answer, documents, terms, show_scores=show_scores)
        except rag.RagError as exc:
            log.warning("question failed: %s", exc)
            bubble, sources = render.error_bubble(str(exc)), render.SOURCES_EMPTY
        except Exception:
            log.exception("question failed")
            bubble, sources = render.error_bubble(INTERNAL_ERROR), render.SOURCES_EMPTY
        else:
            questions.append(question)
            records[len(messages)] = answer_record(answer)
            last = (answer, terms)
        messages.append({"role": "assistant", "content": bubble})
        elapsed = time.perf_counter() - started
        log.debug("answered in %.3fs: %s", elapsed, question)
        return Turn(messages, questions, records, sources, self.status(), last, elapsed)

    def _key_terms(self, answer: Answer) -> list[str]:
        try:
            return list(self.assistant.key_terms(answer.resolved_question or answer.question))
        except Exception:
            log.exception("key_terms failed")
            return []

    def rerender_sources(self, last: tuple[Answer, list[str]] | None, show_scores: bool) -> str:
        if not last:
            return render.SOURCES_EMPTY
        answer, terms = last
        with self._lock:
            documents = self.assistant.documents
        return render.sources_panel(answer, documents, terms, show_scores=bool(show_scores))

    def open_citation(self, key: str) -> str:
        """The document view for a citation key ``{doc}:{start}:{end}``."""
        parsed = render.parse_cite_key(key or "")
        if parsed is None:
            return render.DOCUMENT_EMPTY
        doc_id, start, end = parsed
        with self._lock:
            documents: Mapping[str, Document] = self.assistant.documents
            doc = documents.get(doc_id)
        if doc is None:
            return render.document_missing(doc_id)
        return render.document_view(doc, start, end)

    def feedback(
        self,
        records: dict[int, dict[str, Any]] | None,
        index: Any,
        liked: Any,
        session: str = "",
        client: str = "",
    ) -> bool:
        """Record a 👍/👎 for the assistant message at ``index`` (one per answer and session,
        see :class:`ui.feedback.FeedbackLog`); False when it is unknown or rate-limited."""
        if isinstance(index, (list, tuple)):
            index = index[0] if index else None
        record = (records or {}).get(index) if isinstance(index, int) else None
        if record is None:
            return False
        outcome = self.feedback_log.record(record, rating_of(liked), session=session, client=client)
        return outcome != "rate limited"

    def api_answer(self, question: str) -> dict[str, Any]:
        """Answer one question for the API (default passages and mode)."""
        self.refresh()
        try:
            return self._answer(question).to_dict()
        except rag.RagError as exc:
            raise gr.Error(str(exc)) from exc


def _event_key(value: Any, evt: gr.EventData | None) -> str:
    data = getattr(evt, "_data", None)
    if isinstance(data, dict) and isinstance(data.get("key"), str):
        return data["key"]
    return str(value or "").split("#", 1)[0]


def build_app(assistant: Assistant, *, settings: Settings | None = None) -> gr.Blocks:
    """Build the chat page for ``assistant`` (launch it with :func:`launch_options`).

    Args:
        assistant: A loaded ``rag.Assistant``.
        settings: Settings to use instead of ``assistant.settings`` (feedback path, top_k).

    Returns:
        The page as ``gr.Blocks``; nothing is started.
    """
    service = ChatService(assistant, settings)
    settings = service.settings
    choices, mode_value, mode_interactive = service.mode_choices()
    example_questions = service.examples()

    with gr.Blocks(
        title=render.collection_title(assistant.documents),
        analytics_enabled=False,
        fill_width=False,
    ) as demo:
        header = gr.Markdown(service.header(), sanitize_html=True, latex_delimiters=[])
        status = gr.Markdown(service.status(), sanitize_html=True, latex_delimiters=[])
        messages_state = gr.State([])
        questions_state = gr.State([])
        records_state = gr.State({})
        last_state = gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                chatbot = gr.Chatbot(
                    value=[],
                    elem_id="rag-chat",
                    show_label=False,
                    height=560,
                    buttons=[],
                    feedback_options=("Like", "Dislike"),
                    sanitize_html=True,
                    render_markdown=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    line_breaks=False,
                    placeholder=PLACEHOLDER,
                    layout="bubble",
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="rag-question",
                        show_label=False,
                        placeholder="输入问题，按回车提问",
                        lines=1,
                        max_lines=4,
                        max_length=2000,
                        scale=6,
                        autofocus=True,
                    )
                    send = gr.Button("提问", variant="primary", scale=1, min_width=80)
                    clear = gr.Button("清空", variant="secondary", scale=1, min_width=80)
                example_buttons = []
                if example_questions:
                    gr.Markdown(
                        "示例问题（由文件内容生成，点击即问）：", elem_classes="rag-examples-label"
                    )
                    with gr.Row(elem_id="rag-examples"):
                        for q in example_questions:
                            example_buttons.append(
                                gr.Button(q, size="sm", variant="secondary", min_width=60)
                            )
                with gr.Accordion("设置", open=False, elem_id="rag-settings"):
                    k_slider = gr.Slider(
                        1,
                        max(MAX_K, settings.top_k),
                        value=settings.top_k,
                        step=1,
                        label="检索段落数（k）",
                    )
                    mode_radio = gr.Radio(
                        choices=choices,
                        value=mode_value,
                        label="检索方式",
                        interactive=mode_interactive,
                        info=None if mode_interactive else "索引中没有向量，只能按关键词检索。",
                    )
                    show_scores = gr.Checkbox(value=False, label="显示相关度得分")
            with gr.Column(scale=2, min_width=320):
                gr.Markdown("#### 引用的原文段落")
                sources = gr.Markdown(
                    render.SOURCES_EMPTY,
                    elem_id="rag-sources",
                    sanitize_html=True,
                    latex_delimiters=[],
                )
                gr.Markdown("#### 原文")
                document = gr.Markdown(
                    render.DOCUMENT_EMPTY,
                    elem_id="rag-document",
                    sanitize_html=True,
                    latex_delimiters=[],
                    max_height=620,
                    container=True,
                )
        bridge = gr.HTML(
            "",
            html_template="",
            js_on_load=BRIDGE_JS,
            elem_id="rag-bridge",
            visible="hidden",
        )

        def on_ask(message, messages, questions, records, k, mode, scores):
            if not (message or "").strip():
                return (gr.skip(),) * 8
            turn = service.ask(message, messages, questions, records, k, mode, scores)
            return (
                turn.messages,
                turn.messages,
                turn.questions,
                turn.records,
                turn.last,
                turn.sources,
                turn.status,
                "",
            )

        ask_inputs = [
            question,
            messages_state,
            questions_state,
            records_state,
            k_slider,
            mode_radio,
            show_scores,
        ]
        ask_outputs = [
            chatbot,
            messages_state,
            questions_state,
            records_state,
            last_state,
            sources,
            status,
            question,
        ]
        private: dict[str, Any] = {"api_visibility": "private"}
        question.submit(on_ask, ask_inputs, ask_outputs, **private)
        send.click(on_ask, ask_inputs, ask_outputs, **private)
        for button in example_buttons:
            button.click(on_ask, [button, *ask_inputs[1:]], ask_outputs, **private)

        def on_clear():
            return [], [], [], {}, None, render.SOURCES_EMPTY, render.DOCUMENT_EMPTY, ""

        clear_outputs = [
            chatbot,
            messages_state,
            questions_state,
            records_state,
            last_state,
            sources,
            document,
            question,
        ]
        clear.click(on_clear, None, clear_outputs, **private)
        # The chat's own trash icon clears its messages; forget the conversation too.
        chatbot.clear(on_clear, None, clear_outputs, **private)

        def on_like(records, data: gr.LikeData, request: gr.Request):
            client = request.client.host if request.client else ""
            service.feedback(records, data.index, data.liked, request.session_hash or "", client)

        chatbot.like(on_like, [records_state], None, **private)

        def on_scores(last, scores):
            return service.rerender_sources(last, scores)

        show_scores.change(on_scores, [last_state, show_scores], [sources], **private)

        def on_cite(value, evt: gr.EventData):
            return service.open_citation(_event_key(value, evt))

        bridge.cite(on_cite, [bridge], [document], **private)

        def on_load():
            service.refresh()
            new_choices, value, interactive = service.mode_choices()
            return (
                service.header(),
                service.status(),
                gr.Radio(choices=new_choices, value=value, interactive=interactive),
            )

        demo.load(on_load, None, [header, status, mode_radio], **private)

        def ask(question: str) -> dict[str, Any]:
            """Answer a question from the indexed documents.

            Returns ``Answer.to_dict()``: ``found``, verbatim ``quotes`` with citations and
            offsets, ``markdown``, ``hits``, ``build_id`` and more.
            """
            return service.api_answer(question)

        # Several at once, so that a request loading a new generation (see refresh) does not
        # hold up the others; answering itself is serialised by the service lock.
        gr.api(ask, api_name="ask", concurrency_limit=API_CONCURRENCY)
    demo.rag_service = service
    return demo


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch`` that this page needs (Gradio 6 takes theme, CSS
    and the footer at launch time): local fonts only, no share link, no run history, no
    monitoring endpoint, no MCP server, footer with the API page only, and Gradio's strict
    CORS check (no ``null`` origin; see docs/SECURITY.md for what it does not cover)."""
    return {
        "theme": theme(),
        "css": CSS,
        "share": False,
        "footer_links": ["api"],
        "run_history": False,
        "enable_monitoring": False,
        "mcp_server": False,
        "pwa": False,
        "ssr_mode": False,
        "show_error": False,
        "strict_cors": True,
    }


__all__ = ["ChatService", "Turn", "build_app", "launch_options"]
