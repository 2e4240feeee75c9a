"""Find and decode source files.

``scan_sources`` turns a directory (or one file) into decoded ``SourceFile`` records. It reads
every candidate before failing, so one ``SourceError`` lists every bad file at once and the
user can fix them all in one pass.

Example:
    >>> scan = scan_sources(Path("source"))
    >>> [(f.rel, f.encoding) for f in scan.files]
    [('shanghai_cpc_plenary_2021-06-22_soft_power.txt', 'utf-8')]
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import guards
from .errors import SourceError

if TYPE_CHECKING:
    from .parsing.readers import RawDocument

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl"})
# Read by rag.parsing.readers into blocks, rendered as text for the parser.
DOCUMENT_SUFFIXES = frozenset({".html", ".htm", ".docx", ".pdf"})  # keys of _DOCUMENT_FORMATS
SUPPORTED = ", ".join(sorted(TEXT_SUFFIXES | JSONL_SUFFIXES | DOCUMENT_SUFFIXES))
_DOCUMENT_FORMATS = {".html": "html", ".htm": "html", ".docx": "docx", ".pdf": "pdf"}
_HEADING_KINDS = frozenset({"title", "heading"})
# Characters of a file name that are escaped wherever the name is shown: control characters
# (terminal escapes, newlines), format characters (bidi overrides such as U+202E that make
# ``txt.exe`` look like ``exe.txt``, zero-width characters), surrogates (bytes of a name that
# is not valid UTF-8) and unassigned or private-use code points.
_UNSAFE_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@dataclass(frozen=True)
class SourceFile:
    """One decoded source file.

    Attributes:
        path: Where the file is.
        rel: Path relative to the source root, POSIX style, with unsafe characters escaped
            (see :func:`display_name`); the id used in citations, hashes and messages.
        sha256: Hash of the raw bytes (and of the sidecar metadata file, if any).
        text: Decoded text with CRLF and CR turned into LF; for .html/.docx/.pdf the
            reader's blocks, one per paragraph, titles and headings as Markdown headings.
        encoding: ``utf-8-sig``, ``utf-8``, ``utf-16``, ``utf-32``, ``gb18030`` or ``big5``;
            ``""`` for .html/.docx/.pdf.
        format: ``text`` (.txt/.md/.markdown), ``jsonl``, ``html``, ``docx`` or ``pdf``.
        document: What the format reader produced (blocks with kinds and pages, metadata,
            removed page chrome).
    """

    path: Path
    rel: str
    sha256: str
    text: str
    encoding: str
    format: str
    document: RawDocument | None = None


@dataclass(frozen=True)
class SourceScan:
    """The result of scanning a source path.

    Attributes:
        root: The directory that ``SourceFile.rel`` is relative to.
        files: Decoded files, sorted by relative path.
        warnings: Skipped files and links, one readable line each.
    """

    root: Path
    files: tuple[SourceFile, ...]
    warnings: tuple[str, ...]


def scan_sources(path: Path, *, max_bytes: int | None = None) -> SourceScan:
    """Find and decode the documents under ``path``.

    Args:
        path: A directory (walked recursively in sorted order, hidden entries and sidecar
            metadata files skipped) or a single ``.txt``/``.md``/``.markdown``/``.jsonl``/
            ``.html``/``.htm``/``.docx``/``.pdf`` file.
        max_bytes: A larger file is refused with a message (``None``: no limit).

    Returns:
        The decoded files and the warnings about skipped entries.

    Raises:
        SourceError: The path is missing, holds no supported file, or some files cannot be
            read (empty, binary, undecodable, unreadable, over the size limit); the message
            lists every bad file.

    Example:
        >>> scan_sources(Path("source")).files[0].format
        'text'
    """
    path = Path(path)
    shown = display_name(str(path))
    if not path.exists():
        raise SourceError(
            f"source path {shown} does not exist; create it and put documents ({SUPPORTED}) "
            "in it, or point --source / RAG_SOURCE at an existing directory"
        )
    warnings: list[str] = []
    if path.is_dir():
        root = path
        candidates = _walk(path, warnings)
    else:
        root = path.parent
        if _format_of(path) is None:
            raise SourceError(
                f"{shown} has an unsupported extension; supported: {SUPPORTED} "
                "(convert it to one of them first)"
            )
        candidates = [path]
    if not candidates:
        skipped = f" ({len(warnings)} entries skipped, see warnings)" if warnings else ""
        raise SourceError(
            f"no documents in {shown}{skipped}: add files with one of the extensions {SUPPORTED}"
        )
    files: list[SourceFile] = []
    problems: list[str] = []
    for candidate in candidates:
        rel = _relative(candidate, root)
        try:
            files.append(_read(candidate, rel, max_bytes))
        except _BadFile as bad:
            problems.append(f"{rel}: {bad}")
            continue
        document = files[-1].document
        if document is not None and document.dropped:
            shown_lines = "、".join(line[:20] for line in document.dropped[:5])
            more = " …" if len(document.dropped) > 5 else ""
            warnings.append(
                f"{rel}: {len(document.dropped)} line(s) of page chrome left out "
                f"(headers, footers, page numbers, site navigation): {shown_lines}{more}"
            )
    if problems:
        raise SourceError(
            f"{len(problems)} source file(s) cannot be read:\n  " + "\n  ".join(problems)
        )
    return SourceScan(root=root, files=tuple(files), warnings=tuple(warnings))


def display_name(name: str) -> str:
    r"""A file name made safe to show in citations, messages and JSON.

    Control, format (bidi, zero-width), surrogate, private-use and unassigned characters become
    Python-style escapes (``\x1b``, ``\u202e``); a byte of a name that is not valid UTF-8
    (decoded by Python as a lone surrogate) is shown as that byte (``\xff``). Everything
    else, Chinese included, is kept as it is.

    Example:
        >>> display_name("政策文件\u202etxt.exe")
        '政策文件\\u202etxt.exe'
        >>> display_name(os.fsdecode(b"bad\xff.txt"))
        'bad\\xff.txt'
    """
    if all(unicodedata.category(ch) not in _UNSAFE_NAME_CATEGORIES for ch in name):
        return name
    out = []
    for ch in name:
        code = ord(ch)
        if unicodedata.category(ch) not in _UNSAFE_NAME_CATEGORIES:
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's surrogateescape of one raw byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


class _BadFile(Exception):
    """One file's problem; collected, then reported together in a SourceError."""


