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

import ipaddress
import json
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import disable_telemetry

disable_telemetry()

import gradio as gr  # noqa: E402  (after the telemetry switches, on purpose)
from starlette.middleware import Middleware  # noqa: E402
from starlette.requests import cookie_parser  # noqa: E402

import rag  # noqa: E402

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


class LoginLimiter:
    """Slows down repeated wrong passwords, per client address.

    The first ``free_attempts`` failures cost nothing; after that each further attempt must
    wait ``base_delay * 2**(failures - free_attempts)`` seconds (at most ``max_delay``) after
    the last failure, and is answered 429 with ``Retry-After`` until then. A success clears
    the count. Addresses are the TCP peer: behind a reverse proxy all clients share the
    proxy's address, so rate-limit logins at the proxy too (see docs/SECURITY.md).

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
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds ``client`` must still wait before its next attempt (0 when it may try)."""
        with self._lock:
            count, last = self._failures.get(client, (0, 0.0))
        if count < self.free_attempts:
            return 0.0
        delay = min(self.max_delay, self.base_delay * 2 ** (count - self.free_attempts))
        return max(0.0, last + delay - self.clock())

    def failure(self, client: str) -> None:
        """Record a wrong password from ``client``."""
        with self._lock:
            count, _ = self._failures.pop(client, (0, 0.0))
            self._failures[client] = (count + 1, self.clock())
            while len(self._failures) > self.max_clients:
                self._failures.pop(next(iter(self._failures)))

    def success(self, client: str) -> None:
        """Forget ``client``'s failures."""
        with self._lock:
            self._failures.pop(client, None)


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
    """

    auth_required: bool = False
    allowed_hosts: frozenset[str] | None = LOOPBACK_HOSTS
    allowed_origins: frozenset[str] = frozenset()
    limiter: LoginLimiter = field(default_factory=LoginLimiter)


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
        """Pass the request on; an event call's body is checked first."""
        is_call = path == _QUEUE_JOIN or path.startswith(_CALL_PREFIXES)
        if scope["type"] != "http" or scope["method"] != "POST" or not is_call:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:  # bounded: the body limit (MAX_BODY_BYTES) wraps `receive`
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = _call_problem(scope, path, body)
        if problem:
            await _refuse(scope, receive, send, 422, problem)
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
        wait = limiter.retry_after(client)
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

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            limiter.success(client)
        elif status and status[0] in (400, 401, 403):
            limiter.failure(client)


def _call_problem(scope: Any, path: str, body: bytes) -> str:
    """Why an event call's body cannot be run, or "" when it looks right."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "the body must be JSON"
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return 'the body must be a JSON object {"data": [...]}'
    try:
        fns = scope["app"].get_blocks().fns
    except Exception:  # Gradio internals changed: leave the rest to Gradio
        return ""
    if path == _QUEUE_JOIN:
        fn = fns.get(payload.get("fn_index")) if isinstance(payload.get("fn_index"), int) else None
        if fn is None:
            return "unknown fn_index"
    else:
        api_name = path.rstrip("/").rsplit("/", 1)[-1]
        fn = next((f for f in fns.values() if getattr(f, "api_name", None) == api_name), None)
    needed = len(getattr(fn, "inputs", ())) if fn is not None else 0
    if len(payload["data"]) < needed:
        return f"this endpoint takes {needed} input value(s), got {len(payload['data'])}"
    return ""


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
    )


@dataclass
class Running:
    """A started server: its page, URL, access policy and a way to stop it."""

    app: gr.Blocks
    url: str
    policy: AccessPolicy = field(default_factory=AccessPolicy)

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

    Returns:
        The running server; call ``close()`` to stop it.
    """
    _warn_exposure(host, auth)
    policy = access_policy(host, auth, allowed_hosts, allowed_origins, limiter)
    resolved = _assistant(assistant, settings)
    app = build_app(resolved, settings=settings)
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
    # -- JSON API mount hook (issue 13, ui/api.py): routes under /api inside Gradio's app, so
    # the AccessGate middleware above covers them. Adding documents needs a login off loopback.
    from .api import mount as mount_api

    mount_api(
        app.server_app,
        app.rag_service,  # type: ignore[attr-defined]
        uploads_allowed=policy.auth_required or is_loopback(host),
    )
    # -- end of the API mount hook
    return Running(app, url, policy)


def serve(
    assistant: Any = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
    allowed_hosts: Iterable[str] | None = None,
    allowed_origins: Iterable[str] = (),
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

    Raises:
        rag.IndexNotBuiltError: The index path holds no index.
        OSError: The port is taken.
    """
    running = start(
        assistant,
        host=host,
        port=port,
        auth=auth,
        settings=settings,
        quiet=True,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
    # Gradio's own banner suggests share=True, which this product never uses.
    print(f"Serving the chat on {running.url} (Ctrl-C to stop)", flush=True)
    try:
        running.app.block_thread()
    finally:
        running.close()


__all__ = [
    "MAX_BODY_BYTES",
    "AccessGate",
    "AccessPolicy",
    "LoginLimiter",
    "Running",
    "access_policy",
    "free_port",
    "is_loopback",
    "serve",
    "start",
]
