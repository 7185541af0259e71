"""SMS gateways: the fake keeps and fails on demand, the log gateway hides the number, HTTP talks to a real server."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from app.sms import FakeSmsGateway, HttpGateway, LogGateway, SmsError

BODY = "【12345】您的诉求已受理,受理号12345-20261125-000001。"


class Provider:
    """A real HTTP server on 127.0.0.1 standing in for an SMS provider; answers the statuses it is given."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in order; 200 once exhausted
        self.delay = 0.0
        self.raw: bytes | None = None  # a raw answer instead of HTTP, to play a broken provider
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — the stdlib's name
                length = int(self.headers.get("Content-Length", 0))
                provider.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(self.rfile.read(length))})
                time.sleep(provider.delay)
                if provider.raw is not None:
                    self.wfile.write(provider.raw)
                    return
                status = provider.statuses.pop(0) if provider.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"ok": false}')

            def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as p:
        yield p


def test_the_fake_gateway_fails_as_often_as_told_then_keeps_what_it_sends():
    gateway = FakeSmsGateway(fail_times=2)
    for _ in range(2):
        with pytest.raises(SmsError):
            gateway.send("13812345678", BODY, "receipt")
    gateway.send("13812345678", BODY, "receipt")
    assert gateway.sent == [("13812345678", "receipt", BODY)]


def test_the_log_gateway_writes_neither_the_full_phone_number_nor_the_body(caplog):
    with caplog.at_level(logging.INFO, logger="huiyin.sms"):
        LogGateway().send("13812345678", BODY, "receipt")
    assert "138****5678" in caplog.text and "receipt" in caplog.text
    assert "13812345678" not in caplog.text and BODY not in caplog.text


def test_the_http_gateway_posts_json_with_the_credential(provider):
    HttpGateway(provider.url, "s3cret-token").send("13812345678", BODY, "receipt")
    [request] = provider.requests
    assert request["path"] == "/sms/send"
    assert request["headers"]["Authorization"] == "Bearer s3cret-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"phone": "13812345678", "template": "receipt", "body": BODY}


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_a_refusal_by_the_provider_is_an_sms_error(provider, status):
    provider.statuses = [status]
    with pytest.raises(SmsError):
        HttpGateway(provider.url, "s3cret-token").send("13812345678", BODY, "receipt")


def test_an_unreachable_provider_is_an_sms_error():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SmsError):
        HttpGateway(f"http://127.0.0.1:{port}/sms", "t", timeout=2).send("13812345678", BODY, "receipt")


def test_a_provider_slower_than_the_timeout_is_an_sms_error(provider):
    provider.delay = 1.0
    with pytest.raises(SmsError):
        HttpGateway(provider.url, "t", timeout=0.2).send("13812345678", BODY, "receipt")


def test_a_provider_answering_garbage_is_an_sms_error(provider):
    provider.raw = b"NOT HTTP AT ALL\r\n\r\n"
    with pytest.raises(SmsError):
        HttpGateway(provider.url, "t", timeout=2).send("13812345678", BODY, "receipt")


def test_a_gateway_with_no_url_configured_is_an_sms_error():
    with pytest.raises(SmsError):
        HttpGateway("", "t").send("13812345678", BODY, "receipt")
