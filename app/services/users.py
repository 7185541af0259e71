"""Accounts and role assignment, with the separation of the three admin powers enforced here."""

from __future__ import annotations

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
    """Deactivate or reactivate an account (a system administrator's power); deactivation ends every
    session and token of the user at once."""
    if not actor.can("user.manage"):
        raise NotPermitted("只有系统管理员可以停用或启用账号")
    with platform.db.unit_of_work() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("用户不存在")
        if user.id == actor.user_id:
            raise NotPermitted("不能停用自己的账号")
        user.active = active
        tokens = 0 if active else end_sign_ins(session, platform.clock.now(), user.id, "deactivated")
        audit.record(session, platform, actor, "user.activated" if active else "user.deactivated",
                     detail={"user": user.staff_no, "tokens_revoked": tokens})
        session.commit()
