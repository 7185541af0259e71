"""SMS gateways behind one small interface: log (the default), HTTP, and a fake for tests."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("huiyin.sms")


class SmsError(Exception):
    """The gateway did not take the message; the outbox will try again later."""


class SmsGateway(Protocol):
    def send(self, phone: str, body: str, template: str) -> None: ...


class LogGateway:
    """Writes messages to the log instead of sending them (development, demos)."""

    def send(self, phone: str, body: str, template: str) -> None:
        # Never the body: it carries the 查询码 and case details; the outbox row keeps the text.
        log.info("SMS to %s****%s: template %s, %d characters", phone[:3], phone[-4:], template, len(body))


@dataclass
class HttpGateway:
    """POSTs JSON {phone, template, body} with a bearer credential to a provider's URL."""

    url: str
    credential: str
    timeout: float = 10.0

    def send(self, phone: str, body: str, template: str) -> None:
        data = json.dumps({"phone": phone, "template": template, "body": body}, ensure_ascii=False).encode()
        try:
            # Built inside the try: an empty or malformed URL (ValueError) is a failed send, not a crash.
            request = urllib.request.Request(self.url, data=data, method="POST", headers={  # noqa: S310
                "Content-Type": "application/json", "Authorization": f"Bearer {self.credential}"})
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if response.status >= 300:
                    raise SmsError(f"gateway answered {response.status}")
        except (OSError, ValueError, http.client.HTTPException) as e:  # HTTPException: a garbled answer
            raise SmsError(str(e) or type(e).__name__) from e


@dataclass
class FakeSmsGateway:
    """Keeps what it was given; fails the first `fail_times` sends, to exercise retries."""

    fail_times: int = 0
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def send(self, phone: str, body: str, template: str) -> None:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise SmsError("fake gateway down")
        self.sent.append((phone, template, body))
