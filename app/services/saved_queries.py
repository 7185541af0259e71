"""Saved combined queries: private to their owner, or shared with the owner's unit. The conditions are
checked (app.domain.case_query.parse) before they are kept, so a saved query always runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, select

from app.domain import case_query as cq
from app.errors import Invalid, NotFound
from app.models import SavedQuery
from app.services import audit
from app.services.actors import Actor, require
from app.services.platform import Platform

MAX_PER_USER = 50


def listed(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own saved queries and those shared with their unit, by name."""
    if actor.user_id is None:
        return []
    with platform.db.reading() as session:
        seen = or_(SavedQuery.owner_id == actor.user_id,
                   SavedQuery.unit_id == actor.unit_id if actor.unit_id is not None else false())
        return [{"id": q.id, "name": q.name, "params": q.params, "shared": q.unit_id is not None,
                 "mine": q.owner_id == actor.user_id}
                for q in session.scalars(select(SavedQuery).where(seen).order_by(SavedQuery.name, SavedQuery.id))]


def save(platform: Platform, actor: Actor, name: str, params: dict[str, list[str]], *, shared: bool) -> int:
    require(actor, "case.read")
    name = name.strip()
    if not 1 <= len(name) <= 60:
        raise Invalid("查询名称应为 1–60 个字", {"name": "查询名称应为 1–60 个字"})
    if actor.user_id is None:
        raise Invalid("保存查询需以用户身份登录", {"name": "需以用户身份登录"})
    kept = cq.parse({k: v for k, v in params.items() if k not in ("after", "before")}).as_params()
    with platform.db.unit_of_work() as session:
        count = len(list(session.scalars(select(SavedQuery.id).where(SavedQuery.owner_id == actor.user_id))))
        if count >= MAX_PER_USER:
            raise Invalid(f"每人最多保存 {MAX_PER_USER} 个查询", {"name": f"最多 {MAX_PER_USER} 个"})
        row = SavedQuery(owner_id=actor.user_id, unit_id=actor.unit_id if shared else None, name=name,
                         params=kept, created_at=platform.clock.now())
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, "query.saved",
                     detail={"query": row.id, "name": name, "params": kept, "shared": shared})
        session.commit()
        return row.id


def delete(platform: Platform, actor: Actor, query_id: int) -> None:
    """Only its owner deletes a saved query (a shared one too)."""
    with platform.db.unit_of_work() as session:
        row = session.get(SavedQuery, query_id)
        if row is None or row.owner_id != actor.user_id:
            raise NotFound("保存的查询不存在")
        audit.record(session, platform, actor, "query.deleted", detail={"query": row.id, "name": row.name})
        session.delete(row)
        session.commit()
