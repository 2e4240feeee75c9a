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

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

import rag
from rag.questions import MAX_HISTORY

from . import render
from .assets import BRIDGE_JS, CSS, theme
from .examples import suggest_questions
from .feedback import FeedbackLog, answer_record, rating_of
from .uploads import Library

if TYPE_CHECKING:
    from rag import Answer, Assistant, Document, IndexInfo, Settings

log = logging.getLogger(__name__)

# Earlier questions sent with a question: a follow-up chain reaches back this far.
HISTORY_TURNS = MAX_HISTORY
MAX_K = 20
MODE_LABELS = {"hybrid": "混合检索", "lexical": "仅关键词检索", "dense": "仅向量检索"}
PLACEHOLDER = "请输入关于这些文件的问题。回答只摘录文件原文，并注明出处；点击出处可查看原文。"
INTERNAL_ERROR = "处理这个问题时出错了，请稍后再试或换一种问法。"
SCOPE_GONE = "所选的检索范围已不在索引中（文件可能已删除），请在“检索范围”中重新选择。"
API_CONCURRENCY = 4
# What the question box takes: a question, or a pasted passage to locate (rag.locate).
MAX_INPUT_CHARS = render.INPUT_LIMIT
MAX_CONVERSATIONS = 30
MAX_STORED_MESSAGES = 60


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
        self.library = Library(
            self.settings,
            model=assistant.info.model,
            on_built=lambda: self.refresh(wait=True),
            documents=lambda: self.assistant.documents,
        )

    # -- index state ------------------------------------------------------------------------

    def refresh(self, wait: bool = False) -> bool:
        """Pick up a newly built index; failures keep the current one (and are logged).

        Never waits unless ``wait``: loading a generation takes a second or more, and while
        one request loads it the others answer from the current generation instead of
        queueing behind it.
        """
        if not self._refreshing.acquire(blocking=wait):
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

    def document_list(self) -> list[dict[str, Any]]:
        """The indexed documents: id, title, kind, date, size in characters, source file."""
        return render.document_rows(self.assistant.documents)

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
        scope: str | list[str] | None = None,
    ) -> Turn:
        """Answer ``message`` as the next turn of a chat.

        Earlier user questions are passed as history so that follow-ups (那城市品格呢？)
        resolve, and keep a scope an earlier question stated (只在《…》中). ``scope`` is the
        values of :func:`ui.render.scope_choices` chosen (kinds and/or documents; none: all).
        Library errors become a visible message in the chat, never an exception.
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
            chosen = render.scope_of(scope)
            for _attempt in range(3):
                generation = self.info.build_id
                with self._lock:
                    if chosen is not None and not self.scope_exists(scope):
                        raise rag.RagError(SCOPE_GONE)
                    answer = self.assistant.answer(
                        question,
                        history=questions[-HISTORY_TURNS:] or None,
                        k=kk,
                        mode=self._mode(mode),
                        **({"scope": chosen} if chosen is not None else {}),
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

    def scope_choices(self) -> list[tuple[str, str]]:
        """The 检索范围 choices for the current documents."""
        return render.scope_choices(self.assistant.documents)

    def scope_exists(self, value: str | list[str] | None) -> bool:
        """True when every chosen value is still a choice (no document removed meanwhile)."""
        present = {v for _, v in self.scope_choices()}
        return all(v in present for v in render.scope_values(value))

    def known_scope(self, value: Any) -> list[str]:
        """The chosen values that are still choices (a stored scope, after removals)."""
        present = {v for _, v in self.scope_choices()}
        return [v for v in render.scope_values(value) if v in present]

    def scope_line(self, value: Any, stated: str = "") -> str:
        """The 检索范围：… line for the chosen values (and the scope the last question
        stated, which a follow-up keeps)."""
        return render.scope_line(value, self.assistant.documents, stated)

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


def _conversation_title(questions: list[str]) -> str:
    first = (questions[0] if questions else "").strip() or "新对话"
    return first if len(first) <= 24 else first[:24] + "…"


def _store_turn(
    store: dict[str, Any] | None,
    conversation: str,
    messages: list[dict[str, str]],
    questions: list[str],
    records: dict[int, dict[str, Any]],
    scope: Any = None,
    last: tuple[Answer, list[str]] | None = None,
) -> dict[str, Any]:
    """The browser's conversation store with ``conversation`` updated (newest first); its
    chosen scope (values of the 检索范围 control) and the scope its last question stated
    are kept with it."""
    items = [c for c in (store or {}).get("items", []) if c.get("id") != conversation]
    item = {
        "id": conversation,
        "title": _conversation_title(questions),
        "messages": messages[-MAX_STORED_MESSAGES:],
        "questions": questions[-MAX_STORED_MESSAGES:],
        "records": {str(k): v for k, v in records.items()},
        "scope": render.scope_values(scope),
        "stated": _stated(last),
        "updated": time.time(),
    }
    return {"current": conversation, "items": [item, *items][:MAX_CONVERSATIONS]}


def _stated(last: tuple[Answer, list[str]] | None) -> str:
    """The label of the scope the last answered question stated (or kept), else ""."""
    scope = last[0].scope if last else None
    return scope.label if scope is not None and scope.stated else ""


def _stated_in(store: dict[str, Any] | None, conversation: str | None) -> str:
    return str((_find(store, conversation) or {}).get("stated") or "")


def _store_scope(store: dict[str, Any] | None, conversation: str, scope: Any) -> Any:
    """The store with the scope of a stored conversation changed (skip: not stored yet)."""
    item = _find(store, conversation)
    if item is None:
        return gr.skip()
    items = [
        {**c, "scope": render.scope_values(scope)} if c is item else c
        for c in (store or {}).get("items", [])
    ]
    return {**(store or {}), "items": items}


def _find(store: dict[str, Any] | None, conversation: str | None) -> dict[str, Any] | None:
    return next((c for c in (store or {}).get("items", []) if c.get("id") == conversation), None)


def _records(item: dict[str, Any] | None) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for key, value in ((item or {}).get("records") or {}).items():
        if str(key).isdigit() and isinstance(value, dict):
            out[int(key)] = value
    return out


def _history_choices(store: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [
        (str(c.get("title") or "新对话"), str(c["id"]))
        for c in (store or {}).get("items", [])
        if c.get("id")
    ]


def _scope_update(choices: list[tuple[str, str]]) -> Any:
    # The value is kept; a document removed meanwhile is reported when a question is asked.
    return gr.Dropdown(choices=choices, visible=bool(choices))


def _new_id() -> str:
    return f"c{time.time_ns():x}"


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
    # Conversations live in the browser (localStorage). The key only scrambles them there;
    # it is stable so that they survive a restart of the server.
    secret = hashlib.sha256(str(Path(settings.index).resolve()).encode()).hexdigest()[:32]

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
        conversation_state = gr.State("")
        store = gr.BrowserState(
            {"current": "", "items": []}, storage_key="rag-conversations", secret=secret
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                with gr.Row(elem_id="rag-conversations"):
                    new_chat = gr.Button(
                        "＋ 新对话", variant="secondary", scale=0, min_width=110, elem_id="rag-new"
                    )
                    history = gr.Dropdown(
                        choices=[],
                        value=None,
                        label="历史对话",
                        show_label=False,
                        info=None,
                        elem_id="rag-history",
                        interactive=True,
                        scale=3,
                    )
                chatbot = gr.Chatbot(
                    value=[],
                    elem_id="rag-chat",
                    label="对话记录",
                    show_label=False,
                    height=520,
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
                with gr.Row(elem_id="rag-ask-row"):
                    question = gr.Textbox(
                        elem_id="rag-question",
                        label="输入问题",
                        show_label=False,
                        placeholder="输入问题，按回车提问；也可粘贴一段原文查出处",
                        lines=1,
                        max_lines=6,
                        max_length=MAX_INPUT_CHARS,
                        scale=6,
                        autofocus=True,
                    )
                    send = gr.Button(
                        "提问", variant="primary", scale=1, min_width=80, elem_id="rag-send"
                    )
                    clear = gr.Button("清空", variant="secondary", scale=1, min_width=80)
                counter = gr.HTML(
                    render.input_hint(0, settings.max_question_chars), elem_id="rag-counter"
                )
                scope_line = gr.HTML(service.scope_line([]), elem_id="rag-scope-line")
                scope_choices = service.scope_choices()
                with gr.Row(elem_id="rag-scope-row", visible=bool(scope_choices)) as scope_row:
                    scope_box = gr.Dropdown(
                        choices=scope_choices,
                        value=[],
                        multiselect=True,
                        label="检索范围",
                        info="可选多类、多份文件，输入书名可筛选；不选即全部文件。"
                        "也可在问题里写“只在《…》中”",
                        elem_id="rag-scope",
                        interactive=True,
                        filterable=True,
                        scale=4,
                        min_width=300,
                    )
                    scope_all = gr.Button(
                        render.SCOPE_ALL,
                        variant="secondary",
                        scale=0,
                        min_width=110,
                        elem_id="rag-scope-all",
                    )
                example_buttons = []
                if example_questions:
                    gr.Markdown(
                        "示例问题（由文件内容生成，点击即问）：", elem_classes="rag-examples-label"
                    )
                    with gr.Column(elem_id="rag-examples"):
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
                        label="检索段落数",
                        info="每次检索返回的原文段落数",
                    )
                    mode_radio = gr.Radio(
                        choices=choices,
                        value=mode_value,
                        label="检索方式",
                        interactive=mode_interactive,
                        info=None if mode_interactive else "索引中没有向量，只能按关键词检索。",
                    )
                    show_scores = gr.Checkbox(
                        value=False, label="显示相关度得分", info=render.SCORE_HELP
                    )
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("#### 引用的原文段落")
                sources = gr.Markdown(
                    render.SOURCES_EMPTY,
                    elem_id="rag-sources",
                    sanitize_html=True,
                    latex_delimiters=[],
                )
                gr.Markdown("#### 原文", elem_id="rag-document-title")
                document = gr.Markdown(
                    render.DOCUMENT_EMPTY,
                    elem_id="rag-document",
                    sanitize_html=True,
                    latex_delimiters=[],
                    max_height=620,
                    container=True,
                )
                with gr.Accordion("收录的文件", open=False, elem_id="rag-library"):
                    library = gr.HTML(
                        render.document_table(assistant.documents, removable=True),
                        elem_id="rag-doc-list",
                    )
                    gr.HTML(
                        render.upload_form(service.library.max_bytes / 2**20),
                        elem_id="rag-upload",
                    )
        bridge = gr.HTML(
            "",
            html_template="",
            js_on_load=BRIDGE_JS,
            elem_id="rag-bridge",
            visible="hidden",
        )

        private: dict[str, Any] = {"api_visibility": "private"}

        def on_ask(
            message, messages, questions, records, k, mode, scores, scope, conversation, saved
        ):
            """Two steps: the question and 正在检索… at once, then the answer."""
            text = (message or "").strip()
            skip = gr.skip()
            if not text:
                yield (skip,) * 8 + (
                    render.input_hint(0, settings.max_question_chars, empty=True),
                    skip,
                    skip,
                    skip,
                    skip,
                )
                return
            shown = [
                *(messages or []),
                {"role": "user", "content": render.user_bubble(text)},
                {"role": "assistant", "content": render.PENDING_BUBBLE},
            ]
            busy = gr.Button(interactive=False, value="检索中…")
            yield (
                shown,
                skip,
                skip,
                skip,
                skip,
                skip,
                skip,
                "",
                render.input_hint(0, settings.max_question_chars),
                busy,
                skip,
                skip,
                skip,
            )
            turn = service.ask(text, messages, questions, records, k, mode, scores, scope)
            conversation = conversation or _new_id()
            saved = _store_turn(
                saved, conversation, turn.messages, turn.questions, turn.records, scope, turn.last
            )
            yield (
                turn.messages,
                turn.messages,
                turn.questions,
                turn.records,
                turn.last,
                turn.sources,
                turn.status,
                gr.skip(),
                gr.skip(),
                gr.Button(interactive=True, value="提问"),
                saved,
                gr.Dropdown(choices=_history_choices(saved), value=conversation),
                service.scope_line(scope, _stated(turn.last)),
            )

        ask_inputs = [
            question,
            messages_state,
            questions_state,
            records_state,
            k_slider,
            mode_radio,
            show_scores,
            scope_box,
            conversation_state,
            store,
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
            counter,
            send,
            store,
            history,
            scope_line,
        ]

        def remember(conversation, saved, scope):
            """The conversation now stored, with the scope chosen now (it may have been
            changed while the answer was pending)."""
            conversation = (saved or {}).get("current") or conversation
            return conversation, _store_scope(saved, conversation, scope)

        # One event for Enter and the button, so that Enter followed by a click while the
        # answer is pending sends once ("once": no new submission while one is pending).
        asked = gr.on(
            [question.submit, send.click],
            on_ask,
            ask_inputs,
            ask_outputs,
            trigger_mode="once",
            **private,
        )
        remembered = ([conversation_state, store, scope_box], [conversation_state, store])
        asked.then(remember, *remembered, **private)
        for button in example_buttons:
            button.click(
                on_ask, [button, *ask_inputs[1:]], ask_outputs, trigger_mode="once", **private
            ).then(remember, *remembered, **private)

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

        def on_new(saved):
            # The question box is left alone: what was typed meanwhile is not lost. A new
            # conversation searches every document.
            return (
                *on_clear()[:-1],
                "",
                [],
                service.scope_line([]),
                gr.Dropdown(choices=_history_choices(saved), value=None),
            )

        new_outputs = [*clear_outputs[:-1], conversation_state, scope_box, scope_line, history]
        new_chat.click(on_new, [store], new_outputs, **private)
        clear.click(on_new, [store], new_outputs, **private)
        # The chat's own trash icon clears its messages; start a new conversation too.
        chatbot.clear(on_new, [store], new_outputs, **private)

        def on_pick(conversation, saved):
            item = _find(saved, conversation)
            if item is None:
                return (gr.skip(),) * 10
            messages = list(item.get("messages") or [])
            scope = service.known_scope(item.get("scope"))
            return (
                messages,
                messages,
                list(item.get("questions") or []),
                _records(item),
                None,
                render.SOURCES_EMPTY,
                render.DOCUMENT_EMPTY,
                conversation,
                scope,
                service.scope_line(scope, _stated_in(saved, conversation)),
            )

        history.input(on_pick, [history, store], new_outputs[:-1], **private)

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

        def on_scope(scope, saved, conversation):
            return service.scope_line(scope, _stated_in(saved, conversation))

        scope_inputs = [scope_box, store, conversation_state]
        scope_box.change(on_scope, scope_inputs, [scope_line], **private)

        def on_scope_input(scope, saved, conversation):
            return _store_scope(saved, conversation, scope)

        scope_box.input(on_scope_input, scope_inputs, [store], **private)

        def on_scope_all(saved, conversation):
            return (
                [],
                service.scope_line([], _stated_in(saved, conversation)),
                _store_scope(saved, conversation, []),
            )

        scope_all.click(
            on_scope_all, [store, conversation_state], [scope_box, scope_line, store], **private
        )

        def on_library(_value, evt: gr.EventData):
            service.refresh(wait=True)
            return (
                service.header(),
                service.status(),
                render.document_table(service.assistant.documents, removable=True),
                _scope_update(service.scope_choices()),
                gr.Row(visible=bool(service.scope_choices())),
            )

        bridge.library(
            on_library, [bridge], [header, status, library, scope_box, scope_row], **private
        )

        def on_load():
            service.refresh()
            new_choices, value, interactive = service.mode_choices()
            return (
                service.header(),
                service.status(),
                gr.Radio(choices=new_choices, value=value, interactive=interactive),
                render.document_table(service.assistant.documents, removable=True),
            )

        demo.load(on_load, None, [header, status, mode_radio, library], **private)
        # The choices of the documents now indexed, without a spinner over the control.
        demo.load(
            lambda: (
                _scope_update(service.scope_choices()),
                gr.Row(visible=bool(service.scope_choices())),
            ),
            None,
            [scope_box, scope_row],
            show_progress="hidden",
            **private,
        )

        def on_restore(saved, shown):
            """The conversation the browser was on, unless a question was asked meanwhile."""
            item = _find(saved, (saved or {}).get("current"))
            if shown:
                return (gr.skip(),) * 7 + (gr.Dropdown(choices=_history_choices(saved)),)
            messages = list((item or {}).get("messages") or [])
            scope = service.known_scope((item or {}).get("scope"))
            return (
                messages,
                messages,
                list((item or {}).get("questions") or []),
                _records(item),
                (item or {}).get("id", ""),
                scope,
                service.scope_line(scope, str((item or {}).get("stated") or "")),
                gr.Dropdown(choices=_history_choices(saved), value=(item or {}).get("id")),
            )

        # It only reads the browser's store; a question already asked is never replaced.
        demo.load(
            on_restore,
            [store, messages_state],
            [
                chatbot,
                messages_state,
                questions_state,
                records_state,
                conversation_state,
                scope_box,
                scope_line,
                history,
            ],
            **private,
        )

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
