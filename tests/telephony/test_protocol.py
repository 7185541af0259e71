"""The AMI parser and encoder: framing, encodings, limits."""

from __future__ import annotations

import pytest

from telephony_bridge.protocol import AmiParser, encode_action


def feed_bytewise(parser: AmiParser, data: bytes) -> list:
    out = []
    for i in range(len(data)):
        out += parser.feed(data[i : i + 1])
    return out


def test_a_message_split_inside_a_utf8_character_is_decoded_whole() -> None:
    data = "Asterisk Call Manager/5.0.1\r\nEvent: Newchannel\r\nCallerIDName: 张三\r\n\r\n".encode()
    parser = AmiParser()
    (msg,) = feed_bytewise(parser, data)
    assert parser.banner == "Asterisk Call Manager/5.0.1"
    assert msg.event == "Newchannel" and msg.get("calleridname") == "张三"


def test_bare_lf_case_insensitive_and_repeated_keys() -> None:
    (msg,) = AmiParser().feed(b"event: VarSet\nCHANVARIABLE: A=1\nChanVariable: B=2\nValue: x: y\n\n")
    assert msg.get("Event") == "VarSet" and msg.get_all("chanvariable") == ["A=1", "B=2"]
    assert msg.get("value") == "x: y"


def test_gb18030_values_fall_back_from_utf8() -> None:
    (msg,) = AmiParser().feed(b"Event: Newchannel\r\nCallerIDName: " + "王小明".encode("gb18030") + b"\r\n\r\n")
    assert msg.get("CallerIDName") == "王小明"


def test_oversized_line_and_message_are_skipped_counted_and_survived() -> None:
    parser = AmiParser(max_line=100, max_message=300)
    good = b"Event: Hangup\r\nUniqueid: 1.1\r\n\r\n"
    long_line = b"Event: Bad\r\nJunk: " + b"x" * 5000 + b"\r\nMore: 1\r\n\r\n"
    long_message = b"Event: Big\r\n" + b"".join(b"H%d: value\r\n" % i for i in range(60)) + b"\r\n"
    out = []
    for chunk in (good, long_line[:50], long_line[50:3000], long_line[3000:], long_message, good):
        out += parser.feed(chunk)
    assert [m.event for m in out] == ["Hangup", "Hangup"]
    assert parser.stats.oversized_lines == 1 and parser.stats.oversized_messages == 2


def test_a_malformed_line_is_counted_and_the_message_kept() -> None:
    parser = AmiParser()
    (msg,) = parser.feed(b"Event: Hangup\r\nthis is not a header\r\nUniqueid: 1.1\r\n\r\n")
    assert msg.get("Uniqueid") == "1.1" and parser.stats.malformed_lines == 1


def test_encode_action_frames_and_refuses_header_injection() -> None:
    assert encode_action("Ping", {"ActionID": "1"}) == b"Action: Ping\r\nActionID: 1\r\n\r\n"
    with pytest.raises(ValueError):
        encode_action("Login", {"Username": "x\r\nAction: Originate"})
