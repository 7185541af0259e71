"""The checker of bench/load.py: after a run, prove from the database that nothing was lost or done twice.

Each check answers a list of problems (empty = it holds), in words a reader can act on:

* intake — every Idempotency-Key answered 201 names one case, the same case on every answer, and that case
  exists once with its key row; no case of the load's agent exists without a key the load sent;
* 受理号 — unique, and the serials run without a gap up to the highest (on PostgreSQL: up to the sequence);
* document numbers — per counter (kind, issuing unit, year) the serials run 1…N once each, N = the counter;
  one number per case, kind and receiving unit;
* warnings and ladder rungs — every ready task past its warning/due time has its warning, every rung it
  reached has fired, each once (one `escalation.*` audit event per rung, one automatic 督办 per supervise
  rung), and each has queued its SMS to every person it names;
* outbox — every message sent reached the gateway exactly once (the sink's record), nothing left pending;
* downloads — every 办理转送单 handed out as a PDF carries a number and is audited once per download;
* calls — every accepted bridge post is one call and one outcome, an abandoned call one callback;
* the audit chain verifies.

`check(platform, records, sink, now)` runs them all; `records` are the load's request records (dicts with
`kind`, `status` and per kind `key`/`case_id` or `pbx`/`linkedid`/`event`), `sink` the (phone, template,
body) triples the SMS gateway received, `now` the simulated time the final sweep ran at.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.domain.calendar import CalendarYearMissing
from app.models import (
    AuditEvent,
    Call,
    Callback,
    CallOutcome,
    Case,
    HumanTask,
    IdempotentRequest,
    SmsMessage,
    TaskEscalation,
    TaskWarning,
)
from app.models import Counter as CounterRow
from app.services import audit, escalation, outbox
from app.services.calendar import load_calendar, unit_calendar
from app.services.documents import DOWNLOADED, ISSUED
from app.services.platform import Platform
from app.services.settings import get_setting

NUMBER = re.compile(r"^12345-\d{8}-(\d+)$")
Record = dict[str, Any]


def check(platform: Platform, records: Sequence[Record], sink: Sequence[tuple[str, str, str]], now: datetime,
          agent: str = "agent01") -> dict[str, list[str]]:
    """Every check by name → its problems."""
    with platform.db.reading() as session:
        found = {"intake": intake_once(session, records, agent), "受理号": case_numbers(session),
                 "document numbers": document_numbers(session), "warnings": warnings_once(session, now),
                 "ladder": rungs_once(session, now), "outbox": outbox_once(session, platform, sink),
                 "calls": calls_once(session, records)}
        found["downloads"] = downloads_numbered(session, records)
    found["audit chain"] = audit.verify_chain(platform)
    return found


def intake_once(session: Session, records: Iterable[Record], agent: str) -> list[str]:
    problems: list[str] = []
    answered: dict[str, set[int]] = defaultdict(set)
    sent: set[str] = set()
    for r in records:
        if r["kind"] == "intake" and r.get("key"):
            sent.add(f"{agent}:{r['key']}")
            if r["status"] in (200, 201):
                answered[r["key"]].add(int(r["case_id"]))
    rows = dict(session.execute(select(IdempotentRequest.key, IdempotentRequest.case_id)).all())
    numbers = dict(session.execute(select(Case.id, Case.number)).all())
    for key, case_ids in answered.items():
        stored = rows.get(f"{agent}:{key}")
        if len(case_ids) > 1:
            problems.append(f"Idempotency-Key {key} 得到了不同的诉求件 {sorted(case_ids)}")
        if stored is None:
            problems.append(f"Idempotency-Key {key} 已受理,却没有记录")
        elif stored not in case_ids or stored not in numbers:
            problems.append(f"Idempotency-Key {key} 记录的诉求件 {stored} 不是答复的 {sorted(case_ids)}")
    registered = session.execute(select(AuditEvent.case_id).where(AuditEvent.action == "case.registered",
                                                                  AuditEvent.actor == agent)).scalars().all()
    for case_id, n in Counter(registered).items():
        if n > 1:
            problems.append(f"诉求件 {case_id} 登记了 {n} 次")
    keyed = {case_id for key, case_id in rows.items() if key in sent}
    strays = sorted(set(registered) - keyed)
    if sent and strays:
        problems.append(f"{len(strays)} 件 {agent} 登记的诉求件没有负载发出的 Idempotency-Key:{strays[:10]}")
    return problems


def gaps(serials: Iterable[int], upto: int | None = None, start: int = 1) -> tuple[list[int], list[int]]:
    """(duplicated, skipped) serials of a run that should read start, start+1, … upto (default: the highest)."""
    counted = Counter(serials)
    top = max([*counted, upto or 0, start - 1])
    return (sorted(s for s, n in counted.items() if n > 1),
            [s for s in range(start, top + 1) if s not in counted])


def _short(values: list[int]) -> str:
    return f"{values[:10]}{' …' if len(values) > 10 else ''}(共 {len(values)} 个)"


def case_numbers(session: Session) -> list[str]:
    serials = []
    for number in session.scalars(select(Case.number)):
        match = NUMBER.match(number)
        if match is None:
            return [f"受理号格式不符:{number}"]
        serials.append(int(match.group(1)))
    upto = None
    if session.get_bind().dialect.name == "postgresql":
        last, called = session.execute(text("SELECT last_value, is_called FROM case_serial")).one()
        upto = int(last) if called else 0
    duplicated, skipped = gaps(serials, upto)
    return ([f"受理号流水重复:{_short(duplicated)}"] * bool(duplicated)
            + [f"受理号流水跳号:{_short(skipped)}"] * bool(skipped))


def document_numbers(session: Session) -> list[str]:
    problems: list[str] = []
    by_counter: dict[str, list[int]] = defaultdict(list)
    per_document: Counter[tuple[Any, ...]] = Counter()
    for case_id, detail in session.execute(select(AuditEvent.case_id, AuditEvent.detail)
                                           .where(AuditEvent.action == ISSUED)):
        by_counter[detail["counter"]].append(int(detail["serial"]))
        per_document[(case_id, detail["kind"], detail.get("receiving_unit_id"))] += 1
    counters = dict(session.execute(select(CounterRow.name, CounterRow.value)).all())
    for name, serials in sorted(by_counter.items()):
        duplicated, skipped = gaps(serials, counters.get(name))
        if duplicated:
            problems.append(f"文号计数器 {name} 重复:{_short(duplicated)}")
        if skipped:
            problems.append(f"文号计数器 {name} 跳号:{_short(skipped)}")
    for (case_id, kind, unit), n in per_document.items():
        if n > 1:
            problems.append(f"诉求件 {case_id} 的 {kind}(接收单位 {unit})编了 {n} 个文号")
    return problems


def downloads_numbered(session: Session, records: Iterable[Record]) -> list[str]:
    """Every 办理转送单 handed out as a PDF was numbered, and every download is on the record."""
    problems: list[str] = []
    served = Counter(r["case_id"] for r in records if r["kind"] == "pdf" and r["status"] == 200)
    issued, downloaded = set(), Counter()
    for action, case_id, detail in session.execute(select(AuditEvent.action, AuditEvent.case_id, AuditEvent.detail)
                                                   .where(AuditEvent.action.in_([ISSUED, DOWNLOADED]))):
        if detail.get("kind") == "transfer_form":
            if action == ISSUED:
                issued.add(case_id)
            else:
                downloaded[case_id] += 1
    for case_id, n in sorted(served.items()):
        if case_id not in issued:
            problems.append(f"诉求件 {case_id} 的办理转送单已下载却没有文号")
        if downloaded[case_id] != n:
            problems.append(f"诉求件 {case_id} 的办理转送单下载 {n} 次,审计记录 {downloaded[case_id]} 次")
    return problems


def _ready(session: Session) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.state == "ready", HumanTask.paused_at.is_(None))))


def warnings_once(session: Session, now: datetime) -> list[str]:
    """Every ready task past its times has its warnings (their key makes each once)."""
    have = set(session.execute(select(TaskWarning.task_id, TaskWarning.colour)).all())
    missing = [f"{t.id}:{colour}" for t in _ready(session)
               for colour, reached in (("yellow", t.warn_at is not None and t.warn_at <= now),
                                       ("red", t.due_at is not None and t.due_at < now))
               if reached and (t.id, colour) not in have]
    return [f"{len(missing)} 个预警没有发出:{missing[:5]}"] if missing else []


def rungs_once(session: Session, now: datetime) -> list[str]:
    """Every rung a waiting handler task reached has fired, and every fired rung acted exactly once."""
    problems: list[str] = []
    ladder = list(get_setting(session, "escalation.ladder"))
    calendar = load_calendar(session)
    fired = {(e.task_id, e.rung): e for e in session.scalars(select(TaskEscalation))}
    for task in _ready(session):
        if task.role != "handler" or task.due_at is None:
            continue
        local = unit_calendar(session, calendar, task.unit_id)
        for rung in ladder:
            try:
                reached = escalation.rung_time(task.due_at, int(rung["offset"]), local) <= now
            except CalendarYearMissing:  # the ladder waits for the year's calendar too (deferred)
                continue
            if reached and (task.id, rung["rung"]) not in fired:
                problems.append(f"任务 {task.id} 已到「{rung['rung']}」却没有触发")
    acted: Counter[tuple[str, str]] = Counter()
    for detail in session.scalars(select(AuditEvent.detail).where(AuditEvent.action.like("escalation.%"))):
        acted[(detail["task_id"], detail["rung"])] += 1
    supervised: Counter[str] = Counter()
    for detail in session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "case.supervised")):
        if detail.get("automatic"):
            supervised[str(detail.get("task_id"))] += 1
    for (task_id, rung), row in fired.items():
        if acted[(task_id, rung)] != 1:
            problems.append(f"任务 {task_id} 的「{rung}」执行了 {acted[(task_id, rung)]} 次")
        if row.action == "supervise" and not row.outcome.get("skipped") and supervised[task_id] != 1:
            problems.append(f"任务 {task_id} 的自动督办执行了 {supervised[task_id]} 次")
    problems += [f"「{rung}」审计事件没有对应的阶梯记录:任务 {task_id}" for task_id, rung in acted
                 if (task_id, rung) not in fired]
    return problems


def outbox_once(session: Session, platform: Platform, sink: Sequence[tuple[str, str, str]]) -> list[str]:
    """Each warning and rung queued one message per person it names; each sent message reached the gateway once."""
    problems: list[str] = []
    keys = Counter(k.rsplit(":", 1)[0] for k in session.scalars(select(SmsMessage.dedupe_key)))
    tasks = {t.id: t for t in session.scalars(select(HumanTask).where(
        HumanTask.id.in_(select(TaskWarning.task_id).union(select(TaskEscalation.task_id)))))}
    people: dict[tuple[int | None, frozenset[str]], int] = {}

    def reachable(task: HumanTask, roles: set[str]) -> int:
        key = (task.unit_id, frozenset(roles))
        if key not in people:
            people[key] = len(outbox.reachable_people(session, task.unit_id, roles))
        return people[key]

    for task_id, colour in session.execute(select(TaskWarning.task_id, TaskWarning.colour)):
        task = tasks[task_id]
        if keys[f"warn:{task_id}:{colour}"] != reachable(task, {task.role, "leader"}):
            problems.append(f"任务 {task_id} 的{colour}预警短信 {keys[f'warn:{task_id}:{colour}']} 条,"
                            f"应为 {reachable(task, {task.role, 'leader'})} 条")
    for row in session.scalars(select(TaskEscalation).where(TaskEscalation.action.in_(["remind", "notice"]))):
        prefix = f"{'remind' if row.action == 'remind' else 'urge'}:{row.task_id}"
        expected = row.outcome.get("sms", 0)
        if keys[prefix] != expected:
            problems.append(f"任务 {row.task_id} 的「{row.rung}」短信 {keys[prefix]} 条,应为 {expected} 条")
    sent: Counter[tuple[str, str, str]] = Counter()
    pending = 0
    for message in session.scalars(select(SmsMessage)):
        if message.status == "sent":
            sent[(platform.cipher.decrypt(message.phone_enc, "sms.phone") or "", message.template,
                  message.body)] += 1
        elif message.status == "pending":
            pending += 1
    received = Counter(sink)
    twice = sum((received - sent).values())
    lost = sum((sent - received).values())
    if twice:
        problems.append(f"{twice} 条短信网关收到的次数多于已发送的记录(重复发送)")
    if lost:
        problems.append(f"{lost} 条记为已发送的短信网关没有收到")
    if pending:
        problems.append(f"{pending} 条短信仍待发送")
    return problems


def calls_once(session: Session, records: Iterable[Record]) -> list[str]:
    problems: list[str] = []
    accepted = {(r["pbx"], r["linkedid"], r["event"]) for r in records
                if r["kind"] == "call" and r["status"] in (200, 201)}
    calls = {(c.pbx_id, c.linkedid): c.id for c in session.scalars(select(Call))}
    outcomes = Counter(tuple(r) for r in session.execute(
        select(CallOutcome.pbx_id, CallOutcome.linkedid, CallOutcome.kind)))
    callbacks = Counter(session.scalars(select(Callback.call_id)))
    for pbx, linkedid, event in sorted(accepted):
        if (pbx, linkedid) not in calls:
            problems.append(f"{pbx} 的来电 {linkedid} 已接收却不存在")
        elif outcomes[(pbx, linkedid, event)] != 1:
            problems.append(f"{pbx} 的来电 {linkedid} 的 {event} 记录了 {outcomes[(pbx, linkedid, event)]} 次")
        elif event == "abandoned" and callbacks[calls[(pbx, linkedid)]] != 1:
            problems.append(f"{pbx} 的放弃来电 {linkedid} 的回呼 {callbacks[calls[(pbx, linkedid)]]} 条")
    return problems
