"""Time the law does not count (pauses of a task's clock) and the escalation ladder's rungs, once per task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class PauseRule(Base):
    """What a pause reason allows: its longest credit in working days, whether a leader must approve, the
    steps it applies to (empty: any) and its legal basis. The reason's words are the dictionary's
    (kind `pause_reason`, same code)."""

    __tablename__ = "pause_rule"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    max_days: Mapped[int]
    needs_approval: Mapped[bool] = mapped_column(default=True)
    steps: Mapped[list[Any]]  # task spec names, e.g. ["re_review_decision"]; [] for any step
    legal_basis: Mapped[str] = mapped_column(Text, default="")


class TaskPause(Base):
    """One pause of a task's clock: requested → running (approved, or at once when no approval is needed)
    → ended; or refused. `credited_days` is the working time the due date moved by on resume."""

    __tablename__ = "task_pause"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_task.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(12), index=True)  # requested, running, ended, refused
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    credited_days: Mapped[int | None]
    due_before: Mapped[datetime | None]
    due_after: Mapped[datetime | None]


class TaskEscalation(Base):
    """A rung of the escalation ladder reached by a task; the key makes it once per task and rung, whichever
    scheduler claimed it. `outcome` says what it did (or why it could not, e.g. the case left handling)."""

    __tablename__ = "task_escalation"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rung: Mapped[str] = mapped_column(String(30), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # remind, notice, supervise
    raised_at: Mapped[datetime]
    raised_by: Mapped[str] = mapped_column(String(60))  # which scheduler process
    outcome: Mapped[dict[str, Any]]
