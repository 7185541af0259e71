"""`deploy_definition`: refuse or accept a BPMN definition; accepted ones become spec JSON + checksum.

Order: size and DOCTYPE refusal on raw bytes → hardened lxml parse → script formats → SpiffBpmnParser
with XSD validation (main file and library) → the key process → call activities resolve → per-task
checks (forms, rules, lanes, scripts) → spec JSON. Nothing is returned unless everything passes.
`check_definition` runs the same checks on a draft and answers every refusal (and the warnings)
instead of stopping at the first: one validation, two places to see it (the modeler's 检查).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity, SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from app.engine.errors import DefinitionInvalid
from app.engine.serialization import dump_specs
from app.engine.validation import (
    FORM_PROPERTY,
    RULE_EXPRESSION_PROPERTY,
    RULE_PROPERTY,
    check_data,
    check_process,
    check_process_data,
    check_task,
    data_flow,
    element_id,
    properties_of,
)

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
    library: dict[str, bytes] = field(default_factory=dict)  # the call-activity files it was compiled with


def guard_bytes(data: bytes, filename: str) -> None:
    """Refuse a file that is not bytes, too big, not UTF-8 or declares a DOCTYPE / entities."""
    if not isinstance(data, bytes):
        raise DefinitionInvalid(filename, "流程定义必须以字节形式提供")
    if len(data) > MAX_BPMN_BYTES:
        raise DefinitionInvalid(filename, f"流程定义文件超过 2 MiB（{len(data)} 字节）")
    if b"\x00" in data:
        raise DefinitionInvalid(filename, "流程定义文件必须是 UTF-8 编码")
    if _DOCTYPE.search(data):
        raise DefinitionInvalid(filename, "流程定义文件不允许包含 DOCTYPE 或实体声明")


def parse_xml(data: bytes, filename: str) -> Any:
    """lxml with no entities, no DTD, no network, no huge trees."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DefinitionInvalid(filename, f"XML 格式错误（第 {exc.lineno} 行）：{exc.msg}") from None


@dataclass(frozen=True)
class Outline:
    """What a BPMN file declares, read without the engine: its processes and what they name."""

    processes: tuple[str, ...]
    executable: tuple[str, ...]
    forms: tuple[str, ...]  # every formJsonSchemaFilename, in document order
    calls: tuple[str, ...]  # every calledElement


def outline(bpmn_xml: bytes, filename: str = "definition") -> Outline:
    """The processes of a file and the forms and processes it names (same hardened parse as deploy)."""
    guard_bytes(bpmn_xml, filename)
    root = parse_xml(bpmn_xml, filename)
    processes = root.xpath("./bpmn:process", namespaces=_BPMN_NS)
    forms = root.xpath(f".//*[local-name()='property'][@name='{FORM_PROPERTY}']/@value")
    calls = root.xpath(".//bpmn:callActivity/@calledElement", namespaces=_BPMN_NS)
    return Outline(tuple(str(p.get("id")) for p in processes),
                   tuple(str(p.get("id")) for p in processes if p.get("isExecutable") == "true"),
                   tuple(dict.fromkeys(str(f) for f in forms)), tuple(dict.fromkeys(str(c) for c in calls)))


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
    words = _SPIFF_MESSAGES.get(reason) or next(
        (chinese for english, chinese in _SPIFF_PREFIXES if reason.startswith(english)), reason)
    return DefinitionInvalid(element, f"流程定义无效{where}：{words}")


def _check_flows(root: Any) -> None:
    """Every sequence flow joins two elements of its own process (SpiffWorkflow's own error is cryptic)."""
    for process in root.xpath(".//bpmn:process | .//bpmn:subProcess", namespaces=_BPMN_NS):
        ids = {node.get("id") for node in process.iter() if isinstance(node.tag, str)}
        for flow in process.xpath("./bpmn:sequenceFlow", namespaces=_BPMN_NS):
            for end in ("sourceRef", "targetRef"):
                if flow.get(end) not in ids:
                    raise DefinitionInvalid(flow.get("id") or "sequenceFlow",
                                            f"顺序流 {flow.get('id')} 的 {end} 指向不存在的元素 {flow.get(end)}")


