"""The JSON API (ui/api.py) over the real seed index, through the real server and its gate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

import rag

pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from ui.server import start

    tmp = tmp_path_factory.mktemp("api")
    source = tmp / "source"
    shutil.copytree(ROOT / "source", source)
    index = tmp / "index"
    rag.build_index(source, index, model="none", workers=1)
    assistant = rag.load(index, model="none", source=source)
    running = start(assistant, host="127.0.0.1", port=0)
    yield running, source
    running.close()


@pytest.fixture()
def client(served):
    running, _ = served
    with httpx.Client(base_url=running.url.rstrip("/"), timeout=30) as c:
        yield c


def test_answer_replies_answer_to_dict(client, served):
    running, _ = served
    reply = client.post("/api/answer", json={"question": "上海的城市精神是什么？", "k": 3})
    assert reply.status_code == 200
    data = reply.json()
    expected = running.app.rag_service.assistant.answer("上海的城市精神是什么？", k=3).to_dict()
    assert data == json.loads(json.dumps(expected))
    assert data["found"] and "海纳百川" in data["quotes"][0]["text"]


def test_answer_uses_history_for_follow_ups(client):
    data = client.post(
        "/api/answer",
        json={"question": "那城市品格呢？", "history": ["上海的城市精神是什么？"]},
    ).json()
    assert data["found"] and "开放、创新、包容" in data["markdown"]


def test_search_replies_a_list_of_hits(client):
    hits = client.post("/api/search", json={"question": "城市软实力", "k": 2}).json()
    assert isinstance(hits, list) and len(hits) == 2
    assert {"doc_id", "text", "score", "citation", "start", "end"} <= set(hits[0])


RESOLUTION = "shanghai_cpc_plenary_2021-06-22_soft_power/resolution"
SIDE_REPORT = "shanghai_cpc_plenary_2021-06-22_soft_power/side_report"


def test_scoped_answer_and_search(client, served):
    running, _ = served
    body = {"question": "软实力 加速器", "k": 5, "scope": {"kinds": ["resolution"]}}
    hits = client.post("/api/search", json=body).json()
    assert hits and {h["doc_id"] for h in hits} == {RESOLUTION}
    body = {"question": "软实力 加速器", "k": 5, "scope": {"documents": [SIDE_REPORT]}}
    data = client.post("/api/answer", json=body).json()
    assert {h["doc_id"] for h in data["hits"]} == {SIDE_REPORT}
    assert data["scope"]["documents"] == [SIDE_REPORT] and not data["scope"]["stated"]
    assistant = running.app.rag_service.assistant
    expected = assistant.answer("软实力 加速器", k=5, scope={"documents": [SIDE_REPORT]})
    assert data == json.loads(json.dumps(expected.to_dict()))
    # A scope in the question itself, shown in the answer.
    data = client.post("/api/answer", json={"question": "只看决议原文，城市精神是什么？"}).json()
    assert data["scope"] == {
        "documents": [],
        "kinds": ["resolution"],
        "label": "决议",
        "stated": True,
        "inherited": False,
    }
    # A follow-up keeps the scope its history stated.
    body = {"question": "那城市品格呢？", "history": ["只看决议原文，城市精神是什么？"]}
    data = client.post("/api/answer", json=body).json()
    assert data["scope"]["inherited"] and data["scope"]["kinds"] == ["resolution"]
    assert {h["doc_id"] for h in data["hits"]} == {RESOLUTION}
    assert "只在决议中查找" in data["markdown"] and data["found"]
    assert {q["doc_id"] for q in data["quotes"]} == {RESOLUTION}


@pytest.mark.parametrize(
    ("scope", "detail"),
    [
        ({"documents": ["no-such-document"]}, "unknown document 'no-such-document'"),
        ({"kinds": ["poem"]}, "unknown document kind 'poem'"),
        ({"kinds": ["law"]}, "no indexed document is of kind 'law'"),
    ],
)
def test_unknown_scope_is_400_with_what_was_wrong(client, scope, detail):
    for route in ("/api/answer", "/api/search"):
        reply = client.post(route, json={"question": "城市精神", "scope": scope})
        assert reply.status_code == 400 and detail in reply.json()["detail"], reply.text


def test_scope_is_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    props = schema["components"]["schemas"]["ScopeModel"]["properties"]
    assert {"documents", "kinds"} <= set(props)
    assert "resolution（决议）" in props["kinds"]["description"]
    answer = schema["components"]["schemas"]["AnswerRequest"]["properties"]
    assert "scope" in answer


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"question": "x", "scope": {"docs": ["a"]}},
        {"question": "x", "scope": {"documents": "a"}},
        {"question": "x", "scope": {"kinds": [""]}},
        {"question": 3},
        {"question": "x", "k": 0},
        {"question": "x", "k": 999},
        {"question": "x", "history": "not a list"},
        {"question": "x", "mode": "magic"},
        {"question": "x", "extra": 1},
    ],
)
def test_bad_bodies_are_422_with_a_reason(client, body):
    reply = client.post("/api/answer", json=body)
    assert reply.status_code == 422
    assert reply.json()["detail"]


def test_openapi_schema_lists_the_routes(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/answer", "/search", "/documents"} <= set(schema["paths"])
    assert schema["servers"] == [{"url": "/api"}]


def test_foreign_origin_and_host_are_refused_like_the_page(client):
    body = {"question": "上海的城市精神是什么？"}
    evil = client.post("/api/answer", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    rebinding = client.post("/api/answer", json=body, headers={"Host": "evil.example"})
    assert rebinding.status_code == 400


def test_gradio_ask_endpoint_still_answers(served):
    from gradio_client import Client

    running, _ = served
    result = Client(running.url, verbose=False).predict("上海的城市精神是什么？", api_name="/ask")
    assert result["found"]


def test_documents_list_and_upload_checks(client, served):
    listing = client.get("/api/documents").json()
    assert listing["uploads_allowed"] is True
    assert {d["kind"] for d in listing["documents"]} == {"resolution", "side_report"}
    assert all(d["title"] and d["chars"] > 0 for d in listing["documents"])
    refused = {
        "a.exe": (b"MZ", 415),
        ".hidden.txt": (b"x", 400),
        "fake.pdf": (b"not a pdf", 415),
        "fake.docx": (b"not a zip", 415),
        "binary.txt": (b"\x00\x01\x02", 415),
        "empty.txt": (b"", 400),
    }
    for name, (data, status) in refused.items():
        reply = client.put(f"/api/documents/{name}", content=data)
        assert reply.status_code == status, (name, reply.text)
    traversal = client.put("/api/documents/..%2F..%2Fevil.txt", content=b"x")
    assert traversal.status_code in (400, 404)
    _, source = served
    assert sorted(p.name for p in source.iterdir()) == [
        "shanghai_cpc_plenary_2021-06-22_soft_power.txt"
    ]


def test_upload_builds_in_the_background_and_the_new_document_answers(client, served):
    running, source = served
    text = (
        "关于推进社区花园建设的通知\n\n一、总体目标\n\n"
        "到2025年，全市建成社区花园五百个，每个街道至少两个。\n"
    )
    reply = client.put("/api/documents/社区花园通知.txt", content=text.encode("utf-8"))
    assert reply.status_code == 202, reply.text
    assert client.put("/api/documents/社区花园通知.txt", content=b"again").status_code == 409
    status = running.app.rag_service.library.wait(120)
    assert status.state == "done", status.message
    answer = client.post("/api/answer", json={"question": "全市要建成多少个社区花园？"}).json()
    assert answer["found"] and "五百个" in answer["quotes"][0]["text"]
    assert client.delete("/api/documents/社区花园通知.txt").status_code == 202
    assert running.app.rag_service.library.wait(120).state == "done"
    assert not (source / "社区花园通知.txt").exists()
    assert client.delete("/api/documents/社区花园通知.txt").status_code == 404


def test_uploads_are_refused_off_loopback_without_login(served):
    from ui.api import create_api

    running, _ = served
    api = create_api(running.app.rag_service, uploads_allowed=False)
    from fastapi.testclient import TestClient

    reply = TestClient(api).put("/documents/a.txt", content="正文".encode())
    assert reply.status_code == 403 and "登录" in reply.json()["detail"]


@pytest.mark.parametrize(
    "name", ["..", ".", "a/b.txt", "a\\b.txt", ".env.txt", "x\u202e.txt", "", "a.exe"]
)
def test_file_names_that_could_leave_source_are_refused(name):
    from ui.uploads import UploadError, check_name

    with pytest.raises(UploadError):
        check_name(name)


def test_upload_cap_is_a_setting(tmp_path):
    from ui.server import start

    settings = rag.Settings.load(env={"RAG_MAX_UPLOAD_MB": "3"})
    assert settings.max_upload_mb == 3 and settings.max_upload_bytes == 3 * 2**20
    assert rag.Settings.load(max_upload_mb=8, max_source_mb=5).max_upload_bytes == 5 * 2**20
    for bad in ("0", "2000"):
        with pytest.raises(rag.RagError, match="max_upload_mb must be between 1 and 1024"):
            rag.Settings.load(env={"RAG_MAX_UPLOAD_MB": bad})
    source = tmp_path / "source"
    shutil.copytree(ROOT / "source", source)
    rag.build_index(source, tmp_path / "index", model="none", workers=1)
    assistant = rag.load(tmp_path / "index", model="none", source=source)
    running = start(
        assistant, host="127.0.0.1", port=0, settings=assistant.settings.with_(max_upload_mb=3)
    )
    try:
        with httpx.Client(base_url=running.url.rstrip("/"), timeout=60) as c:
            assert c.get("/api/documents").json()["max_upload_bytes"] == 3 * 2**20
            # Over the old fixed 2 MB, under the setting: it reaches the content check (415).
            reply = c.put("/api/documents/big.pdf", content=b"x" * (2 * 2**20 + 100))
            assert reply.status_code == 415, reply.text
            reply = c.put("/api/documents/big.txt", content=b"x" * (3 * 2**20 + 1))
            assert reply.status_code == 413 and "最多 3 MB" in reply.json()["detail"]
            reply = c.put("/api/documents/huge.txt", content=b"x" * (6 * 2**20))
            assert reply.status_code == 413
    finally:
        running.close()
    assert not (source / "big.pdf").exists() and not (source / "big.txt").exists()
