"""Small BPMN fixtures for the engine: templates in bpmn/, forms, roles and rules that fit them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from app.engine import CompiledDefinition, deploy_definition
from tests.loopback import Loopback

BPMN_DIR = Path(__file__).parent / "bpmn"
ROLES = {"agent", "dispatcher", "handler", "leader"}
RULES = {"hotline.accept", "hotline.complaint", "hotline.handle"}
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
START_DATA = {
    "case_id": 1,
    "case_number": "12345-20260105-000001",
    "kind": "complaint",
    "channel": "phone",
    "category": "城乡建设/供水",
    "centre_unit_id": 7,
    "lead_unit_id": None,
    "assisting_unit_ids": [],
    "is_repeat_terminated": False,
}
# What deploy may assume every case starts with: the names above, `kind` one of the kinds the rules cover.
START_VARIABLES: dict[str, set[str] | None] = {**dict.fromkeys(START_DATA), "kind": {"complaint"}}
DEPLOY_ARGS: dict[str, Any] = {"rule_keys": RULES, "roles": ROLES, "start_variables": START_VARIABLES}


def _schema(properties: dict[str, Any], required: list[str] | None = None, draft7: bool = False) -> bytes:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required or []}
    schema["$schema"] = (
        "http://json-schema.org/draft-07/schema#" if draft7 else "https://json-schema.org/draft/2020-12/schema"
    )
    return json.dumps(schema, ensure_ascii=False).encode()


FORMS = {
    "sign_for.json": _schema(
        {
            "accepted": {"type": "boolean", "title": "是否受理"},
            "note": {"type": "string", "title": "备注", "maxLength": 10},
        },
        ["accepted"],
    ),
    "reply.json": _schema({"answer": {"type": "string", "title": "答复内容", "minLength": 1}}, ["answer"], draft7=True),
    "handle.json": _schema({"answer": {"type": "string"}}),
    "approve.json": _schema({"approved": {"type": "boolean", "title": "同意"}}, ["approved"]),
}


def bpmn(name: str, **values: str) -> bytes:
    """A fixture file with `{{KEY}}` placeholders filled (values are XML-escaped)."""
    text = (BPMN_DIR / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", escape(value, {'"': "&quot;"}))
    return text.encode("utf-8")


def deploy_basic(script: str = "prepared = True", condition: str = "accepted == True") -> CompiledDefinition:
    """The basic hotline fixture deployed with a chosen script-task script and gateway condition."""
    return deploy_definition(
        bpmn("basic.bpmn", SCRIPT=script, CONDITION=condition), FORMS, **DEPLOY_ARGS
    )


def replace_in_spec(spec_json: str, old: str, new: str) -> str:
    """Edit a deployed spec JSON behind deploy's back (every string value equal to `old`)."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return new if value == old else value

    edited = walk(json.loads(spec_json))
    assert edited != json.loads(spec_json), f"{old!r} not found in spec JSON"
    return json.dumps(edited, ensure_ascii=False)


@pytest.fixture
def basic() -> CompiledDefinition:
    """The basic hotline definition, benign scripts."""
    return deploy_basic()


@pytest.fixture
def make_basic() -> Callable[..., CompiledDefinition]:
    """Deploy the basic definition with other scripts."""
    return deploy_basic


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    """A loopback HTTP listener; `hits` must stay empty when nothing may be fetched."""
    listener = Loopback()
    yield listener
    listener.close()
