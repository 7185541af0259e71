"""Telephony use cases: the bridge's call outcomes, the screen pop, the 回呼 list and recordings.

`record_event` is idempotent: a call is keyed by (pbx_id, linkedid) and an outcome by
(pbx_id, linkedid, kind), so a duplicate post, a replay after reconnect or a second bridge on the
same PBX finds its key taken and creates nothing. Concurrent duplicates collide on the unique
constraint; the loser retries and reads what the winner wrote. A voicemail's case is registered in
its own transaction with an Idempotency-Key of the call, so an interrupted post finishes on retry.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import phonenumbers
from phonenumbers import geocoder
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.domain.identity import InvalidPhone, normalise_phone
from app.domain.masking import mask_phone
from app.errors import Conflict, Invalid, NotFound, NotPermitted
from app.models import Call, Callback, CallbackAttempt, CallOutcome, Case, Unit, User
from app.services import audit, intake
from app.services.actors import Actor
from app.services.cases import RequesterInput, find_case
from app.services.platform import Platform
from app.services.scope import visible_cases
from app.services.settings import get_setting
from app.settings import Settings

KINDS = ("answered", "abandoned", "voicemail", "recording", "ended")
CALLBACK_OUTCOMES = {"connected": "接通", "no_answer": "未接", "invalid_number": "空号"}
FINAL_CALLBACK_OUTCOMES = {"connected", "invalid_number"}  # no point calling a 空号 again
# The centre's machine actor: registers voicemail cases, whichever bridge's token posted them.
TELEPHONY = Actor(label="telephony", scope="calls", permissions=frozenset({"case.create"}))
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,119}")  # a pbx_id or a recording's file name
_EXTENSION = re.compile(r"^[^/]+/([^@/;]+)")
_RETRIES = 3


@dataclass(frozen=True)
class CallEvent:
    """One outcome as the bridge posts it (times timezone-aware, as sent)."""

    pbx_id: str
    linkedid: str
    kind: str
    caller_number: str | None = None
    caller_name: str | None = None
    queue: str | None = None
    agent_interface: str | None = None
    agent_member_name: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    hold_seconds: int | None = None
    talk_seconds: int | None = None
    position: int | None = None
    original_position: int | None = None
    recording_file: str | None = None
    voicemail_file: str | None = None


def record_event(platform: Platform, actor: Actor, event: CallEvent) -> dict[str, Any]:
    """Store one outcome once and act on it; answers what it created (`duplicate` when nothing)."""
    if actor.scope != "calls":
        raise NotPermitted("只有电话网关令牌可以上报来电")
    if event.kind not in KINDS:
        raise Invalid("提交的内容有误", {"kind": "未知的来电结果"})
    if not SAFE_NAME.fullmatch(event.pbx_id) or ".." in event.pbx_id:
        raise Invalid("提交的内容有误", {"pbx_id": "只能包含字母、数字、点、下划线和连字符"})
    result = _record_with_retry(platform, actor, event)
    if result.pop("needs_case"):
        case = _register_voicemail(platform, result["call_id"], event)
        result["case_id"] = _link_case(platform, result["call_id"], case["id"])
        if not result["duplicate"]:
            result["created"].append("case")
    return result


def _record_with_retry(platform: Platform, actor: Actor, event: CallEvent) -> dict[str, Any]:
    for attempt in range(_RETRIES):
        try:
            with platform.db.unit_of_work() as session:
                result = _record(session, platform, actor, event)
                session.commit()
                return result
        except IntegrityError:  # a concurrent post of the same call or outcome won: read its rows
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _record(session: Session, platform: Platform, actor: Actor, event: CallEvent) -> dict[str, Any]:
    now = platform.clock.now()
    created: list[str] = []
    call = session.scalar(select(Call).where(Call.pbx_id == event.pbx_id, Call.linkedid == event.linkedid))
    if call is None:
        call = Call(pbx_id=event.pbx_id, linkedid=event.linkedid, created_at=now, updated_at=now)
        session.add(call)
        session.flush()
        created.append("call")
    seen = session.scalar(select(CallOutcome.id).where(
        CallOutcome.pbx_id == event.pbx_id, CallOutcome.linkedid == event.linkedid, CallOutcome.kind == event.kind))
    if seen is None:
        payload = {k: v for k, v in asdict(event).items() if k not in ("caller_number", "caller_name")}
        session.add(CallOutcome(pbx_id=event.pbx_id, linkedid=event.linkedid, kind=event.kind, call_id=call.id,
                                received_at=now, received_from=actor.label[:80],
                                payload={k: v.isoformat() if isinstance(v, datetime) else v
                                         for k, v in payload.items()}))
        session.flush()
        created.append("outcome")
        _merge(session, platform, call, event)
        created += _act_on(session, platform, call, event.kind)
        call.updated_at = now
    callback = session.scalar(select(Callback).where(Callback.call_id == call.id))
    draft = session.get(User, call.draft_for_user_id) if call.draft_for_user_id else None
    return {"call_id": call.id, "kind": event.kind, "duplicate": seen is not None, "created": created,
            "outcome": call.outcome, "case_id": call.case_id, "callback_id": callback.id if callback else None,
            "draft_for": draft.staff_no if draft else None,
            "needs_case": event.kind == "voicemail" and call.case_id is None}


def _merge(session: Session, platform: Platform, call: Call, event: CallEvent) -> None:
    """Fold the snapshot into the call: known values fill in, nothing known is erased."""
    c = platform.cipher
    if event.caller_number and call.caller_number_enc is None:
        call.caller_number_enc = c.encrypt(event.caller_number, "call.caller_number")
        call.caller_number_hash = c.search_hash(_normal_number(event.caller_number), "call.caller_number")
        call.caller_location = caller_location(event.caller_number)
    if event.caller_name and call.caller_name_enc is None:
        call.caller_name_enc = c.encrypt(event.caller_name[:60], "call.caller_name")
    for name in ("queue", "agent_interface", "agent_member_name", "hold_seconds", "talk_seconds",
                 "recording_file", "voicemail_file"):
        value = getattr(event, name)
        if value is not None:
            setattr(call, name, value[:400] if isinstance(value, str) else value)
    for name in ("started_at", "answered_at", "ended_at"):
        value = getattr(event, name)
        if value is not None:
            setattr(call, name, _local(value))
    if call.agent_id is None and call.agent_interface:
        call.agent_id = _agent_for(session, call.agent_interface)
    call.merge_outcome(event.kind)


def _act_on(session: Session, platform: Platform, call: Call, kind: str) -> list[str]:
    """An answer opens a draft case for the agent; an abandon goes on the 回呼 list."""
    if kind == "answered" and call.draft_for_user_id is None and call.agent_id is not None:
        call.draft_for_user_id = call.agent_id
        return ["draft"]
    if kind == "abandoned" and session.scalar(select(Callback.id).where(Callback.call_id == call.id)) is None:
        session.add(Callback(call_id=call.id, created_at=platform.clock.now()))
        session.flush()
        return ["callback"]
    return []


def _local(at: datetime) -> datetime:
    """The bridge sends UTC; every time in the database is local wall-clock."""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


def _agent_for(session: Session, interface: str) -> int | None:
    """The staff member at a queue member interface or extension, from `telephony.agent_map`."""
    mapping = get_setting(session, "telephony.agent_map")
    if not isinstance(mapping, dict):
        return None
    keys = [interface]
    if match := _EXTENSION.match(interface):
        keys.append(match.group(1))
    for key in keys:
        if staff_no := mapping.get(key):
            user_id = session.scalar(select(User.id).where(User.staff_no == str(staff_no), User.active))
            if user_id is not None:
                return user_id
    return None


def _normal_number(number: str) -> str:
    try:
        return normalise_phone(number)
    except InvalidPhone:
        return "".join(number.split())


def caller_location(number: str | None) -> str | None:
    """归属地: phonenumbers' Chinese geocoder, or the offline `phone` table for newer mobile prefixes."""
    if not number:
        return None
    normal = _normal_number(number).replace("-", "")
    try:
        parsed = phonenumbers.parse(normal, "CN")
        place = geocoder.description_for_number(parsed, "zh") if phonenumbers.is_valid_number(parsed) else ""
    except phonenumbers.NumberParseException:
        place = ""
    if place and place != "中国":
        return place[:60]
    if re.fullmatch(r"1[3-9]\d{9}", normal) and (found := _phone_table().find(normal)):
        province, city = found.get("province") or "", found.get("city") or ""
        return (province if province == city else province + city)[:60] or None
    return place or None


