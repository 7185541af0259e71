"""The audit log: every row written in the caller's transaction and chained by HMAC to the one before;
read and verified by the auditor (审计员) only."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.domain.masking import mask_address, mask_id_number, mask_phone
from app.errors import Invalid, NotPermitted
from app.models import AuditEvent, Case
from app.services.actors import Actor
from app.services.platform import Platform

GENESIS = "0" * 64


def record(session: Session, platform: Platform, actor: Actor, action: str, *,
           case_id: int | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one audit row in the caller's transaction; if the action rolls back, so does its row."""
    prev = _chain_head(session) or GENESIS
    event = AuditEvent(at=platform.clock.now(), actor_id=actor.user_id, actor=actor.label, action=action,
                       case_id=case_id, detail=detail or {}, ip=actor.ip, prev_mac=prev, mac="")
    event.mac = _mac(platform.keys.audit_key, event)
    session.add(event)
    session.flush()
    return event


def _chain_head(session: Session) -> str | None:
    """The newest row's HMAC, under a lock held to commit, so two concurrent writers cannot fork the chain.
    PostgreSQL: the lock and the read in one call (migration 0029); SQLite serializes writers already."""
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(text("SELECT audit_chain_head()"))
    return session.scalar(select(AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1))


def _mac(key: bytes, e: AuditEvent) -> str:
    body = json.dumps([e.prev_mac, _iso(e.at), e.actor_id, e.actor, e.action, e.case_id, e.detail, e.ip],
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def _iso(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat()


def chain_head(platform: Platform) -> tuple[int, str] | None:
    """The newest row's id and HMAC: written to the log by the scheduler, so a deleted tail can be told
    from the outside (`flask audit verify --head ID:MAC`)."""
    with platform.db.reading() as session:
        row = session.execute(select(AuditEvent.id, AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None


def verify_chain(platform: Platform, head: tuple[int, str] | None = None) -> list[str]:
    """Walk the log in order and describe every row whose HMAC or link does not match (empty = intact);
    with `head`, a row once seen as the chain's head must still be there, unchanged."""
    problems: list[str] = []
    if head is not None:
        with platform.db.reading() as session:
            mac = session.scalar(select(AuditEvent.mac).where(AuditEvent.id == head[0]))
        if mac != head[1]:
            problems.append(f"#{head[0]}: 已记录的链头不在或被改动(日志末尾被删除)")
    prev = GENESIS
    with platform.db.reading() as session:
        for event in _in_order(session):
            if event.prev_mac != prev:
                problems.append(f"#{event.id}: 与前一条记录的链接断开(记录被删除或插入)")
            elif not hmac.compare_digest(event.mac, _mac(platform.keys.audit_key, event)):
                problems.append(f"#{event.id}: 内容与校验码不符(记录被篡改)")
            prev = event.mac
    return problems


def _in_order(session: Session) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                .order_by(AuditEvent.id).limit(1000)).all()
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id
        session.expunge_all()


# --- Reading the log (审计员) ------------------------------------------------------------------------

PAGE_SIZE = 50
MAX_ID = 2**31 - 1  # ids are 32-bit columns: a larger one names no row (and PostgreSQL refuses to compare it)
MAX_PAGE_SIZE = 200
PERSONAL_KEYS = {"phone": mask_phone, "caller_number": mask_phone, "id_number": mask_id_number,
                 "address": mask_address}


@dataclass(frozen=True)
class EventFilter:
    """What the auditor narrows the log to; every field optional. `before_id` pages back (newest first)."""

    actor: str | None = None
    case: str | None = None  # a 受理号 or a case id
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # exclusive
    before_id: int | None = None
    limit: int = PAGE_SIZE


def parse_filter(args: Mapping[str, str | None]) -> EventFilter:
    """The filter from query-string text (page and API alike); a bad value is Invalid naming its field."""
    errors: dict[str, str] = {}

    def text_of(name: str, most: int) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > most:
            errors[name] = f"不能超过{most}个字符"
        return value or None

    def when(name: str, end_of_day: bool) -> datetime | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            if len(value) == 10:
                day = date.fromisoformat(value)
                return datetime.combine(day + timedelta(days=1) if end_of_day else day, time())
            return datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            errors[name] = "时间格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM"
            return None

    def number(name: str, default: int | None, most: int) -> int | None:
        value = (args.get(name) or "").strip()
        if not value:
            return default
        if not value.isdigit() or not 1 <= int(value) <= most:
            errors[name] = f"应为1到{most}之间的整数"
            return default
        return int(value)

    found = EventFilter(actor=text_of("actor", 60), case=text_of("case_id", 40) or text_of("case", 40),
                        action=text_of("action", 60), since=when("since", False), until=when("until", True),
                        before_id=number("before_id", None, MAX_ID), limit=number("limit", PAGE_SIZE, MAX_PAGE_SIZE)
                        or PAGE_SIZE)
    if errors:
        raise Invalid("筛选条件有误", errors)
    return found


def list_events(platform: Platform, actor: Actor, found: EventFilter) -> dict[str, Any]:
    """The log newest first, as stored: personal values in a detail are shown masked, never decrypted.

    Answers the page of items and `next_before_id` (None on the last page); auditors only.
    """
    _require_auditor(actor)
    query = select(AuditEvent, Case.number).outerjoin(Case, Case.id == AuditEvent.case_id)
    if found.actor:
        query = query.where(AuditEvent.actor == found.actor)
    if found.action:
        query = query.where(AuditEvent.action == found.action)
    if found.since:
        query = query.where(AuditEvent.at >= found.since)
    if found.until:
        query = query.where(AuditEvent.at < found.until)
    if found.before_id:
        query = query.where(AuditEvent.id < found.before_id)
    with platform.db.reading() as session:
        if found.case:
            case_id = _case_id(session, found.case)
            if case_id is None:
                return {"items": [], "next_before_id": None}
            query = query.where(AuditEvent.case_id == case_id)
        rows = session.execute(query.order_by(AuditEvent.id.desc()).limit(found.limit + 1)).all()
        items = [_event_item(e, number) for e, number in rows[:found.limit]]
    more = len(rows) > found.limit
    return {"items": items, "next_before_id": items[-1]["id"] if more else None}


def actions(platform: Platform, actor: Actor) -> list[str]:
    """Every action code the log holds, for the auditor's filter."""
    _require_auditor(actor)
    with platform.db.reading() as session:
        return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def verify_for(platform: Platform, actor: Actor, head: tuple[int, str] | None = None) -> dict[str, Any]:
    """Verify the whole chain on an auditor's request; the check itself is audited."""
    _require_auditor(actor)
    problems = verify_chain(platform, head)
    with platform.db.unit_of_work() as session:
        checked = session.scalar(select(func.count(AuditEvent.id))) or 0
        record(session, platform, actor, "audit.verified", detail={"checked": checked, "problems": len(problems)})
        session.commit()
    return {"intact": not problems, "checked": checked, "problems": problems}


def parse_head(text_value: str | None) -> tuple[int, str] | None:
    """'ID:MAC' as the scheduler logs the chain head; Invalid naming `head` if it is not that."""
    value = (text_value or "").strip()
    if not value:
        return None
    row_id, _, mac = value.partition(":")
    if not row_id.isdigit() or int(row_id) > MAX_ID or len(mac) != 64 or any(c not in "0123456789abcdef" for c in mac):
        raise Invalid("链头格式有误", {"head": "应为 记录号:校验码(64位十六进制)"})
    return int(row_id), mac


def _require_auditor(actor: Actor) -> None:
    if not actor.can("audit.read"):
        raise NotPermitted("只有审计员可以查看审计日志")


def _case_id(session: Session, case: str) -> int | None:
    if case.isdigit():
        return int(case) if int(case) <= MAX_ID else None
    return session.scalar(select(Case.id).where(Case.number == case))


def _event_item(e: AuditEvent, case_number: str | None) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "case_id": e.case_id,
            "case_number": case_number, "detail": masked_detail(e.detail or {}), "ip": e.ip}


def masked_detail(value: Any) -> Any:
    """A detail with any personal value (phone, ID number, address) masked, however deep it sits."""
    if isinstance(value, dict):
        return {k: (PERSONAL_KEYS[k](v) if k in PERSONAL_KEYS and isinstance(v, str) and v else masked_detail(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [masked_detail(v) for v in value]
    return value
