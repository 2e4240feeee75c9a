"""Second hardening round, the index and the library: a manifest with its own checksum and
optional HMAC, the complete file set, passages inside their documents, bounded JSON and
one-line messages for nested or odd pointers, recovery by `rag build --force`, argument
checks and FIFOs in the sources (issue 12)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
from pathlib import Path

import pytest

import rag
from rag import store
from rag.cli import main
from rag.errors import IndexMismatchError, RagError, SourceError

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "source"
CITY_SPIRIT = "上海的城市精神是什么？"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def index(seed_index: Path, tmp_path: Path) -> Path:
    path = tmp_path / "index"
    shutil.copytree(seed_index, path)
    return path


def generation_of(index: Path) -> Path:
    generation = store.current_generation(index)
    assert generation is not None
    return generation


def reseal(generation: Path, change=lambda m: None, key: bytes | None = None) -> None:
    """A consistent forgery: change the manifest, recompute every checksum and its own."""
    from rag import integrity

    path = generation / store.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"] = store.checksum_tree(generation)
    change(manifest)
    path.write_text(json.dumps(integrity.seal(manifest, key)), encoding="utf-8")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("rag: ")]
    assert len(lines) == 1, err
    return lines[0]


# -- 3. the manifest's own integrity ------------------------------------------------------------


def test_the_manifest_carries_its_own_checksum(index: Path) -> None:
    from rag import integrity

    manifest = store.read_manifest(generation_of(index))
    block = manifest["integrity"]
    assert block["manifest_sha256"] == hashlib.sha256(integrity.canonical(manifest)).hexdigest()
    assert "hmac_sha256" not in block  # no RAG_INDEX_KEY in the environment


@pytest.mark.parametrize("step", [7, pytest.param(1, marks=pytest.mark.slow)])
def test_every_bit_flip_of_the_manifest_is_refused_or_harmless(index: Path, step: int) -> None:
    """Every bit of every ``step``-th byte (all of them in the slow run, ~36,000 flips)."""
    generation = generation_of(index)
    path = generation / store.MANIFEST
    raw = path.read_bytes()
    original = json.loads(raw)
    passed = 0
    for position in range(0, len(raw), step):
        for bit in range(8):
            flipped = bytearray(raw)
            flipped[position] ^= 1 << bit
            path.write_bytes(bytes(flipped))
            try:
                manifest = store.read_manifest(generation)
            except IndexMismatchError:
                continue
            # Only a flip that leaves the content alone (whitespace) may pass.
            assert manifest == original, (position, bit)
            passed += 1
    path.write_bytes(raw)
    assert passed < len(raw)  # a few whitespace flips at most, never a changed value


def test_a_manifest_without_its_checksum_is_refused(index: Path) -> None:
    generation = generation_of(index)
    path = generation / store.MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    del manifest["integrity"]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"carries no checksum of its own.*rag build"):
        rag.load(index, model="none")


def test_a_file_left_out_of_the_manifest_is_refused(index: Path) -> None:
    generation = generation_of(index)
    vocab = generation / "lexical" / "vocab.tokens.txt"
    words = vocab.read_text(encoding="utf-8").split("\n")
    words = words[1:] + words[:1]  # a modified, unchecked file
    vocab.write_text("\n".join(words), encoding="utf-8")
    reseal(generation, lambda m: m["files"].pop("lexical/vocab.tokens.txt"))
    with pytest.raises(IndexMismatchError, match=r"vocab\.tokens\.txt is not listed"):
        rag.load(index, model="none")


def test_an_unlisted_extra_file_is_refused(index: Path) -> None:
    generation = generation_of(index)
    reseal(generation)
    # The BM25 loader reads this file when params.index.json names a method that uses it.
    (generation / "lexical" / "nonoccurrence_array.index.npy").write_bytes(b"planted")
    with pytest.raises(IndexMismatchError, match=r"nonoccurrence_array\.index\.npy is in the gen"):
        rag.load(index, model="none")


def test_the_complete_file_set_is_required() -> None:
    manifest = {"dense": {"model": None}}
    assert "lexical/vocab.index.json" in store.required_files(manifest)
    assert "lexical/vocab.tokens.txt" in store.required_files(manifest)
    assert "vectors.faiss" not in store.required_files(manifest)
    assert "vectors.faiss" in store.required_files({"dense": {"model": "m"}})


@pytest.mark.parametrize(
    ("column", "row", "value", "message"),
    [
        ("chunk_span.npy", (0, 1), 10**7, "spans outside their documents"),
        ("chunk_span.npy", (0, 0), -5, "spans outside their documents"),
        ("chunk_doc.npy", (0,), 10**6, "refer to documents that do not exist"),
        ("sentences.npy", (0, 1), 10**7, "a sentence outside its passage"),
    ],
)
def test_every_passage_lies_inside_its_document(
    index: Path, column: str, row: tuple, value: int, message: str
) -> None:
    # Format 2: a passage's text is its document's bytes, so it cannot differ from it; the
    # columns' offsets are checked against each other (more in tests/test_columnar.py).
    import numpy as np

    generation = generation_of(index)
    path = generation / store.CORPUS / column
    array = np.load(path, allow_pickle=False).copy()
    array[row] = value
    np.save(path, array, allow_pickle=False)
    reseal(generation)
    with pytest.raises(IndexMismatchError, match=message):
        rag.load(index, model="none")


def _forge_text(generation: Path) -> str:
    """Edit a quoted sentence in the documents' text blob (same byte length), re-hash."""
    path = generation / store.CORPUS / "doc_text.utf8"
    original = "海纳百川、追求卓越、开明睿智、大气谦和"
    forged = "闭关自守、得过且过、固步自封、小气狭隘"
    raw = path.read_bytes()
    assert original.encode() in raw
    path.write_bytes(raw.replace(original.encode(), forged.encode()))
    return forged


