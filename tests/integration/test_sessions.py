"""A signed-in session ends on sign-out, after 30 idle minutes and after 12 hours, and never sends a user off-site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from tests.conftest import DEMO_PASSWORD, Auth, csrf_token_of


def _is_sent_to_login(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_cookie_copied_before_sign_out_no_longer_opens_a_session(app, client, auth):
    auth.login("cg01")
    stolen = client.get_cookie("huiyin").value
    auth.logout()

    replay = app.test_client()
    replay.set_cookie("huiyin", stolen)

    assert _is_sent_to_login(replay.get("/"))


def test_changing_the_password_ends_the_users_other_sessions_but_not_this_one(app, client, auth):
    other_browser = Auth(app.test_client())
    other_browser.login("cg01")
    auth.login("cg01")
    token = csrf_token_of(client.get("/password").get_data(as_text=True))

    client.post("/password", data={"old_password": DEMO_PASSWORD, "new_password": "Moved&On2026",
                                   "confirm_password": "Moved&On2026", "csrf_token": token})

    assert client.get("/").status_code == 200
    assert _is_sent_to_login(other_browser.client.get("/"))


def test_a_session_idle_for_more_than_thirty_minutes_ends(client, auth, clock):
    auth.login("cg01")

    clock.advance(minutes=31)

    assert _is_sent_to_login(client.get("/"))


def test_a_session_idle_for_less_than_thirty_minutes_goes_on(client, auth, clock):
    auth.login("cg01")

    clock.advance(minutes=29)

    assert client.get("/").status_code == 200


def test_a_session_ends_after_twelve_hours_however_busy_the_user(client, auth, clock):
    auth.login("cg01")
    for _ in range(35):  # a click every 20 minutes for 11 h 40 min
        clock.advance(minutes=20)
        assert client.get("/").status_code == 200

    clock.advance(minutes=40)

    assert _is_sent_to_login(client.get("/"))


def test_the_next_parameter_never_leads_off_site(client):
    for target in ("//evil.example", "https://evil.example/x", "/\\evil.example"):
        token = csrf_token_of(client.get("/login").get_data(as_text=True))
        response = client.post(f"/login?next={quote(target, safe='')}",
                               data={"staff_no": "cg01", "password": DEMO_PASSWORD, "csrf_token": token})

        location = urlsplit(response.headers["Location"])
        assert (location.scheme, location.netloc) == ("", ""), target
        assert location.path.startswith("/") and not location.path.startswith("//"), target
        assert "\\" not in location.path, target
        if target == "//evil.example":
            assert response.headers["Location"] == "/"


def test_the_next_parameter_returns_the_user_to_the_page_they_asked_for(client):
    asked = client.get("/?tab=mine")
    assert _is_sent_to_login(asked)
    token = csrf_token_of(client.get(asked.headers["Location"]).get_data(as_text=True))

    response = client.post(asked.headers["Location"],
                           data={"staff_no": "cg01", "password": DEMO_PASSWORD, "csrf_token": token})

    assert response.headers["Location"] == "/?tab=mine"



def _production_app(test_config, clock, **overrides):  # type: ignore[no-untyped-def]
    from app import create_app

    return create_app({**test_config, "ENVIRONMENT": "production", **overrides}, clock=clock)


def test_in_production_the_session_cookie_is_secure_and_https_answers_carry_hsts(test_config, clock, demo):
    app = _production_app(test_config, clock)
    try:
        client = app.test_client()
        token = csrf_token_of(client.get("/login", base_url="https://hotline.example").get_data(as_text=True))
        signed_in = client.post("/login", base_url="https://hotline.example",
                                headers={"Referer": "https://hotline.example/login"},  # CSRF checks it on HTTPS
                                data={"staff_no": "cg01", "password": DEMO_PASSWORD, "csrf_token": token})

        cookie = signed_in.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert signed_in.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert client.get("/", base_url="https://hotline.example").status_code == 200
        # HSTS means nothing over plain HTTP (browsers ignore it there), so it is not sent.
        assert "Strict-Transport-Security" not in client.get("/login").headers
    finally:
        app.extensions["huiyin"].db.dispose()


def test_behind_a_trusted_proxy_the_forwarded_https_counts(test_config, clock, demo):
    app = _production_app(test_config, clock, PROXY_HOPS=1)
    try:
        answer = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        app.extensions["huiyin"].db.dispose()


def test_development_and_tests_send_no_secure_flag_unless_told(client, auth, test_config, clock):
    signed_in = auth.login("cg01")
    assert "Secure" not in signed_in.headers["Set-Cookie"]

    from app.settings import Settings

    assert Settings(ENVIRONMENT="production").https_only is True
    assert Settings(ENVIRONMENT="production", SESSION_COOKIE_SECURE=False).https_only is False
    assert Settings(ENVIRONMENT="development", SESSION_COOKIE_SECURE=True).https_only is True
    assert Settings().environment == "development"  # no keys configured: they are generated into instance/
    keys = {n: "k" for n in ("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY")}
    assert Settings(**keys).environment == "production"  # all four from the environment: a real install
    assert Settings.from_env({**keys, "SESSION_COOKIE_SECURE": "0"}).https_only is False
