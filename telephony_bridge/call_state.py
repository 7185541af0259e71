"""What the bridge knows about one call, and the outcome payload it posts to the platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KINDS = ("answered", "abandoned", "voicemail", "recording", "ended")


@dataclass(frozen=True)
class CallRules:
    """Site-specific names the dialplan uses; defaults match docs/telephony-bridge.md."""

    voicemail_userevent: str = "HuiyinVoicemail"
    voicemail_file_header: str = "File"
    recording_userevent_header: str = "MonFile"
    recording_variable: str = ""
    end_grace: float = 3.0
    max_call_seconds: float = 6 * 3600
    remember_finished: int = 20_000


@dataclass
class Call:
    """One call, keyed by the Linkedid first seen on the caller's leg (Uniqueid on Asterisk 11)."""

    linkedid: str
    started_at: float
    caller_uniqueid: str
    caller_number: str | None = None
    caller_name: str | None = None
    queue: str | None = None
    agent_interface: str | None = None
    agent_member_name: str | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    hold_seconds: int | None = None
    talk_seconds: int | None = None
    position: int | None = None
    original_position: int | None = None
    recording_file: str | None = None
    voicemail_file: str | None = None
    channels: set[str] = field(default_factory=set)
    dead: set[str] = field(default_factory=set)
    in_queue: bool = False
    queue_joined_at: float | None = None
    dial_answered_at: float | None = None
    dial_device: str | None = None
    bridged_at: float | None = None
    bridges: dict[str, set[str]] = field(default_factory=dict)
    mailbox_notified: bool = False
    emitted: set[str] = field(default_factory=set)
    touched: bool = True
    queue_seen: bool = True

    def channel_gone(self, uniqueid: str, at: float) -> None:
        """Forget a hung-up channel; the call ends when its last channel does."""
        self.channels.discard(uniqueid)
        self.dead.add(uniqueid)
        if not self.channels and self.ended_at is None:
            self.ended_at = at

    def absorb(self, other: Call) -> None:
        """Take over a call that turned out to be another leg of this one (Asterisk 11 links)."""
        self.channels |= other.channels
        self.dead |= other.dead
        self.emitted |= other.emitted
        self.started_at = min(self.started_at, other.started_at)
        for name in ("caller_number", "caller_name", "queue", "agent_interface", "agent_member_name",
                     "answered_at", "hold_seconds", "talk_seconds", "position", "original_position",
                     "recording_file", "voicemail_file", "dial_answered_at", "dial_device", "bridged_at",
                     "queue_joined_at"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(other, name))
        self.in_queue = self.in_queue or other.in_queue
        self.mailbox_notified = self.mailbox_notified or other.mailbox_notified
        for bridge, members in other.bridges.items():
            self.bridges.setdefault(bridge, set()).update(members)
        if self.channels:
            self.ended_at = None


def iso(ts: float | None) -> str | None:
    """Epoch seconds to ISO 8601 in UTC; the platform converts to Beijing time for display."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Outcome:
    """One thing that happened to a call, as posted to ``/api/v1/calls/events``."""

    pbx_id: str
    linkedid: str
    kind: str
    caller_number: str | None
    caller_name: str | None
    queue: str | None
    agent_interface: str | None
    agent_member_name: str | None
    started_at: str | None
    answered_at: str | None
    ended_at: str | None
    hold_seconds: int | None
    talk_seconds: int | None
    position: int | None
    original_position: int | None
    recording_file: str | None
    voicemail_file: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        """How the platform deduplicates: one outcome of each kind per call."""
        return (self.pbx_id, self.linkedid, self.kind)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def of(cls, pbx_id: str, call: Call, kind: str) -> Outcome:
        """Snapshot the call as it stands when this outcome is known."""
        return cls(
            pbx_id=pbx_id, linkedid=call.linkedid, kind=kind,
            caller_number=call.caller_number, caller_name=call.caller_name, queue=call.queue,
            agent_interface=call.agent_interface, agent_member_name=call.agent_member_name,
            started_at=iso(call.started_at), answered_at=iso(call.answered_at), ended_at=iso(call.ended_at),
            hold_seconds=call.hold_seconds, talk_seconds=call.talk_seconds, position=call.position,
            original_position=call.original_position, recording_file=call.recording_file,
            voicemail_file=call.voicemail_file,
        )
