"""A city's first load: the dictionary, the units and the accounts from CSV or XLSX, on the pages and the API.

Every row is checked before anything is written (422 naming row and field), the same file again changes
nothing, a used entry is never deleted, an export imports back, formulas in cells stay inert, and each
import is audited with who, which file and how many rows."""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.models import AuditEvent, DictionaryEntry, Unit, User
from tests.conftest import csrf_token_of
from tests.integration.test_routing import new_case, token


def xlsx(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def cells(data: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def api_upload(client: Any, path: str, headers: dict[str, str], data: bytes, name: str) -> Any:
    return client.post(path, headers=headers, data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def page_upload(client: Any, page: str, path: str, data: bytes, name: str) -> Any:
    csrf = csrf_token_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def audited(platform: Any, action: str) -> list[dict[str, Any]]:
    with platform.db.reading() as session:
        return list(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)
                                    .order_by(AuditEvent.id)))


def entries(platform: Any, kind: str = "category") -> dict[str, DictionaryEntry]:
    with platform.db.reading() as session:
        return {e.code: e for e in session.scalars(select(DictionaryEntry).where(DictionaryEntry.kind == kind))}


HEADER = ["kind", "code", "label", "parent", "sort", "active"]
CATALOGUE = [HEADER,
             ["category", "01", "城乡建设", None, 1, 1],
             ["category", "0101", "供水", "01", 1, 1],
             ["category", "010101", "停水", "0101", 1, 1],
             ["category", "01010101", "计划停水", "010101", 1, "是"],
             ["satisfaction", "very_satisfied", "非常满意", None, 0, 1]]


def test_a_catalogue_loads_from_xlsx_in_levels_and_loads_again_without_change(client, demo):
    admin = token(client, "sysadmin")
    answer = api_upload(client, "/api/v1/dictionary/import", admin, xlsx(*CATALOGUE), "目录.xlsx")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"rows": 5, "added": 5, "changed": 0, "unchanged": 0}
    found = entries(demo)
    assert found["01010101"].parent_id == found["010101"].id and found["010101"].parent_id == found["0101"].id
    assert "very_satisfied" in entries(demo, "satisfaction")

    again = api_upload(client, "/api/v1/dictionary/import", admin, xlsx(*CATALOGUE), "目录.xlsx").get_json()
    assert again == {"rows": 5, "added": 0, "changed": 0, "unchanged": 5}
    renamed = [r if r[1] != "0101" else [*r[:2], "供水管理", *r[3:]] for r in CATALOGUE]
    assert api_upload(client, "/api/v1/dictionary/import", admin, xlsx(*renamed), "目录.xlsx").get_json()[
        "changed"] == 1
    log = audited(demo, "dictionary.imported")
    assert [(d["file"], d["rows"], d["added"], d["changed"]) for d in log] == [
        ("目录.xlsx", 5, 5, 0), ("目录.xlsx", 5, 0, 0), ("目录.xlsx", 5, 0, 1)]
    assert log[2]["changes"] == [{"before": {"kind": "category", "code": "0101", "label": "供水"},
                                  "after": {"kind": "category", "code": "0101", "label": "供水管理"}}]

    exported = client.get("/api/v1/dictionary/export?kind=category&format=xlsx", headers=admin)
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    rows = cells(exported.data)
    assert rows[0] == HEADER and ["category", "0101", "供水管理", "01", 1, 1] in rows
    back = api_upload(client, "/api/v1/dictionary/import", admin, exported.data, "导出.xlsx").get_json()
    assert back["added"] == back["changed"] == 0