_SPIFF_MESSAGES = {"No start event found": "流程没有开始事件",
                   "There is no support implemented for this task type.": "不支持该类型的元素",
                   "A SubWorkflow Must contain an End event": "子流程必须有结束事件",
                   "Conditional event definition with missing condition": "条件事件缺少条件",
                   "Unknown Time Specification": "定时器缺少时长、日期或循环",
                   "Correlation identifier is missing from bpmn xml": "消息关联缺少标识",
                   "Error identifier is missing from bpmn xml": "错误事件缺少标识",
                   "Escalation identifier is missing from bpmn xml": "升级事件缺少标识",
                   "Signal identifier is missing from bpmn xml": "信号事件缺少标识"}
_SPIFF_PREFIXES = (("Multiple outgoing flows are not supported",
                    "任务不能有多条出口顺序流（隐式分支）；请用网关明确分支"),
                   ("Duplicate process ID", "流程编号重复（主文件与子流程文件中有同名流程）"),
                   ("Cannot resolve dataInputAssociation", "数据输入关联无法解析"),
                   ("Cannot resolve dataOutputAssociation", "数据输出关联无法解析"),
                   ("Time Specification Error", "定时器的时间格式有误"))
PYTHON_FORMATS = frozenset(("", "python", "python3", "text/python", "text/x-python", "application/x-python"))


def check_script_formats(root: Any) -> None:
    """Scripts and conditions are restricted Python: another language (JavaScript, Groovy, JUEL) is refused
    rather than run as Python or ignored."""
    for node in root.xpath(".//bpmn:scriptTask[@scriptFormat] | .//bpmn:conditionExpression[@language]"
                           " | .//bpmn:script[@scriptFormat]", namespaces=_BPMN_NS):
        fmt = (node.get("scriptFormat") or node.get("language") or "").strip().lower()
        if fmt not in PYTHON_FORMATS:
            owner = node if node.get("id") else node.getparent()
            element = owner.get("id") if owner is not None and owner.get("id") else "definition"
            raise DefinitionInvalid(element, f"脚本格式 {fmt} 不受支持：脚本和条件只能用受限 Python 编写")


def _add(parser: SpiffBpmnParser, data: bytes, filename: str) -> Any:
    guard_bytes(data, filename)
    root = parse_xml(data, filename)
    _check_flows(root)
    check_script_formats(root)
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


@dataclass(frozen=True)
class Issue:
    """One finding of the deploy checks: the element, a Chinese message, for scripts line and column."""

    element: str
    message: str
    line: int | None = None
    column: int | None = None
    severity: str = "error"  # error (deploy refused) or warning (may be accepted with a comment)

    @classmethod
    def of(cls, exc: DefinitionInvalid) -> Issue:
        return cls(exc.element_id, exc.message, exc.line, exc.column)


class _Checks:
    """Raises the first refusal (deploy) or collects every refusal (check)."""

    def __init__(self, collect: bool) -> None:
        self.issues: list[Issue] | None = [] if collect else None

    def run(self, check: Callable[..., Any], *args: Any) -> None:
        if self.issues is None:
            check(*args)
            return
        try:
            check(*args)
        except DefinitionInvalid as exc:
            self.issues.append(Issue.of(exc))

    def failed(self, task_spec: Any) -> bool:
        """An element already refused: its data checks would only repeat the refusal less precisely."""
        return self.issues is not None and any(i.element == element_id(task_spec) for i in self.issues)


