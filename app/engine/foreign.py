"""Definitions made by other modelers (Camunda, Flowable, Activiti, Signavio, bpmn.io): import what the
engine can run, list what was dropped, refuse what cannot be run faithfully — never guess.

Dropped (listed, the rest imports): extension elements and attributes in a foreign namespace (e.g.
`camunda:assignee`, `flowable:formKey`, `signavio:signavioMetaData`), which our engine would ignore.
Refused (DefinitionInvalid naming the element): a script or condition in another language (JavaScript,
Groovy, JUEL), external script resources, and elements whose meaning lives only in a foreign extension
(a Camunda/Flowable service task class or connector). The XML is read with the same hardened parser as
deploy (no DTD, no entities, no network, size-capped).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from app.engine.deploy import check_script_formats, guard_bytes, parse_xml
from app.engine.errors import DefinitionInvalid

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
OURS = frozenset((
    BPMN,
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "http://www.w3.org/XML/1998/namespace",
    "http://bpmn.io/schema/bpmn/biocolor/1.0",  # colours on the diagram: drawing only, kept
    "http://www.omg.org/spec/BPMN/non-normative/color/1.0",
))
MODELERS = {
    "camunda.org": "Camunda", "flowable.org": "Flowable", "activiti.org": "Activiti", "signavio.com": "Signavio",
    "bpmn.io": "bpmn.io", "zeebe": "Camunda 8",
}
# Foreign attributes that carry what a task does: without them the element would silently do nothing.
BEHAVIOUR = frozenset(("class", "delegateExpression", "expression", "resource", "type", "topic"))


@dataclass(frozen=True)
class Dropped:
    """One foreign part left out on import: the element it sat on, what it was, which modeler made it."""

    element: str
    part: str
    modeler: str


@dataclass(frozen=True)
class ImportedDefinition:
    bpmn_xml: bytes
    dropped: tuple[Dropped, ...]


def _modeler(namespace: str) -> str:
    return next((name for marker, name in MODELERS.items() if marker in namespace), namespace)


def _owner(node: Any) -> str:
    """The id of the nearest element that has one (the element a dropped part belonged to)."""
    while node is not None:
        if isinstance(node.tag, str) and node.get("id"):
            return str(node.get("id"))
        node = node.getparent()
    return "definition"


def _namespace(name: str) -> str:
    return name[1:].split("}", 1)[0] if name.startswith("{") else ""


def _refuse_behaviour(node: Any, attribute: str, namespace: str) -> None:
    local = etree.QName(attribute).localname
    if local in BEHAVIOUR and etree.QName(node).localname in ("serviceTask", "sendTask", "businessRuleTask",
                                                               "scriptTask", "receiveTask"):
        raise DefinitionInvalid(_owner(node), f"{etree.QName(node).localname} 的行为由 {_modeler(namespace)} 扩展 "
                                              f"{local} 定义，本平台无法执行；请改为用户任务或受限 Python 脚本任务")


def import_definition(data: bytes, filename: str = "definition") -> ImportedDefinition:
    """Clean a foreign definition for our engine: drop and list foreign extensions, refuse what cannot run."""
    guard_bytes(data, filename)
    root = parse_xml(data, filename)
    if _namespace(root.tag) != BPMN or etree.QName(root).localname != "definitions":
        raise DefinitionInvalid(filename, "不是 BPMN 2.0 文件（根元素必须是 bpmn:definitions）")
    check_script_formats(root)
    dropped: list[Dropped] = []
    for node in list(root.iter()):
        if not isinstance(node.tag, str):
            continue
        namespace = _namespace(node.tag)
        if namespace and namespace not in OURS:
            parent = node.getparent()
            if parent is None:
                continue
            dropped.append(Dropped(_owner(parent), etree.QName(node).localname, _modeler(namespace)))
            parent.remove(node)
            continue
        for attribute in list(node.attrib):
            attr_ns = _namespace(attribute)
            if attr_ns and attr_ns not in OURS:
                _refuse_behaviour(node, attribute, attr_ns)
                if node is not root:  # exporter names on the root are harmless
                    dropped.append(Dropped(_owner(node), etree.QName(attribute).localname, _modeler(attr_ns)))
                del node.attrib[attribute]
    for extensions in root.iter(f"{{{BPMN}}}extensionElements"):
        if len(extensions) == 0 and not (extensions.text or "").strip():
            parent = extensions.getparent()
            if parent is not None:
                parent.remove(extensions)
    etree.cleanup_namespaces(root)
    return ImportedDefinition(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), tuple(dropped))
