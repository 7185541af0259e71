"""The SMS outbox: retried with backoff, never raising; templates from settings at once; all visible to admins."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from app.errors import NotPermitted
from app.jobs import gateway_for
from app.models import SmsMessage, User
from app.services import admin, intake, outbox
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.cases import RequesterInput
from app.services.messages import list_messages
from app.services.platform import Platform
from app.sms import FakeSmsGateway

PHONE = "13812345678"


def actor(platform: Platform, staff_no: str) -> Actor:
    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == staff_no)))


def queue(platform: Platform, key: str = "test:1", phone: str = PHONE, case_id: int | None = None) -> None:
    with platform.db.unit_of_work() as session:
        outbox.enqueue(session, platform, dedupe_key=key, template="reply", phone=phone, case_id=case_id,
                       values={"number": "12345-20261125-000001"})
        session.commit()


def message(platform: Platform, key: str = "test:1") -> SmsMessage:
    with platform.db.reading() as session:
        return session.scalars(select(SmsMessage).where(SmsMessage.dedupe_key == key)).one()


def register(platform: Platform) -> dict[str, Any]:
    return intake.register_case(platform, actor(platform, "agent01"), intake.CaseInput(
        kind="complaint", channel="phone", subject="噪声扰民", content="夜间施工",
        requester=RequesterInput(name="张三", phone=PHONE)))


class Provider:
    """A real local HTTP server standing in for the SMS provider: 503 for the first `failures` posts."""

    def __init__(self, failures: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.failures = failures
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.posts.append((dict(self.headers), body))
                failing = provider.failures > 0
                provider.failures -= 1
                self.send_response(503 if failing else 200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(failures=1)
    yield p
    p.close()


def test_a_failing_gateway_is_retried_with_backoff_and_sent_on_the_third_attempt(demo, clock):
    queue(demo)
    gateway = FakeSmsGateway(fail_times=2)
    start = clock.now()

    assert outbox.send_pending(demo, gateway) == 0  # fails, and does not raise
    first = message(demo)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, "fake gateway down")
    assert first.next_attempt_at == start + timedelta(minutes=2)

    assert outbox.send_pending(demo, gateway) == 0  # not due yet: nothing tried
    assert message(demo).attempts == 1

    clock.advance(minutes=2)
    assert outbox.send_pending(demo, gateway) == 0
    second = message(demo)
    assert (second.status, second.attempts) == ("pending", 2)
    assert second.next_attempt_at == clock.now() + timedelta(minutes=4)  # backs off: 2, 4, 8 … minutes

    clock.advance(minutes=4)
    assert outbox.send_pending(demo, gateway) == 1
    sent = message(demo)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 3, clock.now())
    assert gateway.sent == [(PHONE, "reply", "【12345】您的诉求(受理号12345-20261125-000001)已答复,请留意回访。")]


def test_a_message_that_keeps_failing_is_given_up_without_ever_raising(demo, clock):
    queue(demo)
    gateway = FakeSmsGateway(fail_times=1000)
    for _ in range(outbox.MAX_ATTEMPTS + 2):
        assert outbox.send_pending(demo, gateway) == 0
        clock.advance(days=1)
    given_up = message(demo)
    assert (given_up.status, given_up.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert gateway.sent == []


def test_one_failing_message_does_not_hold_up_the_others(demo):
    queue(demo, "test:1")
    queue(demo, "test:2", phone="13900001111")
    gateway = FakeSmsGateway(fail_times=1)
    assert outbox.send_pending(demo, gateway) == 1
    assert (message(demo, "test:1").status, message(demo, "test:2").status) == ("pending", "sent")


def test_a_repeated_dedupe_key_queues_one_message(demo):
    queue(demo)
    queue(demo)
    with demo.db.reading() as session:
        assert len(session.scalars(select(SmsMessage)).all()) == 1


def test_the_outbox_sends_through_the_http_gateway_the_settings_name(demo, clock, provider):
    sysadmin = actor(demo, "sysadmin")
    admin.change_setting(demo, sysadmin, "sms.gateway", "http")
    admin.change_setting(demo, sysadmin, "sms.http_url", provider.url)
    admin.change_setting(demo, sysadmin, "sms.http_credential", "provider-key-1")
    queue(demo)

    assert outbox.send_pending(demo, gateway_for(demo)) == 0  # the provider answers 503 once
    assert "503" in (message(demo).last_error or "")
    clock.advance(minutes=2)
    assert outbox.send_pending(demo, gateway_for(demo)) == 1
    assert len(provider.posts) == 2
    headers, body = provider.posts[-1]
    assert headers["Authorization"] == "Bearer provider-key-1"
    assert body == {"phone": PHONE, "template": "reply",
                    "body": "【12345】您的诉求(受理号12345-20261125-000001)已答复,请留意回访。"}


def test_a_changed_template_takes_effect_at_once(demo):
    sysadmin = actor(demo, "sysadmin")
    admin.change_setting(demo, sysadmin, "sms.template.receipt", "【某市12345】已受理:{number}")
    first = register(demo)
    admin.change_setting(demo, sysadmin, "sms.template.receipt", "【某市12345】受理号{number},请保存。")
    second = register(demo)
    with demo.db.reading() as session:
        receipts = session.scalars(select(SmsMessage).where(SmsMessage.template == "receipt"))
        bodies = {m.case_id: m.body for m in receipts}
    assert bodies == {first["id"]: f"【某市12345】已受理:{first['number']}",
                      second["id"]: f"【某市12345】受理号{second['number']},请保存。"}


def test_administrators_see_every_message_with_phone_and_query_code_masked(demo):
    case = register(demo)  # queues the receipt, carrying the 查询码 (and task notices to staff)
    queue(demo, "test:1", phone="13900001111")
    items = list_messages(demo, actor(demo, "sysadmin"))
    with demo.db.reading() as session:
        assert len(items) == len(session.scalars(select(SmsMessage.id)).all())  # every message
    assert items[0]["template"] == "reply" and items[0]["phone"] == "139****1111"  # newest first
    [receipt] = [i for i in items if i["template"] == "receipt"]
    assert receipt["phone"] == "138****5678"
    assert receipt["case_id"] == case["id"] and receipt["case_number"] == case["number"]
    assert case["number"] in receipt["body"] and case["query_code"] not in receipt["body"]
    assert "*" * len(case["query_code"]) in receipt["body"]
    assert all(PHONE not in str(i) and "13900001111" not in str(i) for i in items)
    with demo.db.reading() as session:  # the stored message itself is untouched
        stored = session.scalars(select(SmsMessage.body).where(SmsMessage.case_id == case["id"],
                                                                SmsMessage.template == "receipt")).one()
        assert case["query_code"] in stored


def test_messages_filter_by_status_and_page_by_id(demo):
    for n in range(5):
        queue(demo, f"test:{n}", phone=f"1390000111{n}")
    outbox.send_pending(demo, FakeSmsGateway(), limit=2)
    sysadmin = actor(demo, "sysadmin")
    assert len(list_messages(demo, sysadmin, status="sent")) == 2
    pending = list_messages(demo, sysadmin, status="pending")
    assert len(pending) == 3
    page = list_messages(demo, sysadmin, limit=2)
    rest = list_messages(demo, sysadmin, before_id=page[-1]["id"])
    assert [m["id"] for m in page + rest] == sorted((m["id"] for m in page + rest), reverse=True)
    assert len(page + rest) == 5


@pytest.mark.parametrize("staff_no", ["cg01", "leader01", "secadmin", "auditor"])
def test_only_system_administrators_list_messages(demo, staff_no):
    queue(demo)
    with pytest.raises(NotPermitted):
        list_messages(demo, actor(demo, staff_no))


class BrokenProvider:
    """A gateway whose client library fails with something other than SmsError (a garbled HTTP answer)."""

    def send(self, phone: str, body: str, template: str) -> None:
        import http.client

        raise http.client.BadStatusLine("garbage")


def test_an_unexpected_gateway_failure_is_counted_and_never_raises(demo):
    queue(demo)
    assert outbox.send_pending(demo, BrokenProvider()) == 0
    assert (message(demo).status, message(demo).attempts) == ("pending", 1)


def test_a_send_slower_than_the_lease_is_not_taken_by_another_scheduler(platform, clock):
    """Found by bench/load.py: three schedulers under load, one message sent twice. On PostgreSQL the row stays
    locked while the gateway is called; SQLite keeps the lease (a writer there holds the whole file)."""
    if platform.db.is_sqlite:
        pytest.skip("SQLite claims with a lease (SENDING_LEASE): a send outliving it may be retried")
    queue(platform)
    other: list[int] = []

    class SlowGateway(FakeSmsGateway):
        def send(self, phone: str, body: str, template: str) -> None:
            if not self.sent:  # while the first send is under way, past its lease, another scheduler runs
                clock.advance(seconds=outbox.SENDING_LEASE.total_seconds() + 60)
                second = threading.Thread(target=lambda: other.append(outbox.send_pending(platform, gateway)))
                second.start()
                second.join(30)
            super().send(phone, body, template)

    gateway = SlowGateway()
    assert outbox.send_pending(platform, gateway) == 1
    assert other == [0] and len(gateway.sent) == 1
    assert (message(platform).status, message(platform).attempts) == ("sent", 1)
