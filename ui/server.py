"""Serve the chat page: what ``rag serve`` calls.

Telemetry is off before Gradio is first imported (``ui/__init__.py`` sets
``GRADIO_ANALYTICS_ENABLED=False`` and ``HF_HUB_DISABLE_TELEMETRY=1``; importing this module
imports the package first), and the page loads nothing from outside the server.

Every request passes :class:`AccessGate` before it reaches Gradio: with ``auth`` every route
needs a login (401 otherwise) and wrong passwords are slowed down (429); requests from foreign
origins (403), for unknown ``Host`` names (400; bound to loopback only loopback names are
accepted) and uploads (403) are refused; bodies are capped at :data:`MAX_BODY_BYTES` (413).
Deployment beyond localhost: see ``docs/SECURITY.md``.

Example:
    >>> from ui.server import serve
    >>> serve("index", host="127.0.0.1", port=7860)            # blocks until Ctrl-C
    >>> handle = start(rag.load("index"), port=0)               # non-blocking, for tests
    >>> handle.url, handle.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import disable_telemetry

disable_telemetry()

import gradio as gr  # noqa: E402  (after the telemetry switches, on purpose)
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import cookie_parser  # noqa: E402

import rag  # noqa: E402
from rag import guards  # noqa: E402

from .app import build_app, launch_options  # noqa: E402

if TYPE_CHECKING:
    from rag import Assistant, Settings


# -- access control in front of Gradio --------------------------------------------------------

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# Largest request body accepted (a 100,000-character question as JSON \u-escapes is ~600 KB).
MAX_BODY_BYTES = 2 * 1024 * 1024
# What the login page itself needs before anyone has logged in.
_LOGIN_PATHS = frozenset({"/login", "/login/"})
_PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/")
_PUBLIC_PATHS = frozenset(
    {
        "/favicon.ico",
        "/theme.css",
        "/gradio_api/theme.css",
        "/robots.txt",
        "/manifest.json",
        # Gradio calls it itself while launching; it only starts the queue, once.
        "/gradio_api/startup-events",
    }
)
# The page has no file components: nothing may be uploaded to the server's disk.
_REFUSED_PATHS = frozenset({"/gradio_api/upload", "/gradio_api/upload_progress"})
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}
# Routes that run an event from a JSON body {"data": [...], ...}. A malformed one is answered
# 422 here; Gradio would print a stack trace to the server log and answer {"error": null}.
_CALL_PREFIXES = ("/gradio_api/call/", "/gradio_api/run/", "/gradio_api/api/")
_QUEUE_JOIN = "/gradio_api/queue/join"
# Gradio's keyword-argument calls ({"question": "…"}), the form its API page shows for curl.
_CALL_V2 = "/gradio_api/call/v2/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Statuses of POST /login that mean a password was checked and was wrong.
_WRONG = frozenset({400, 401, 403})
# Headers a client could use to pose as another client, host or scheme (see
# _without_forwarding_headers); lower case, as ASGI gives them.
_FORWARDING_HEADERS = frozenset(
    {
        b"x-forwarded-host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-forwarded-server",
        b"x-gradio-server",
        b"x-real-ip",
        b"forwarded",
    }
)


class LoginLimiter:
    """Slows down repeated wrong passwords, per client address, atomically.

    The first ``free_attempts`` failures cost nothing; after that each further attempt must
    wait ``base_delay * 2**(failures - free_attempts)`` seconds (at most ``max_delay``) after
    the last failure, and is answered 429 with ``Retry-After`` until then. A success clears
    the count. An attempt is reserved with :meth:`acquire` before the password is checked and
    counts against the allowance until :meth:`release` reports its outcome, so a burst of
    parallel logins from one address checks at most the allowed number of passwords.

    Addresses are the TCP peer, or the address a trusted proxy reports (``--trusted-proxy``):
    behind a proxy that is not named, all clients share the proxy's address, so rate-limit
    logins at the proxy too (see docs/SECURITY.md).

    Args:
        free_attempts: Failures allowed before the backoff starts.
        base_delay: Seconds of the first backoff.
        max_delay: Longest backoff in seconds.
        clock: Monotonic clock (tests pass a fake one).
        max_clients: Addresses remembered at most (the oldest are forgotten first).
    """

    def __init__(
        self,
        *,
        free_attempts: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.free_attempts = free_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.clock = clock
        self.max_clients = max_clients
        # client -> [failures, time of the last failure, attempts being checked right now]
        self._state: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _delay(self, failures: float) -> float:
        return min(self.max_delay, self.base_delay * 2 ** (failures - self.free_attempts))

    def _wait(self, client: str) -> float:
        count, last, pending = self._state.get(client, (0, 0.0, 0))
        if count + pending < self.free_attempts:
            return 0.0
        if pending:  # an attempt past the allowance is being checked: wait for its outcome
            return max(self.base_delay, last + self._delay(count) - self.clock())
        return max(0.0, last + self._delay(count) - self.clock())

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next attempt (0 when it may try)."""
        with self._lock:
            return self._wait(client)

    def acquire(self, client: str) -> float:
        """Reserve one attempt for ``client``.

        Returns:
            0.0 when the attempt may go ahead (call :meth:`release` afterwards, always);
            otherwise the seconds to wait, and nothing is reserved.
        """
        with self._lock:
            wait = self._wait(client)
            if wait > 0:
                return wait
            entry = self._state.pop(client, [0, 0.0, 0])
            entry[2] += 1
            self._state[client] = entry
            self._forget_oldest()
            return 0.0

    def release(self, client: str, ok: bool | None) -> None:
        """End an attempt reserved by :meth:`acquire`.

        Args:
            client: The address.
            ok: True for a right password, False for a wrong one, None when no password was
                checked (a malformed request, a server error).
        """
        with self._lock:
            entry = self._state.get(client)
            if entry is None:
                return
            entry[2] = max(0, entry[2] - 1)
            if ok is True:
                self._state.pop(client, None)
            elif ok is False:
                entry[0] += 1
                entry[1] = self.clock()
            elif entry[0] == 0 and entry[2] == 0:
                self._state.pop(client, None)

    def failure(self, client: str) -> None:
        """Record a wrong password from ``client`` (without a reservation)."""
        with self._lock:
            entry = self._state.pop(client, [0, 0.0, 0])
            entry[0] += 1
            entry[1] = self.clock()
            self._state[client] = entry
            self._forget_oldest()

    def success(self, client: str) -> None:
        """Forget ``client``'s failures."""
        with self._lock:
            self._state.pop(client, None)

    def _forget_oldest(self) -> None:
        while len(self._state) > self.max_clients:
            self._state.pop(next(iter(self._state)))


