"""Printed documents: numbered once, gap-free under concurrency, read back from the PDF, safe to render."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from weasyprint import HTML

from app.documents import KINDS, format_number, short_name
from app.documents.renderer import WeasyPrintRenderer
from app.errors import Conflict, NotFound
from app.models import AuditEvent, Counter, Unit, User
from app.services import intake, tasks
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.cases import RequesterInput
from app.services.documents import document_pdf, issue_document
from app.services.platform import Platform

PHONE = "13812345678"
EVIL = '<img src="file:///etc/passwd"><link rel=attachment href="file:///etc/passwd">'
PASSWD_LINE = "root:x:0:0"


def actor(platform: Platform, staff_no: str) -> Actor:
    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def unit_id(platform: Platform, code: str) -> int:
    with platform.db.reading() as session:
        return session.scalar(select(Unit.id).where(Unit.code == code))


def register(platform: Platform, *, subject: str = "小区夜间施工噪声扰民",
             content: str = "某工地每晚十点后仍在施工,噪声很大。", kind: str = "complaint") -> int:
    case = intake.register_case(platform, actor(platform, "agent01"), intake.CaseInput(
        kind=kind, channel="phone", subject=subject, content=content, category="环境保护/噪声",
        requester=RequesterInput(name="张三丰", phone=PHONE, address="北京市东城区和平里七区12号楼")))
    return int(case["id"])


def ready_task(platform: Platform, case_id: int, spec: str) -> str:
    from app.models import HumanTask

    with platform.db.reading() as session:
        return session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.spec_name == spec,
                                                         HumanTask.state == "ready"))


def dispatch(platform: Platform, case_id: int, mode: str = "transfer", unit: str = "cgj") -> None:
    """受理 then 派单 to the unit, through the real process."""
    dispatcher = actor(platform, "dispatch01")
    tasks.complete_task(platform, dispatcher, ready_task(platform, case_id, "accept"),
                        {"accept_decision": "accept", "kind": "complaint"})
    tasks.complete_task(platform, dispatcher, ready_task(platform, case_id, "dispatch"),
                        {"dispatch_mode": mode, "lead_unit_id": unit_id(platform, unit), "directly_designated": False})


def transferred(platform: Platform, **kwargs: str) -> int:
    case_id = register(platform, **kwargs)
    dispatch(platform, case_id)
    return case_id


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as pdftotext reads it, whitespace removed (table cells wrap where they like)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / f"{tool}.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path)], capture_output=True, text=True, check=True).stdout


def squeeze(text: str) -> str:
    return "".join(text.split())


# ---- over HTTP ---------------------------------------------------------------------------------------


def test_a_transfer_form_prints_its_number_the_units_and_the_matter(demo, client, auth, tmp_path):
    case_id = transferred(demo)
    auth.login("cg01")
    response = client.get(f"/cases/{case_id}/documents/transfer-form.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data, tmp_path)
    for expected in ("办理转送单", "市热线转〔2026〕第1号", "市12345热线中心", "市城管局", "小区夜间施工噪声扰民",
                     "某工地每晚十点后仍在施工,噪声很大。", "15个工作日", "北京市接诉即办工作条例", "2026年11月25日",
                     "回执", "签收人", "张三丰", PHONE):
        assert squeeze(expected) in text, expected


def test_the_pdf_embeds_a_cjk_font(demo, client, auth, tmp_path):
    case_id = transferred(demo)
    auth.login("cg01")
    fonts = poppler("pdffonts", client.get(f"/cases/{case_id}/documents/transfer-form.pdf").data, tmp_path)
    cjk = [line for line in fonts.splitlines() if "WenQuanYi" in line or "CJK" in line]
    assert cjk, fonts
    assert all(line.split()[-5] == "yes" for line in cjk), fonts  # the 'emb' column


def test_a_rare_character_and_an_emoji_print_with_the_fallback_font_embedded(demo, client, auth, tmp_path):
    case = intake.register_case(demo, actor(demo, "agent01"), intake.CaseInput(
        kind="complaint", channel="phone", subject="路灯不亮😀", content="门口路灯坏了。", category="环境保护/噪声",
        requester=RequesterInput(name="张𠀀丰", phone=PHONE, address="北京市东城区和平里七区12号楼")))
    dispatch(demo, int(case["id"]))
    auth.login("cg01")
    pdf = client.get(f"/cases/{case['id']}/documents/transfer-form.pdf").data

    assert "张𠀀丰" in pdf_text(pdf, tmp_path) and "路灯不亮😀" in pdf_text(pdf, tmp_path)
    fonts = poppler("pdffonts", pdf, tmp_path).splitlines()
    hanazono = [line for line in fonts if "HanaMin" in line]
    assert hanazono, fonts  # the glyph came from Hanazono, not an empty box of the main font
    assert all(line.split()[-5] == "yes" for line in hanazono), fonts  # embedded


def test_each_kind_of_document_has_its_own_prefix_and_title(demo, client, auth, tmp_path):
    case_id = transferred(demo)
    tasks.supervise(demo, actor(demo, "leader01"), case_id, "群众反映强烈,请加快办理")
    auth.login("cg01")
    letter = pdf_text(client.get(f"/cases/{case_id}/documents/assignment-letter.pdf").data, tmp_path)
    notice = pdf_text(client.get(f"/cases/{case_id}/documents/supervision-notice.pdf").data, tmp_path)
    assert "交办函" in letter and "市热线交〔2026〕第1号" in letter and "书面报送市12345热线中心" in letter
    assert "督办通知单" in notice and "市热线督〔2026〕第1号" in notice
    assert "群众反映强烈,请加快办理" in notice and "第1次" in notice and "张卫东" in notice


def test_a_document_downloaded_again_keeps_its_number_and_the_next_case_gets_the_next(demo, client, auth, tmp_path):
    first, second = transferred(demo), transferred(demo)
    auth.login("cg01")
    url = "/cases/{}/documents/transfer-form.pdf"
    assert "市热线转〔2026〕第1号" in pdf_text(client.get(url.format(first)).data, tmp_path)
    assert "市热线转〔2026〕第1号" in pdf_text(client.get(url.format(first)).data, tmp_path)
    assert "市热线转〔2026〕第2号" in pdf_text(client.get(url.format(second)).data, tmp_path)


def test_a_reader_outside_the_cases_units_gets_404(demo, client, auth):
    case_id = transferred(demo)
    auth.login("zj01")  # 市住建局: not involved in the case
    for slug in ("transfer-form", "assignment-letter", "supervision-notice"):
        assert client.get(f"/cases/{case_id}/documents/{slug}.pdf").status_code == 404
    assert client.get(f"/cases/{case_id + 999}/documents/transfer-form.pdf").status_code == 404
    with demo.db.reading() as session:
        assert session.scalar(select(Counter).where(Counter.name.startswith("doc:"))) is None


def test_every_download_is_audited_and_the_number_issued_once(demo, client, auth):
    case_id = transferred(demo)
    auth.login("cg01")
    for _ in range(3):
        assert client.get(f"/cases/{case_id}/documents/transfer-form.pdf").status_code == 200
    with demo.db.reading() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                          AuditEvent.action.like("document.%"))
                                 .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["document.issued"] + ["document.downloaded"] * 3
    assert {e.actor for e in events} == {"cg01"}
    assert events[0].detail["number"] == "市热线转〔2026〕第1号" and events[0].detail["serial"] == 1
    assert all(e.detail["number"] == "市热线转〔2026〕第1号" for e in events[1:])


def test_no_document_before_the_case_has_a_unit_nor_a_notice_before_a_supervision(demo, client, auth):
    waiting = register(demo)
    dispatched = transferred(demo)
    auth.login("dispatch01")
    assert client.get(f"/cases/{waiting}/documents/transfer-form.pdf").status_code == 409
    assert client.get(f"/cases/{dispatched}/documents/supervision-notice.pdf").status_code == 409
    with demo.db.reading() as session:  # a refusal draws no number: no gap
        assert session.scalar(select(Counter).where(Counter.name.startswith("doc:"))) is None


def test_markup_in_the_case_prints_as_text_and_no_local_file_is_read(demo, client, auth, tmp_path):
    case_id = transferred(demo, subject=f"标题{EVIL}", content=f"内容{EVIL}")
    auth.login("cg01")
    pdf = client.get(f"/cases/{case_id}/documents/transfer-form.pdf").data
    text = pdf_text(pdf, tmp_path)
    assert squeeze('<img src="file:///etc/passwd">') in text
    assert squeeze("<link rel=attachment") in text
    assert PASSWD_LINE not in text and PASSWD_LINE.encode() not in pdf
    assert poppler("pdfdetach", pdf, tmp_path, "-list").startswith("0 embedded files")


# ---- the service and the renderer ---------------------------------------------------------------------


def test_the_requester_is_masked_unless_the_reader_may_see_personal_data(demo, tmp_path):
    case_id = transferred(demo)
    handler = actor(demo, "cg01")
    restricted = Actor(label=handler.label, user_id=handler.user_id, unit_id=handler.unit_id,
                       unit_path=handler.unit_path, roles=handler.roles,
                       permissions=handler.permissions - {"case.read_personal"})
    masked = pdf_text(document_pdf(demo, restricted, case_id, "transfer_form").pdf, tmp_path)
    assert "138****5678" in masked and PHONE not in masked and "张**" in masked and "张三丰" not in masked
    assert "北京市东城区****" in masked and "和平里" not in masked
    assert PHONE in pdf_text(document_pdf(demo, handler, case_id, "transfer_form").pdf, tmp_path)
    with demo.db.reading() as session:
        flags = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "document.downloaded")
                                .order_by(AuditEvent.id)).all()
    assert [f["personal_data"] for f in flags] == [False, True]


def test_twenty_concurrent_first_issues_are_numbered_1_to_20(demo):
    cases = [transferred(demo) for _ in range(20)]
    handler = actor(demo, "cg01")
    numbers: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(cases))

    def issue(case_id: int) -> None:
        try:
            barrier.wait()
            numbers.append(issue_document(demo, handler, case_id, "transfer_form").number)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=issue, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(numbers) == sorted(f"市热线转〔2026〕第{n}号" for n in range(1, 21))
    with demo.db.reading() as session:
        assert session.scalar(select(Counter.value).where(Counter.name.startswith("doc:transfer_form:"))) == 20


def test_concurrent_first_downloads_of_one_case_draw_one_number(demo):
    case_id = transferred(demo)
    handler = actor(demo, "cg01")
    numbers: list[str] = []
    barrier = threading.Barrier(8)

    def issue() -> None:
        barrier.wait()
        numbers.append(issue_document(demo, handler, case_id, "assignment_letter").number)

    threads = [threading.Thread(target=issue) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert numbers == ["市热线交〔2026〕第1号"] * 8
    with demo.db.reading() as session:
        issued = session.scalars(select(AuditEvent).where(AuditEvent.action == "document.issued")).all()
        assert len(issued) == 1


def test_numbers_restart_each_year_and_a_reissue_keeps_number_and_date(demo, clock):
    first, second = transferred(demo), transferred(demo)
    handler = actor(demo, "cg01")
    assert issue_document(demo, handler, first, "transfer_form").number == "市热线转〔2026〕第1号"
    clock.advance(days=40)  # 2027-01-04
    assert issue_document(demo, handler, second, "transfer_form").number == "市热线转〔2027〕第1号"
    again = issue_document(demo, handler, first, "transfer_form")
    assert again.number == "市热线转〔2026〕第1号"
    assert again.context["issued_date"] == "2026年11月25日"  # as first issued, not today


def test_an_unknown_kind_is_not_found_and_no_number_is_drawn(demo):
    case_id = transferred(demo)
    with pytest.raises(NotFound):
        issue_document(demo, actor(demo, "cg01"), case_id, "birthday_card")
    with pytest.raises(Conflict):
        issue_document(demo, actor(demo, "dispatch01"), register(demo), "transfer_form")
    with demo.db.reading() as session:
        assert session.scalar(select(Counter).where(Counter.name.startswith("doc:"))) is None


def test_the_renderer_refuses_local_files_even_in_raw_markup(tmp_path):
    raw = f"<html><body><p>正文</p>{EVIL}</body></html>"
    # The control: WeasyPrint's default fetcher does embed the file, so the check below can see it.
    assert poppler("pdfdetach", HTML(string=raw).write_pdf(), tmp_path, "-list").startswith("1 embedded")
    pdf = WeasyPrintRenderer().html_to_pdf(raw)
    assert poppler("pdfdetach", pdf, tmp_path, "-list").startswith("0 embedded files")
    assert PASSWD_LINE.encode() not in pdf


def test_the_renderer_requests_nothing_over_the_network(tmp_path):
    """Row 34: `http://169.254.169.254/` and the like are never fetched; a loopback listener counts the hits."""
    import http.server

    hits: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"body{color:red}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    raw = (f'<html><head><link rel="stylesheet" href="{base}/style.css"></head><body><p>正文</p>'
           f'<img src="{base}/img.png"><div style="background: url({base}/bg.png)">背景</div></body></html>')
    try:
        HTML(string=raw).write_pdf()  # the control: WeasyPrint's own fetcher does reach the listener
        reached = len(hits)
        WeasyPrintRenderer().html_to_pdf(raw.replace("<p>", '<img src="http://169.254.169.254/latest/meta-data/"><p>'))
    finally:
        server.shutdown()
        server.server_close()
    assert reached >= 2 and len(hits) == reached  # ours asked for nothing


def test_the_document_number_format_and_short_names():
    assert format_number("市热线", KINDS["transfer_form"], 2026, 123) == "市热线转〔2026〕第123号"
    assert short_name("市12345热线中心") == "市热线"
    assert short_name("市城管局") == "市城管"
    assert short_name("东城区和平里街道") == "东城区和平里街道"
