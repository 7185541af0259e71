"""Call recordings: where the PBX's synced files live and who may play one (each play audited)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from app.errors import NotFound
from app.models import Call
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.scope import find_case
from app.settings import Settings

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,119}")  # a pbx_id or a recording's file name


def recordings_dir(settings: Settings) -> Path:
    """RECORDINGS_DIR (the PBX's monitor and voicemail files, synced per PBX), else INSTANCE_PATH/recordings."""
    configured = getattr(settings, "RECORDINGS_DIR", "") or settings.extra.get("RECORDINGS_DIR")
    return Path(str(configured)) if configured else Path(settings.INSTANCE_PATH) / "recordings"


def recording_path(root: Path, pbx_id: str, name: str) -> Path:
    """root/pbx_id/name, built only from plain names: no separators, no '..', nothing outside root."""
    for part in (pbx_id, name):
        if not SAFE_NAME.fullmatch(part) or ".." in part:
            raise NotFound("录音不存在")
    base = root.resolve()
    path = (base / pbx_id / name).resolve()
    if not path.is_relative_to(base):  # a symlink pointing out
        raise NotFound("录音不存在")
    return path


def recording_name(reported: str) -> str:
    """The file name of a path on the PBX; a voicemail message file (msg0001) is stored as .wav."""
    name = PurePosixPath(reported.replace("\\", "/")).name
    return name if "." in name.lstrip(".") else name + ".wav"


def recording_for(platform: Platform, actor: Actor, call_id: int) -> Path:
    """The call's recording for a reader of its case (or the agent who answered it); each play is audited."""
    with platform.db.unit_of_work() as session:
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound("录音不存在")
        if call.case_id is not None:
            find_case(session, actor, call.case_id)
        elif actor.user_id is None or call.draft_for_user_id != actor.user_id:
            raise NotFound("录音不存在")
        reported = call.recording_file or call.voicemail_file
        if not reported:
            raise NotFound("该来电没有录音")
        try:
            path = recording_path(recordings_dir(platform.settings), call.pbx_id, recording_name(reported))
        except NotFound:  # a name or symlink that would leave the directory: refused, and on the record
            audit.record(session, platform, actor, "call.recording_refused", case_id=call.case_id,
                         detail={"call_id": call.id, "reported": reported[:200]})
            session.commit()
            raise
        if not path.is_file():
            raise NotFound("录音文件尚未同步到平台")
        audit.record(session, platform, actor, "call.recording_played", case_id=call.case_id,
                     detail={"call_id": call.id})
        session.commit()
        return path

