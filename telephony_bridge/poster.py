"""Delivery of call outcomes to the platform: in order, retried while it is down, never twice.

Errors: 2xx and 409 (already known) are delivered; 5xx, 408, 429, 401/403 (a token being rotated:
an operator can fix it, so nothing is lost meanwhile) and connection errors are retried with capped
exponential backoff, holding back later outcomes so order is kept; 400/422 (a rejected body) is logged
and dropped, since retrying cannot fix it.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import random
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable

from .call_state import Outcome

log = logging.getLogger(__name__)
RETRYABLE_4XX = {401, 403, 408, 425, 429}
Send = Callable[[bytes], int]


class OutcomeQueue:
    """Bounded buffer between the AMI reader and the poster; ``put`` never blocks the reader."""

    def __init__(self, maxsize: int, remember: int = 50_000) -> None:
        self.queue: asyncio.Queue[Outcome] = asyncio.Queue(maxsize)
        self.overflowed = 0
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._remember = remember

    def put(self, outcome: Outcome) -> None:
        """Enqueue unless this (pbx, call, kind) was already queued in this run."""
        if outcome.key in self._seen:
            return
        try:
            self.queue.put_nowait(outcome)
        except asyncio.QueueFull:
            self.overflowed += 1
            log.error("outcome buffer full (%d); dropped %s for call %s", self.queue.maxsize,
                      outcome.kind, outcome.linkedid)
            return
        self._seen[outcome.key] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)


class Poster:
    """POSTs each outcome as JSON to ``{api_url}/api/v1/calls/events`` with a bearer token."""

    def __init__(self, api_url: str, token: str, timeout: float = 10.0, retry_min: float = 0.5,
                 retry_max: float = 60.0, send: Send | None = None) -> None:
        if not api_url.startswith(("http://", "https://")):
            raise ValueError("HUIYIN_API_URL must be an http:// or https:// URL")
        self.endpoint = api_url.rstrip("/") + "/api/v1/calls/events"
        self._token = token
        self._timeout = timeout
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._send = send or self._urllib_send
        self.delivered = 0
        self.dropped = 0

    async def run(self, outcomes: OutcomeQueue) -> None:
        """Deliver queued outcomes one by one, forever."""
        while True:
            outcome = await outcomes.queue.get()
            try:
                await self.deliver(outcome)
            finally:
                outcomes.queue.task_done()

    async def deliver(self, outcome: Outcome) -> bool:
        """Post one outcome, retrying until it is delivered or refused for good."""
        body = json.dumps(outcome.to_json(), ensure_ascii=False).encode("utf-8")
        delay = self._retry_min
        while True:
            try:
                status = await asyncio.to_thread(self._send, body)
                problem = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                status, problem = 0, type(exc).__name__
            if 200 <= status < 300 or status == 409:
                self.delivered += 1
                return True
            if 400 <= status < 500 and status not in RETRYABLE_4XX:
                self.dropped += 1
                log.warning("platform refused %s for call %s (%s); dropped", outcome.kind, outcome.linkedid,
                            problem)
                return False
            level = logging.ERROR if status in (401, 403) else logging.WARNING  # the token needs an operator
            log.log(level, "platform unavailable (%s); retrying %s for call %s in %.1fs", problem,
                    outcome.kind, outcome.linkedid, delay)
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, self._retry_max)

    def _urllib_send(self, body: bytes) -> int:
        """Blocking POST (run in a thread); returns the HTTP status."""
        request = urllib.request.Request(  # noqa: S310 -- scheme checked in __init__
            self.endpoint, data=body, method="POST",
            headers={"Content-Type": "application/json; charset=utf-8",
                     "Authorization": f"Bearer {self._token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)
