"""Accounts and role assignment, with the separation of the three admin powers enforced here: the 安全管理员
(user.manage, role.assign) creates, deactivates, resets and unlocks; nobody is ever deleted."""

from __future__ import annotations

import csv
import io
import re
import secrets
import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.roles import RoleConflict, check_role_set
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Role, Unit, User
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.sign_ins import end_sign_ins


def add_user(session: Session, platform: Platform, *, staff_no: str, name: str, unit: Unit, password: str,
             roles: set[str], must_change_password: bool = True) -> User:
    """Create an account in the caller's transaction (used by set-up and the admin pages)."""
    try:
        check_role_set(roles)
    except RoleConflict as e:
        raise Invalid(str(e), {"roles": str(e)}) from e
    now = platform.clock.now()
    user = User(staff_no=staff_no, name=name, unit=unit, password_hash=platform.hasher.hash(password),
                password_changed_at=now, must_change_password=must_change_password, created_at=now,
                roles=list(session.scalars(select(Role).where(Role.code.in_(roles)))))
    session.add(user)
    session.flush()
    return user


def assign_roles(platform: Platform, actor: Actor, user_id: int, roles: set[str]) -> None:
    """Replace a user's roles; only a security administrator may, and never against 三权分立."""
    if not actor.can("role.assign"):
        raise NotPermitted("只有安全管理员可以分配角色")
    try:
        check_role_set(roles)
    except RoleConflict as e:
        raise Invalid(str(e), {"roles": str(e)}) from e
    with platform.db.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在")
        if user.id == actor.user_id:
            raise NotPermitted("不能修改自己的角色")
        before = sorted(user.role_codes)
        user.roles = list(session.scalars(select(Role).where(Role.code.in_(roles))))
        audit.record(session, platform, actor, "permission.changed",
                     detail={"user": user.staff_no, "before": before, "after": sorted(roles)})
        session.commit()


