"""What a signed-in user is sent is never stored by a cache, and a download's ASCII name is safe."""

from __future__ import annotations

from app.web.downloads import content_disposition
from tests.integration.lifecycle_driver import Api, unit_ids


def _transferred_case(api: Api, demo) -> int:  # type: ignore[no-untyped-def]
    case_id = int(api.register()["id"])
    api.complete("dispatch01", case_id, "accept", accept_decision="accept", kind="complaint")
    api.complete("dispatch01", case_id, "dispatch", dispatch_mode="transfer", lead_unit_id=unit_ids(demo)["cgj"],
                 directly_designated=False)
    return case_id


def test_a_pdf_is_sent_with_no_store_and_an_ascii_name_that_does_not_begin_with_a_dash(client, auth, demo):
    case_id = _transferred_case(Api(client), demo)
    auth.login("cg01")

    pdf = client.get(f"/cases/{case_id}/documents/transfer-form.pdf")

    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")  # saved, not rendered inside our origin
    ascii_name = disposition.split('filename="')[1].split('"')[0]
    assert ascii_name.endswith(".pdf") and not ascii_name.startswith(("-", "."))
    assert "filename*=UTF-8''%E5%8A%9E%E7%90%86" in disposition  # 办理… in full for browsers that read it


def test_case_pages_and_api_answers_are_not_stored_by_any_cache(client, auth, demo):
    case_id = _transferred_case(Api(client), demo)
    token = client.post("/api/v1/auth/token", json={"staff_no": "cg01", "password": "Huiyin@2026"}).get_json()
    auth.login("cg01")

    assert client.get(f"/cases/{case_id}").headers["Cache-Control"] == "no-store"
    api = client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": f"Bearer {token['token']}"})
    assert api.headers["Cache-Control"] == "no-store"


def test_the_ascii_fallback_strips_line_breaks_and_leading_dashes_and_dots():
    assert content_disposition("-rf.pdf").startswith('attachment; filename="rf.pdf";')
    assert content_disposition("..hidden.pdf").startswith('attachment; filename="hidden.pdf";')
    assert "\r" not in content_disposition("a\r\nSet-Cookie: x=1.pdf")
    assert "\n" not in content_disposition("a\r\nSet-Cookie: x=1.pdf")
    assert content_disposition("交办函.pdf", attachment=False).startswith('inline; filename="download.pdf";')
