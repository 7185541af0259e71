"""`deploy_definition`: refuse or accept a BPMN definition; accepted ones become spec JSON + checksum.

Order: size and DOCTYPE refusal on raw bytes → hardened lxml parse → SpiffBpmnParser with XSD
validation (main file and library) → the key process → call activities resolve → per-task checks
(forms, rules, lanes, scripts) → spec JSON. Nothing is returned unless everything passes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine.errors import DefinitionInvalid
from app.engine.serialization import dump_specs
from app.engine.validation import check_data, check_process, check_process_data, check_task, data_flow, element_id

MAX_BPMN_BYTES = 2 * 1024 * 1024
_DOCTYPE = re.compile(rb"<\s*!\s*(doctype|entity)", re.IGNORECASE)
_BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


@dataclass(frozen=True)
class CompiledDefinition:
    """What the services store for one definition version."""

    key: str
    name: str
    bpmn_xml: bytes
    spec_json: str
    checksum: str
    forms: dict[str, dict[str, Any]]


def _guard_bytes(data: bytes, filename: str) -> None:
    if not isinstance(data, bytes):
        raise DefinitionInvalid(filename, "流程定义必须以字节形式提供")
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionInvalid(filename, f"流程定义文件超过 2 MiB（{len(data)} 字节）")
    if b"\x00" in data:
        raise DefinitionInvalid(filename, "流程定义文件必须是 UTF-8 编码")
    if _DOCTYPE.search(data):
        raise DefinitionInvalid(filename, "流程定义文件不允许包含 DOCTYPE 或实体声明")


def _parse_xml(data: bytes, filename: str) -> Any:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid(filename, f"XML 格式错误（第 {exc.lineno} 行）：{exc.msg}") from None


def _element_at_line(root: Any, line: Any) -> str | None:
    if not isinstance(line, int):
        return None
    for node in root.iter():
        if getattr(node, "sourceline", None) == line and node.get("id"):
            return str(node.get("id"))
    return None


def _refusal(exc: ValidationException, root: Any, filename: str) -> DefinitionInvalid:
    element = getattr(exc, "id", "") or _element_at_line(root, getattr(exc, "line_number", None)) or filename
    line = getattr(exc, "line_number", "")
    where = f"（第 {line} 行）" if line else ""
    reason = str(exc.args[0] if exc.args else exc)
    return DefinitionInvalid(element, f"流程定义无效{where}：{_SPIFF_MESSAGES.get(reason, reason)}")


def _check_flows(root: Any) -> None:
    """Every sequence flow joins two elements of its own process (SpiffWorkflow's own error is cryptic)."""
    for process in root.xpath(".//bpmn:process | .//bpmn:subProcess", namespaces=_BPMN_NS):
        ids = {node.get("id") for node in process.iter() if isinstance(node.tag, str)}
        for flow in process.xpath("./bpmn:sequenceFlow", namespaces=_BPMN_NS):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    raise DefinitionInvalid(flow.get("id") or "sequenceFlow",
                                            f"顺序流 {flow.get('id')} 的 {end} 指向不存在的元素 {flow.get(end)}")


_SPIFF_MESSAGES = {"No start event found": "流程没有开始事件"}


def _add(parser: SpiffBpmnParser, data: bytes, filename: str) -> Any:
    _guard_bytes(data, filename)
    root = _parse_xml(data, filename)
    _check_flows(root)
    try:
        parser.add_bpmn_xml(root, filename)
    except ValidationException as exc:
        raise _refusal(exc, root, filename) from None
    return root


def _choose_key(parser: SpiffBpmnParser, root: Any, filename: str) -> str:
    """Exactly one executable process of the main file, or the one among several that nobody calls."""
    ids = [p.get("id") for p in root.xpath("./bpmn:process", namespaces=_BPMN_NS)]
    executable = [i for i in ids if parser.process_parsers[i].process_executable]
    candidates = (
        executable if len(executable) <= 1 else [i for i in executable if i not in parser.get_process_dependencies()]
    )
    if len(candidates) != 1:
        found = "、".join(candidates) or "无"
        raise DefinitionInvalid(filename, f"文件中必须恰好有一个可执行的主流程（找到：{found}）")
    return str(candidates[0])


def _collect_specs(parser: SpiffBpmnParser, key: str, root: Any) -> tuple[Any, dict[str, Any]]:
    """The key spec and every spec it reaches; a call activity to an unknown process is refused."""
    try:
        spec = parser.get_spec(key)
    except ValidationException as exc:
        raise _refusal(exc, root, key) from None
    subprocess_specs: dict[str, Any] = {}
    pending = [spec]
    while pending:
        current = pending.pop()
        for task_spec in current.task_specs.values():
            if not isinstance(task_spec, SubWorkflowTask) or task_spec.spec in subprocess_specs:
                continue
            if task_spec.spec not in parser.process_parsers:
                kind = "调用活动" if isinstance(task_spec, CallActivity) else "子流程"
                raise DefinitionInvalid(element_id(task_spec), f"{kind}引用的流程 {task_spec.spec} 不存在")
            try:
                sub = parser.get_spec(task_spec.spec)
            except ValidationException as exc:
                raise _refusal(exc, root, task_spec.spec) from None
            subprocess_specs[task_spec.spec] = sub
            pending.append(sub)
    return spec, subprocess_specs


def _check_lanes(roots: list[Any], roles: set[str]) -> None:
    for root in roots:
        for lane in root.xpath(".//bpmn:lane[@name]", namespaces=_BPMN_NS):
            if lane.get("name") not in roles:
                raise DefinitionInvalid(lane.get("id") or lane.get("name"), f"泳道 {lane.get('name')} 不是已知角色")


def deploy_definition(
    bpmn_xml: bytes,
    form_files: dict[str, bytes],
    *,
    library: dict[str, bytes] | None = None,
    rule_keys: set[str],
    roles: set[str],
    start_variables: Mapping[str, Collection[Any] | None],
    statuses: set[str] | None = None,
) -> CompiledDefinition:
    """Validate a BPMN definition completely and return it ready to store; raise DefinitionInvalid.

    `rule_keys`: the deadline rules that exist; `roles`: the lanes allowed; `start_variables`: the names the
    platform puts into every case at start, each with its finite values (e.g. every kind in the data
    dictionary) or None for any value; `statuses`: the case status codes `caseStatus` may name (None: not
    checked). The engine asks nothing of the database: the service passes them."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    root = _add(parser, bpmn_xml, "definition")
    roots = [root]
    for name, data in sorted((library or {}).items()):
        roots.append(_add(parser, data, name))
    key = _choose_key(parser, root, "definition")
    spec, subprocess_specs = _collect_specs(parser, key, root)
    _check_lanes([root], roles)

    forms: dict[str, dict[str, Any]] = {}
    specs = [spec, *subprocess_specs.values()]
    for process_spec in specs:
        check_process(process_spec)
        for task_spec in process_spec.task_specs.values():
            check_task(task_spec, form_files, forms, rule_keys, roles, statuses)
    flow = data_flow(specs, forms, start_variables)
    for process_spec in specs:
        check_process_data(process_spec, flow)
        for task_spec in process_spec.task_specs.values():
            check_data(task_spec, flow, rule_keys)

    order: dict[str, int] = {}
    for document in roots:
        for node in document.iter():
            node_id = node.get("id") if isinstance(node.tag, str) else None
            if node_id and node_id not in order:
                order[node_id] = len(order)
    try:
        spec_json = dump_specs(spec, subprocess_specs, forms, order)
    except Exception as exc:  # a spec type the serializer cannot write
        raise DefinitionInvalid(key, f"流程定义无法序列化：{exc}") from None
    checksum = hashlib.sha256(spec_json.encode("utf-8")).hexdigest()
    name = str(parser.process_parsers[key].get_name())
    return CompiledDefinition(key, name, bpmn_xml, spec_json, checksum, forms)
