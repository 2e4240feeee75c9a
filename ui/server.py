"""Serve the chat page: what ``rag serve`` calls.

Telemetry is off before Gradio is first imported (``ui/__init__.py`` sets
``GRADIO_ANALYTICS_ENABLED=False`` and ``HF_HUB_DISABLE_TELEMETRY=1``; importing this module
imports the package first), and the page loads nothing from outside the server.

Every request passes :class:`ui.gate.AccessGate` before it reaches Gradio (or any route
mounted beside it): with ``auth`` every route needs a login (401 otherwise) and wrong passwords
are slowed down (429); requests from foreign origins (403), for unknown ``Host`` names (400;
bound to loopback only loopback names are accepted) and uploads (403) are refused; bodies are
capped at :data:`MAX_BODY_BYTES` (413) and parsed bounded (422). The uvicorn server under it
times out slow clients and believes forwarding headers only from trusted proxies
(:mod:`ui.transport`). With a ``build``, :func:`launch` listens at once (:mod:`ui.building`).
Deployment beyond localhost: see ``docs/SECURITY.md``.

Example:
    >>> from ui.server import serve
    >>> serve("index", host="127.0.0.1", port=7860)            # blocks until Ctrl-C
    >>> handle = start(rag.load("index"), port=0)               # non-blocking, for tests
    >>> handle.url, handle.close()
"""

from __future__ import annotations

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
from starlette.routing import Mount  # noqa: E402

import rag  # noqa: E402

from .app import build_app, launch_options  # noqa: E402
from .building import BUILDING_DETAIL, building_page  # noqa: E402
from .gate import (  # noqa: E402
    LOOPBACK_HOSTS,
    MAX_BODY_BYTES,
    AccessGate,
    AccessPolicy,
    LoginLimiter,
    access_policy,
    is_loopback,
    parse_trusted_proxies,
)
from .transport import HEADER_TIMEOUT, uvicorn_configured, uvicorn_options  # noqa: E402

if TYPE_CHECKING:
    from rag import Assistant, Settings


@dataclass
class Running:
    """A started server: its page, URL, access policy and a way to stop it."""

    app: gr.Blocks
    url: str
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    builder: threading.Thread | None = None

    def close(self) -> None:
        self.app.close()


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
    # The JSON API (ui/api.py) is one of the app's routes from the start, before Gradio's own
    # (a FastAPI `routes` argument), so it answers as soon as the port does and the access
    # gate wraps it like every other route. Adding documents needs a login off loopback.
    from .api import create_api

    api = create_api(
        app.rag_service,  # type: ignore[attr-defined]
        uploads_allowed=policy.auth_required or is_loopback(host),
    )
    with uvicorn_configured(uvicorn_options(policy, header_timeout)):
        _, url, _ = app.launch(
            server_name=host,
            server_port=port or free_port(host),
            auth=auth,
            prevent_thread_lock=True,
            quiet=quiet,
            app_kwargs={
                "middleware": [Middleware(AccessGate, policy=policy)],
                "routes": [Mount("/api", app=api)],
                # The gate caps every other body at MAX_BODY_BYTES; an upload (PUT
                # /api/documents) is capped by ui/api.py at Settings.max_upload_mb, with a
                # message; this outer cap (plain 413) only stops what is far larger.
                "max_body_size": max(
                    MAX_BODY_BYTES, (settings or resolved.settings).max_upload_bytes + 2**20
                ),
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
    "LOOPBACK_HOSTS",
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
]
