"""What answers while ``rag serve`` builds the first index: 503 and a page that says so.

Example:
    >>> with building_page("127.0.0.1", 7860, policy) as url:
    ...     build_the_index()
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from .gate import AccessGate, AccessPolicy
from .transport import HEADER_TIMEOUT, uvicorn_options

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


__all__ = ["BUILDING_DETAIL", "BUILDING_PAGE", "building_app", "building_page"]
