"""Reading calls: the filtered call list and the call-centre figures (接通率, 15秒接通率, waits, talk).

Figures, per group and in total:
offered   every call the bridge reported (呼入量);
answered  calls whose outcome is `answered`; abandoned: `abandoned` (漏话);
answer_rate      answered / offered (接通率);
answer_rate_15s  calls answered after at most 15 s in the queue / offered (15秒接通率);
avg_wait_seconds mean time in queue over calls that waited (answered or abandoned);
avg_talk_seconds mean talk time over answered calls.

Only staff of the centre itself read calls: a unit below it sees its cases, never the hotline's callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotPermitted
from app.models import Call, Callback, Case, User
from app.services.actors import Actor
from app.services.calls import at_centre, caller_number
from app.services.platform import Platform
from app.services.scope import visible_cases

SERVICE_LEVEL_SECONDS = 15
OUTCOMES = ("answered", "abandoned", "voicemail", "missed")
GROUPS = ("day", "queue", "agent")
READER_ROLES = frozenset({"agent", "dispatcher", "leader"})  # at the centre
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class CallFilter:
    linkedid: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    queue: str | None = None
    agent: str | None = None  # 工号
    page: int = 1
    per_page: int = 50


def _require_centre_reader(session: Session, actor: Actor) -> None:
    if not actor.roles & READER_ROLES or not at_centre(session, actor):
        raise NotPermitted("只有热线中心的话务员、派单员和领导可以查看来电记录")


def _when() -> ColumnElement[datetime]:
    return func.coalesce(Call.started_at, Call.created_at)


def _filtered(query: Q, f: CallFilter) -> Q:
    if f.outcome is not None and f.outcome not in OUTCOMES:
        raise Invalid("提交的内容有误", {"outcome": "只能是 answered、abandoned、voicemail 或 missed"})
    if f.linkedid:
        query = query.where(Call.linkedid == f.linkedid)
    if f.outcome:
        query = query.where(Call.outcome == f.outcome)
    if f.date_from:
        query = query.where(_when() >= datetime.combine(f.date_from, time()))
    if f.date_to:
        query = query.where(_when() < datetime.combine(f.date_to + timedelta(days=1), time()))
    if f.queue:
        query = query.where(Call.queue == f.queue)
    if f.agent:
        query = query.where(Call.agent_id.in_(select(User.id).where(User.staff_no == f.agent)))
    return query


def list_calls(platform: Platform, actor: Actor, f: CallFilter) -> dict[str, Any]:
    """Calls newest first; a linked case and the whole caller's number only as far as the reader may see."""
    with platform.db.reading() as session:
        _require_centre_reader(session, actor)
        total = session.scalar(_filtered(select(func.count(Call.id)), f)) or 0
        rows = session.execute(
            _filtered(select(Call, User.staff_no, User.name, Callback, Case.number), f)
            .outerjoin(User, User.id == Call.agent_id).outerjoin(Callback, Callback.call_id == Call.id)
            .outerjoin(Case, Case.id == Call.case_id)
            .order_by(_when().desc(), Call.id.desc()).limit(f.per_page).offset((f.page - 1) * f.per_page)).all()
        linked = [call.case_id for call, *_ in rows if call.case_id is not None]
        visible = set(session.scalars(select(Case.id).where(Case.id.in_(linked), visible_cases(actor))))
        items = [_item(platform, actor, call, {"staff_no": staff_no, "name": name} if staff_no else None, callback,
                       number if call.case_id in visible else None) for call, staff_no, name, callback, number in rows]
    return {"items": items, "total": total, "page": f.page, "per_page": f.per_page}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _item(platform: Platform, actor: Actor, call: Call, agent: dict[str, str] | None, callback: Callback | None,
          case_number: str | None) -> dict[str, Any]:
    """One call as the reader sees it; `case_number` is None unless the reader may see the linked case."""
    shown = call.case_id is None or case_number is not None
    return {
        "id": call.id, "pbx_id": call.pbx_id, "linkedid": call.linkedid,
        "caller_number": caller_number(platform, actor, call, shown), "caller_location": call.caller_location,
        "queue": call.queue, "agent_interface": call.agent_interface,
        "agent": agent,
        "started_at": _iso(call.started_at), "answered_at": _iso(call.answered_at), "ended_at": _iso(call.ended_at),
        "hold_seconds": call.hold_seconds, "talk_seconds": call.talk_seconds,
        "recording": f"/calls/{call.id}/recording" if call.recording_file or call.voicemail_file else None,
        "outcome": call.outcome,
        "has_case": call.case_id is not None,
        "case": {"id": call.case_id, "number": case_number} if case_number is not None else None,
        "callback": {"id": callback.id, "status": callback.status, "attempts": callback.attempts,
                     "outcome": callback.outcome} if callback else None,
        "draft_pending": call.draft_for_user_id is not None and call.case_id is None and call.taken_at is None,
    }


def call_stats(platform: Platform, actor: Actor, by: str, f: CallFilter) -> dict[str, Any]:
    """The figures per day, queue or agent over the filtered calls, and in total."""
    if by not in GROUPS:
        raise Invalid("提交的内容有误", {"by": "只能是 day、queue 或 agent"})
    key: Any = {"day": func.date(_when()), "queue": Call.queue, "agent": User.staff_no}[by]
    with platform.db.reading() as session:
        _require_centre_reader(session, actor)
        grouped = _figures(f, key, by == "agent").group_by(key)
        rows = [{"key": None if k is None else str(k), **_rates(v)} for k, *v in session.execute(grouped)]
        rows.sort(key=lambda r: (r["key"] is None, r["key"] or ""))  # no queue / no agent last, on both databases
        total = session.execute(_figures(f, None, False)).one()
    return {"by": by, "rows": rows, "total": _rates(list(total))}


def _figures(f: CallFilter, key: Any, join_agent: bool) -> Select[*tuple[Any, ...]]:
    answered = Call.outcome == "answered"
    columns = [
        func.count(Call.id),
        func.sum(case((answered, 1), else_=0)),
        func.sum(case((Call.outcome == "abandoned", 1), else_=0)),
        func.sum(case((and_(answered, Call.hold_seconds <= SERVICE_LEVEL_SECONDS), 1), else_=0)),
        func.avg(case((Call.outcome.in_(("answered", "abandoned")), Call.hold_seconds), else_=None)),
        func.avg(case((answered, Call.talk_seconds), else_=None)),
    ]
    query = select(*([key] if key is not None else []), *columns).select_from(Call)
    if join_agent:
        query = query.outerjoin(User, User.id == Call.agent_id)
    return _filtered(query, f)


def _rates(values: list[Any]) -> dict[str, Any]:
    offered, answered, abandoned, fast, wait, talk = values
    offered, answered, abandoned, fast = (int(v or 0) for v in (offered, answered, abandoned, fast))
    return {"offered": offered, "answered": answered, "abandoned": abandoned,
            "answer_rate": round(answered / offered, 4) if offered else None,
            "answer_rate_15s": round(fast / offered, 4) if offered else None,
            "avg_wait_seconds": round(float(wait), 1) if wait is not None else None,
            "avg_talk_seconds": round(float(talk), 1) if talk is not None else None}
