"""What the process editor page opens with: the definition (the caller's draft, else the newest version),
its forms, and the lists its pickers offer — forms, deadline rules with their basis, lane roles, status
codes with the dictionary's words, messages. Read here so the browser never copies them."""

from __future__ import annotations

import json
from typing import Any

from app.errors import NotFound
from app.services import definitions, modeler
from app.services.actors import Actor
from app.services.platform import Platform

NEW_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="definitions_new_process"
  targetNamespace="https://huiyin.example/bpmn">
  <bpmn:process id="new_process" name="新流程" isExecutable="true">
    <bpmn:startEvent id="start" name="开始" />
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram_new_process">
    <bpmndi:BPMNPlane id="plane_new_process" bpmnElement="new_process">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="160" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def _pickers(platform: Platform, actor: Actor, key: str | None, form_files: dict[str, str]) -> dict[str, Any]:
    """The modeler API's choices (services/modeler.py) in the shape the pickers take: value and label."""
    offered = modeler.choices(platform, actor, key)
    return {
        "forms": [{"value": name, "label": f"{_title(text)} · {name}"} for name, text in sorted(form_files.items())],
        "rules": [{"value": r["key"], "label": f"{r['name']} · {r['key']}", "text": r["text"],
                   "basis": r["legal_basis"]} for r in offered["rules"]],
        "roles": [{"value": r["code"], "label": f"{r['label']} · {r['code']}"} for r in offered["roles"]],
        "statuses": [{"value": s["code"], "label": f"{s['label']} · {s['code']}"} for s in offered["statuses"]],
        "messages": [{"value": m["name"], "label": f"{m['label']} · {m['name']}"} for m in offered["messages"]],
    }


def _title(text: str) -> str:
    try:
        return str(json.loads(text).get("title") or "")
    except (ValueError, AttributeError):
        return ""


def editor_data(platform: Platform, actor: Actor, key: str | None) -> dict[str, Any]:
    """The page's data for `key` (None: a new process), as JSON the bundle reads."""
    draft = None
    versions: list[dict[str, Any]] = []
    if key is None:
        bpmn, form_files = NEW_PROCESS, {}
    else:
        versions = definitions.list_versions(platform, actor, key)
        newest = definitions.version_files(platform, actor, key, versions[0]["version"])
        bpmn = newest["bpmn"]
        form_files = {name: json.dumps(schema, ensure_ascii=False, indent=2)
                      for name, schema in newest["forms"].items()}
        try:
            draft = modeler.get_draft(platform, actor, key)
        except NotFound:
            draft = None
        if draft is not None:
            bpmn = draft["bpmn"]
            form_files.update({name: json.dumps(schema, ensure_ascii=False, indent=2)
                               for name, schema in (draft.get("forms") or {}).items()})
    return {"key": key, "bpmn": bpmn, "form_files": form_files, "draft": draft is not None,
            "versions": versions, **_pickers(platform, actor, key, form_files)}