def set_active(platform: Platform, actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate or reactivate an account (the security administrator's power); deactivation ends every
    session and token of the user at once. The row stays: its history is still readable."""
    if not actor.can("user.manage"):
        raise NotPermitted("只有安全管理员可以停用或启用账号")
    with platform.db.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在")
        if user.id == actor.user_id:
            raise NotPermitted("不能停用自己的账号")
        user.active = active
        tokens = 0 if active else end_sign_ins(session, platform.clock.now(), user.id, "deactivated")
        audit.record(session, platform, actor, "user.activated" if active else "user.deactivated",
                     detail={"user": user.staff_no, "tokens_revoked": tokens,
                             "before": {"active": not active}, "after": {"active": active}})
        session.commit()


STAFF_NO = re.compile(r"[A-Za-z0-9_.-]{2,40}")


@dataclass(frozen=True)
class UserRow:
    """One account as the 安全管理员 sees it (never the password hash)."""

    id: int
    staff_no: str
    name: str
    unit: str
    roles: list[str]
    active: bool
    locked: bool
    must_change_password: bool


@dataclass(frozen=True)
class NewUser:
    staff_no: str
    name: str
    unit_code: str
    roles: set[str]


def _require(actor: Actor) -> None:
    if not actor.can("user.manage"):
        raise NotPermitted("只有安全管理员可以管理用户")


def list_users(platform: Platform, actor: Actor) -> list[UserRow]:
    """Every account, deactivated ones included (they are kept, never deleted); the 审计员 may read it."""
    if not actor.can("audit.read"):
        _require(actor)
    now = platform.clock.now()
    with platform.db.reading() as session:
        return [UserRow(u.id, u.staff_no, u.name, u.unit.name, sorted(u.role_codes), u.active,
                        u.locked_until is not None and u.locked_until > now, u.must_change_password)
                for u in session.scalars(select(User).order_by(User.staff_no))]


def one_time_password() -> str:
    """A random password meeting every policy class; shown once, changed at the first sign-in."""
    body = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))
    return "Hy" + body + secrets.choice("23456789") + secrets.choice("@#%+=")


def _check_new(session: Session, new: NewUser, row: int | None = None) -> tuple[dict[str, str], Unit | None]:
    where = f"第 {row} 行:" if row is not None else ""
    errors: dict[str, str] = {}
    if not STAFF_NO.fullmatch(new.staff_no):
        errors["staff_no"] = f"{where}工号应为 2 到 40 位字母、数字或 _.-"
    elif session.scalar(select(User.id).where(User.staff_no == new.staff_no)) is not None:
        errors["staff_no"] = f"{where}工号已存在:{new.staff_no}"
    if not new.name.strip() or len(new.name) > 60:
        errors["name"] = f"{where}姓名应为 1 到 60 个字符"
    unit = session.scalar(select(Unit).where(Unit.code == new.unit_code, Unit.active))
    if unit is None:
        errors["unit"] = f"{where}单位不存在或已停用:{new.unit_code[:40]}"
    try:
        check_role_set(new.roles)
    except RoleConflict as e:
        errors["roles"] = f"{where}{e}"
    return errors, unit


def create_user(platform: Platform, actor: Actor, new: NewUser) -> str:
    """Create an account with a one-time password (answered once) that must be changed at first sign-in."""
    _require(actor)
    password = one_time_password()
    with platform.db.unit_of_work() as session:
        errors, unit = _check_new(session, new)
        if errors or unit is None:
            raise Invalid(";".join(errors.values()), errors)
        add_user(session, platform, staff_no=new.staff_no, name=new.name.strip(), unit=unit, password=password,
                 roles=new.roles)
        audit.record(session, platform, actor, "user.created",
                     detail={"user": new.staff_no, "after": {"name": new.name, "unit": unit.code,
                                                            "roles": sorted(new.roles)}})
        session.commit()
    return password


def import_users(platform: Platform, actor: Actor, data: str) -> dict[str, str]:
    """Bulk creation from CSV (工号,姓名,单位编码,角色 with roles split by |); one bad row and nothing is
    stored (422 naming the row). Answers each new 工号's one-time password."""
    _require(actor)
    rows = [r for r in csv.reader(io.StringIO(data.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    if rows and rows[0] and rows[0][0].strip() in ("工号", "staff_no"):
        rows = rows[1:]
    if not rows:
        raise Invalid("CSV 中没有用户", {"file": "CSV 中没有用户"})
    if len(rows) > 10000:
        raise Invalid("一次最多导入 10000 个用户", {"file": "一次最多导入 10000 个用户"})
    passwords: dict[str, str] = {}
    with platform.db.unit_of_work() as session:
        for n, cells in enumerate(rows, start=1):
            if len(cells) != 4:
                message = f"第 {n} 行:应有 4 列(工号,姓名,单位编码,角色)"
                raise Invalid(message, {"file": message})
            new = NewUser(cells[0].strip(), cells[1].strip(), cells[2].strip(),
                          {r.strip() for r in cells[3].split("|") if r.strip()})
            errors, unit = _check_new(session, new, n)
            if new.staff_no in passwords:
                errors["staff_no"] = f"第 {n} 行:工号重复:{new.staff_no}"
            if errors or unit is None:
                raise Invalid(";".join(errors.values()), {"file": ";".join(errors.values()), **errors})
            passwords[new.staff_no] = one_time_password()
            add_user(session, platform, staff_no=new.staff_no, name=new.name, unit=unit,
                     password=passwords[new.staff_no], roles=new.roles)
        audit.record(session, platform, actor, "user.imported", detail={"users": sorted(passwords)})
        session.commit()
    return passwords


def _target(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None:
        raise NotFound("用户不存在")
    if user.id == actor.user_id:
        raise NotPermitted("不能对自己的账号执行此操作")
    return user


def reset_password(platform: Platform, actor: Actor, user_id: int) -> str:
    """A new one-time password (answered once), to be changed at the next sign-in; every sign-in ends."""
    _require(actor)
    password = one_time_password()
    with platform.db.unit_of_work() as session:
        user = _target(session, actor, user_id)
        user.password_hash = platform.hasher.hash(password)
        user.password_changed_at = platform.clock.now()
        user.must_change_password = True
        tokens = end_sign_ins(session, platform.clock.now(), user.id, "password_changed")
        audit.record(session, platform, actor, "password.reset",
                     detail={"user": user.staff_no, "tokens_revoked": tokens,
                             "before": {"must_change_password": False}, "after": {"must_change_password": True}})
        session.commit()
    return password


def unlock(platform: Platform, actor: Actor, user_id: int) -> None:
    """Lift a lockout before it runs out (fault table row 30: an audited admin unlock)."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        user = _target(session, actor, user_id)
        before = {"failed_logins": user.failed_logins,
                  "locked_until": user.locked_until.isoformat() if user.locked_until else None}
        user.failed_logins, user.locked_until = 0, None
        audit.record(session, platform, actor, "user.unlocked",
                     detail={"user": user.staff_no, "before": before,
                             "after": {"failed_logins": 0, "locked_until": None}})
        session.commit()


def end_user_sign_ins(platform: Platform, actor: Actor, user_id: int) -> int:
    """End every web session and API token of a user (a lost laptop, a leaving officer)."""
    _require(actor)
    with platform.db.unit_of_work() as session:
        user = _target(session, actor, user_id)
        tokens = end_sign_ins(session, platform.clock.now(), user.id, "revoked")
        audit.record(session, platform, actor, "user.signed_out", detail={"user": user.staff_no, "tokens": tokens})
        session.commit()
        return tokens