def _compile(
    bpmn_xml: bytes, form_files: dict[str, bytes], library: dict[str, bytes] | None, rule_keys: set[str],
    roles: set[str], start_variables: Mapping[str, Collection[Any] | None], statuses: set[str] | None,
    checks: _Checks,
) -> tuple[CompiledDefinition | None, list[Any]]:
    """Parse and check; the compiled definition (None when a collected check failed) and the specs."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    root = _add(parser, bpmn_xml, "definition")
    roots = [root]
    for name, data in sorted((library or {}).items()):
        roots.append(_add(parser, data, name))
    key = _choose_key(parser, root, "definition")
    spec, subprocess_specs = _collect_specs(parser, key, root)
    checks.run(_check_lanes, [root], roles)

    forms: dict[str, dict[str, Any]] = {}
    specs = [spec, *subprocess_specs.values()]
    for process_spec in specs:
        checks.run(check_process, process_spec)
        for task_spec in process_spec.task_specs.values():
            checks.run(check_task, task_spec, form_files, forms, rule_keys, roles, statuses)
    flow = data_flow(specs, forms, start_variables)
    for process_spec in specs:
        checks.run(check_process_data, process_spec, flow)
        for task_spec in process_spec.task_specs.values():
            if not checks.failed(task_spec):
                checks.run(check_data, task_spec, flow, rule_keys)
    if checks.issues:
        return None, specs

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
    return CompiledDefinition(key, name, bpmn_xml, spec_json, checksum, forms, dict(library or {})), specs


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
    compiled, _specs = _compile(bpmn_xml, form_files, library, rule_keys, roles, start_variables, statuses,
                                _Checks(collect=False))
    assert compiled is not None  # noqa: S101 - without collecting, a failed check has raised
    return compiled


def check_definition(
    bpmn_xml: bytes,
    form_files: dict[str, bytes],
    *,
    library: dict[str, bytes] | None = None,
    rule_keys: set[str],
    roles: set[str],
    start_variables: Mapping[str, Collection[Any] | None],
    statuses: set[str] | None = None,
) -> tuple[CompiledDefinition | None, list[Issue]]:
    """The deploy checks on a draft, every refusal and warning at once; the compiled definition if none
    refuses. A file that does not parse gives one issue (nothing further can be checked)."""
    checks = _Checks(collect=True)
    try:
        compiled, specs = _compile(bpmn_xml, form_files, library, rule_keys, roles, start_variables, statuses,
                                   checks)
    except DefinitionInvalid as exc:
        return None, [Issue.of(exc)]
    return compiled, [*(checks.issues or []), *_warnings(specs), *_flow_warnings(bpmn_xml)]


_NO_INCOMING = frozenset(("startEvent", "boundaryEvent", "laneSet", "lane", "sequenceFlow", "textAnnotation",
                          "association", "dataObject", "dataObjectReference", "dataStoreReference", "documentation",
                          "extensionElements", "ioSpecification", "property", "group", "category"))
_SPLITS = frozenset(("exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                     "complexGateway"))


def _flow_warnings(bpmn_xml: bytes) -> list[Issue]:
    """What bpmnlint also says in the browser: an element nothing leads to, and a task that splits the flow
    without a gateway (every outgoing flow runs: usually not what was meant)."""
    root = parse_xml(bpmn_xml, "definition")
    found = []
    for scope in root.xpath(".//bpmn:process | .//bpmn:subProcess", namespaces=_BPMN_NS):
        flows = scope.xpath("./bpmn:sequenceFlow", namespaces=_BPMN_NS)
        targets = {f.get("targetRef") for f in flows}
        sources: dict[str, int] = {}
        for flow in flows:
            sources[flow.get("sourceRef")] = sources.get(flow.get("sourceRef"), 0) + 1
        event_started = scope.get("triggeredByEvent") == "true"
        for node in scope:
            if not isinstance(node.tag, str) or not node.get("id"):
                continue
            kind = etree.QName(node).localname
            if kind in _NO_INCOMING or (event_started and kind == "startEvent"):
                continue
            if node.get("id") not in targets and not (kind == "subProcess" and node.get("triggeredByEvent") == "true"):
                found.append(Issue(node.get("id"), "没有任何顺序流指向该元素，它永远不会执行", severity="warning"))
            if kind not in _SPLITS and sources.get(node.get("id"), 0) > 1:
                found.append(Issue(node.get("id"), "该元素有多条出口顺序流却不是网关（隐式并行分支）；请用网关明确分支",
                                   severity="warning"))
    return found


def _warnings(specs: list[Any]) -> list[Issue]:
    """What deploys but deserves a second look: a user task nobody is timed on."""
    found = []
    for process_spec in specs:
        for task_spec in process_spec.task_specs.values():
            props = properties_of(task_spec)
            if isinstance(task_spec, UserTask) and props.get(FORM_PROPERTY) and not (
                    props.get(RULE_PROPERTY) or props.get(RULE_EXPRESSION_PROPERTY)):
                found.append(Issue(element_id(task_spec), "用户任务没有时限规则（deadlineRule），该步骤不计时限",
                                   severity="warning"))
    return found
