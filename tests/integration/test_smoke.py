"""The platform starts on both databases and answers its health check."""


def test_health_check_reports_the_database_reachable(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_a_demo_user_signs_in_and_sees_their_name(client, auth):
    response = auth.login("cg01")
    assert response.status_code == 302
    assert "刘志强" in client.get("/").get_data(as_text=True)


def test_a_form_posted_without_its_csrf_token_is_refused(client):
    response = client.post("/login", data={"staff_no": "cg01", "password": "Huiyin@2026"})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
