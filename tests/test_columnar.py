"""The columnar corpus store: exact round trip, lazy reading, checks beyond the checksums."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import rag
from rag import store
from rag.chunking import chunk_documents
from rag.columnar import ChunkTable, CorpusColumns, DocumentTable, write_corpus
from rag.errors import IndexMismatchError
from rag.integrity import seal
from rag.parsing import load_documents
from rag.schema import Chunk, Document, Heading, Paragraph, Repair, SectionRef, Sentence
from rag.tokenization import Tokenizer

SOURCE = Path(__file__).resolve().parent.parent / "source"


def _generation(index: Path) -> Path:
    generation = store.current_generation(index)
    assert generation is not None
    return generation


def test_passages_documents_and_sentence_tokens_round_trip_exactly(seed_index: Path) -> None:
    gen = store.load_current(seed_index)
    corpus = load_documents(SOURCE)
    chunks = chunk_documents(corpus.documents, size=200, overlap=0)
    assert list(gen.documents) == [d.doc_id for d in corpus.documents]
    assert [gen.documents[d.doc_id] for d in corpus.documents] == list(corpus.documents)
    assert len(gen.chunks) == len(chunks)
    assert list(gen.chunks) == chunks
    tokenizer = Tokenizer(user_terms=gen.tokenizer.user_terms)
    for i, chunk in enumerate(chunks):
        doc = gen.documents[chunk.doc_id]
        assert doc.text[chunk.start : chunk.end] == gen.chunks[i].text
        expected = [" ".join(tokenizer.tokenize(doc.text[s:e])) for s, e in chunk.sentences]
        assert gen.sentence_tokens[i] == expected
    assert gen.chunks[-1] == chunks[-1] and gen.chunks[np.int64(0)] == chunks[0]
    with pytest.raises(IndexError):
        gen.chunks[len(chunks)]
    assert "no-such-doc" not in gen.documents and gen.documents.get("no-such-doc") is None


def test_the_stored_dictionary_tokenizes_like_a_fresh_tokenizer(seed_index: Path) -> None:
    gen = store.load_current(seed_index)
    fresh = Tokenizer(user_terms=gen.tokenizer.user_terms)
    for chunk in gen.chunks:
        assert gen.tokenizer.tokenize(chunk.text) == fresh.tokenize(chunk.text)
    long_words = "中华人民共和国全国人民代表大会常务委员会坚持马克思主义"
    primed = store.load_current(seed_index).tokenizer  # looks words up, no full dictionary
    assert primed.tokenize(long_words) == fresh.tokenize(long_words)
    assert primed._stored is not None
    for word in ("软实力", "开会", "鳗", "上海"):
        assert gen.tokenizer.rarity(word) == fresh.rarity(word)
    from jieba import posseg

    # Short words and long ones (over four characters: stored in the wide array).
    words = (
        "上海",
        "北京",
        "张江",
        "开会",
        "不存在的词语",
        "软实力",
        "中华人民共和国",
        "马克思主义",
    )
    assert any(posseg.dt.word_tag_tab.get(w) for w in words if len(w) > 4)
    for word in words:
        assert gen.tokenizer.word_tag(word) == posseg.dt.word_tag_tab.get(word, "")
        assert fresh.word_tag(word) == gen.tokenizer.word_tag(word)


def test_a_loaded_tokenizer_looks_up_only_what_it_needs_then_everything(
    seed_index: Path,
) -> None:
    tokenizer = store.load_current(seed_index).tokenizer
    assert len(tokenizer._jieba.FREQ) == 0
    tokenizer.tokenize("上海的城市精神是什么？")
    assert 0 < len(tokenizer._jieba.FREQ) < 1000
    fresh = Tokenizer(user_terms=tokenizer.user_terms)
    for text in ["全会由谁主持？"] * 20:
        assert tokenizer.tokenize(text) == fresh.tokenize(text)
    assert tokenizer._jieba.FREQ == fresh._jieba.FREQ  # the full dictionary by now


def test_loading_builds_no_record_before_it_is_read(
    seed_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_a, **_k):
        raise AssertionError("a record was parsed while loading")

    monkeypatch.setattr(Document, "from_dict", refuse)
    gen = store.load_current(seed_index)
    assert len(gen.chunks) > 0 and len(gen.documents) == 2
    monkeypatch.undo()
    assert gen.chunks[0].text


def test_new_record_fields_round_trip_without_a_format_change(tmp_path: Path) -> None:
    """Every field of a document, including optional ones a parser may add, comes back."""
    text = "第一章 总则\n\n第一条 为了规范管理，制定本办法。本办法自发布之日起施行。\n\n附：说明"
    start = text.index("第一条")
    end = text.index("\n\n附")
    doc = Document(
        doc_id="d/1 ü",
        title="管理办法",
        kind="policy",
        text=text,
        paragraphs=(
            Paragraph(
                1,
                start,
                end,
                (SectionRef("第一章", "总则", 1),),
                (Sentence(start, start + 18), Sentence(start + 18, end)),
                (3,),
            ),
        ),
        headings=(Heading("section", "第一章 总则", 0, 6, 1),),
        source="a.txt",
        source_sha256="0" * 64,
        date="2021-06-22",
        subtitle="副题",
        metadata=("图片说明",),
        repairs=(Repair("joined", "a.txt", (2, 3), "joined"),),
    )
    chunk = Chunk(
        chunk_id=f"{doc.doc_id}:{start}-{end}",
        doc_id=doc.doc_id,
        doc_title="另一个标题",  # not the document's title: kept as a passage field
        section=("第一章",),
        paragraphs=(1,),
        start=start,
        end=end,
        text=text[start:end],
        sentences=((start, start + 18), (start + 18, end)),
    )
    tokens = np.array([0, 1, 2], dtype=np.int32)
    write_corpus(
        tmp_path,
        [doc],
        [chunk],
        tokens,
        np.array([0, 2, 3], dtype=np.int64),
        citations=["《标题》第一章 第3段"],
        write=store.write_checked,
    )
    columns = CorpusColumns(tmp_path, vocabulary_size=3)
    docs = DocumentTable(columns)
    assert docs[doc.doc_id] == doc
    assert docs.title_at(0) == doc.title
    table = ChunkTable(columns, docs)
    assert table[0] == chunk
    assert table.citations([0]) == ["《标题》第一章 第3段"]


def _damage(generation: Path, name: str, change) -> None:
    path = generation / store.CORPUS / name
    array = np.load(path, allow_pickle=False)
    np.save(path, change(array.copy()), allow_pickle=False)
    manifest = json.loads((generation / store.MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = store.checksum_tree(generation)
    (generation / store.MANIFEST).write_text(json.dumps(seal(manifest, None)), encoding="utf-8")


def _set(index_value: tuple, value: int):
    def change(a: np.ndarray) -> np.ndarray:
        a[index_value] = value
        return a

    return change


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("chunk_doc.npy", _set((0,), 99), "refer to documents that do not exist"),
        ("chunk_span.npy", _set((0, 3), 10**9), "spans outside their documents"),
        ("chunk_section.npy", _set((0,), -1), "refer to sections"),
        ("tokens.npy", _set((0,), 10**8), "token ids outside the vocabulary"),
        ("sentences.indptr.npy", _set((-1,), 10**6), "does not fit its data"),
        ("chunk_doc.npy", lambda a: a.astype(np.int64), "is int64"),
        ("tokens.indptr.npy", lambda a: a[:-1], "rows, not"),
    ],
)
def test_consistent_forgeries_are_refused(
    seed_index: Path, tmp_path: Path, name: str, change, message: str
) -> None:
    """Columns that match a re-written manifest but not each other are refused on load."""
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    _damage(_generation(index), name, change)
    with pytest.raises(IndexMismatchError, match=message) as info:
        rag.load(index, model="none")
    assert "rag build" in str(info.value)


def test_a_dictionary_for_other_terms_is_refused(seed_index: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    generation = _generation(index)
    (generation / store.TERMS).write_text("别的词语", encoding="utf-8")
    manifest = json.loads((generation / store.MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = store.checksum_tree(generation)
    (generation / store.MANIFEST).write_text(json.dumps(seal(manifest, None)), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=r"other terms.*rag build"):
        rag.load(index, model="none")


def test_the_catalogue_columns_give_each_documents_kind_and_titles(seed_index: Path) -> None:
    from rag.scope import ScopeCatalogue
    from rag.textnorm import normalize

    gen = store.load_current(seed_index)
    cards = gen.documents.catalogue()  # type: ignore[attr-defined]
    assert [c[0] for c in cards] == list(gen.documents)
    for doc_id, kind, title, subtitle, key in cards:
        doc = gen.documents[doc_id]
        assert (kind, title, subtitle, key) == (doc.kind, doc.title, doc.subtitle, normalize(title))
    # The catalogue of a stored generation and of plain Documents agree.
    plain = ScopeCatalogue({i: gen.documents[i] for i in gen.documents})
    stored = ScopeCatalogue(gen.documents)
    assert stored.kinds() == plain.kinds()
    question = f"只在《{cards[0][2]}》中，全会由谁主持？"
    assert stored.from_question(question) == plain.from_question(question)
    # Naming a title without stating a scope reads no catalogue at all.
    untouched = ScopeCatalogue(gen.documents)
    assert untouched.from_question(f"《{cards[0][2]}》说了什么？").scope is None
    assert not untouched._catalogue.ready
