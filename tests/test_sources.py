"""Finding and decoding source files: encodings, bad files, skipped entries, symlinks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from rag.errors import SourceError
from rag.sources import scan_sources

TEXT = "## 标题\n\n正文第一段。\n"


def test_utf8_file(tmp_path: Path) -> None:
    raw = TEXT.encode("utf-8")
    (tmp_path / "a.md").write_bytes(raw)
    scan = scan_sources(tmp_path)
    (f,) = scan.files
    assert (f.rel, f.encoding, f.format, f.text) == ("a.md", "utf-8", "text", TEXT)
    assert f.sha256 == hashlib.sha256(raw).hexdigest()
    assert scan.root == tmp_path and scan.warnings == ()


def test_gbk_and_gb18030(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes(TEXT.encode("gbk"))
    (tmp_path / "gb18030.txt").write_bytes("生僻字：𠀀。\n".encode("gb18030"))
    files = {f.rel: f for f in scan_sources(tmp_path).files}
    assert files["gbk.txt"].text == TEXT
    assert files["gbk.txt"].encoding == "gb18030"
    assert files["gb18030.txt"].text == "生僻字：𠀀。\n"


def test_a_whole_gbk_document_is_not_mistaken_for_damaged_utf8(tmp_path: Path) -> None:
    seed = next((Path(__file__).resolve().parent.parent / "source").glob("*.txt"))
    text = seed.read_text(encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes(text.encode("gbk"))
    (f,) = scan_sources(tmp_path).files
    assert f.encoding == "gb18030" and f.text == text


@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "utf-16"), ("big5", "big5")])
def test_utf16_with_bom_and_big5(tmp_path: Path, encoding: str, name: str) -> None:
    text = "全會由市委常委會主持。出席這次全會的有市委委員79人。"
    (tmp_path / "a.txt").write_bytes(text.encode(encoding))
    (f,) = scan_sources(tmp_path).files
    assert (f.text, f.encoding) == (text, name)


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    (f,) = scan_sources(tmp_path).files
    assert f.text == TEXT and f.encoding == "utf-8-sig"


def test_crlf_and_cr_become_lf(tmp_path: Path) -> None:
    (tmp_path / "crlf.txt").write_bytes("第一行。\r\n第二行。\r第三行。\r\n".encode())
    (f,) = scan_sources(tmp_path).files
    assert f.text == "第一行。\n第二行。\n第三行。\n"


def test_single_file_and_odd_names(tmp_path: Path) -> None:
    path = tmp_path / "政策 文件（2021）#1.markdown"
    path.write_text(TEXT, encoding="utf-8")
    scan = scan_sources(path)
    assert scan.root == tmp_path
    assert [f.rel for f in scan.files] == ["政策 文件（2021）#1.markdown"]


def test_recursive_sorted_and_hidden_skipped(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "a.jsonl").write_text('{"id": "1", "title": "t", "text": "x"}\n', encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text(TEXT, encoding="utf-8")
    files = scan_sources(tmp_path).files
    assert [(f.rel, f.format) for f in files] == [("a.jsonl", "jsonl"), ("b/z.txt", "text")]


def test_very_long_line_is_fine(tmp_path: Path) -> None:
    (tmp_path / "long.txt").write_text("很长的一行。" * 200_000, encoding="utf-8")
    (f,) = scan_sources(tmp_path).files
    assert len(f.text) == 1_200_000


def test_unsupported_extension_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "report.xlsx").write_bytes(b"PK\x03\x04")
    scan = scan_sources(tmp_path)
    assert [f.rel for f in scan.files] == ["a.txt"]
    assert len(scan.warnings) == 1 and "report.xlsx" in scan.warnings[0]


def test_single_unsupported_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.xlsx").write_bytes(b"PK\x03\x04")
    with pytest.raises(SourceError, match="unsupported extension"):
        scan_sources(tmp_path / "a.xlsx")


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        scan_sources(tmp_path / "nowhere")


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no documents in"):
        scan_sources(tmp_path)


def test_directory_with_only_unsupported_files(tmp_path: Path) -> None:
    (tmp_path / "a.doc").write_bytes(b"x")
    with pytest.raises(SourceError, match=r"no documents in .*1 entries skipped"):
        scan_sources(tmp_path)


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b" \n\t\r\n\xe3\x80\x80\n", "empty"),
        ("bom_only.txt", b"\xef\xbb\xbf", "empty"),
        ("nul.txt", "正文".encode() + b"\x00\x01\x02", "NUL bytes"),
        ("image.txt", b"\x89PNG\r\n\x1a\n", "PNG"),
        ("utf16.txt", "正文 abc".encode("utf-16-le"), "UTF-16 without a BOM"),
        ("control.txt", b"\x01\x02\x03\x04abc", "control characters"),
        ("invalid.txt", b"abc \xff\xfe\xfd \x80", "neither UTF-8"),
        ("bad_bom.txt", b"\xef\xbb\xbfabc \xff", "UTF-8 BOM"),
        ("cut.txt", ("正文。" * 20).encode() + b"\xe6\xad", "otherwise UTF-8 file"),
        ("damaged.md", "正文。".encode() * 10 + b"\xff" + "正文。".encode() * 10, "byte 90"),
    ],
)
def test_bad_file(tmp_path: Path, name: str, raw: bytes, message: str) -> None:
    (tmp_path / name).write_bytes(raw)
    with pytest.raises(SourceError, match=message) as info:
        scan_sources(tmp_path)
    assert name in str(info.value)


def test_every_bad_file_is_listed_once(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.md").write_bytes(b"\x00\x00")
    with pytest.raises(SourceError) as info:
        scan_sources(tmp_path)
    message = str(info.value)
    assert message.startswith("2 source file(s) cannot be read")
    assert "empty.txt: the file is empty" in message and "binary.md: binary file" in message
    assert "good.txt" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(TEXT, encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(SourceError, match=r"secret\.txt: permission denied"):
            scan_sources(tmp_path)
    finally:
        path.chmod(0o644)


def test_permission_error_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Works as root too, where chmod 0 does not stop reads.
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "b.txt").write_text(TEXT, encoding="utf-8")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "b.txt":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    with pytest.raises(SourceError, match=r"b\.txt: permission denied; make the file readable"):
        scan_sources(tmp_path)


def test_symlink_outside_root_not_followed(tmp_path: Path) -> None:
    root, outside = tmp_path / "src", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(TEXT, encoding="utf-8")
    (root / "a.txt").write_text(TEXT, encoding="utf-8")
    (root / "leak.txt").symlink_to(outside / "secret.txt")
    (root / "leakdir").symlink_to(outside, target_is_directory=True)
    scan = scan_sources(root)
    assert [f.rel for f in scan.files] == ["a.txt"]
    assert len(scan.warnings) == 2
    assert all("outside the source directory" in w for w in scan.warnings)


def test_symlink_inside_root_and_loops(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "docs" / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "link.txt").symlink_to(tmp_path / "docs" / "a.txt")
    (tmp_path / "broken.txt").symlink_to(tmp_path / "missing.txt")
    scan = scan_sources(tmp_path)
    assert [f.rel for f in scan.files] == ["docs/a.txt"]
    warnings = "\n".join(scan.warnings)
    assert "docs/loop" in warnings and "broken.txt" in warnings and "link.txt" in warnings
