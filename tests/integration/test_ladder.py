"""The escalation ladder on both databases, on a frozen clock: 催办 the working day before the due date, a
numbered 催办通知书 the working day after it (read back from its PDF), an automatic 督办 with a 通报 five working
days overdue — each rung once per task, also with three scheduler processes at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from lifecycle_driver import Api, unit_ids, working_days_after
from sqlalchemy import func, insert, select, update

from app.models import AuditEvent, Case, HumanTask, SmsMessage, TaskEscalation, Unit, User
from app.services.escalation import climb
from tests.conftest import FAST_HASH, START, TEST_KEYS, Auth

ROOT = Path(__file__).resolve().parents[2]
SIGNED_ON = date(2026, 11, 25)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "urge.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def previous_working_day(day: date) -> date:
    from chinese_calendar import is_workday
    day -= timedelta(days=1)
    while not is_workday(day):
        day -= timedelta(days=1)
    return day


def at(clock, when: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.advance(seconds=(when - clock.now()).total_seconds())


def sms(demo, template: str) -> int:  # type: ignore[no-untyped-def]
    with demo.db.reading() as session:
        return session.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.template == template)) or 0


def test_each_rung_fires_once_when_its_day_comes(client, demo, clock, tmp_path):
    api, units = Api(client), unit_ids(demo)
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    due = working_days_after(SIGNED_ON, 15)  # hotline.complaint
    assert climb(demo, "sched-0").fired == {}

    remind_at = datetime.combine(previous_working_day(due), datetime.min.time())
    at(clock, remind_at - timedelta(seconds=1))
    assert climb(demo, "sched-0").fired == {}
    at(clock, remind_at)
    assert climb(demo, "sched-0").fired == {"remind": 1}
    assert climb(demo, "sched-1").fired == {}
    assert sms(demo, "reminder") == 1  # cg01, the handler with a work phone
    auth = Auth(client)
    auth.login("cg01")
    assert "已催办" in client.get("/worklist").get_data(as_text=True)

    at(clock, datetime.combine(working_days_after(due, 1), datetime.min.time()))
    assert climb(demo, "sched-1").fired == {"notice": 1}
    assert sms(demo, "urge_notice") == 2  # the handler and the unit's leader
    with demo.db.reading() as session:
        outcome = session.scalars(select(TaskEscalation.outcome).where(TaskEscalation.rung == "notice")).one()
    number = outcome["document"]
    assert "催〔2026〕第1号" in number
    auth.login("cgleader01")
    pdf = client.get(f"/cases/{case_id}/documents/urge-notice.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data, tmp_path)
    for expected in ("催办通知书", number, "市城管局", "「办理」", f"{due:%Y-%m-%d}23:59", "第四十条"):
        assert expected in text, expected

    at(clock, datetime.combine(working_days_after(due, 5), datetime.min.time()) - timedelta(seconds=1))
    assert climb(demo, "sched-2").fired == {}
    clock.advance(seconds=1)
    assert climb(demo, "sched-2").fired == {"supervise": 1}
    assert climb(demo, "sched-0").fired == {}
    api.tokens.clear()
    detail = api.case(case_id, "cgleader01")
    assert sorted(t["task"] for t in detail["tasks"]) == ["handle", "supervision_feedback"]
    supervised = [e for e in detail["timeline"] if e["action"] == "case.supervised"]
    assert len(supervised) == 1 and supervised[0]["detail"]["automatic"] is True
    auth.login("cgleader01")
    leader = client.get("/leader").get_data(as_text=True)
    assert "逾期自动督办 1 件" in leader and detail["number"] in leader.split("通报", 1)[1]
    assert [a for a, _ in api.actions(case_id) if a.startswith("escalation.")] == [
        "escalation.remind", "escalation.notice", "escalation.supervise"]


def test_a_paused_task_climbs_no_rung(client, demo, clock):
    api, units = Api(client), unit_ids(demo)
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False)
    api.complete("cg01", case_id, "sign_for")
    handle = api.task("cg01", case_id, "handle")
    response = api.call("cg01", "POST", f"/tasks/{handle['id']}/pause", json={"reason": "material"})
    assert response.status_code == 201
    at(clock, datetime(2026, 12, 28, 9, 0))  # past every rung of the unpaused due date
    assert climb(demo, "sched-0").fired == {}


SWEEPER = """
import json, os, sys
from app.clock import FrozenClock
from app.crypto import load_keys
from app.db import Database
from app.services.platform import Platform
from app.services.escalation import climb
from app.settings import Settings
from datetime import datetime
url, instance, worker = sys.argv[1:4]
keys = json.loads(os.environ["HUIYIN_TEST_KEYS"])
settings = Settings(DATABASE_URL=url, INSTANCE_PATH=instance, **keys, **json.loads(os.environ["HUIYIN_FAST_HASH"]))
p = Platform(db=Database(url), settings=settings, keys=load_keys(keys, instance),
             clock=FrozenClock(datetime.fromisoformat(sys.argv[4])))
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(climb(p, worker, budget=None).fired), flush=True)
"""
TASKS = {"postgresql": 150, "sqlite": 60}


def _overdue_tasks(platform, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` waiting 办理 tasks at 市城管局, due 11-26, spread over 10 real cases (whose processes are still
    at 受理, so the automatic 督办 is refused by the engine and recorded as skipped: still once per task)."""
    from app.services.auth import actor_for
    from app.services.cases import RequesterInput
    from app.services.intake import CaseInput, register_case

    with platform.db.unit_of_work() as session:
        agent = actor_for(session.scalars(select(User).where(User.staff_no == "agent01")).one())
        cgj = session.scalars(select(Unit).where(Unit.code == "cgj")).one()
        session.execute(update(User).where(User.staff_no.in_(["cg01", "cgleader01"])).values(phone="13912345678"))
        session.commit()
    case_ids = [register_case(platform, agent, CaseInput(
        kind="help", channel="phone", subject=f"井盖缺失 {n}", content="井盖缺失。",
        requester=RequesterInput(name="赵六")))["id"] for n in range(10)]
    due = datetime(2026, 11, 26, 23, 59, 59)
    rows = [{"id": f"bulk-{n:05d}", "case_id": case_ids[n % 10], "spec_name": "handle", "title": "办理",
             "role": "handler", "unit_id": cgj.id, "form": "handle.json", "deadline_rule": "hotline.help",
             "state": "ready", "created_at": START, "due_at": due, "warn_at": due - timedelta(days=1)}
            for n in range(count)]
    with platform.db.unit_of_work() as session:
        session.execute(insert(HumanTask), rows)
        session.commit()
    return case_ids


