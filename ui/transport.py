"""The uvicorn server under the chat: request read deadlines and trusted proxies.

Gradio creates its uvicorn ``Config`` itself and offers none of these settings, so
:func:`uvicorn_configured` hands it a ``Config`` with :func:`uvicorn_options` for the
duration of one launch.

Example:
    >>> with uvicorn_configured(uvicorn_options(policy)):
    ...     demo.launch(prevent_thread_lock=True)
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .gate import AccessPolicy

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


# The request line and headers of one request may take at most this many bytes (431 beyond).
MAX_HEADER_BYTES = 64 * 1024
_HEADERS, _BODY = "headers", "body"
# After a 431 the connection is half-closed and its input read and dropped for this long
# before it is closed: closing with unread input makes TCP reset the connection, and a
# client still sending its headers could lose the 431 before reading it.
LINGER_SECONDS = 2.0
_HEADERS_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    b"content-length: 24\r\nconnection: close\r\n\r\nrequest header too large"
)


def timed_httptools_protocol(
    header_timeout: float, body_timeout: float, max_header_bytes: int = MAX_HEADER_BYTES
) -> type:
    """uvicorn's httptools protocol (the C parser) with the deadlines of
    :func:`timed_protocol` and a cap on the size of a request's headers.

    The pure-Python h11 parser costs about a millisecond of server CPU per request, a third
    of a JSON API answer (``benchmarks/api_load.py``: 3.5 -> 2.5 ms per answer); this keeps
    the same protection on the fast parser. A request's headers must arrive within
    ``header_timeout`` seconds of its first byte (of the connection, for the first one) and
    hold at most ``max_header_bytes``; its body within ``body_timeout`` after them.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class TimedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _phase: str | None = None
        _header_bytes = 0
        _lingering = False

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm(_HEADERS, header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._lingering:
                return  # the rest of a refused request: read and dropped
            if self._phase is None:  # the next request on a kept-alive connection begins
                self._arm(_HEADERS, header_timeout)
            if self._phase == _HEADERS:
                self._header_bytes += len(data)
            super().data_received(data)
            if (
                self._phase == _HEADERS
                and self._header_bytes > max_header_bytes
                and not self.transport.is_closing()
            ):
                self._disarm()
                if self._may_answer():
                    self.transport.write(_HEADERS_TOO_LARGE_RESPONSE)
                self._linger()

        def _linger(self) -> None:
            transport = self.transport
            self._lingering = True
            if transport.can_write_eof():
                transport.write_eof()  # the 431, then FIN; the client's rest is dropped
                self.loop.call_later(LINGER_SECONDS, transport.close)
            else:
                transport.close()

        def eof_received(self) -> None:
            if self._lingering:
                self.transport.close()
                return
            super().eof_received()

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._header_bytes = 0
            if not self.transport.is_closing():
                self._arm(_BODY, body_timeout)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def handle_websocket_upgrade(self) -> None:
            self._disarm()
            super().handle_websocket_upgrade()

        def _may_answer(self) -> bool:
            # No response of this request has started (or the last one is complete).
            cycle = self.cycle
            return cycle is None or cycle.response_complete or not cycle.response_started

        def _arm(self, phase: str, seconds: float) -> None:
            if self._deadline is not None and self._phase == phase:
                return  # the deadline runs from the start of the phase, not the last byte
            self._disarm()
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline, self._phase = None, None
            self._header_bytes = 0

        def _expired(self) -> None:
            self._deadline = None
            transport = self.transport
            if transport.is_closing() or transport.get_protocol() is not self:
                return
            if self._may_answer():
                transport.write(_REQUEST_TIMEOUT_RESPONSE)
            transport.close()

    return TimedHttpToolsProtocol


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
    try:
        protocol = timed_httptools_protocol(header_timeout, body_timeout)
    except ImportError:  # httptools is a dependency; h11 is uvicorn's own fallback
        protocol = timed_protocol(header_timeout, body_timeout)
    return {
        "proxy_headers": bool(policy.trusted_proxies),
        "forwarded_allow_ips": list(policy.trusted_proxies),
        "timeout_keep_alive": KEEP_ALIVE_TIMEOUT,
        "http": protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


_LAUNCH_LOCK = threading.Lock()


@contextlib.contextmanager
def uvicorn_configured(options: dict[str, Any]) -> Iterator[None]:
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


__all__ = [
    "BODY_TIMEOUT",
    "HEADER_TIMEOUT",
    "KEEP_ALIVE_TIMEOUT",
    "MAX_HEADER_BYTES",
    "timed_httptools_protocol",
    "timed_protocol",
    "uvicorn_configured",
    "uvicorn_options",
]
