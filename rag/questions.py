"""Question hygiene and follow-up resolution, before anything is searched."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Control, format (zero-width, bidi) and surrogate code points: never meaningful in a question.
_STRIP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Terminal escape sequences (colours, cursor moves, window titles) go as a whole, not only their
# ESC: otherwise 上海\x1b[31m的城市精神 would search for a token "31m" and miss the answer.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: ESC [ params intermediates final
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: ESC ] text (BEL | ESC \\)
    r"|\x1b[ -/]*[0-~]"  # other escapes: ESC intermediates final (e.g. ESC c, ESC ( B)
)
# At most this many raw characters per allowed question character are looked at, so that the
# cost of a huge question is bounded by the cap and not by what a client chose to send.
_SCAN_FACTOR = 8
_SEARCHABLE = re.compile(r"[0-9A-Za-z\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
_WHITESPACE = re.compile(r"\s+")

# Elliptical follow-ups: 那城市品格呢？ / 还有呢 / 那么……怎么样？
_FOLLOWUP_HEAD = re.compile(r"^(?:那么|那|还有|另外|以及|而|再说说|说说)")
_FOLLOWUP_TAIL = re.compile(r"(?:呢|怎么样|如何|又是什么|又如何)?[？?。！!\s]*$")
_FOLLOWUP_MAX_CHARS = 16
# Part-of-speech tags of a question's opening topic: nouns (n, nr, ns, nt, nz …), verbal
# nouns, set phrases (l), abbreviations (j); a word jieba has no tag for (a term the documents
# taught it, 软实力) counts as a noun too.
_NOUN_TAGS = re.compile(r"^(?:n\w*|vn|l|j)$")
_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class CleanQuestion:
    """A question made safe to search.

    Attributes:
        text: The cleaned question.
        notes: Chinese remarks for the reader (e.g. that the question was shortened).
        searchable: False when nothing searchable remains (empty, punctuation only).
    """

    text: str
    notes: tuple[str, ...]
    searchable: bool


def clean_question(raw: object, max_chars: int) -> CleanQuestion:
    """Strip control/zero-width/bidi characters, terminal escape sequences and lone surrogates,
    fold whitespace, cap length.

    Only the first ``8 * max_chars`` characters of ``raw`` are read, so a question of any size
    is cleaned in time proportional to the cap.

    Args:
        raw: The question as received (anything; non-strings are refused politely).
        max_chars: Longer questions are cut to this many characters (with a note).

    Example:
        >>> clean_question("上海\u200b的城市精神？" + "啊" * 600, 500).notes
        ('问题过长，只按前500个字检索。',)
    """
    if not isinstance(raw, str):
        return CleanQuestion("", ("问题必须是文字。",), False)
    window = max(1, max_chars) * _SCAN_FACTOR
    head = raw[:window]
    # isprintable() is False for every character of the stripped categories (and for other
    # whitespace than the space), so a printable question needs no per-character pass (most
    # do not), holds no escape sequence (ESC and CSI are controls) and no whitespace to fold
    # but runs of spaces.
    if head.isprintable():
        text = _WHITESPACE.sub(" ", head) if "  " in head else head
    else:
        head = _ESCAPE_SEQUENCE.sub("", head)
        text = (
            head
            if head.isprintable()
            else "".join(
                ch
                for ch in head
                if unicodedata.category(ch) not in _STRIP_CATEGORIES or ch in "\n\t"
            )
        )
        text = _WHITESPACE.sub(" ", text)
    text = text.strip()
    notes: list[str] = []
    if len(text) > max_chars or len(raw) > window:
        text = text[:max_chars].rstrip()
        notes.append(f"问题过长，只按前{max_chars}个字检索。")
    return CleanQuestion(text, tuple(notes), bool(_SEARCHABLE.search(text)))


def is_followup(question: str) -> bool:
    """True for a short elliptical question that leans on the previous one."""
    q = question.strip()
    if len(q) > _FOLLOWUP_MAX_CHARS:
        return False
    return bool(_FOLLOWUP_HEAD.match(q)) or q.rstrip("？?。！! ").endswith("呢")


def resolve_followup(
    question: str,
    history: Sequence[str],
    cut: object,
    tag: Callable[[str], str] | None = None,
) -> str:
    """Expand an elliptical follow-up using the previous questions.

    After 上海的城市精神是什么？ the follow-up 那城市品格呢？ becomes 上海的城市品格是什么？: the
    run of words in the previous question that shares a word with the fragment is replaced
    by the fragment. Without such an anchor, 那X呢 asks the previous question about X: the
    noun phrase the previous question opens with (its topic, by part-of-speech ``tag``) is
    replaced by the fragment (试用期最长多久？, 那么每日工作时间呢？ → 每日工作时间最长多久？);
    a previous question that opens otherwise, or no ``tag``, gets the fragment prefixed.

    Args:
        question: The new question.
        history: Earlier user questions, oldest first.
        cut: A callable splitting text into words (keeps every character, e.g. jieba's cut).
        tag: A word's part-of-speech tag (jieba's: ``n``, ``ns``, ``v`` …; ``""`` unknown).
    """
    if not history or not is_followup(question):
        return question
    previous = resolve_followup(history[-1], history[:-1], cut, tag)
    fragment = _FOLLOWUP_TAIL.sub("", _FOLLOWUP_HEAD.sub("", question.strip())).strip()
    if not fragment:
        return previous
    words: list[str] = list(cut(previous))  # type: ignore[operator]
    frag_words: list[str] = [w for w in cut(fragment) if w.strip()]  # type: ignore[operator]
    for i, word in enumerate(words):
        if len(word) >= 2 and word in frag_words:
            # Replace as many words of the previous question as the fragment has, starting at
            # the shared word's position within the fragment.
            start = max(0, i - frag_words.index(word))
            end = min(len(words), start + len(frag_words))
            return "".join([*words[:start], fragment, *words[end:]])
    topic = _topic_length(words, tag) if tag is not None else 0
    if topic:
        return "".join([fragment, *words[topic:]])
    return f"{fragment} {previous}"


def _nounish(tag: str) -> bool:
    return not tag or _NOUN_TAGS.match(tag) is not None


def _topic_length(words: Sequence[str], tag: Callable[[str], str]) -> int:
    """How many words of ``words`` form the noun phrase a question opens with (nouns, set
    phrases, unknown terms, joined by 的), or 0 when it opens otherwise or is nothing else."""
    n = 0
    while n < len(words) and (
        words[n] == "的" or (_WORD.search(words[n]) and _nounish(tag(words[n])))
    ):
        n += 1
    while n and words[n - 1] == "的":
        n -= 1
    rest = [w for w in words[n:] if _WORD.search(w)]
    return n if n and rest else 0


__all__ = ["MAX_HISTORY", "CleanQuestion", "clean_question", "is_followup", "resolve_followup"]

MAX_HISTORY = 20
"""Earlier questions a follow-up can reach back through: a chain of follow-ups (那么…呢？)
is read back to the question that started it, at most this many questions; the web chat and
the JSON API send at most this many."""
