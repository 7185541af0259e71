"""Running a case: tasks, forms, status, call activities, and scripts that stay restricted at run time."""

from __future__ import annotations

import json

import pytest

from app.engine import (
    FormInvalid,
    ScriptFailed,
    TaskNotReady,
    complete_task,
    deploy_definition,
    fire_due_timers,
    start_workflow,
)
from app.engine.scripting import RestrictedScriptEngine
from app.engine.serialization import SERIALIZER_VERSION, load_specs, load_state
from tests.unit.engine_facade.conftest import (
    DEPLOY_ARGS,
    FORMS,
    NOW,
    START_DATA,
    bpmn,
    deploy_basic,
    replace_in_spec,
)


def test_a_started_case_waits_at_its_first_user_task(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    [task] = run.tasks
    assert (task.spec_name, task.title, task.role, task.form) == ("sign_for", "签收", "dispatcher", "sign_for.json")
    assert task.unit_id == 7  # unitVariable = centre_unit_id
    assert task.deadline_rule == "hotline.accept"
    assert run.status == "待派单"
    assert not run.finished
    assert run.data["prepared"] is True and run.data["case_id"] == 1
    assert run.serializer_version == SERIALIZER_VERSION


def test_state_json_holds_the_instance_only(basic):
    state = json.loads(start_workflow(basic.spec_json, START_DATA, NOW).state_json)
    assert "spec" not in state and "subprocess_specs" not in state
    assert state["serializer_version"] == SERIALIZER_VERSION


def test_completing_tasks_walks_the_case_to_its_end_status(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    run = complete_task(basic.spec_json, run.state_json, run.tasks[0].task_id, {"accepted": True}, NOW)
    [reply] = run.tasks
    assert reply.spec_name == "reply" and reply.role == "handler"
    assert reply.deadline_rule == "hotline.complaint"  # deadlineRuleExpression 'hotline.' + kind
    assert run.status == "办理中"
    run = complete_task(basic.spec_json, run.state_json, reply.task_id, {"answer": "已修复"}, NOW)
    assert (run.tasks, run.status, run.finished) == ([], "已办结", True)
    assert run.data["answer"] == "已修复"


def test_the_default_flow_ends_with_the_rejected_status(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    run = complete_task(basic.spec_json, run.state_json, run.tasks[0].task_id, {"accepted": False}, NOW)
    assert (run.status, run.finished) == ("不予受理", True)


def test_completing_a_task_twice_is_refused(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    task_id = run.tasks[0].task_id
    after = complete_task(basic.spec_json, run.state_json, task_id, {"accepted": True}, NOW)
    with pytest.raises(TaskNotReady):
        complete_task(basic.spec_json, after.state_json, task_id, {"accepted": True}, NOW)


@pytest.mark.parametrize("task_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_task_is_not_ready(basic, task_id):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    with pytest.raises(TaskNotReady):
        complete_task(basic.spec_json, run.state_json, task_id, {"accepted": True}, NOW)


def test_a_task_that_is_not_a_user_task_cannot_be_completed(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    workflow = load_state(load_specs(basic.spec_json), run.state_json, NOW)
    done = next(t for t in workflow.get_tasks() if t.task_spec.name == "prepare")
    with pytest.raises(TaskNotReady):
        complete_task(basic.spec_json, run.state_json, str(done.id), {}, NOW)


def test_form_errors_are_chinese_and_name_the_field(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    with pytest.raises(FormInvalid) as info:
        complete_task(basic.spec_json, run.state_json, run.tasks[0].task_id, {"note": "太长了" * 5}, NOW)
    assert info.value.errors == {"accepted": "「是否受理」为必填项", "note": "「备注」最多 10 个字符"}
    with pytest.raises(FormInvalid) as info:
        complete_task(basic.spec_json, run.state_json, run.tasks[0].task_id, {"accepted": "yes"}, NOW)
    assert info.value.errors == {"accepted": "「是否受理」应为是/否"}


def test_keys_outside_the_form_never_reach_task_data(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    form = {"accepted": True, "lead_unit_id": 99, "kind": "praise", "_getattr_": "x"}
    run = complete_task(basic.spec_json, run.state_json, run.tasks[0].task_id, form, NOW)
    assert run.data["lead_unit_id"] is None and run.data["kind"] == "complaint"
    assert "_getattr_" not in run.data


def test_a_call_activity_runs_its_called_process():
    library = {"co_handling.bpmn": bpmn("co_handling.bpmn")}
    deployed = deploy_definition(
        bpmn("parent.bpmn", CALLED="co_handling"), FORMS, library=library, **DEPLOY_ARGS
    )
    run = start_workflow(deployed.spec_json, {**START_DATA, "assisting_unit_ids": [3, 4]}, NOW)
    [approve] = run.tasks
    assert (approve.spec_name, approve.role, run.status) == ("approve", "leader", "待审批")
    run = complete_task(deployed.spec_json, run.state_json, approve.task_id, {"approved": True}, NOW)
    assert (run.finished, run.status, run.data["unit_count"], run.data["approved"]) == (True, "已办结", 2, True)


def test_an_attack_inserted_into_the_spec_after_deploy_fails_at_run(basic):
    tampered = replace_in_spec(basic.spec_json, "prepared = True", "import os\nos.system('touch /tmp/pwned')")
    with pytest.raises(ScriptFailed) as info:
        start_workflow(tampered, START_DATA, NOW)
    assert info.value.element_id == "prepare"
    assert "import" in info.value.message


@pytest.mark.parametrize(
    "attack",
    [
        "x = ''.join.__self__",
        "x = '{0.__class__}'.format(1)",
        "x = (lambda: 0).__globals__",
        "x = [c for c in ().__class__.__base__.__subclasses__()]",
        "while True: pass",
        "x = 9**9**9",
    ],
)
def test_tampered_scripts_are_refused_at_run_not_executed(basic, attack):
    tampered = replace_in_spec(basic.spec_json, "prepared = True", attack)
    with pytest.raises(ScriptFailed) as info:
        start_workflow(tampered, START_DATA, NOW)
    assert info.value.element_id == "prepare"


def test_a_script_that_loops_too_long_is_stopped(basic):
    tampered = replace_in_spec(basic.spec_json, "prepared = True", "n = 0\nwhile n >= 0:\n    n += 1")
    with pytest.raises(ScriptFailed, match=r"脚本执行(步数|时间)超过上限.*已被终止") as info:
        start_workflow(tampered, START_DATA, NOW)
    assert info.value.element_id == "prepare"


def test_a_reloaded_workflow_still_runs_restricted(basic):
    run = start_workflow(basic.spec_json, START_DATA, NOW)
    # The gateway condition runs only after the reload in complete_task; plain Python would accept it.
    tampered = replace_in_spec(basic.spec_json, "accepted == True", "'{0.__class__}'.format(1) != ''")
    workflow = load_state(load_specs(tampered), run.state_json, NOW)
    assert type(workflow.script_engine) is RestrictedScriptEngine
    with pytest.raises(ScriptFailed) as info:
        complete_task(tampered, run.state_json, run.tasks[0].task_id, {"accepted": True}, NOW)
    assert info.value.element_id == "accepted_gateway"


def test_a_condition_error_names_the_gateway():
    # Deploy refuses a name nothing provides; here the platform promised one and then did not send it.
    xml = bpmn("basic.bpmn", SCRIPT="prepared = True", CONDITION="missing_variable == 1")
    deployed = deploy_definition(xml, FORMS, **{**DEPLOY_ARGS, "start_variables": {
        **DEPLOY_ARGS["start_variables"], "missing_variable": None}})
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    with pytest.raises(ScriptFailed, match="missing_variable") as info:
        complete_task(deployed.spec_json, run.state_json, run.tasks[0].task_id, {"accepted": True}, NOW)
    assert info.value.element_id == "accepted_gateway"


def test_a_script_may_not_leave_unsaveable_data(basic):
    tampered = replace_in_spec(basic.spec_json, "prepared = True", "pairs = zip([1], [2])")
    with pytest.raises(ScriptFailed, match="pairs"):
        start_workflow(tampered, START_DATA, NOW)


def test_scripts_see_the_injected_clock_and_date_helpers():
    deployed = deploy_basic(script="due = iso(add_days(today(), 3))\nyear = now().year")
    run = start_workflow(deployed.spec_json, START_DATA, NOW)
    assert (run.data["due"], run.data["year"]) == ("2026-01-08", 2026)


def test_a_bpmn_loop_without_a_wait_is_stopped():
    deployed = deploy_definition(bpmn("endless.bpmn"), FORMS,
                                 **{**DEPLOY_ARGS, "start_variables": {"n": None, "limit": None}})
    assert start_workflow(deployed.spec_json, {"n": 0, "limit": 5}, NOW).data["n"] == 5
    # Stopped by one of the run's bounds (the task tree's depth or the steps per run), in the loop.
    with pytest.raises(ScriptFailed, match="循环") as info:
        start_workflow(deployed.spec_json, {"n": 0, "limit": 10**9}, NOW)
    assert info.value.element_id in {"merge", "step", "check"}
    assert "流程任务树过深" in info.value.message or "步骤过多或过久" in info.value.message


@pytest.mark.parametrize("state_json", ['{"case_id": 1}', "[]", "not json"])
def test_a_state_that_is_not_a_saved_workflow_is_a_script_failure_not_a_crash(basic, state_json):
    with pytest.raises(ScriptFailed, match="流程状态无法读取"):
        fire_due_timers(basic.spec_json, state_json, NOW)
