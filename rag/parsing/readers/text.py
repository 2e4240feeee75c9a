"""Plain text and Markdown (.txt/.md/.markdown/.jsonl): the encoding found, the text kept.

Decoding, strictest first: a byte-order mark (UTF-8, UTF-16, UTF-32) → strict UTF-8 → the
Chinese legacy encodings GB18030 (a superset of GBK and GB2312) and Big5, chosen by
charset-normalizer among only those two and accepted only when the whole file decodes
without an error. Restricting the candidates is what makes short Chinese texts reliable:
unrestricted detection names Cyrillic or Korean code pages for many of them
(``benchmarks/readers_encoding.py``). Markdown YAML front matter becomes metadata.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from ...errors import SourceError
from . import RawDocument
from .sidecar import normalise_metadata

# Legacy encodings a Chinese document may come in when it is not Unicode.
CHINESE_LEGACY = ("gb18030", "big5")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAGIC = {
    b"%PDF": "a PDF (name it .pdf)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a ZIP archive (a .docx? name it .docx)",
    b"\xd0\xcf\x11\xe0": "an old Office document (.doc/.xls; save it as .docx)",
}
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.05
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)


def read_text(data: bytes, path: Path) -> RawDocument:
    """Decode a text file; for Markdown, take its YAML front matter into metadata.

    Args:
        data: The file's bytes.
        path: The file's path (``.md``/``.markdown`` enable front matter; ``.jsonl`` keeps
            ``fmt='jsonl'``).

    Returns:
        The decoded text (CRLF/CR turned into LF, front matter removed) and its encoding.

    Raises:
        SourceError: Binary, empty, undecodable, or invalid front matter.
    """
    text, encoding = decode(data)
    if len(_CONTROL_RE.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise SourceError("mostly control characters, not text; export it as UTF-8 text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    suffix = path.suffix.lower()
    fmt = {".jsonl": "jsonl", ".md": "markdown", ".markdown": "markdown"}.get(suffix, "text")
    metadata: dict[str, str] = {}
    if fmt == "markdown":
        text, metadata = split_front_matter(text, path.name)
    if not text.strip():
        raise SourceError("the file is empty (or only whitespace); add text or remove it")
    return RawDocument(path, text, (), fmt, encoding, metadata)


def split_front_matter(text: str, where: str) -> tuple[str, dict[str, str]]:
    """Split YAML front matter (``---`` … ``---`` at the very start) from Markdown text.

    The front matter's lines are replaced by as many empty lines, so line numbers of the
    body stay those of the file.

    Raises:
        SourceError: The front matter is not valid YAML or has unknown keys.
    """
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        return text, {}
    import yaml

    try:
        data = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError as exc:
        raise SourceError(f"{where}: invalid YAML front matter ({exc}); fix it") from None
    metadata = normalise_metadata(data, f"{where} front matter") if data is not None else {}
    blank = "\n" * match.group(0).count("\n")
    return blank + text[match.end() :], metadata


def decode(data: bytes) -> tuple[str, str]:
    """Decode strictly: BOM, UTF-8, then GB18030 or Big5 as charset-normalizer prefers.

    A UTF-8 file with a few bad bytes (cut off, one damaged byte) would often decode as
    GB18030 into plausible nonsense; it is refused with the offset of the bad byte instead.

    Returns:
        The text and the encoding's name (``utf-8``, ``utf-8-sig``, ``utf-16``, ``utf-32``,
        ``gb18030``, ``big5``).

    Raises:
        SourceError: Binary content, a damaged Unicode file, or no encoding decodes it.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"starts with a {name.upper().replace('-SIG', '')} BOM but has an invalid "
                    f"byte at byte {exc.start + (len(bom) if name == 'utf-8-sig' else 0)}; "
                    "re-save it as UTF-8"
                ) from None
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise SourceError(f"binary file ({what}), not text")
    if b"\x00" in data:
        hint = " (UTF-16 without a BOM? re-save it as UTF-8)" if _looks_utf16(data) else ""
        raise SourceError(f"binary file (contains NUL bytes){hint}; convert it to UTF-8 text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        if _damaged_utf8(data):
            raise SourceError(
                f"invalid UTF-8 at byte {utf8_error.start} of an otherwise UTF-8 file (damaged "
                "or cut off?); restore it or re-save it as UTF-8"
            ) from None
        encoding = detect_legacy(data)
        if encoding is None:
            raise SourceError(
                f"neither UTF-8 (invalid byte at offset {utf8_error.start}) nor GB18030/GBK "
                "nor Big5; re-save it as UTF-8"
            ) from None
        return data.decode(encoding), encoding


def detect_legacy(data: bytes) -> str | None:
    """GB18030 or Big5, whichever decodes all of ``data`` and reads as Chinese; else ``None``.

    When only one of them decodes the whole file it is the answer; when both do,
    charset-normalizer, restricted to these two, chooses by how Chinese the text reads.
    """
    decodable = [name for name in CHINESE_LEGACY if _decodes(data, name)]
    if len(decodable) <= 1:
        return decodable[0] if decodable else None
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(CHINESE_LEGACY)).best()
    if best is None:
        return decodable[0]
    name = best.encoding.replace("_", "")
    return "big5" if name.startswith("big5") or name == "cp950" else "gb18030"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _looks_utf16(data: bytes) -> bool:
    sample = data[:2000]
    return sample[1::2].count(0) > len(sample) // 4 or sample[0::2].count(0) > len(sample) // 4


def _damaged_utf8(data: bytes) -> bool:
    """True when nearly all of ``data`` is valid multi-byte UTF-8. GBK/GB18030 text read as
    UTF-8 gives more invalid sequences than valid characters; damaged UTF-8 gives a few."""
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd")
    multibyte = sum(1 for ch in text if ch > "\x7f") - invalid
    return multibyte >= 2 and invalid * 20 < multibyte