@dataclass(frozen=True)
class AccessPolicy:
    """What the gate in front of the chat enforces.

    Attributes:
        auth_required: Every route except the login page, its static files and ``POST /login``
            needs the session cookie that Gradio sets at login.
        allowed_hosts: Host names accepted in the ``Host`` header (lower case; ``None`` = any).
            Bound to loopback, only loopback names are accepted, which defeats DNS rebinding.
        allowed_origins: Origins (``https://docs.example.gov``) allowed to call besides the
            page's own. A request whose ``Origin`` is neither is refused with 403, whatever
            CORS headers Gradio would add.
        limiter: Backoff for wrong passwords.
        trusted_proxies: Addresses or networks of reverse proxies whose ``X-Forwarded-For``
            and ``X-Forwarded-Proto`` are believed (empty: the client is the socket's peer).
    """

    auth_required: bool = False
    allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS
    allowed_origins: frozenset[str] = frozenset()
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    trusted_proxies: tuple[str, ...] = ()


def _host_name(host: str) -> str:
    """``example.org:7860`` -> ``example.org``; ``[::1]:7860`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _netloc(host: str, scheme: str = "") -> str:
    """Host and port as a browser compares them (the scheme's default port dropped)."""
    host = host.strip().lower()
    default = _DEFAULT_PORTS.get(scheme)
    return host[: -len(default)] if default and host.endswith(default) else host


class AccessGate:
    """ASGI middleware in front of every Gradio route (see :class:`AccessPolicy`).

    Gradio checks the login on most API routes but not on all of them (``/gradio_api/cancel``,
    ``/gradio_api/heartbeat/…``, ``/gradio_api/token`` and more answer anyone), serves the
    login page with status 200, reflects any ``Origin`` in CORS headers when the ``Host`` is
    not a localhost name, and has no limit on login attempts. This gate answers 401 to any
    request without a valid session (the login page itself is served, with status 401), 403
    to foreign origins and to uploads, 400 to unknown hosts and 429 to clients that keep
    guessing passwords.
    """

    def __init__(self, app: Any, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = _without_forwarding_headers(scope)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        policy = self.policy
        host = headers.get("host", "")
        if policy.allowed_hosts is not None and _host_name(host) not in policy.allowed_hosts:
            await _refuse(scope, receive, send, 400, "host not allowed")
            return
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host):
            await _refuse(scope, receive, send, 403, "cross-origin request refused")
            return
        if path in _REFUSED_PATHS:
            await _refuse(scope, receive, send, 403, "uploads are not accepted")
            return
        if path.startswith(_PUBLIC_PREFIXES) or path in _PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        if not policy.auth_required:
            await self._call(scope, receive, send, path)
            return
        if path in _LOGIN_PATHS and scope["type"] == "http":
            await self._login(scope, receive, send)
            return
        if _logged_in(scope, headers):
            await self._call(scope, receive, send, path)
            return
        if path == "/" and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            # Gradio renders its login form here; serve it, but say that credentials are needed.
            await self.app(scope, receive, _with_status(send, 401))
            return
        await _refuse(scope, receive, send, 401, "Not authenticated")

    async def _call(self, scope: Any, receive: Any, send: Any, path: str) -> None:
        """Pass the request on; a JSON body (or any body of an event call) is checked first."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        is_call = path == _QUEUE_JOIN or path.startswith(_CALL_PREFIXES)
        if not is_call and _content_type(scope).startswith(_FORM_TYPES):
            await self.app(scope, receive, send)  # the login form and nothing else
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                await _refuse(scope, receive, send, 413, "request body too large")
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        status, problem = _body_problem(scope, path, body, is_call)
        if problem:
            await _refuse(scope, receive, send, status, problem)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.strip().lower().rstrip("/")
        if origin in self.policy.allowed_origins:
            return True
        scheme, sep, rest = origin.partition("://")
        return bool(sep) and _netloc(rest, scheme) == _netloc(host, scheme)

    async def _login(self, scope: Any, receive: Any, send: Any) -> None:
        limiter = self.policy.limiter
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = limiter.acquire(client)
        if wait > 0:
            await _refuse(
                scope,
                receive,
                send,
                429,
                "too many wrong passwords; try again later",
                {"retry-after": str(math.ceil(wait))},
            )
            return
        status: list[int] = []

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            code = status[0] if status else 0
            limiter.release(client, True if code == 200 else False if code in _WRONG else None)


def _without_forwarding_headers(scope: Any) -> Any:
    """The scope without the headers a client could use to pose as someone else.

    ``X-Forwarded-Host`` and ``X-Gradio-Server`` would set the root URL Gradio puts into its
    config and links; ``X-Forwarded-For`` / ``-Proto`` / ``Forwarded`` are only believed from a
    trusted proxy, and uvicorn has already applied them to ``scope["client"]`` and
    ``scope["scheme"]`` then. What uvicorn decided is passed on as the only
    ``X-Forwarded-Proto`` Gradio sees.
    """
    kept = [(k, v) for k, v in scope["headers"] if k.lower() not in _FORWARDING_HEADERS]
    if scope.get("scheme") in ("https", "wss"):
        kept.append((b"x-forwarded-proto", b"https"))
    if len(kept) == len(scope["headers"]) and scope.get("scheme") not in ("https", "wss"):
        return scope
    return {**scope, "headers": kept}


def _content_type(scope: Any) -> str:
    for key, value in scope["headers"]:
        if key.lower() == b"content-type":
            return str(value.decode("latin-1").strip().lower())
    return ""


def _body_problem(scope: Any, path: str, body: bytes, is_call: bool) -> tuple[int, str]:
    """(status, why) when a request body must not reach the app, else (0, "").

    FastAPI reads every body that is not a form as JSON (one without a content type too), so
    each one is parsed here first, bounded: malformed or deeply nested bodies get 422 and a
    short reason instead of a stack trace in the log and a 500.
    """
    if not body.strip():
        return (422, "the body must be JSON") if is_call else (0, "")
    try:
        payload = guards.loads(body, what="the body")
    except guards.BoundedJSONError as exc:
        return 422, str(exc)
    return _call_problem(scope, path, payload) if is_call else (0, "")


def _call_problem(scope: Any, path: str, payload: Any) -> tuple[int, str]:
    """(status, why) when an event call cannot be run, or (0, "") when it looks right."""
    v2 = path.startswith(_CALL_V2)
    if not isinstance(payload, dict):
        return 422, "the body must be a JSON object"
    if not v2 and not isinstance(payload.get("data"), list):
        return 422, 'the body must be a JSON object {"data": [...]}'
    try:
        fns = scope["app"].get_blocks().fns
    except Exception:  # Gradio internals changed: leave the rest to Gradio
        return 0, ""
    if path == _QUEUE_JOIN:
        index = payload.get("fn_index")
        fn = fns.get(index) if isinstance(index, int) and not isinstance(index, bool) else None
        if fn is None:
            return 422, "unknown fn_index"
    else:
        api_name = path.rstrip("/").rsplit("/", 1)[-1]
        fn = next((f for f in fns.values() if getattr(f, "api_name", None) == api_name), None)
        if fn is None or getattr(fn, "api_visibility", "public") == "private":
            return 404, f"unknown API name {api_name[:100]!r}"
    if v2:
        missing = [name for name in _parameter_names(fn) if name not in payload]
        if missing:
            return 422, f"this endpoint needs the parameter(s) {', '.join(missing)}"
        return 0, ""
    needed = len(getattr(fn, "inputs", ()))
    if len(payload["data"]) < needed:
        return 422, f"this endpoint takes {needed} input value(s), got {len(payload['data'])}"
    return 0, ""


def _parameter_names(fn: Any) -> list[str]:
    """Names of the required parameters of an event's Python function (v2 calls name them)."""
    try:
        signature = inspect.signature(fn.fn)
    except (TypeError, ValueError, AttributeError):
        return []
    return [
        p.name
        for p in signature.parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]


def _logged_in(scope: Any, headers: dict[str, str]) -> bool:
    """True when the request carries a session cookie that Gradio issued at login."""
    app = scope.get("app")
    tokens = getattr(app, "tokens", None)
    cookie_id = getattr(app, "cookie_id", None)
    if not tokens or cookie_id is None or "cookie" not in headers:
        return False
    jar = cookie_parser(headers["cookie"])
    return any(
        jar.get(name) in tokens
        for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}")
    )


