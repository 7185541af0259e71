"""Administrator-edited data: dictionary, settings, deadline rules and the working calendar."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DictionaryEntry(Base):
    """One item of an admin-editable list (categories form a tree through parent_id)."""

    __tablename__ = "dictionary_entry"
    __table_args__ = (UniqueConstraint("kind", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # category, kind, channel, reject_reason …
    code: Mapped[str] = mapped_column(String(80))
    label: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("dictionary_entry.id"))
    sort: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Setting(Base):
    """A parameter that takes effect at once (every process reads the rows again after any change: `kept`)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]]  # {"value": …} so any JSON value fits
    updated_at: Mapped[datetime]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DeadlineRule(Base):
    """A time limit as data: amount and unit, how the period counts, the most it may be extended, its basis."""

    __tablename__ = "deadline_rule"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    amount: Mapped[int]
    unit: Mapped[str] = mapped_column(String(20))  # calendar_day, working_day, calendar_hour, working_hour
    count_start_day: Mapped[bool] = mapped_column(default=False)
    roll_forward: Mapped[bool] = mapped_column(default=True)
    max_extension: Mapped[int] = mapped_column(default=0)
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    # registration, dispatch, sign_for, step_start: the moment the period is counted from
    counted_from: Mapped[str] = mapped_column(String(20), default="step_start", server_default="step_start")


class CalendarDay(Base):
    """A day that differs from the Monday–Friday rule: a holiday, or a 调休 weekend workday."""

    __tablename__ = "calendar_day"
    day: Mapped[date] = mapped_column(primary_key=True)
    is_workday: Mapped[bool]
    note: Mapped[str] = mapped_column(String(40), default="")


class LocalHoliday(Base):
    """A rest day set locally for one region (a 自治县's 古尔邦节): counted as a holiday by the deadlines of
    tasks whose unit lies in that unit's subtree, by nobody else's."""

    __tablename__ = "local_holiday"
    __table_args__ = (UniqueConstraint("unit_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    day: Mapped[date]
    note: Mapped[str] = mapped_column(String(40), default="")


class CalendarYear(Base):
    """A year whose holidays are confirmed; computing into any other year is refused."""

    __tablename__ = "calendar_year"
    year: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(60))  # 'chinese-calendar 1.11.0' or who entered it
    confirmed_at: Mapped[datetime]


class RoutingRule(Base):
    """One line of the 派单目录: a category (or its subtree) in an area proposes a lead unit and a mode.

    `category` is a dictionary code; a rule on a parent code covers its whole subtree ("城乡建设" covers
    "城乡建设/供水"). `area_unit_id` is a district or street of the unit tree, None for any area. The most
    specific rule wins (street over district over any, then the deeper category)."""

    __tablename__ = "routing_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(80), index=True)
    area_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    assisting_unit_ids: Mapped[list[Any]]
    mode: Mapped[str] = mapped_column(String(20))  # direct 直派, via_district 经区县转派
    directly_designated: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    active: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(String(200), default="")


class DataRevision(Base):
    """A token that every write to a group of the tables above changes (triggers, migration 0028): a process
    keeps what it built from the group's tables while the token stands (`app.db.kept`)."""

    __tablename__ = "data_revision"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # the group: a key of REVISED_TABLES' values
    token: Mapped[str] = mapped_column(String(40))


# Each table whose writes change a group's token → the group (the triggers of migration 0028).
REVISED_TABLES = {"calendar_day": "calendar", "local_holiday": "calendar", "calendar_year": "calendar",
                  "dictionary_entry": "dictionary", "deadline_rule": "deadline_rule",
                  "process_definition": "process_definition", "unit": "unit",
                  "setting": "setting", "user_account": "people", "user_role": "people", "role": "people",
                  "role_permission": "people", "permission": "people"}