def test_a_bad_file_is_refused_naming_each_row_and_field_and_nothing_is_written(client, demo):
    admin = token(client, "sysadmin")
    bad = xlsx(*CATALOGUE[:3], ["category", "0102", None, "01", 2, 1], ["category", "0103", "燃气", "09", "x", 1],
               ["category", "0101", "供水", "01", 1, 1], ["case_status", "newcode", "新状态", None, 0, 1])
    answer = api_upload(client, "/api/v1/dictionary/import", admin, bad, "坏.xlsx")
    assert answer.status_code == 422
    details = answer.get_json()["details"]
    assert "第 4 行 名称" in details["row 4 label"] and "第 5 行 排序" in details["row 5 sort"]
    assert "09" in details["row 5 parent"] and "与第 3 行重复" in details["row 6 code"]
    assert "不能新增" in details["row 7 code"]
    assert "01" not in entries(demo) and audited(demo, "dictionary.imported") == []
    not_a_sheet = api_upload(client, "/api/v1/dictionary/import", admin, b"PK\x03\x04garbage", "x.xlsx")
    assert not_a_sheet.status_code == 422 and "XLSX" in not_a_sheet.get_json()["details"]["file"]
    gbk = "kind,code,label\ncategory,09,供水\n".encode("gbk")
    assert "UTF-8" in api_upload(client, "/api/v1/dictionary/import", admin, gbk, "a.csv").get_json()["message"]
    assert api_upload(client, "/api/v1/dictionary/import", token(client, "secadmin"), xlsx(*CATALOGUE),
                      "a.xlsx").status_code == 403


def test_a_used_entry_stays_when_the_file_leaves_it_out_and_formulas_stay_inert(client, demo):
    new_case(client, "城乡建设/供水", None)  # the entry is used
    admin = token(client, "sysadmin")
    formula = "=HYPERLINK(\"http://evil\",\"点我\")"
    quoted = formula.replace('"', '""')
    body = ("kind,code,label,parent,sort,active\n"  # a CSV: the text as typed
            "category,城乡建设/供水,供水,城乡建设,0,0\n"
            f'category,城乡建设/恶意,"{quoted}",城乡建设,9,1\n'
            "category,城乡建设/负号,-1+1,城乡建设,9,1\n")
    done = api_upload(client, "/api/v1/dictionary/import", admin, body.encode(), "a.csv")
    assert done.get_json()["changed"] == 1
    assert entries(demo)["城乡建设/供水"].active is False  # disabled by the file, never deleted
    assert "城乡建设/供暖" in entries(demo)  # left out of the file: left as it is

    csv_text = client.get("/api/v1/dictionary/export?kind=category", headers=admin).get_data(as_text=True)
    assert csv_text.startswith("\ufeffkind,code,label")
    assert "'=HYPERLINK" in csv_text and ",'-1+1," in csv_text and ",=HYPERLINK" not in csv_text
    exported = client.get("/api/v1/dictionary/export?kind=category&format=xlsx", headers=admin).data
    sheet = load_workbook(io.BytesIO(exported)).worksheets[0]
    shown = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert [(c.value, c.data_type) for c in shown] == [("'" + formula, "s")]
    for data, name in ((exported, "x.xlsx"), (csv_text.encode("utf-8"), "x.csv")):
        again = api_upload(client, "/api/v1/dictionary/import", admin, data, name).get_json()
        assert again["added"] == again["changed"] == 0  # the apostrophe comes off: the label itself
    assert entries(demo)["城乡建设/恶意"].label == formula


def test_the_dictionary_page_imports_xlsx_and_offers_both_downloads(client, auth, demo):
    auth.login("sysadmin")
    page = client.get("/admin/dictionary").get_data(as_text=True)
    assert "/admin/dictionary/export.xlsx?kind=category" in page and "/admin/dictionary/export.csv" in page
    done = page_upload(client, "/admin/dictionary", "/admin/dictionary/import", xlsx(*CATALOGUE), "目录.xlsx")
    assert done.status_code == 302
    assert "共 5 行,新增 5 条" in client.get("/admin/dictionary").get_data(as_text=True)
    refused = page_upload(client, "/admin/dictionary", "/admin/dictionary/import",
                          xlsx(HEADER, ["category", "x y", "坏", None, 0, 1]), "坏.xlsx")
    assert refused.status_code == 422 and "第 2 行 编码" in refused.get_data(as_text=True)
    assert client.get("/admin/dictionary/export.xlsx").headers["Content-Disposition"].startswith("attachment")


USERS = [["工号", "姓名", "单位编码", "角色"], ["sw01", "李水", "cgj", "handler"],
         ["sw02", "王水", "zjj", "经办人、分管领导"], ["sw03", "张审", "centre", "auditor"]]