def test_without_a_key_a_consistent_forgery_cannot_be_told_from_a_build(index: Path) -> None:
    # What SECURITY.md says: checksums detect damage, not a forgery by someone who can write
    # the index. This test pins that limit down, so the document stays true.
    generation = generation_of(index)
    forged = _forge_text(generation)
    reseal(generation)
    answer = rag.load(index, model="none").answer(CITY_SPIRIT)
    assert any(forged in q.text for q in answer.quotes)


def test_with_rag_index_key_a_forged_index_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import integrity

    key = "k3y-outside-the-index"
    monkeypatch.setenv("RAG_INDEX_KEY", key)
    index = tmp_path / "signed"
    rag.build_index(SOURCE, index, model="none", workers=1)
    generation = generation_of(index)
    manifest = store.read_manifest(generation)
    assert integrity.is_signed(manifest)
    assert rag.load(index, model="none").answer(CITY_SPIRIT).found
    # Someone without the key edits the text and re-hashes everything (unsigned, or signed
    # with a key of their own): refused.
    _forge_text(generation)
    reseal(generation)
    with pytest.raises(IndexMismatchError, match="not signed, but RAG_INDEX_KEY is set"):
        rag.load(index, model="none")
    reseal(generation, key=b"a guess")
    with pytest.raises(IndexMismatchError, match="signature does not match RAG_INDEX_KEY"):
        rag.load(index, model="none")
    # With the right key the (edited) index would be accepted: the key is the secret.
    reseal(generation, key=key.encode())
    rag.load(index, model="none")
    monkeypatch.delenv("RAG_INDEX_KEY")
    rag.load(index, model="none")  # a reader without the key checks the checksums only


def test_security_md_states_what_checksums_do_and_do_not_guarantee() -> None:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    section = text[text.index("## The index and the build") :]
    assert "RAG_INDEX_KEY" in section and "HMAC" in section
    assert "They detect **damage**" in section
    assert "do **not**" in section and "**forgery**" in section
    assert "forged" not in section.split("What the checksums guarantee")[0]


