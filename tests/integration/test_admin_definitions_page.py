"""A system administrator deploys a definition from the browser page; a refusal names the element."""

from io import BytesIO
from pathlib import Path

from lifecycle_driver import timed_bpmn

from tests.conftest import csrf_token_of

FORM = Path(__file__).resolve().parents[2] / "forms" / "sign_for.json"


def upload(client, bpmn: bytes):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get("/admin/definitions").get_data(as_text=True))
    return client.post("/admin/definitions", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (BytesIO(bpmn), "timed.bpmn"),
        "forms": [(BytesIO(FORM.read_bytes()), "sign_for.json")]})


def test_an_administrator_deploys_from_the_page_and_sees_the_new_version(client, auth):
    auth.login("sysadmin")
    response = upload(client, timed_bpmn())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已部署 timed_order 第 1 版" in page and "hotline_order" in page


def test_a_refused_definition_is_named_on_the_page_and_not_stored(client, auth):
    auth.login("sysadmin")
    response = upload(client, timed_bpmn(script="x = open('/etc/passwd').read()"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "流程定义无效(mark)" in page and "timed_order" not in page.split("<tbody>")[1]


def test_the_page_is_for_system_administrators_only(client, auth):
    auth.login("dispatch01")
    assert client.get("/admin/definitions").status_code == 403
