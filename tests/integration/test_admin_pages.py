"""Administrators see every SMS (phone masked, 查询码 hidden) and the cases waiting in an incident."""


def test_the_sms_outbox_page_lists_the_receipt_with_the_phone_masked(client, auth):
    auth.login("agent01")
    from tests.conftest import csrf_token_of

    form = client.get("/intake").get_data(as_text=True)
    assert "来电/来访登记" in form
    token = client.post("/api/v1/auth/token", json={"staff_no": "agent01", "password": "Huiyin@2026"})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    case = client.post("/api/v1/cases", headers=headers, json={
        "kind": "consultation", "channel": "phone", "subject": "社保查询", "content": "如何查询社保缴费。",
        "requester": {"name": "王五", "phone": "13712345678"}}).get_json()
    auth.logout()

    assert client.get("/admin/messages").status_code == 302  # signed out
    auth.login("agent01")
    assert client.get("/admin/messages").status_code == 403
    auth.logout()
    auth.login("sysadmin")
    page = client.get("/admin/messages").get_data(as_text=True)
    assert case["number"] in page and "137****5678" in page
    assert "13712345678" not in page and case["query_code"] not in page
    assert "没有异常件" in client.get("/admin/incidents").get_data(as_text=True)
    assert csrf_token_of(page)
