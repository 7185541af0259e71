"""Fixtures the telephony tests share."""

from __future__ import annotations

import pytest

from app.models import Setting
from app.services import auth
from app.services.actors import SYSTEM


@pytest.fixture
def bridge_token(demo) -> str:
    """A machine token with scope 'calls', as `flask tokens create --scope calls` prints it."""
    return auth.create_machine_token(demo, SYSTEM, "pbx-1", "calls")


@pytest.fixture
def agent_map(demo) -> None:
    """PJSIP/8001 is 王晓燕 (agent01); extension 8002 is 李建国 (dispatch01)."""
    with demo.db.unit_of_work() as session:
        session.add(Setting(key="telephony.agent_map", value={"value": {"PJSIP/8001": "agent01", "8002": "dispatch01"}},
                            updated_at=demo.clock.now()))
        session.commit()
