"""A small thread-safe least-recently-used cache (hot passages and documents of the store,
the answers of one generation), and a value computed once on first use (:class:`Once`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Any, Generic, TypeVar

__all__ = ["LRUCache", "Once"]

_T = TypeVar("_T")


class Once(Generic[_T]):
    """A value computed by ``make`` on the first :meth:`get`, once, however many threads ask
    at the same time (double-checked under a lock); later calls return it without locking.

    Example:
        >>> calls = []
        >>> value = Once(lambda: calls.append(1) or len(calls))
        >>> value.get(), value.get(), calls
        (1, 1, [1])
    """

    def __init__(self, make: Callable[[], _T]) -> None:
        self._make: Callable[[], _T] | None = make
        self._value: _T | None = None
        self._lock = Lock()

    @property
    def ready(self) -> bool:
        """Whether the value has been computed."""
        return self._make is None

    def get(self) -> _T:
        """The value (computed now when it is the first call)."""
        make = self._make
        if make is not None:
            with self._lock:
                make = self._make
                if make is not None:
                    self._value = make()
                    self._make = None
        return self._value  # type: ignore[return-value]


class LRUCache:
    """At most ``size`` values by key; the least recently read or written goes first.

    ``size`` 0 keeps nothing (every ``get`` misses). ``None`` cannot be stored: ``get``
    returns it for a miss.
    """

    def __init__(self, size: int) -> None:
        self._size = max(0, int(size))
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        # Bound once: ``get`` runs on every passage and document read.
        self._lookup = self._items.get
        self._touch = self._items.move_to_end
        self._lock = Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any:
        """The value of ``key``, or None."""
        # Without the lock: each OrderedDict call is atomic under the GIL, and a key evicted
        # between the two calls only loses its move to the end (the hot path of every answer).
        value = self._lookup(key)
        if value is not None:
            try:  # noqa: SIM105 (contextlib.suppress costs a µs, on every passage read)
                self._touch(key)
            except KeyError:
                pass
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key`` (nothing when the size is 0)."""
        if not self._size:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
