"""Registering a case: requester, numbers, the process started to its first task, audited — one transaction.

Every registration (API, the intake page, the telephony voicemail, tests) passes `app.domain.intake.check_intake`
first, so the same input gets the same answer. A retried request with the same Idempotency-Key and the same
body answers the first case; the same key with another body is refused (the key is stored with the body's hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain import statuses
from app.domain.intake import IntakeDictionary, IntakeInput, IntakeRefused, check_intake
from app.domain.intake_guards import GuardRule, guard_for, rules_from
from app.domain.masking import SENSITIVE_KINDS
from app.domain.similarity import Appeal
from app.domain.uploads import CheckedUpload
from app.errors import Invalid, NotPermitted
from app.models import AuditEvent, Case, HumanTask, IdempotentRequest, Unit
from app.services import (
    attachments,
    audit,
    calls,
    dictionary,
    duplicates,
    incidents,
    knowledge_desk,
    notify,
    screening,
    versions,
)
from app.services.actors import Actor
from app.services.cases import (
    RequesterInput,
    new_case_identity,
    new_requester,
    task_light,
    worst_light,
)
from app.services.dictionary import STATUS_KIND, status_label
from app.services.platform import Platform
from app.services.scope import find_case, visible_cases
from app.services.settings import get_setting

IDEMPOTENCY_KEY_MAX = 128  # characters; a longer key is refused, never cut (two cut keys would collide)
KEY_REUSED = "Idempotency-Key 已用于另一份诉求"


@dataclass(frozen=True)
class CaseInput:
    """A registration as a service caller writes it; it is checked like any raw input (`as_raw`)."""

    kind: str
    channel: str
    subject: str
    content: str
    requester: RequesterInput
    category: str | None = None
    process: str | None = None
    duplicate_of: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    call_id: int | None = None  # the answered call this registration comes from (the screen pop)
    location: str | None = None  # 事发地点: where the matter is

    def as_raw(self) -> dict[str, Any]:
        """The same input in the API's JSON shape."""
        r = self.requester
        raw = {"kind": self.kind, "channel": self.channel, "category": self.category, "subject": self.subject,
               "content": self.content, "process": self.process, "duplicate_of": self.duplicate_of,
               "call_id": self.call_id, "location": self.location,
               "requester": {"name": r.name, "phone": r.phone, "id_number": r.id_number, "address": r.address}}
        return {k: v for k, v in raw.items() if v is not None}


def register_case(platform: Platform, actor: Actor, data: CaseInput,
                  idempotency_key: str | None = None) -> dict[str, Any]:
    """Create the case and start its process; answers the case summary (the first one on a retry)."""
    return register(platform, actor, data.as_raw(), idempotency_key, extra=data.extra)


def register(platform: Platform, actor: Actor, raw: Mapping[str, Any], idempotency_key: str | None = None, *,
             extra: Mapping[str, Any] | None = None, files: Sequence[CheckedUpload] = (),
             source: str = "api") -> dict[str, Any]:
    """Check the raw input (API JSON shape) with the one intake validator, then register it.

    Answers the case summary with `notices` (accepted, but worth telling: a service number takes no SMS)
    and `guard` (an emergency or a matter for another channel: recorded with the answer, not dispatched);
    Invalid carries {field: Chinese message}, the fields dotted as in the API (`requester.phone`).
    `files` (checked by app.services.attachments.checked) are stored with the case; a replay stores none.
    """
    if not actor.can("case.create"):
        raise NotPermitted("没有登记诉求件的权限")
    key = _stored_key(actor, idempotency_key)
    body_hash = _body_hash({**raw, "_files": [f.sha256 for f in files]} if files else raw)
    try:
        with platform.db.unit_of_work() as session:
            data = _checked(session, platform, raw)
            words = dictionary.status_labels(session)  # read with the intake lists: the receipt names the status
            if key:
                _hold_key(session, key)
            if key and (earlier := session.get(IdempotentRequest, key)) is not None:
                return _replay(session, platform, actor, earlier, body_hash, data)
            tasks: tuple[HumanTask, ...]
            guard = None if data.screened else guard_for(
                (data.subject, data.content), rules_from(get_setting(session, "intake.guards")), data.kind)
            if guard is not None:
                case, version, tasks = _record_guarded(session, platform, actor, data, guard), 0, ()
            else:
                case, version, tasks = _register(session, platform, actor, data, dict(extra or {}))
            screening.screen_case(session, platform, case)  # 矛盾纠纷排查: the keywords of its text
            attachments.store(session, platform, actor, case, files, source)
            if key:
                session.add(IdempotentRequest(key=key, case_id=case.id, body_hash=body_hash,
                                              created_at=platform.clock.now()))
            session.flush()
            found = _judged(session, platform, actor, case, data)
            result = registration_receipt(session, case, platform.clock.now(), tasks, words) | {
                "notices": data.notices, "guard": _guard_detail(guard), "duplicates": found}
            # Last, so the audit chain's lock is held only for the commit.
            audit.record(session, platform, actor, "case.registered", case_id=case.id,
                         detail={"number": case.number, "kind": data.kind, "channel": data.channel,
                                 "process": case.process_key, "version": version,
                                 "duplicate_of": data.duplicate_of, "direct_reply": data.direct_reply,
                                 "knowledge_entry": data.knowledge_entry,
                                 "source": source, "screened": data.screened,
                                 "guard": _guard_detail(guard),
                                 "dedupe": found.pop("_recorded")})
            session.commit()
            return result
    except IntegrityError:
        if not key:
            raise
        with platform.db.reading() as session:  # a concurrent retry won the race: answer its case
            earlier = session.get(IdempotentRequest, key)
            if earlier is None:
                raise
            return _replay(session, platform, actor, earlier, body_hash, _checked(session, platform, raw))


