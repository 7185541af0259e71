"""Settings that take effect at once: read from the table on each use, defaults listed here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.models import Setting

DEFAULTS: dict[str, Any] = {
    # Channels whose appeals are 信访件 (petition process) rather than 12345 工单.
    "intake.petition_channels": ["letter", "visit"],
    # Process key per case type.
    "process.hotline": "hotline_order",
    "process.petition": "petition",
    # Share of a period after which the light turns yellow (the last working day counts too).
    "lights.yellow_fraction": 0.2,
    # Days back the duplicate hint looks for earlier cases of the same requester.
    "dedupe.lookback_days": 90,
}


def get_setting(session: Session, key: str) -> Any:
    """The administrator's value if set, else the default."""
    row = session.get(Setting, key)
    if row is not None:
        return row.value.get("value")
    return DEFAULTS[key]
