"""A scripted fake Asterisk manager interface, for tests and demos without a PBX.

Each accepted connection plays the next ``Session``: banner, plain or MD5 login, then the scripted
event stream cut into random chunk sizes; it answers Ping, CoreShowChannels and QueueStatus (from
the session's snapshot) and can drop the connection or stop answering Pings.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

from .client import md5_key
from .protocol import AmiParser, Message


def to_wire(text: bytes) -> bytes:
    """Capture files are stored with LF line ends for readability; AMI sends CRLF."""
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def split_messages(data: bytes) -> list[bytes]:
    """Split a capture into raw messages (each without its blank line)."""
    return [m for m in to_wire(data).split(b"\r\n\r\n") if m.strip()]


@dataclass
class Session:
    """What the fake does on one connection."""

    events: bytes = b""
    channels: bytes = b""
    queue_entries: bytes = b""
    stream_after_resync: bool = True
    drop_after_events: bool = False
    answer_pings: bool = True


@dataclass
class FakePbx:
    """Fake AMI server on 127.0.0.1 and a random port."""

    username: str = "huiyin"
    secret: str = ""
    sessions: list[Session] = field(default_factory=list)
    banner: str = "Asterisk Call Manager/5.0.1"
    max_chunk: int = 97
    seed: int = 12345
    port: int = 0
    connections: int = 0
    actions: list[str] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> int:
        self._random = random.Random(self.seed)
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write in random chunk sizes, yielding between them so reads see the splits."""
        i = 0
        while i < len(data):
            n = self._random.randint(1, self.max_chunk)
            writer.write(data[i : i + n])
            i += n
            await writer.drain()
            await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index, self.connections = self.connections, self.connections + 1
        session = self.sessions[index] if index < len(self.sessions) else Session()
        self._writers.add(writer)
        state: dict[str, object] = {"session": session, "logged_in": False, "challenge": None}
        streamer: asyncio.Task[None] | None = None
        try:
            await self._send(writer, f"{self.banner}\r\n".encode())
            parser = AmiParser()
            while data := await reader.read(4096):
                for msg in parser.feed(data):
                    start = await self._answer(msg, writer, state)
                    if start and streamer is None:
                        streamer = asyncio.create_task(self._stream(writer, session))
                    if state.get("close"):
                        return
        except (ConnectionError, OSError):
            pass
        finally:
            if streamer is not None:
                streamer.cancel()
            self._writers.discard(writer)
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter, session: Session) -> None:
        await self._send(writer, to_wire(session.events))
        if session.drop_after_events:
            writer.close()

    async def _reply(self, writer: asyncio.StreamWriter, msg: Message, *lines: str) -> None:
        action_id = msg.action_id
        head = [*lines[:1], *([f"ActionID: {action_id}"] if action_id else []), *lines[1:]]
        await self._send(writer, ("\r\n".join(head) + "\r\n\r\n").encode())

    async def _answer(self, msg: Message, writer: asyncio.StreamWriter, state: dict[str, object]) -> bool:
        """Answer one action; True when the scripted event stream should start."""
        action = (msg.get("Action") or "").lower()
        self.actions.append(action)
        session = state["session"]
        assert isinstance(session, Session)
        if action == "challenge":
            state["challenge"] = str(self._random.randint(100000000, 999999999))
            await self._reply(writer, msg, "Response: Success", f"Challenge: {state['challenge']}")
        elif action == "login":
            return await self._login(msg, writer, state, session)
        elif not state["logged_in"]:
            await self._reply(writer, msg, "Response: Error", "Message: Permission denied")
        elif action == "ping":
            if session.answer_pings:
                await self._reply(writer, msg, "Response: Success", "Ping: Pong", "Timestamp: 1700000000.000000")
        elif action == "coreshowchannels":
            await self._list(writer, msg, session.channels, "Channels will follow", "CoreShowChannelsComplete")
        elif action == "queuestatus":
            await self._list(writer, msg, session.queue_entries, "Queue status will follow",
                             "QueueStatusComplete")
            return session.stream_after_resync
        elif action == "logoff":
            await self._reply(writer, msg, "Response: Goodbye", "Message: Thanks for all the fish.")
            state["close"] = True
        else:
            await self._reply(writer, msg, "Response: Error", "Message: Invalid/unknown command")
        return False

    async def _login(self, msg: Message, writer: asyncio.StreamWriter, state: dict[str, object],
                     session: Session) -> bool:
        md5 = (msg.get("AuthType") or "").lower() == "md5"
        challenge = state.get("challenge")
        if md5:
            ok = isinstance(challenge, str) and msg.get("Key") == md5_key(challenge, self.secret)
        else:
            ok = msg.get("Secret") == self.secret
        ok = ok and msg.get("Username") == self.username
        self.logins.append(("md5" if md5 else "plain", ok))
        if not ok:
            await self._reply(writer, msg, "Response: Error", "Message: Authentication failed")
            state["close"] = True
            return False
        state["logged_in"] = True
        await self._reply(writer, msg, "Response: Success", "Message: Authentication accepted")
        await self._send(writer, b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 100\r\n"
                                 b"LastReload: 100\r\nStatus: Fully Booted\r\n\r\n")
        return not session.stream_after_resync

    async def _list(self, writer: asyncio.StreamWriter, msg: Message, items: bytes, text: str,
                    complete: str) -> None:
        action_id = msg.action_id or ""
        await self._reply(writer, msg, "Response: Success", "EventList: start", f"Message: {text}")
        raw = split_messages(items)
        for item in raw:
            first, _, rest = item.partition(b"\r\n")
            await self._send(writer, first + f"\r\nActionID: {action_id}\r\n".encode() + rest + b"\r\n\r\n")
        await self._send(writer, f"Event: {complete}\r\nActionID: {action_id}\r\nEventList: Complete\r\n"
                                 f"ListItems: {len(raw)}\r\n\r\n".encode())
