"""The AMI connection: banner, login (plain or MD5 challenge), keep-alive, reconnect and resync.

Errors::

    AmiError
    ├── LoginFailed      the PBX refused the credentials (fatal after AMI_LOGIN_RETRIES in a row)
    └── ConnectionLost   EOF, a missing Pong, or a bad banner: reconnect with backoff

The reader never waits on anything but the socket: each event goes straight through the pure
``CallTracker`` and its outcomes into a non-blocking queue, because Asterisk disconnects a manager
session that does not keep up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .calls import CallTracker
from .poster import OutcomeQueue
from .protocol import BANNER_PREFIX, AmiParser, Message, ParserStats, encode_action
from .settings import Settings

log = logging.getLogger(__name__)
READ_SIZE = 65536


class AmiError(Exception):
    """Base of the AMI errors."""


class LoginFailed(AmiError):
    """The PBX refused our credentials."""


class ConnectionLost(AmiError):
    """The session is unusable; the supervisor reconnects."""


@dataclass
class _Pending:
    future: asyncio.Future[list[Message]]
    is_list: bool
    messages: list[Message] = field(default_factory=list)


class AmiConnection:
    """One TCP session: sends actions, matches responses by ActionID, hands events to a callback."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, parser: AmiParser,
                 on_event: Callable[[Message], None]) -> None:
        self._reader, self._writer, self.parser = reader, writer, parser
        self._on_event = on_event
        self._pending: dict[str, _Pending] = {}
        self._ids = itertools.count(1)
        self._prefix = f"hy{random.getrandbits(24):06x}-"

    async def read_loop(self) -> None:
        """Read until EOF; fail whatever is still waiting for a response."""
        try:
            while data := await self._reader.read(READ_SIZE):
                for msg in self.parser.feed(data):
                    self._dispatch(msg)
        finally:
            for pending in self._pending.values():
                if not pending.future.done():
                    pending.future.set_exception(ConnectionLost("connection closed"))
            self._pending.clear()

    def _dispatch(self, msg: Message) -> None:
        if msg.event is not None:
            self._on_event(msg)
        pending = self._pending.get(msg.action_id or "")
        if pending is None:
            return
        pending.messages.append(msg)
        complete = (msg.get("EventList") or "").lower() == "complete"
        failed = msg.response is not None and msg.response.lower() == "error"
        if not pending.is_list or complete or failed:
            del self._pending[msg.action_id or ""]
            if not pending.future.done():
                pending.future.set_result(pending.messages)

    async def action(self, name: str, fields: dict[str, str] | None = None, timeout: float = 10.0,
                     is_list: bool = False) -> list[Message]:
        """Send an action; return its response (and, for list actions, the events up to Complete)."""
        action_id = f"{self._prefix}{next(self._ids)}"
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future, is_list)
        self._writer.write(encode_action(name, {**(fields or {}), "ActionID": action_id}))
        try:
            await self._writer.drain()
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(action_id, None)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._writer.wait_closed()


