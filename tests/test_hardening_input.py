"""Bad input, through the library, the CLI, the web chat and the HTTP API alike; and bad
source files, each with its own message and the previous index left untouched."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import rag
from rag import store
from rag.assistant import EMPTY_PROMPT, NOTHING_TO_SEARCH
from rag.cli import format_plain, main
from rag.errors import SourceError

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
CITY_SPIRIT = "上海的城市精神是什么？"
SPIRIT_WORDS = "海纳百川、追求卓越、开明睿智、大气谦和"
NOT_TEXT = "问题必须是文字。"

UNSEARCHABLE = [
    "",
    "   ",
    "\n\t \u3000",
    "？？！。",
    "……——",
    "\u200b\u200b\ufeff",
    "\u202e\u2066",
    "\x00\x07\x1b[0m",
    "\ud800\udfff",
]
NOT_STRINGS = [None, 42, 3.5, ["上海"], {"q": "上海"}, b"\xe4\xb8\x8a"]


@pytest.fixture
def no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything is tokenized, ranked or selected."""
    from rag.answering import AnswerSelector
    from rag.retrieval import Retriever
    from rag.tokenization import Tokenizer

    def searched(*_a, **_k):
        raise AssertionError("a search was run")

    monkeypatch.setattr(Retriever, "rank", searched)
    monkeypatch.setattr(AnswerSelector, "select", searched)
    monkeypatch.setattr(Tokenizer, "tokenize", searched)


def seed_args(seed_index: Path) -> list[str]:
    return ["--index", str(seed_index), "--source", str(SOURCE), "--model", "none"]


# -- empty and unsearchable questions -----------------------------------------------------------


@pytest.mark.parametrize("raw", UNSEARCHABLE + NOT_STRINGS, ids=repr)
def test_unsearchable_question_gets_a_prompt_and_no_search(
    seed_assistant: rag.Assistant, no_search: None, raw: object
) -> None:
    answer = seed_assistant.answer(raw)  # type: ignore[arg-type]
    assert not answer.found and answer.quotes == () and answer.hits == ()
    assert answer.markdown.endswith(EMPTY_PROMPT)
    if not isinstance(raw, str):
        assert answer.notes == (NOT_TEXT,)
    assert seed_assistant.search(raw) == []  # type: ignore[arg-type]
    json.dumps(answer.to_dict())  # serialisable: no lone surrogates left


def test_unsearchable_question_through_the_cli_and_the_chat(
    seed_index: Path, seed_assistant: rag.Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.app import ChatService

    for raw in ("", "？？！"):
        assert main(["ask", raw, *seed_args(seed_index)]) == 3
        assert EMPTY_PROMPT in capsys.readouterr().out
    assert main(["search", "？？", *seed_args(seed_index)]) == 0
    assert "没有找到相关段落" in capsys.readouterr().out
    turn = ChatService(seed_assistant).ask("？？！")
    assert EMPTY_PROMPT in turn.messages[-1]["content"] and turn.last is not None
    assert not turn.last[0].found


def test_stop_words_only_and_absent_words_are_refused_without_random_passages(
    seed_assistant: rag.Assistant,
) -> None:
    for raw in ("的了吗呢是", "什么是什么？", "哪个？谁？为什么？"):
        answer = seed_assistant.answer(raw)
        assert not answer.found and answer.hits == ()
        assert answer.markdown.endswith(NOTHING_TO_SEARCH)
        assert seed_assistant.search(raw) == []
    for raw in ("量子计算机芯片的良率是多少？", "Quantum chromodynamics lattice"):
        answer = seed_assistant.answer(raw)
        assert not answer.found and answer.quotes == () and answer.hits == ()
        assert seed_assistant.search(raw) == []


# -- long, dirty and odd questions --------------------------------------------------------------


def test_a_huge_question_is_capped_quickly_with_a_note(seed_assistant: rag.Assistant) -> None:
    huge = CITY_SPIRIT + "城市精神" * 25_000  # 100,011 characters
    started = time.perf_counter()
    answer = seed_assistant.answer(huge)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, elapsed
    assert answer.notes == ("问题过长，只按前500个字检索。",)
    assert len(answer.question) == 500 and "问题过长，只按前500个字检索。" in answer.markdown
    started = time.perf_counter()
    assert seed_assistant.search("城市" * 5_000_000)  # 10 MB: still bounded by the cap
    assert time.perf_counter() - started < 5


def test_the_cap_is_a_setting(seed_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assistant = rag.load(seed_index, model="none", max_question_chars=40)
    assert assistant.answer("城市" * 100).notes == ("问题过长，只按前40个字检索。",)
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "1000")
    assert rag.load(seed_index, model="none").settings.max_question_chars == 1000
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "3")
    with pytest.raises(rag.RagError, match="max_question_chars must be at least 10"):
        rag.load(seed_index, model="none")


