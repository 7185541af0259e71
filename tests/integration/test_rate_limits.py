"""Rate limits live in the database: every worker and host shares them, per client address and per 工号,
answering 429 with Retry-After and a Chinese message, checked before any password is hashed."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from app import create_app
from app.errors import RateLimited
from app.models import RateLimitCounter
from app.services import rate_limits
from app.web.context import rate_limited
from tests.conftest import DEMO_PASSWORD, Auth


class CountingHasher(PasswordHasher):
    """argon2's own hasher (not our code), counting the passwords it verifies."""

    def __init__(self, **kwargs: int) -> None:
        super().__init__(**kwargs)
        self.verified: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002 — argon2's own names
        self.verified.append(str(password))
        return super().verify(hash, password)


ADDRESS_LIMIT = 30  # RATE_LIMIT_SIGN_IN_ADDRESS = "30/60"
WRONG = "Wrong@2026x"


def _token(client, staff_no: str, password: str = WRONG, ip: str = "203.0.113.7"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_forty_token_requests_in_a_row_from_one_address_get_429_with_retry_after_after_the_limit(client):
    answers = [_token(client, f"nobody{i:02d}") for i in range(40)]

    statuses = [a.status_code for a in answers]
    assert statuses[:ADDRESS_LIMIT] == [422] * ADDRESS_LIMIT
    assert statuses[ADDRESS_LIMIT:] == [429] * (40 - ADDRESS_LIMIT)
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    body = refused.get_json()
    assert body["code"] == "rate_limited"
    assert "过于频繁" in body["message"] and "秒后再试" in body["message"]


def test_a_limited_address_is_refused_before_any_password_is_hashed(app, client, monkeypatch):
    for i in range(ADDRESS_LIMIT):
        _token(client, f"nobody{i:02d}")
    hasher = CountingHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(app.extensions["huiyin"], "hasher", hasher)
    hashed = hasher.verified

    assert _token(client, "cg01", DEMO_PASSWORD).status_code == 429
    assert hashed == []
    assert _token(client, "cg01", DEMO_PASSWORD, ip="198.51.100.9").status_code == 201
    assert hashed == [DEMO_PASSWORD]  # the spy does see the work when there is some


def test_a_second_app_instance_on_the_same_database_shares_the_count(app, test_config, clock, demo):
    other = create_app(test_config, clock=clock)
    try:
        clients = [app.test_client(), other.test_client()]
        statuses = [_token(clients[i % 2], f"nobody{i:02d}").status_code for i in range(ADDRESS_LIMIT + 2)]
    finally:
        other.extensions["huiyin"].db.dispose()

    assert statuses.count(429) == 2 and statuses[-2:] == [429, 429]


def test_another_address_is_not_limited_and_the_window_expires(client, clock):
    for i in range(ADDRESS_LIMIT + 1):
        _token(client, f"nobody{i:02d}")
    assert _token(client, "nobody99").status_code == 429

    assert _token(client, "cg01", DEMO_PASSWORD, ip="198.51.100.9").status_code == 201

    clock.advance(seconds=61)
    assert _token(client, "cg01", DEMO_PASSWORD).status_code == 201


def test_an_ipv6_client_is_counted_by_its_64_block(client):
    for i in range(ADDRESS_LIMIT):
        _token(client, f"nobody{i:02d}", ip=f"2001:db8:1:2::{i + 1:x}")

    assert _token(client, "nobody99", ip="2001:db8:1:2:ffff::1").status_code == 429
    assert _token(client, "nobody99", ip="2001:db8:1:3::1").status_code == 422


def test_one_staff_number_is_limited_across_addresses_and_the_page_shows_a_chinese_429(app, clock):
    # Ten attempts on one 工号 per fifteen minutes, from wherever they come (the lockout stops at five
    # wrong passwords; this bounds the attempts an attacker spreads over many addresses).
    statuses = [_token(app.test_client(), "nobody01", ip=f"192.0.2.{i}").status_code for i in range(1, 11)]
    assert statuses == [422] * 10

    page = Auth(app.test_client()).login("nobody01", WRONG)
    assert page.status_code == 429
    assert page.mimetype == "text/html"
    assert "该工号的登录尝试过于频繁" in page.get_data(as_text=True)
    assert int(page.headers["Retry-After"]) > 60

    clock.advance(minutes=16)
    assert _token(app.test_client(), "nobody01", ip="192.0.2.200").status_code == 422


def test_the_sign_in_page_and_the_token_endpoint_share_one_count(app, client):
    browser = Auth(client)
    for i in range(ADDRESS_LIMIT // 2):
        browser.login(f"nobody{i:02d}", WRONG)
        _token(client, f"other{i:02d}", ip="127.0.0.1")

    refused = browser.login("cg01", DEMO_PASSWORD)

    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert client.get("/").status_code == 302  # not signed in


def test_five_wrong_passwords_from_one_address_for_many_accounts_are_slowed_there(client, demo):
    # Locking an account takes five wrong passwords; from one address that is six accounts a minute at most.
    locked_attempts = [_token(client, staff, ip="203.0.113.50").status_code
                       for staff in ("cg01", "zj01", "sj01", "zx01", "agent01", "dispatch01", "leader01")
                       for _ in range(5)]

    assert locked_attempts[:ADDRESS_LIMIT] == [422] * ADDRESS_LIMIT
    assert set(locked_attempts[ADDRESS_LIMIT:]) == {429}


def test_a_public_endpoint_wears_the_decorator_and_answers_429_in_json(app, clock):
    @app.get("/api/v1/portal-probe")
    @rate_limited("public")
    def portal_probe():  # type: ignore[no-untyped-def]
        return {"ok": True}

    count, _ = app.extensions["huiyin"].settings.rate_limit("RATE_LIMIT_PUBLIC_ADDRESS")
    client = app.test_client()
    answers = [client.get("/api/v1/portal-probe") for _ in range(count + 1)]

    assert [a.status_code for a in answers] == [200] * count + [429]
    assert answers[-1].get_json()["code"] == "rate_limited" and "Retry-After" in answers[-1].headers
    clock.advance(seconds=61)
    assert client.get("/api/v1/portal-probe").status_code == 200


def test_spent_counters_are_purged_and_live_ones_kept(demo, clock):
    rate_limits.hit(demo, "sign_in", {"address": "192.0.2.1", "staff_no": "cg01"})
    clock.advance(seconds=61)  # the address window (60 s) has ended, the 工号 window (900 s) has not
    assert rate_limits.purge_expired(demo) == 1
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(RateLimitCounter)) == 1


def test_limits_are_settings_and_a_malformed_one_is_refused_at_start(test_config, clock, demo):
    strict = create_app({**test_config, "RATE_LIMIT_SIGN_IN_ADDRESS": "2/60"}, clock=clock)
    try:
        client = strict.test_client()
        assert [_token(client, "nobody01").status_code for _ in range(3)] == [422, 422, 429]
    finally:
        strict.extensions["huiyin"].db.dispose()
    with pytest.raises(ValueError, match="RATE_LIMIT_SIGN_IN_ADDRESS"):
        create_app({**test_config, "RATE_LIMIT_SIGN_IN_ADDRESS": "lots"}, clock=clock)


def test_the_service_refuses_with_the_seconds_left_in_the_window(demo, clock):
    for _ in range(ADDRESS_LIMIT):
        rate_limits.hit(demo, "sign_in", {"address": "192.0.2.1"})
    clock.advance(seconds=45)

    with pytest.raises(RateLimited) as refused:
        rate_limits.hit(demo, "sign_in", {"address": "192.0.2.1"})

    assert refused.value.retry_after == 15
    assert refused.value.message == "您所在网络地址的登录尝试过于频繁,请15秒后再试"

