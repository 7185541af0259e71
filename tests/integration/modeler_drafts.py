"""Crafted versions of the stock definitions, as an administrator would make them in the modeler."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIELD_CHECK_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": "现场核查",
    "required": ["checked_on_site"],
    "properties": {"checked_on_site": {"type": "boolean", "title": "已到现场核查"},
                   "site_note": {"type": "string", "title": "核查情况", "maxLength": 500}}}


def hotline_xml() -> str:
    return (ROOT / "workflows" / "hotline_order.bpmn").read_text(encoding="utf-8")


def with_field_check(xml: str | None = None) -> bytes:
    """hotline_order with a user task 「现场核查」 (field_check) between 签收 and what follows it."""
    xml = xml or hotline_xml()
    task = ('<bpmn:userTask id="field_check" name="现场核查"><bpmn:extensionElements><spiffworkflow:properties>'
            '<spiffworkflow:property name="formJsonSchemaFilename" value="field_check.json" />'
            '<spiffworkflow:property name="caseStatus" value="handling" />'
            '<spiffworkflow:property name="unitVariable" value="lead_unit_id" />'
            '<spiffworkflow:property name="deadlineRule" value="hotline.complaint" />'
            '</spiffworkflow:properties></bpmn:extensionElements>'
            '<bpmn:incoming>flow_hotline_order_handling_5</bpmn:incoming>'
            '<bpmn:outgoing>flow_field_check_done</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:sequenceFlow id="flow_field_check_done" sourceRef="field_check" targetRef="merge_signed" />')
    xml = xml.replace('<bpmn:flowNodeRef>sign_for</bpmn:flowNodeRef>',
                      '<bpmn:flowNodeRef>sign_for</bpmn:flowNodeRef><bpmn:flowNodeRef>field_check</bpmn:flowNodeRef>')
    xml = xml.replace('<bpmn:sequenceFlow id="flow_hotline_order_handling_5" sourceRef="sign_for" '
                      'targetRef="merge_signed" />',
                      '<bpmn:sequenceFlow id="flow_hotline_order_handling_5" sourceRef="sign_for" '
                      f'targetRef="field_check" />{task}')
    xml = xml.replace('<bpmn:incoming>flow_hotline_order_handling_5</bpmn:incoming>\n        <bpmn:outgoing>',
                      '<bpmn:incoming>flow_field_check_done</bpmn:incoming>\n        <bpmn:outgoing>', 1)
    assert 'id="field_check"' in xml and "flow_field_check_done</bpmn:incoming>" in xml
    return xml.encode("utf-8")


def field_check_form() -> bytes:
    return json.dumps(FIELD_CHECK_FORM, ensure_ascii=False).encode("utf-8")
