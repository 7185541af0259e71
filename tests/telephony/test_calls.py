"""The correlation state machine against captures, without sockets."""

from __future__ import annotations

from telephony_bridge.call_state import CallRules
from telephony_bridge.calls import CallTracker

from .conftest import by_kind, load_stream, replay

T0 = 1700000000


def test_a_queue_call_answered_by_an_agent_reports_answer_recording_and_end() -> None:
    out = replay(load_stream("queue_answered_18.txt"), chunk=7)
    assert [(o.linkedid, o.kind) for o in out] == [
        ("1700000000.1", "answered"), ("1700000000.1", "recording"), ("1700000000.1", "ended")]
    calls = by_kind(out, "1700000000.1")
    answered, ended = calls["answered"], calls["ended"]
    assert answered["caller_number"] == "13800138000" and answered["caller_name"] == "张三"
    assert answered["queue"] == "hotline"
    assert answered["agent_interface"] == "PJSIP/8001" and answered["agent_member_name"] == "李四"
    assert answered["hold_seconds"] == 11
    assert answered["answered_at"] == "2023-11-14T22:13:32.000+00:00"
    assert ended["talk_seconds"] == 88 and ended["hold_seconds"] == 11
    assert ended["started_at"] == "2023-11-14T22:13:20.000+00:00"
    assert ended["ended_at"] == "2023-11-14T22:15:00.000+00:00"
    assert calls["recording"]["recording_file"] == "/var/spool/asterisk/monitor/hotline-1700000000.1.wav"


def test_a_caller_hanging_up_in_the_queue_is_abandoned_with_positions() -> None:
    out = replay(load_stream("queue_abandon_18.txt"))
    calls = by_kind(out, "1700000200.11")
    assert set(calls) == {"abandoned", "ended"}
    ab = calls["abandoned"]
    assert (ab["queue"], ab["position"], ab["original_position"], ab["hold_seconds"]) == ("hotline", 1, 2, 35)
    assert ab["caller_number"] == "13900139000" and ab["caller_name"] is None
    assert calls["ended"]["answered_at"] is None


def test_voicemail_from_a_user_event_and_from_vm_messagefile() -> None:
    out = replay(load_stream("voicemail_18.txt"))
    first, second = by_kind(out, "1700000300.21"), by_kind(out, "1700000400.22")
    assert set(first) == {"voicemail", "ended"}, "leaving the queue on timeout is not an abandon"
    assert first["voicemail"]["voicemail_file"] == "/var/spool/asterisk/voicemail/default/12345/INBOX/msg0002"
    assert set(second) == {"voicemail", "ended"}
    assert second["voicemail"]["voicemail_file"].endswith("INBOX/msg0003")


def test_vm_messagefile_without_message_waiting_still_reports_voicemail_at_the_end() -> None:
    data = load_stream("voicemail_18.txt").split(b"Event: MessageWaiting")
    stream = data[0] + b"Event: MessageWaiting".join(data[1:2]) + b"Event: Ignored" + b"Event: Ignored".join(data[2:])
    calls = by_kind(replay(stream), "1700000400.22")
    assert calls["voicemail"]["voicemail_file"].endswith("INBOX/msg0003")


def test_a_direct_call_is_answered_by_dial_end_and_bridge() -> None:
    out = replay(load_stream("direct_call_18.txt"))
    calls = by_kind(out, "1700000500.31")
    assert set(calls) == {"answered", "recording", "ended"}
    assert calls["answered"]["agent_interface"] == "PJSIP/8002" and calls["answered"]["queue"] is None
    assert calls["recording"]["recording_file"] == "/var/spool/asterisk/monitor/direct-1700000500.31.wav"
    assert calls["ended"]["talk_seconds"] == 60
    unanswered = by_kind(out, "1700000600.33")
    assert set(unanswered) == {"ended"}, "a NOANSWER dial is neither answered nor a queue abandon"


def test_local_channels_make_one_call_not_several() -> None:
    out = replay(load_stream("local_channels_18.txt"), chunk=13)
    assert {o.linkedid for o in out} == {"1700000700.41"}
    calls = by_kind(out, "1700000700.41")
    assert set(calls) == {"answered", "ended"}
    assert calls["answered"]["agent_interface"] == "Local/8003@agents/n"
    assert calls["answered"]["agent_member_name"] == "王五" and calls["ended"]["talk_seconds"] == 52


def test_every_event_twice_still_posts_each_outcome_once() -> None:
    data = b"".join(load_stream(n) for n in ("queue_answered_18.txt", "queue_abandon_18.txt"))
    messages = [m for m in data.split(b"\n\n") if m.strip()]
    doubled = b"".join(m + b"\n\n" + m + b"\n\n" for m in messages)
    once = replay(data)
    twice = replay(doubled)
    assert [o.key for o in twice] == [o.key for o in once]
    assert len(twice) == 5


