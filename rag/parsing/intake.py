"""Stage 0: a decoded source file → :class:`RawDocument` (the format readers' interface).

Until the per-format readers (``rag.parsing.readers``: HTML, Word, PDF, encodings) are in
place, text files come through here: the decoded text with its metadata from YAML-style front
matter (``.md``) or a sidecar file ``NAME.meta`` next to the source (``kind: 法律`` lines).
Front-matter lines are blanked rather than removed, so line numbers still point into the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceError
from ..sources import SIDECAR_SUFFIX, SourceFile

_FRONT_RE = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n", re.S)
_KEY_RE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")
# A sidecar or front matter is a few lines; anything bigger is not metadata.
_MAX_META_BYTES = 64 * 1024


@dataclass(frozen=True)
class Block:
    """A block a format reader produced (see READERS_INTERFACE.md)."""

    text: str
    kind: str = "paragraph"
    level: int = 0
    page: int | None = None


@dataclass(frozen=True)
class RawDocument:
    """What a format reader hands the parser: text, optional blocks, metadata."""

    path: Path
    text: str
    blocks: tuple[Block, ...]
    fmt: str
    encoding: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def read_source(f: SourceFile) -> RawDocument:
    """The raw document of a decoded text file, with front matter and sidecar metadata.

    Raises:
        SourceError: The front matter or sidecar is malformed.
    """
    text = f.text
    metadata: dict[str, str] = {}
    front = _FRONT_RE.match(text)
    if front and f.path.suffix.lower() in (".md", ".markdown"):
        metadata.update(parse_metadata(front.group(1), f"{f.rel} (front matter)"))
        text = "\n" * front.group().count("\n") + text[front.end() :]
    sidecar = sidecar_path(f.path)
    if sidecar.is_file():
        raw = sidecar.read_bytes()[: _MAX_META_BYTES + 1]
        if len(raw) > _MAX_META_BYTES:
            raise SourceError(f"{f.rel}{SIDECAR_SUFFIX}: too large for a metadata file")
        try:
            body = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SourceError(f"{f.rel}{SIDECAR_SUFFIX}: not UTF-8; re-save it as UTF-8") from None
        metadata.update(parse_metadata(body, f"{f.rel}{SIDECAR_SUFFIX}"))
    fmt = "markdown" if f.path.suffix.lower() in (".md", ".markdown") else f.format
    return RawDocument(f.path, text, (), fmt, f.encoding, metadata)


def sidecar_path(path: Path) -> Path:
    """``劳动法.md`` → ``劳动法.md.meta``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def parse_metadata(text: str, where: str) -> dict[str, str]:
    """``key: value`` lines (a YAML subset: comments, blank lines, quoted values).

    Raises:
        SourceError: A line is not ``key: value``.
    """
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY_RE.match(line)
        if not match:
            raise SourceError(
                f"{where}: line {number} is not 'key: value' ({line.strip()[:40]!r}); "
                "write e.g. 'kind: 法律' or 'title: …'"
            )
        value = match.group(2)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[match.group(1).lower()] = value
    return out


__all__ = ["SIDECAR_SUFFIX", "Block", "RawDocument", "parse_metadata", "read_source"]