# -- 4. bounded JSON, one-line messages, recovery -----------------------------------------------


def test_bounded_json_loads() -> None:
    from rag import guards

    assert guards.loads('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}
    for data, reason in (
        (DEEP, "nested"),
        ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
        ("{", "invalid JSON"),
        (b"\xff", "not UTF-8"),
    ):
        with pytest.raises(guards.BoundedJSONError, match=reason) as info:
            guards.loads(data, what="X")
        assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    with pytest.raises(guards.BoundedJSONError, match="larger than 10 bytes"):
        guards.loads("[" + "1," * 10 + "1]", max_bytes=10)
    assert guards.loads("[" * 500 + "]" * 500, max_depth=0)  # the decoder's own limit only


def test_a_deeply_nested_jsonl_line_is_a_one_line_source_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    good = {"id": "a", "title": "标题", "text": "上海的城市精神是海纳百川。"}
    (source / "c.jsonl").write_text(json.dumps(good, ensure_ascii=False) + "\n" + DEEP + "\n")
    with pytest.raises(SourceError, match=r"c\.jsonl.*nested"):
        rag.build_index(source, tmp_path / "index", model="none", workers=1)
    code, _, err = cli(
        capsys, "build", "--source", str(source), "--index", str(tmp_path / "i"), "--model", "none"
    )
    assert code == 1 and "nested" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda i: (i / "CURRENT").write_text(DEEP), "CURRENT is damaged"),
        (  # within the size limit, past the decoder's recursion limit
            lambda i: (i / "CURRENT").write_text("[" * 2000 + "]" * 2000),
            "nested deeper than 64 levels",
        ),
        (lambda i: (i / "CURRENT").write_text('{"generation": [[[[[[[]]]]]]]}'), "names no"),
        (
            lambda i: (i / "CURRENT").write_text(json.dumps({"generation": "gen-" + "x" * 5000})),
            "CURRENT is damaged (its content is larger than 4096 bytes)",
        ),
        (
            lambda i: (i / "CURRENT").write_text(json.dumps({"generation": "gen-" + "x" * 300})),
            "names no generation",
        ),
        (lambda i: ((i / "CURRENT").unlink(), (i / "CURRENT").mkdir()), "not a regular file"),
        (lambda i: (i / "CURRENT").write_bytes(b"\xff\xfe" * 10_000), "CURRENT is damaged"),
    ],
)
def test_a_damaged_current_gives_one_line_and_build_force_repairs_it(
    index: Path, capsys: pytest.CaptureFixture[str], damage, message: str
) -> None:
    damage(index)
    common = ["--index", str(index), "--source", str(SOURCE), "--model", "none"]
    code, _, err = cli(capsys, "ask", CITY_SPIRIT, *common)
    assert code == 1 and message in one_line_error(err)
    assert "building it" not in err  # a damaged pointer is not a missing index
    code, out, err = cli(capsys, "doctor", *common)
    assert code == 1 and message in out and "Traceback" not in out + err
    code, out, err = cli(capsys, "build", "--force", *common)
    assert code == 0, err
    assert "Traceback" not in err and "disk" not in err
    assert rag.load(index, model="none").answer(CITY_SPIRIT).found
    assert (index / "CURRENT").is_file()


