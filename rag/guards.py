"""Limits on input from outside: bounded JSON parsing and regular-file reads.

Python's JSON decoder recurses once per nesting level, so a line of 100,000 ``[`` raises
``RecursionError`` (not ``ValueError``) and escapes every ``except ValueError``; and reading a
named pipe or a device blocks or never ends. Every JSON document read from a file, a pointer
or a request body goes through :func:`loads` (one ``ValueError`` subclass with a one-line
message for every way it can fail, and a depth limit far below the recursion limit so that
no later step trips over a deep value), every source file through :func:`read_regular`.

Example:
    >>> loads('{"generation": "gen-1"}', what="CURRENT")
    {'generation': 'gen-1'}
    >>> loads("[" * 1000 + "]" * 1000, what="line 3")
    Traceback (most recent call last):
    BoundedJSONError: line 3 is nested deeper than 64 levels
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

# Deeper than any record this program writes or reads (the manifest is 4 levels deep).
MAX_DEPTH = 64


class BoundedJSONError(ValueError):
    """A JSON document is malformed, too large or nested too deeply (a ``ValueError``).

    Attributes:
        reason: What is wrong, without naming the document (``nested deeper than 64 levels``).
    """

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what} is {reason}")
        self.reason = reason


def loads(
    data: str | bytes, *, what: str = "the JSON", max_depth: int = MAX_DEPTH, max_bytes: int = 0
) -> Any:
    """``json.loads`` that refuses documents nested deeper than ``max_depth`` or longer than
    ``max_bytes`` with a :class:`BoundedJSONError`, never a ``RecursionError``.

    Args:
        data: The document (bytes are decoded as UTF-8).
        what: How to name it in the message (``"CURRENT"``, ``"line 3"``).
        max_depth: Deepest nesting of arrays and objects accepted (0: only what the decoder
            itself can decode; for large trusted files, where walking every value costs time).
        max_bytes: Longest document accepted (0: no limit).

    Returns:
        The decoded value.

    Raises:
        BoundedJSONError: Malformed, longer than ``max_bytes`` or nested deeper than
            ``max_depth``; the message is one line.
    """
    if max_bytes and len(data) > max_bytes:
        raise BoundedJSONError(what, f"larger than {max_bytes} bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BoundedJSONError(what, f"not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(data)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if exc.lineno > 1 else f"column {exc.colno}"
        raise BoundedJSONError(what, f"invalid JSON ({exc.msg} at {where})") from None
    except RecursionError:  # the decoder recursed past Python's limit (~1,000 levels)
        raise BoundedJSONError(
            what, f"nested deeper than {max_depth or MAX_DEPTH} levels"
        ) from None
    if max_depth and depth_exceeds(value, max_depth):
        raise BoundedJSONError(what, f"nested deeper than {max_depth} levels")
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """True when arrays/objects in a decoded ``value`` nest deeper than ``max_depth``.

    Iterative (an explicit stack), linear in the size of ``value``, stops at the first
    container past the limit.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def special_kind(path: Path) -> str:
    """What ``path`` is when it is not a regular file (``"a named pipe (FIFO)"``), else ``""``.

    Follows links; a path that cannot be examined is ``""`` (reading it reports why).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    return _kind(mode)


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return ""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


class NotRegularFileError(OSError):
    """The path names a pipe, socket or device, which would block or never end."""


def read_regular(path: Path) -> bytes:
    """The bytes of a regular file; never blocks on a FIFO or reads a device.

    The file is opened without blocking and checked on the open descriptor, so a file
    replaced by a pipe between a directory scan and the read is refused too.

    Raises:
        NotRegularFileError: ``path`` is a pipe, socket or device.
        OSError: It cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        kind = _kind(os.fstat(fd).st_mode)
        if kind:
            raise NotRegularFileError(f"{kind}, not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


__all__ = [
    "MAX_DEPTH",
    "BoundedJSONError",
    "NotRegularFileError",
    "depth_exceeds",
    "loads",
    "read_regular",
    "special_kind",
]
