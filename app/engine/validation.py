"""Deploy-time checks over parsed specs: forms, deadline rules, lanes, call activities, every script.

Each check raises DefinitionInvalid(element_id, Chinese message). The walk covers the key process and
every sub-process / call activity / event sub-process spec it uses. `check_task` needs only the element;
`check_data` needs the whole definition's data flow (which names exist, which values they take): every
name read has a source, every timer expression that can be evaluated gives a valid timer, and every
deadline rule a `deadlineRuleExpression` can give exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, StandardLoopTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.service_task import ServiceTask
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.spiff.specs.defaults import BusinessRuleTask

from app.engine.dataflow import REFERENCE_NOW, DataFlow, EvaluationSpent, Unbounded, build
from app.engine.errors import DefinitionInvalid
from app.engine.form_files import load_form
from app.engine.policy import ScriptRefused, compile_script, script_problems
from app.engine.scripting import explain
from app.engine.timers import check_timer_value, timer_kind

FORM_PROPERTY = "formJsonSchemaFilename"
RULE_PROPERTY = "deadlineRule"
RULE_EXPRESSION_PROPERTY = "deadlineRuleExpression"
UNIT_PROPERTY = "unitVariable"
STATUS_PROPERTY = "caseStatus"
DEFAULT_UNIT_VARIABLE = "lead_unit_id"


def properties_of(task_spec: Any) -> dict[str, str]:
    """The `spiffworkflow:properties` of a task spec (empty if none)."""
    extensions = getattr(task_spec, "extensions", None) or {}
    props = extensions.get("properties") or {}
    return props if isinstance(props, dict) else {}


def element_id(task_spec: Any) -> str:
    """The BPMN id of a task spec (or its internal name)."""
    return str(getattr(task_spec, "bpmn_id", None) or task_spec.name)


def _scripts(task_spec: Any) -> Iterator[tuple[str, str, str]]:
    """Every (what, mode, source) a task spec will hand to the script engine."""
    if isinstance(task_spec, ScriptTask) and task_spec.script is not None:
        yield "脚本", "exec", task_spec.script
    for attr, label in (("prescript", "前置脚本"), ("postscript", "后置脚本")):
        source = getattr(task_spec, attr, None)
        if source:
            yield label, "exec", source
    for condition, _target in getattr(task_spec, "cond_task_specs", None) or []:
        args = getattr(condition, "args", None)
        if args:
            yield "条件", "eval", args[0]
    if isinstance(task_spec, StandardLoopTask) and task_spec.condition:
        yield "循环条件", "eval", task_spec.condition
    if isinstance(task_spec, MultiInstanceTask):
        if task_spec.cardinality:
            yield "多实例数量", "eval", task_spec.cardinality
        if task_spec.condition:
            yield "多实例完成条件", "eval", task_spec.condition
    definition = getattr(task_spec, "event_definition", None)
    if definition is not None:
        yield from _event_expressions(definition)
    expression = properties_of(task_spec).get(RULE_EXPRESSION_PROPERTY)
    if expression:
        yield "时限规则表达式", "eval", expression


def _event_expressions(definition: Any) -> Iterator[tuple[str, str, str]]:
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _event_expressions(inner)
    elif isinstance(definition, TimerEventDefinition):
        yield "定时表达式", "eval", definition.expression
    elif isinstance(definition, ConditionalEventDefinition):
        yield "条件事件表达式", "eval", definition.expression
    elif isinstance(definition, MessageEventDefinition):
        expression = getattr(definition, "expression", None)
        if expression:
            yield "消息内容表达式", "eval", expression
        for prop in definition.correlation_properties or []:
            if prop.retrieval_expression:
                yield "消息关联表达式", "eval", prop.retrieval_expression


def check_scripts(task_spec: Any) -> None:
    """Every script and expression of a task spec compiles under the restricted policy."""
    for label, mode, source in _scripts(task_spec):
        kind: Literal["eval", "exec"] = "eval" if mode == "eval" else "exec"
        try:
            compile_script(source, kind)
        except ScriptRefused as exc:
            where = script_problems(source, kind)
            raise DefinitionInvalid(element_id(task_spec), f"{label}不允许：{exc}",
                                    where[0].line if where else None, where[0].column if where else None) from None


def check_task(
    task_spec: Any,
    form_files: dict[str, bytes],
    forms: dict[str, dict[str, Any]],
    rule_keys: set[str],
    roles: set[str],
    statuses: set[str] | None = None,
) -> None:
    """All deploy checks for one task spec; forms it names are added to `forms`. `statuses`: the case status
    codes a `caseStatus` may name (None: not checked)."""
    task_id = element_id(task_spec)
    lane = getattr(task_spec, "lane", None)
    if lane is not None and lane not in roles:
        raise DefinitionInvalid(task_id, f"泳道 {lane} 不是已知角色（{'、'.join(sorted(roles))}）")
    if isinstance(task_spec, ServiceTask):
        raise DefinitionInvalid(task_id, "不支持服务任务（serviceTask）")
    if isinstance(task_spec, (NoneTask, ManualTask)):
        raise DefinitionInvalid(task_id, "不支持无类型任务或手工任务（会使流程停住）；请改用用户任务或脚本任务")
    if isinstance(task_spec, BusinessRuleTask):
        raise DefinitionInvalid(task_id, "不支持业务规则任务（businessRuleTask）")
    props = properties_of(task_spec)
    status = props.get(STATUS_PROPERTY)
    if statuses is not None and status is not None and status not in statuses:
        known = "、".join(sorted(statuses))
        raise DefinitionInvalid(task_id, f"caseStatus {status} 不是数据字典中的状态编码（{known}）")
    if isinstance(task_spec, UserTask):
        filename = props.get(FORM_PROPERTY)
        if not filename:
            raise DefinitionInvalid(task_id, f"用户任务没有指定表单（{FORM_PROPERTY}）")
        if filename not in forms:
            forms[filename] = load_form(task_id, filename, form_files)
        rule = props.get(RULE_PROPERTY)
        if rule is not None and rule not in rule_keys:
            raise DefinitionInvalid(task_id, f"时限规则 {rule} 不存在")
        unit_variable = props.get(UNIT_PROPERTY)
        if unit_variable is not None and not unit_variable.isidentifier():
            raise DefinitionInvalid(task_id, f"unitVariable {unit_variable} 不是有效的变量名")
    check_scripts(task_spec)


def check_process(spec: Any) -> None:
    """Process-level expressions (ad-hoc completion conditions)."""
    condition = getattr(spec, "completion_condition", None)
    if condition:
        try:
            compile_script(condition, "eval")
        except ScriptRefused as exc:
            raise DefinitionInvalid(spec.name, f"完成条件不允许：{exc}") from None


def _event_definitions(definition: Any) -> Iterator[Any]:
    if isinstance(definition, MultipleEventDefinition):
        for inner in definition.event_definitions:
            yield from _event_definitions(inner)
    elif definition is not None:
        yield definition


def _provided(task_spec: Any) -> Iterator[str]:
    """Names an element puts into task data other than by a script or a form."""
    if isinstance(task_spec, MultiInstanceTask):
        for item in (task_spec.input_item, task_spec.output_item, task_spec.data_input, task_spec.data_output):
            if item is not None:
                yield str(item.bpmn_id)
    io = getattr(task_spec, "io_specification", None)
    if io is not None:
        yield from (str(d.bpmn_id) for d in [*io.data_inputs, *io.data_outputs])
    for definition in _event_definitions(getattr(task_spec, "event_definition", None)):
        variable = getattr(definition, "message_var", None) or getattr(definition, "variable", None)
        if variable:
            yield str(variable)


def data_flow(specs: list[Any], forms: dict[str, dict[str, Any]], start_variables: Any) -> DataFlow:
    """The data flow of every process spec of a definition (see app.engine.dataflow)."""
    scripts: list[str] = []
    provided: list[str] = []
    for spec in specs:
        provided.extend(str(name) for name in (getattr(spec, "data_objects", None) or {}))
        io = getattr(spec, "io_specification", None)
        if io is not None:
            provided.extend(str(d.bpmn_id) for d in [*io.data_inputs, *io.data_outputs])
        for task_spec in spec.task_specs.values():
            scripts.extend(source for _label, mode, source in _scripts(task_spec) if mode == "exec")
            provided.extend(_provided(task_spec))
    return build(scripts, provided, forms, start_variables)


def _check_names(element: str, label: str, source: str, mode: str, flow: DataFlow) -> None:
    missing = flow.undefined(source, mode)
    if missing:
        raise DefinitionInvalid(
            element,
            f"{label}读取的名称 {'、'.join(missing)} 在流程中没有来源"
            "（不是启动变量、表单字段、脚本赋值的变量或白名单函数）",
        )


_SPENT = "部署时检查表达式的取值耗时过长，已停止；请简化表达式或其读取的脚本变量"


def _check_rule_expression(task_id: str, expression: str, flow: DataFlow, rule_keys: set[str]) -> None:
    try:
        values = flow.expression_values(expression)
    except Unbounded as exc:
        raise DefinitionInvalid(
            task_id,
            f"时限规则表达式 {expression} 的取值无法在部署时确定（{exc.name} 可取任意值）；"
            "请改用 deadlineRule，或只依赖取值有限的变量（如诉求类型、表单选项）",
        ) from None
    except EvaluationSpent:
        raise DefinitionInvalid(task_id, _SPENT) from None
    except Exception as exc:
        raise DefinitionInvalid(task_id, f"时限规则表达式 {expression} 求值失败：{explain(exc)}") from None
    unknown = sorted({str(v) for v in values if not isinstance(v, str) or v not in rule_keys})
    if unknown:
        raise DefinitionInvalid(task_id, f"时限规则表达式 {expression} 可能给出不存在的时限规则：{'、'.join(unknown)}")


def _check_timer(task_id: str, definition: Any, flow: DataFlow) -> None:
    expression = definition.expression
    try:
        values = flow.expression_values(expression)
    except Unbounded:
        return  # it reads data only a running case has: its names were checked, the run guards the rest
    except EvaluationSpent:
        raise DefinitionInvalid(task_id, _SPENT) from None
    except Exception as exc:
        raise DefinitionInvalid(task_id, f"定时表达式 {expression} 求值失败：{explain(exc)}") from None
    for value in values:
        try:
            check_timer_value(definition, value, REFERENCE_NOW)
        except Exception:
            raise DefinitionInvalid(
                task_id, f"定时表达式 {expression} 的值 {value!r} 不是有效的{timer_kind(definition)}；文字须加引号"
            ) from None


def check_data(task_spec: Any, flow: DataFlow, rule_keys: set[str]) -> None:
    """The checks that need the whole definition: names read, timers, rule expressions, unit variables."""
    task_id = element_id(task_spec)
    for label, mode, source in _scripts(task_spec):
        _check_names(task_id, label, source, mode, flow)
    props = properties_of(task_spec)
    if isinstance(task_spec, UserTask):
        unit_variable = props.get(UNIT_PROPERTY) or DEFAULT_UNIT_VARIABLE
        if not flow.defines(unit_variable):
            raise DefinitionInvalid(task_id, f"unitVariable {unit_variable} 在流程中没有来源")
    expression = props.get(RULE_EXPRESSION_PROPERTY)
    if expression:
        _check_rule_expression(task_id, expression, flow, rule_keys)
    for definition in _event_definitions(getattr(task_spec, "event_definition", None)):
        if isinstance(definition, TimerEventDefinition):
            _check_timer(task_id, definition, flow)


def check_process_data(spec: Any, flow: DataFlow) -> None:
    """Process-level expressions read only names the definition provides."""
    condition = getattr(spec, "completion_condition", None)
    if condition:
        _check_names(spec.name, "完成条件", condition, "eval", flow)
