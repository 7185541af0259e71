"""Outcome detection: feed AMI events in, get call outcomes out. Pure: no I/O, the clock is an argument.

Each event's handler finds its call (``correlation``), copies what the headers say into it
(``event_fields``) and decides whether that makes an outcome: answered, abandoned, voicemail. A call
is finished, with its recording and ``ended`` outcomes, a grace period after its last channel hangs
up, because AgentComplete and QueueCallerAbandon may arrive after the Hangup.
"""

from __future__ import annotations

from collections.abc import Callable

from .call_state import Call, CallRules, Outcome
from .correlation import Correlator
from .event_fields import (
    agent_fields,
    caller_info,
    chan_variables,
    device_of,
    duration_seconds,
    queued,
    set_variable,
    to_int,
)
from .protocol import Message

Handler = Callable[[Message, float, list[Outcome]], None]


class CallTracker:
    """Events in, outcomes out; ``feed`` each event, ``tick`` now and then to finish calls."""

    def __init__(self, pbx_id: str, rules: CallRules | None = None) -> None:
        self.pbx_id = pbx_id
        self.rules = rules or CallRules()
        self._correlator = Correlator(self.rules.remember_finished)
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


    @property
    def calls(self) -> dict[str, Call]:
        """The calls not yet finished, by key."""
        return self._correlator.calls

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
        self._correlator.resync_channels = set()
        for call in self.calls.values():
            call.touched = False
            call.queue_seen = False

    def abort_resync(self) -> None:
        """The connection broke mid-snapshot: forget it; the next connection starts a new one."""
        self._correlator.resync_channels = None

    def end_resync(self, now: float) -> None:
        """Calls and channels missing from the snapshot went away while we were disconnected."""
        seen = self._correlator.resync_channels or set()
        self._correlator.resync_channels = None
        for call in self.calls.values():
            for uniqueid in list(call.channels - seen):
                call.channel_gone(uniqueid, now)
            if not call.touched and call.ended_at is None:
                call.ended_at = now
            if call.ended_at is not None or not call.queue_seen:
                # We cannot know how a wait that ended unseen turned out: do not guess "abandoned".
                call.in_queue = False

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
        self._correlator.forget(call)

    # -- event handlers -----------------------------------------------------------------------

    def _on_channel(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is not None:
            caller_info(call, msg)
            chan_variables(call, msg, self.rules)

    def _on_hangup(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts, create=False)
        uid = msg.get("Uniqueid")
        if call is not None and uid:
            caller_info(call, msg)
            chan_variables(call, msg, self.rules)
            call.channel_gone(uid, ts)

    def _on_join(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is not None and "answered" not in call.emitted:
            queued(call, msg, joined_at=ts)

    def _on_leave(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts, create=False)
        if call is not None:
            call.in_queue = False

    def _on_abandon(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None or "answered" in call.emitted:
            return
        call.in_queue = False
        call.queue = msg.get("Queue") or call.queue
        call.position = to_int(msg.get("Position")) or call.position
        call.original_position = to_int(msg.get("OriginalPosition")) or call.original_position
        call.hold_seconds = to_int(msg.get("HoldTime"))
        self._emit(call, "abandoned", out)

    def _on_agent_connect(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        if "Linkedid" in msg:
            self._correlator.call_for(msg, ts, prefix="Dest")
        else:
            call = self._correlator.link(msg.get("Uniqueid"), msg.get("BridgedChannel"), ts) or call
        agent_fields(call, msg)
        call.answered_at = call.answered_at or ts
        self._emit(call, "answered", out)

    def _on_agent_complete(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        agent_fields(call, msg)
        call.talk_seconds = to_int(msg.get("TalkTime"))
        if call.answered_at is None:
            call.answered_at = ts - (call.talk_seconds or 0)
        self._emit(call, "answered", out)

    def _on_dial_begin(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        dest = self._correlator.call_for(msg, ts, prefix="Dest")
        if call is not None:
            caller_info(call, msg)
            chan_variables(call, msg, self.rules)
        elif dest is not None:
            chan_variables(dest, msg, self.rules)

    def _dial_answered(self, call: Call, dest_channel: str | None, ts: float, out: list[Outcome]) -> None:
        device = device_of(dest_channel)
        if device and (call.dial_device is None or call.dial_device.startswith("Local/")):
            call.dial_device = device
        if call.in_queue:
            return  # the queue dialled an agent: AgentConnect reports that answer
        call.dial_answered_at = call.dial_answered_at or ts
        self._check_direct_answer(call, out)

    def _on_dial_end(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts) or self._correlator.call_for(msg, ts, prefix="Dest")
        if call is None:
            return
        self._correlator.call_for(msg, ts, prefix="Dest")
        if (msg.get("DialStatus") or "").upper() == "ANSWER":
            self._dial_answered(call, msg.get("DestChannel"), ts, out)

    def _on_legacy_dial(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        """Asterisk 11: ``Event: Dial`` with ``SubEvent: Begin|End``."""
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        sub = (msg.get("SubEvent") or "").lower()
        if sub == "begin":
            call = self._correlator.link(msg.get("Uniqueid"), msg.get("DestUniqueID"), ts) or call
            caller_info(call, msg)
        elif sub == "end" and (msg.get("DialStatus") or "").upper() == "ANSWER":
            self._dial_answered(call, msg.get("Destination"), ts, out)

    def _on_bridge_enter(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        bridge, uid = msg.get("BridgeUniqueid"), msg.get("Uniqueid")
        if call is None or not bridge or not uid:
            return
        members = call.bridges.setdefault(bridge, set())
        members.add(uid)
        if len(members) >= 2 or (to_int(msg.get("BridgeNumChannels")) or 0) >= 2:
            call.bridged_at = call.bridged_at or ts
            self._check_direct_answer(call, out)

    def _on_legacy_bridge(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        """Asterisk 11: ``Event: Bridge`` with ``Bridgestate: Link``."""
        if (msg.get("Bridgestate") or "").lower() != "link":
            return
        call = self._correlator.link(msg.get("Uniqueid1"), msg.get("Uniqueid2"), ts)
        if call is None:
            return
        call.dial_device = call.dial_device or device_of(msg.get("Channel2"))
        call.bridged_at = call.bridged_at or ts
        self._check_direct_answer(call, out)

    def _on_local_bridge(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        if "LocalOneLinkedid" not in msg:
            self._correlator.link(msg.get("Uniqueid1"), msg.get("Uniqueid2"), ts)

    def _on_varset(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        set_variable(call, msg.get("Variable") or "", msg.get("Value") or "", self.rules)
        if call.voicemail_file and call.mailbox_notified:
            self._emit(call, "voicemail", out)

    def _on_message_waiting(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts, create=False)  # only 16.24+ names the channel that left it
        if call is None:
            return
        call.mailbox_notified = True
        if call.voicemail_file:
            self._emit(call, "voicemail", out)

    def _on_user_event(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        rules = self.rules
        if rules.recording_userevent_header and msg.get(rules.recording_userevent_header):
            call.recording_file = call.recording_file or msg.get(rules.recording_userevent_header)
        if (msg.get("UserEvent") or "") == rules.voicemail_userevent:
            call.voicemail_file = msg.get(rules.voicemail_file_header) or call.voicemail_file
            self._emit(call, "voicemail", out)

    def _on_core_show_channel(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is None:
            return
        call.started_at = min(call.started_at, ts - duration_seconds(msg.get("Duration")))
        caller_info(call, msg)
        if "Linkedid" not in msg:
            self._correlator.link(msg.get("Uniqueid"), msg.get("BridgedUniqueID"), ts)

    def _on_queue_entry(self, msg: Message, ts: float, out: list[Outcome]) -> None:
        call = self._correlator.call_for(msg, ts)
        if call is not None and "answered" not in call.emitted:
            queued(call, msg, joined_at=ts - (to_int(msg.get("Wait")) or 0))  # Wait: seconds queued so far
