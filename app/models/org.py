"""Units, users, roles and permissions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base

user_role = Table(
    "user_role",
    Base.metadata,
    Column("user_id", ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("role_code", ForeignKey("role.code"), primary_key=True),
)

role_permission = Table(
    "role_permission",
    Base.metadata,
    Column("role_code", ForeignKey("role.code", ondelete="CASCADE"), primary_key=True),
    Column("permission_code", ForeignKey("permission.code"), primary_key=True),
)


class Unit(Base):
    """An organisation unit; `path` ('/1/4/9/') makes 'this unit or one below it' a prefix match."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # centre, bureau, district, section, street
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    path: Mapped[str] = mapped_column(String(400), index=True, default="")
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))  # kept, deactivated, after a merge

    parent: Mapped[Unit | None] = relationship(remote_side=[id], foreign_keys=[parent_id])


class Permission(Base):
    __tablename__ = "permission"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))


class Role(Base):
    __tablename__ = "role"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    permissions: Mapped[list[Permission]] = relationship(secondary=role_permission, lazy="selectin")


class User(Base):
    """A person who signs in with 工号; lockout counters live here so every worker shares them."""

    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_no: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime]
    must_change_password: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(40))  # work phone, for SMS task notices
    created_at: Mapped[datetime]

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    roles: Mapped[list[Role]] = relationship(secondary=user_role, lazy="selectin")

    @property
    def role_codes(self) -> set[str]:
        return {r.code for r in self.roles}

    @property
    def permission_codes(self) -> set[str]:
        return {p.code for r in self.roles for p in r.permissions}
