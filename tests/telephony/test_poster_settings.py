"""Delivery rules and configuration, without a PBX."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from telephony_bridge.call_state import Outcome
from telephony_bridge.poster import OutcomeQueue, Poster
from telephony_bridge.settings import Settings

from .conftest import SECRET, TOKEN


def outcome(kind: str = "ended", linkedid: str = "1.1") -> Outcome:
    return Outcome("pbx-test", linkedid, kind, *([None] * 14))


def test_the_same_outcome_is_queued_once_and_a_full_queue_never_blocks() -> None:
    queue = OutcomeQueue(maxsize=2)
    for item in (outcome(), outcome(), outcome("answered"), outcome("abandoned", "2.2")):
        queue.put(item)
    assert queue.queue.qsize() == 2 and queue.overflowed == 1


@pytest.mark.parametrize(("statuses", "delivered"), [
    ([201], True), ([409], True), ([503, 500, 200], True), ([400], False), ([422], False), ([429, 204], True),
    ([401, 403, 201], True),  # a token being rotated: held and retried, not lost
])
def test_poster_delivers_retries_or_drops_by_status(statuses: list[int], delivered: bool) -> None:
    sent: list[bytes] = []

    def send(body: bytes) -> int:
        sent.append(body)
        return statuses[len(sent) - 1]

    poster = Poster("http://platform.invalid", TOKEN, retry_min=0.001, retry_max=0.002, send=send)
    assert asyncio.run(poster.deliver(outcome())) is delivered
    assert len(sent) == len(statuses)
    assert b'"linkedid": "1.1"' in sent[0] and b'"kind": "ended"' in sent[0]


def test_settings_come_from_the_environment_and_hide_secrets() -> None:
    env = {"AMI_PORT": "5039", "AMI_SECRET": SECRET, "HUIYIN_API_TOKEN": TOKEN, "AMI_PING_INTERVAL": "2.5"}
    settings = Settings.from_env(env)
    assert settings.ami_port == 5039 and settings.ami_ping_interval == 2.5 and settings.ami_host == "127.0.0.1"
    assert SECRET not in repr(settings) and TOKEN not in repr(settings)
    with pytest.raises(ValueError, match="AMI_PORT"):
        Settings.from_env({"AMI_PORT": "five"})


def test_the_module_refuses_a_bad_configuration_with_exit_code_2() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-m", "telephony_bridge"], cwd=root, capture_output=True,
                            text=True, env={"AMI_AUTH": "kerberos", "PATH": ""}, timeout=20)
    assert result.returncode == 2 and "AMI_AUTH" in result.stderr
