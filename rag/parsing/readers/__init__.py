"""Format readers: one module per file format, bytes in, text blocks with metadata out.

Each reader lets a well-kept library do the format (charset-normalizer, trafilatura,
python-docx, pdfplumber) and only maps its output to :class:`Block` records. Nothing is
dropped silently: what a reader removes as page chrome (site navigation, running headers,
page numbers) is listed in :attr:`RawDocument.dropped`.

Example:
    >>> doc = read_file(Path("决议.pdf"))
    >>> doc.fmt, doc.blocks[0].kind, doc.blocks[3].page
    ('pdf', 'title', 1)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import SourceError

BLOCK_KINDS = frozenset({"paragraph", "heading", "list_item", "caption", "table_row", "title"})


@dataclass(frozen=True)
class Block:
    """One paragraph, heading, list item or table row as the reader produced it.

    Attributes:
        text: The block's text (never empty).
        kind: ``paragraph``, ``heading``, ``list_item``, ``caption``, ``table_row`` or ``title``.
        level: Heading level (1 = top heading) or list depth (1 = outermost); 0 = none.
        page: 1-based page number (PDF), else ``None``.
    """

    text: str
    kind: str = "paragraph"
    level: int = 0
    page: int | None = None


@dataclass(frozen=True)
class RawDocument:
    """A source file read into text.

    Attributes:
        path: Where the file is.
        text: For ``.txt``/``.md``/``.jsonl`` the decoded file text (front matter removed),
            else the blocks' texts joined by a blank line.
        blocks: The blocks in order (empty for the text formats, parsed line by line).
        fmt: ``text``, ``markdown``, ``jsonl``, ``html``, ``docx`` or ``pdf``.
        encoding: The detected encoding of a text format, else ``None``.
        metadata: ``title``, ``genre``, ``date``, ``url``… from front matter, a sidecar file,
            ``<meta>`` tags or the document properties.
        dropped: Texts removed as page chrome (navigation, running headers, page numbers),
            one entry per removed line, so a build can report them.
    """

    path: Path
    text: str
    blocks: tuple[Block, ...]
    fmt: str
    encoding: str | None
    metadata: Mapping[str, str] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def from_blocks(
    path: Path,
    blocks: list[Block],
    fmt: str,
    metadata: Mapping[str, str] | None = None,
    dropped: tuple[str, ...] = (),
) -> RawDocument:
    """A :class:`RawDocument` whose text is ``blocks`` joined by blank lines.

    Raises:
        SourceError: No block holds any text.
    """
    kept = tuple(b for b in blocks if b.text.strip())
    if not kept:
        raise SourceError(f"no text found in this {fmt} file; check its content")
    text = "\n\n".join(b.text for b in kept)
    return RawDocument(path, text, kept, fmt, None, dict(metadata or {}), dropped)


Reader = Callable[[bytes, Path], RawDocument]


def _readers() -> dict[str, Reader]:
    # Imported here so that reading a text file never imports lxml, docx or pdfminer.
    def html(data: bytes, path: Path) -> RawDocument:
        from .html import read_html

        return read_html(data, path)

    def docx(data: bytes, path: Path) -> RawDocument:
        from .docx import read_docx

        return read_docx(data, path)

    def pdf(data: bytes, path: Path) -> RawDocument:
        from .pdf import read_pdf

        return read_pdf(data, path)

    def text(data: bytes, path: Path) -> RawDocument:
        from .text import read_text

        return read_text(data, path)

    return {
        ".txt": text,
        ".md": text,
        ".markdown": text,
        ".jsonl": text,
        ".html": html,
        ".htm": html,
        ".docx": docx,
        ".pdf": pdf,
    }


_READERS = _readers()
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_READERS)


def read_data(data: bytes, path: Path) -> RawDocument:
    """Read the bytes of a file named ``path`` (its suffix picks the reader).

    The metadata of a sidecar file beside ``path`` (see :mod:`.sidecar`) is merged over what
    the file itself says.

    Args:
        data: The file's bytes.
        path: The file's path; its suffix selects the format and its sidecar is looked up.

    Returns:
        The document's text, blocks and metadata.

    Raises:
        SourceError: Unsupported suffix, or the content cannot be read as that format; the
            message says what is wrong and what to do (without the file's name, which the
            caller adds).
    """
    from .sidecar import read_sidecar

    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise SourceError(f"unsupported extension; supported: {supported}")
    doc = reader(data, path)
    extra = read_sidecar(path)
    if extra:
        merged = {**doc.metadata, **extra}
        doc = RawDocument(
            doc.path, doc.text, doc.blocks, doc.fmt, doc.encoding, merged, doc.dropped
        )
    return doc


def read_file(path: Path) -> RawDocument:
    """Read one source file of any supported format.

    Args:
        path: A ``.txt``, ``.md``, ``.markdown``, ``.jsonl``, ``.html``, ``.htm``, ``.docx``
            or ``.pdf`` file.

    Returns:
        The document's text, blocks and metadata.

    Raises:
        SourceError: The file cannot be read or decoded; the message says why and what to do.

    Example:
        >>> read_file(Path("source/决议.html")).blocks[0]
        Block(text='十一届市委十一次全会决议', kind='title', level=1, page=None)
    """
    path = Path(path)
    try:
        return read_data(path.read_bytes(), path)
    except PermissionError:
        raise SourceError(
            f"{path.name}: permission denied; make the file readable (chmod a+r)"
        ) from None
    except OSError as exc:
        raise SourceError(f"{path.name}: cannot be read ({exc.strerror}); check the file") from None
    except SourceError as exc:
        raise SourceError(f"{path.name}: {exc}") from None


__all__ = [
    "BLOCK_KINDS",
    "SUPPORTED_SUFFIXES",
    "Block",
    "RawDocument",
    "from_blocks",
    "read_data",
    "read_file",
]
