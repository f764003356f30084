"""Spec conformance: Schemathesis generates requests from the app's own OpenAPI document and checks every answer
against it (no server error, a declared status code, content type and headers, a body of the declared schema).
Bounded: a few examples per operation (well under a minute). The collaborators are the HTTP layer's fakes."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

from tests.unit.open311.open311kit import make_client

_client, _sink, _status = make_client()
schema = schemathesis.openapi.from_asgi("/openapi.json", _client.app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_app_answers_as_its_openapi_document_says(case):
    case.call_and_validate()
