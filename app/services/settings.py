"""Settings that take effect at once: read from the table on each use, defaults listed here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
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
    # PBX queue member interface or extension → 工号, e.g. {"PJSIP/8001": "agent01", "8002": "agent02"}.
    "telephony.agent_map": {},
    # 诉求类型 of a case registered from a voicemail.
    "telephony.voicemail_kind": "consultation",
    # Answered calls older than this many hours no longer pop up on the agent's screen.
    "telephony.pop_hours": 8,
    # SMS templates; {placeholders} are filled from the case and task.
    "sms.template.receipt": "【12345】您的诉求已受理,受理号{number},查询码{query_code}。",
    "sms.template.new_task": "【回音】您有新的待办:{number} {task},请于{due_at}前办理。",
    "sms.template.warning_yellow": "【回音】黄灯预警:{number} {task}({unit})将于{due_at}到期。",
    "sms.template.warning_red": "【回音】红灯逾期:{number} {task}({unit})已于{due_at}到期,请尽快办理。",
    "sms.template.supervision": "【回音】督办通知:{number} 已被督办,请书面反馈。",
    "sms.template.reply": "【12345】您的诉求(受理号{number})已答复,请留意回访。",
    # SMS gateway: "log" (write to the log) or "http" with the URL and credential below.
    "sms.gateway": "log",
    "sms.http_url": "",
    "sms.http_credential": "",
}


def get_setting(session: Session, key: str) -> Any:
    """The administrator's value if set, else the default. Read once per transaction (all rows in one
    query), so a change takes effect with the next request and a use case pays one round trip."""
    values = session.info.get("settings")
    if values is None:
        values = {row.key: row.value.get("value") for row in session.scalars(select(Setting))}
        session.info["settings"] = values
    return values[key] if key in values else DEFAULTS[key]
