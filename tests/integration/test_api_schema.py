"""Schemathesis against the served /api/v1/openapi.json, in-process (WSGI), on both databases.

A bounded, deterministic run: for every documented operation a few valid and a few invalid requests, sent
with the bearer token of a user whose role the operation is for, then with a token that is not valid and
with the token of a role the operation is not for. Every answer must be documented — no 500, the status
listed for the operation, the body matching its schema (errors included: {code, message, details}).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app.models import User
from app.services import auth

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 3}
# Whose token each operation is sent with: the role it is meant for, so the run reaches past the 403.
CALLER = {"/api/v1/cases": "agent01", "/api/v1/calls/events": "bridge", "/api/v1/calls": "agent01",
          "/api/v1/calls/stats": "agent01", "/api/v1/incidents": "sysadmin", "/api/v1/deadline-rules": "sysadmin",
          "/api/v1/calendar": "sysadmin", "/api/v1/settings": "sysadmin", "/api/v1/definitions": "sysadmin",
          "/api/v1/messages": "sysadmin", "/api/v1/audit-events": "auditor", "/api/v1/audit": "auditor",
          "/api/v1/dictionary/import": "sysadmin", "/api/v1/dictionary/export": "sysadmin",
          "/api/v1/units/import": "sysadmin", "/api/v1/units/export": "sysadmin", "/api/v1/users": "secadmin",
          "/api/v1/cases/{id}/supervise": "leader01",
          "/api/v1/knowledge": "agent01", "/api/v1/knowledge/suggest": "agent01", "/api/v1/knowledge/{id}": "agent01",
          "/api/v1/knowledge/{id}/feedback": "agent01",
          # A caller of their own for what ends tokens, so no other operation's token is revoked under it.
          "/api/v1/me/tokens": "zj01", "/api/v1/me/tokens/{id}": "sj01", "/api/v1/me/sign-out-everywhere": "cg01"}
CASE_BODY = {"kind": "complaint", "channel": "phone", "subject": "夜间施工噪声", "content": "工地每晚施工到凌晨。",
             "requester": {"name": "张𠀀丰", "phone": "13812345678"}}


def _caller(path: str) -> str:
    matches = [prefix for prefix in CALLER if path == prefix or path.startswith(prefix + "/")]
    return CALLER[max(matches, key=len)] if matches else "dispatch01"


@pytest.fixture
def tokens(demo) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A bearer token per caller, from the services (the token endpoint itself is under test)."""
    found = {no: auth.issue_user_token(demo, no, demo.settings.DEMO_PASSWORD)
             for no in {*CALLER.values(), "dispatch01", "cg01"} if no != "bridge"}
    with demo.db.reading() as session:
        admin = auth.actor_for(session.scalar(select(User).where(User.staff_no == "sysadmin")))
    found["bridge"] = auth.create_machine_token(demo, admin, "schemathesis-bridge", "calls")
    return found


@pytest.fixture
def known(demo) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What exists, so part of the run reaches past 'not found': a case waiting at 受理, a rule, a setting."""
    from app.models import HumanTask
    from app.services import intake
    from app.services.cases import RequesterInput

    with demo.db.reading() as session:
        agent = auth.actor_for(session.scalar(select(User).where(User.staff_no == "agent01")))
    case = intake.register_case(demo, agent, intake.CaseInput(
        kind="complaint", channel="phone", subject="路灯不亮", content="门口路灯坏了。",
        requester=RequesterInput(name="孙先生", phone="13812345678")))
    with demo.db.reading() as session:
        task = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case["id"]))
    return {"/api/v1/cases/{id}": {"id": case["id"]}, "/api/v1/cases/{id}/supervise": {"id": case["id"]},
            "/api/v1/incidents/{case_id}/retry": {"case_id": case["id"]}, "/api/v1/tasks/{id}": {"id": task},
            "/api/v1/tasks/{id}/complete": {"id": task}, "/api/v1/deadline-rules/{key}": {"key": "hotline.complaint"},
            "/api/v1/settings/{key}": {"key": "process.hotline"}}


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str], examples: int, seen: set[int],
         **fixed: Any) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck))
    def exercise(case: Any) -> None:
        seen.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    exercise()


def test_every_answer_of_the_api_is_documented_and_none_is_a_server_error(app, tokens, known):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20  # the whole API is described, not a corner of it

    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        token = tokens[_caller(operation.path)]
        runs: list[tuple[GenerationMode, str, int, dict[str, Any]]] = [
            (mode, f"Bearer {token}", examples, {}) for mode, examples in EXAMPLES.items()]
        runs.append((GenerationMode.POSITIVE, "Bearer not-a-token", 1, {}))
        stranger = tokens["cg01" if _caller(operation.path) == "auditor" else "auditor"]  # a role it is not for
        runs.append((GenerationMode.POSITIVE, f"Bearer {stranger}", 2, {}))
        if operation.path in known:
            runs.append((GenerationMode.POSITIVE, f"Bearer {token}", 4, {"path_parameters": known[operation.path]}))
        if operation.label == "POST /api/v1/cases":  # a valid appeal, with whatever Idempotency-Key
            runs.append((GenerationMode.POSITIVE, f"Bearer {token}", 4, {"body": CASE_BODY}))
        for mode, header, examples, fixed in runs:
            try:
                _run(operation, mode, {"Authorization": header}, examples,
                     statuses.setdefault(operation.label, set()), **fixed)
            except (Exception, BaseExceptionGroup) as e:  # run every operation, then tell every failure  # noqa: BLE001
                failures.append(f"{operation.label} ({mode.value}, {header[:12]}…): {e}")

    assert not failures, "\n\n".join(failures)
    # The run got past the door: every operation answered something besides 401, and real work was done.
    assert all(found - {401} for found in statuses.values()), statuses
    assert 201 in statuses["POST /api/v1/cases"] and 200 in statuses["GET /api/v1/cases/{id}"], statuses


def test_every_route_of_the_api_is_in_the_openapi_document(tmp_path):
    """A route added without its description would escape the run above: none may."""
    from app.factory import create_app
    from app.web.api.openapi import spec
    from tests.conftest import FAST_HASH, TEST_KEYS

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/unused.db", "INSTANCE_PATH": str(tmp_path),
                      "TESTING": True, **TEST_KEYS, **FAST_HASH})

    def shape(path: str) -> str:  # parameter names and converters do not matter, their places do
        return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<[^>]+>", "{}", path))

    documented = {(shape(path), method.upper()) for path, ops in spec()["paths"].items() for method in ops}
    routed = {(shape(rule.rule), method) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              and rule.rule != "/api/v1/openapi.json" for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed - documented == set()
    assert documented - routed == set()
