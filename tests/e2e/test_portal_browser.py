"""The citizens' portal in Chromium at a phone's 375×667 and a desktop's 1366×768, on SQLite and PostgreSQL:
submit with a photo, the SMS receipt, look-up both ways, the handler's reply, 不满意 → 重办, 复查 on a 信访
case, and the same page for a wrong code and an unknown number. The staff steps in between go through the
services (as the staff pages would); screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from app.models import Case, HumanTask, SmsMessage, Unit, User
from app.services import tasks
from app.services.actors import Actor
from app.services.admin import DayEntry, confirm_year
from app.services.auth import actor_for
from tests.e2e.conftest import SCREENSHOTS

PHONE, ID_NUMBER = "13900139000", "11010519491231002X"
SIZES = {"phone": {"width": 375, "height": 667}, "desktop": {"width": 1366, "height": 768}}


@pytest.fixture
def citizen(chromium: Any, served: Any, request: pytest.FixtureRequest) -> Any:
    size = getattr(request, "param", "phone")
    context = chromium.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.size, page.errors = size, errors  # type: ignore[attr-defined]
    yield page
    context.close()
    assert not errors, errors


def shot(page: Any, served: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{served.name}-portal-{page.size}-{name}.png"), full_page=True)


def photo(tmp_path: Path) -> Path:
    image, out = Image.new("RGB", (320, 240), "orange"), io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    image.save(out, "JPEG", exif=exif)
    path = tmp_path / "路面.jpg"
    path.write_bytes(out.getvalue())
    return path


def fits(page: Any) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def staff(served: Any, staff_no: str) -> Actor:
    with served.platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def complete(served: Any, staff_no: str, case_id: int, step: str, **data: Any) -> None:
    with served.platform.db.reading() as session:
        task_id = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.spec_name == step,
                                                            HumanTask.state == "ready"))
    assert task_id, f"no ready {step}"
    tasks.complete_task(served.platform, staff(served, staff_no), task_id, data)


def unit(served: Any, code: str) -> int:
    with served.platform.db.reading() as session:
        return int(session.scalar(select(Unit.id).where(Unit.code == code)))


def submit(page: Any, served: Any, tmp_path: Path, *, subject: str, petition: bool = False) -> tuple[str, str, int]:
    page.goto(served.url + "/portal")
    fits(page)
    page.select_option("#kind", "complaint")
    if petition:
        page.check("input[name=petition]")
        page.select_option("#category", "城乡建设/房屋质量")
    page.fill("#subject", subject)
    page.fill("#content", "北塘家园5号楼门口路面塌陷,雨天积水,老人出行不便。")
    page.fill("#location", "北塘区北塘街道北塘家园5号楼")
    page.fill("#name", "李四")
    page.fill("#phone", PHONE)
    page.fill("#id_number", ID_NUMBER)
    page.set_input_files("#attachments", str(photo(tmp_path)))
    shot(page, served, "submit")
    page.click("#submit")
    number, code = page.inner_text("#number"), page.inner_text("#query-code")
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{12}", code)
    fits(page)
    shot(page, served, "done")
    with served.platform.db.reading() as session:
        case_id = int(session.scalar(select(Case.id).where(Case.number == number)))
        sms = session.scalars(select(SmsMessage.body).where(SmsMessage.case_id == case_id,
                                                            SmsMessage.template == "receipt")).one()
    assert number in sms and code in sms  # the receipt SMS (log gateway) carries both
    return number, code, case_id


def by_code(page: Any, served: Any, number: str, code: str) -> None:
    page.goto(served.url + "/portal/lookup")
    page.fill("#number", number)
    page.fill("#query_code", code)
    page.click("#lookup-code button[type=submit]")
    page.wait_for_load_state("load")  # the answer with its stylesheet applied: its text is read as laid out


@pytest.mark.parametrize("citizen", ["phone", "desktop"], indirect=True)
def test_submit_look_up_see_the_reply_rate_unsatisfied_and_see_it_reopened(citizen, served, tmp_path):
    page = citizen
    number, code, case_id = submit(page, served, tmp_path, subject=f"门口路面塌陷({page.size})")

    by_code(page, served, number, code)
    assert page.inner_text("#status") == "待受理"
    complete(served, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    complete(served, "dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=unit(served, "cgj"),
             directly_designated=False, dispatch_note="内部备注")
    complete(served, "cg01", case_id, "sign_for")
    complete(served, "cg01", case_id, "handle", handle_action="reply", handling_notes="内部处理记录")
    complete(served, "cg01", case_id, "reply", reply_outcome="support", reply_opinion="已安排维修,三日内修复。")
    page.reload()
    assert page.inner_text("#reply") == "已安排维修,三日内修复。"
    assert "已派单至市城管局" in page.inner_text("#timeline")
    assert "内部" not in page.content() and "cg01" not in page.content()
    fits(page)
    shot(page, served, "replied")
    page.check("input[name=satisfaction][value=unsatisfied]")
    page.fill("#comment", "仍有积水")
    page.click("#rate-form button[type=submit]")
    assert "不满意,已退回承办单位重新办理" in page.inner_text("#timeline")
    shot(page, served, "reopened")

    # the other way in: phone + the last 6 of the ID number + the SMS code
    page.goto(served.url + "/portal/lookup")
    page.fill("#phone", PHONE)
    page.fill("#id_tail", ID_NUMBER[-6:])
    page.click("#lookup-sms button[type=submit]")
    with served.platform.db.reading() as session:
        body = session.scalars(select(SmsMessage.body).where(SmsMessage.template == "portal_code")
                               .order_by(SmsMessage.id.desc())).first()
    page.fill("#sms_code", re.search(r"验证码为(\d{6})", body).group(1))  # type: ignore[union-attr,arg-type]
    page.click("#lookup-phone button[type=submit]")
    page.click(f"text={number}")
    assert number in page.inner_text("h1") and "不满意" in page.inner_text("#timeline")
    shot(page, served, "by-phone")


def test_a_wrong_code_and_an_unknown_number_get_the_same_page(citizen, served, tmp_path):
    page = citizen
    number, code, _ = submit(page, served, tmp_path, subject="同一答复")
    by_code(page, served, number, "ABCDEFGHJKLM")
    wrong = page.inner_text("main")
    by_code(page, served, "12345-20261125-999999", code)
    unknown = page.inner_text("main")
    assert wrong == unknown and "受理号或查询码不正确" in wrong
    shot(page, served, "not-found")
    page.errors[:] = [e for e in page.errors if "status of 404" not in e]  # the two answers themselves


@pytest.mark.parametrize("citizen", ["desktop"], indirect=True)
def test_a_petitioner_asks_for_review_online(citizen, served, tmp_path):
    confirm_year(served.platform, Actor(label="sysadmin", permissions=frozenset({"calendar.edit"})), 2027,
                 [DayEntry(date(2027, 1, 1), False, "元旦")], "测试")
    page = citizen
    number, code, case_id = submit(page, served, tmp_path, subject="新房漏水", petition=True)
    complete(served, "dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    complete(served, "dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=unit(served, "zjj"),
             directly_designated=False)
    complete(served, "zj01", case_id, "sign_for")
    complete(served, "zj01", case_id, "handle", handle_action="reply", handling_notes="已核实")
    complete(served, "zj01", case_id, "reply", reply_outcome="not_support", reply_opinion="诉求缺乏依据,不予支持。",
             reply_basis="《信访工作条例》第三十二条")
    by_code(page, served, number, code)
    page.check("input[name=satisfaction][value=basically_satisfied]")
    page.click("#rate-form button[type=submit]")
    page.fill("#reason", "处理意见认定事实不清,请求复查。")
    shot(page, served, "review-form")
    page.click("#review-form button[type=submit]")
    assert "复查申请已提交" in page.inner_text("main")
    assert page.inner_text("#status") == "复查中"
    shot(page, served, "review-asked")
