"""Schemathesis over /api/schema/ (issue 14): every operation, with a token, valid and invalid
data, bounded examples; no answer may be a server error.

In-process (Django's WSGI handler, like the test client: the test's own DB connection and
transaction), so it is quick and needs no server. ``FUZZ_EXAMPLES`` raises the examples per
operation and mode (default 10) for a longer local run.
"""
from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from apps.labeling.models import Layer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Long bodies that stream to disk (uploads) cost more per example; keep them to a few.
UPLOAD_EXAMPLES = max(3, EXAMPLES // 3)


@pytest.fixture
def wsgi_app():
    # As django.test.Client does: requests reuse the test's connection, not close it.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _is_upload(operation: Any) -> bool:
    body = operation.definition.raw.get("requestBody", {})
    return "multipart/form-data" in body.get("content", {})


@pytest.mark.django_db
@pytest.mark.timeout(300)
def test_no_operation_answers_a_server_error(team, data_dir, wsgi_app, record_property):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=team.owner).key
    headers = {"Authorization": f"Token {token}"}
    # Real ids in reach of the generator: the owner's project, its layer and the outsider's.
    layer = Layer.objects.filter(project=team.project).first()
    assert layer is not None
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    errors: list[str] = []
    calls = 0
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        examples = UPLOAD_EXAMPLES if _is_upload(operation) else EXAMPLES
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case: Any) -> None:
                nonlocal calls
                calls += 1
                response = case.call(headers=headers)
                if response.status_code >= 500:
                    errors.append(f"{response.status_code} {case.method} {case.formatted_path} "
                                  f"path={case.path_parameters} query={case.query} body={str(case.body)[:200]} "
                                  f"-> {response.text[:300]}")

            try:
                run()
            except Unsatisfiable:  # e.g. no invalid value exists for an operation without inputs
                pass
    record_property("schemathesis", f"{operations} operations, {calls} calls, {len(errors)} server errors")
    print(f"schemathesis: {operations} operations, {calls} calls, {len(errors)} server errors")
    assert operations >= 40, "the schema lost operations"
    assert not errors, f"{len(errors)} server errors:\n" + "\n".join(errors[:40])
