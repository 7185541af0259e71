"""The scheduler's sweeps: three scheduler processes on one database (PostgreSQL's SKIP LOCKED, SQLite's
serialized writers) raise each warning exactly once, a warning waits for its time, and a due BPMN timer
fires once (deployed over the API, since the stock workflows have no timers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from lifecycle_driver import Api, deploy, timed_bpmn
from sqlalchemy import func, insert, select, update

from app.models import AuditEvent, HumanTask, ProcessTimer, SmsMessage, TaskWarning, Unit, User
from app.services.sweeps import raise_warnings, sweep_due_timers
from tests.conftest import FAST_HASH, START, TEST_KEYS

ROOT = Path(__file__).resolve().parents[2]
TASKS = {"postgresql": 1000, "sqlite": 200}  # SQLite's writers queue: fewer, so a loaded box stays in busy_timeout
FAR_FUTURE = datetime(2027, 6, 1, 9, 0, 0)

# One scheduler process: waits for "go" on stdin so the three start together, then sweeps once.
SWEEPER = """
import json, os, sys
from app.clock import FrozenClock
from app.crypto import load_keys
from app.db import Database
from app.services.platform import Platform
from app.services.sweeps import raise_warnings
from app.settings import Settings
from datetime import datetime
url, instance, worker = sys.argv[1:4]
keys = json.loads(os.environ["HUIYIN_TEST_KEYS"])
settings = Settings(DATABASE_URL=url, INSTANCE_PATH=instance, **keys, **json.loads(os.environ["HUIYIN_FAST_HASH"]))
p = Platform(db=Database(url), settings=settings, keys=load_keys(keys, instance),
             clock=FrozenClock(datetime.fromisoformat(sys.argv[4])))
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps({"warnings": raise_warnings(p, worker).warnings}), flush=True)
"""


def _due_tasks(platform, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` ready tasks at 市城管局 with warning and due times passed, spread over 10 real cases."""
    api_cases = []
    from app.services.auth import actor_for
    from app.services.cases import RequesterInput
    from app.services.intake import CaseInput, register_case

    with platform.db.unit_of_work() as session:
        agent = actor_for(session.scalars(select(User).where(User.staff_no == "agent01")).one())
        cgj = session.scalars(select(Unit).where(Unit.code == "cgj")).one()
        # handlers and leaders with a work phone get the SMS; two people at 市城管局
        session.execute(update(User).where(User.staff_no.in_(["cg01", "cgleader01"]))
                        .values(phone="13912345678"))
        session.commit()
    for n in range(10):
        api_cases.append(register_case(platform, agent, CaseInput(
            kind="help", channel="phone", subject=f"井盖缺失 {n}", content="井盖缺失。",
            requester=RequesterInput(name="赵六")))["id"])
    due, warn = START + timedelta(days=3), START + timedelta(days=2)
    rows = [{"id": f"bulk-{n:05d}", "case_id": api_cases[n % 10], "spec_name": "handle", "title": "办理",
             "role": "handler", "unit_id": cgj.id, "form": "handle.json", "deadline_rule": "hotline.help",
             "state": "ready", "created_at": START, "due_at": due, "warn_at": warn} for n in range(count)]
    with platform.db.unit_of_work() as session:
        # the cases' own 受理 steps have the centre's clock too: only the bulk tasks are counted here
        session.execute(update(HumanTask).where(HumanTask.case_id.in_(api_cases)).values(due_at=None, warn_at=None))
        session.execute(insert(HumanTask), rows)
        session.commit()