@lru_cache(maxsize=1)
def _phone_table() -> Any:
    import phone  # the offline 手机号段 table, loaded once

    return phone.Phone()


def _register_voicemail(platform: Platform, call_id: int, event: CallEvent) -> dict[str, Any]:
    """Register the voicemail as a case for the centre; the Idempotency-Key makes it once per call."""
    with platform.db.reading() as session:
        call = session.get_one(Call, call_id)
        number = platform.cipher.decrypt(call.caller_number_enc, "call.caller_number")
        name = platform.cipher.decrypt(call.caller_name_enc, "call.caller_name")
        kind = str(get_setting(session, "telephony.voicemail_kind"))
        file = call.voicemail_file or ""
    try:
        phone = normalise_phone(number) if number else None
    except InvalidPhone:
        phone = None  # an internal or withheld number: the case is still registered, without a phone
    data = intake.CaseInput(kind=kind, channel="phone", subject="电话留言", content=f"留言录音:{file}",
                            requester=RequesterInput(name=name or "来电人", phone=phone))
    return intake.register_case(platform, TELEPHONY, data,
                                idempotency_key=f"call:{event.pbx_id}:{event.linkedid}:voicemail")


def _link_case(platform: Platform, call_id: int, case_id: int) -> int | None:
    with platform.db.unit_of_work() as session:
        session.execute(update(Call).where(Call.id == call_id, Call.case_id.is_(None))
                        .values(case_id=case_id, updated_at=platform.clock.now()))
        session.commit()
        return session.scalar(select(Call.case_id).where(Call.id == call_id))


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
        found = intake.earlier_cases_of(session, platform, RequesterInput(name="", phone=number),
                                        int(get_setting(session, "dedupe.lookback_days")))
    except Invalid:
        return []  # not a number a requester could have given
    visible = set(session.scalars(select(Case.id).where(Case.id.in_([c.id for c in found]), visible_cases(actor))))
    return [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
             "created_at": c.created_at.isoformat()} for c in found if c.id in visible]


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


