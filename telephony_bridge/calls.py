"""Call correlation: feed AMI events in, get call outcomes out. Pure: no I/O, the clock is an argument.

Channels are grouped by Linkedid (Asterisk 12+); events without one (Asterisk 11) fall back to
Uniqueid and are joined by the legacy link events (Dial, Bridge, LocalBridge, AgentConnect's
BridgedChannel, Local ``;1``/``;2`` names). A call is finished a grace period after its last channel
hangs up, because AgentComplete and QueueCallerAbandon may arrive after the Hangup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from .call_state import Call, CallRules, Outcome
from .protocol import Message

_NO_CALLERID = {"", "<unknown>", "unknown"}
_CREATE_NEVER = {"hangup", "bridgeleave"}
Handler = Callable[[Message, float, list[Outcome]], None]


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except ValueError:
        return None


def _duration(value: str | None) -> int:
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


def _local_base(channel: str | None) -> str | None:
    if channel and channel.startswith("Local/") and channel[-2:] in (";1", ";2"):
        return channel[:-2]
    return None


class CallTracker:
    """Correlation state machine; ``feed`` each event, ``tick`` now and then to finish calls."""

    def __init__(self, pbx_id: str, rules: CallRules | None = None) -> None:
        self.pbx_id = pbx_id
        self.rules = rules or CallRules()
        self.calls: dict[str, Call] = {}
        self._channel_call: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._local_call: dict[str, str] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._resync_channels: set[str] | None = None
        self._handlers: dict[str, Handler] = {
            "newchannel": self._on_channel, "newstate": self._on_channel,
            "newcallerid": self._on_channel, "newconnectedline": self._on_channel,
            "hangup": self._on_hangup,
            "queuecallerjoin": self._on_join, "join": self._on_join,
            "queuecallerleave": self._on_leave, "leave": self._on_leave,
            "queuecallerabandon": self._on_abandon,
            "agentconnect": self._on_agent_connect, "agentcomplete": self._on_agent_complete,
            "dialbegin": self._on_dial_begin, "dialend": self._on_dial_end, "dial": self._on_legacy_dial,
            "bridgeenter": self._on_bridge_enter, "bridge": self._on_legacy_bridge,
            "localbridge": self._on_local_bridge,
            "varset": self._on_varset, "messagewaiting": self._on_message_waiting,
            "userevent": self._on_user_event,
            "coreshowchannel": self._on_core_show_channel, "queueentry": self._on_queue_entry,
        }

    # -- public -------------------------------------------------------------------------------

    def feed(self, msg: Message, now: float) -> list[Outcome]:
        """Apply one event; unknown events, responses and CEL/AGI noise are ignored."""
        name = msg.event
        handler = self._handlers.get(name.lower()) if name else None
        if handler is None:
            return []
        stamp = msg.get("Timestamp")
        try:
            ts = float(stamp) if stamp else now
        except ValueError:
            ts = now
        out: list[Outcome] = []
        handler(msg, ts, out)
        return out

    def tick(self, now: float) -> list[Outcome]:
        """Finish calls whose last channel hung up more than the grace period ago."""
        out: list[Outcome] = []
        for call in list(self.calls.values()):
            if call.ended_at is None and now - call.started_at > self.rules.max_call_seconds:
                call.ended_at = now  # a Hangup we never saw; resync would have caught it on reconnect
                call.in_queue = False
            if call.ended_at is not None and now - call.ended_at >= self.rules.end_grace:
                self._finish(call, out)
        return out

    def begin_resync(self) -> None:
        """Start listening to a CoreShowChannels/QueueStatus snapshot after a (re)connect."""
        self._resync_channels = set()
        for call in self.calls.values():
            call.touched = False
            call.queue_seen = False

    def abort_resync(self) -> None:
        """The connection broke mid-snapshot: forget it; the next connection starts a new one."""
        self._resync_channels = None

    def end_resync(self, now: float) -> None:
        """Calls and channels missing from the snapshot went away while we were disconnected."""
        seen = self._resync_channels or set()
        self._resync_channels = None
        for call in self.calls.values():
            for uniqueid in list(call.channels - seen):
                call.channel_gone(uniqueid, now)
            if not call.touched and call.ended_at is None:
                call.ended_at = now
            if call.ended_at is not None or not call.queue_seen:
                # We cannot know how a wait that ended unseen turned out: do not guess "abandoned".
                call.in_queue = False

    # -- correlation --------------------------------------------------------------------------

    def _resolve(self, linkedid: str) -> str | None:
        key = self._aliases.get(linkedid, linkedid)
        return key if key in self.calls else None

    def _call_for(self, msg: Message, ts: float, prefix: str = "", create: bool = True) -> Call | None:
        uid = msg.get(prefix + "Uniqueid") or None
        lid = msg.get(prefix + "Linkedid") or None
        if uid is None and lid is None:
            return None
        late = lid is not None and lid in self._finished and uid not in self._channel_call
        if late or (uid and uid in self._finished):
            return None  # a late or replayed event for a call already reported
        key = self._channel_call.get(uid) if uid else None
        if key is None and lid:
            key = self._resolve(lid)
        if key is None and lid is None:
            base = _local_base(msg.get(prefix + "Channel"))
            key = self._local_call.get(base) if base else None
        if key is None:
            if not create:
                return None
            key = lid or uid
            assert key is not None
            self.calls[key] = Call(linkedid=key, started_at=ts, caller_uniqueid=lid or key)
        call = self.calls[key]
        if lid and lid != key and self._resolve(lid) is None:
            self._aliases[lid] = key  # Linkedid changed (transfer): keep the first one as the key
        if uid:
            self._attach(call, uid, msg.get(prefix + "Channel"))
        call.touched = True
        return call

    def _attach(self, call: Call, uid: str, channel: str | None) -> None:
        self._channel_call.setdefault(uid, call.linkedid)
        if self._resync_channels is not None:
            self._resync_channels.add(uid)
        if uid not in call.dead and uid not in call.channels:
            call.channels.add(uid)
            call.ended_at = None
        base = _local_base(channel)
        if base:
            self._local_call.setdefault(base, call.linkedid)

    def _link(self, uid_a: str | None, uid_b: str | None, ts: float) -> Call | None:
        """Asterisk 11: channel B is another leg of A's call; merge B's call into A's."""
        if not uid_a or not uid_b:
            return None
        key_a, key_b = self._channel_call.get(uid_a), self._channel_call.get(uid_b)
        if key_a is None or key_a not in self.calls:
            return None
        call = self.calls[key_a]
        if key_b is None:
            self._attach(call, uid_b, None)
        elif key_b != key_a and key_b in self.calls:
            # A is the side that dialled or bridged in the other leg: its call survives.
            keep, drop = call, self.calls.pop(key_b)
            keep.absorb(drop)
            for uid, key in self._channel_call.items():
                if key == drop.linkedid:
                    self._channel_call[uid] = keep.linkedid
            for base, key in self._local_call.items():
                if key == drop.linkedid:
                    self._local_call[base] = keep.linkedid
            self._aliases[drop.linkedid] = keep.linkedid
            call = keep
        return call

    def _caller_info(self, call: Call, msg: Message, force: bool = False) -> None:
        uid = msg.get("Uniqueid")
        if not force and uid != call.caller_uniqueid:
            return
        number, name = msg.get("CallerIDNum"), msg.get("CallerIDName")
        if number not in _NO_CALLERID and number is not None:
            call.caller_number = number
        if name not in _NO_CALLERID and name is not None:
            call.caller_name = name

    def _chan_variables(self, call: Call, msg: Message) -> None:
        """``channelvars`` in manager.conf add ``ChanVariable: NAME=value`` to every snapshot."""
        for key, value in msg.headers:
            low = key.lower()
            if low.startswith(("chanvariable", "destchanvariable")):
                name, _, val = value.partition("=")
                self._variable(call, name, val)

    def _variable(self, call: Call, name: str, value: str) -> None:
        name = name.strip()
        if name.startswith("LOCAL(") and name.endswith(")"):
            name = name[6:-1]
        if not value:
            return
        if name in ("MIXMONITOR_FILENAME", self.rules.recording_variable or "MIXMONITOR_FILENAME"):
            call.recording_file = call.recording_file or value
        elif name == "VM_MESSAGEFILE":
            call.voicemail_file = call.voicemail_file or value

    # -- outcomes -----------------------------------------------------------------------------

    def _emit(self, call: Call, kind: str, out: list[Outcome]) -> None:
        if kind not in call.emitted:
            call.emitted.add(kind)
            out.append(Outcome.of(self.pbx_id, call, kind))

    def _check_direct_answer(self, call: Call, out: list[Outcome]) -> None:
        if "answered" in call.emitted or call.dial_answered_at is None or call.bridged_at is None:
            return
        call.answered_at = call.answered_at or max(call.dial_answered_at, call.bridged_at)
        call.agent_interface = call.agent_interface or call.dial_device
        self._emit(call, "answered", out)

    def _finish(self, call: Call, out: list[Outcome]) -> None:
        ended = call.ended_at
        if call.in_queue and "answered" not in call.emitted:
            if call.queue_joined_at is not None and ended is not None and call.hold_seconds is None:
                call.hold_seconds = max(0, round(ended - call.queue_joined_at))
            self._emit(call, "abandoned", out)
        if call.voicemail_file:
            self._emit(call, "voicemail", out)
        if call.recording_file:
            self._emit(call, "recording", out)
        if call.answered_at is not None and call.talk_seconds is None and ended is not None:
            call.talk_seconds = max(0, round(ended - call.answered_at))
        self._emit(call, "ended", out)
        self._forget(call)

    def _forget(self, call: Call) -> None:
        del self.calls[call.linkedid]
        gone = {call.linkedid} | call.channels | call.dead
        gone |= {alias for alias, key in self._aliases.items() if key == call.linkedid}
        for uid in call.channels | call.dead:
            self._channel_call.pop(uid, None)
        for alias in gone:
            self._aliases.pop(alias, None)
        for base in [b for b, key in self._local_call.items() if key == call.linkedid]:
            del self._local_call[base]
        for key in gone:
            self._finished[key] = None
        while len(self._finished) > self.rules.remember_finished:
            self._finished.popitem(last=False)

    # -- event handlers -----------------------------------------------------------------------

    def _on_channel(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is not None:
            self._caller_info(call, msg)
            self._chan_variables(call, msg)

    def _on_hangup(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts, create=False)
        uid = msg.get("Uniqueid")
        if call is not None and uid:
            self._caller_info(call, msg)
            self._chan_variables(call, msg)
            call.channel_gone(uid, ts)

    def _on_join(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None or "answered" in call.emitted:
            return
        self._caller_info(call, msg, force=call.caller_number is None)
        call.in_queue, call.queue_seen = True, True
        call.queue = msg.get("Queue") or call.queue
        call.position = _int(msg.get("Position"))
        call.original_position = call.original_position or call.position
        call.queue_joined_at = call.queue_joined_at or ts

    def _on_leave(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts, create=False)
        if call is not None:
            call.in_queue = False

    def _on_abandon(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None or "answered" in call.emitted:
            return
        call.in_queue = False
        call.queue = msg.get("Queue") or call.queue
        call.position = _int(msg.get("Position")) or call.position
        call.original_position = _int(msg.get("OriginalPosition")) or call.original_position
        call.hold_seconds = _int(msg.get("HoldTime"))
        self._emit(call, "abandoned", out)

    def _agent_fields(self, call: Call, msg: Message) -> None:
        call.queue = msg.get("Queue") or call.queue
        # 12+ says Interface; Asterisk 11 said Member.
        call.agent_interface = msg.get("Interface") or msg.get("Member") or call.agent_interface
        call.agent_member_name = msg.get("MemberName") or call.agent_member_name
        call.hold_seconds = _int(msg.get("HoldTime")) if "HoldTime" in msg else call.hold_seconds
        call.in_queue = False

    def _on_agent_connect(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None:
            return
        if "Linkedid" in msg:
            self._call_for(msg, ts, prefix="Dest")
        else:
            call = self._link(msg.get("Uniqueid"), msg.get("BridgedChannel"), ts) or call
        self._agent_fields(call, msg)
        call.answered_at = call.answered_at or ts
        self._emit(call, "answered", out)

    def _on_agent_complete(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None:
            return
        self._agent_fields(call, msg)
        call.talk_seconds = _int(msg.get("TalkTime"))
        if call.answered_at is None:
            call.answered_at = ts - (call.talk_seconds or 0)
        self._emit(call, "answered", out)

    def _on_dial_begin(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        dest = self._call_for(msg, ts, prefix="Dest")
        if call is not None:
            self._caller_info(call, msg)
            self._chan_variables(call, msg)
        elif dest is not None:
            self._chan_variables(dest, msg)

    def _dial_answered(self, call: Call, dest_channel: str | None, ts: float, out: list[Outcome]) -> None:
        device = device_of(dest_channel)
        if device and (call.dial_device is None or call.dial_device.startswith("Local/")):
            call.dial_device = device
        if call.in_queue:
            return  # the queue dialled an agent: AgentConnect reports that answer
        call.dial_answered_at = call.dial_answered_at or ts
        self._check_direct_answer(call, out)

    def _on_dial_end(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts) or self._call_for(msg, ts, prefix="Dest")
        if call is None:
            return
        self._call_for(msg, ts, prefix="Dest")
        if (msg.get("DialStatus") or "").upper() == "ANSWER":
            self._dial_answered(call, msg.get("DestChannel"), ts, out)

    def _on_legacy_dial(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        """Asterisk 11: ``Event: Dial`` with ``SubEvent: Begin|End``."""
        call = self._call_for(msg, ts)
        if call is None:
            return
        sub = (msg.get("SubEvent") or "").lower()
        if sub == "begin":
            call = self._link(msg.get("Uniqueid"), msg.get("DestUniqueID"), ts) or call
            self._caller_info(call, msg)
        elif sub == "end" and (msg.get("DialStatus") or "").upper() == "ANSWER":
            self._dial_answered(call, msg.get("Destination"), ts, out)

    def _on_bridge_enter(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        bridge, uid = msg.get("BridgeUniqueid"), msg.get("Uniqueid")
        if call is None or not bridge or not uid:
            return
        members = call.bridges.setdefault(bridge, set())
        members.add(uid)
        if len(members) >= 2 or (_int(msg.get("BridgeNumChannels")) or 0) >= 2:
            call.bridged_at = call.bridged_at or ts
            self._check_direct_answer(call, out)

    def _on_legacy_bridge(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        """Asterisk 11: ``Event: Bridge`` with ``Bridgestate: Link``."""
        if (msg.get("Bridgestate") or "").lower() != "link":
            return
        call = self._link(msg.get("Uniqueid1"), msg.get("Uniqueid2"), ts)
        if call is None:
            return
        call.dial_device = call.dial_device or device_of(msg.get("Channel2"))
        call.bridged_at = call.bridged_at or ts
        self._check_direct_answer(call, out)

    def _on_local_bridge(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        if "LocalOneLinkedid" not in msg:
            self._link(msg.get("Uniqueid1"), msg.get("Uniqueid2"), ts)

    def _on_varset(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None:
            return
        self._variable(call, msg.get("Variable") or "", msg.get("Value") or "")
        if call.voicemail_file and call.mailbox_notified:
            self._emit(call, "voicemail", out)

    def _on_message_waiting(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts, create=False)  # only 16.24+ names the channel that left it
        if call is None:
            return
        call.mailbox_notified = True
        if call.voicemail_file:
            self._emit(call, "voicemail", out)

    def _on_user_event(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None:
            return
        rules = self.rules
        if rules.recording_userevent_header and msg.get(rules.recording_userevent_header):
            call.recording_file = call.recording_file or msg.get(rules.recording_userevent_header)
        if (msg.get("UserEvent") or "") == rules.voicemail_userevent:
            call.voicemail_file = msg.get(rules.voicemail_file_header) or call.voicemail_file
            self._emit(call, "voicemail", out)

    def _on_core_show_channel(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None:
            return
        call.started_at = min(call.started_at, ts - _duration(msg.get("Duration")))
        self._caller_info(call, msg)
        if "Linkedid" not in msg:
            self._link(msg.get("Uniqueid"), msg.get("BridgedUniqueID"), ts)

    def _on_queue_entry(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._call_for(msg, ts)
        if call is None or "answered" in call.emitted:
            return
        self._caller_info(call, msg, force=call.caller_number is None)
        call.in_queue, call.queue_seen = True, True
        call.queue = msg.get("Queue") or call.queue
        call.position = _int(msg.get("Position"))
        call.original_position = call.original_position or call.position
        call.queue_joined_at = call.queue_joined_at or ts - (_int(msg.get("Wait")) or 0)
