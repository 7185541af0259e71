"""The process editor in a real browser: open hotline_order, add 「现场核查」 after 签收 with a new form,
see the lint error until the form is set, dry-run it, deploy version 2, see a new case reach the new step
on the right unit's worklist, compare the versions, and move the running cases that can move."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect

from tests.integration.lifecycle_driver import Api, to_sign_for, unit_ids

# What an administrator does with the mouse: a user task appended below 签收 and the flow led through it.
APPEND_AFTER_SIGN_FOR = """() => {
  const m = window.HuiyinModeler.modeler;
  const registry = m.get('elementRegistry'), modeling = m.get('modeling');
  const sign = registry.get('sign_for'), merge = registry.get('merge_signed');
  m.get('canvas').setRootElement(m.get('canvas').findRoot(sign));
  const shape = modeling.appendShape(sign, {type: 'bpmn:UserTask'}, {x: sign.x + 50, y: sign.y + 190});
  modeling.removeElements([registry.get('flow_hotline_order_handling_5')]);
  modeling.connect(shape, merge);
  m.get('selection').select(shape);
  return shape.id;
}"""


def open_editor(desk: Any, key: str = "hotline_order") -> tuple[Any, Any]:
    admin = desk("sysadmin")
    page = admin.go(f"/admin/definitions/{key}/edit")
    page.wait_for_selector("body[data-modeler-ready='1']", timeout=20_000)
    return admin, page


def open_group(page: Any, group: str) -> None:
    header = page.locator(f"[data-group-id='group-{group}'] .bio-properties-panel-group-header")
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def problems(page: Any) -> str:
    return str(page.inner_text("#problems"))


def test_the_stock_definitions_open_and_export_unchanged_passing_the_deploy_checks(desk: Any) -> None:
    for key in ("hotline_order", "petition"):
        admin, page = open_editor(desk, key)
        assert page.locator("#problem-count").inner_text() == "0", problems(page)
        page.click("#check")  # the server's deploy checks on what the modeler exports
        expect(page.locator("#modeler-status")).to_contain_text("检查通过", timeout=20_000)
        exported = page.evaluate("async () => (await window.HuiyinModeler.modeler.saveXML()).xml")
        assert f'<bpmn:process id="{key}"' in exported and exported.count("spiffworkflow:property ") >= 40
        assert not admin.errors, admin.errors
        admin.close()


def test_an_administrator_adds_a_step_dry_runs_deploys_and_moves_running_cases(desk: Any, served: Any) -> None:
    api, units = Api(served.app.test_client()), unit_ids(served.platform)
    waiting, signed = to_sign_for(api, units), to_sign_for(api, units)
    api.complete("cg01", signed, "sign_for", sign_note="已签收")

    admin, page = open_editor(desk)
    admin.shot("modeler-01-open")
    new_id = page.evaluate(APPEND_AFTER_SIGN_FOR)
    expect(page.locator("#problems")).to_contain_text("用户任务没有表单")
    assert page.locator(f".djs-overlay-container [data-container-id='{new_id}'] .huiyin-badge.error").count() == 1
    admin.shot("modeler-02-lint-error")

    open_group(page, "general")
    page.fill("#bio-properties-panel-name", "现场核查")
    page.click("[role=tab][data-tab=forms]")
    page.fill("#form-new-name", "site_check.json")
    page.fill("#form-new-title", "现场核查")
    page.click("#form-new")
    page.click("#add-field")
    page.click("#add-field")
    rows = page.locator("table.form-fields tbody tr")
    rows.nth(0).locator("[name=field-name]").fill("site_result")
    rows.nth(0).locator("[name=field-name]").press("Tab")
    rows.nth(0).locator("[name=field-title]").fill("核查结果")
    rows.nth(0).locator("[name=field-title]").press("Tab")
    rows.nth(0).locator("[name=field-required]").check()
    rows.nth(1).locator("[name=field-title]").fill("核查照片说明")
    rows.nth(1).locator("[name=field-title]").press("Tab")
    expect(page.locator("#form-preview")).to_contain_text("核查结果")
    admin.shot("modeler-03-form")

    page.evaluate(f"() => {{ const m = window.HuiyinModeler.modeler; "
                  f"m.get('selection').select(m.get('elementRegistry').get('{new_id}')); }}")
    open_group(page, "huiyin")
    page.select_option("#bio-properties-panel-huiyin-form", "site_check.json")
    page.select_option("#bio-properties-panel-huiyin-rule", "hotline.complaint")
    page.select_option("#bio-properties-panel-huiyin-status", "handling")
    expect(page.locator("#problems")).not_to_contain_text("用户任务没有表单")
    assert "依据" in page.inner_text("[data-group-id='group-huiyin']")  # the rule's legal basis is shown
    exported = page.evaluate("async () => (await window.HuiyinModeler.modeler.saveXML()).xml")
    task_xml = re.search(rf'<bpmn:userTask id="{new_id}".*?</bpmn:userTask>', exported, re.S)
    assert task_xml, exported[:500]
    properties = dict(re.findall(r'<spiffworkflow:property name="(\w+)" value="([^"]*)"', task_xml.group(0)))
    assert properties == {"formJsonSchemaFilename": "site_check.json", "deadlineRule": "hotline.complaint",
                          "caseStatus": "handling"}  # exactly what the engine reads, nothing else

    page.click("#check")
    expect(page.locator("#modeler-status")).to_contain_text("检查通过", timeout=20_000)

    page.click("[role=tab][data-tab=dry-run]")
    page.fill("#dry-answers", json.dumps({
        "accept": {"accept_decision": "accept", "kind": "complaint"},
        "dispatch": {"dispatch_mode": "transfer", "lead_unit_id": units["cgj"], "directly_designated": False},
        "sign_for": {"sign_note": "已签收"}}))
    page.click("#dry-run")
    step = page.locator("#dry-steps tr", has_text="现场核查")
    step.wait_for()
    cells = step.locator("td").all_inner_texts()
    assert cells[1] == "handler" and "市城管局" in cells[2] and re.match(r"\d{4}-\d{2}-\d{2}", cells[3]), cells
    admin.shot("modeler-04-dry-run")

    page.fill("#deploy-note", "签收后增加现场核查")
    if page.locator("#warnings-comment-row").is_visible():  # the stock process's own warnings, accepted with a word
        page.fill("#warnings-comment", "既有警告,本次未改动")
    assert page.locator("#deploy").is_enabled()
    page.click("#deploy")
    expect(page.locator("#modeler-status")).to_contain_text("已部署为第 2 版", timeout=20_000)
    assert "第 2 版" in page.inner_text("#deployed")

    fresh = to_sign_for(api, units)
    api.complete("cg01", fresh, "sign_for", sign_note="已签收")
    number = api.case(fresh)["number"]
    handler = desk("cg01")
    row = handler.go("/worklist").locator("table.worklist tr", has_text=number)
    assert "现场核查" in row.inner_text()

    page = admin.go("/admin/definitions/hotline_order/diff?first=1&second=2")
    page.wait_for_selector("body[data-diff-ready='1']")
    assert new_id in page.locator("#diff-list tr.added").first.inner_text()
    assert page.evaluate("id => document.getElementById('diff-new').viewer.get('canvas').hasMarker(id, 'diff-added')",
                         new_id)
    # on the top-level diagram, the sub-process holding the new step is marked as changed
    assert page.locator("#diff-new [data-element-id='hotline_order_handling'].diff-changed").count() == 1
    admin.shot("modeler-05-diff")

    page = admin.go("/admin/definitions/hotline_order/migrations?to=2")
    movable = page.locator("section.migration-group.movable", has_text="签收")
    blocked = page.locator("section.migration-group.blocked", has_text="办理")
    assert "签收" in blocked.locator("p.error").inner_text()
    with page.expect_navigation():
        movable.get_by_role("button", name="迁移所选诉求件").click()
    assert f"诉求件 #{waiting} 已迁移到第 2 版" in page.inner_text("main")
    with page.expect_navigation():
        page.locator("section.migration-group.blocked").get_by_role("button", name="迁移所选诉求件").click()
    assert f"诉求件 #{signed} 未迁移" in page.inner_text("main")
    api.complete("cg01", waiting, "sign_for", sign_note="已签收")
    assert api.ready(waiting) == [new_id]
    assert not admin.errors, admin.errors
