"""Channel keys: how an integration (WeChat mini-program, app, 市长信箱, the website, Open311) submits cases.

The 系统管理员 creates one key per integration (`flask channels create`, the /admin/channels page); the key is
shown once and stored only as a keyed hash (HMAC-SHA256 under SEARCH_KEY, `FieldCipher.search_hash`). The key
fixes the channel of everything it submits — a body naming another channel is refused — and its submissions go
through the one intake (`services.intake.register`: check_intake, Idempotency-Key, 三级终结). Requests are
counted per address before the key is looked up, then per key; a revoked key is refused on its next request
(nothing is cached); every use, and every try of a revoked key, is audited.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.domain.intake import text_fault
from app.errors import Invalid, NotFound, NotPermitted, NotSignedIn
from app.models import ChannelKey, ChannelSubmission
from app.services import audit, dictionary, intake, rate_limits
from app.services.actors import Actor, require
from app.services.platform import Platform

log = logging.getLogger("huiyin.channels")

KEY_PREFIX = "hyc_"
NAME_MAX = 40  # the actor label `channel:<name>` fits the audit log's 60 and the idempotency key's 200
TOKEN_PREFIX = "t_"  # noqa: S105 — a marker on lookup tokens, not a secret
REFUSED = "渠道密钥无效或已吊销"


@dataclass(frozen=True)
class ChannelCaller:
    """A request signed with a live channel key: which key, the channel it fixes, and the actor it acts as."""

    key_id: int
    name: str
    channel: str
    actor: Actor


def _hash(platform: Platform, key: str) -> str:
    digest = platform.cipher.search_hash(key, "channel_key")
    assert digest is not None  # noqa: S101 — a non-empty key always hashes
    return digest


def create_key(platform: Platform, actor: Actor, name: str, channel: str) -> str:
    """A new key for one integration; answers the key itself, which is never shown again."""
    require(actor, "channel.manage")
    name = (name or "").strip()
    fault = text_fault(name)
    if not name or len(name) > NAME_MAX or fault:
        message = fault and f"名称{fault}" or f"名称必填,且不超过 {NAME_MAX} 个字符"
        raise Invalid(message, {"name": message})
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with platform.db.unit_of_work() as session:
        if channel not in dictionary.labels(session, "channel"):
            message = f"来源渠道无效:{channel}(应为数据字典「来源渠道」中启用的编码)"
            raise Invalid(message, {"channel": message})
        if session.scalar(select(ChannelKey.id).where(ChannelKey.name == name)) is not None:
            message = f"名称已被使用:{name}(吊销的密钥也保留名称,请另取一个)"
            raise Invalid(message, {"name": message})
        row = ChannelKey(name=name, channel=channel, key_hash=_hash(platform, key), prefix=key[:12],
                         created_at=platform.clock.now(), created_by=actor.label)
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, "channel_key.created",
                     detail={"name": name, "channel": channel, "prefix": row.prefix})
        session.commit()
    return key


def overview(platform: Platform, actor: Actor) -> dict[str, Any]:
    """The admin page: every key, and the channels a new key may be for."""
    keys = list_keys(platform, actor)
    with platform.db.reading() as session:
        return {"keys": keys, "channels": dictionary.labels(session, "channel")}


def list_keys(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Every key, live and revoked, with its channel's words, last use and how many cases it submitted."""
    require(actor, "channel.manage")
    with platform.db.reading() as session:
        words = dictionary.labels(session, "channel", active_only=False)
        counts = dict(session.execute(select(ChannelSubmission.key_id, func.count())
                                      .group_by(ChannelSubmission.key_id)).all())
        rows = session.scalars(select(ChannelKey).order_by(ChannelKey.revoked_at.is_not(None), ChannelKey.name))
        return [{"id": r.id, "name": r.name, "channel": r.channel, "channel_label": words.get(r.channel, r.channel),
                 "prefix": r.prefix, "created_at": _iso(r.created_at), "created_by": r.created_by,
                 "revoked_at": _iso(r.revoked_at), "last_used_at": _iso(r.last_used_at),
                 "active": r.revoked_at is None, "submissions": counts.get(r.id, 0)} for r in rows]


def revoke_key(platform: Platform, actor: Actor, name: str) -> None:
    """Revoke the named key for good; its next request is refused."""
    _revoke(platform, actor, ChannelKey.name == (name or "").strip(), name)


def revoke_key_by_id(platform: Platform, actor: Actor, key_id: int) -> str:
    """Revoke a key from the admin page's list; answers its name."""
    return _revoke(platform, actor, ChannelKey.id == key_id, str(key_id))