def _judged(session: Session, platform: Platform, actor: Actor, case: Case, data: IntakeInput) -> dict[str, Any]:
    """判重 at every intake: index the new case, judge it against every earlier case; the caller is shown the
    candidates they may see, the audit event records the best three (ids and scores) for later readers."""
    appeal = duplicates.index_case(session, case, new=True)
    return _finding(session, platform, actor, case, data, appeal)


def _finding(session: Session, platform: Platform, actor: Actor, case: Case, data: IntakeInput,
             appeal: Appeal | None = None) -> dict[str, Any]:
    """The case judged against the cases registered before it (so a replay answers what the first call did)."""
    r = data.requester
    finding = duplicates.find(session, platform, duplicates.Draft(
        content=case.content, subject=case.subject, location=case.location, category=case.category,
        phone=r.phone, id_number=r.id_number), visible=Case.id < case.id, exclude=case.id, seen=visible_cases(actor),
        appeal=appeal)
    return {"candidates": [c.as_json() for c in finding.candidates if c.seen],
            "is_duplicate": finding.is_duplicate and bool(finding.candidates) and finding.candidates[0].seen,
            "_recorded": [{"case_id": c.case_id, "score": c.score} for c in finding.candidates[:3]]}


def _hold_key(session: Session, key: str) -> None:
    """Make concurrent requests with one key wait for each other before a 受理号 is drawn: the second then
    replays the first's case instead of drawing a serial and losing the key's race (a skipped 受理号).
    PostgreSQL: a transaction-level advisory lock on the key's hash; SQLite serializes writers already."""
    if session.get_bind().dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(f"intake:{key}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})


def _stored_key(actor: Actor, idempotency_key: str | None) -> str | None:
    """The caller's key, namespaced by the caller; an over-long key is refused, never cut."""
    if not idempotency_key:
        return None
    if len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        message = f"Idempotency-Key 最长 {IDEMPOTENCY_KEY_MAX} 个字符"
        raise Invalid(message, {"Idempotency-Key": message})
    return f"{actor.label}:{idempotency_key}"


def _body_hash(raw: Mapping[str, Any]) -> str:
    """SHA-256 of the body in a canonical form: key order and spacing do not make another body."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _replay(session: Session, platform: Platform, actor: Actor, earlier: IdempotentRequest, body_hash: str,
            data: IntakeInput) -> dict[str, Any]:
    """The first case for the same body; another body under the same key is refused."""
    if earlier.body_hash is not None and earlier.body_hash != body_hash:
        raise Invalid(KEY_REUSED, {"Idempotency-Key": KEY_REUSED})
    found = session.get_one(Case, earlier.case_id)
    judged = _finding(session, platform, actor, found, data)
    judged.pop("_recorded")
    return registration_receipt(session, found, platform.clock.now()) | {"notices": data.notices,
                                                                         "duplicates": judged}


def _sensitivity(data: IntakeInput) -> str:
    """A 举报 protects its accuser (条例 art. 30); any requester may ask for the same (confidential)."""
    return "sensitive" if data.kind in SENSITIVE_KINDS or data.confidential else "normal"


def _guard_detail(guard: GuardRule | None) -> dict[str, str] | None:
    return None if guard is None else {"code": guard.code, "action": guard.action, "answer": guard.answer}


def _record_guarded(session: Session, platform: Platform, actor: Actor, data: IntakeInput, guard: GuardRule) -> Case:
    """An emergency or a matter for another channel: the case is kept (numbered, the requester answered),
    with status transferred / redirected and no process: nothing is dispatched."""
    r = data.requester
    centre = _registering_unit(session, actor)
    requester = new_requester(session, platform, RequesterInput(name=r.name, phone=r.phone, id_number=r.id_number,
                                                                address=r.address))
    number, query_code = new_case_identity(session, platform)
    now = platform.clock.now()
    case = Case(number=number, query_code=query_code, kind=data.kind, channel=data.channel, category=data.category,
                subject=data.subject, content=data.content, requester=requester,
                status=statuses.TRANSFERRED if guard.action == "emergency" else statuses.REDIRECTED,
                process_key=None, registering_unit_id=centre, area_unit_id=data.area, location=data.location,
                location_lat=data.point[0] if data.point else None,
                location_lng=data.point[1] if data.point else None, created_by_id=actor.user_id,
                sensitivity=_sensitivity(data), created_at=now, closed_at=now)
    session.add(case)
    session.flush()
    if data.call_id is not None:
        calls.link_call(session, platform, actor, data.call_id, case)
    notify.case_registered(session, platform, case)
    return case


INTAKE_LISTS = ("kind", "channel", "category", STATUS_KIND)  # read in one statement: the check and the receipt


def intake_dictionary(session: Session) -> IntakeDictionary:
    """The active kinds, channels and categories (with which are leaves of the tree), for the validator; the
    lists come with the status words the receipt names, in one statement (`dictionary.preload`)."""
    dictionary.preload(session, *INTAKE_LISTS)
    kinds = {e.code: e.label for e in dictionary.entries(session, "kind") if e.active}
    channels = {e.code: e.label for e in dictionary.entries(session, "channel") if e.active}
    categories = [e for e in dictionary.entries(session, "category") if e.active]
    children: dict[int | None, list[int]] = {}
    for r in categories:
        children.setdefault(r.parent_id, []).append(r.id)
    reachable, stack = set(), list(children.get(None, []))  # a child of an inactive entry is not choosable
    while stack:
        node = stack.pop()
        reachable.add(node)
        stack.extend(children.get(node, []))
    return IntakeDictionary(kinds=kinds, channels=channels,
                            categories={r.code: r.id not in children for r in categories if r.id in reachable})


def _checked(session: Session, platform: Platform, raw: Mapping[str, Any]) -> IntakeInput:
    try:
        return check_intake(raw, intake_dictionary(session), platform.clock.now().date())
    except IntakeRefused as e:
        raise Invalid("登记信息有误，请按提示修改", e.errors) from e


AREA_KINDS = ("district", "street")


def _check_area(session: Session, area: int | None) -> None:
    """The area is a district or street of the unit tree (the 派单目录 matches on it)."""
    if area is None:
        return
    unit = session.get(Unit, area)
    if unit is None or unit.kind not in AREA_KINDS:
        message = f"区域无效:{area} 不是单位树中的区县或街道"
        raise Invalid(message, {"area": message})


def _register(session: Session, platform: Platform, actor: Actor, data: IntakeInput,
              extra: dict[str, Any]) -> tuple[Case, int, tuple[HumanTask, ...]]:
    """The case and its process started; answers it, the definition's version and the ready tasks."""
    r = data.requester
    requester_in = RequesterInput(name=r.name, phone=r.phone, id_number=r.id_number, address=r.address)
    _refuse_terminated_matter(session, platform, requester_in, data.category)
    original = None
    if data.duplicate_of is not None:
        original = find_case(session, actor, data.duplicate_of)  # must exist and be visible
    _check_area(session, data.area)
    centre = _registering_unit(session, actor)
    requester = new_requester(session, platform, requester_in)
    number, query_code = new_case_identity(session, platform)
    key = data.process or _process_for(session, data)
    definition = versions.latest_definition(session, key)
    case = Case(number=number, query_code=query_code, kind=data.kind, channel=data.channel,
                category=data.category, subject=data.subject, content=data.content, requester=requester,
                status=statuses.REGISTERED, process_key=definition.key, registering_unit_id=centre,
                duplicate_of_id=data.duplicate_of, area_unit_id=data.area, location=data.location,
                location_lat=data.point[0] if data.point else None,
                location_lng=data.point[1] if data.point else None, created_by_id=actor.user_id,
                sensitivity=_sensitivity(data),
                created_at=platform.clock.now())
    session.add(case)
    session.flush()
    if data.call_id is not None:
        calls.link_call(session, platform, actor, data.call_id, case)
    # A process that fails to start keeps the case as an incident (None): an appeal is never lost to a definition.
    change = incidents.start_process(session, platform, case, definition, {
        "case_id": case.id, "case_number": number, "kind": data.kind, "channel": data.channel,
        "category": data.category, "centre_unit_id": centre, "lead_unit_id": None,
        "assisting_unit_ids": [], "duplicate_of": data.duplicate_of, "direct_reply": data.direct_reply,
        **extra,
    })
    session.flush()
    if original is not None:  # 重复件: the requester is told the original's progress (with this case's numbers)
        notify.duplicate_linked(session, platform, case, original)
    else:
        notify.case_registered(session, platform, case)
    if change is not None:
        notify.process_ran(session, platform, case, change)
    if data.direct_reply is not None:
        _check_direct_reply(case)
        if data.knowledge_entry is not None:
            knowledge_desk.record_answer(session, platform, actor, case, data.knowledge_entry)
        notify.directly_replied(session, platform, case)
    return case, definition.version, change.new_tasks if change is not None else ()


def _check_direct_reply(case: Case) -> None:
    """直接答复 is a path of the process (a gateway on `direct_reply`): a process without one (a petition)
    would leave the answer unused, so the registration is refused rather than half done."""
    if case.status != statuses.CLOSED:
        message = "该诉求件的办理流程没有直接答复环节,请不填直接答复、登记后按流程受理"
        raise Invalid(message, {"direct_reply": message})


def _refuse_terminated_matter(session: Session, platform: Platform, r: RequesterInput,
                              category: str | None) -> None:
    """三级终结 (信访工作条例 art. 36 ¶3): the same matter by the same person is not accepted again."""
    if message := duplicates.terminated_matter(session, platform, r, category):
        raise Invalid(message, {"category": message})


def _registering_unit(session: Session, actor: Actor) -> int:
    """The registering unit's id: the actor's own (a user's unit always exists), else the root of the tree."""
    if actor.unit_id is not None:
        return actor.unit_id
    centre = session.scalar(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    if centre is None:
        raise Invalid("尚未建立单位,无法登记")
    return centre


def _process_for(session: Session, data: IntakeInput) -> str:
    if data.channel in get_setting(session, "intake.petition_channels"):
        return str(get_setting(session, "process.petition"))
    return str(get_setting(session, "process.hotline"))


def guard_answer(session: Session, case: Case) -> dict[str, str] | None:
    """The intake guard's answer a transferred / redirected case was given ({code, action, answer}), or None."""
    if case.status not in (statuses.TRANSFERRED, statuses.REDIRECTED):
        return None
    detail = session.scalar(select(AuditEvent.detail).where(AuditEvent.case_id == case.id,
                                                            AuditEvent.action == "case.registered").limit(1))
    guard = (detail or {}).get("guard")  # none yet while registering: register() answers it itself
    return guard if isinstance(guard, dict) else None


def registration_receipt(session: Session, case: Case, now: datetime, tasks: Sequence[HumanTask] | None = None,
                         status_words: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the caller gets back: numbers, status, the nearest due time and its light (`tasks`: the case's
    ready tasks when the caller has them in hand, as a registration does; `status_words`: the status labels
    read before the registration wrote, so they are not read again)."""
    if tasks is None:
        tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id,
                                                             HumanTask.state == "ready")))
    tasks = [t for t in tasks if t.state == "ready"]
    guard = guard_answer(session, case)
    return {"id": case.id, "number": case.number, "query_code": case.query_code, "status": case.status,
            "status_label": (status_words.get(case.status) or case.status if status_words is not None
                             else status_label(session, case.status)), "guard": guard,
            "due_at": case.due_at.isoformat() if case.due_at else None,
            "light": worst_light(task_light(t, now) for t in tasks)}
