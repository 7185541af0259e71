"""A call as agents meet it: the screen pop, the intake form's prefill, linking the call to its case,
and how much of the caller's number a reader may see.

Ingestion of the bridge's outcomes is in `call_events`, the 回呼 list in `callbacks`, playing a
recording in `recordings`, the call list and figures in `call_stats`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.masking import mask_phone
from app.errors import Invalid, NotFound
from app.models import Call, Case, Unit
from app.services import audit, requesters
from app.services.actors import Actor
from app.services.cases import RequesterInput
from app.services.dictionary import status_labels
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.settings import get_setting


def caller_number(platform: Platform, actor: Actor, call: Call, case_visible: bool = True) -> str | None:
    """The caller's number as this reader may see it: whole with case.read_personal (and, once the call
    has a case, only to readers of that case), else masked."""
    number = platform.cipher.decrypt(call.caller_number_enc, "call.caller_number")
    if number is None or (actor.can("case.read_personal") and case_visible):
        return number
    return mask_phone(number)


# — the screen pop —————————————————————————————————————————————————————————————————————————

def pending_pops(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Calls this agent answered and has not yet taken up, oldest first, with earlier cases of the number."""
    if actor.user_id is None:
        return []
    with platform.db.reading() as session:
        hours = int(get_setting(session, "telephony.pop_hours"))
        since = platform.clock.now() - timedelta(hours=hours)
        calls = session.scalars(select(Call).where(
            Call.draft_for_user_id == actor.user_id, Call.taken_at.is_(None), Call.case_id.is_(None),
            Call.created_at >= since).order_by(Call.created_at, Call.id)).all()
        return [{"call_id": c.id, "caller_number": caller_number(platform, actor, c),
                 "caller_location": c.caller_location, "queue": c.queue,
                 "answered_at": c.answered_at.isoformat() if c.answered_at else None,
                 "intake_url": f"/intake?call={c.id}",
                 "earlier_cases": _earlier_cases(session, platform, actor, c)} for c in calls]


def _earlier_cases(session: Session, platform: Platform, actor: Actor, call: Call) -> list[dict[str, Any]]:
    number = platform.cipher.decrypt(call.caller_number_enc, "call.caller_number")
    if not number:
        return []
    try:
        found = requesters.earlier_cases_of(session, platform, RequesterInput(name="", phone=number),
                                        int(get_setting(session, "dedupe.lookback_days")))
    except Invalid:
        return []  # not a number a requester could have given
    visible = set(session.scalars(select(Case.id).where(Case.id.in_([c.id for c in found]), visible_cases(actor))))
    words = status_labels(session)
    return [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
             "status_label": words.get(c.status, c.status), "created_at": c.created_at.isoformat()}
            for c in found if c.id in visible]


def _own_draft(session: Session, actor: Actor, call_id: int) -> Call:
    call = session.get(Call, call_id)
    if call is None or actor.user_id is None or call.draft_for_user_id != actor.user_id:
        raise NotFound("来电不存在")
    return call


def intake_prefill(platform: Platform, actor: Actor, call_id: int) -> dict[str, Any]:
    """What the intake form starts from for an answered call (only for the agent who answered it)."""
    with platform.db.reading() as session:
        call = _own_draft(session, actor, call_id)
        c = platform.cipher
        return {"call_id": call.id, "channel": "phone", "caller_location": call.caller_location,
                "requester": {"name": c.decrypt(call.caller_name_enc, "call.caller_name") or "",
                              "phone": c.decrypt(call.caller_number_enc, "call.caller_number")},
                "case_id": call.case_id}


def mark_call_taken(platform: Platform, actor: Actor, call_id: int) -> None:
    """The agent has opened or dismissed the screen pop: it stops popping up."""
    with platform.db.unit_of_work() as session:
        call = _own_draft(session, actor, call_id)
        if call.taken_at is None:
            call.taken_at = platform.clock.now()
        session.commit()


def link_call(session: Session, platform: Platform, actor: Actor, call_id: int, case: Case) -> None:
    """Record `case` as the one registered from the call, inside the registering transaction.

    Only the agent who answered the call, or an agent at the centre, may link it, and only once.
    """
    call = session.scalar(select(Call).where(Call.id == call_id).with_for_update())
    refusal = _link_refusal(session, actor, call)
    if refusal or call is None:
        raise Invalid(refusal or "来电不存在", {"call_id": refusal or "来电不存在"})
    now = platform.clock.now()
    call.case_id, call.updated_at = case.id, now
    call.taken_at = call.taken_at or now
    audit.record(session, platform, actor, "call.case_linked", case_id=case.id, detail={"call_id": call.id})


def _link_refusal(session: Session, actor: Actor, call: Call | None) -> str | None:
    """Why this actor may not link a new case to the call, or None when it may."""
    if call is None:
        return "来电不存在"
    answered_it = actor.user_id is not None and call.draft_for_user_id == actor.user_id
    if not answered_it and not ("agent" in actor.roles and at_centre(session, actor)):
        return "只有接听该来电的话务员可以为其登记诉求件"
    if call.case_id is not None:
        return "该来电已登记诉求件,不能重复关联"
    return None


def at_centre(session: Session, actor: Actor) -> bool:
    """Whether the actor sits at the centre itself (the root unit), not at a unit below it."""
    unit = session.get(Unit, actor.unit_id) if actor.unit_id is not None else None
    return unit is not None and unit.parent_id is None
