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
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .errors import SourceError

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
JSONL_SUFFIXES = frozenset({".jsonl"})
SUPPORTED = ", ".join(sorted(TEXT_SUFFIXES | JSONL_SUFFIXES))
# ``劳动法.md.meta`` states metadata of ``劳动法.md`` (kind, title); it is no source itself.
SIDECAR_SUFFIX = ".meta"

_UTF8_BOM = b"\xef\xbb\xbf"
# Well-known binary signatures, named so the error can say what the file really is.
_MAGIC = {
    b"%PDF": "a PDF",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a ZIP archive (e.g. .docx/.xlsx)",
    b"\xd0\xcf\x11\xe0": "an old Office document (.doc/.xls)",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}
# Control characters other than tab, newline, carriage return and form feed.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
# A decoded file with more control characters than this share is not text.
_MAX_CONTROL_SHARE = 0.05
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
        sha256: Hash of the raw bytes.
        text: Decoded text with CRLF and CR turned into LF.
        encoding: ``utf-8-sig``, ``utf-8`` or ``gb18030``.
        format: ``text`` (.txt/.md/.markdown) or ``jsonl``.
        sidecar_sha256: Hash of the metadata sidecar ``NAME.meta`` next to it, or ``""``.
    """

    path: Path
    rel: str
    sha256: str
    text: str
    encoding: str
    format: str
    sidecar_sha256: str = ""


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
        path: A directory (walked recursively in sorted order, hidden entries skipped) or a
            single ``.txt``/``.md``/``.markdown``/``.jsonl`` file.
        max_bytes: A file larger than this is refused (``None``: no limit).

    Returns:
        The decoded files and the warnings about skipped entries.

    Raises:
        SourceError: The path is missing, holds no supported file, or some files cannot be
            read (empty, binary, undecodable, unreadable, too large); the message lists every
            bad file.

    Example:
        >>> scan_sources(Path("source")).files[0].format
        'text'
    """
    path = Path(path)
    shown = display_name(str(path))
    if not path.exists():
        raise SourceError(
            f"source path {shown} does not exist; create it and put .txt/.md/.jsonl documents "
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
                "(convert it to UTF-8 text first)"
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
    return None


def _relative(path: Path, root: Path) -> str:
    try:
        return display_name(path.relative_to(root).as_posix())
    except ValueError:
        return display_name(path.name)


def _walk(root: Path, warnings: list[str]) -> list[Path]:
    """Supported files under ``root``, sorted; links leaving the root or looping are skipped."""
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
            elif entry.name.endswith(SIDECAR_SUFFIX) and (
                Path(entry.path[: -len(SIDECAR_SUFFIX)]).exists()
            ):
                continue  # a sidecar is read with its file
            elif not real.is_file():
                warnings.append(f"skipped {rel}: not a regular file (a pipe or device?)")
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
        if not path.is_file():
            raise _BadFile("not a regular file (a pipe or device?); only files are read")
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise _BadFile(
                f"{size / 2**20:.1f} MB is over the source-size limit of "
                f"{max_bytes / 2**20:.0f} MB; split the file, or raise the limit with "
                "RAG_MAX_SOURCE_MB"
            )
        raw = path.read_bytes()
    except PermissionError:
        raise _BadFile("permission denied; make the file readable (chmod a+r)") from None
    except OSError as exc:
        raise _BadFile(f"cannot be read ({exc.strerror}); check the file") from None
    _check_not_binary(raw)
    text, encoding = _decode(raw)
    if len(_CONTROL_RE.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise _BadFile("mostly control characters, not text; export it as UTF-8 text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _BadFile("the file is empty (or only whitespace); add text or remove it")
    format_ = _format_of(path) or "text"
    sha = hashlib.sha256(raw).hexdigest()
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    sidecar_sha = hashlib.sha256(sidecar.read_bytes()).hexdigest() if sidecar.is_file() else ""
    return SourceFile(
        path=path,
        rel=rel,
        sha256=sha,
        text=text,
        encoding=encoding,
        format=format_,
        sidecar_sha256=sidecar_sha,
    )


def _check_not_binary(raw: bytes) -> None:
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            raise _BadFile(f"binary file ({what}); convert it to UTF-8 text (.txt/.md)")
    if b"\x00" in raw:
        raise _BadFile("binary file (contains NUL bytes); convert it to UTF-8 text (.txt/.md)")


def _decode(raw: bytes) -> tuple[str, str]:
    """Decode strictly: UTF-8 with BOM, UTF-8, then GB18030 (a superset of GBK and GB2312).

    A UTF-8 file with a few bad bytes (cut off mid-character, one damaged byte) would often
    decode as GB18030 into plausible-looking nonsense; it is refused instead.
    """
    if raw.startswith(_UTF8_BOM):
        try:
            return raw[len(_UTF8_BOM) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise _BadFile(
                f"starts with a UTF-8 BOM but has invalid UTF-8 at byte {exc.start + 3}; "
                "re-save it as UTF-8"
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        if _damaged_utf8(raw):
            raise _BadFile(
                f"invalid UTF-8 at byte {utf8_error.start} of an otherwise UTF-8 file (damaged "
                "or cut off?); restore it or re-save it as UTF-8"
            ) from None
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            raise _BadFile(
                f"neither UTF-8 (invalid byte at offset {utf8_error.start}) nor GB18030/GBK; "
                "re-save it as UTF-8"
            ) from None


def _damaged_utf8(raw: bytes) -> bool:
    """True when nearly all of ``raw`` is valid multi-byte UTF-8. GBK/GB18030 text read as
    UTF-8 gives more invalid sequences than valid characters; damaged UTF-8 gives a few."""
    text = raw.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ch > "\x7f") - invalid
    return multibyte >= 2 and invalid * 20 < multibyte


__all__ = [
    "JSONL_SUFFIXES",
    "TEXT_SUFFIXES",
    "SourceFile",
    "SourceScan",
    "display_name",
    "scan_sources",
]