def test_a_pass_out_of_time_leaves_the_rest_to_the_next_and_fires_nothing_twice(demo):
    case_ids = _overdue_tasks(demo, 4)
    with demo.db.unit_of_work() as session:
        session.execute(update(Case).where(Case.id.in_(case_ids)).values(
            lead_unit_id=session.scalar(select(Unit.id).where(Unit.code == "cgj"))))
        session.commit()
    demo.clock.advance(seconds=(datetime(2026, 12, 20, 9, 0) - demo.clock.now()).total_seconds())
    passes = [climb(demo, "sched-0", budget=0) for _ in range(14)]
    assert [sum(p.fired.values()) + p.skipped for p in passes] == [1] * 12 + [0, 0]  # one rung a pass, then none
    with demo.db.reading() as session:
        per_rung = dict(session.execute(select(TaskEscalation.rung, func.count()).group_by(TaskEscalation.rung)).all())
    assert per_rung == {"remind": 4, "notice": 4, "supervise": 4}


def test_three_scheduler_processes_fire_each_rung_exactly_once(demo, db_url, tmp_path):
    tasks = TASKS["sqlite" if demo.db.is_sqlite else "postgresql"]
    case_ids = _overdue_tasks(demo, tasks)
    with demo.db.unit_of_work() as session:  # the cases need a lead unit for their 催办通知书
        session.execute(update(Case).where(Case.id.in_(case_ids)).values(
            lead_unit_id=session.scalar(select(Unit.id).where(Unit.code == "cgj"))))
        session.commit()
    env = {**os.environ, "HUIYIN_TEST_KEYS": json.dumps(TEST_KEYS), "HUIYIN_FAST_HASH": json.dumps(FAST_HASH),
           "PYTHONPATH": str(ROOT)}
    now = datetime(2026, 12, 20, 9, 0, 0)  # past every rung of a task due 11-26 (5 working days after: 12-03)
    procs = [subprocess.Popen([sys.executable, "-c", SWEEPER, db_url, str(tmp_path / "instance"), f"sched-{n}",
                               now.isoformat()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for n in range(3)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    fired: dict[str, int] = {}
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        for rung, n in json.loads(out.strip().splitlines()[-1]).items():
            fired[rung] = fired.get(rung, 0) + n
    assert fired == {"remind": tasks, "notice": tasks, "supervise": tasks}, fired
    with demo.db.reading() as session:
        per_rung = dict(session.execute(select(TaskEscalation.rung, func.count()).group_by(TaskEscalation.rung)).all())
        issued = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "document.issued"))
        audited = session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.like("escalation.%")))
    assert per_rung == {"remind": tasks, "notice": tasks, "supervise": tasks}
    assert issued == 10  # one 催办通知书 number per case and unit, however many of its tasks are overdue
    assert audited == 3 * tasks
    assert sms(demo, "reminder") == tasks  # cg01 once per task
    assert sms(demo, "urge_notice") == 2 * tasks  # cg01 and cgleader01 once per task
    assert climb(demo, "sched-late").fired == {}
