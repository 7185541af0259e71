"""Timers on the injected clock, and messages (repeated 督办 through an event sub-process, 撤回)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from SpiffWorkflow.util.task import TaskState

from app.engine import (
    DefinitionInvalid,
    MessageNotExpected,
    ScriptFailed,
    TaskNotReady,
    deploy_definition,
    fire_due_timers,
    send_message,
    start_workflow,
)
from app.engine.serialization import load_specs, load_state
from tests.unit.engine_facade.conftest import DEPLOY_ARGS, FORMS, NOW, START_DATA, bpmn


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


def timer_of(kind: str, expression: str, **start_variables: object):
    """supervised.bpmn with its boundary timer made a `kind` (timeDuration, timeDate, timeCycle)."""
    xml = bpmn("supervised.bpmn", TIMER=expression).replace(b"timeDuration>", f"{kind}>".encode())
    return deploy_definition(xml, FORMS, **{**DEPLOY_ARGS, "start_variables": {
        **DEPLOY_ARGS["start_variables"], **start_variables}})


def times_marked(deployed, run) -> int:
    """How often the timer's path (mark_overdue) has run."""
    workflow = load_state(load_specs(deployed.spec_json), run.state_json, NOW)
    return sum(1 for t in workflow.get_tasks() if t.task_spec.name == "mark_overdue" and t.state == TaskState.COMPLETED)


def test_a_fixed_date_timer_fires_at_its_date_and_not_before():
    deployed = timer_of("timeDate", '"2026-01-07T17:30:00+00:00"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    assert [t.fire_at for t in run.timers] == [datetime(2026, 1, 7, 17, 30, tzinfo=UTC)]
    early = fire_due_timers(deployed.spec_json, run.state_json, datetime(2026, 1, 7, 17, 29, 59, tzinfo=UTC))
    assert times_marked(deployed, early) == 0 and len(early.timers) == 1
    due = fire_due_timers(deployed.spec_json, early.state_json, datetime(2026, 1, 7, 17, 30, tzinfo=UTC))
    assert times_marked(deployed, due) == 1 and due.timers == [] and due.data["overdue"] is True


def test_a_naive_fixed_date_is_read_in_the_zone_of_the_clock():
    beijing = NOW.astimezone(timezone(timedelta(hours=8)))
    deployed = timer_of("timeDate", '"2026-01-07T09:00:00"')
    run = start_workflow(deployed.spec_json, START_DATA, beijing)
    assert run.timers[0].fire_at == datetime(2026, 1, 7, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def test_a_fixed_date_from_task_data_and_the_date_helpers():
    deployed = timer_of("timeDate", "date(2026, 1, 9)")
    assert start_workflow(deployed.spec_json, START_DATA, NOW).timers[0].fire_at == datetime(2026, 1, 9, tzinfo=UTC)
    deployed = timer_of("timeDate", "iso(add_days(today(), 3))")
    assert start_workflow(deployed.spec_json, START_DATA, NOW).timers[0].fire_at == datetime(2026, 1, 8, tzinfo=UTC)
    deployed = timer_of("timeDate", "answer_by", answer_by=None)
    run = start_workflow(deployed.spec_json, {**START_DATA, "answer_by": "2026-02-01T08:00:00+00:00"}, NOW)
    assert run.timers[0].fire_at == datetime(2026, 2, 1, 8, 0, tzinfo=UTC)


def test_a_fixed_date_already_past_fires_at_the_first_refresh():
    deployed = timer_of("timeDate", '"2026-01-01T00:00:00+00:00"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    fired = fire_due_timers(deployed.spec_json, run.state_json, NOW)
    assert times_marked(deployed, fired) == 1 and fired.timers == []


def test_a_repeating_timer_fires_its_count_of_times_one_interval_apart():
    deployed = timer_of("timeCycle", '"R2/PT12H"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    assert [t.fire_at for t in run.timers] == [NOW + timedelta(hours=12)]
    seen = []
    for hours in (11, 12, 13, 24, 48):
        run = fire_due_timers(deployed.spec_json, run.state_json, NOW + timedelta(hours=hours))
        seen.append((hours, times_marked(deployed, run), [t.fire_at - NOW for t in run.timers]))
    assert seen == [
        (11, 0, [timedelta(hours=12)]),
        (12, 1, [timedelta(hours=24)]),
        (13, 1, [timedelta(hours=24)]),
        (24, 2, []),
        (48, 2, []),
    ]
    assert [t.spec_name for t in run.tasks] == ["handle"]  # non-interrupting: the task still waits


def test_a_repeating_timer_with_a_start_date_begins_there():
    deployed = timer_of("timeCycle", '"R3/2026-01-06T09:00:00+00:00/PT1H"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    assert run.timers[0].fire_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    run = fire_due_timers(deployed.spec_json, run.state_json, datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    assert run.timers[0].fire_at == datetime(2026, 1, 6, 10, 0, tzinfo=UTC)


def test_a_repeating_timer_with_an_end_date_counts_back_from_it():
    deployed = timer_of("timeCycle", '"R2/PT1H/2026-01-06T12:00:00+00:00"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    assert run.timers[0].fire_at == datetime(2026, 1, 6, 11, 0, tzinfo=UTC)


def test_an_unbounded_repeating_timer_keeps_waiting_after_each_fire():
    deployed = timer_of("timeCycle", '"R/PT1H"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    for hours in (1, 2, 3):
        run = fire_due_timers(deployed.spec_json, run.state_json, NOW + timedelta(hours=hours))
    assert times_marked(deployed, run) == 3
    assert [t.fire_at for t in run.timers] == [NOW + timedelta(hours=4)]


def test_a_repeating_timer_is_cancelled_with_its_task():
    deployed = timer_of("timeCycle", '"R5/PT1H"')
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    run = fire_due_timers(deployed.spec_json, run.state_json, NOW + timedelta(hours=1))
    run = send_message(deployed.spec_json, run.state_json, "withdraw", {}, NOW + timedelta(hours=1))
    assert (run.finished, run.timers) == (True, [])


@pytest.mark.parametrize("expression", ['"R2/2026-01-06T09:00:00+00:00/2026-01-07T09:00:00+00:00"', '"R2/xyz"'])
def test_a_cycle_that_cannot_run_is_refused_at_deploy(expression):
    with pytest.raises(DefinitionInvalid, match="循环定时") as info:
        timer_of("timeCycle", expression)
    assert info.value.element_id == "overdue_timer"


@pytest.mark.parametrize(("kind", "value"), [("timeDate", "next tuesday"), ("timeDuration", "two days"),
                                             ("timeCycle", "R2/often")])
def test_a_timer_value_from_task_data_that_cannot_run_stops_the_run_naming_the_timer(kind, value):
    deployed = timer_of(kind, "answer_by", answer_by=None)
    with pytest.raises(ScriptFailed, match="不是有效的") as info:
        start_workflow(deployed.spec_json, {**START_DATA, "answer_by": value}, NOW)
    assert info.value.element_id == "overdue_timer"
