"""Second hardening round, the web server: the login limit that a header bypassed, the burst,
trusted proxies, slow clients, forwarded hosts, bad bodies and API names, Gradio's v2 call,
serving while the index is built, and bounded feedback (issue 12)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import http_helpers
import pytest
from http_helpers import FakeClock

import rag

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
CITY_SPIRIT = "上海的城市精神是什么？"
USER, PASSWORD = "reader", "s3cret-口令"
FORM = "application/x-www-form-urlencoded"


def request(url: str, path: str, **kwargs: Any) -> tuple[int, dict[str, str], bytes]:
    # These tests have always waited up to 60 s for a reply (the access tests 30 s).
    kwargs.setdefault("timeout", 60)
    return http_helpers.request(url, path, **kwargs)


def login(url: str, password: str, headers: dict[str, str] | None = None) -> int:
    body = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    return request(
        url, "/login", method="POST", body=body, headers={"Content-Type": FORM, **(headers or {})}
    )[0]


def post_json(url: str, path: str, payload: object | bytes) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    status, _, content = request(
        url, path, method="POST", body=body, headers={"Content-Type": "application/json"}
    )
    try:
        return status, json.loads(content)
    except ValueError:
        return status, {"raw": content.decode("utf-8", "replace")}


def read_event(url: str, path: str) -> tuple[str, object]:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=60) as response:
        text = response.read().decode("utf-8")
    event = data = ""
    for line in text.splitlines():
        if line.startswith("event: "):
            event = line[len("event: ") :].strip()
        elif line.startswith("data: "):
            data = line[len("data: ") :]
    return event, json.loads(data) if data else None


# -- 1. the login limit -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def protected(seed_assistant, clock: FakeClock):
    from ui.server import LoginLimiter, start

    limiter = LoginLimiter(free_attempts=5, base_delay=2.0, max_delay=60.0, clock=clock)
    running = start(seed_assistant, port=0, auth=(USER, PASSWORD), limiter=limiter)
    yield running
    running.close()


def test_rotating_x_forwarded_for_does_not_bypass_the_login_backoff(protected) -> None:
    protected.policy.limiter.success("127.0.0.1")
    statuses = [
        login(protected.url, "wrong", {"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(30)
    ]
    assert statuses[:5] == [400] * 5
    assert set(statuses[5:]) == {429}
    # Nor do the other spellings of a forwarded address.
    for header in ("X-Real-IP", "Forwarded"):
        assert login(protected.url, "wrong", {header: "for=10.9.9.9"}) == 429
    protected.policy.limiter.success("127.0.0.1")


def test_uvicorn_trusts_no_forwarding_headers_by_default(protected) -> None:
    config = protected.app.server.config
    assert config.proxy_headers is False and config.forwarded_allow_ips == []
    assert protected.policy.trusted_proxies == ()


def test_a_burst_of_parallel_wrong_logins_checks_at_most_the_allowance(protected) -> None:
    protected.policy.limiter.success("127.0.0.1")
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda _: login(protected.url, "wrong"), range(40)))
    assert statuses.count(400) <= 5, statuses
    assert statuses.count(400) + statuses.count(429) == 40
    protected.policy.limiter.success("127.0.0.1")


def test_the_limiter_reservation_is_atomic() -> None:
    from ui.server import LoginLimiter

    limiter = LoginLimiter(free_attempts=5, clock=FakeClock())
    barrier = threading.Barrier(40)
    admitted: list[bool] = []

    def attempt() -> None:
        barrier.wait()
        admitted.append(limiter.acquire("10.0.0.1") == 0)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 5
    for _ in range(5):
        limiter.release("10.0.0.1", False)
    assert limiter.retry_after("10.0.0.1") == 1.0
    # An attempt that checked no password (a malformed request) costs nothing.
    other = LoginLimiter(free_attempts=1, clock=FakeClock())
    assert other.acquire("a") == 0
    assert other.acquire("a") > 0  # the one allowed attempt is still being checked
    other.release("a", None)
    assert other.acquire("a") == 0


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(seed_assistant) -> None:
    from ui.server import LoginLimiter, start

    limiter = LoginLimiter(free_attempts=2, base_delay=30.0, clock=FakeClock())
    running = start(
        seed_assistant,
        port=0,
        auth=(USER, PASSWORD),
        limiter=limiter,
        trusted_proxies=["127.0.0.1"],
    )
    try:
        config = running.app.server.config
        assert config.proxy_headers is True and config.forwarded_allow_ips == ["127.0.0.1"]
        one = {"X-Forwarded-For": "203.0.113.7"}
        assert [login(running.url, "wrong", one) for _ in range(3)] == [400, 400, 429]
        # Another client behind the same proxy is not held up by the first.
        assert login(running.url, "wrong", {"X-Forwarded-For": "203.0.113.8"}) == 400
        assert limiter.retry_after("203.0.113.7") > 0 and limiter.retry_after("127.0.0.1") == 0
    finally:
        running.close()


def test_trusted_proxies_are_checked_and_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rag.cli import _trusted_proxies, main, make_parser
    from ui.server import parse_trusted_proxies

    assert parse_trusted_proxies(["127.0.0.1", " 10.0.0.0/8 ", "::1", ""]) == (
        "127.0.0.1",
        "10.0.0.0/8",
        "::1",
    )
    for bad in ("*", "proxy.example.org", "10.0.0.0/99"):
        with pytest.raises(ValueError, match="not an IP address or network"):
            parse_trusted_proxies([bad])
    args = make_parser().parse_args(["serve"])
    assert args.trusted_proxy == [] and _trusted_proxies(args) == ()
    monkeypatch.setenv("RAG_TRUSTED_PROXIES", "127.0.0.1,192.168.1.0/24")
    assert _trusted_proxies(args) == ("127.0.0.1", "192.168.1.0/24")
    args = make_parser().parse_args(["serve", "--trusted-proxy", "10.1.1.1"])
    assert _trusted_proxies(args) == ("10.1.1.1",)
    monkeypatch.setenv("RAG_TRUSTED_PROXIES", "*")
    assert main(["serve", "--index", "/nonexistent-index"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an IP address" in err


def test_the_documented_proxy_example_sets_the_forwarded_headers() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    nginx = text[text.index("```nginx") :]
    nginx = nginx[: nginx.index("```", 8)]
    for location in re.findall(r"location[^{]*\{[^}]*\}", nginx):
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in location, location
        assert 'proxy_set_header X-Forwarded-Host "";' in location, location
        assert "proxy_set_header X-Forwarded-Proto $scheme;" in location, location
    assert "--trusted-proxy 127.0.0.1" in text


# -- 6. slow clients, forwarded hosts, Gradio's v2 call -----------------------------------------


@pytest.fixture(scope="module")
def open_server(seed_assistant):
    from ui.server import start

    running = start(seed_assistant, port=0, header_timeout=1.0)
    yield running
    running.close()


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def test_clients_that_trickle_their_headers_are_timed_out(open_server) -> None:
    sockets = []
    for _ in range(50):
        sock = socket.create_connection(_address(open_server.url), timeout=10)
        sock.sendall(b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        sockets.append(sock)
    started = time.monotonic()
    try:
        for sock in sockets[:10]:  # keep sending, one header line at a time
            sock.sendall(b"X-Slow: 1\r\n")
        time.sleep(0.5)
        for sock in sockets[:10]:
            sock.sendall(b"X-Slow: 2\r\n")
        answers = []
        for sock in sockets:
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
            answers.append(data)
        elapsed = time.monotonic() - started
    finally:
        for sock in sockets:
            sock.close()
    assert elapsed < 20, elapsed  # 1 s each under no load; generous for a busy machine
    assert all(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:3]
    # A client that sends its request in time is served as before.
    assert request(open_server.url, "/config")[0] == 200


def test_the_uvicorn_server_has_its_timeouts(open_server) -> None:
    config = open_server.app.server.config
    assert config.timeout_keep_alive == 5
    # The C parser, with the same deadlines (h11 only where httptools is missing).
    assert config.http.__name__ == "TimedHttpToolsProtocol"
    assert config.h11_max_incomplete_event_size == 64 * 1024


def test_a_header_block_over_64_kib_is_refused(open_server) -> None:
    sock = socket.create_connection(_address(open_server.url), timeout=10)
    data = b""
    try:
        sock.sendall(b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(70):  # 70 KiB of headers, never finished
            sock.sendall(b"X-Big: " + b"a" * 1000 + b"\r\n")
        while chunk := sock.recv(4096):
            data += chunk
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 431"), data[:80]
    assert request(open_server.url, "/config", headers={"X-Fine": "a" * 8000})[0] == 200


def test_keep_alive_requests_are_served_and_a_slow_second_request_is_timed_out(
    open_server,
) -> None:
    sock = socket.create_connection(_address(open_server.url), timeout=10)
    try:
        for _ in range(3):  # three requests on one connection, each in time
            sock.sendall(b"GET /config HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = b""
            while len(body) < length:
                body += sock.recv(length - len(body))
        sock.sendall(b"GET /config HTTP/1.1\r\n")  # then a request that never ends
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 408"), data[:80]


def test_x_forwarded_host_does_not_change_gradios_root(open_server) -> None:
    for header in ("X-Forwarded-Host", "X-Gradio-Server"):
        value = "evil.example.com" if header == "X-Forwarded-Host" else "http://evil.example.com"
        status, _, content = request(open_server.url, "/config", headers={header: value})
        assert status == 200
        config = json.loads(content)
        assert "evil" not in config["root"] and "evil" not in content.decode("utf-8")
    status, _, content = request(open_server.url, "/config", headers={"X-Forwarded-Proto": "https"})
    assert json.loads(content)["root"].startswith("http://127.0.0.1")


def test_gradios_v2_curl_call_answers(open_server) -> None:
    url = open_server.url
    # What Gradio's API page shows for curl: POST {root}gradio_api/call/v2/ask with the
    # parameters by name, then read the event stream.
    status, data = post_json(url, "/gradio_api/call/v2/ask", {"question": CITY_SPIRIT})
    assert status == 200, data
    event, payload = read_event(url, f"/gradio_api/call/v2/ask/{data['event_id']}")
    assert event == "complete" and payload[0]["found"]  # type: ignore[index]
    # The classic form still works; a v2 call without the parameter is refused clearly.
    status, data = post_json(url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
    assert status == 200
    status, data = post_json(url, "/gradio_api/call/v2/ask", {"q": CITY_SPIRIT})
    assert status == 422 and "question" in data["detail"]


def test_unknown_api_names_and_deep_bodies_get_a_4xx_without_a_trace(
    open_server, capfd: pytest.CaptureFixture[str]
) -> None:
    url = open_server.url
    for path in (
        "/gradio_api/call/nope",
        "/gradio_api/call/v2/nope",
        "/gradio_api/run/nope",
        "/gradio_api/api/nope",
    ):
        status, data = post_json(url, path, {"data": ["x"]})
        assert status == 404 and "unknown API name" in data["detail"], (path, data)
    deep = b'{"data": [' + b"[" * 5000 + b"]" * 5000 + b"]}"
    for path in ("/gradio_api/call/ask", "/gradio_api/queue/join", "/gradio_api/cancel", "/x"):
        status, data = post_json(url, path, deep)
        assert status == 422 and "nested" in data["detail"], (path, data)
    # Without a content type FastAPI reads JSON too: checked the same way.
    status, _, _ = request(url, "/gradio_api/cancel", method="POST", body=deep)
    assert status == 422
    status, data = post_json(url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
    assert status == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[-2000:]


# -- 2. serving while the index is built --------------------------------------------------------


def test_serve_listens_at_once_and_answers_from_the_previous_index_while_building(
    seed_index: Path, tmp_path: Path
) -> None:
    import shutil

    from ui.server import launch

    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    release = threading.Event()
    finished = threading.Event()
    before = rag.load(index, model="none").info.build_id

    def build() -> None:
        release.wait(60)
        rag.build_index(SOURCE, index, model="none", workers=1, force=True)
        finished.set()

    started = time.monotonic()
    running = launch(index, port=0, settings=rag.Settings.load(model="none"), build=build)
    try:
        assert time.monotonic() - started < 60
        status, data = post_json(running.url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
        assert status == 200, data
        event, payload = read_event(running.url, f"/gradio_api/call/ask/{data['event_id']}")
        assert event == "complete" and payload[0]["build_id"] == before  # type: ignore[index]
        assert not finished.is_set()
        release.set()
        assert finished.wait(120)
        _, data = post_json(running.url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
        event, payload = read_event(running.url, f"/gradio_api/call/ask/{data['event_id']}")
        assert payload[0]["build_id"] != before and payload[0]["found"]  # type: ignore[index]
    finally:
        release.set()
        running.close()


def test_serve_without_an_index_says_it_is_being_built(tmp_path: Path) -> None:
    from ui.server import BUILDING_DETAIL, free_port, launch

    index = tmp_path / "index"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    release = threading.Event()
    result: dict[str, object] = {}

    def build() -> None:
        release.wait(60)
        rag.build_index(SOURCE, index, model="none", workers=1)

    def run() -> None:
        try:
            result["running"] = launch(
                index, port=port, settings=rag.Settings.load(model="none"), build=build
            )
        except Exception as exc:  # reported by the assertions below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        status = 0
        while time.monotonic() < deadline:
            try:
                status, headers, page = request(url, "/")
                break
            except OSError:
                time.sleep(0.1)
        assert status == 503 and "正在建立索引" in page.decode("utf-8")
        assert {k.lower(): v for k, v in headers.items()}["retry-after"] == "5"
        status, data = post_json(url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
        assert status == 503 and data["detail"] == BUILDING_DETAIL
        assert request(url, "/", headers={"Host": "evil.example.com"})[0] == 400  # gate applies
        release.set()
        thread.join(180)
        assert "error" not in result, result
        running = result["running"]
        status, data = post_json(url, "/gradio_api/call/ask", {"data": [CITY_SPIRIT]})
        event, payload = read_event(url, f"/gradio_api/call/ask/{data['event_id']}")
        assert event == "complete" and payload[0]["found"]  # type: ignore[index]
        running.close()  # type: ignore[attr-defined]
    finally:
        release.set()


def test_serve_without_an_index_and_a_failing_build_exits_with_the_error(tmp_path: Path) -> None:
    from ui.server import free_port, launch

    def build() -> None:
        raise rag.SourceError("source path nowhere does not exist")

    with pytest.raises(rag.SourceError, match="does not exist"):
        launch(tmp_path / "index", port=free_port(), build=build)


# -- 5. feedback --------------------------------------------------------------------------------


def _record(n: int = 0) -> dict:
    return {"question": f"问题{n}", "answer": "「答案」" * 200, "build_id": "b1", "found": True}


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_one_vote_per_answer_and_session_a_later_vote_replaces_it(tmp_path: Path) -> None:
    from ui.feedback import FeedbackLog

    path = tmp_path / "feedback.jsonl"
    log = FeedbackLog(path, per_client=10_000, overall=10_000)
    for _ in range(300):
        log.record(_record(), "up", session="s1", client="127.0.0.1")
    assert len(_lines(path)) == 1
    assert log.record(_record(), "down", session="s1", client="127.0.0.1") == "replaced"
    assert [x["rating"] for x in _lines(path)] == ["down"]
    log.record(_record(), "up", session="s2", client="127.0.0.1")  # another session
    log.record(_record(1), "up", session="s1", client="127.0.0.1")  # another answer
    assert len(_lines(path)) == 3
    assert log.record(_record(), "retracted", session="s1", client="127.0.0.1") == "replaced"
    lines = _lines(path)
    assert len(lines) == 3 and sorted(x["rating"] for x in lines) == ["retracted", "up", "up"]
    assert all("s1" not in json.dumps(x) for x in lines)  # the session id is not stored
    # A new FeedbackLog on the same file (a restart) still knows the votes.
    again = FeedbackLog(path, per_client=10_000, overall=10_000)
    assert again.record(_record(1), "down", session="s1", client="127.0.0.1") == "replaced"
    assert len(_lines(path)) == 3


def test_feedback_is_rate_limited_per_client_and_overall(tmp_path: Path) -> None:
    from ui.feedback import FeedbackLog

    clock = FakeClock()
    log = FeedbackLog(tmp_path / "f.jsonl", per_client=30, overall=50, clock=clock)
    outcomes = [log.record(_record(n), "up", session="s", client="a") for n in range(40)]
    assert outcomes.count("recorded") == 30 and outcomes[30:] == ["rate limited"] * 10
    others = [log.record(_record(n), "up", session="t", client="b") for n in range(40)]
    assert others.count("recorded") == 20  # the overall limit
    clock.now += 61
    assert log.record(_record(99), "up", session="s", client="a") == "recorded"


def test_feedback_file_is_capped_and_rotated(tmp_path: Path) -> None:
    from ui.feedback import FeedbackLog

    path = tmp_path / "f.jsonl"
    log = FeedbackLog(path, max_bytes=20_000, backups=2, per_client=10**6, overall=10**6)
    for n in range(100):
        log.record(_record(n), "up", session=f"s{n}", client="c")
        assert path.stat().st_size <= 20_000
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["f.jsonl", "f.jsonl.1", "f.jsonl.2"]
    assert all(p.stat().st_size <= 20_000 for p in tmp_path.iterdir())


def test_the_chat_records_votes_per_session_through_the_service(seed_assistant, tmp_path) -> None:
    from ui.app import ChatService

    settings = seed_assistant.settings.with_(feedback_path=tmp_path / "fb.jsonl")
    service = ChatService(seed_assistant, settings)
    turn = service.ask(CITY_SPIRIT)
    taken = [service.feedback(turn.records, 1, True, "session-1", "127.0.0.1") for _ in range(29)]
    assert all(taken)
    assert len(_lines(tmp_path / "fb.jsonl")) == 1
    assert service.feedback(turn.records, 1, False, "session-1", "127.0.0.1")
    assert [x["rating"] for x in _lines(tmp_path / "fb.jsonl")] == ["down"]
    assert not service.feedback(turn.records, 1, True, "session-1", "127.0.0.1")  # 31st vote
