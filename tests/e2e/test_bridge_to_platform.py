"""End to end: the fake PBX → `python -m telephony_bridge` (a real process) → the platform served over HTTP.

The platform runs on a migrated, seeded SQLite file in a werkzeug server thread; the fake AMI server
runs on its own asyncio loop in another thread; the bridge only knows their ports and a token.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app import create_app
from app.clock import FrozenClock
from app.migrate import upgrade
from app.models import CallOutcome, Setting
from app.services import auth
from app.services.actors import SYSTEM
from app.services.platform import Platform
from app.services.seed import seed_demo
from telephony_bridge.fake_pbx import FakePbx, Session
from tests.conftest import FAST_HASH, START, TEST_KEYS, Auth
from tests.telephony.conftest import SECRET, load_stream

ROOT = Path(__file__).resolve().parents[2]
STREAMS = ("queue_answered_18.txt", "queue_abandon_18.txt", "voicemail_18.txt")
EXPECTED_OUTCOMES = 9  # answered+recording+ended, abandoned+ended, two × voicemail+ended


@dataclass
class Served:
    app: object
    platform: Platform
    url: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The platform on a fresh SQLite file, seeded with the demo city, answering HTTP on a free port."""
    url = f"sqlite:///{tmp_path / 'huiyin.db'}"
    upgrade(url)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True,
                      **TEST_KEYS, **FAST_HASH}, clock=FrozenClock(START))
    platform: Platform = app.extensions["huiyin"]
    seed_demo(platform)
    with platform.db.unit_of_work() as session:
        session.add(Setting(key="telephony.agent_map", value={"value": {"PJSIP/8001": "agent01"}},
                            updated_at=platform.clock.now()))
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(app=app, platform=platform, url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        platform.db.dispose()


@pytest.fixture
def pbx() -> Iterator[FakePbx]:
    """The scripted fake AMI server playing three captures on one connection, on a loop of its own."""
    fake = FakePbx(username="huiyin", secret=SECRET,
                   sessions=[Session(events=b"\n\n".join(load_stream(name) for name in STREAMS))])
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=5)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def outcomes(platform: Platform) -> int:
    with platform.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(CallOutcome)) or 0)


def run_bridge(served: Served, pbx: FakePbx) -> subprocess.CompletedProcess[str]:
    """Start the bridge, wait until every outcome reached the platform, stop it with SIGTERM."""
    token = auth.create_machine_token(served.platform, SYSTEM, "pbx-e2e", "calls")
    env = {**os.environ, "AMI_HOST": "127.0.0.1", "AMI_PORT": str(pbx.port), "AMI_USERNAME": "huiyin",
           "AMI_SECRET": SECRET, "PBX_ID": "pbx-e2e", "HUIYIN_API_URL": served.url, "HUIYIN_API_TOKEN": token,
           "CALL_END_GRACE": "0.2", "CALL_TICK_INTERVAL": "0.05", "HUIYIN_RETRY_MIN": "0.05",
           "HUIYIN_RETRY_MAX": "0.5", "LOG_LEVEL": "INFO"}
    process = subprocess.Popen([sys.executable, "-m", "telephony_bridge"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while outcomes(served.platform) < EXPECTED_OUTCOMES:
            assert process.poll() is None, f"the bridge exited early: {process.communicate()[1]}"
            assert time.monotonic() < deadline, "timed out waiting for the bridge's outcomes"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_calls_on_the_pbx_become_a_draft_case_a_callback_and_voicemail_cases(served, pbx):
    finished = run_bridge(served, pbx)

    assert finished.returncode == 0, finished.stderr
    assert outcomes(served.platform) == EXPECTED_OUTCOMES, "nothing posted twice"
    client = served.app.test_client()
    token = client.post("/api/v1/auth/token", json={"staff_no": "agent01", "password": "Huiyin@2026"}).get_json()
    calls = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token['token']}"}).get_json()
    by_id = {c["linkedid"]: c for c in calls["items"]}

    assert set(by_id) == {"1700000000.1", "1700000200.11", "1700000300.21", "1700000400.22"}
    talked = by_id["1700000000.1"]
    assert talked["outcome"] == "answered" and talked["agent"] == {"staff_no": "agent01", "name": "王晓燕"}
    assert (talked["hold_seconds"], talked["talk_seconds"]) == (11, 88)
    assert talked["draft_pending"] and talked["case"] is None
    assert talked["recording"] == f"/calls/{talked['id']}/recording"
    abandoned = by_id["1700000200.11"]
    assert abandoned["outcome"] == "abandoned" and abandoned["callback"]["status"] == "open"
    for linkedid in ("1700000300.21", "1700000400.22"):
        assert by_id[linkedid]["outcome"] == "voicemail" and by_id[linkedid]["case"]["number"].startswith("12345-")

    Auth(client).login("agent01")
    assert "13900139000" in client.get("/callbacks").get_data(as_text=True)
    pops = client.get("/calls/pop").get_json()["items"]
    assert [(p["call_id"], p["caller_number"], p["caller_location"]) for p in pops] == [
        (talked["id"], "13800138000", "北京市")]

    page = client.get(pops[0]["intake_url"]).get_data(as_text=True)  # the pop's 登记诉求件 link
    assert 'id="phone" name="phone" value="13800138000"' in page
    form = dict(re.findall(r'<input type="hidden" name="(\w+)"[^>]*value="([^"]*)"', page))
    done = client.post("/intake", data={**form, "kind": "complaint", "channel": "phone", "name": "来电人",
                                        "phone": "13800138000", "subject": "咨询", "content": "来电咨询"})
    assert "登记成功" in done.get_data(as_text=True)
    calls = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {token['token']}"}).get_json()
    linked = next(c for c in calls["items"] if c["linkedid"] == "1700000000.1")
    assert linked["case"]["number"].startswith("12345-") and not linked["draft_pending"]
    assert client.get("/calls/pop").get_json()["items"] == []