def _with_status(send: Any, status: int) -> Any:
    async def rewrite(message: Any) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "status": status}
        await send(message)

    return rewrite


async def _refuse(
    scope: Any,
    receive: Any,
    send: Any,
    status: int,
    detail: str,
    extra: dict[str, str] | None = None,
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def access_policy(
    host: str,
    auth: tuple[str, str] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] = (),
    limiter: LoginLimiter | None = None,
    trusted_proxies: Iterable[str] = (),
) -> AccessPolicy:
    """The policy for a server bound to ``host``.

    Args:
        host: The bind address.
        auth: Credentials, when the page needs a login.
        allowed_hosts: ``Host`` names to accept (``*`` = any). Default: the loopback names
            when bound to loopback, any otherwise (put a reverse proxy that pins the host in
            front, see docs/SECURITY.md). Loopback names stay allowed on a loopback bind.
        allowed_origins: Extra origins allowed to call (e.g. ``https://docs.example.gov`` when
            the proxy does not pass the original ``Host`` on).
        limiter: Login backoff (default :class:`LoginLimiter`).
        trusted_proxies: IP addresses or networks (``127.0.0.1``, ``10.0.0.0/8``) of reverse
            proxies whose ``X-Forwarded-For`` names the client. Default none: the client is
            the socket's peer and forwarding headers are ignored.

    Raises:
        ValueError: A trusted proxy is not an IP address or network.
    """
    names = {_host_name(h) for h in allowed_hosts or () if h.strip()}
    hosts: frozenset[str] | None
    if "*" in names:
        hosts = None
    elif names:
        hosts = frozenset(names | (LOOPBACK_HOSTS if is_loopback(host) else set()))
    else:
        hosts = LOOPBACK_HOSTS if is_loopback(host) else None
    return AccessPolicy(
        auth_required=auth is not None,
        allowed_hosts=hosts,
        allowed_origins=frozenset(o.strip().lower().rstrip("/") for o in allowed_origins),
        limiter=limiter or LoginLimiter(),
        trusted_proxies=parse_trusted_proxies(trusted_proxies),
    )


