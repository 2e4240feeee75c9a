"""The gate in front of every route of the chat server (an ASGI middleware).

:class:`AccessGate` applies :class:`AccessPolicy` to every HTTP and websocket request, whatever
app is behind it (Gradio's routes, JSON routes mounted beside them, the page shown while the
index is built): with a login every route needs the session cookie (401 otherwise) and wrong
passwords are slowed down per client address (429, :class:`LoginLimiter`); foreign origins
(403), unknown ``Host`` names (400) and uploads (403) are refused; forwarding headers are
dropped unless uvicorn applied them from a trusted proxy; every JSON body is parsed bounded
first (422), and event calls to unknown API names get 404.

Example:
    >>> policy = access_policy("127.0.0.1", auth=("reader", "pw"))
    >>> app = AccessGate(app, policy)
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import cookie_parser

from rag import guards

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
_RAW_UPLOAD_PREFIX = "/api/documents/"  # issue 13: see AccessGate._call
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
        # -- issue 13 hook: a document upload (PUT /api/documents/{name}) is the file's raw
        # bytes; ui/api.py reads and checks them itself (bounded) and never parses them as JSON.
        if path.startswith(_RAW_UPLOAD_PREFIX) and scope["method"] == "PUT":
            await self.app(scope, receive, send)
            return
        if not is_call and _content_type(scope).startswith(_FORM_TYPES):
            await self.app(scope, receive, send)  # the login form and nothing else
            return
        if _declared_length(scope) > MAX_BODY_BYTES:  # refused on the header alone
            await _refuse(scope, receive, send, 413, "request body too large")
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


def _declared_length(scope: Any) -> int:
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else 0
    return 0


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


__all__ = [
    "LOOPBACK_HOSTS",
    "MAX_BODY_BYTES",
    "AccessGate",
    "AccessPolicy",
    "LoginLimiter",
    "access_policy",
    "is_loopback",
    "parse_trusted_proxies",
]
