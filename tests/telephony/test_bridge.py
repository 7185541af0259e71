"""End to end: fake AMI server → bridge → a real HTTP server recording what is posted."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from telephony_bridge.bridge import Bridge
from telephony_bridge.client import LoginFailed
from telephony_bridge.fake_pbx import FakePbx, Session

from .conftest import SECRET, TOKEN, Platform, by_kind, fast_settings, load_stream, replay


async def run_until(bridge: Bridge, done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Run the bridge until ``done()`` holds (or fail after ``timeout``), then stop it."""
    task = asyncio.create_task(bridge.run(drain_timeout=1.0))
    deadline = time.monotonic() + timeout
    while not done():
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "timed out waiting for the bridge"
        await asyncio.sleep(0.01)
    bridge.stop()
    await task


def serve(sessions: list[Session], **fake: Any) -> FakePbx:
    return FakePbx(username="huiyin", secret=SECRET, sessions=sessions, **fake)


def scenario(fake_platform: Platform, sessions: list[Session], expected: int, fake: dict[str, Any] | None = None,
             **settings: Any) -> tuple[FakePbx, Bridge]:
    """Play sessions until ``expected`` outcomes reached the fake platform."""
    pbx = serve(sessions, **(fake or {}))

    async def go() -> Bridge:
        port = await pbx.start()
        bridge = Bridge(fast_settings(port, fake_platform.url, **settings))
        try:
            await run_until(bridge, lambda: len(fake_platform.posts) >= expected)
        finally:
            await pbx.close()
        return bridge

    bridge = asyncio.run(go())
    return pbx, bridge


def test_queue_call_with_recording_over_md5_login_in_random_chunks(fake_platform: Platform) -> None:
    pbx, _ = scenario(fake_platform, [Session(events=load_stream("queue_answered_18.txt"))], expected=3,
                      fake={"max_chunk": 11})
    assert pbx.logins == [("md5", True)]
    assert fake_platform.kinds() == [("1700000000.1", "answered"), ("1700000000.1", "recording"),
                                ("1700000000.1", "ended")]
    assert set(fake_platform.auth) == {f"Bearer {TOKEN}"}
    ended = by_kind(fake_platform.posts, "1700000000.1")["ended"]
    assert ended["pbx_id"] == "pbx-test" and ended["agent_member_name"] == "李四" and ended["talk_seconds"] == 88


def test_plain_login_and_a_gb18030_caller_name(fake_platform: Platform) -> None:
    pbx, _ = scenario(fake_platform, [Session(events=load_stream("gb18030_caller_13.txt"))], expected=2,
                      ami_auth="plain")
    assert pbx.logins == [("plain", True)]
    assert by_kind(fake_platform.posts, "1700002000.71")["abandoned"]["caller_name"] == "王小明"


def test_a_wrong_password_gives_up_after_bounded_retries_without_logging_it(
        fake_platform: Platform, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    pbx = FakePbx(username="huiyin", secret="the-real-one", sessions=[])

    async def go() -> None:
        port = await pbx.start()
        try:
            await Bridge(fast_settings(port, fake_platform.url, ami_login_retries=3)).run()
        finally:
            await pbx.close()

    with pytest.raises(LoginFailed):
        asyncio.run(go())
    assert pbx.logins == [("md5", False)] * 3
    assert "refused" in caplog.text
    assert SECRET not in caplog.text and "the-real-one" not in caplog.text
    assert fake_platform.posts == []


def test_a_disconnect_mid_call_then_reconnect_and_resync(fake_platform: Platform) -> None:
    sessions = [
        Session(events=load_stream("resync_before_18.txt"), drop_after_events=True),
        Session(events=load_stream("resync_after_18.txt"), channels=load_stream("resync_channels_18.txt"),
                queue_entries=load_stream("resync_queue_18.txt")),
    ]
    pbx, _ = scenario(fake_platform, sessions, expected=5)
    assert pbx.connections == 2
    assert pbx.actions.count("coreshowchannels") == 2 and pbx.actions.count("queuestatus") == 2
    kinds = fake_platform.kinds()
    assert sorted(kinds) == sorted([
        ("1700000800.51", "answered"), ("1700000800.51", "ended"),
        ("1700000810.53", "ended"),
        ("1700000820.54", "abandoned"), ("1700000820.54", "ended")])
    talked = by_kind(fake_platform.posts, "1700000800.51")["ended"]
    assert talked["talk_seconds"] == 95 and talked["agent_interface"] == "PJSIP/8001"
    adopted = by_kind(fake_platform.posts, "1700000820.54")["abandoned"]
    assert adopted["caller_number"] == "13800000054" and adopted["caller_name"] == "孙七"
    assert adopted["hold_seconds"] == 85


def test_a_pbx_that_stops_answering_pings_is_reconnected(fake_platform: Platform) -> None:
    sessions = [Session(answer_pings=False), Session(events=load_stream("queue_abandon_18.txt"))]
    pbx, _ = scenario(fake_platform, sessions, expected=2, ami_ping_interval=0.05, ami_ping_timeout=0.05)
    assert pbx.connections >= 2
    assert fake_platform.kinds() == [("1700000200.11", "abandoned"), ("1700000200.11", "ended")]


def test_malformed_and_oversized_messages_on_the_wire_are_survived(fake_platform: Platform) -> None:
    junk = (b"Event: Newexten\nthis line has no colon\nUniqueid: 5.5\n\n"
            b"Event: UserEvent\nUserEvent: Blob\nData: " + b"A" * 20000 + b"\n\n"
            b"Event: Big\n" + b"".join(b"X%d: y\n" % i for i in range(900)) + b"\n")
    session = Session(events=junk + load_stream("queue_abandon_18.txt"))
    _, bridge = scenario(fake_platform, [session], expected=2, ami_max_line=4096, ami_max_message=4096)
    assert fake_platform.kinds() == [("1700000200.11", "abandoned"), ("1700000200.11", "ended")]
    stats = bridge.client.parser_stats()
    assert stats.malformed_lines == 1 and stats.oversized_lines == 1 and stats.oversized_messages == 2


def test_the_platform_down_for_a_while_loses_and_reorders_nothing(fake_platform: Platform) -> None:
    fake_platform.script = [503, "drop", 502, 503, "drop", 503]
    stream = b"".join(load_stream(n) for n in ("queue_answered_18.txt", "queue_abandon_18.txt",
                                                "voicemail_18.txt", "direct_call_18.txt"))
    scenario(fake_platform, [Session(events=stream)], expected=13)
    assert fake_platform.requests == 13 + 6
    kinds = fake_platform.kinds()
    assert len(kinds) == 13 and set(kinds) == {o.key[1:] for o in replay(stream)}
    order = [k for k in kinds if k[0] == "1700000000.1"]
    assert order == [("1700000000.1", "answered"), ("1700000000.1", "recording"), ("1700000000.1", "ended")]


def test_a_refused_outcome_is_dropped_and_the_rest_still_delivered(fake_platform: Platform) -> None:
    fake_platform.script = [422]
    scenario(fake_platform, [Session(events=load_stream("queue_abandon_18.txt"))], expected=1)
    assert fake_platform.kinds() == [("1700000200.11", "ended")]