def test_a_replay_after_the_call_finished_posts_nothing_new() -> None:
    tracker = CallTracker("pbx-test", CallRules())
    data = load_stream("queue_abandon_18.txt")
    first = replay(data, tracker=tracker)
    again = replay(data, tracker=tracker)
    assert len(first) == 2 and again == []


def test_events_out_of_order_give_the_same_outcomes() -> None:
    out = replay(load_stream("out_of_order_18.txt"))
    queued = by_kind(out, "1700001000.61")
    assert set(queued) == {"answered", "ended"}
    assert queued["answered"]["answered_at"] == "2023-11-14T22:30:10.000+00:00"
    assert queued["ended"]["talk_seconds"] == 60
    direct = by_kind(out, "1700001100.63")
    assert set(direct) == {"answered", "ended"} and direct["answered"]["agent_interface"] == "PJSIP/8002"
    late_abandon = by_kind(out, "1700001200.65")
    assert set(late_abandon) == {"abandoned", "ended"}
    assert (late_abandon["abandoned"]["position"], late_abandon["abandoned"]["original_position"]) == (2, 3)
    assert late_abandon["abandoned"]["hold_seconds"] == 40


def test_a_hangup_while_waiting_without_abandon_event_is_an_abandon() -> None:
    data = load_stream("queue_abandon_18.txt")
    kept = [m for m in data.split(b"\n\n") if b"QueueCallerAbandon" not in m and b"QueueCallerLeave" not in m]
    calls = by_kind(replay(b"\n\n".join(kept)), "1700000200.11")
    assert set(calls) == {"abandoned", "ended"}
    assert calls["abandoned"]["hold_seconds"] == 35 and calls["abandoned"]["position"] == 2


def test_an_asterisk_11_stream_without_linkedid_falls_back_to_uniqueid() -> None:
    out = replay(load_stream("asterisk11_queue.txt"), chunk=5)
    assert {o.linkedid for o in out} == {"1400000000.16", "1400000000.20"}, "the agent leg is not a call"
    answered = by_kind(out, "1400000000.16")
    assert set(answered) == {"answered", "ended"}
    assert answered["answered"]["agent_interface"] == "SIP/8001" and answered["answered"]["hold_seconds"] == 5
    assert answered["ended"]["talk_seconds"] == 40 and answered["ended"]["caller_number"] == "13812345678"
    abandoned = by_kind(out, "1400000000.20")
    assert abandoned["abandoned"]["hold_seconds"] == 17


def test_a_gb18030_caller_name_is_decoded() -> None:
    calls = by_kind(replay(load_stream("gb18030_caller_13.txt"), chunk=3), "1700002000.71")
    assert calls["abandoned"]["caller_name"] == "王小明"


def test_unknown_events_and_responses_are_ignored() -> None:
    noise = (b"Event: CEL\nEventName: CHAN_START\nUniqueID: 9.1\nLinkedID: 9.1\n\n"
             b"Event: AGIExecStart\nChannel: PJSIP/x-1\nUniqueid: 9.2\nLinkedid: 9.2\nCommand: ANSWER\n\n"
             b"Event: Registry\nChannelType: PJSIP\nStatus: Registered\n\n"
             b"Response: Success\nPing: Pong\n\n"
             b"Event: SomethingFromAsterisk30\nUniqueid: 9.3\n\n")
    assert replay(noise) == []


def test_resync_ends_calls_that_vanished_and_adopts_calls_in_the_queue() -> None:
    tracker = CallTracker("pbx-test", CallRules(end_grace=0))
    before = replay(load_stream("resync_before_18.txt"), tracker=tracker, now=T0 + 815)
    assert [(o.linkedid, o.kind) for o in before] == [("1700000800.51", "answered")]
    tracker.begin_resync()
    replay(load_stream("resync_channels_18.txt") + b"\n\n" + load_stream("resync_queue_18.txt"),
           tracker=tracker, now=T0 + 840)
    tracker.end_resync(T0 + 840)
    out = tracker.tick(T0 + 840)
    assert [(o.linkedid, o.kind) for o in out] == [("1700000810.53", "ended")], "vanished: ended, not guessed"
    waiting = tracker.calls["1700000820.54"]
    assert waiting.in_queue and waiting.caller_name == "孙七" and waiting.queue_joined_at == T0 + 820


def test_a_call_whose_hangup_was_never_seen_is_ended_after_the_maximum_age() -> None:
    data = load_stream("queue_abandon_18.txt").split(b"Event: Hangup")[0]
    tracker = CallTracker("pbx-test", CallRules(end_grace=0, max_call_seconds=7200))
    assert replay(data, tracker=tracker, now=T0 + 300)[0].kind == "abandoned"
    assert tracker.tick(T0 + 7000) == []
    assert [o.kind for o in tracker.tick(T0 + 7500)] == ["ended"] and tracker.calls == {}