def test_the_security_admin_imports_accounts_with_one_time_passwords_and_again_changes_nothing(client, auth, demo):
    auth.login("secadmin")
    page = page_upload(client, "/admin/users", "/admin/users/import", xlsx(*USERS), "账号.xlsx")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "新建 3 个账号" in html
    password = re.search(r"<td>sw01</td><td><code>([^<]+)</code>", html).group(1)  # type: ignore[union-attr]
    with demo.db.reading() as session:
        made = {u.staff_no: u for u in session.scalars(select(User).where(User.staff_no.like("sw%")))}
        assert made["sw02"].role_codes == {"handler", "leader"} and made["sw01"].must_change_password
        assert all(password not in u.password_hash for u in made.values())
    again = page_upload(client, "/admin/users", "/admin/users/import", xlsx(*USERS), "账号.xlsx")
    assert "新建 0 个账号,修改 0 个,未变 3 个" in again.get_data(as_text=True)
    moved = [*USERS[:2], ["sw02", "王水", "cgj", "handler"], USERS[3]]
    csv_body = "\n".join(",".join(r) for r in moved).encode("utf-8-sig")
    assert "修改 1 个" in page_upload(client, "/admin/users", "/admin/users/import", csv_body, "a.csv").get_data(
        as_text=True)
    log = audited(demo, "user.imported")
    assert [(d["file"], d["rows"], d["created"]) for d in log] == [
        ("账号.xlsx", 3, ["sw01", "sw02", "sw03"]), ("账号.xlsx", 3, []), ("a.csv", 3, [])]
    assert log[2]["changed"] == [{"user": "sw02", "before": {"unit": "zjj", "roles": ["handler", "leader"]},
                                  "after": {"unit": "cgj", "roles": ["handler"]}}]
    assert password not in str(log)
    exported = client.get("/admin/users/export.xlsx")
    assert ["sw02", "王水", "cgj", "handler"] in cells(exported.data)
    auth.logout()

    auth.login("sw01", password)
    assert client.get("/").headers["Location"].endswith("/password")  # the one-time password must be changed


def test_an_account_file_breaking_the_separation_of_powers_is_refused_whole(client, demo):
    sec = token(client, "secadmin")
    bad = xlsx(*USERS[:2], ["sw09", "赵兼", "centre", "sysadmin|auditor"], ["secadmin", "吴安全", "centre", "handler"],
               ["sw10", "孙无", "nowhere", "handler"])
    answer = api_upload(client, "/api/v1/users/import", sec, bad, "坏.xlsx")
    assert answer.status_code == 422
    message = answer.get_json()["message"]
    assert "第 3 行 角色" in message and "三权分立" in message
    assert "第 4 行 工号:不能通过导入修改自己的账号" in message and "第 5 行 单位编码" in message
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.staff_no.like("sw%"))) == 0
    done = api_upload(client, "/api/v1/users/import", sec, xlsx(*USERS), "账号.xlsx").get_json()
    assert [c["staff_no"] for c in done["created"]] == ["sw01", "sw02", "sw03"]
    login = client.post("/api/v1/auth/token", json={"staff_no": "sw03",
                                                    "password": done["created"][2]["one_time_password"]})
    assert login.status_code == 403 and "修改密码" in login.get_json()["message"]  # right password, to change first
    for refused in ("sysadmin", "auditor"):
        assert api_upload(client, "/api/v1/users/import", token(client, refused), xlsx(*USERS),
                          "a.xlsx").status_code == 403
        assert client.get("/api/v1/users/export", headers=token(client, refused)).status_code == 403


UNITS = [["编码", "名称", "类型", "上级编码"], ["sw", "市水务局", "委办局", "centre"],
         ["sw.gs", "供水科", "section", "sw"], ["sw.gs.1", "一组", "section", "sw.gs"]]


