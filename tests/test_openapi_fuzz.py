"""schemathesis over the app's own OpenAPI document: no generated request gets a 500, and every response
matches what the document says (status, media type, schema). A new 500 or an undocumented answer fails CI."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
CASES = 60  # per operation and generation mode: about 20 s in all on two cores
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def api_schema(kb_settings, tmp_path_factory):
    from oncoguide.web.app import create_app

    site = tmp_path_factory.mktemp("fuzz") / "site.sqlite3"
    app = create_app(kb_settings.model_copy(update={"database_url": f"sqlite:///{site}"}))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_every_operation_answers_as_documented(api_schema, mode):
    """Each documented operation (read from the app, so a new endpoint is fuzzed without a test edit)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 14
    failed = []
    for operation in operations:

        @settings(
            max_examples=CASES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:  # negative mode: nothing in this operation can be made invalid (no parameters)
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis's FailureGroup; all are reported together
            failed.append(f"{operation.label}: {exc}")
    assert not failed, "\n\n".join(failed)
