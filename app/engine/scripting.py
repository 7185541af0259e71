"""The restricted script engine SpiffWorkflow runs every condition, script and expression through.

`RestrictedScriptEngine(now)` replaces SpiffWorkflow's `PythonScriptEngine`; it must be attached to a
workflow on every start and every load (the serializer does not keep it). Scripts are compiled by
`policy.compile_script` (cached) and run with `guards.GUARDS` + `functions.SAFE_BUILTINS` + task data,
under a per-run `Budget`. Any failure becomes `ScriptFailed(element_id, Chinese message)`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from app.engine.access import GUARDS
from app.engine.errors import ScriptFailed
from app.engine.functions import SAFE_BUILTINS
from app.engine.guards import MAX_DATA, MAX_SECONDS, Budget, ScriptLimit, set_budget
from app.engine.policy import ScriptRefused, compile_script

_RESERVED = frozenset(GUARDS) | {"__builtins__"}
_DATA_SCALARS = (str, int, float, bool, type(None), date, datetime, timedelta)


def _explain(exc: BaseException) -> str:
    """A Chinese one-liner for whatever a script raised."""
    if isinstance(exc, (ScriptLimit, ScriptRefused)):
        return str(exc)
    if isinstance(exc, NameError):
        return f"未定义的名称：{exc}"
    if isinstance(exc, ZeroDivisionError):
        return "除数为零"
    if isinstance(exc, RecursionError):
        return "递归层数过深，脚本已被终止"
    if isinstance(exc, MemoryError):
        return "脚本占用内存过多，已被终止"
    if isinstance(exc, (KeyError, IndexError)):
        return f"取不到数据项：{exc}"
    return f"脚本执行出错（{type(exc).__name__}）：{exc}"


def check_script_data(data: dict[str, Any]) -> None:
    """Refuse task data that could not be saved, or is too big to save (one bounded walk)."""
    budget = MAX_DATA
    for key, value in data.items():
        stack = [value]
        while stack:
            item = stack.pop()
            budget -= 1
            if isinstance(item, dict):
                if not all(isinstance(k, str) for k in item):
                    raise ScriptLimit(f"变量 {key} 的字典键只能是文字（保存为 JSON 后整数键会变成文字）")
                stack.extend(item.values())
                budget -= sum(len(k) for k in item)
            elif isinstance(item, (list, tuple)):
                stack.extend(item)
            elif isinstance(item, str):
                budget -= len(item)
            elif not isinstance(item, _DATA_SCALARS):
                raise ScriptLimit(f"变量 {key} 的值（{type(item).__name__}）不能保存到流程数据中")
            if budget < 0:
                raise ScriptLimit(f"流程数据过大（变量 {key} 超出上限 {MAX_DATA}）")


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluates / executes restricted code over task data; the only script environment we use."""

    def __init__(self, now: datetime, seconds: float = MAX_SECONDS) -> None:
        super().__init__({})
        self.now = now
        self.seconds = seconds  # wall time per script run (deploy-time evaluation uses less)

    def _globals(self, context: dict[str, Any], external: dict[str, Any] | None) -> dict[str, Any]:
        scope = {k: v for k, v in context.items() if not k.startswith("_")}
        if external:
            scope.update((k, v) for k, v in external.items() if not k.startswith("_"))
        scope.update(GUARDS)
        scope["__builtins__"] = SAFE_BUILTINS
        return scope

    def _run(self, source: str, mode: str, scope: dict[str, Any]) -> Any:
        code = compile_script(source, "eval" if mode == "eval" else "exec")
        previous = set_budget(Budget(self.now, self.seconds))
        try:
            return eval(code, scope)  # noqa: S307 - restricted code object, guarded globals
        finally:
            set_budget(previous)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        """Evaluate a restricted expression against task data."""
        return self._run(expression, "eval", self._globals(context, external_context))

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Execute a restricted script; its variables become the task data (only if it succeeds)."""
        scope = self._globals(context, external_context)
        self._run(script, "exec", scope)
        external = set(external_context or ())
        result = {
            k: v
            for k, v in scope.items()
            if k not in _RESERVED and k not in external and not callable(v) and not k.startswith("_")
        }
        check_script_data(result)
        hidden = {k: v for k, v in context.items() if k.startswith("_")}
        context.clear()
        context.update(hidden)
        context.update(result)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Service tasks are not supported; refuse clearly (SpiffWorkflow would raise a NameError)."""
        raise ScriptLimit("不支持服务任务（serviceTask）")


def element_of(task: Any) -> str:
    """The BPMN id of a task's spec (or its internal name)."""
    spec = getattr(task, "task_spec", None)
    return str(getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or "unknown")


class RestrictedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, restricted, with the run's clock (`now`) for timers and scripts."""

    def __init__(self, now: datetime) -> None:
        super().__init__(environment=RestrictedEnvironment(now))
        self.now = now

    def validate(self, expression: str) -> None:
        """Compile an expression under the policy (used by SpiffWorkflow's DMN support)."""
        compile_script(expression, "eval")

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate an expression for a task; failures become ScriptFailed naming the element."""
        try:
            return self.environment.evaluate(expression, task.data, external_context)
        except ScriptFailed:
            raise
        except Exception as exc:
            raise ScriptFailed(element_of(task), _explain(exc)) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        """Execute a script for a task; failures become ScriptFailed naming the element."""
        try:
            return bool(self.environment.execute(script, task.data, external_context))
        except ScriptFailed:
            raise
        except Exception as exc:
            raise ScriptFailed(element_of(task), _explain(exc)) from exc

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        """Service tasks are refused with a clear error instead of SpiffWorkflow's NameError."""
        raise ScriptFailed(element_of(task), "不支持服务任务（serviceTask）")


def explain(exc: BaseException) -> str:
    """Public form of the Chinese explanation, for the runtime's last-resort mapping."""
    return _explain(exc)
