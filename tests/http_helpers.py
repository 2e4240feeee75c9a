"""Shared helpers of the HTTP hardening tests: a controllable clock and a plain request."""

from __future__ import annotations

import urllib.error
import urllib.request


class FakeClock:
    """A clock the test moves by setting ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request(
    url: str,
    path: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """One request; an HTTP error status is returned, not raised."""
    req = urllib.request.Request(
        url.rstrip("/") + path, data=body, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
