"""The audit log: every row written in the caller's transaction and chained by HMAC to the one before."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import AuditEvent
from app.services.actors import Actor
from app.services.platform import Platform

GENESIS = "0" * 64


def record(session: Session, platform: Platform, actor: Actor, action: str, *,
           case_id: int | None = None, detail: dict[str, Any] | None = None) -> AuditEvent:
    """Append one audit row in the caller's transaction; if the action rolls back, so does its row."""
    if session.get_bind().dialect.name == "postgresql":
        # Held to commit: the chain head cannot fork between two concurrent writers.
        # The lock is keyed by this audit table's oid, so other schemas' chains do not wait on ours.
        session.execute(text("SELECT pg_advisory_xact_lock(to_regclass('audit_event')::oid::bigint)"))
    prev = session.scalar(select(AuditEvent.mac).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    event = AuditEvent(at=platform.clock.now(), actor_id=actor.user_id, actor=actor.label, action=action,
                       case_id=case_id, detail=detail or {}, ip=actor.ip, prev_mac=prev, mac="")
    event.mac = _mac(platform.keys.audit_key, event)
    session.add(event)
    session.flush()
    return event


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
