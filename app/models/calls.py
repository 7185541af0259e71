"""Telephony: calls reported by the bridge, each outcome received once, and the 回呼 callback list.

A call is keyed by (pbx_id, linkedid) and an outcome by (pbx_id, linkedid, kind): the unique
constraints are what makes a duplicate post, a replay or a second bridge create nothing new.
The caller's number is personal data and is stored only encrypted, like a requester's phone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

# Which outcome describes a call when several arrive: a voicemail beats an abandon, an answer beats all.
OUTCOME_RANK = {"missed": 1, "abandoned": 2, "voicemail": 3, "answered": 4}


class Call(Base):
    """One inbound call as the platform knows it: the merged snapshot of every outcome received."""

    __tablename__ = "call"
    __table_args__ = (UniqueConstraint("pbx_id", "linkedid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_id: Mapped[str] = mapped_column(String(40))
    linkedid: Mapped[str] = mapped_column(String(64))
    caller_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    caller_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    caller_location: Mapped[str | None] = mapped_column(String(60))  # 归属地, looked up once on arrival
    queue: Mapped[str | None] = mapped_column(String(80), index=True)
    agent_interface: Mapped[str | None] = mapped_column(String(120))
    agent_member_name: Mapped[str | None] = mapped_column(String(80))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    started_at: Mapped[datetime | None] = mapped_column(index=True)  # local wall-clock, like every time
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    hold_seconds: Mapped[int | None]
    talk_seconds: Mapped[int | None]
    recording_file: Mapped[str | None] = mapped_column(String(400))  # path on the PBX, as reported
    voicemail_file: Mapped[str | None] = mapped_column(String(400))
    outcome: Mapped[str | None] = mapped_column(String(20), index=True)  # answered, voicemail, abandoned, missed
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="SET NULL"), index=True)
    # The draft case of an answered call: the agent's intake form is prefilled from this row.
    draft_for_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    taken_at: Mapped[datetime | None]  # the agent opened or dismissed the screen pop
    created_at: Mapped[datetime] = mapped_column(index=True)  # platform time of the first outcome
    updated_at: Mapped[datetime]

    def merge_outcome(self, kind: str) -> None:
        """Keep the most telling outcome whatever order the posts arrive in."""
        new = "missed" if kind == "ended" else kind
        if new in OUTCOME_RANK and OUTCOME_RANK[new] > OUTCOME_RANK.get(self.outcome or "", 0):
            self.outcome = new


class CallOutcome(Base):
    """One outcome as posted by a bridge; its key is the idempotency guarantee."""

    __tablename__ = "call_outcome"
    __table_args__ = (UniqueConstraint("pbx_id", "linkedid", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_id: Mapped[str] = mapped_column(String(40))
    linkedid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # answered, abandoned, voicemail, recording, ended
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime]
    received_from: Mapped[str] = mapped_column(String(80))  # the bridge token's name
    payload: Mapped[dict[str, Any]]  # without the caller's number and name (they live encrypted on the call)


class Callback(Base):
    """An entry in the 回呼 list: an abandoned call to be returned, until reached or found to be 空号."""

    __tablename__ = "callback"
    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open, done
    attempts: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))  # last attempt: connected, no_answer, invalid_number
    last_attempt_at: Mapped[datetime | None]
    last_attempt_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)


class CallbackAttempt(Base):
    """One calling back: who, when, and what came of it."""

    __tablename__ = "callback_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(ForeignKey("callback.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[datetime]