def _revoke(platform: Platform, actor: Actor, which: Any, shown: str) -> str:
    require(actor, "channel.manage")
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(ChannelKey).where(which).with_for_update())
        if row is None:
            raise NotFound(f"渠道密钥不存在:{shown}")
        if row.revoked_at is not None:
            message = f"渠道密钥 {row.name} 已于 {row.revoked_at:%Y-%m-%d %H:%M} 吊销"
            raise Invalid(message, {"name": message})
        row.revoked_at = platform.clock.now()
        audit.record(session, platform, actor, "channel_key.revoked",
                     detail={"name": row.name, "channel": row.channel, "prefix": row.prefix})
        session.commit()
        return row.name


def authenticate(platform: Platform, key: str | None, ip: str | None, *, use: str,
                 field: str = "X-Channel-Key", channel: str | None = None) -> ChannelCaller:
    """The caller behind a channel key, counted and audited as one use (`use` says what for); with `channel`,
    only a key of that channel will do (Open311 takes `open311` keys).

    NotSignedIn (401) without a key, NotPermitted (403) for an unknown, revoked or other-channel key,
    RateLimited (429) over the address's or the key's limit.
    """
    rate_limits.hit(platform, "channel", {"address": ip})  # before the lookup: guessing keys costs the guesser
    key = (key or "").strip()
    if not key:
        raise NotSignedIn(f"缺少渠道密钥({field})", {field: "请提供系统管理员发给本渠道的密钥"})
    now = platform.clock.now()
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(ChannelKey).where(ChannelKey.key_hash == _hash(platform, key)))
        if row is None:
            log.warning("unknown channel key from %s", rate_limits.address_of(ip))
            raise NotPermitted(REFUSED, {field: REFUSED})
        who = Actor(label=f"channel:{row.name}", name=row.name, scope="channel",
                    permissions=frozenset({"case.create"}), ip=ip)
        refusal = "revoked" if row.revoked_at is not None else "other_channel" if channel not in (None, row.channel) \
            else None
        if refusal:
            audit.record(session, platform, who, "channel_key.refused", detail={"use": use, "reason": refusal})
            session.commit()
            message = REFUSED if refusal == "revoked" else \
                f"该密钥属于「{row.channel}」渠道,此接口只收 {channel} 渠道的密钥"
            raise NotPermitted(message, {field: message})
        caller = ChannelCaller(key_id=row.id, name=row.name, channel=row.channel, actor=who)
    rate_limits.hit(platform, "channel", {"key": str(caller.key_id)})
    with platform.db.unit_of_work() as session:
        session.get_one(ChannelKey, caller.key_id).last_used_at = now
        audit.record(session, platform, caller.actor, "channel_key.used", detail={"use": use})
        session.commit()
    return caller


def submit(platform: Platform, key: str | None, ip: str | None, raw: Mapping[str, Any],
           idempotency_key: str | None = None, *, field: str = "X-Channel-Key",
           channel: str | None = None, media_url: str | None = None) -> dict[str, Any]:
    """Register a case signed with a channel key through the one intake, on the key's channel; answers the
    receipt with the `token` the client may look the case up by. A retry with the same Idempotency-Key (and
    the same body) answers the first case."""
    caller = authenticate(platform, key, ip, use="submit", field=field, channel=channel)
    named = raw.get("channel")
    if named not in (None, "", caller.channel):
        message = f"来源渠道由渠道密钥确定为 {caller.channel},不能指定为 {str(named)[:20]}"
        raise Invalid(message, {"channel": message})
    receipt = intake.register(platform, caller.actor, {**raw, "channel": caller.channel}, idempotency_key)
    return receipt | {"token": _submission_token(platform, caller, int(receipt["id"]), media_url)}


def _submission_token(platform: Platform, caller: ChannelCaller, case_id: int, media_url: str | None) -> str:
    """The case's submission row (a retry finds the first one; a lost race reads the winner's)."""
    for _ in range(2):
        try:
            with platform.db.unit_of_work() as session:
                found = _token_of(session, case_id)
                if found is not None:
                    return found
                token = TOKEN_PREFIX + secrets.token_urlsafe(18)
                session.add(ChannelSubmission(key_id=caller.key_id, case_id=case_id, token=token,
                                              media_url=media_url, created_at=platform.clock.now()))
                session.commit()
                return token
        except IntegrityError:
            continue
    raise RuntimeError("channel submission token could not be stored")


def _token_of(session: Session, case_id: int) -> str | None:
    return session.scalar(select(ChannelSubmission.token).where(ChannelSubmission.case_id == case_id))


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None
