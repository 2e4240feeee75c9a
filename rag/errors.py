"""The exception tree. Every message says what was wrong and how to fix it.

The library raises these and never prints or exits; the CLI maps them to one line and exit 1.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class of every error this library raises on purpose."""


class SourceError(RagError):
    """A source file or directory cannot be read as documents."""


class IndexNotBuiltError(RagError):
    """There is no index where one was expected."""


class IndexMismatchError(RagError):
    """The index on disk does not fit this code or these settings, or is damaged."""


class ModelUnavailableError(RagError):
    """The embedding model could not be loaded from any allowed place."""


class BuildLockedError(RagError):
    """Another build holds the lock on the index directory."""


class ArgumentError(RagError, ValueError):
    """An argument of a library call has the wrong type or value (``k=-1``, ``k="abc"``).

    Also a ``ValueError``, so code that checks arguments the usual way catches it too.
    """


class QuestionError(RagError):
    """A question cannot be searched (empty, only punctuation, or not text)."""


__all__ = [
    "ArgumentError",
    "BuildLockedError",
    "IndexMismatchError",
    "IndexNotBuiltError",
    "ModelUnavailableError",
    "QuestionError",
    "RagError",
    "SourceError",
]
