"""Retrieval question answering over Chinese official documents.

Answers quote the documents verbatim, each quote with a citation in the document's own
structure (section, numbered paragraph), or say plainly that the documents do not answer.

Example:
    >>> import rag
    >>> rag.build_index("source", "index")
    >>> assistant = rag.load("index")
    >>> answer = assistant.answer("上海的城市精神是什么？")
    >>> print(answer.markdown)
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assistant import Assistant, load
    from .build import BuildReport, build_index
    from .errors import (
        ArgumentError,
        BuildLockedError,
        IndexMismatchError,
        IndexNotBuiltError,
        ModelUnavailableError,
        RagError,
        SourceError,
    )
    from .schema import Answer, Chunk, Document, Hit, IndexInfo, Quote
    from .settings import RetrievalMode, Settings

# Public name -> defining module. Resolved on first use, so `import rag` stays cheap and a
# submodule can be imported on its own.
_EXPORTS = {
    "Assistant": "assistant",
    "load": "assistant",
    "BuildReport": "build",
    "build_index": "build",
    "ArgumentError": "errors",
    "BuildLockedError": "errors",
    "IndexMismatchError": "errors",
    "IndexNotBuiltError": "errors",
    "ModelUnavailableError": "errors",
    "RagError": "errors",
    "SourceError": "errors",
    "Answer": "schema",
    "Chunk": "schema",
    "Document": "schema",
    "Hit": "schema",
    "IndexInfo": "schema",
    "Quote": "schema",
    "RetrievalMode": "settings",
    "Settings": "settings",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    "Answer",
    "ArgumentError",
    "Assistant",
    "BuildLockedError",
    "BuildReport",
    "Chunk",
    "Document",
    "Hit",
    "IndexInfo",
    "IndexMismatchError",
    "IndexNotBuiltError",
    "ModelUnavailableError",
    "Quote",
    "RagError",
    "RetrievalMode",
    "Settings",
    "SourceError",
    "build_index",
    "load",
]