def _format_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    return _DOCUMENT_FORMATS.get(suffix)


def _relative(path: Path, root: Path) -> str:
    try:
        return display_name(path.relative_to(root).as_posix())
    except ValueError:
        return display_name(path.name)


def _walk(root: Path, warnings: list[str]) -> list[Path]:
    """Supported files under ``root``, sorted; links leaving the root or looping are skipped."""
    from .parsing.readers.sidecar import is_sidecar

    real_root = root.resolve()
    found: list[Path] = []
    seen_dirs = {real_root}
    seen_files: set[Path] = set()

    def visit(directory: Path) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            warnings.append(f"skipped directory {_relative(directory, root)}: {exc.strerror}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            entry_path = Path(entry.path)
            rel = _relative(entry_path, root)
            real = _resolve_inside(entry_path, real_root, rel, warnings)
            if real is None:
                continue
            if real.is_dir():
                # A link back to a directory already on the walk would recurse forever.
                if real in seen_dirs:
                    warnings.append(f"skipped {rel}: a directory already scanned (link loop)")
                    continue
                seen_dirs.add(real)
                visit(entry_path)
            elif kind := guards.special_kind(entry_path):
                warnings.append(f"skipped {rel}: {kind}, not a regular file (never read)")
            elif is_sidecar(entry_path):
                continue  # metadata of another file, read with it
            elif _format_of(entry_path) is None:
                warnings.append(f"skipped {rel}: unsupported extension (supported: {SUPPORTED})")
            elif real in seen_files:
                warnings.append(f"skipped {rel}: link to a file already scanned")
            else:
                seen_files.add(real)
                found.append(entry_path)

    visit(root)
    return found


def _resolve_inside(path: Path, real_root: Path, rel: str, warnings: list[str]) -> Path | None:
    """The real path of ``path`` when it stays inside the root, else ``None`` (with a warning)."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        warnings.append(f"skipped {rel}: broken or looping link")
        return None
    if path.is_symlink() and not real.is_relative_to(real_root):
        shown = display_name(str(real))
        warnings.append(f"skipped {rel}: link points outside the source directory ({shown})")
        return None
    return real


def _read(path: Path, rel: str, max_bytes: int | None = None) -> SourceFile:
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise _BadFile(
                f"{size / 2**20:.1f} MB is over the source-size limit of "
                f"{max_bytes / 2**20:.0f} MB; split the file, or raise the limit with "
                "RAG_MAX_SOURCE_MB"
            )
        kind = guards.special_kind(path)
        if kind:  # reading a named pipe blocks until someone writes to it, a device never ends
            raise _BadFile(f"{kind}, not a regular file; remove it or copy its text into a file")
        raw = path.read_bytes()
    except PermissionError:
        raise _BadFile("permission denied; make the file readable (chmod a+r)") from None
    except OSError as exc:
        raise _BadFile(f"cannot be read ({exc.strerror}); check the file") from None
    # Imported on use: reading sources is a build step, and `import rag` stays light.
    from .parsing.readers import read_data
    from .parsing.readers.sidecar import sidecar_of

    try:
        document = read_data(raw, path)
    except SourceError as exc:
        raise _BadFile(str(exc)) from None
    format_ = _format_of(path) or "text"
    if document.blocks:
        text = "\n\n".join(_block_text(b.text, b.kind, b.level) for b in document.blocks) + "\n"
    else:
        text = document.text
    digest = hashlib.sha256(raw)
    side = sidecar_of(path)
    if side is not None:
        digest.update(side.read_bytes())
    return SourceFile(
        path=path,
        rel=rel,
        sha256=digest.hexdigest(),
        text=text,
        encoding=document.encoding or "",
        format=format_,
        document=document,
    )


def _block_text(text: str, kind: str, level: int = 0) -> str:
    """A reader's block as the text parser reads it: titles and headings as Markdown, a
    heading one level under the title per level of its own (Heading 2, a 节 under its 章,
    stays inside the 章)."""
    if kind == "title":
        return f"## {text}"
    if kind in _HEADING_KINDS:
        return f"{'#' * min(6, 1 + max(level, 1))} {text}"
    return text


__all__ = [
    "DOCUMENT_SUFFIXES",
    "JSONL_SUFFIXES",
    "TEXT_SUFFIXES",
    "SourceFile",
    "SourceScan",
    "display_name",
    "scan_sources",
]
