"""👍/👎 feedback on answers: one JSON line per vote, bounded.

:class:`FeedbackLog` keeps one vote per answer and session (a later vote, or taking it back,
replaces the line), limits how fast votes are taken (per client address and overall), and
caps the file's size: when the next line would pass ``max_bytes`` the file is rotated
(``feedback.jsonl`` → ``feedback.jsonl.1`` → … ``.{backups}``, the oldest dropped). Votes in
rotated files are not replaced any more.

Example:
    >>> log = FeedbackLog(settings.feedback_path)
    >>> log.record(answer_record(answer), "up", session="s1", client="127.0.0.1")
    'recorded'
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .render import citations

if TYPE_CHECKING:
    from rag import Answer

log = logging.getLogger(__name__)

RATINGS = {True: "up", False: "down"}
_WRITE_LOCK = threading.Lock()
# ~1,000 votes of ~4 KB each before the file is rotated; three rotated files are kept.
MAX_BYTES = 4 * 1024 * 1024
BACKUPS = 3
# Votes per minute accepted from one client address, and from everyone together.
PER_CLIENT_PER_MINUTE = 30
OVERALL_PER_MINUTE = 300


def answer_record(answer: Answer) -> dict[str, Any]:
    """What a rating refers to: the question, the answer's Markdown, citations and build."""
    return {
        "question": answer.question,
        "resolved_question": answer.resolved_question,
        "found": answer.found,
        "answer": answer.markdown,
        "citations": citations(answer),
        "build_id": answer.build_id,
    }


def rating_of(liked: object) -> str:
    """Gradio's like payload (True, False, or "" when a rating is taken back) as a word."""
    if isinstance(liked, bool):
        return RATINGS[liked]
    if liked in ("", None):
        return "retracted"
    return {"like": "up", "dislike": "down"}.get(str(liked).strip().lower(), "other")


def _line(record: dict[str, Any], rating: str, extra: dict[str, Any] | None = None) -> dict:
    return {
        **record,
        **(extra or {}),
        "rating": rating,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def append_feedback(path: str | Path, record: dict[str, Any], rating: str) -> dict[str, Any]:
    """Append ``record`` with ``rating`` and the current UTC time to the JSONL file ``path``.

    Unbounded and without de-duplication: the chat uses :class:`FeedbackLog`. Parent
    directories are created. Returns the line written (as a dict).
    """
    line = _line(record, rating)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(line, ensure_ascii=False) + "\n"
    with _WRITE_LOCK, target.open("a", encoding="utf-8") as fh:
        fh.write(data)
    return line


class RateLimit:
    """At most ``limit`` events per ``window`` seconds per key (a sliding window).

    Args:
        limit: Events allowed in the window.
        window: Seconds.
        clock: Monotonic clock (tests pass a fake one).
        max_keys: Keys remembered at most (the oldest forgotten first).
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit, self.window, self.clock, self.max_keys = limit, window, clock, max_keys
        self._events: dict[str, collections.deque[float]] = {}

    def _window(self, key: str) -> collections.deque[float]:
        now = self.clock()
        events = self._events.pop(key, None) or collections.deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        self._events[key] = events
        while len(self._events) > self.max_keys:
            self._events.pop(next(iter(self._events)))
        return events

    def full(self, key: str) -> bool:
        """True when ``key`` has used up its events in the current window."""
        return len(self._window(key)) >= self.limit

    def add(self, key: str) -> None:
        """Count one event for ``key``."""
        self._window(key).append(self.clock())

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False (and not counted) when over the limit."""
        if self.full(key):
            return False
        self.add(key)
        return True


class FeedbackLog:
    """Votes on answers in a JSONL file: de-duplicated, rate-limited, size-capped.

    Thread-safe. Each line carries ``vote``, a hash of the session and the answer (never the
    session id itself), so a later vote on the same answer in the same session replaces it.

    Args:
        path: The JSONL file (parents are created).
        max_bytes: Size at which the file is rotated.
        backups: Rotated files kept.
        per_client: Votes per minute from one client address.
        overall: Votes per minute from everyone.
        clock: Monotonic clock for the rate limits.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = MAX_BYTES,
        backups: int = BACKUPS,
        per_client: int = PER_CLIENT_PER_MINUTE,
        overall: int = OVERALL_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self._per_client = RateLimit(per_client, clock=clock)
        self._overall = RateLimit(overall, clock=clock)
        self._lock = threading.Lock()
        self._votes: set[str] | None = None  # the votes in the current file, read lazily
        self._last_warning = float("-inf")
        self._clock = clock

    @staticmethod
    def vote_id(record: dict[str, Any], session: str) -> str:
        """The key of one session's vote on one answer."""
        answer = json.dumps(
            [record.get(k) for k in ("question", "resolved_question", "answer", "build_id")],
            ensure_ascii=False,
        )
        return hashlib.sha256(f"{session}\0{answer}".encode()).hexdigest()[:32]

    def record(self, record: dict[str, Any], rating: str, *, session: str, client: str) -> str:
        """Store one vote.

        Args:
            record: What the vote is about (:func:`answer_record`).
            rating: ``up``, ``down`` or ``retracted``.
            session: The chat session (Gradio's session hash).
            client: The client's address (for the rate limit).

        Returns:
            ``recorded``, ``replaced`` (this session's earlier vote on the answer is gone) or
            ``rate limited`` (nothing written).
        """
        with self._lock:
            if self._overall.full("") or self._per_client.full(client):
                self._warn_rate_limited(client)
                return "rate limited"
            self._overall.add("")
            self._per_client.add(client)
            vote = self.vote_id(record, session)
            data = json.dumps(_line(record, rating, {"vote": vote}), ensure_ascii=False) + "\n"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            votes = self._known_votes()
            replaced = vote in votes
            if replaced:
                self._drop(vote)
            if self._size() + len(data.encode("utf-8")) > self.max_bytes:
                self._rotate()
                votes = self._known_votes()
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(data)
            votes.add(vote)
            return "replaced" if replaced else "recorded"

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _known_votes(self) -> set[str]:
        if self._votes is None:
            self._votes = {vote for vote, _ in self._lines() if vote}
        return self._votes

    def _lines(self) -> list[tuple[str, str]]:
        """(vote id or "", line) for every line of the current file."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for line in text.splitlines(keepends=True):
            try:
                vote = json.loads(line).get("vote", "")
            except (ValueError, AttributeError, RecursionError):
                vote = ""
            out.append((vote if isinstance(vote, str) else "", line))
        return out

    def _drop(self, vote: str) -> None:
        """Rewrite the file without ``vote``'s line (atomically; the file is capped)."""
        kept = "".join(line for v, line in self._lines() if v != vote)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(kept, encoding="utf-8")
        os.replace(tmp, self.path)
        self._known_votes().discard(vote)

    def _rotate(self) -> None:
        if self.backups <= 0:
            self.path.unlink(missing_ok=True)
        else:
            for n in range(self.backups - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{n}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
            if self.path.exists():
                os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._votes = set()

    def _warn_rate_limited(self, client: str) -> None:
        now = self._clock()
        if now - self._last_warning >= 60:
            self._last_warning = now
            log.warning("feedback from %s not recorded: too many votes per minute", client)


__all__ = ["FeedbackLog", "RateLimit", "answer_record", "append_feedback", "rating_of"]
