"""Accounts and role assignment, with the separation of the three admin powers enforced here: the 安全管理员
(user.manage, role.assign) creates, deactivates, resets and unlocks; nobody is ever deleted."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.domain.roles import ROLES, RoleConflict, check_role_set
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Role, Unit, User, user_role
from app.services import audit, tabular
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


COLUMNS = ("工号", "姓名", "单位编码", "角色")
MAX_IMPORT = 10_000


def export_users(platform: Platform, actor: Actor, fmt: str = "csv") -> bytes:
    """Every account as the import reads it (工号,姓名,单位编码,角色 split by |), never a password: the
    安全管理员's list to check and load again."""
    _require(actor)
    with platform.db.reading() as session:
        rows = [[u.staff_no, u.name, u.unit.code, "|".join(sorted(u.role_codes))]
                for u in session.scalars(select(User).order_by(User.staff_no))]
    return tabular.write(fmt, COLUMNS, rows, sheet="用户")


@dataclass(frozen=True)
class _Row:
    number: int
    staff_no: str
    name: str
    unit_code: str
    roles: frozenset[str]


def _roles_of(text: str) -> set[str]:
    """'handler|leader', '经办人、分管领导' or a mix: codes or the names the page shows."""
    names = {label: code for code, label in ROLES.items()}
    parts = re.split(r"[|,;、，；\s]+", text)
    return {names.get(p, p) for p in (p.strip() for p in parts) if p}


def _plan_users(session: Session, actor: Actor, table: list[list[str]]) -> tuple[list[_Row], dict[str, User],
                                                                                 dict[str, Unit], list[str]]:
    """Every row checked against the stored accounts and units, read in two queries; faults by row and field."""
    rows: list[_Row] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, cells in tabular.without_header(table, "工号", "staff_no"):
        where = f"第 {number} 行"
        if len(cells) > 4:
            errors.append(f"{where}:应为 4 列(工号,姓名,单位编码,角色)")
            continue
        staff_no, name, unit_code, roles = (cells + ["", "", "", ""])[:4]
        if not STAFF_NO.fullmatch(staff_no):
            errors.append(f"{where} 工号:应为 2 到 40 位字母、数字或 _.-")
            continue
        if staff_no in seen:
            errors.append(f"{where} 工号:与第 {seen[staff_no]} 行重复:{staff_no}")
            continue
        seen[staff_no] = number
        rows.append(_Row(number, staff_no, name, unit_code, frozenset(_roles_of(roles))))
    if not rows and not errors:
        errors.append("文件中没有用户")
    if len(rows) > MAX_IMPORT:
        errors.append(f"一次最多导入 {MAX_IMPORT} 个用户")
    known = {u.staff_no: u for u in session.scalars(select(User).where(User.staff_no.in_([r.staff_no for r in rows])))}
    units = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_({r.unit_code for r in rows})))}
    for row in rows:
        where = f"第 {row.number} 行"
        if not row.name or len(row.name) > 60:
            errors.append(f"{where} 姓名:应为 1 到 60 个字符")
        unit, user = units.get(row.unit_code), known.get(row.staff_no)
        if unit is None or not (unit.active or (user is not None and user.unit_id == unit.id)):
            errors.append(f"{where} 单位编码:单位不存在或已停用:{row.unit_code[:40]}")
        if not row.roles:
            errors.append(f"{where} 角色:至少一个角色")
        try:
            check_role_set(set(row.roles))
        except RoleConflict as e:
            errors.append(f"{where} 角色:{e}")
        if user is not None and user.id == actor.user_id:
            errors.append(f"{where} 工号:不能通过导入修改自己的账号")
    return rows, known, units, errors


def _refusal(errors: list[str]) -> Invalid:
    shown = errors[:50]
    message = "文件未导入,请改正后重新上传:" + ";".join(shown) + \
        (f"(另有 {len(errors) - len(shown)} 处错误未列出)" if len(errors) > len(shown) else "")
    return Invalid(message, {"file": message} | {f"row {i + 1}": e for i, e in enumerate(shown)})


@dataclass(frozen=True)
class Imported:
    """What an import did: the new accounts' one-time passwords (shown once) and how many were updated."""

    rows: int
    issued: dict[str, str]
    changed: int

    @property
    def unchanged(self) -> int:
        return self.rows - len(self.issued) - self.changed


def import_users(platform: Platform, actor: Actor, data: bytes, filename: str = "") -> Imported:
    """Load accounts from CSV or XLSX (工号,姓名,单位编码,角色 — roles by code or name, split by | or 、).

    Every row is checked first (三权分立 included); one fault refuses the whole file (422 naming each row and
    field). A new 工号 gets an account with a one-time password, changed at first sign-in, as a reset gives;
    a stored one is updated (name, unit, roles) and keeps its password, so the same file again changes
    nothing. The passwords are hashed (at the configured cost: that is the import's time) before the one
    short write transaction, which then inserts the accounts and their roles in batches."""
    _require(actor)
    if not actor.can("role.assign"):
        raise NotPermitted("只有安全管理员可以分配角色")
    table = tabular.read_rows(data, filename, max_rows=MAX_IMPORT + 1)
    with platform.db.reading() as session:
        rows, known, _, errors = _plan_users(session, actor, table)
    if errors:
        raise _refusal(errors)
    issued = {r.staff_no: one_time_password() for r in rows if r.staff_no not in known}
    hashes = {staff_no: platform.hasher.hash(password) for staff_no, password in issued.items()}
    with platform.db.unit_of_work() as session:
        rows, known, units, errors = _plan_users(session, actor, table)  # again: the accounts as they are now
        if errors:
            raise _refusal(errors)
        roles = {r.code: r for r in session.scalars(select(Role))}
        now = platform.clock.now()
        fresh: list[_Row] = []
        changed = []
        for row in rows:
            user = known.get(row.staff_no)
            if user is None:
                fresh.append(row)
                continue
            before = {"name": user.name, "unit": user.unit.code, "roles": sorted(user.role_codes)}
            after = {"name": row.name, "unit": row.unit_code, "roles": sorted(row.roles)}
            if before != after:
                user.name, user.unit_id = row.name, units[row.unit_code].id
                user.roles = [roles[c] for c in sorted(row.roles)]
                changed.append({"user": user.staff_no, "before": {k: v for k, v in before.items() if after[k] != v},
                                "after": {k: v for k, v in after.items() if before[k] != v}})
        _insert(session, fresh, units, hashes, now)
        audit.record(session, platform, actor, "user.imported",
                     detail={"file": filename[:200], "rows": len(rows), "created": [r.staff_no for r in fresh],
                             "changed": changed})
        session.commit()
    return Imported(len(rows), {r.staff_no: issued[r.staff_no] for r in fresh}, len(changed))


def _insert(session: Session, fresh: list[_Row], units: dict[str, Unit], hashes: dict[str, str],
            now: datetime) -> None:
    """The new accounts in one multi-row INSERT … RETURNING and their roles in one more (the ORM's unit of work
    inserts row by row on SQLite when it must match generated ids)."""
    if not fresh:
        return
    session.flush()
    made = dict(session.execute(insert(User).returning(User.staff_no, User.id), [
        {"staff_no": r.staff_no, "name": r.name, "unit_id": units[r.unit_code].id, "password_hash": hashes[r.staff_no],
         "password_changed_at": now, "must_change_password": True, "active": True, "failed_logins": 0,
         "created_at": now} for r in fresh]).all())
    session.execute(insert(user_role), [{"user_id": made[r.staff_no], "role_code": code}
                                        for r in fresh for code in sorted(r.roles)])


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
