"""Registering and reading cases. Reads check scope (out of scope is 'not found'); reveals are audited."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import lights
from app.domain.lights import Light
from app.domain.masking import mask_address, mask_id_number, mask_name, mask_phone
from app.errors import NotPermitted
from app.models import AuditEvent, Case, HumanTask, Requester, Unit, User
from app.services import audit, e_supervision, notices, scope
from app.services.actors import Actor
from app.services.counters import next_case_serial
from app.services.dictionary import status_label
from app.services.platform import Platform

QUERY_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
QUERY_CODE_LENGTH = 12  # 12 × log2(32) = 60 bits from `secrets`: unguessable within the portal's rate limits


@dataclass(frozen=True)
class RequesterInput:
    name: str
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None


def new_requester(session: Session, platform: Platform, data: RequesterInput) -> Requester:
    """Store a requester with phone and ID number encrypted and a keyed hash of each for exact search."""
    c = platform.cipher
    row = Requester(name=data.name, address_enc=c.encrypt(data.address, "requester.address"),
                    created_at=platform.clock.now(),
                    phone_enc=c.encrypt(data.phone, "requester.phone"),
                    phone_hash=c.search_hash(data.phone, "requester.phone"),
                    id_number_enc=c.encrypt(data.id_number, "requester.id_number"),
                    id_number_hash=c.search_hash(data.id_number, "requester.id_number"))
    session.add(row)
    return row


def new_case_identity(session: Session, platform: Platform) -> tuple[str, str]:
    """A 受理号 (date and a unique serial) and an unguessable 查询码."""
    today = platform.clock.now().strftime("%Y%m%d")
    serial = next_case_serial(session)
    code = "".join(secrets.choice(QUERY_CODE_ALPHABET) for _ in range(QUERY_CODE_LENGTH))
    return f"12345-{today}-{serial:06d}", code


def location_text(case: Case, area_name: str | None) -> str:
    """Where the matter is, as pages and documents print it: the area's name, the free text, the map point."""
    place = case.location or ""
    if area_name and not place.startswith(area_name):  # the text often names its district already
        place = f"{area_name} {place}".strip()
    text = place
    if case.location_lat is not None and case.location_lng is not None:
        text += f"（纬度 {case.location_lat:.6f}，经度 {case.location_lng:.6f}）"
    return text.strip()


def record_denied_read(platform: Platform, actor: Actor, case_id: int) -> None:
    """Audit a read of a case outside the actor's scope, in a transaction of its own (the read itself failed)."""
    with platform.db.unit_of_work() as session:
        audit.record(session, platform, actor, "case.access_denied", case_id=case_id)
        session.commit()


class CaseRows(NamedTuple):
    """The rows a case's views are told from, read once and shared by everything one page shows of it."""

    tasks: list[HumanTask]  # every task of the case (any state), by due time
    workable: frozenset[str]  # the ready ones the reader may work (scope.workable_tasks, asked in the same query)
    events: list[AuditEvent]  # its audit rows, oldest first
    people: dict[str, str]  # 工号 → name of everyone in those rows

    @property
    def ready(self) -> list[HumanTask]:
        return [t for t in self.tasks if t.state == "ready"]


def case_rows(session: Session, actor: Actor, case: Case) -> CaseRows:
    """A case's tasks (with which the reader may work) and its audit trail (with who is who): two queries."""
    found = session.execute(select(HumanTask, scope.workable_tasks(actor).label("workable"))
                            .where(HumanTask.case_id == case.id).order_by(HumanTask.due_at, HumanTask.id)).all()
    rows = session.execute(select(AuditEvent, User.name).outerjoin(User, User.staff_no == AuditEvent.actor)
                           .where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)).all()
    return CaseRows([t for t, _ in found], frozenset(t.id for t, may in found if may and t.state == "ready"),
                    [e for e, _ in rows], {e.actor: name for e, name in rows if name is not None})


def read_case(platform: Platform, actor: Actor, case_id: int, *, reveal: bool = False) -> dict[str, Any]:
    """A case as its reader may see it: personal data masked unless revealed, and every reveal audited."""
    with platform.db.unit_of_work() if reveal else platform.db.reading() as session:
        result = case_view(session, platform, actor, scope.find_case(session, actor, case_id), reveal=reveal)
        if reveal:
            session.commit()
        return result