def test_three_scheduler_processes_raise_each_warning_exactly_once(demo, db_url, tmp_path):
    tasks = TASKS["sqlite" if demo.db.is_sqlite else "postgresql"]
    _due_tasks(demo, tasks)
    env = {**os.environ, "HUIYIN_TEST_KEYS": json.dumps(TEST_KEYS), "HUIYIN_FAST_HASH": json.dumps(FAST_HASH),
           "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", SWEEPER, db_url, str(tmp_path / "instance"), f"sched-{n}",
                               FAR_FUTURE.isoformat()], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env) for n in range(3)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.stderr.read() if p.stderr else ""
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1])["warnings"])
    assert sum(outputs) == 2 * tasks, outputs  # each task once yellow and once red, whoever raised it
    with demo.db.reading() as session:
        per_colour = dict(session.execute(select(TaskWarning.colour, func.count()).group_by(TaskWarning.colour)).all())
        per_task = session.execute(select(TaskWarning.task_id, TaskWarning.colour, func.count())
                                   .group_by(TaskWarning.task_id, TaskWarning.colour)
                                   .having(func.count() > 1)).all()
        sms = session.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.template.like("warning_%")))
        keys = session.scalar(select(func.count(func.distinct(SmsMessage.dedupe_key)))
                              .where(SmsMessage.template.like("warning_%")))
    assert per_colour == {"yellow": tasks, "red": tasks}
    assert per_task == []
    assert sms == keys == 2 * tasks * 2  # two colours × handler cg01 and leader cgleader01
    # a second round finds nothing new
    assert raise_warnings(demo, "sched-late").warnings == 0


def test_a_warning_is_raised_when_its_time_comes_and_never_again(demo, clock):
    _due_tasks(demo, 3)  # warn_at START + 2 days, due_at START + 3 days

    clock.advance(days=2, seconds=-1)
    before_yellow = raise_warnings(demo, "sched-0").warnings
    clock.advance(seconds=1)
    at_yellow = raise_warnings(demo, "sched-0").warnings
    clock.advance(days=1)
    at_due = raise_warnings(demo, "sched-0").warnings  # due_at itself is still yellow, not yet overdue
    clock.advance(seconds=1)
    after_due = raise_warnings(demo, "sched-1").warnings
    again = raise_warnings(demo, "sched-0").warnings

    assert (before_yellow, at_yellow, at_due, after_due, again) == (0, 3, 0, 3, 0)
    with demo.db.reading() as session:
        raised = session.execute(select(TaskWarning.colour, TaskWarning.raised_by, func.count())
                                 .group_by(TaskWarning.colour, TaskWarning.raised_by)).all()
        sms = session.execute(select(SmsMessage.template, func.count()).where(SmsMessage.template.like("warning_%"))
                              .group_by(SmsMessage.template)).all()
    assert sorted(raised) == [("red", "sched-1", 3), ("yellow", "sched-0", 3)]
    assert sorted(sms) == [("warning_red", 6), ("warning_yellow", 6)]  # handler and leader, once each


def test_a_due_bpmn_timer_fires_once_and_asks_the_leader_to_escalate(client, demo, clock):
    api = Api(client)
    assert deploy(api, timed_bpmn()).status_code == 201
    case = api.register(process="timed_order")
    with demo.db.reading() as session:
        [timer] = session.scalars(select(ProcessTimer).where(ProcessTimer.case_id == case["id"])).all()
        assert timer.fire_at == START + timedelta(days=2)
    clock.advance(days=1)
    assert sweep_due_timers(demo, "sched-0").timers_fired == 0
    clock.advance(days=1, seconds=1)
    assert sweep_due_timers(demo, "sched-0").timers_fired == 1
    assert sweep_due_timers(demo, "sched-1").timers_fired == 0
    detail = api.case(case["id"], "leader01")
    assert sorted(t["task"] for t in detail["tasks"]) == ["accept", "escalate"]
    assert [e["action"] for e in detail["timeline"]].count("timer.fired") == 1
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ProcessTimer)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "timer.fired")) == 1
    api.complete("leader01", case["id"], "escalate", sign_note="已催办")
    api.complete("dispatch01", case["id"], "accept")
    assert api.case(case["id"])["status"] == "closed"
