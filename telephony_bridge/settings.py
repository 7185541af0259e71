"""Every environment variable the bridge reads, with its default; this list is the deployment doc.

Read once, in ``__main__``; the rest of the package gets a ``Settings`` object as an argument.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from .call_state import CallRules

_CONVERT: dict[type, Callable[[str], object]] = {int: int, float: float, str: str}


@dataclass(frozen=True)
class Settings:
    """Bridge configuration; each field is read from the upper-cased environment variable."""

    ami_host: str = "127.0.0.1"  # Asterisk host whose manager interface (AMI) we connect to
    ami_port: int = 5038  # AMI TCP port (manager.conf [general] port)
    ami_username: str = "huiyin"  # manager.conf user section name
    ami_secret: str = field(default="", repr=False)  # that user's secret; never logged
    ami_auth: str = "md5"  # "md5" (Challenge/Login with Key) or "plain" (Login with Secret)
    ami_events: str = "system,call,agent,user"  # Events: mask; add ",dialplan" to receive VarSet
    ami_login_retries: int = 3  # consecutive refused logins before the bridge gives up and exits
    ami_ping_interval: float = 15.0  # seconds between keep-alive Pings
    ami_ping_timeout: float = 10.0  # seconds without a Pong before the connection is declared dead
    ami_connect_timeout: float = 10.0  # seconds for TCP connect, banner and each action response
    ami_reconnect_min: float = 1.0  # first reconnect delay, doubled per failure (with jitter)
    ami_reconnect_max: float = 60.0  # ceiling for the reconnect delay
    ami_max_line: int = 8192  # bytes; a longer AMI line is skipped and counted
    ami_max_message: int = 65536  # bytes; a longer AMI message is skipped and counted
    pbx_id: str = "pbx-1"  # names this PBX to the platform; part of every call's key
    huiyin_api_url: str = "http://127.0.0.1:5000"  # platform base URL; we POST /api/v1/calls/events
    huiyin_api_token: str = field(default="", repr=False)  # bearer token for the platform; never logged
    huiyin_post_timeout: float = 10.0  # seconds per HTTP attempt
    huiyin_retry_min: float = 0.5  # first delay after a failed post (5xx/connection), doubled each time
    huiyin_retry_max: float = 60.0  # ceiling for the post retry delay
    bridge_queue_size: int = 50_000  # outcomes buffered while the platform is down (~a week of calls)
    call_end_grace: float = 3.0  # seconds after the last hang-up to wait for late queue events
    call_tick_interval: float = 0.5  # how often finished calls are looked for
    voicemail_userevent: str = "HuiyinVoicemail"  # UserEvent name the hang-up handler sends for a voicemail
    voicemail_file_header: str = "File"  # header of that UserEvent holding the message file
    recording_userevent_header: str = "MonFile"  # UserEvent header holding a recording file; "" disables
    recording_variable: str = ""  # extra channel variable holding the recording file (VarSet/ChanVariable)
    log_level: str = "INFO"  # Python logging level

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build from ``os.environ`` (or a given mapping); unset variables keep their defaults."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            kind = _CONVERT[type(f.default)]
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{f.name.upper()} must be a {kind.__name__}") from None
        settings = cls(**values)  # type: ignore[arg-type]  # types checked by _CONVERT
        if settings.ami_auth not in ("md5", "plain"):
            raise ValueError("AMI_AUTH must be md5 or plain")
        return settings

    def call_rules(self) -> CallRules:
        """The subset the correlation state machine needs."""
        return CallRules(
            voicemail_userevent=self.voicemail_userevent,
            voicemail_file_header=self.voicemail_file_header,
            recording_userevent_header=self.recording_userevent_header,
            recording_variable=self.recording_variable,
            end_grace=self.call_end_grace,
        )
