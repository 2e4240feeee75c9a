"""The web chat in a real Chromium, over the real library and a real lexical seed index.

The app runs on 127.0.0.1 (free port) in a background thread. Every request the page makes is
routed: anything not addressed to 127.0.0.1 is recorded and aborted, and each test ends by
asserting that there was none. Timings (launch to a page that answers, question to answer)
are printed and written to ``artifacts/ui_timings.json``.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import rag

pytestmark = [
    pytest.mark.browser,
    # Gradio's queue statistics use pandas options that pandas 3 deprecates.
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),
]

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CITY_SPIRIT = "上海的城市精神是什么？"
SPIRIT_WORDS = "海纳百川、追求卓越、开明睿智、大气谦和"
TIMEOUT_MS = 20_000
TIMINGS: dict[str, float | list[float]] = {}

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# This machine's 2 cores are shared: allow the page that long to react.
expect.set_options(timeout=TIMEOUT_MS)


def _record(name: str, seconds: float) -> None:
    TIMINGS[name] = round(seconds, 3)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ui_timings.json").write_text(json.dumps(TIMINGS, indent=2), encoding="utf-8")
    print(f"[ui timing] {name}: {seconds:.3f}s")


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ui_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index = tmp_path_factory.mktemp("ui_index")
    rag.build_index(source=SOURCE, index=index, model="none")
    return index


@pytest.fixture(scope="module")
def assistant(ui_index: Path) -> rag.Assistant:
    return rag.load(ui_index, model="none")


@pytest.fixture(scope="module")
def feedback_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "nested" / "feedback.jsonl"


@pytest.fixture(scope="module")
def server(assistant: rag.Assistant, feedback_file: Path):
    from ui.server import start

    started = time.perf_counter()
    running = start(
        assistant,
        host="127.0.0.1",
        port=0,
        settings=assistant.settings.with_(feedback_path=feedback_file),
    )
    running.launched_at = started  # type: ignore[attr-defined]
    _record("server_launch_s", time.perf_counter() - started)
    assert urlsplit(running.url).hostname == "127.0.0.1"
    yield running
    running.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Guard:
    """Records requests that leave 127.0.0.1 (and aborts them) and any JavaScript dialog."""

    def __init__(self) -> None:
        self.external: list[str] = []
        self.local: list[str] = []
        self.dialogs: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1":
            self.local.append(url)
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.external == [], f"requests left the app: {self.external}"
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"


@pytest.fixture
def page(browser, server):
    context = browser.new_context(
        viewport={"width": 1360, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
        locale="zh-CN",
    )
    guard = Guard()
    context.route("**/*", guard.route)
    tab = context.new_page()
    tab.on("dialog", guard.dialog)
    tab.set_default_timeout(TIMEOUT_MS)
    tab.guard = guard  # type: ignore[attr-defined]
    yield tab
    tab.wait_for_timeout(300)  # let late requests (fonts, images) show up
    context.close()
    guard.assert_clean()


def _open(page, server) -> float:
    started = time.perf_counter()
    page.goto(server.url, wait_until="domcontentloaded")
    expect(page.locator("#rag-question textarea")).to_be_editable()
    expect(page.locator(".rag-status")).to_contain_text("仅关键词检索")
    return time.perf_counter() - started


def _ask(page, question: str, *, kind: str = ".rag-answer") -> tuple[object, float]:
    """Type and submit; wait for the new assistant bubble; return it and the elapsed time."""
    answers = page.locator(f"#rag-chat {kind}")
    before = answers.count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    # Polled every animation frame, so that the measured time is the real one.
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n",
        arg=[f"#rag-chat {kind}", before],
        polling="raf",
    )
    elapsed = time.perf_counter() - started
    expect(answers).to_have_count(before + 1)
    return answers.nth(before), elapsed


# -- the chat ----------------------------------------------------------------------------------


def test_answer_quotes_verbatim_and_citation_opens_document(page, server, assistant) -> None:
    expected = assistant.answer(CITY_SPIRIT)
    assert expected.found
    quote = next(q for q in expected.quotes if SPIRIT_WORDS in q.text)

    _record("page_ready_s", _open(page, server))
    bubble, elapsed = _ask(page, CITY_SPIRIT, kind=".rag-found")
    _record("launch_to_first_answer_s", time.perf_counter() - server.launched_at)
    _record("question_to_answer_first_s", elapsed)
    expect(bubble).to_contain_text(f"「{quote.text}」")
    expect(bubble).to_contain_text(SPIRIT_WORDS)
    expect(bubble.locator("a.rag-cite").first).to_have_text(expected.quotes[0].citation)
    expect(page.locator("#rag-sources mark.rag-quote").first).to_contain_text(SPIRIT_WORDS)
    expect(page.locator("#rag-sources .rag-term").first).to_be_visible()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)

    # One click on the citation in the chat opens the document at the highlighted words.
    link = bubble.locator("a.rag-cite", has_text=quote.citation).first
    link.click()
    mark = page.locator("#rag-document mark.rag-quote")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(quote.text)
    expect(mark).to_be_in_viewport()
    doc = assistant.document(quote.doc_id)
    expect(page.locator("#rag-document .rag-pno")).to_have_count(len(doc.body_paragraphs))
    expect(page.locator("#rag-document .rag-doc-head")).to_contain_text(doc.title)
    assert page.url.split("#")[0] == server.url.split("#")[0]  # no navigation
    page.screenshot(path=str(ARTIFACTS / "document.png"), full_page=True)

    # The same from the sources panel.
    page.locator("#rag-document").evaluate("el => el.scrollTop = 0")
    page.locator("#rag-sources a.rag-cite").first.click()
    expect(mark).to_have_text(expected.quotes[0].text)


def test_a_quoted_heading_is_cited_as_heading_and_highlighted(page, server, assistant) -> None:
    question = "做强软实力要持守上海的什么？"
    expected = assistant.answer(question)
    quote = expected.quotes[0]
    assert quote.citation.endswith("」标题"), quote.citation
    _open(page, server)
    bubble, _ = _ask(page, question, kind=".rag-found")
    expect(bubble.locator("a.rag-cite").first).to_have_text(quote.citation)
    bubble.locator("a.rag-cite").first.click()
    mark = page.locator("#rag-document h4.rag-h-section mark.rag-quote")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(quote.text)
    expect(mark).to_be_in_viewport()


def test_refusal_is_distinct_and_offers_related_passages(page, server) -> None:
    _open(page, server)
    bubble, elapsed = _ask(page, "上海的GDP是多少？")
    _record("question_to_refusal_s", elapsed)
    expect(bubble.locator(".rag-callout-refusal")).to_contain_text("未找到答案")
    expect(bubble).to_contain_text("相关段落（并非答案）")
    expect(bubble.locator(".rag-verbatim")).to_have_count(0)
    expect(page.locator("#rag-sources")).to_contain_text("并非答案")


def test_follow_up_uses_the_earlier_question(page, server) -> None:
    _open(page, server)
    _ask(page, CITY_SPIRIT, kind=".rag-found")
    bubble, _ = _ask(page, "那城市品格呢？")
    expect(bubble).to_contain_text("开放、创新、包容")


PAYLOADS = [
    "<script>window.__pwned=1</script>" + CITY_SPIRIT,
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    "![x](http://evil.example/a.png) 上海的城市精神",
    "[点我](javascript:window.__pwned=1) <http://evil.example/auto> www.evil.example",
    '"><svg onload=alert(1)><iframe src="http://evil.example/f"></iframe>',
]


def test_html_script_and_markdown_payloads_stay_text(page, server) -> None:
    _open(page, server)
    timings = []
    for payload in PAYLOADS:
        bubble, elapsed = _ask(page, payload)
        timings.append(elapsed)
        user = page.locator("#rag-chat .rag-user").last
        expect(user).to_have_text(payload)
        expect(bubble).to_be_visible()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__pwned") is None
    injected = page.evaluate(
        """() => document.querySelectorAll(
            '.rag-user *, .rag-answer img, .rag-answer script, .rag-answer svg, .rag-answer iframe,'
            + ' #rag-sources img, #rag-document img, iframe, img[src="x"], [onerror], [onload]'
        ).length"""
    )
    assert injected == 0
    hrefs = page.eval_on_selector_all(
        ".rag-answer a, .rag-user a, #rag-sources a, #rag-document a",
        "els => els.map(e => e.getAttribute('href'))",
    )
    assert all(h.startswith("#rag-cite:") for h in hrefs), hrefs
    _record("question_to_answer_mean_s", sum(timings) / len(timings))
    page.guard.assert_clean()  # type: ignore[attr-defined]


def test_page_makes_no_external_request(page, server) -> None:
    _open(page, server)
    page.locator("#rag-settings").click()  # open the accordion: more components render
    expect(page.get_by_text("显示相关度得分")).to_be_visible()
    page.wait_for_timeout(1000)
    guard = page.guard  # type: ignore[attr-defined]
    assert guard.local, "the page should have loaded its assets from the app"
    guard.assert_clean()


def test_example_questions_ask_with_one_click(page, server) -> None:
    _open(page, server)
    buttons = page.locator("#rag-examples button")
    expect(buttons.first).to_be_visible()
    label = buttons.first.inner_text()
    buttons.first.click()
    expect(page.locator("#rag-chat .rag-user").last).to_have_text(label)
    expect(page.locator("#rag-chat .rag-found")).to_have_count(1)


def test_settings_show_lexical_only_and_scores_toggle(page, server) -> None:
    _open(page, server)
    page.locator("#rag-settings").click()
    radio = page.get_by_label("仅关键词检索")
    expect(radio).to_be_checked()
    expect(radio).to_be_disabled()
    _ask(page, CITY_SPIRIT, kind=".rag-found")
    expect(page.locator("#rag-sources .rag-score")).to_have_count(0)
    page.get_by_label("显示相关度得分").check()
    expect(page.locator("#rag-sources .rag-score").first).to_be_visible()


def test_copy_and_feedback(page, server, assistant, feedback_file: Path) -> None:
    first_quote = assistant.answer(CITY_SPIRIT).quotes[0].text
    _open(page, server)
    bubble, _ = _ask(page, CITY_SPIRIT, kind=".rag-found")
    bubble.locator("button.rag-copy").click()
    expect(bubble.locator("button.rag-copy")).to_have_text("已复制")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert first_quote in copied and "《" in copied and "<" not in copied

    before = feedback_file.read_text("utf-8").count("\n") if feedback_file.exists() else 0
    # 赞 is Gradio's own label for the 👍 button in a zh-CN browser.
    page.locator('#rag-chat button[aria-label="赞"]').last.click()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if feedback_file.exists() and feedback_file.read_text("utf-8").count("\n") > before:
            break
        time.sleep(0.1)
    line = json.loads(feedback_file.read_text("utf-8").splitlines()[-1])
    assert line["rating"] == "up" and line["question"] == CITY_SPIRIT
    assert line["citations"] and line["build_id"] and "T" in line["time"]


# -- programmatic access -----------------------------------------------------------------------


def test_gradio_client_ask_matches_the_library(server, assistant) -> None:
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert list(endpoints) == ["/ask"]
    started = time.perf_counter()
    result = client.predict(CITY_SPIRIT, api_name="/ask")
    _record("api_ask_s", time.perf_counter() - started)
    expected = json.loads(json.dumps(assistant.answer(CITY_SPIRIT).to_dict()))
    assert result["found"] is expected["found"] is True
    assert [q["citation"] for q in result["quotes"]] == [q["citation"] for q in expected["quotes"]]
    assert result["quotes"] == expected["quotes"]
    assert result["build_id"] == expected["build_id"]
    refusal = client.predict("上海的GDP是多少？", api_name="/ask")
    assert refusal["found"] is False and refusal["quotes"] == []


# -- a rebuild while answering -----------------------------------------------------------------


def test_questions_during_a_rebuild_are_answered_then_switch(tmp_path: Path) -> None:
    from ui.app import ChatService

    index = tmp_path / "index"
    rag.build_index(source=SOURCE, index=index, model="none")
    service = ChatService(rag.load(index, model="none"))
    first = service.info.build_id
    errors: list[BaseException] = []

    def rebuild() -> None:
        try:
            rag.build_index(source=SOURCE, index=index, model="none", force=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    worker = threading.Thread(target=rebuild)
    worker.start()
    answered = []
    while not answered or worker.is_alive():
        turn = service.ask(CITY_SPIRIT)
        assert "rag-found" in turn.messages[-1]["content"], turn.messages[-1]["content"]
        answered.append(turn.last[0].build_id)  # type: ignore[index]
    worker.join()
    assert not errors, errors
    turn = service.ask(CITY_SPIRIT)  # refreshes first: the new generation answers
    assert turn.last is not None
    second = turn.last[0].build_id
    assert second != first and service.info.build_id == second
    assert answered and set(answered) <= {first, second}


# -- conversations, waiting state, pasted passages (issue 13) ---------------------------------


def _history_titles(page) -> list[str]:
    page.locator("#rag-history input").click()
    options = page.locator("ul.options li, [role=option]")
    expect(options.first).to_be_visible()
    titles = [t.replace("✓", "").strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return titles


def test_conversation_survives_reload_and_switching(page, server) -> None:
    _open(page, server)
    page.evaluate("localStorage.clear()")
    page.reload()
    _open(page, server)
    _ask(page, CITY_SPIRIT, kind=".rag-found")
    page.wait_for_timeout(500)  # the store is written after the answer
    page.reload()
    _open(page, server)
    expect(page.locator("#rag-chat .rag-user")).to_have_text([CITY_SPIRIT])
    expect(page.locator("#rag-chat .rag-found")).to_contain_text(SPIRIT_WORDS)

    page.locator("#rag-new").click()
    expect(page.locator("#rag-chat .rag-user")).to_have_count(0)
    _ask(page, "全会由谁主持？", kind=".rag-found")
    page.wait_for_timeout(500)
    assert _history_titles(page)[:2] == ["全会由谁主持？", CITY_SPIRIT]

    picker = page.locator("#rag-history input")
    picker.click()
    picker.fill(CITY_SPIRIT)
    picker.press("Enter")
    expect(page.locator("#rag-chat .rag-user")).to_have_text([CITY_SPIRIT])
    # A follow-up continues the conversation picked, with its history.
    bubble, _ = _ask(page, "那城市品格呢？")
    expect(bubble).to_contain_text("开放、创新、包容")
    page.reload()
    _open(page, server)
    expect(page.locator("#rag-chat .rag-user")).to_have_text([CITY_SPIRIT, "那城市品格呢？"])


def test_pending_state_and_no_double_send(page, server) -> None:
    service = server.app.rag_service
    real_ask = service.ask

    def slow_ask(*args, **kwargs):
        time.sleep(1.5)
        return real_ask(*args, **kwargs)

    _open(page, server)
    page.locator("#rag-new").click()
    service.ask = slow_ask
    try:
        box = page.locator("#rag-question textarea")
        box.fill(CITY_SPIRIT)
        box.press("Enter")
        page.locator("#rag-send").click(force=True)  # the impatient second send
        expect(page.locator("#rag-chat .rag-pending")).to_have_text("正在检索…")
        expect(page.locator("#rag-chat .rag-user")).to_have_text([CITY_SPIRIT])
        expect(box).to_have_value("")
        expect(page.locator("#rag-send")).to_be_disabled()
        expect(page.locator("#rag-chat .rag-found")).to_have_count(1, timeout=TIMEOUT_MS)
        expect(page.locator("#rag-chat .rag-pending")).to_have_count(0)
        page.wait_for_timeout(2500)  # a second answer would have arrived by now
        expect(page.locator("#rag-chat .rag-user")).to_have_count(1)
        expect(page.locator("#rag-chat .rag-answer")).to_have_count(1)
        expect(page.locator("#rag-send")).to_be_enabled()
    finally:
        service.ask = real_ask
    # An empty message says what to do instead of doing nothing.
    page.locator("#rag-send").click()
    expect(page.locator("#rag-counter .rag-hint-empty")).to_contain_text("请先输入问题")


def test_character_counter_counts_while_typing(page, server) -> None:
    _open(page, server)
    box = page.locator("#rag-question textarea")
    box.fill("上海" * 300)
    expect(page.locator("#rag-counter .rag-count")).to_have_text("600")
    expect(page.locator("#rag-counter .rag-hint")).to_have_class(re.compile("rag-hint-over"))
    expect(page.locator("#rag-counter")).to_contain_text("5000")
    assert box.get_attribute("maxlength") == "5000"


def test_pasted_passage_is_located_and_cited(page, server, assistant) -> None:
    doc = next(d for d in assistant.documents.values() if d.kind == "resolution")
    passage = doc.text[doc.paragraph(5).start : doc.paragraph(6).end]
    _open(page, server)
    page.locator("#rag-new").click()
    bubble, _ = _ask(page, passage, kind=".rag-found")
    expect(bubble.locator(".rag-lead")).to_have_text(
        "这段文字出自《十一届市委十一次全会决议》第5段至第6段。"
    )
    expect(bubble.locator("a.rag-cite")).to_have_count(2)
    bubble.locator("a.rag-cite").first.click()
    mark = page.locator("#rag-document mark.rag-quote")
    expect(mark).to_have_text(doc.text[doc.paragraph(5).start : doc.paragraph(5).end])


# -- documents: list, outline, upload, removal -----------------------------------------------


@pytest.fixture(scope="module")
def upload_server(tmp_path_factory: pytest.TempPathFactory):
    from ui.server import start

    tmp = tmp_path_factory.mktemp("upload")
    source = tmp / "source"
    source.mkdir()
    for path in SOURCE.iterdir():
        (source / path.name).write_bytes(path.read_bytes())
    index = tmp / "index"
    rag.build_index(source=source, index=index, model="none", workers=1)
    assistant = rag.load(index, model="none", source=source)
    running = start(assistant, host="127.0.0.1", port=0)
    yield running
    running.close()


@contextlib.contextmanager
def _desktop(browser):
    """A desktop page of its own (for a server other than ``server``), guarded as ``page``."""
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    guard = Guard()
    context.route("**/*", guard.route)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()
    guard.assert_clean()


def test_upload_shows_progress_and_the_new_document_answers(browser, upload_server, tmp_path):
    with _desktop(browser) as page:
        _check_upload(page, upload_server, tmp_path)


def _check_upload(page, upload_server, tmp_path) -> None:
    _open(page, upload_server)
    page.locator("#rag-library").get_by_text("收录的文件").first.click()
    table = page.locator("#rag-doc-list table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("十一届市委十一次全会决议")
    expect(table).to_contain_text("决议")
    expect(table).to_contain_text("2021-06-22")

    notice = tmp_path / "社区花园通知.txt"
    notice.write_text(
        "关于推进社区花园建设的通知\n\n一、总体目标\n\n"
        "到2025年，全市建成社区花园五百个，每个街道至少两个。\n\n"
        "二、工作要求\n\n各区要把社区花园纳入城市更新计划，统筹安排资金。\n",
        encoding="utf-8",
    )
    page.locator("#rag-upload-file").set_input_files(str(notice))
    page.get_by_role("button", name="上传并重建索引").click()
    status = page.locator(".rag-upload-status")
    expect(status).to_contain_text("新索引已启用", timeout=120_000)
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(table).to_contain_text("关于推进社区花园建设的通知")
    expect(page.locator(".rag-status")).to_contain_text("3 份文件")
    bubble, _ = _ask(page, "全市要建成多少个社区花园？", kind=".rag-found")
    expect(bubble).to_contain_text("五百个")

    # The new document opens from the list, with its outline beside the text.
    table.get_by_role("link", name="《关于推进社区花园建设的通知》").click()
    outline = page.locator("#rag-document nav.rag-outline")
    expect(outline).to_contain_text("一、 总体目标")
    outline.get_by_role("link", name="二、 工作要求").click()
    expect(page.locator("#rag-document .rag-para", has_text="统筹安排资金")).to_be_in_viewport()

    # A refused file says why.
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf")
    page.locator("#rag-upload-file").set_input_files(str(bad))
    page.get_by_role("button", name="上传并重建索引").click()
    expect(status).to_contain_text("这不是 PDF 文件")

    # Removal asks for a second tap, then rebuilds without the document.
    row = table.locator("tbody tr", has_text="社区花园")
    row.get_by_role("button", name="删除").click()
    row.get_by_role("button", name="确认删除").click()
    expect(table.locator("tbody tr")).to_have_count(2, timeout=120_000)


# -- phone, accessibility, contrast -----------------------------------------------------------


@pytest.fixture
def phone(browser, server):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    guard = Guard()
    context.route("**/*", guard.route)
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    yield tab
    context.close()
    guard.assert_clean()


TAP_TARGETS = (
    "#rag-send, #rag-new, #rag-ask-row button, #rag-examples button, button.rag-copy,"
    " #rag-chat button[aria-label='赞'], #rag-chat button[aria-label='踩'], #rag-chat a.rag-cite"
)


def _small_targets(page) -> list[str]:
    return page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
            .filter((el) => el.offsetParent !== null)
            .map((el) => [el, el.getBoundingClientRect()])
            .filter(([el, r]) => r.width < 44 || r.height < 44)
            .map(([el, r]) => `${el.tagName}.${el.className} ${el.textContent.trim().slice(0, 20)}`
                 + ` ${Math.round(r.width)}x${Math.round(r.height)}`)""",
        TAP_TARGETS,
    )


