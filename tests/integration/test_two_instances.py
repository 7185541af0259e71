"""Two app instances on one database, as two gunicorn hosts behind one proxy: nothing lives in one process.

The bridge may post to either host and the agent's browser may poll the other; a call answered on one
pops up on the agent's screen served by the other, and is gone from both once taken.
"""

from __future__ import annotations

import pytest

from app import create_app
from tests.conftest import Auth, csrf_token_of
from tests.integration.test_calls_api import answered, post


@pytest.fixture
def other_host(test_config, clock, demo):  # type: ignore[no-untyped-def]
    """A second application on the same database (its own engine and pool, as another process would have)."""
    application = create_app(test_config, clock=clock)
    yield application
    application.extensions["huiyin"].db.dispose()


def test_the_screen_pop_reaches_the_agent_whichever_host_the_bridge_posts_to(
        client, other_host, bridge_token, agent_map):
    bridge_side = other_host.test_client()
    agent = Auth(client)
    agent.login("agent01")

    assert post(bridge_side, bridge_token, answered("7.1")).status_code == 201
    pops = client.get("/calls/pop").get_json()["items"]
    assert [p["caller_number"] for p in pops] == ["13800138000"]

    assert post(client, bridge_token, answered("7.2", caller_number="13900139000")).status_code == 201
    agent_on_other = Auth(bridge_side)
    agent_on_other.login("agent01")
    numbers = sorted(p["caller_number"] for p in bridge_side.get("/calls/pop").get_json()["items"])
    assert numbers == ["13800138000", "13900139000"]

    taken = pops[0]["call_id"]
    page = client.get("/callbacks").get_data(as_text=True)
    assert client.post(f"/calls/{taken}/taken", headers={"X-CSRFToken": csrf_token_of(page)}).status_code == 200
    assert taken not in [p["call_id"] for p in bridge_side.get("/calls/pop").get_json()["items"]]
