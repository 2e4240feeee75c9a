"""Serve the chat page: what ``rag serve`` calls.

Telemetry is off before Gradio is first imported (``ui/__init__.py`` sets
``GRADIO_ANALYTICS_ENABLED=False`` and ``HF_HUB_DISABLE_TELEMETRY=1``; importing this module
imports the package first), and the page loads nothing from outside the server.

Example:
    >>> from ui.server import serve
    >>> serve("index", host="127.0.0.1", port=7860)            # blocks until Ctrl-C
    >>> handle = start(rag.load("index"), port=0)               # non-blocking, for tests
    >>> handle.url, handle.close()
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import disable_telemetry

disable_telemetry()

import gradio as gr  # noqa: E402  (after the telemetry switches, on purpose)

import rag  # noqa: E402

from .app import build_app, launch_options  # noqa: E402

if TYPE_CHECKING:
    from rag import Assistant, Settings


@dataclass
class Running:
    """A started server: its page, URL and a way to stop it."""

    app: gr.Blocks
    url: str

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
) -> Running:
    """Start the chat server in a background thread and return at once.

    Args:
        assistant: As for :func:`serve`.
        host: Interface to bind (a warning goes to stderr unless it is loopback).
        port: TCP port; ``0`` picks a free one.
        auth: ``(user, password)`` for the page and the API.
        settings: As for :func:`serve`.
        quiet: Suppress Gradio's startup messages.

    Returns:
        The running server; call ``close()`` to stop it.
    """
    _warn_exposure(host, auth)
    resolved = _assistant(assistant, settings)
    app = build_app(resolved, settings=settings)
    _, url, _ = app.launch(
        server_name=host,
        server_port=port or free_port(host),
        auth=auth,
        prevent_thread_lock=True,
        quiet=quiet,
        **launch_options(),
    )
    return Running(app, url)


def serve(
    assistant: Any = None,
    *,
    host: str = "127.0.0.1",
    port: int = 7860,
    auth: tuple[str, str] | None = None,
    settings: Settings | None = None,
) -> None:
    """Serve the chat until interrupted.

    Args:
        assistant: A loaded ``rag.Assistant``, a zero-argument factory returning one, an
            index directory to ``rag.load``, or ``None`` for ``settings.index``.
        host: Interface to bind. Anything but loopback prints a warning to stderr.
        port: TCP port.
        auth: ``(user, password)`` required to open the page and call the API.
        settings: Settings for loading (index path form) and for the page (feedback path).

    Raises:
        rag.IndexNotBuiltError: The index path holds no index.
        OSError: The port is taken.
    """
    running = start(assistant, host=host, port=port, auth=auth, settings=settings)
    # Gradio's own banner suggests share=True, which this product never uses.
    print(f"Serving the chat on {running.url} (Ctrl-C to stop)", flush=True)
    try:
        running.app.block_thread()
    finally:
        running.close()


__all__ = ["Running", "free_port", "is_loopback", "serve", "start"]
