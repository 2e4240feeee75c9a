"""Property-based run of schemathesis against the API's own OpenAPI schema: no 500, ever.

Requests are generated from ``/api/openapi.json`` (valid and invalid bodies, odd file names
and contents for uploads) and sent to the API app over the real seed index; every response
must be a documented status with a body that fits the schema, and never a server error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

import rag

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::Warning")]

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory):
    from ui.api import create_api
    from ui.app import ChatService

    tmp = tmp_path_factory.mktemp("schema")
    source = tmp / "source"
    shutil.copytree(ROOT / "source", source)
    index = tmp / "index"
    rag.build_index(source, index, model="none", workers=1)
    service = ChatService(rag.load(index, model="none", source=source))
    api = create_api(service, uploads_allowed=True)
    yield schemathesis.openapi.from_asgi("/openapi.json", api)
    service.library.wait(300)


def test_no_server_error(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/answer", "/search", "/documents/{name}"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call()
            assert response.status_code < 500, (case.path, case.body, response.text[:300])
            case.validate_response(response, checks=(schemathesis.checks.not_a_server_error,))

        check()