def test_phone_layout(phone, server) -> None:
    page = phone
    _open(page, server)
    page.evaluate("localStorage.clear()")
    page.reload()
    _open(page, server)
    box = page.locator("#rag-question textarea")
    expect(box).to_be_in_viewport()
    assert box.bounding_box()["y"] + box.bounding_box()["height"] <= 844
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-first.png"))
    # Example questions one per row, none squeezed into a narrow column.
    widths = page.eval_on_selector_all(
        "#rag-examples button", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert widths and min(widths) > 300, widths
    assert _small_targets(page) == []

    bubble, _ = _ask(page, CITY_SPIRIT, kind=".rag-found")
    assert _small_targets(page) == []
    line = bubble.locator(".rag-cite-line").first
    assert line.bounding_box()["height"] <= 2 * 44 + 4
    page.screenshot(path=str(ARTIFACTS / "phone-answer.png"))

    link = bubble.locator("a.rag-cite").first
    link.tap()
    expect(page.locator("#rag-document mark.rag-quote")).to_be_in_viewport()
    back = page.locator("#rag-document button.rag-back")
    expect(back).to_be_visible()
    assert back.bounding_box()["height"] >= 44
    back.tap()
    expect(link).to_be_in_viewport()


AXE_VERSION = "4.14.1"


@pytest.fixture(scope="session")
def axe_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """axe-core (MPL-2.0) from the npm registry, fetched once into a cache directory."""
    import shutil
    import subprocess
    import tarfile

    cache = Path.home() / ".cache" / "rag-tests" / f"axe-core-{AXE_VERSION}"
    script = cache / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to fetch axe-core for the accessibility test")
        work = tmp_path_factory.mktemp("axe")
        subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--silent", "--pack-destination", str(work)],
            check=True,
            timeout=300,
            capture_output=True,
        )
        with tarfile.open(next(work.glob("axe-core-*.tgz"))) as tar:
            meta = json.load(tar.extractfile("package/package.json"))  # type: ignore[arg-type]
            assert meta["license"] == "MPL-2.0" and meta["version"] == AXE_VERSION
            data = tar.extractfile("package/axe.min.js").read()  # type: ignore[union-attr]
        cache.mkdir(parents=True, exist_ok=True)
        script.write_bytes(data)
    return script.read_text(encoding="utf-8")


