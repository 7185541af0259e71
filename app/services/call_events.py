"""Ingestion of the bridge's call outcomes: store each once, fold it into the call, act on it.

`record_event` is idempotent: a call is keyed by (pbx_id, linkedid) and an outcome by
(pbx_id, linkedid, kind), so a duplicate post, a replay after reconnect or a second bridge on the
same PBX finds its key taken and creates nothing. Concurrent duplicates collide on the unique
constraint; the loser retries and reads what the winner wrote. A voicemail's case is registered in
its own transaction with an Idempotency-Key of the call, so an interrupted post finishes on retry.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import geocoder
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.domain.identity import InvalidPhone, normalise_phone
from app.domain.intake import LIMITS
from app.errors import Invalid, NotPermitted
from app.models import Call, Callback, CallOutcome, User
from app.services import intake
from app.services.actors import Actor
from app.services.cases import RequesterInput
from app.services.platform import Platform
from app.services.recordings import SAFE_NAME
from app.services.settings import get_setting

KINDS = ("answered", "abandoned", "voicemail", "recording", "ended")
# The centre's machine actor: registers voicemail cases, whichever bridge's token posted them.
TELEPHONY = Actor(label="telephony", scope="calls", permissions=frozenset({"case.create"}))
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


NAME_MAX = LIMITS["requester.name"][1]  # a PBX caller name longer than a requester's must not lose the message


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
                            requester=RequesterInput(name=(name or "").strip()[:NAME_MAX] or "来电人", phone=phone))
    return intake.register_case(platform, TELEPHONY, data,
                                idempotency_key=f"call:{event.pbx_id}:{event.linkedid}:voicemail")


def _link_case(platform: Platform, call_id: int, case_id: int) -> int | None:
    with platform.db.unit_of_work() as session:
        session.execute(update(Call).where(Call.id == call_id, Call.case_id.is_(None))
                        .values(case_id=case_id, updated_at=platform.clock.now()))
        session.commit()
        return session.scalar(select(Call.case_id).where(Call.id == call_id))