def parse_trusted_proxies(values: Iterable[str]) -> tuple[str, ...]:
    """Trusted proxy addresses as uvicorn takes them, each checked.

    Raises:
        ValueError: An entry is not an IP address or network (``*`` is refused: trusting
            every peer would let any client choose its own address again).
    """
    proxies: list[str] = []
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"trusted proxy {value!r} is not an IP address or network "
                "(e.g. 127.0.0.1 or 10.0.0.0/8); name the proxy's own address"
            ) from None
        proxies.append(str(network.network_address) if network.num_addresses == 1 else str(network))
    return tuple(dict.fromkeys(proxies))


# -- the HTTP server under Gradio ---------------------------------------------------------------

# A client must send a request's headers within this many seconds of starting it, and its body
# within BODY_TIMEOUT after the headers; otherwise the connection is closed (slowloris).
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 60.0
# Idle keep-alive connections are closed after this many seconds (uvicorn's default, explicit).
KEEP_ALIVE_TIMEOUT = 5.0
_REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\ncontent-length: 16\r\n"
    b"connection: close\r\n\r\nrequest timeout\n"
)


def timed_protocol(header_timeout: float, body_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline for reading each request.

    uvicorn only times out idle keep-alive connections: a client that sends its headers one
    byte at a time keeps a connection (and its memory) for as long as it likes. This protocol
    answers 408 and closes the connection when a request's headers take longer than
    ``header_timeout`` seconds, or its body longer than ``body_timeout`` after them.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _phase: object = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(h11.IDLE, header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            state = self.conn.their_state
            if state is h11.IDLE:
                self._arm(h11.IDLE, header_timeout)
            elif state is h11.SEND_BODY:
                self._arm(h11.SEND_BODY, body_timeout)
            else:
                self._disarm()

        def handle_websocket_upgrade(self, event: Any) -> None:
            self._disarm()
            super().handle_websocket_upgrade(event)

        def _arm(self, phase: object, seconds: float) -> None:
            if self._deadline is not None and self._phase is phase:
                return  # the deadline runs from the start of the phase, not the last byte
            self._disarm()
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline, self._phase = None, None

        def _expired(self) -> None:
            self._deadline = None
            transport = self.transport
            if transport.is_closing() or transport.get_protocol() is not self:
                return
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
                idle = self.cycle is None or self.cycle.response_complete
                if self.conn.our_state is h11.IDLE and idle:
                    transport.write(_REQUEST_TIMEOUT_RESPONSE)
                transport.close()

    return TimedH11Protocol


def uvicorn_options(
    policy: AccessPolicy,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> dict[str, Any]:
    """What the uvicorn server under the chat is configured with.

    Forwarding headers are applied by uvicorn only from the trusted proxies (none by default:
    uvicorn would otherwise believe ``X-Forwarded-For`` from 127.0.0.1, which lets any local
    client choose its address and rotate past the login backoff).
    """
    return {
        "proxy_headers": bool(policy.trusted_proxies),
        "forwarded_allow_ips": list(policy.trusted_proxies),
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "http": timed_protocol(header_timeout, body_timeout),
        "h11_max_incomplete_event_size": 64 * 1024,
    }


_LAUNCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _uvicorn_configured(options: dict[str, Any]) -> Any:
    """Make Gradio's ``launch`` create its uvicorn ``Config`` with ``options``.

    Gradio builds the ``Config`` itself and takes none of these settings; its
    ``gradio.http_server`` module is given a stand-in for the ``uvicorn`` module, for the
    duration of one launch, whose ``Config`` adds them.
    """
    import types

    import uvicorn
    from gradio import http_server

    def config(*args: Any, **kwargs: Any) -> Any:
        return uvicorn.Config(*args, **{**kwargs, **options})

    stand_in = types.SimpleNamespace(**{**vars(uvicorn), "Config": config})
    with _LAUNCH_LOCK:
        original = http_server.uvicorn
        http_server.uvicorn = stand_in  # type: ignore[assignment]
        try:
            yield
        finally:
            http_server.uvicorn = original


@dataclass
class Running:
    """A started server: its page, URL, access policy and a way to stop it."""

    app: gr.Blocks
    url: str
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    builder: threading.Thread | None = None

    def close(self) -> None:
        self.app.close()


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except (OSError, ValueError):
            return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _assistant(source: Any, settings: Settings | None) -> Assistant:
    if source is None:
        return rag.load(settings=settings)  # the index directory named by the settings
    if isinstance(source, (str, os.PathLike)):
        return rag.load(Path(source), settings=settings)
    if hasattr(source, "answer") and hasattr(source, "documents"):
        return source  # an Assistant (or anything with its surface)
    if callable(source):
        return source()
    raise TypeError(f"serve() needs an Assistant, a factory or an index path, got {source!r}")


def _warn_exposure(host: str, auth: tuple[str, str] | None) -> None:
    if is_loopback(host):
        return
    print(
        f"warning: serving on {host}, reachable from other machines; the chat and its "
        "/ask API answer anyone who can connect.",
        file=sys.stderr,
    )
    if auth is None:
        print(
            "warning: no --auth given: anyone on the network can use it. "
            "Use --auth USER:PASSWORD (and HTTPS via a reverse proxy) outside a trusted network.",
            file=sys.stderr,
        )


def start(
    assistant: Any = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    quiet: bool = True,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] = (),
    limiter: LoginLimiter | None = None,
    trusted_proxies: Iterable[str] = (),
    header_timeout: float = HEADER_TIMEOUT,
    build: Callable[[], Any] | None = None,
) -> Running:
    """Start the chat server in a background thread and return at once.

    Args:
        assistant: As for :func:`serve`.
        host: Interface to bind (a warning goes to stderr unless it is loopback).
        port: TCP port; ``0`` picks a free one.
        auth: ``(user, password)`` for the page and the API.
        settings: As for :func:`serve`.
        quiet: Suppress Gradio's startup messages.
        allowed_hosts: As for :func:`access_policy`.
        allowed_origins: As for :func:`access_policy`.
        limiter: Login backoff (tests pass one with a fake clock).
        trusted_proxies: As for :func:`access_policy`.
        header_timeout: Seconds a client has to send a request's headers.
        build: Run in a background thread once the server listens (``rag serve`` passes the
            build of the index): the chat answers from the loaded index meanwhile and picks
            up the new generation by itself. Its errors are printed to stderr.

    Returns:
        The running server; call ``close()`` to stop it.
    """
    _warn_exposure(host, auth)
    policy = access_policy(host, auth, allowed_hosts, allowed_origins, limiter, trusted_proxies)
    resolved = _assistant(assistant, settings)
    app = build_app(resolved, settings=settings)
    with _uvicorn_configured(uvicorn_options(policy, header_timeout)):
        _, url, _ = app.launch(
            server_name=host,
            server_port=port or free_port(host),
            auth=auth,
            prevent_thread_lock=True,
            quiet=quiet,
            app_kwargs={
                "middleware": [Middleware(AccessGate, policy=policy)],
                "max_body_size": MAX_BODY_BYTES,
            },
            **launch_options(),
        )
    running = Running(app, url, policy)
    if build is not None:
        running.builder = threading.Thread(
            target=_build_in_background, args=(build,), name="rag-build", daemon=True
        )
        running.builder.start()
    return running


def _build_in_background(build: Callable[[], Any]) -> None:
    try:
        build()
    except rag.RagError as exc:
        print(f"warning: {exc}", file=sys.stderr, flush=True)
        print("warning: answering from the index loaded before", file=sys.stderr, flush=True)
    except Exception as exc:  # a thread's exception would only reach the log as a trace
        print(f"warning: the build failed ({type(exc).__name__}: {exc})", file=sys.stderr)


# -- while the first index is being built ------------------------------------------------------

BUILDING_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>正在建立索引</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto; line-height: 1.6">
<h1>正在建立索引</h1>
<p>文件正在读入并建立检索索引，完成后本页会自动打开问答页面（每 5 秒刷新一次）。</p>
</body></html>
"""
BUILDING_DETAIL = "索引正在建立，请稍后再试。"


async def building_app(scope: Any, receive: Any, send: Any) -> None:
    """What answers while there is no index yet: 503 with ``Retry-After`` on every route,
    a page that refreshes itself at ``/`` and a JSON ``detail`` elsewhere."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        await send({"type": "websocket.close", "code": 1013})
        return
    if scope["path"] in ("/", "") and scope["method"] in ("GET", "HEAD"):
        body, kind = BUILDING_PAGE.encode(), b"text/html; charset=utf-8"
    else:
        body = json.dumps({"detail": BUILDING_DETAIL}, ensure_ascii=False).encode()
        kind = b"application/json"
    headers = [
        (b"content-type", kind),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"5"),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


@contextlib.contextmanager
def building_page(
    host: str, port: int, policy: AccessPolicy, header_timeout: float = HEADER_TIMEOUT
) -> Iterator[str]:
    """Serve :func:`building_app` (behind the same gate) on ``host:port`` while inside.

    Yields:
        The URL it listens on.
    """
    import uvicorn

    config = uvicorn.Config(
        AccessGate(building_app, policy),
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        **uvicorn_options(policy, header_timeout),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="rag-building-page", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise OSError(f"cannot listen on {host}:{port} (is the port taken?)")
        time.sleep(0.05)
    try:
        shown = f"[{host}]" if ":" in host else host
        yield f"http://{shown}:{port}/"
    finally:
        server.should_exit = True
        thread.join(30)


def launch(
    assistant: Any = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] = (),
    trusted_proxies: Iterable[str] = (),
    build: Callable[[], Any] | None = None,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> Running:
    """Listen at once and serve the chat, building the index meanwhile when ``build`` is given.

    With an index that loads, the chat starts on it and ``build`` runs in the background (see
    :func:`start`). Without one (none built yet, or damaged), a page that says the index is
    being built answers (503) on the same port while ``build`` runs; then the chat replaces
    it (for well under a second the port is closed).

    Raises:
        rag.RagError: There is no index and the build failed.
        OSError: The port is taken.
    """
    options: dict[str, Any] = {
        "host": host,
        "auth": auth,
        "settings": settings,
        "allowed_hosts": allowed_hosts,
        "allowed_origins": allowed_origins,
        "trusted_proxies": trusted_proxies,
    }
    port = port or free_port(host)
    if build is None:
        return start(assistant, port=port, **options)
    try:
        resolved = _assistant(assistant, settings)
    except rag.RagError as exc:
        say(f"no usable index yet ({exc}); building it, the chat opens when it is ready")
        policy = access_policy(host, auth, allowed_hosts, allowed_origins, None, trusted_proxies)
        with building_page(host, port, policy) as url:
            say(f"Serving a 'building the index' page on {url} meanwhile")
            build()
        resolved = _assistant(assistant, settings)
        return _start_retrying(resolved, port, options)
    return start(resolved, port=port, build=build, **options)


def _start_retrying(assistant: Any, port: int, options: dict[str, Any]) -> Running:
    """Start on the port the building page just released (the kernel may need a moment)."""
    for attempt in range(20):
        try:
            return start(assistant, port=port, **options)
        except OSError:
            if attempt == 19:
                raise
            time.sleep(0.25)
    raise AssertionError("unreachable")


def serve(
    assistant: Any = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] = (),
    trusted_proxies: Iterable[str] = (),
    build: Callable[[], Any] | None = None,
) -> None:
    """Serve the chat until interrupted.

    Args:
        assistant: A loaded ``rag.Assistant``, a zero-argument factory returning one, an
            index directory to ``rag.load``, or ``None`` for ``settings.index``.
        host: Interface to bind. Anything but loopback prints a warning to stderr.
        port: TCP port.
        auth: ``(user, password)`` required to open the page and call the API.
        settings: Settings for loading (index path form) and for the page (feedback path).
        allowed_hosts: As for :func:`access_policy`.
        allowed_origins: As for :func:`access_policy`.
        trusted_proxies: As for :func:`access_policy`.
        build: The index build, run while already listening (see :func:`launch`).

    Raises:
        rag.IndexNotBuiltError: The index path holds no index (and no build was given).
        rag.RagError: There was no index and the build failed.
        OSError: The port is taken.
    """
    running = launch(
        assistant,
        host=host,
        port=port,
        auth=auth,
        settings=settings,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        trusted_proxies=trusted_proxies,
        build=build,
    )
    # Gradio's own banner suggests share=True, which this product never uses.
    print(f"Serving the chat on {running.url} (Ctrl-C to stop)", flush=True)
    try:
        running.app.block_thread()
    finally:
        running.close()


__all__ = [
    "BUILDING_DETAIL",
    "HEADER_TIMEOUT",
    "MAX_BODY_BYTES",
    "AccessGate",
    "AccessPolicy",
    "LoginLimiter",
    "Running",
    "access_policy",
    "building_page",
    "free_port",
    "is_loopback",
    "launch",
    "parse_trusted_proxies",
    "serve",
    "start",
    "uvicorn_options",
]