def case_view(session: Session, platform: Platform, actor: Actor, case: Case, *, reveal: bool = False,
              rows: CaseRows | None = None, with_timeline: bool = True) -> dict[str, Any]:
    """read_case in the caller's session on a case already found (`rows`: its rows, if the caller read them
    to show more of it). A reveal is checked and audited here; the caller commits it."""
    if reveal and not may_see_personal(session, actor, case):
        raise NotPermitted(PROTECTED if case.sensitivity == "sensitive" else "无权查看诉求人完整信息")
    rows = rows or case_rows(session, actor, case)
    lead = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    result = {
        "id": case.id, "number": case.number, "kind": case.kind, "channel": case.channel,
        "category": case.category, "subject": case.subject, "content": case.content,
        "status": case.status, "status_label": status_label(session, case.status),
        "lead_unit": lead.name if lead else None,
        "location": case.location, "area": case.area_unit_id,
        "point": ({"lat": case.location_lat, "lng": case.location_lng}
                  if case.location_lat is not None and case.location_lng is not None else None),
        "created_at": case.created_at.isoformat(),
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "requester": requester_view(platform, case.requester, reveal,
                                    protected=accuser_protected(session, actor, case)),
    }
    now = platform.clock.now()
    ready = rows.ready
    result["tasks"] = [{"id": t.id, "title": t.title, "task": t.spec_name, "role": t.role,
                        "unit_id": t.unit_id, "due_at": t.due_at.isoformat() if t.due_at else None,
                        "light": task_light(t, now), "paused": t.paused_at is not None} for t in ready]
    result["light"] = worst_light(task_light(t, now) for t in ready)
    result["paused"] = any(t.paused_at is not None for t in ready)  # a pause stops the clock of one task
    events = rows.events  # the timeline, flags, documents and direct reply share them
    if with_timeline:
        result["timeline"] = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                              for e in events]
    result["flags"] = e_supervision.flag_codes(session, case, now, events, rows.tasks)
    registered = next((e.detail for e in events if e.action == "case.registered"), None)
    answer = (registered or {}).get("direct_reply")
    result["direct_reply"] = answer if isinstance(answer, str) else None
    result["documents"] = notices.documents_of(session, case.id, events)
    if reveal:
        audit.record(session, platform, actor, "case.personal_data_read", case_id=case.id)
    return result


PROTECTED = "举报人身份受保护,仅受理单位可查看(《信访工作条例》第三十条)"


class Sensitive(Protocol):
    """What the rule of the accuser's identity reads of a case (a Case, or an export's row of its columns)."""

    @property
    def sensitivity(self) -> str: ...
    @property
    def registering_unit_id(self) -> int: ...


def may_see_personal(session: Session, actor: Actor, case: Sensitive) -> bool:
    """Whether the reader may see the requester whole. A 举报 (sensitive case) shows its accuser only to the
    registering unit and those above it: the unit accused may be the one handling it (条例 art. 30 ¶3)."""
    if not actor.can("case.read_personal"):
        return False
    if case.sensitivity != "sensitive":
        return True
    return scope.unit_in_scope(session, actor, case.registering_unit_id)


def accuser_protected(session: Session, actor: Actor, case: Sensitive) -> bool:
    """A 举报 read by someone who may not see its accuser (the unit reported on may be handling it)."""
    return case.sensitivity == "sensitive" and not may_see_personal(session, actor, case)


def requester_view(platform: Platform, req: Requester, reveal: bool, *, protected: bool = False) -> dict[str, Any]:
    """The requester decrypted, and masked unless the reader chose to reveal (an audited act). For a
    `protected` accuser, nothing of the ID number or address is shown: even masked, they locate a person."""
    c = platform.cipher
    phone = c.decrypt(req.phone_enc, "requester.phone")
    if reveal and not protected:
        return {"name": req.name, "phone": phone, "id_number": c.decrypt(req.id_number_enc, "requester.id_number"),
                "address": c.decrypt(req.address_enc, "requester.address"), "revealed": True, "protected": False}
    id_number = None if protected else c.decrypt(req.id_number_enc, "requester.id_number")
    address = None if protected else c.decrypt(req.address_enc, "requester.address")
    return {"name": mask_name(req.name), "phone": mask_phone(phone) if phone else None,
            "id_number": mask_id_number(id_number) if id_number else None,
            "address": mask_address(address) if address else None, "revealed": False, "protected": protected}


def task_light(task: HumanTask, now: datetime) -> Light:
    """A task's light now, by the one rule in app.domain.lights."""
    return lights.light(now, task.warn_at, task.due_at, paused=task.paused_at is not None)


def worst_light(found: Iterable[Light]) -> Light | None:
    """The most urgent light of a case's tasks (app.domain.lights.worst_light)."""
    return lights.worst_light(found)