def _axe(page, axe_source: str) -> list[str]:
    page.add_script_tag(content=axe_source)
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ["violations"] });
            return r.violations.filter((v) => ["serious", "critical"].includes(v.impact))
                .map((v) => `${v.id} (${v.impact}): ` + v.nodes.slice(0, 3)
                    .map((n) => n.target.join(" ") + " " + (n.failureSummary || "")).join(" | "));
        }"""
    )
    return list(result)


CONTRAST_JS = """() => {
  const lum = (c) => {
    const m = c.match(/[\\d.]+/g).map(Number);
    const [r, g, b] = m.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return [0.2126 * r + 0.7152 * g + 0.0722 * b, m.length > 3 ? m[3] : 1];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      const [l, a] = lum(bg);
      if (a > 0.5) return l;
    }
    return 1;
  };
  const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || seen.has(el) || !n.nodeValue.trim() || el.offsetParent === null) continue;
    if (el.closest("#rag-bridge, [aria-hidden=true], mark")) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || Number(style.opacity) < 0.1) continue;
    const [fg, alpha] = lum(style.color);
    if (alpha < 0.5) continue;
    const r = ratio(fg, background(el));
    const what = `${el.tagName}.${el.className} "${n.nodeValue.trim().slice(0, 16)}"`;
    if (r < 4.5) low.push(`${what} ${r.toFixed(2)}`);
  }
  const box = document.querySelector("#rag-question textarea");
  const ph = lum(getComputedStyle(box, "::placeholder").color)[0];
  const pr = ratio(ph, background(box));
  if (pr < 4.5) low.push(`placeholder ${pr.toFixed(2)}`);
  return low;
}"""


def test_accessibility_scan_and_contrast(page, server, axe_source: str) -> None:
    _open(page, server)
    page.locator("#rag-new").click()
    bubble, _ = _ask(page, CITY_SPIRIT, kind=".rag-found")
    bubble.locator("a.rag-cite").first.click()
    expect(page.locator("#rag-document mark.rag-quote")).to_be_visible()
    page.locator("#rag-settings").click()
    expect(page.locator("#rag-question textarea")).to_have_attribute("aria-label", "输入问题")
    expect(page.locator("#rag-chat [aria-label='对话记录']").first).to_be_attached()
    violations = _axe(page, axe_source)
    assert violations == [], "\n".join(violations)
    assert page.evaluate(CONTRAST_JS) == []
    # No faux italics anywhere in the answer.
    styles = page.eval_on_selector_all(
        "#rag-chat .rag-answer *", "els => els.map(e => getComputedStyle(e).fontStyle)"
    )
    assert "italic" not in styles


def test_lost_connection_is_said_in_chinese(page, server) -> None:
    _open(page, server)
    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    expect(page.locator("#rag-offline")).to_have_text(
        "网络连接已断开：恢复连接后请刷新页面，再继续提问。"
    )
    expect(page.locator("#rag-offline")).to_have_attribute("role", "alert")
    page.context.set_offline(False)


SIDE_REPORT_TITLE = "发挥软实力“加速器”作用"
STATUTES = ROOT / "tests" / "fixtures" / "scope"
LABOUR_LAW = "中华人民共和国示范劳动法"
LEAVE_RULES = "职工示范年休假条例"


def _choose_scope(page, *labels: str) -> None:
    """Add choices to the 检索范围 control, each found by typing part of its label."""
    box = page.locator("#rag-scope input")
    for label in labels:
        box.click()
        box.fill(label.strip("《》").split("（")[0][-4:])  # searchable: a few characters
        page.locator("ul[role=listbox] li", has_text=label).first.click()
        expect(page.locator("#rag-scope .token", has_text=label)).to_have_count(1)
    box.press("Escape")


def _scope_tokens(page):
    return page.locator("#rag-scope .token")


def _pick_conversation(page, title: str) -> None:
    picker = page.locator("#rag-history input")
    picker.click()
    picker.fill(title)
    picker.press("Enter")
    expect(page.locator("#rag-chat .rag-user").first).to_have_text(title)


def test_scope_control_and_scope_stated_in_the_question(page, server, assistant) -> None:
    _open(page, server)
    page.locator("#rag-new").click()
    control = page.locator("#rag-scope")
    expect(control).to_contain_text("检索范围")
    expect(page.locator("#rag-scope input")).to_have_attribute("aria-label", re.compile("检索范围"))
    expect(page.locator("#rag-scope-line")).to_have_text("检索范围：全部文件")
    # One kind: only the side report is searched and cited.
    _choose_scope(page, "侧记类（1 份）")
    expect(page.locator("#rag-scope-line")).to_have_text("检索范围：侧记类")
    bubble, _ = _ask(page, "软实力 城市")
    expect(bubble).to_contain_text("只在侧记中查找")
    expect(page.locator("#rag-sources a.rag-cite").first).to_be_visible()
    cites = page.locator("#rag-sources a.rag-cite").all_text_contents()
    assert cites and all(SIDE_REPORT_TITLE in c for c in cites), cites
    # One document, chosen by title, after going back to every document.
    page.locator("#rag-scope-all").click()
    expect(_scope_tokens(page)).to_have_count(0)
    resolution = next(d for d in assistant.documents.values() if d.kind == "resolution")
    _choose_scope(page, f"《{resolution.title}》")
    bubble, _ = _ask(page, CITY_SPIRIT, kind=".rag-found")
    expect(bubble).to_contain_text(f"只在《{resolution.title}》中查找")
    expect(bubble).to_contain_text(SPIRIT_WORDS)
    # Back to every document; the question itself says where to look.
    page.locator("#rag-scope-all").click()
    expect(page.locator("#rag-scope-line")).to_have_text("检索范围：全部文件")
    bubble, _ = _ask(page, "只看决议原文，上海的城市精神是什么？", kind=".rag-found")
    expect(bubble).to_contain_text("只在决议中查找")
    expect(bubble).to_contain_text(SPIRIT_WORDS)
    for cite in bubble.locator("a.rag-cite").all_text_contents():
        assert resolution.title in cite


def test_scope_control_on_the_phone(phone, server) -> None:
    page = phone
    _open(page, server)
    control = page.locator("#rag-scope input")
    control.scroll_into_view_if_needed()
    expect(control).to_be_visible()
    size = control.bounding_box()
    block = page.locator("#rag-scope").bounding_box()
    assert size["height"] >= 44 and block["width"] > 300, (size, block)
    control.tap()
    option = page.locator("ul[role=listbox] li", has_text="决议类（1 份）").first
    expect(option).to_be_visible()
    option.tap()
    expect(_scope_tokens(page)).to_have_text(["决议类（1 份）"])
    page.keyboard.press("Escape")
    # Every control of the scope is a 44 px target: each token's remove button, the
    # control's own clear button and 全部文件.
    for target in page.locator("#rag-scope .token-remove, #rag-scope-all").all():
        box = target.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
    expect(page.locator("#rag-scope .token .token-remove")).to_have_attribute(
        "aria-label", "移除决议类（1 份）"
    )
    bubble, _ = _ask(page, CITY_SPIRIT, kind=".rag-found")
    expect(bubble).to_contain_text("只在决议中查找")
    page.locator("#rag-scope-all").tap()
    expect(_scope_tokens(page)).to_have_count(0)


@pytest.fixture(scope="module")
def scope_server(tmp_path_factory: pytest.TempPathFactory):
    """The seed documents and two small statutes, so that two of four can be chosen."""
    from ui.server import start

    tmp = tmp_path_factory.mktemp("scoped")
    source = tmp / "source"
    source.mkdir()
    for path in [*SOURCE.iterdir(), *STATUTES.iterdir()]:
        (source / path.name).write_bytes(path.read_bytes())
    index = tmp / "index"
    rag.build_index(source=source, index=index, model="none", workers=1)
    running = start(rag.load(index, model="none"), host="127.0.0.1", port=0)
    yield running
    running.close()


def _cited_titles(page, bubble) -> list[str]:
    cites = [
        *bubble.locator("a.rag-cite").all_text_contents(),
        *page.locator("#rag-sources a.rag-cite").all_text_contents(),
    ]
    assert cites
    return cites


def test_scope_of_two_documents_kept_with_each_conversation(
    browser, scope_server, axe_source: str
) -> None:
    with _desktop(browser) as page:
        _check_scopes_kept(page, scope_server, axe_source)


def _check_scopes_kept(page, scope_server, axe_source: str) -> None:
    _open(page, scope_server)
    page.evaluate("localStorage.clear()")
    page.reload()
    _open(page, scope_server)
    line = page.locator("#rag-scope-line")
    assistant = scope_server.app.rag_service.assistant
    question = "职工和劳动者的工作时间与休息有什么规定？"
    # Unscoped, the resolution and the side report have passages for these words too.
    everywhere = {h.doc_title for h in assistant.search(question, k=20)}
    assert everywhere - {LABOUR_LAW, LEAVE_RULES}, everywhere

    # Two documents, found by typing part of their titles.
    _choose_scope(page, f"《{LABOUR_LAW}》", f"《{LEAVE_RULES}》")
    expect(line).to_have_text(f"检索范围：《{LABOUR_LAW}》、《{LEAVE_RULES}》")
    bubble, _ = _ask(page, question)
    expect(bubble).to_contain_text(f"只在《{LABOUR_LAW}》、《{LEAVE_RULES}》中查找")
    expect(page.locator("#rag-sources a.rag-cite").first).to_be_visible()
    cites = _cited_titles(page, bubble)
    assert all(LABOUR_LAW in c or LEAVE_RULES in c for c in cites), cites
    # Chosen documents keep the page accessible and legible.
    violations = _axe(page, axe_source)
    assert violations == [], "\n".join(violations)
    assert page.evaluate(CONTRAST_JS) == []
    page.wait_for_timeout(500)  # the store is written after the answer

    # A reload restores the conversation with its scope.
    page.reload()
    _open(page, scope_server)
    expect(page.locator("#rag-chat .rag-user")).to_have_text([question])
    expect(_scope_tokens(page)).to_have_text([f"《{LABOUR_LAW}》", f"《{LEAVE_RULES}》"])
    expect(line).to_have_text(f"检索范围：《{LABOUR_LAW}》、《{LEAVE_RULES}》")

    # A new conversation starts unscoped; a scope stated in words is kept by a follow-up.
    page.locator("#rag-new").click()
    expect(_scope_tokens(page)).to_have_count(0)
    expect(line).to_have_text("检索范围：全部文件")
    stated = "只在《示范劳动法》中，试用期最长多久？"
    bubble, _ = _ask(page, stated, kind=".rag-found")
    expect(bubble).to_contain_text(f"只在《{LABOUR_LAW}》中查找")
    expect(line).to_contain_text(f"沿用上一问指定的《{LABOUR_LAW}》")
    bubble, _ = _ask(page, "那么每日工作时间呢？", kind=".rag-found")
    expect(bubble).to_contain_text(f"只在《{LABOUR_LAW}》中查找（沿用前面问题中指定的范围）")
    expect(bubble).to_contain_text("八小时")
    cites = _cited_titles(page, bubble)
    assert all(LABOUR_LAW in c for c in cites), cites
    page.wait_for_timeout(500)

    # Switching conversations switches scopes.
    _pick_conversation(page, question)
    expect(_scope_tokens(page)).to_have_text([f"《{LABOUR_LAW}》", f"《{LEAVE_RULES}》"])
    _pick_conversation(page, stated)
    expect(_scope_tokens(page)).to_have_count(0)
    expect(line).to_contain_text(f"沿用上一问指定的《{LABOUR_LAW}》")
    # A follow-up asked there still keeps the stated scope (its history is restored).
    bubble, _ = _ask(page, "那么试用期呢？", kind=".rag-found")
    expect(bubble).to_contain_text("沿用前面问题中指定的范围")

    # A changed scope is saved at once; 全部文件 clears it for that conversation only.
    _pick_conversation(page, question)
    page.locator("#rag-scope-all").click()
    expect(_scope_tokens(page)).to_have_count(0)
    _choose_scope(page, f"《{LEAVE_RULES}》")
    page.wait_for_timeout(500)
    page.reload()
    _open(page, scope_server)
    _pick_conversation(page, question)
    expect(_scope_tokens(page)).to_have_text([f"《{LEAVE_RULES}》"])
