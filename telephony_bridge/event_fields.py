"""What an AMI event's headers say about a call: caller ID, channel variables, queue and agent fields.

Pure functions that copy header values into a ``Call``; which event means which outcome is decided
in ``calls``.
"""

from __future__ import annotations

from .call_state import Call, CallRules
from .protocol import Message

_NO_CALLERID = {"", "<unknown>", "unknown"}


def to_int(value: str | None) -> int | None:
    """A header's number (``"12.0"`` too), or None when it is missing or not a number."""
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def duration_seconds(value: str | None) -> int:
    """CoreShowChannel's Duration is HH:MM:SS (seconds on some versions)."""
    if not value:
        return 0
    try:
        parts = [int(p) for p in value.split(":")]
    except ValueError:
        return 0
    total = 0
    for part in parts:
        total = total * 60 + part
    return total


def device_of(channel: str | None) -> str | None:
    """``PJSIP/8001-0000001a`` → ``PJSIP/8001``: the agent's interface, not this one leg."""
    if not channel:
        return None
    base, sep, _ = channel.rpartition("-")
    return base if sep and "/" in base else channel


def caller_info(call: Call, msg: Message, force: bool = False) -> None:
    """Take the caller ID from the caller's own leg (from any leg when ``force``)."""
    uid = msg.get("Uniqueid")
    if not force and uid != call.caller_uniqueid:
        return
    number, name = msg.get("CallerIDNum"), msg.get("CallerIDName")
    if number not in _NO_CALLERID and number is not None:
        call.caller_number = number
    if name not in _NO_CALLERID and name is not None:
        call.caller_name = name


def chan_variables(call: Call, msg: Message, rules: CallRules) -> None:
    """``channelvars`` in manager.conf add ``ChanVariable: NAME=value`` to every snapshot."""
    for key, value in msg.headers:
        low = key.lower()
        if low.startswith(("chanvariable", "destchanvariable")):
            name, _, val = value.partition("=")
            set_variable(call, name, val, rules)


def set_variable(call: Call, name: str, value: str, rules: CallRules) -> None:
    """A channel variable naming the recording or the voicemail file; the first one seen stays."""
    name = name.strip()
    if name.startswith("LOCAL(") and name.endswith(")"):
        name = name[6:-1]
    if not value:
        return
    if name in ("MIXMONITOR_FILENAME", rules.recording_variable or "MIXMONITOR_FILENAME"):
        call.recording_file = call.recording_file or value
    elif name == "VM_MESSAGEFILE":
        call.voicemail_file = call.voicemail_file or value


def agent_fields(call: Call, msg: Message) -> None:
    """AgentConnect/AgentComplete: the queue, the member who took the call, the wait; it left the queue."""
    call.queue = msg.get("Queue") or call.queue
    # 12+ says Interface; Asterisk 11 said Member.
    call.agent_interface = msg.get("Interface") or msg.get("Member") or call.agent_interface
    call.agent_member_name = msg.get("MemberName") or call.agent_member_name
    call.hold_seconds = to_int(msg.get("HoldTime")) if "HoldTime" in msg else call.hold_seconds
    call.in_queue = False


def queued(call: Call, msg: Message, joined_at: float) -> None:
    """QueueCallerJoin or a resync's QueueEntry: the caller waits in a queue since ``joined_at``."""
    caller_info(call, msg, force=call.caller_number is None)
    call.in_queue, call.queue_seen = True, True
    call.queue = msg.get("Queue") or call.queue
    call.position = to_int(msg.get("Position"))
    call.original_position = call.original_position or call.position
    call.queue_joined_at = call.queue_joined_at or joined_at
