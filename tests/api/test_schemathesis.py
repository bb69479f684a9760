"""Every operation of the published OpenAPI schema, fuzzed in-process as an admin: no answer is a server error and
every answer matches the schema the API declares (error bodies included: `ErrorOut`).

Schemathesis generates valid and invalid requests from the schema (path / query ids beyond 64-bit, explicit nulls
in PATCH bodies, wrong types, …). The example count per operation and generation mode is bounded so a run takes
about a minute per backend; SIYU_FUZZ_EXAMPLES raises it for a deeper run. Generation is derandomized, so a
failure reproduces; the report lists every failing operation with the request that failed.
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks as st_checks
from schemathesis.generation import GenerationMode

from siyu.app import create_app
from siyu.runtime import Runtime
from tests.conftest import BACKEND, make_token

EXAMPLES = int(os.environ.get("SIYU_FUZZ_EXAMPLES", "12"))
CHECKS = [st_checks.not_a_server_error, st_checks.response_schema_conformance, st_checks.status_code_conformance,
          st_checks.content_type_conformance]


def _failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " | ".join(line.strip() for line in text[:12] if line.strip())[:1500]


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str], counted: dict[str, int],
          failures: dict[str, list[str]]) -> None:
    """Up to EXAMPLES generated requests of one operation in one mode; failures are collected, not raised."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        counted["examples"] += 1
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the in-process client re-raises what the app did not handle
            counted["server_errors"] += 1
            failures[operation.label].append(f"{mode.value}: unhandled {type(exc).__name__}: {exc}")
            return
        if response.status_code >= 500:
            counted["server_errors"] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[operation.label].append(f"{mode.value} {response.status_code}: {_failure(exc)}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body)
        assert mode is GenerationMode.NEGATIVE


def test_every_operation_answers_within_its_schema(rt: Runtime) -> None:
    app = create_app(runtime=rt)
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    failures: dict[str, list[str]] = defaultdict(list)
    counted = {"operations": 0, "examples": 0, "server_errors": 0}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 100, "the schema lost operations"
    for operation in operations:
        counted["operations"] += 1
        # A fresh token per operation: a fuzzed DELETE /tokens/{id} may revoke the previous one.
        headers = {"Authorization": f"Bearer {make_token(rt, 'admin')}"}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, headers, counted, failures)

    print(f"schemathesis: {counted['operations']} operations, {counted['examples']} examples, "
          f"{counted['server_errors']} server errors")
    report = "\n".join(f"{label}: {msgs[0]}" + (f" (+{len(msgs) - 1} more)" if len(msgs) > 1 else "")
                       for label, msgs in sorted(failures.items()))
    assert counted["server_errors"] == 0 and not failures, f"{len(failures)} operations failed:\n{report}"


@pytest.mark.parametrize("path", ["/api/v1/contacts/99999999999999999999", "/api/v1/contacts/0",
                                  "/api/v1/communities/3000000000",
                                  "/api/v1/groups?community_id=99999999999999999999",
                                  "/api/v1/actions/99999999999999999999/complete"])
def test_ids_out_of_range_are_a_422_in_the_error_shape(api: Any, path: str) -> None:
    """The cause of most fuzz findings: an id the database cannot hold (communities have a 32-bit key on
    PostgreSQL). Any route, also one whose module does not use the `Id` types yet (the app-wide guard), answers 422
    with `code` / `message` / `detail`."""
    c = api("admin")
    r = c.post(path) if path.endswith("/complete") else c.get(path)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "validation_error" and body["message"] and body["detail"][0]["loc"][0] in ("path",
                                                                                                      "query")


def test_a_32_bit_key_overflowing_on_a_route_without_an_id_type_is_a_422_too(api: Any) -> None:
    """The net under the types: PostgreSQL's NumericValueOutOfRange is the caller's 422, not a 500."""
    r = api("admin").post("/api/v1/events", json={"type": "custom.x", "group_id": 3_000_000_000})
    if BACKEND == "postgresql":
        assert r.status_code == 422 and r.json()["code"] == "value_out_of_range", r.text
    else:  # SQLite keys are 64-bit: there the group is just not found
        assert r.status_code == 422 and r.json()["results"][0]["code"] == "unknown_group", r.text


def test_explicit_null_in_a_patch_is_a_422_not_a_500(api: Any) -> None:
    c = api("admin")
    cid = c.post("/api/v1/communities", json={"name": "会计圈"}).json()["id"]
    code = c.post("/api/v1/channel-codes", json={"name": "门店", "community_id": cid}).json()
    r = c.patch(f"/api/v1/channel-codes/{code['id']}", json={"welcome_override": None})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "validation_error"
    assert r.json()["detail"][0]["loc"] == ["body", "welcome_override"]
    assert r.json()["detail"][0]["type"] == "null_not_allowed"
    # Where null means something it is still accepted: an FAQ entry for every community.
    entry = c.post("/api/v1/faq/entries",
                   json={"question": "发票怎么开", "answer": "找前台", "community_id": cid}).json()
    r = c.patch(f"/api/v1/faq/entries/{entry['id']}", json={"community_id": None})
    assert r.status_code == 200 and r.json()["community_id"] is None
    # And the published schema says the same: welcome_override is optional but not nullable.
    spec = c.get("/api/openapi.json").json()["components"]["schemas"]
    assert spec["ChannelCodePatch"]["properties"]["welcome_override"].get("type") == "string"
    assert {"type": "null"} in spec["EntryPatch"]["properties"]["community_id"]["anyOf"]


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: Any) -> None:
    c = api("admin")
    r = c.get("/api/v1/nope")
    assert r.status_code == 404 and r.json() == {"code": "not_found", "message": "Not Found"}
    r = c.put("/api/v1/contacts")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed" and "GET" in r.headers["allow"]