def test_the_system_admin_imports_the_unit_tree_and_the_same_file_again_changes_nothing(client, auth, demo):
    admin = token(client, "sysadmin")
    done = api_upload(client, "/api/v1/units/import", admin, xlsx(*UNITS), "单位.xlsx")
    assert done.get_json() == {"rows": 3, "added": 3, "changed": 0, "unchanged": 0}
    with demo.db.reading() as session:
        by_code = {u.code: u for u in session.scalars(select(Unit))}
    assert by_code["sw.gs.1"].path == f"{by_code['sw.gs'].path}{by_code['sw.gs.1'].id}/"
    assert by_code["sw"].kind == "bureau"
    assert api_upload(client, "/api/v1/units/import", admin, xlsx(*UNITS), "单位.xlsx").get_json()["added"] == 0
    moved = [*UNITS[:3], ["sw.gs.1", "第一组", "section", "sw"]]
    assert api_upload(client, "/api/v1/units/import", admin, xlsx(*moved), "单位.xlsx").get_json()["changed"] == 1
    with demo.db.reading() as session:
        group = session.scalar(select(Unit).where(Unit.code == "sw.gs.1"))
        assert group.name == "第一组" and group.path == f"{by_code['sw'].path}{group.id}/"
    loop = api_upload(client, "/api/v1/units/import", admin, xlsx(UNITS[0], ["sw", "市水务局", "bureau", "sw.gs"]),
                      "环.xlsx")
    assert loop.status_code == 422 and "第 2 行 上级编码" in loop.get_json()["message"]
    assert [(d["file"], d["rows"]) for d in audited(demo, "unit.imported")] == [
        ("单位.xlsx", 3), ("单位.xlsx", 3), ("单位.xlsx", 3)]
    exported = client.get("/api/v1/units/export?format=xlsx", headers=admin).data
    assert api_upload(client, "/api/v1/units/import", admin, exported, "导出.xlsx").get_json()["changed"] == 0
    assert api_upload(client, "/api/v1/units/import", token(client, "secadmin"), xlsx(*UNITS),
                      "a.xlsx").status_code == 403

    auth.login("sysadmin")
    page = client.get("/admin/units").get_data(as_text=True)
    assert "/admin/units/export.xlsx" in page
    refused = page_upload(client, "/admin/units", "/admin/units/import", xlsx(UNITS[0], ["x", "", "planet", ""]),
                          "坏.xlsx")
    assert refused.status_code == 422 and "第 2 行 名称" in refused.get_data(as_text=True)


def test_the_audit_contract_path_answers_the_auditor_only(client):
    auditor = token(client, "auditor")
    first = client.get("/api/v1/audit?limit=5", headers=auditor)
    assert first.status_code == 200 and first.get_json() == client.get("/api/v1/audit-events?limit=5",
                                                                        headers=auditor).get_json()
    for other in ("sysadmin", "secadmin", "agent01"):
        assert client.get("/api/v1/audit", headers=token(client, other)).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_a_large_file_loads_from_the_shell_as_the_named_administrator(app, demo, tmp_path):
    runner = app.test_cli_runner()
    sheet = tmp_path / "账号.xlsx"
    sheet.write_bytes(xlsx(*USERS))
    out = tmp_path / "passwords.csv"
    refused = runner.invoke(args=["import-sheet", "users", str(sheet), "--as", "sysadmin"])
    assert refused.exit_code == 1 and "安全管理员" in refused.output
    done = runner.invoke(args=["import-sheet", "users", str(sheet), "--as", "secadmin", "--passwords", str(out)])
    assert done.exit_code == 0, done.output
    assert "共 3 行:新增 3" in done.output and out.read_text(encoding="utf-8").count("\n") == 4
    assert (out.stat().st_mode & 0o777) == 0o600
    assert audited(demo, "user.imported")[0]["file"] == "账号.xlsx"
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,code,label\ncategory,x y,坏\n", encoding="utf-8")
    failed = runner.invoke(args=["import-sheet", "dictionary", str(bad), "--as", "sysadmin"])
    assert failed.exit_code == 1 and "第 2 行 编码" in failed.output


def test_a_zip_bomb_is_refused_before_it_is_read(client):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as packed:
        packed.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (70 * 1024 * 1024))
    answer = api_upload(client, "/api/v1/dictionary/import", token(client, "sysadmin"), out.getvalue(), "炸弹.xlsx")
    assert answer.status_code == 422 and "过大" in answer.get_json()["details"]["file"]


def test_words_loaded_from_a_file_show_on_the_next_request(client, demo):
    admin = token(client, "sysadmin")
    renamed = xlsx(HEADER, ["case_status", "registered", "已登记待受理", None, 0, 1])
    assert api_upload(client, "/api/v1/dictionary/import", admin, renamed, "状态.xlsx").get_json()["changed"] == 1
    body = {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "停水",
            "content": "停水。", "requester": {"name": "张三丰"}}
    made = client.post("/api/v1/cases", headers=token(client, "agent01"), json=body).get_json()
    assert (made["status"], made["status_label"]) == ("registered", "已登记待受理")