def test_a_nested_manifest_gives_one_line_and_build_force_repairs_it(
    index: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (generation_of(index) / store.MANIFEST).write_text(DEEP)
    common = ["--index", str(index), "--source", str(SOURCE), "--model", "none"]
    code, _, err = cli(capsys, "ask", CITY_SPIRIT, *common)
    assert code == 1 and "manifest.json cannot be read" in one_line_error(err)
    code, out, err = cli(capsys, "doctor", *common)
    assert code == 1 and "nested" in out and "Traceback" not in out + err
    code, out, err = cli(capsys, "build", *common)  # not up to date: rebuilt without --force
    assert code == 0, err
    assert rag.load(index, model="none").answer(CITY_SPIRIT).found


def test_os_errors_reach_the_user_as_one_line(
    index: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag import assistant

    def refuse(*args, **kwargs):
        raise OSError(36, "File name too long", "x" * 50)

    monkeypatch.setattr(assistant, "load", refuse)
    code, _, err = cli(capsys, "ask", CITY_SPIRIT, "--index", str(index), "--model", "none")
    assert code == 1 and "File name too long" in one_line_error(err)


# -- 6. arguments and special files -------------------------------------------------------------


def test_k_zero_gives_nothing_and_bad_k_a_clear_error(seed_assistant: rag.Assistant) -> None:
    from rag.errors import ArgumentError

    assert seed_assistant.search("上海 城市 软实力", k=0) == []
    assert len(seed_assistant.search("上海 城市 软实力", k=1)) == 1
    assert len(seed_assistant.search("上海 城市 软实力", k="3")) == 3  # type: ignore[arg-type]
    assert len(seed_assistant.search("上海 城市 软实力", k=2.0)) == 2  # type: ignore[arg-type]
    answer = seed_assistant.answer(CITY_SPIRIT, k=0)
    assert answer.found and answer.hits == ()
    with pytest.raises(ValueError, match="k must be 0 or more passages, got -1"):
        seed_assistant.search("上海", k=-1)
    for bad in ("abc", math.nan, math.inf, -math.inf, 2.5, True, [3]):
        with pytest.raises(ArgumentError, match="k must be") as info:
            seed_assistant.search("上海", k=bad)  # type: ignore[arg-type]
        assert isinstance(info.value, RagError) and isinstance(info.value, ValueError)
        with pytest.raises(ArgumentError):
            seed_assistant.answer(CITY_SPIRIT, k=bad)  # type: ignore[arg-type]


def test_k_in_the_cli(seed_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--index", str(seed_index), "--model", "none"]
    code, out, _ = cli(capsys, "search", "上海", "-k", "0", "--json", *common)
    assert code == 0 and json.loads(out) == []
    for bad in ("-1", "abc", "nan"):
        with pytest.raises(SystemExit) as info:
            main(["search", "上海", "-k", bad, *common])
        assert info.value.code == 2
        assert "-k" in capsys.readouterr().err


def test_history_as_a_plain_string_is_one_earlier_question(seed_assistant: rag.Assistant) -> None:
    from rag.errors import ArgumentError

    follow_up = "那城市品格呢？"
    as_list = seed_assistant.answer(follow_up, history=[CITY_SPIRIT])
    as_string = seed_assistant.answer(follow_up, history=CITY_SPIRIT)
    assert as_string.resolved_question == as_list.resolved_question != follow_up
    assert as_string.to_dict() == as_list.to_dict()
    for bad in (42, {"q": CITY_SPIRIT}, b"bytes"):
        with pytest.raises(ArgumentError, match="history must be a list"):
            seed_assistant.answer(follow_up, history=bad)  # type: ignore[arg-type]


def test_a_fifo_in_the_sources_is_skipped_with_a_message(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_text("关于城市管理的通知\n\n各区要加强城市管理。\n", "utf-8")
    os.mkfifo(source / "fifo.txt")
    result: dict[str, object] = {}

    def build() -> None:
        try:
            result["report"] = rag.build_index(source, tmp_path / "index", model="none", workers=1)
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=build, daemon=True)
    thread.start()
    thread.join(120)
    if thread.is_alive():  # unblock the reader before failing
        with open(source / "fifo.txt", "wb"):
            pass
        pytest.fail("the build blocked on the FIFO")
    report = result["report"]
    assert any("fifo.txt" in w and "named pipe" in w for w in report.warnings)  # type: ignore[attr-defined]
    assert report.documents == 1  # type: ignore[attr-defined]
    # Named directly, a FIFO is refused with the reason instead of blocking.
    with pytest.raises(SourceError, match="named pipe"):
        rag.build_index(source / "fifo.txt", tmp_path / "index2", model="none", workers=1)
