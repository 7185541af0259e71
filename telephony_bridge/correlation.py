"""Which call an AMI event belongs to: channels grouped by Linkedid, or joined by legacy link events.

Asterisk 12+ puts a Linkedid on every channel event. Asterisk 11 events carry only a Uniqueid, so
legs are joined by Dial, Bridge, LocalBridge, AgentConnect's BridgedChannel and Local ``;1``/``;2``
names; when two known calls turn out to be one, the side that dialled or bridged keeps its key.
Finished calls are remembered (up to a limit) so late or replayed events do not start a new call.
"""

from __future__ import annotations

from collections import OrderedDict

from .call_state import Call
from .protocol import Message


def local_base(channel: str | None) -> str | None:
    """``Local/8003@agents-0001;1`` → ``Local/8003@agents-0001``: the name both halves share."""
    if channel and channel.startswith("Local/") and channel[-2:] in (";1", ";2"):
        return channel[:-2]
    return None


class Correlator:
    """The live calls and the maps from channels, aliases and Local pairs to each call's key."""

    def __init__(self, remember_finished: int) -> None:
        self.remember_finished = remember_finished
        self.calls: dict[str, Call] = {}
        self.resync_channels: set[str] | None = None  # channels seen in a resync snapshot, while one runs
        self._channel_call: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._local_call: dict[str, str] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()

    def _resolve(self, linkedid: str) -> str | None:
        key = self._aliases.get(linkedid, linkedid)
        return key if key in self.calls else None

    def call_for(self, msg: Message, ts: float, prefix: str = "", create: bool = True) -> Call | None:
        """The call of the event's (``prefix``-ed) channel, started if new and ``create``; None if finished."""
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
            base = local_base(msg.get(prefix + "Channel"))
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
        if self.resync_channels is not None:
            self.resync_channels.add(uid)
        if uid not in call.dead and uid not in call.channels:
            call.channels.add(uid)
            call.ended_at = None
        base = local_base(channel)
        if base:
            self._local_call.setdefault(base, call.linkedid)

    def link(self, uid_a: str | None, uid_b: str | None, ts: float) -> Call | None:
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

    def forget(self, call: Call) -> None:
        """Drop a reported call, remembering its keys so late events for it are ignored."""
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
        while len(self._finished) > self.remember_finished:
            self._finished.popitem(last=False)
