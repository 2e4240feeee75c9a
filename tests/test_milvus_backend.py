"""The Milvus backend against Milvus Lite (embedded, a local file; no server needed).

Every Milvus Lite start costs a few seconds, so these tests are marked slow (CI runs them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rag
from rag import store
from rag.doctor import Status, diagnose
from rag.embedding import HashingEmbedder
from rag.errors import IndexMismatchError, RagError
from rag.settings import Settings

pytest.importorskip("milvus_lite")
pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parent.parent / "source"
QUESTIONS = [
    "上海的城市精神是什么？",
    "全会由谁主持？",
    "张江科学城的面积有多大？",
    "如何提升城市软实力？",
    "红色文化有哪些？",
    "全会审议通过了什么文件？",
]
DIM = 32


def _client(uri: Path):
    from pymilvus import MilvusClient

    return MilvusClient(str(uri))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("milvus")
    index, uri = root / "index", root / "milvus.db"
    rag.build_index(
        SOURCE,
        index,
        embedder=HashingEmbedder(DIM),
        backend="milvus",
        milvus_uri=str(uri),
        workers=1,
    )
    return index, uri


# First of the tests on `built`: Milvus Lite's in-process server was seen to refuse new
# connections after many open/close cycles in one busy process (a CLI process makes one).
def test_doctor_checks_the_backend(built, tmp_path: Path) -> None:
    index, uri = built
    settings = Settings.load(index=index, backend="milvus", milvus_uri=str(uri), model="none")
    check = next(c for c in diagnose(settings).checks if c.name == "backend")
    assert check.status is Status.OK and "alias rag" in check.detail
    other = Settings.load(
        index=index, backend="milvus", milvus_uri=str(tmp_path / "empty.db"), model="none"
    )
    check = next(c for c in diagnose(other).checks if c.name == "backend")
    assert check.status is Status.FAIL and "no collection" in check.detail


@pytest.fixture
def pair(built):
    """The same generation through both backends; the Milvus connection closed afterwards
    (Milvus Lite serves one file to one process at a time)."""
    index, uri = built
    embedder = HashingEmbedder(DIM)
    local = rag.load(index, embedder=embedder, backend="local")
    milvus = rag.load(index, embedder=embedder, backend="milvus", milvus_uri=str(uri))
    yield local, milvus
    milvus._state.retriever.backend.close()


def test_rankings_passages_and_answers_agree_with_the_local_backend(pair) -> None:
    local, milvus = pair
    assert milvus._state.retriever.backend.name == "milvus"
    for question in QUESTIONS:
        for mode in ("lexical", "dense", "hybrid"):
            a = local.search(question, k=10, mode=mode)
            b = milvus.search(question, k=10, mode=mode)
            assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-5)
            if mode == "lexical":
                assert [h.chunk_id for h in a] == [h.chunk_id for h in b], question
                assert a == [
                    type(h)(**{**h.to_dict(), "score": a[i].score}) for i, h in enumerate(b)
                ]
            else:  # the hashing double's vectors tie (often at 0): order among ties is free
                scores = [h.score for h in a]
                for i, score in enumerate(scores):
                    if all(abs(score - o) > 1e-4 for j, o in enumerate(scores) if j != i):
                        assert a[i].chunk_id == b[i].chunk_id, (question, mode, i)
        x, y = local.answer(question, mode="hybrid"), milvus.answer(question, mode="hybrid")
        assert x.quotes == y.quotes and x.found == y.found
        for quote in y.quotes:  # verbatim against the stored document text
            assert milvus.document(quote.doc_id).text[quote.start : quote.end] == quote.text


def test_scoped_rankings_filter_in_milvus_as_locally(pair) -> None:
    local, milvus = pair
    side = "shanghai_cpc_plenary_2021-06-22_soft_power/side_report"
    for scope in ({"documents": [side]}, {"kinds": ["resolution"]}):
        for question in QUESTIONS:
            a = local.search(question, k=8, mode="lexical", scope=scope)
            b = milvus.search(question, k=8, mode="lexical", scope=scope)
            assert [h.chunk_id for h in a] == [h.chunk_id for h in b], (question, scope)
            allowed = set(local._state.scopes.document_ids(local._state.scopes.resolve(scope)))
            assert {h.doc_id for h in b} <= allowed
            dense = milvus.search(question, k=8, mode="dense", scope=scope)
            assert dense and {h.doc_id for h in dense} <= allowed


def test_passages_are_fetched_by_id_from_the_collection(pair) -> None:
    _, milvus = pair
    backend = milvus._state.retriever.backend
    generation = milvus._state.generation
    rows = [0, len(generation.chunks) - 1, 3]
    backend._cache.clear()
    assert backend.fetch(rows) == [generation.chunks[i] for i in rows]
    with pytest.raises(IndexMismatchError, match="lacks passage"):
        backend.fetch([10_000])


def test_each_build_writes_a_collection_and_moves_the_alias(tmp_path: Path) -> None:
    index, uri = tmp_path / "index", tmp_path / "m.db"
    opts = {"model": "none", "backend": "milvus", "milvus_uri": str(uri), "workers": 1}
    names = []
    for _ in range(3):
        report = rag.build_index(SOURCE, index, force=True, **opts)
        names.append(store.read_manifest(report.generation)["backend"]["collection"])
        client = _client(uri)
        assert client.describe_alias("rag")["collection_name"] == names[-1]
        kept = set(client.list_collections())
        client.close()
        # The previous collection is kept until the next switch, older ones are dropped.
        assert kept == set(names[-2:])
    assert len(set(names)) == 3
    assistant = rag.load(index, backend="milvus", milvus_uri=str(uri))
    assert assistant.answer("全会由谁主持？").found
    assistant._state.retriever.backend.close()


def test_a_failed_milvus_write_leaves_alias_and_index_as_they_were(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pymilvus import MilvusClient

    index, uri = tmp_path / "index", tmp_path / "m.db"
    opts = {"model": "none", "backend": "milvus", "milvus_uri": str(uri), "workers": 1}
    first = rag.build_index(SOURCE, index, **opts)
    real_insert = MilvusClient.insert
    calls = {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        raise RuntimeError("connection reset by peer")

    monkeypatch.setattr(MilvusClient, "insert", failing)
    with pytest.raises(RagError, match=r"Milvus.*previous index and the Milvus alias"):
        rag.build_index(SOURCE, index, force=True, **opts)
    monkeypatch.setattr(MilvusClient, "insert", real_insert)
    assert calls["n"] == 1
    client = _client(uri)
    assert client.describe_alias("rag")["collection_name"] == f"rag_{first.build_id}".replace(
        "-", "_"
    )
    assert client.list_collections() == [f"rag_{first.build_id}".replace("-", "_")]
    client.close()
    assert rag.load(index, **opts).info.build_id == first.build_id


def test_a_local_build_cannot_be_served_through_milvus(seed_index: Path, tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="built without Milvus"):
        rag.load(seed_index, model="none", backend="milvus", milvus_uri=str(tmp_path / "x.db"))


def test_backend_settings_are_checked() -> None:
    with pytest.raises(RagError, match="unknown backend 'solr'"):
        Settings.load(backend="solr")
    with pytest.raises(RagError, match="milvus_alias"):
        Settings.load(milvus_alias="bad-name")
    s = Settings.load(env={"RAG_BACKEND": "Milvus", "RAG_MILVUS_PASSWORD": "secret"})
    assert s.backend == "milvus" and "secret" not in repr(s)