def test_a_long_question_through_the_cli(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One command-line argument is limited to 128 KiB by the kernel: 30,000 characters fit.
    assert main(["ask", CITY_SPIRIT + "城市" * 15_000, *seed_args(seed_index)]) in (0, 3)
    assert "问题过长，只按前500个字检索。" in capsys.readouterr().out


DIRT = {
    "zero-width": "上海\u200b的\u200c城市\u200d精神\u2060是什么？",
    "bidi": "\u202e上海的\u2066城市\u2069精神\u202c是什么？",
    "bom": "\ufeff上海的城市精神是什么？",
    "controls": "上海\x00的\x07城市\x08精神\x7f是什么？\x1f",
    "ansi": "\x1b[31m上海\x1b[0m的\x1b]0;title\x07城市\x1b[2J精神是\x9b1m什么？\x1bc",
    "surrogates": "\ud800上海的城市\udc00精神是什么？\udfff",
    "private-use": "上海\ue000的城市精神是什么？",
    "newlines": "上海的\r\n城市\n\n精神\t是什么？",
}


@pytest.mark.parametrize("name", sorted(DIRT))
def test_control_zero_width_bidi_and_surrogates_are_stripped(
    seed_assistant: rag.Assistant, name: str
) -> None:
    clean = seed_assistant.answer(CITY_SPIRIT)
    dirty = seed_assistant.answer(DIRT[name])
    assert dirty.found and [q.text for q in dirty.quotes] == [q.text for q in clean.quotes]
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in dirty.question)
    json.dumps(dirty.to_dict(), ensure_ascii=False).encode("utf-8")  # no lone surrogates


