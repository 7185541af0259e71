"""/admin/dictionary and /admin/routing: the 系统管理员's changes act on the next case, audited before/after."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from app.models import AuditEvent, DictionaryEntry
from tests.integration.test_pages import post_form, ready, text_of, unit_id
from tests.integration.test_routing import accepted, new_case_response, token


def upload(client: Any, text: str) -> Any:
    from tests.conftest import csrf_token_of

    csrf = csrf_token_of(client.get("/admin/dictionary").get_data(as_text=True))
    return client.post("/admin/dictionary/import", data={
        "csrf_token": csrf, "kind": "category", "file": (io.BytesIO(text.encode("utf-8")), "catalogue.csv")},
        content_type="multipart/form-data")


def test_a_new_category_and_rule_propose_the_unit_for_the_next_case(app, client, auth, demo):
    auth.login("sysadmin")
    added = post_form(client, "/admin/dictionary", "/admin/dictionary", {
        "kind": "category", "code": "城乡建设/二次供水", "label": "二次供水", "parent": "城乡建设", "sort": "9",
        "active": "1"})
    assert added.status_code == 302
    dcq, zjj = unit_id(demo, "dcq"), unit_id(demo, "zjj")
    rule = post_form(client, "/admin/routing", "/admin/routing", {
        "category": "城乡建设/二次供水", "area_unit_id": str(dcq), "lead_unit_id": str(zjj), "mode": "direct"})
    assert rule.status_code == 302
    assert "城乡建设/二次供水 × 东城区 → 市住建局" in text_of(client.get("/admin/routing"))
    tried = post_form(client, "/admin/routing", "/admin/routing/try",
                      {"category": "城乡建设/二次供水", "area": str(unit_id(demo, "dcq.hpl"))})
    assert "命中规则:城乡建设/二次供水 × 东城区 → 市住建局(直派)" in text_of(tried)
    listed = client.get("/api/v1/dictionary/category", headers=token(client, "agent01")).get_json()["items"]
    assert {"code": "城乡建设/二次供水", "label": "二次供水", "parent": "城乡建设", "active": True, "sort": 9} in listed
    auth.logout()

    case_id = accepted(client, demo, "城乡建设/二次供水", unit_id(demo, "dcq.hpl"))
    auth.login("dispatch01")
    page = client.get("/dispatch")
    assert "依据派单目录: 城乡建设/二次供水 × 东城区 → 市住建局" in text_of(page)
    assert f'<option value="{zjj}" selected>' in page.get_data(as_text=True)
    assert ready(demo, case_id, "dispatch")
    with demo.db.reading() as session:
        saved = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "dictionary.saved")).all()
    assert saved[0]["before"] is None and saved[0]["after"]["code"] == "城乡建设/二次供水"


def test_a_disabled_category_is_refused_at_intake_at_once_and_the_change_is_audited(app, client, auth, demo):
    assert new_case_response(client).status_code == 201
    auth.login("sysadmin")
    response = post_form(client, "/admin/dictionary?kind=category", "/admin/dictionary", {
        "kind": "category", "code": "城乡建设/供水", "label": "供水", "parent": "城乡建设", "sort": "0"})
    assert response.status_code == 302  # the box unticked: disabled
    refused = new_case_response(client)
    assert refused.status_code == 422 and "category" in refused.get_json()["details"]
    with demo.db.reading() as session:
        entry = session.scalars(select(DictionaryEntry).where(DictionaryEntry.code == "城乡建设/供水")).one()
        change = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "dictionary.saved")).one()
    assert entry.active is False  # disabled, not deleted
    assert (change["before"]["active"], change["after"]["active"]) == (True, False)
    bad = post_form(client, "/admin/dictionary", "/admin/dictionary",
                    {"kind": "category", "code": "x y", "label": "", "parent": "没有"})
    assert bad.status_code == 422 and "编码必填" in text_of(bad) and "名称必填" in text_of(bad)


def test_a_catalogue_with_a_bad_row_is_refused_naming_the_row_and_nothing_is_stored(app, client, auth, demo):
    auth.login("sysadmin")
    bad = ("kind,code,label,parent,sort,active\n"
           "category,01,城乡建设管理,,1,1\n"
           "category,0101,房屋管理,01,1,1\n"
           "category,0102,供水,09,2,1\n")
    response = upload(client, bad)
    assert response.status_code == 422 and "第 4 行" in text_of(response) and "09" in text_of(response)
    with demo.db.reading() as session:
        assert session.scalar(select(DictionaryEntry.id).where(DictionaryEntry.code == "01")) is None
    good = bad.replace(",09,", ",01,") + "channel,hotline_app,12345小程序,,9,1\n"
    response = upload(client, good)
    assert response.status_code == 302
    assert "新增 4 条" in text_of(client.get("/admin/dictionary"))
    items = {i["code"]: i for i in client.get("/api/v1/dictionary/category",
                                               headers=token(client, "agent01")).get_json()["items"]}
    assert items["0102"]["parent"] == "01" and items["0101"]["label"] == "房屋管理"
    exported = client.get("/admin/dictionary/export.csv?kind=category").get_data(as_text=True)
    assert exported.startswith("\ufeffkind,code,label,parent,sort,active") and "category,0102,供水,01,2,1" in exported
    assert upload(client, exported.removeprefix("\ufeff")).status_code == 302  # the export imports back unchanged


def test_only_the_system_administrator_opens_the_configuration_pages(app, client, auth, demo):
    auth.login("dispatch01")
    for path in ("/admin/dictionary", "/admin/routing"):
        assert client.get(path).status_code == 403
    auth.logout()
    auth.login("sysadmin")
    page = client.get("/admin/dictionary?kind=channel").get_data(as_text=True)
    assert "<code>mailbox</code>" in page and 'value="市长信箱"' in page
    refused = post_form(client, "/admin/routing", "/admin/routing",
                        {"category": "城乡建设/供水", "lead_unit_id": "999999", "mode": "direct"})
    assert refused.status_code == 422 and "单位不存在:999999" in text_of(refused)


def test_every_list_the_issue_names_is_seeded_with_the_codes_the_forms_offer(client, demo):
    import json

    from app.documents.kinds import KINDS as DOCUMENT_KINDS
    from app.services.definitions import FORMS

    headers = token(client, "agent01")

    def codes(kind: str) -> dict[str, str]:
        return {i["code"]: i["label"] for i in client.get(f"/api/v1/dictionary/{kind}", headers=headers)
                .get_json()["items"]}

    def offered(form: str, field: str) -> set[str]:
        schema = json.loads((FORMS / form).read_text(encoding="utf-8"))
        return {o["const"] for o in schema["properties"][field]["oneOf"]}

    assert codes("satisfaction") == {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
    assert set(codes("satisfaction")) == offered("follow_up.json", "satisfaction")
    assert offered("accept.json", "rejection_reason") <= set(codes("reject_reason"))  # a notice names its grounds
    assert codes("document_type") == {k.key: k.title for k in DOCUMENT_KINDS.values()}
    for kind in ("return_reason", "extension_reason", "pause_reason"):
        assert codes(kind), kind
