"""Process definitions, each case's saved engine state, and the tables read by worklists and the scheduler."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ProcessDefinition(Base):
    """An immutable deployed version of a BPMN process with its forms and parsed spec."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_json: Mapped[str] = mapped_column(Text)
    forms_json: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deployed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")  # the administrator's change note
    # The call-activity files it was deployed with ({filename: BPMN text}); None on versions from before.
    library_json: Mapped[str | None] = mapped_column(Text)


class DefinitionDraft(Base):
    """One administrator's unsaved work on a definition in the modeler: not live, autosaved, one per key."""

    __tablename__ = "definition_draft"
    __table_args__ = (UniqueConstraint("key", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    forms_json: Mapped[str] = mapped_column(Text)  # {filename: JSON text}
    updated_at: Mapped[datetime]


class CaseMigration(Base):
    """A running case moved to another version of its definition, with the state it had before, so the
    move can be undone while nothing has happened on the case since (`revision_after`)."""

    __tablename__ = "case_migration"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    from_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    to_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    state_json_before: Mapped[str] = mapped_column(Text)
    serializer_version_before: Mapped[str] = mapped_column(String(20))
    revision_after: Mapped[int]
    migrated_at: Mapped[datetime]
    migrated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class WorkflowState(Base):
    """The instance part of a case's serialized workflow; `revision` rises with every run."""

    __tablename__ = "workflow_state"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"))
    state_json: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(default=0)
    incident: Mapped[str | None] = mapped_column(Text)  # why the last run failed, for administrators
    updated_at: Mapped[datetime]


WORKLIST_COLUMNS = ("role", "spec_name", "title", "paused_at", "warn_at")  # what the light counts read


class HumanTask(Base):
    """A user task: the projection that worklists, lights and counts are SQL over (state 'ready'),
    kept after completion as the case's step history. Completion is a compare-and-set on `state`."""

    __tablename__ = "human_task"
    # Worklists: a unit's (and an assignee's) ready tasks in due order, read straight off partial indexes of
    # the open tasks only; the light counts are index-only scans on PostgreSQL (the INCLUDE columns).
    __table_args__ = (Index("ix_human_task_ready_unit_due", "unit_id", "due_at", "created_at", "id",
                            postgresql_include=list(WORKLIST_COLUMNS),
                            postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
                      Index("ix_human_task_ready_assignee_due", "assignee_id", "due_at", "created_at", "id",
                            postgresql_include=["unit_id", *WORKLIST_COLUMNS],
                            postgresql_where=text("state = 'ready'"), sqlite_where=text("state = 'ready'")),
                      Index("ix_human_task_unit_case", "unit_id", "case_id"))  # who may see: a unit's cases
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the engine's task id
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    spec_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    form: Mapped[str | None] = mapped_column(String(80))
    deadline_rule: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(12), default="ready", index=True)  # ready, done, cancelled
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    warn_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]  # its clock stands still since then (a running TaskPause): light 暂停


class ProcessTimer(Base):
    """A waiting BPMN timer; schedulers claim due rows so none fires twice."""

    __tablename__ = "process_timer"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    spec_name: Mapped[str] = mapped_column(String(80))
    fire_at: Mapped[datetime] = mapped_column(index=True)


class CaseDeadline(Base):
    """When a case's period under one rule started and falls due, so a task that comes round again
    (after an extension, a supervision or a refused return) keeps its deadline instead of restarting it.
    A new unit starts the period afresh."""

    __tablename__ = "case_deadline"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(60), primary_key=True)
    unit_id: Mapped[int] = mapped_column(primary_key=True)  # 0 for the centre's own steps
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    extended_by: Mapped[int] = mapped_column(default=0)


class TaskWarning(Base):
    """A yellow or red warning raised for a task; the key makes it once per task per colour."""

    __tablename__ = "task_warning"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    colour: Mapped[str] = mapped_column(String(8), primary_key=True)  # yellow, red
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    raised_at: Mapped[datetime]
    raised_by: Mapped[str] = mapped_column(String(60))  # which scheduler process


class IdempotentRequest(Base):
    """A request key already answered: a retry gets the first answer, never a second case."""

    __tablename__ = "idempotent_request"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # caller + Idempotency-Key
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    # SHA-256 of the canonical body: the same key with another body is refused. NULL on rows kept from before.
    body_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
