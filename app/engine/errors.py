"""The engine's error vocabulary; every message is Chinese and names the element or field.

EngineError
 ├── DefinitionInvalid(element_id, message, line, column)   deploy refused the definition
 ├── TaskNotReady(task_id, message)           task unknown, not READY, or not a user task
 │    └── MessageNotExpected(name, message)   no waiting event catches this message
 ├── FormInvalid(errors: dict[field, message]) form data does not fit the form's JSON Schema
 └── ScriptFailed(element_id, message)        a script, condition or expression failed or was stopped
"""

from __future__ import annotations


class EngineError(Exception):
    """Base of every error the engine facade raises."""


class DefinitionInvalid(EngineError):
    """A process definition was refused at deploy time; for a script, `line` and `column` within it."""

    def __init__(self, element_id: str, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(f"{element_id}: {message}")
        self.element_id = element_id
        self.message = message
        self.line = line
        self.column = column


class TaskNotReady(EngineError):
    """The task cannot be completed now (unknown, already done, or not a user task)."""

    def __init__(self, task_id: str, message: str = "任务不存在或当前不可办理") -> None:
        super().__init__(f"{task_id}: {message}")
        self.task_id = task_id
        self.message = message


class MessageNotExpected(TaskNotReady):
    """No waiting event in the process catches the message that was sent."""

    def __init__(self, name: str, message: str = "流程当前不接收该消息") -> None:
        super().__init__(name, f"{message}（{name}）")
        self.name = name


class FormInvalid(EngineError):
    """Form data failed validation; `errors` maps field name to a Chinese message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class ScriptFailed(EngineError):
    """A restricted script failed, was refused, or ran over its budget."""

    def __init__(self, element_id: str, message: str) -> None:
        super().__init__(f"{element_id}: {message}")
        self.element_id = element_id
        self.message = message
