"""Cases and requesters: the appeal itself. Phones and ID numbers are stored only encrypted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, ForeignKey, Index, LargeBinary, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base
from app.models.org import Unit

case_assisting_unit = Table(
    "case_assisting_unit",
    Base.metadata,
    Column("case_id", ForeignKey("case.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("unit.id"), primary_key=True, index=True),
)


class Requester(Base):
    """The citizen. `*_enc` hold AES-GCM ciphertext (phone, ID number, address), `*_hash` a keyed hash
    for exact search. The name stays readable: it is shown (masked) on every worklist."""

    __tablename__ = "requester"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Case(Base):
    """One appeal from one person, whatever the channel; its status mirrors where its process stands."""

    __tablename__ = "case"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    query_code: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    requester_id: Mapped[int] = mapped_column(ForeignKey("requester.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    process_key: Mapped[str | None] = mapped_column(String(60))
    registering_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))  # index (registering_unit_id, id)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # (lead_unit_id, created_at), (…, id)
    area_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # district/street of the location
    location: Mapped[str | None] = mapped_column(String(200))  # where the matter is, not the requester's address
    location_lat: Mapped[float | None] = mapped_column(Float)  # a map point of the location (WGS-84)
    location_lng: Mapped[float | None] = mapped_column(Float)
    dispatch_mode: Mapped[str | None] = mapped_column(String(20))  # 分流方向 of the last 派单 (transfer, co_handle…)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    sensitivity: Mapped[str] = mapped_column(String(20), default="normal")  # normal, sensitive
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(index=True)  # indexed: a day's events (report summary)
    due_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    # What reports count, mirrored from the process data by app/services/process.py (never read from labels).
    responded_at: Mapped[datetime | None]  # the lead unit first completed a step of its own (签收/办理)
    replied_at: Mapped[datetime | None] = mapped_column(index=True)  # the requester first answered (已答复/待回访)
    replied_on_time: Mapped[bool | None]  # answered before the step's due time
    accepted_on_time: Mapped[bool | None]  # given a lead unit before the centre's intake step was due
    followed_up_at: Mapped[datetime | None] = mapped_column(index=True)  # the last 回访 (satisfaction recorded)
    satisfaction: Mapped[str | None] = mapped_column(String(20))  # satisfied, basically_satisfied, unsatisfied
    resolved: Mapped[bool | None]
    return_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    reopen_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    extension_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    supervision_count: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    # (unit, id): the unit scope's index-only merges (scope.visible_cases_by_index, migration 0027).
    __table_args__ = (Index("ix_case_lead_unit_created", "lead_unit_id", "created_at"),
                      Index("ix_case_lead_unit_id_id", "lead_unit_id", "id"),
                      Index("ix_case_registering_unit_id_id", "registering_unit_id", "id"))
    requester: Mapped[Requester] = relationship(lazy="joined")
    assisting_units: Mapped[list[Unit]] = relationship(secondary=case_assisting_unit)

