"""Metadata a user states beside a file: ``<file>.meta.yaml``, ``.meta.yml`` or ``.meta.json``.

A sidecar works for every format (a PDF or Word file cannot carry front matter), for example
``决议.pdf.meta.yaml`` holding ``genre: 决议`` and ``title: 十一届市委十一次全会决议``.
Sidecar files are not documents themselves; the source scan skips them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ... import guards
from ...errors import SourceError
from ...textnorm import fold_chars

SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")
# Keys a user may state; ``kind`` is accepted as another name for ``genre``.
METADATA_KEYS = frozenset({"title", "genre", "date", "url", "author", "site", "number", "issuer"})
_ALIASES = {"kind": "genre", "type": "genre", "文种": "genre", "标题": "title", "日期": "date"}


def is_sidecar(path: Path) -> bool:
    """True when ``path`` is a sidecar metadata file rather than a document."""
    return path.name.lower().endswith(SIDECAR_SUFFIXES)


def sidecar_of(path: Path) -> Path | None:
    """The sidecar file of ``path`` when there is one."""
    for suffix in SIDECAR_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def read_sidecar(path: Path) -> dict[str, str]:
    """The metadata stated in the sidecar of ``path`` (empty when it has none).

    Raises:
        SourceError: The sidecar is not valid YAML/JSON, not a mapping, or has unknown keys.
    """
    side = sidecar_of(path)
    if side is None:
        return {}
    try:
        raw = side.read_text(encoding="utf-8-sig")
        if side.suffix == ".json":
            data: Any = guards.loads(raw, what=side.name)
        else:
            import yaml

            data = yaml.safe_load(raw)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"{side.name}: not readable metadata ({exc}); fix the file") from None
    except Exception as exc:  # yaml.YAMLError and its subclasses
        raise SourceError(f"{side.name}: invalid YAML ({exc}); fix the file") from None
    if data is None:
        return {}
    return normalise_metadata(data, side.name)


def normalise_metadata(data: object, where: str) -> dict[str, str]:
    """Metadata values as strings under their canonical keys.

    Raises:
        SourceError: ``data`` is not a mapping or holds a key this project does not know.
    """
    if not isinstance(data, Mapping):
        raise SourceError(f"{where}: metadata must be key: value pairs (e.g. 'genre: 决议')")
    out: dict[str, str] = {}
    for key, value in data.items():
        # Chinese keys in either script: 標題 and 文種 are 标题 and 文种.
        name = _ALIASES.get(fold_chars(str(key).strip()), str(key).strip().lower())
        if name not in METADATA_KEYS:
            known = ", ".join(sorted(METADATA_KEYS | {"kind"}))
            raise SourceError(f"{where}: unknown metadata key {key!r}; known keys: {known}")
        if value is not None and str(value).strip():
            out[name] = str(value).strip()
    return out
