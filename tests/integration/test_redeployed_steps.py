"""The pages follow a redeployed definition with no code change: the dispatch preview and the leader's queues
are read from the deployed definition (services.steps → app.engine.describe_definition)."""

from __future__ import annotations

from test_pages import actor, complete, ready, register, text_of

from app.services import definitions
from app.services.definitions import stock_files
from app.services.platform import Platform
from tests.conftest import Auth


def deploy_variant(platform: Platform, old: str, new: str) -> None:
    """Deploy workflows/hotline_order.bpmn with one piece replaced, as a sysadmin would from the admin page."""
    bpmn, forms = stock_files()
    xml = bpmn["hotline_order.bpmn"].decode()
    assert old in xml
    library = {name: data for name, data in bpmn.items() if name != "hotline_order.bpmn"}
    definitions.deploy_definition(platform, actor(platform, "sysadmin"), xml.replace(old, new).encode(), forms,
                                  library)


def test_the_dispatch_preview_follows_a_redeployed_rule_on_sign_for(app, client, auth: Auth, demo):
    before = register(demo)
    complete(demo, "dispatch01", before, "accept", accept_decision="accept", kind="complaint")
    deploy_variant(demo, 'name="deadlineRule" value="hotline.accept"', 'name="deadlineRule" value="hotline.return"')
    after = register(demo)
    complete(demo, "dispatch01", after, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")

    old_version = text_of(client.get("/dispatch", query_string={"task": _dispatch_task(demo, before)}))
    new_version = text_of(client.get("/dispatch", query_string={"task": _dispatch_task(demo, after)}))

    # Wednesday 2026-11-25: 退单 gives 2 working days → Friday; the case started before keeps its version.
    assert "转送 签收 退单 2个工作日 至 2026-11-27 23:59" in new_version
    assert "转送 签收 承办单位受理 1个工作日 至 2026-11-26 23:59" in old_version
    assert "自办 办理 投诉类办结 15个工作日 至 2026-12-16 23:59" in new_version


def test_the_dispatch_preview_shows_each_step_a_mode_reaches_including_the_leaders_instruction(
        app, client, auth: Auth, demo):
    case_id = register(demo)
    complete(demo, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    auth.login("dispatch01")

    page = text_of(client.get("/dispatch"))

    assert "交办 领导批示 不计时限 — 签收 承办单位受理 1个工作日 （自领导批示之日起算）" in page
    assert "协办 签收 承办单位受理 1个工作日 至 2026-11-26 23:59 协办意见 派单后按流程确定 —" in page


def test_the_leader_queues_follow_a_renamed_approval_step(app, client, auth: Auth, demo):
    deploy_variant(demo, '<bpmn:userTask id="approve_rejection" name="不予受理审批">',
                   '<bpmn:userTask id="approve_rejection" name="不予受理复核">')
    auth.login("leader01")

    page = text_of(client.get("/leader"))

    assert "不予受理复核 0 件" in page and "不予受理审批" not in page
    assert "延期审批 0 件" in page and "退回审核 0 件" in page and "领导批示 0 件" in page


def _dispatch_task(platform: Platform, case_id: int) -> str:
    return ready(platform, case_id, "dispatch").id