# — the 回呼 list ———————————————————————————————————————————————————————————————————————————

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


# — recordings ——————————————————————————————————————————————————————————————————————————————

def recordings_dir(settings: Settings) -> Path:
    """RECORDINGS_DIR (the PBX's monitor and voicemail files, synced per PBX), else INSTANCE_PATH/recordings."""
    configured = getattr(settings, "RECORDINGS_DIR", "") or settings.extra.get("RECORDINGS_DIR")
    return Path(str(configured)) if configured else Path(settings.INSTANCE_PATH) / "recordings"


def recording_path(root: Path, pbx_id: str, name: str) -> Path:
    """root/pbx_id/name, built only from plain names: no separators, no '..', nothing outside root."""
    for part in (pbx_id, name):
        if not SAFE_NAME.fullmatch(part) or ".." in part:
            raise NotFound("录音不存在")
    base = root.resolve()
    path = (base / pbx_id / name).resolve()
    if not path.is_relative_to(base):  # a symlink pointing out
        raise NotFound("录音不存在")
    return path


def recording_name(reported: str) -> str:
    """The file name of a path on the PBX; a voicemail message file (msg0001) is stored as .wav."""
    name = PurePosixPath(reported.replace("\\", "/")).name
    return name if "." in name.lstrip(".") else name + ".wav"


def recording_for(platform: Platform, actor: Actor, call_id: int) -> Path:
    """The call's recording for a reader of its case (or the agent who answered it); each play is audited."""
    with platform.db.unit_of_work() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound("录音不存在")
        if call.case_id is not None:
            find_case(session, actor, call.case_id)
        elif actor.user_id is None or call.draft_for_user_id != actor.user_id:
            raise NotFound("录音不存在")
        reported = call.recording_file or call.voicemail_file
        if not reported:
            raise NotFound("该来电没有录音")
        path = recording_path(recordings_dir(platform.settings), call.pbx_id, recording_name(reported))
        if not path.is_file():
            raise NotFound("录音文件尚未同步到平台")
        audit.record(session, platform, actor, "call.recording_played", case_id=call.case_id,
                     detail={"call_id": call.id})
        session.commit()
        return path
