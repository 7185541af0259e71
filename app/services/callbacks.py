"""The 回呼 list: abandoned calls an agent calls back, and each attempt's outcome (接通/未接/空号)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import Call, Callback, CallbackAttempt, User
from app.services import audit
from app.services.actors import Actor
from app.services.calls import caller_number
from app.services.platform import Platform

CALLBACK_OUTCOMES = {"connected": "接通", "no_answer": "未接", "invalid_number": "空号"}
FINAL_CALLBACK_OUTCOMES = {"connected", "invalid_number"}  # no point calling a 空号 again


def _require_agent(actor: Actor) -> None:
    if not actor.can("case.create"):
        raise NotPermitted("只有话务员可以处理回呼")


def callback_list(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Abandoned calls still to be returned, oldest first, with attempts and the last outcome."""
    _require_agent(actor)
    with platform.db.reading() as session:
        rows = session.execute(
            select(Callback, Call, User.name).join(Call, Call.id == Callback.call_id)
            .outerjoin(User, User.id == Callback.last_attempt_by_id).where(Callback.status == "open")
            .order_by(func.coalesce(Call.started_at, Callback.created_at), Callback.id)).all()
        return [{"id": cb.id, "call_id": call.id, "caller_number": caller_number(platform, actor, call),
                 "caller_location": call.caller_location, "queue": call.queue,
                 "started_at": call.started_at.isoformat(sep=" ") if call.started_at else None,
                 "hold_seconds": call.hold_seconds, "attempts": cb.attempts, "outcome": cb.outcome,
                 "outcome_label": CALLBACK_OUTCOMES.get(cb.outcome or "", ""),
                 "last_attempt_at": cb.last_attempt_at.isoformat(sep=" ") if cb.last_attempt_at else None,
                 "last_attempt_by": by} for cb, call, by in rows]


def record_callback_attempt(platform: Platform, actor: Actor, callback_id: int, outcome: str) -> dict[str, Any]:
    """Record one calling back (who, when, 接通/未接/空号); 接通 and 空号 take it off the list."""
    _require_agent(actor)
    if outcome not in CALLBACK_OUTCOMES:
        raise Invalid("提交的内容有误", {"outcome": "回呼结果只能是接通、未接或空号"})
    with platform.db.unit_of_work() as session:
        callback = session.scalar(select(Callback).where(Callback.id == callback_id).with_for_update())
        if callback is None:
            raise NotFound("回呼记录不存在")
        if callback.status != "open":
            raise Conflict("该回呼已处理完毕")
        now = platform.clock.now()
        callback.attempts += 1
        callback.outcome, callback.last_attempt_at, callback.last_attempt_by_id = outcome, now, actor.user_id
        if outcome in FINAL_CALLBACK_OUTCOMES:
            callback.status = "done"
        session.add(CallbackAttempt(callback_id=callback.id, outcome=outcome, by_id=actor.user_id, at=now))
        audit.record(session, platform, actor, "callback.attempted",
                     detail={"callback_id": callback.id, "call_id": callback.call_id, "outcome": outcome})
        session.commit()
        return {"id": callback.id, "status": callback.status, "attempts": callback.attempts, "outcome": outcome}