def md5_key(challenge: str, secret: str) -> str:
    """AMI's MD5 login key: md5(challenge + secret) in hex."""
    return hashlib.md5((challenge + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


class AmiClient:
    """Keeps one logged-in AMI session alive and feeds its events to the tracker."""

    def __init__(self, settings: Settings, tracker: CallTracker, outcomes: OutcomeQueue,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.tracker = tracker
        self.outcomes = outcomes
        self.clock = clock
        self.stats = ParserStats()
        self.parser: AmiParser | None = None
        self.connected = asyncio.Event()
        self._logged_in = False

    def _on_event(self, msg: Message) -> None:
        for outcome in self.tracker.feed(msg, self.clock()):
            self.outcomes.put(outcome)

    async def run_forever(self) -> None:
        """Connect, serve, reconnect with exponential backoff and jitter; give up only on bad logins."""
        s = self.settings
        delay, refused = s.ami_reconnect_min, 0
        while True:
            self._logged_in = False
            try:
                await self._session()
            except LoginFailed as exc:
                refused += 1
                log.error("AMI login refused by %s:%s (%s), attempt %d of %d", s.ami_host, s.ami_port,
                          exc, refused, s.ami_login_retries)
                if refused >= s.ami_login_retries:
                    raise
            except (OSError, TimeoutError, AmiError) as exc:
                log.warning("AMI connection to %s:%s lost: %s", s.ami_host, s.ami_port,
                            exc or type(exc).__name__)
            finally:
                self.connected.clear()
            if self._logged_in:
                refused, delay = 0, s.ami_reconnect_min  # it worked last time: come back quickly
            sleep = random.uniform(delay / 2, delay)
            log.info("reconnecting to AMI in %.1fs", sleep)
            await asyncio.sleep(sleep)
            delay = min(delay * 2, s.ami_reconnect_max)

    def parser_stats(self) -> ParserStats:
        """What every session so far had to skip (oversized or malformed input)."""
        total = ParserStats(**vars(self.stats))
        if self.parser is not None:
            for name, value in vars(self.parser.stats).items():
                setattr(total, name, getattr(total, name) + value)
        return total

    async def _session(self) -> None:
        s = self.settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.ami_host, s.ami_port, limit=s.ami_max_message * 2),
            s.ami_connect_timeout)
        parser = AmiParser(max_line=s.ami_max_line, max_message=s.ami_max_message)
        self.parser = parser
        conn = AmiConnection(reader, writer, parser, self._on_event)
        try:
            banner = (await asyncio.wait_for(reader.readline(), s.ami_connect_timeout)).decode("utf-8", "replace")
            if not banner.startswith(BANNER_PREFIX):
                raise ConnectionLost(f"not an AMI server (banner {banner[:40]!r})")
            parser.banner = banner.strip()
            read_task = asyncio.create_task(conn.read_loop())
            try:
                await self._login(conn)
                self._logged_in = True
                log.info("AMI session open on %s:%s (%s)", s.ami_host, s.ami_port, parser.banner)
                await self._resync(conn)
                self.connected.set()
                await self._keep_alive(conn, read_task)
            finally:
                read_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await read_task
        finally:
            await conn.close()
            self.stats = self.parser_stats()
            self.parser = None

    async def _login(self, conn: AmiConnection) -> None:
        s = self.settings
        fields = {"Username": s.ami_username, "Events": s.ami_events}
        if s.ami_auth == "md5":
            (reply,) = await conn.action("Challenge", {"AuthType": "MD5"}, s.ami_connect_timeout)
            challenge = reply.get("Challenge")
            if (reply.response or "").lower() != "success" or not challenge:
                raise LoginFailed(reply.get("Message") or "challenge refused")
            fields.update(AuthType="MD5", Key=md5_key(challenge, s.ami_secret))
        else:
            fields["Secret"] = s.ami_secret
        (reply,) = await conn.action("Login", fields, s.ami_connect_timeout)
        if (reply.response or "").lower() != "success":
            raise LoginFailed(reply.get("Message") or "authentication failed")

    async def _resync(self, conn: AmiConnection) -> None:
        """Rebuild calls in progress from the PBX's own view, then drop what vanished meanwhile."""
        timeout = self.settings.ami_connect_timeout
        self.tracker.begin_resync()
        try:
            channels = await conn.action("CoreShowChannels", timeout=timeout, is_list=True)
            entries = await conn.action("QueueStatus", timeout=timeout, is_list=True)
        except BaseException:
            self.tracker.abort_resync()
            raise
        self.tracker.end_resync(self.clock())
        log.info("resynced: %d channel events, %d queue events, %d calls in progress",
                 len(channels) - 1, len(entries) - 1, len(self.tracker.calls))

    async def _keep_alive(self, conn: AmiConnection, read_task: asyncio.Task[None]) -> None:
        s = self.settings
        while True:
            done, _ = await asyncio.wait({read_task}, timeout=s.ami_ping_interval)
            if done:
                read_task.result()
                raise ConnectionLost("closed by the PBX")
            try:
                await conn.action("Ping", timeout=s.ami_ping_timeout)
            except TimeoutError:
                raise ConnectionLost(f"no Pong within {s.ami_ping_timeout}s") from None
