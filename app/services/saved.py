"""What a saved query and a saved custom report share: a name, parameters already checked by their owner module,
private to their owner or shared with the owner's unit (shared never widens anyone's scope: each reader runs it
over their own cases). One home for listing, saving and deleting, so both behave alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import false, func, or_, select

from app.errors import Invalid, NotFound
from app.models import SavedQuery, SavedReport
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform

MAX_PER_USER = 50
NAME_MAX = 60


@dataclass(frozen=True)
class Kind:
    """What is saved: its table, the word users read (查询 / 报表) and the audit action's prefix."""

    model: type[SavedQuery] | type[SavedReport]
    noun: str
    action: str


Saved = SavedQuery | SavedReport  # the two tables have the same columns

QUERY = Kind(SavedQuery, "查询", "query")
REPORT = Kind(SavedReport, "报表", "report")


def listed(platform: Platform, kind: Kind, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own and those shared with their unit, by name."""
    if actor.user_id is None:
        return []
    model = kind.model
    with platform.db.reading() as session:
        seen = or_(model.owner_id == actor.user_id,
                   model.unit_id == actor.unit_id if actor.unit_id is not None else false())
        rows = cast("list[Saved]", session.scalars(select(model).where(seen).order_by(model.name, model.id)).all())
        return [{"id": r.id, "name": r.name, "params": r.params, "shared": r.unit_id is not None,
                 "mine": r.owner_id == actor.user_id} for r in rows]


def _checked_name(kind: Kind, actor: Actor, name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX:
        message = f"{kind.noun}名称应为 1–{NAME_MAX} 个字"
        raise Invalid(message, {"name": message})
    if actor.user_id is None:
        raise Invalid(f"保存{kind.noun}需以用户身份登录", {"name": "需以用户身份登录"})
    return name


def save(platform: Platform, kind: Kind, actor: Actor, name: str, params: dict[str, Any], *, shared: bool) -> int:
    """Keep checked `params` under `name`; at most MAX_PER_USER each."""
    name = _checked_name(kind, actor, name)
    model = kind.model
    with platform.db.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(model).where(model.owner_id == actor.user_id)) or 0
        if count >= MAX_PER_USER:
            raise Invalid(f"每人最多保存 {MAX_PER_USER} 个{kind.noun}", {"name": f"最多 {MAX_PER_USER} 个"})
        row = model(owner_id=actor.user_id, unit_id=actor.unit_id if shared else None, name=name,
                    params=params, created_at=platform.clock.now())
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, f"{kind.action}.saved",
                     detail={kind.action: row.id, "name": name, "params": params, "shared": shared})
        session.commit()
        return row.id


def delete(platform: Platform, kind: Kind, actor: Actor, row_id: int) -> None:
    """Only its owner deletes one (a shared one too)."""
    with platform.db.unit_of_work() as session:
        row = cast("Saved | None", session.get(kind.model, row_id))
        if row is None or row.owner_id != actor.user_id:
            raise NotFound(f"保存的{kind.noun}不存在")
        audit.record(session, platform, actor, f"{kind.action}.deleted", detail={kind.action: row.id, "name": row.name})
        session.delete(row)
        session.commit()
