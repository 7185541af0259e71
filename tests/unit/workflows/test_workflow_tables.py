"""The workstation's hand-kept mirror of the stock BPMN (services/workstation/workflow_tables) still
matches workflows/*.bpmn and forms/dispatch.json: every rule key, mode and task id it names is used."""

from __future__ import annotations

import ast
import json
from functools import cache

import pytest
from lxml import etree
from workflow_driver import FORMS, MAIN_PROCESSES, WORKFLOWS

from app.services.workstation.workflow_tables import AFTER_DISPATCH, LEADER_QUEUES, MODE_LABELS, PINNED_TASK

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core"}


def _template(expr: ast.expr, assigned: dict[str, ast.expr]) -> str | None:
    """A rule-key expression as a template: 'hotline.' + kind → 'hotline.{kind}'; None if not that simple."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        left, right = _template(expr.left, assigned), _template(expr.right, assigned)
        return left + right if left is not None and right is not None else None
    if isinstance(expr, ast.Name):  # a variable a script sets (handle_rule), else a process variable (kind)
        return _template(assigned[expr.id], {}) if expr.id in assigned else "{" + expr.id + "}"
    return None


@cache
def _trees() -> list[etree._ElementTree]:
    return [etree.parse(str(path)) for path in sorted(WORKFLOWS.glob("*.bpmn"))]


@cache
def used_rule_keys() -> frozenset[str]:
    """Every deadline rule key the stock definitions name, literally or as an expression template."""
    assigned: dict[str, ast.expr] = {}
    for tree in _trees():
        for script in tree.iterfind(".//bpmn:script", NS):
            for node in ast.walk(ast.parse(script.text or "")):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    assigned[node.targets[0].id] = node.value
    keys: set[str] = set()
    for tree in _trees():
        for prop in tree.iterfind(".//spiffworkflow:property", NS):
            if prop.get("name") == "deadlineRule":
                keys.add(prop.get("value"))
            elif prop.get("name") == "deadlineRuleExpression":
                template = _template(ast.parse(prop.get("value"), mode="eval").body, assigned)
                assert template is not None, f"unreadable deadlineRuleExpression {prop.get('value')!r}"
                keys.add(template)
    return frozenset(keys)


def user_task_ids() -> set[str]:
    return {t.get("id") for tree in _trees() for t in tree.iterfind(".//bpmn:userTask", NS)}


@pytest.mark.parametrize("process", AFTER_DISPATCH)
def test_every_rule_key_the_dispatch_preview_names_is_used_by_the_stock_definitions(process: str) -> None:
    named = {key for steps in AFTER_DISPATCH[process].values() for _, key in steps}
    assert named <= used_rule_keys(), named - used_rule_keys()


def test_the_dispatch_preview_covers_each_main_process_and_every_mode_of_the_dispatch_form() -> None:
    form = json.loads((FORMS / "dispatch.json").read_text(encoding="utf-8"))
    modes = {o["const"]: o["title"] for o in form["properties"]["dispatch_mode"]["oneOf"]}
    assert modes == MODE_LABELS
    assert set(AFTER_DISPATCH) == set(MAIN_PROCESSES)
    for plan in AFTER_DISPATCH.values():
        assert set(plan) == set(MODE_LABELS)


def test_the_task_ids_the_workstation_names_are_user_tasks_of_the_stock_definitions() -> None:
    assert {*LEADER_QUEUES, PINNED_TASK} <= user_task_ids()


def test_the_rule_key_reader_sees_literal_keys_and_expressions() -> None:
    assert {"hotline.accept", "hotline.{kind}", "petition.handle"} <= used_rule_keys()
