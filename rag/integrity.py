"""Integrity of an index generation: the manifest's own checksum, its optional HMAC, and
the complete set of files it must describe.

The manifest lists the sha256 of every other file, so checking the manifest checks the whole
generation. Its own checksum (``integrity.manifest_sha256``) is the sha256 of its canonical
form (every key but ``integrity``, keys sorted, no whitespace), so a damaged manifest — a
flipped bit in a ``build_id``, a source hash or a file's checksum — is refused before anything
it says is believed.

A checksum detects damage, not forgery: anyone who can write the index can recompute it. With
a secret key outside the index (``RAG_INDEX_KEY``) the build also signs the canonical manifest
with HMAC-SHA256, and a reader that has the key refuses any index whose signature is missing or
wrong, so an index edited and re-hashed by someone without the key is refused.

Storage formats call :func:`seal` when writing a manifest, :func:`seal_problem` when reading
one and :func:`file_set_problems` with the files their format version needs.

Example:
    >>> sealed = seal({"format_version": 1, "files": {}}, key=None)
    >>> seal_problem(sealed, key=None)
    ''
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

INTEGRITY = "integrity"
KEY_ENV = "RAG_INDEX_KEY"


def index_key() -> bytes | None:
    """The signing key from ``RAG_INDEX_KEY`` (UTF-8), or None when it is not set.

    Read from the environment at the moment of signing or checking and never stored in
    ``Settings``, so it is not shown wherever settings are printed or logged.
    """
    value = os.environ.get(KEY_ENV, "")
    return value.encode("utf-8") if value else None


def canonical(manifest: Mapping[str, Any]) -> bytes:
    """The bytes the checksum and the HMAC cover: every key but ``integrity``, sorted."""
    body = {k: v for k, v in manifest.items() if k != INTEGRITY}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


def _mac(data: bytes, key: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal(manifest: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    """``manifest`` with its checksum (and, with ``key``, its HMAC) under ``integrity``."""
    data = canonical(manifest)
    block = {"manifest_sha256": hashlib.sha256(data).hexdigest()}
    if key:
        block["hmac_sha256"] = _mac(data, key)
    return {**{k: v for k, v in manifest.items() if k != INTEGRITY}, INTEGRITY: block}


def seal_problem(manifest: Mapping[str, Any], key: bytes | None) -> str:
    """Why the manifest's own checksum or signature does not hold, or ``""``.

    Args:
        manifest: The decoded manifest.
        key: The reader's key (``index_key()``); with a key, an unsigned or wrongly signed
            manifest is a problem.
    """
    block = manifest.get(INTEGRITY)
    if not isinstance(block, dict) or not isinstance(block.get("manifest_sha256"), str):
        return "it carries no checksum of its own"
    data = canonical(manifest)
    if not hmac.compare_digest(block["manifest_sha256"], hashlib.sha256(data).hexdigest()):
        return "it does not match its own checksum"
    if key:
        signature = block.get("hmac_sha256")
        if not isinstance(signature, str):
            return f"it is not signed, but {KEY_ENV} is set (build it with the key)"
        if not hmac.compare_digest(signature, _mac(data, key)):
            return f"its signature does not match {KEY_ENV} (forged, or built with another key)"
    return ""


def is_signed(manifest: Mapping[str, Any]) -> bool:
    """True when the manifest carries an HMAC (checkable only with the key)."""
    block = manifest.get(INTEGRITY)
    return isinstance(block, dict) and isinstance(block.get("hmac_sha256"), str)


def files_on_disk(generation: Path, skip: Iterable[str]) -> set[str]:
    """POSIX relative paths of every file and link below ``generation`` except ``skip``."""
    skipped = set(skip)
    return {
        rel
        for path in generation.rglob("*")
        if (path.is_file() or path.is_symlink())
        and (rel := path.relative_to(generation).as_posix()) not in skipped
    }


def file_set_problems(
    listed: Iterable[str], required: Iterable[str], present: Iterable[str]
) -> list[str]:
    """What is wrong with the set of files a manifest lists.

    Args:
        listed: Paths the manifest lists.
        required: Paths the generation's format version always needs.
        present: Paths found on disk (besides the manifest).

    Returns:
        One line per problem: a required file not listed, a file on disk not listed (it
        would be read, or shadow a listed one, without being checked).
    """
    listed_set = set(listed)
    problems = [f"{rel} is not listed in the manifest" for rel in required if rel not in listed_set]
    problems += [
        f"{rel} is in the generation but not listed in the manifest"
        for rel in sorted(set(present) - listed_set)
    ]
    return problems


__all__ = [
    "INTEGRITY",
    "KEY_ENV",
    "canonical",
    "file_set_problems",
    "files_on_disk",
    "index_key",
    "is_signed",
    "seal",
    "seal_problem",
]