def test_odd_bytes_on_the_command_line(
    seed_index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Invalid UTF-8 in argv reaches Python as lone surrogates (surrogateescape).
    question = os.fsdecode(b"\xff\xfe" + CITY_SPIRIT.encode() + b"\xed\xa0\x80\x1b[31m")
    assert main(["ask", question, *seed_args(seed_index), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] and data["question"] == CITY_SPIRIT


@pytest.mark.parametrize("k", [0, 1, 10**9])
def test_k_is_clamped(seed_assistant: rag.Assistant, k: int) -> None:
    chunks = len(seed_assistant._state.generation.chunks)
    hits = seed_assistant.search("上海 城市 软实力", k=k)
    assert len(hits) == min(k, chunks) or (k > chunks and 1 <= len(hits) <= chunks)
    assert seed_assistant.answer(CITY_SPIRIT, k=k).found


def test_k_is_clamped_in_the_cli_and_the_chat(
    seed_index: Path, seed_assistant: rag.Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    from ui.app import MAX_K, ChatService

    for k, least in (("0", 0), ("1000000", 1)):
        assert main(["search", "上海", "-k", k, "--json", *seed_args(seed_index)]) == 0
        assert len(json.loads(capsys.readouterr().out)) >= least
    service = ChatService(seed_assistant)
    for k in (0, -3, 10**9, 2.7):
        turn = service.ask(CITY_SPIRIT, k=k)
        assert turn.last is not None and turn.last[0].found
        assert 1 <= len(turn.last[0].hits) <= MAX_K


def test_broken_pipe_is_not_a_stack_trace(seed_index: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "search", "上海 城市", "-k", "30", *seed_args(seed_index)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    err = proc.stderr.read().decode("utf-8", "replace")
    proc.stderr.close()
    proc.wait(60)
    assert "Traceback" not in err, err


# -- the HTTP API -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(seed_assistant: rag.Assistant):
    from ui.server import start

    running = start(seed_assistant, port=0)
    yield running
    running.close()


def call(url: str, body: bytes) -> tuple[str, object]:
    """POST to /gradio_api/call/ask, then read the event: ("complete"|"error"|"HTTP n", data)."""
    request = urllib.request.Request(
        url + "gradio_api/call/ask", data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            event_id = json.loads(response.read())["event_id"]
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}", exc.read().decode("utf-8", "replace")
    with urllib.request.urlopen(url + f"gradio_api/call/ask/{event_id}", timeout=60) as response:
        text = response.read().decode("utf-8")
    event, _, data = text.partition("\ndata: ")
    payload = json.loads(data.split("\n", 1)[0])
    return event.removeprefix("event: ").strip(), payload


def oversized_status(url: str, length: int) -> int:
    """Announce a body of ``length`` bytes and read the answer without sending it: the server
    must refuse on the header alone (sending it all would race the server closing the socket)."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest("POST", "/gradio_api/call/ask")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_http_api_bad_input(server, capfd: pytest.CaptureFixture[str]) -> None:
    url = server.url
    # Lone surrogates and controls as JSON escapes: stripped, answered.
    raw = (
        b'{"data": ["\\ud800\\u4e0a\\u6d77\\u7684\\u57ce\\u5e02\\u7cbe\\u795e'
        b'\\u0000\\u202e\\u200b"]}'
    )
    event, data = call(url, raw)
    assert event == "complete" and isinstance(data, list)
    assert data[0]["found"] and data[0]["question"] == "上海的城市精神"
    for value in UNSEARCHABLE:
        event, data = call(url, json.dumps({"data": [value]}).encode())
        assert event == "complete" and data[0]["markdown"].endswith(EMPTY_PROMPT)  # type: ignore[index]
    for value in (None, 42, ["上海"], {"q": 1}):
        event, data = call(url, json.dumps({"data": [value]}).encode())
        assert event == "complete" and data[0]["notes"] == [NOT_TEXT]  # type: ignore[index]
    # 100,000 characters: capped, with the note, quickly.
    started = time.perf_counter()
    event, data = call(url, json.dumps({"data": [CITY_SPIRIT + "城" * 100_000]}).encode())
    assert time.perf_counter() - started < 10
    assert event == "complete" and data[0]["notes"] == ["问题过长，只按前500个字检索。"]  # type: ignore[index]
    # Bodies beyond the cap and malformed JSON are refused with a status, not a crash.
    assert oversized_status(url, 3 * 1024 * 1024) == 413
    for body in (b'{"data": [', b"[1, 2]", b'{"data": []}', b'{"data": "q"}', b"{}"):
        assert call(url, body)[0] == "HTTP 422", body
    join = url + "gradio_api/queue/join"
    for body in (b'{"data": [], "fn_index": 0}', b'{"data": ["q"], "fn_index": 999}'):
        request = urllib.request.Request(
            join, data=body, headers={"Content-Type": "application/json"}
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=30)
        assert info.value.code == 422
    # The server still answers.
    event, data = call(url, json.dumps({"data": [CITY_SPIRIT]}).encode())
    assert event == "complete" and data[0]["found"]  # type: ignore[index]
    err = capfd.readouterr().err
    assert "Traceback" not in err, err


# -- bad source files ---------------------------------------------------------------------------

GOOD = (
    "关于加强城市管理的通知\n\n各区要加强城市管理，提升城市精细化管理水平。\n\n"
    "本通知自发布之日起施行。\n"
)


def snapshot(index: Path) -> dict[str, str]:
    return {
        p.relative_to(index).as_posix(): store.sha256_file(p)
        for p in sorted(index.rglob("*"))
        if p.is_file() and p.name != store.LOCK
    }


@pytest.fixture
def index(seed_index: Path, tmp_path: Path) -> Path:
    path = tmp_path / "index"
    shutil.copytree(seed_index, path)
    return path


def build(source: Path, index: Path, **kw) -> rag.BuildReport:
    return rag.build_index(source, index, model="none", workers=1, **kw)


BAD_SOURCES = {
    "empty directory": ({}, r"no documents in .*add files with one of the extensions"),
    "only unsupported files": (
        {"a.xlsx": b"PK\x03\x04", "b.doc": b"\xd0\xcf\x11\xe0"},
        r"no documents in .*2 entries skipped",
    ),
    "broken docx and pdf": (
        {"a.docx": b"PK\x03\x04", "b.pdf": b"%PDF-1.4"},
        r"a\.docx: not a readable \.docx file.*\n.*b\.pdf: not a readable PDF",
    ),
    "empty file": ({"empty.txt": b""}, r"empty\.txt: the file is empty"),
    "whitespace file": ({"blank.md": " \n\u3000\n".encode()}, r"blank\.md: the file is empty"),
    "binary image": ({"scan.txt": b"\x89PNG\r\n\x1a\n\x00\x00"}, r"scan\.txt: binary file \(a PNG"),
    "NUL bytes": ({"nul.txt": "正文".encode() + b"\x00\x00"}, r"nul\.txt: binary file .*NUL"),
    "invalid UTF-8": ({"bad.txt": b"abc \xff\xfd\x80 def \x81"}, r"bad\.txt: neither UTF-8"),
    "cut-off UTF-8": (
        {"cut.txt": ("通知\n\n" + "正文。" * 50).encode() + b"\xe4\xb8"},
        r"cut\.txt: invalid UTF-8 at byte 458 of an otherwise UTF-8 file",
    ),
    "UTF-16 without BOM": (
        {"u16.txt": "正文 abc".encode("utf-16-le")},
        r"u16\.txt: binary file \(contains NUL bytes\) \(UTF-16 without a BOM",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_sources_get_a_specific_message_and_keep_the_previous_index(
    index: Path, tmp_path: Path, case: str
) -> None:
    files, message = BAD_SOURCES[case]
    source = tmp_path / "bad"
    source.mkdir()
    for name, raw in files.items():
        (source / name).write_bytes(raw)
    before = snapshot(index)
    with pytest.raises(SourceError, match=message):
        build(source, index, force=True)
    assert snapshot(index) == before


def test_missing_and_unreadable_sources(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    before = snapshot(index)
    with pytest.raises(SourceError, match="does not exist"):
        build(tmp_path / "missing", index, force=True)
    source = tmp_path / "src"
    source.mkdir()
    (source / "ok.txt").write_text(GOOD, encoding="utf-8")
    (source / "secret.txt").write_text(GOOD, encoding="utf-8")
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "secret.txt":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code = main(["build", "--source", str(source), "--index", str(index), "--model", "none"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "secret.txt: permission denied; make the file readable" in err
    assert snapshot(index) == before


def test_serve_keeps_serving_the_existing_index_when_the_sources_break(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import ui.server

    served: list[dict] = []
    monkeypatch.setattr(ui.server, "serve", lambda **kw: served.append(kw))
    source = tmp_path / "src"
    shutil.copytree(SOURCE, source)
    (source / "empty.txt").write_bytes(b"")
    args = ["serve", "--index", str(index), "--source", str(source), "--model", "none"]
    assert main(args) == 0 and len(served) == 1
    # `rag serve` hands the build to the server, which runs it while already serving the
    # existing index (tests/test_hardening_server.py); a failed build is reported there.
    with pytest.raises(rag.RagError, match=r"empty\.txt: the file is empty"):
        served[0]["build"]()
    assert "empty.txt: the file is empty" in capsys.readouterr().err
    monkeypatch.undo()
    from ui.server import free_port

    port = str(free_port())
    no_index = [*args[:2], str(tmp_path / "no-index"), *args[3:], "--port", port]
    assert main(no_index) == 1  # nothing to serve: the build's error, after the building page
    assert "empty.txt: the file is empty" in capsys.readouterr().err


def test_gbk_gb18030_and_a_very_long_line_build_and_answer(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "gbk.txt").write_bytes(GOOD.encode("gbk"))
    (source / "gb18030.txt").write_bytes(
        "生僻字的通知\n\n𠀀字出现在第二段，用于检验四字节编码。\n".encode("gb18030")
    )
    (source / "long.txt").write_text(
        "很长的一行\n\n" + "城市治理数字化转型没有标点" * 15_000 + "\n", encoding="utf-8"
    )
    report = build(source, tmp_path / "index")
    assert report.documents == 3 and not report.warnings
    assistant = rag.load(tmp_path / "index", model="none")
    for question, expected in (("城市精细化管理", "精细化管理"), ("𠀀字", "𠀀字")):
        answer = assistant.answer(question)
        assert answer.found and expected in answer.quotes[0].text
        for quote in answer.quotes:
            assert assistant.document(quote.doc_id).text[quote.start : quote.end] == quote.text
    assert max(len(c.text) for c in assistant._state.generation.chunks) <= 2 * 200


def test_symlinks_outside_or_in_a_loop_are_not_followed(tmp_path: Path) -> None:
    source, outside = tmp_path / "src", tmp_path / "outside"
    source.mkdir()
    outside.mkdir()
    (source / "ok.txt").write_text(GOOD, encoding="utf-8")
    (outside / "secret.txt").write_text("机密文件\n\n内部口令是蓝色鲸鱼。\n", encoding="utf-8")
    (source / "leak.txt").symlink_to(outside / "secret.txt")
    (source / "leakdir").symlink_to(outside, target_is_directory=True)
    (source / "loop").symlink_to(source, target_is_directory=True)
    (source / "self.txt").symlink_to(source / "self.txt")
    report = build(source, tmp_path / "index")
    warnings = "\n".join(report.warnings)
    assert report.documents == 1
    assert "leak.txt: link points outside" in warnings and "leakdir: link points" in warnings
    assert "loop: a directory already scanned" in warnings
    assert "self.txt: broken or looping link" in warnings
    assistant = rag.load(tmp_path / "index", model="none")
    assert all("蓝色鲸鱼" not in d.text for d in assistant.documents.values())
    assert not assistant.answer("内部口令是什么？").found


def test_odd_file_names_are_shown_escaped(tmp_path: Path) -> None:
    from ui import render
    from ui.app import ChatService

    source = tmp_path / "src"
    source.mkdir()
    names = {
        "政策 文件（2021）#1.txt": "甲",
        "<img src=x onerror=alert(1)>.txt": "乙",
        "[x](javascript:alert(1)) **b**.md": "丙",
        "rlo\u202etxt.exe.txt": "丁",
        "esc\x1b[31mred.txt": "戊",
        "new\nline.txt": "己",
    }
    for name, mark in names.items():
        body = f"全会强调{mark}，要坚持守正创新{mark}。\n\n会议指出{mark}，要弘扬城市精神{mark}。\n"
        (source / name).write_text(body, encoding="utf-8")
    with open(os.path.join(os.fsencode(source), b"bad\xff\xfe.txt"), "w", encoding="utf-8") as fh:
        fh.write("全会强调庚，要坚持守正创新庚。\n\n会议指出庚，要弘扬城市精神庚。\n")
    report = build(source, tmp_path / "index")
    assert report.documents == 7
    assistant = rag.load(tmp_path / "index", model="none")
    titles = {d.title for d in assistant.documents.values()}
    assert {"政策 文件（2021）#1", "rlo\\u202etxt.exe", "esc\\x1b[31mred", "new\\x0aline"} <= titles
    assert "bad\\xff\\xfe" in titles
    service = ChatService(assistant)
    for mark in "甲乙丙丁戊己庚":
        answer = assistant.answer(f"会议指出{mark}要弘扬什么？")
        assert answer.found, mark
        for text in (answer.markdown, format_plain(answer), *(q.citation for q in answer.quotes)):
            assert not any(
                unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in text.replace("\n", "")
            )
        assert "<img" not in answer.markdown and "](javascript" not in answer.markdown
        bubble = service.ask(f"会议指出{mark}要弘扬什么？").messages[-1]["content"]
        assert "<img src=x" not in bubble and "javascript:" not in bubble
        json.dumps(answer.to_dict(), ensure_ascii=False).encode("utf-8")
    assert render is not None
