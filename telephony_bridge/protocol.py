"""AMI wire format: an incremental parser and an action encoder, with no I/O.

The parser is fed whatever bytes a read returned (a message may be split anywhere, even inside a
multibyte character) and returns the complete messages. Lines are decoded one at a time, so a split
character is never decoded half-way. Oversized lines and messages are skipped and counted rather
than raised: Asterisk keeps streaming and the bridge must keep reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

BANNER_PREFIX = "Asterisk Call Manager/"
MAX_LINE = 8 * 1024
MAX_MESSAGE = 64 * 1024
_LINE_END = re.compile(rb"\r?\n")


def decode_value(raw: bytes) -> str:
    """UTF-8 first; legacy PBXs send Chinese caller names in GB18030 (a superset of GBK)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


class Message:
    """One AMI message: ordered ``Key: Value`` headers, keys case-insensitive and repeatable."""

    __slots__ = ("headers", "_first")

    def __init__(self, headers: Iterable[tuple[str, str]] = ()) -> None:
        self.headers: list[tuple[str, str]] = []
        self._first: dict[str, str] = {}
        for key, value in headers:
            self.add(key, value)

    def add(self, key: str, value: str) -> None:
        """Append a header; the first value of a key is the one ``get`` returns."""
        self.headers.append((key, value))
        self._first.setdefault(key.lower(), value)

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of ``key`` (any case), or ``default``."""
        return self._first.get(key.lower(), default)

    def get_all(self, key: str) -> list[str]:
        """Every value of a repeated key, in order."""
        low = key.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    @property
    def event(self) -> str | None:
        """Event name, or None for responses."""
        return self._first.get("event")

    @property
    def response(self) -> str | None:
        """Response status (``Success``, ``Error``, ``Follows``…), or None for events."""
        return self._first.get("response")

    @property
    def action_id(self) -> str | None:
        return self._first.get("actionid")

    def __repr__(self) -> str:
        kind = f"Event={self.event}" if self.event else f"Response={self.response}"
        return f"<Message {kind} {len(self.headers)} headers>"


@dataclass
class ParserStats:
    """What the parser had to skip; exported so operators can see a misbehaving PBX."""

    messages: int = 0
    oversized_lines: int = 0
    oversized_messages: int = 0
    malformed_lines: int = 0


@dataclass
class AmiParser:
    """Turns a byte stream into ``Message`` objects; ``feed`` may be called with any chunking."""

    max_line: int = MAX_LINE
    max_message: int = MAX_MESSAGE
    banner: str | None = None
    stats: ParserStats = field(default_factory=ParserStats)
    _buffer: bytearray = field(default_factory=bytearray)
    _headers: list[tuple[str, str]] = field(default_factory=list)
    _size: int = 0
    _skip_line: bool = False
    _skip_message: bool = False

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes, return every message completed by them."""
        self._buffer += data
        out: list[Message] = []
        buf = self._buffer
        start = 0
        while True:
            match = _LINE_END.search(buf, start)
            if match is None:
                break
            line = bytes(buf[start : match.start()])
            start = match.end()
            if self._skip_line:
                # The tail of an oversized line: drop it, the line was already counted.
                self._skip_line = False
                continue
            message = self._line(line)
            if message is not None:
                out.append(message)
        del buf[:start]
        if len(buf) > self.max_line and not self._skip_line:
            self._skip_line = True
            self.stats.oversized_lines += 1
            self._poison_message()
        if self._skip_line:
            buf.clear()
        return out

    def _poison_message(self) -> None:
        """A message with a dropped line is incomplete; skip the rest of it too."""
        if not self._skip_message:
            self._skip_message = True
            self.stats.oversized_messages += 1
        self._headers = []

    def _line(self, line: bytes) -> Message | None:
        if not line:
            return self._end_of_message()
        if len(line) > self.max_line:
            self.stats.oversized_lines += 1
            self._poison_message()
            return None
        if self._skip_message:
            return None
        self._size += len(line) + 2
        if self._size > self.max_message:
            self.stats.oversized_messages += 1
            self._skip_message = True
            self._headers = []
            return None
        key, sep, value = line.partition(b":")
        if not sep or not key or b" " in key.strip():
            self._odd_line(line)
            return None
        self._headers.append((key.strip().decode("ascii", "replace"), decode_value(value.strip())))
        return None

    def _odd_line(self, line: bytes) -> None:
        text = decode_value(line)
        if not self._headers and text.startswith(BANNER_PREFIX):
            self.banner = text
        else:
            self.stats.malformed_lines += 1

    def _end_of_message(self) -> Message | None:
        headers, self._headers = self._headers, []
        self._size = 0
        if self._skip_message:
            self._skip_message = False
            return None
        if not headers:
            return None
        self.stats.messages += 1
        return Message(headers)


def encode_action(action: str, fields: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> bytes:
    """Serialize an action; refuses CR/LF in a value so nobody can smuggle a second action in."""
    pairs = list(fields.items()) if isinstance(fields, Mapping) else list(fields)
    lines = [f"Action: {action}"]
    for key, value in pairs:
        if any(c in f"{key}{value}" for c in "\r\n"):
            raise ValueError(f"line break in AMI header {key!r}")
        lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def iter_messages(data: bytes, chunk: int = 0) -> Iterator[Message]:
    """Parse a whole capture at once (tests, benchmarks, offline replays)."""
    parser = AmiParser()
    if chunk <= 0:
        yield from parser.feed(data)
        return
    for i in range(0, len(data), chunk):
        yield from parser.feed(data[i : i + chunk])
