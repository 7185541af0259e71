"""Two people completing the same task at the same moment: exactly one wins, the other gets Conflict (409),
on both databases — the compare-and-set on the task row under the case lock, not luck."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from app.errors import Conflict
from app.models import AuditEvent, HumanTask, User
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.cases import RequesterInput
from app.services.intake import CaseInput, register_case
from app.services.platform import Platform
from app.services.tasks import complete_task

ROUNDS = 200


def actor(platform: Platform, staff_no: str) -> Actor:
    with platform.db.reading() as session:
        return actor_for(session.scalars(select(User).where(User.staff_no == staff_no)).one())


def accept_tasks(platform: Platform, agent: Actor, count: int) -> list[str]:
    """`count` fresh cases, each waiting at 受理 (accept)."""
    for n in range(count):
        register_case(platform, agent, CaseInput(kind="help", channel="phone", subject=f"路灯不亮 {n}",
                                                 content="路灯不亮。", requester=RequesterInput(name="李四")))
    with platform.db.reading() as session:
        return list(session.scalars(select(HumanTask.id).where(HumanTask.spec_name == "accept",
                                                               HumanTask.state == "ready")))


def test_two_threads_completing_the_same_task_200_times_get_exactly_one_success_each_round(demo):
    dispatcher = actor(demo, "dispatch01")
    task_ids = accept_tasks(demo, actor(demo, "agent01"), ROUNDS)
    assert len(task_ids) == ROUNDS
    barrier = threading.Barrier(2)

    def attempt(task_id: str) -> str:
        barrier.wait()
        try:
            complete_task(demo, dispatcher, task_id, {"accept_decision": "accept", "kind": "help"})
        except Conflict:
            return "conflict"
        return "ok"

    outcomes = []
    with ThreadPoolExecutor(2) as pool:
        for task_id in task_ids:
            outcomes.append(sorted(pool.map(attempt, [task_id, task_id])))
    assert outcomes == [["conflict", "ok"]] * ROUNDS
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "task.completed")) == ROUNDS
        conflicts = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.conflict")).all()
        assert len(conflicts) == ROUNDS  # the loser of each round is on the record too, with its case
        assert {e.case_id for e in conflicts} == {e.case_id for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "task.completed"))}
        dispatch_tasks = session.scalar(select(func.count()).select_from(HumanTask)
                                        .where(HumanTask.spec_name == "dispatch", HumanTask.state == "ready"))
        assert dispatch_tasks == ROUNDS  # one successor per case, never two
