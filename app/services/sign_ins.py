"""What ends a user's sign-ins, and the user's own view of their API tokens.

A user's bearer tokens die with a password change, a lock, deactivation and "sign out everywhere";
web sessions die with all of those but a lock (the person at the workstation proved the password
before the guessing began: five guesses must not throw an officer off their seat). Signing out of
one browser ends that browser's session only: tokens are separate credentials an API client asked
for with the password, never derived from a session, so there is no "session that created them".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.errors import NotFound, NotPermitted
from app.models import ApiToken, UserSession
from app.services import audit
from app.services.actors import Actor
from app.services.platform import Platform

# Why a token ended, as codes; the labels are for the user's own token list.
REASONS = {
    "revoked": "已撤销",
    "password_changed": "修改密码后失效",
    "locked": "账号锁定后失效",
    "deactivated": "账号停用后失效",
    "signed_out_everywhere": "退出所有设备后失效",
}


@dataclass(frozen=True)
class OwnToken:
    """One of the user's bearer tokens as the user sees it (never the secret: only its hash is kept)."""

    id: int
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    ip: str | None
    revoked_at: datetime | None
    revoked_reason: str | None

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def status(self, now: datetime) -> str:
        """The state in words for the user: 有效, 已过期, or why it was revoked."""
        if self.revoked_at is not None:
            return REASONS.get(self.revoked_reason or "revoked", "已撤销")
        if self.expires_at is not None and self.expires_at <= now:
            return "已过期"
        return "有效"

    def as_json(self, now: datetime) -> dict[str, object]:
        return {"id": self.id, "created_at": _iso(self.created_at), "expires_at": _iso(self.expires_at),
                "last_used_at": _iso(self.last_used_at), "ip": self.ip, "active": self.active(now),
                "revoked_at": _iso(self.revoked_at), "revoked_reason": self.revoked_reason,
                "status": self.status(now)}


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def end_sign_ins(session: Session, now: datetime, user_id: int, reason: str, *,
                 sessions: bool = True, keep_session: str | None = None) -> int:
    """In the caller's transaction: revoke every live token of the user and (unless `sessions` is False)
    end their web sessions but `keep_session` (a token hash). Answers how many tokens died."""
    result = session.execute(update(ApiToken)
                             .where(ApiToken.user_id == user_id, ApiToken.scope == "user",
                                    ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now, revoked_reason=reason))
    if sessions:
        session.execute(delete(UserSession).where(UserSession.user_id == user_id,
                                                  UserSession.token_hash != (keep_session or "")))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _require_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise NotPermitted("只有用户本人的令牌可以管理自己的登录")
    return actor.user_id


def list_own_tokens(platform: Platform, actor: Actor) -> list[OwnToken]:
    """The actor's own bearer tokens, newest first, revoked and expired ones included."""
    user_id = _require_user(actor)
    with platform.db.reading() as session:
        rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.scope == "user")
                               .order_by(ApiToken.id.desc()).limit(100)).all()
        return [OwnToken(r.id, r.created_at, r.expires_at, r.last_used_at, r.ip, r.revoked_at, r.revoked_reason)
                for r in rows]


def revoke_own_token(platform: Platform, actor: Actor, token_id: int) -> None:
    """Revoke one of the actor's own tokens; another user's token answers 404, as if it did not exist."""
    user_id = _require_user(actor)
    if not 0 < token_id < 2**63:
        raise NotFound("令牌不存在")
    with platform.db.unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id,
                                                    ApiToken.scope == "user"))
        if row is None:
            raise NotFound("令牌不存在")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_reason = platform.clock.now(), "revoked"
            audit.record(session, platform, actor, "token.revoked", detail={"token_id": token_id})
        session.commit()


def sign_out_everywhere(platform: Platform, actor: Actor) -> int:
    """End every session and token of the actor, the calling one included; answers how many tokens died."""
    user_id = _require_user(actor)
    with platform.db.unit_of_work() as session:
        n = end_sign_ins(session, platform.clock.now(), user_id, "signed_out_everywhere")
        audit.record(session, platform, actor, "logout.everywhere", detail={"tokens": n})
        session.commit()
        return n
