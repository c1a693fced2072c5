"""Property-based API tests: schemathesis drives every REST route from the gateway's own OpenAPI document,
against a real scheduler, and finds no 5xx and no answer that breaks the document (status, content type,
headers, body schema). Bounded for `make test`; `make fuzz` raises the budget (SKILLBRIDGE_FUZZ_EXAMPLES)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from gateway.app import create_app
from services.common.settings import Settings
from tests.gateway.background import gateway_in_thread

EXAMPLES = int(os.environ.get("SKILLBRIDGE_FUZZ_EXAMPLES", "15"))


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = Path(tmp_path_factory.mktemp("fuzz")) / "jobs.db"
    fuzz_settings = Settings.from_env(
        environ={}, store=f"sqlite:///{store}", poll_interval_seconds=0.2, concurrency=2, log_json=False
    )
    with gateway_in_thread(fuzz_settings) as url:
        yield url


# The document the served app publishes (built from a default app: it does not depend on settings). Loaded at
# collection, because schemathesis's fixture-based loading does not work with this pytest.
schema = schemathesis.openapi.from_dict(
    create_app(Settings.from_env(environ={})).openapi(), config=SchemathesisConfig.from_dict({"seed": 20261129})
)


def test_served_document_is_the_one_tested(base_url: str) -> None:
    assert httpx.get(f"{base_url}/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_keeps_its_document(case: Any, base_url: str) -> None:
    # Every check but positive_data_acceptance: a request can fit the document and still be refused for what the
    # document cannot state (an unknown job in depends_on, a file type) - as a 4xx, which the other checks hold
    # to the document.
    case.call_and_validate(base_url=base_url, excluded_checks=[schemathesis.checks.positive_data_acceptance])
