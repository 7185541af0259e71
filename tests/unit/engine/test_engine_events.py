"""Timers on the injected clock, and messages (repeated 督办 through an event sub-process, 撤回)."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from app.engine import (
    MessageNotExpected,
    TaskNotReady,
    deploy_definition,
    fire_due_timers,
    send_message,
    start_workflow,
)
from app.engine.serialization import load_specs, load_state
from tests.unit.engine.conftest import DEPLOY_ARGS, FORMS, NOW, START_DATA, bpmn


@pytest.fixture
def supervised():
    """A handling task with a 2-day overdue timer, a withdraw boundary and a supervise event sub-process."""
    return deploy_definition(bpmn("supervised.bpmn", TIMER='"P2D"'), FORMS, **DEPLOY_ARGS)


def test_a_waiting_timer_is_reported_with_its_fire_time(supervised):
    run = start_workflow(supervised.spec_json, START_DATA, NOW)
    [timer] = run.timers
    assert (timer.spec_name, timer.fire_at) == ("overdue_timer", NOW + timedelta(days=2))


def test_a_timer_fires_only_once_now_reaches_its_fire_time(supervised):
    run = start_workflow(supervised.spec_json, START_DATA, NOW)
    early = fire_due_timers(supervised.spec_json, run.state_json, NOW + timedelta(days=2) - timedelta(seconds=1))
    assert len(early.timers) == 1
    assert "overdue" not in early.data
    due = fire_due_timers(supervised.spec_json, early.state_json, NOW + timedelta(days=2))
    assert due.timers == []
    assert due.data["overdue"] is True
    assert [t.spec_name for t in due.tasks] == ["handle"]  # non-interrupting: the task is still there


def test_timers_follow_the_given_clock_not_the_wall_clock(supervised):
    far_past = NOW.replace(year=2001)
    run = start_workflow(supervised.spec_json, START_DATA, far_past)
    assert run.timers[0].fire_at == far_past + timedelta(days=2)
    assert len(fire_due_timers(supervised.spec_json, run.state_json, far_past + timedelta(days=1)).timers) == 1


def test_a_timer_expression_is_evaluated_restricted_from_task_data():
    deployed = deploy_definition(
        bpmn("supervised.bpmn", TIMER="'P%dD' % overdue_days"), FORMS,
        **{**DEPLOY_ARGS, "start_variables": {**DEPLOY_ARGS["start_variables"], "overdue_days": None}}
    )
    run = start_workflow(deployed.spec_json, {**START_DATA, "overdue_days": 5}, NOW)
    assert run.timers[0].fire_at == NOW + timedelta(days=5)


def test_a_timezone_aware_clock_is_kept(supervised):
    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    run = start_workflow(supervised.spec_json, START_DATA, beijing)
    assert run.timers[0].fire_at == beijing + timedelta(days=2)


def test_supervise_can_be_sent_again_and_again(supervised):
    run = start_workflow(supervised.spec_json, START_DATA, NOW)
    for i in range(3):
        run = send_message(supervised.spec_json, run.state_json, "supervise", {"note": f"第{i + 1}次督办"}, NOW)
    names = [t.spec_name for t in run.tasks]
    assert names.count("answer_supervision") == 3 and "handle" in names
    assert run.status == "办理中"
    workflow = load_state(load_specs(supervised.spec_json), run.state_json, NOW)
    notes = sorted(
        t.data["supervision"]["note"] for t in workflow.get_tasks() if t.task_spec.name == "answer_supervision"
    )
    assert notes == ["第1次督办", "第2次督办", "第3次督办"]


def test_withdraw_ends_the_case_and_later_messages_are_refused(supervised):
    run = start_workflow(supervised.spec_json, START_DATA, NOW)
    run = send_message(supervised.spec_json, run.state_json, "withdraw", {}, NOW)
    assert (run.finished, run.status, run.tasks, run.timers) == (True, "已终结", [], [])
    with pytest.raises(MessageNotExpected):
        send_message(supervised.spec_json, run.state_json, "supervise", {}, NOW)


def test_an_unknown_message_is_refused_as_not_ready(supervised):
    run = start_workflow(supervised.spec_json, START_DATA, NOW)
    with pytest.raises(TaskNotReady):
        send_message(supervised.spec_json, run.state_json, "no_such_message", {}, NOW)
