"""👍/👎 feedback on answers, appended as one JSON line per rating.

Example:
    >>> record = answer_record(answer)
    >>> append_feedback(settings.feedback_path, record, "up")
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .render import citations

if TYPE_CHECKING:
    from rag import Answer

RATINGS = {True: "up", False: "down"}
_WRITE_LOCK = threading.Lock()


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
    return "retracted" if liked in ("", None) else str(liked)


def append_feedback(path: str | Path, record: dict[str, Any], rating: str) -> dict[str, Any]:
    """Append ``record`` with ``rating`` and the current UTC time to the JSONL file ``path``.

    Parent directories are created. Returns the line written (as a dict).
    """
    line = {
        **record,
        "rating": rating,
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(line, ensure_ascii=False) + "\n"
    with _WRITE_LOCK, target.open("a", encoding="utf-8") as fh:
        fh.write(data)
    return line


__all__ = ["answer_record", "append_feedback", "rating_of"]
