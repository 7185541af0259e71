"""Sign-in, sessions, lockout, passwords and API tokens. Counters live in the database, shared by all workers."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload

from app.db import kept
from app.domain.passwords import WeakPassword, check_password_policy
from app.errors import Invalid, Locked, NotPermitted, NotSignedIn
from app.models import ApiToken, PasswordHistory, Role, Unit, User, UserSession
from app.services import audit, rate_limits
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.sign_ins import end_sign_ins

BAD_CREDENTIALS = "工号或密码错误"
DOCUMENTED_DEMO_PASSWORD = "Huiyin@2026"  # noqa: S105 — printed in the README, so never a real password
_DUMMY_HASH: dict[int, str] = {}
WITH_ROLES = (joinedload(User.roles).joinedload(Role.permissions),)  # the actor in one query, not three


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def actor_for(user: User, *, ip: str | None = None, session_token: str | None = None,
              platform: Platform | None = None) -> Actor:
    """The Actor a signed-in user acts as."""
    return _actor(_Person.of(user), user.unit.path, ip=ip, session_token=session_token,
                  must_change=_must_change(user, platform) if platform else False)


@dataclass(frozen=True)
class _Person:
    """Who a user is, as every request's actor needs it: kept per process while the people tables are unchanged."""

    id: int
    staff_no: str
    name: str
    unit_id: int
    roles: frozenset[str]
    permissions: frozenset[str]
    active: bool
    locked_until: datetime | None
    must_change_password: bool
    password_changed_at: datetime

    @classmethod
    def of(cls, user: User) -> _Person:
        return cls(user.id, user.staff_no, user.name, user.unit_id, frozenset(user.role_codes),
                   frozenset(user.permission_codes), user.active, user.locked_until, user.must_change_password,
                   user.password_changed_at)


def _person(session: Session, user_id: int) -> _Person | None:
    """The user as a request's actor needs it; read with roles and permissions in one query after a change to
    any user or role (`kept`, its part this user), else from what this process kept."""
    def read() -> _Person | None:
        user = session.get(User, user_id, options=WITH_ROLES)
        return None if user is None else _Person.of(user)
    return kept(session, "people", read, part=user_id)


def _unit_path(session: Session, unit_id: int) -> str:
    paths: dict[int, str] = kept(session, "unit", lambda: dict(session.execute(select(Unit.id, Unit.path)).all()),
                                 part="paths")
    return paths.get(unit_id, "")


def _actor_of(session: Session, person: _Person, platform: Platform, *, ip: str | None = None,
              session_token: str | None = None) -> Actor:
    """The Actor of a kept person (the unit's path kept too)."""
    return _actor(person, _unit_path(session, person.unit_id), ip=ip, session_token=session_token,
                  must_change=_must_change(person, platform))


def _actor(person: _Person, unit_path: str, *, ip: str | None, session_token: str | None,
           must_change: bool) -> Actor:
    return Actor(label=person.staff_no, user_id=person.id, name=person.name, unit_id=person.unit_id,
                 unit_path=unit_path, roles=person.roles, permissions=person.permissions, ip=ip,
                 must_change_password=must_change, session_token=session_token)


def _must_change(user: User | _Person, platform: Platform) -> bool:
    max_age = platform.settings.PASSWORD_MAX_AGE_DAYS
    expired = max_age > 0 and user.password_changed_at + timedelta(days=max_age) < platform.clock.now()
    return user.must_change_password or expired


def sign_in(platform: Platform, staff_no: str, password: str, ip: str | None = None) -> tuple[str, Actor]:
    """Check the credentials and open a server-side session; answers the same for unknown user and bad password."""
    rate_limits.hit(platform, "sign_in", {"address": ip, "staff_no": staff_no})  # before any hashing
    with platform.db.unit_of_work() as session:
        user = _check_credentials(session, platform, staff_no, password, ip)
        token = secrets.token_urlsafe(32)
        now = platform.clock.now()
        session.add(UserSession(token_hash=token_hash(token), user_id=user.id, created_at=now,
                                last_seen_at=now, ip=ip))
        actor = actor_for(user, ip=ip, session_token=token, platform=platform)
        audit.record(session, platform, actor, "login.ok")
        session.commit()
        return token, actor


def _check_credentials(session: Session, platform: Platform, staff_no: str, password: str,
                       ip: str | None) -> User:
    """The user, or a failure that is audited and committed before it is raised."""
    s = platform.settings
    now = platform.clock.now()
    # FOR NO KEY UPDATE, not FOR UPDATE: an audit row of this user written meanwhile takes KEY SHARE on this row
    # for its actor_id while holding the audit chain's lock, which this sign-in waits for next — a deadlock.
    user = session.scalar(select(User).where(User.staff_no == staff_no.strip())
                          .with_for_update(of=User, key_share=True))
    who = Actor(label=staff_no.strip()[:60] or "?", user_id=user.id if user else None, ip=ip)
    # The same argon2 work whether the account exists, is inactive or not: nothing to time.
    verified = _verify(platform, user.password_hash if user is not None else _dummy_hash(platform), password)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        audit.record(session, platform, who, "login.refused_locked")
        session.commit()
        if not verified:  # only the right password learns of the lock: 工号 cannot be probed by locking
            raise Invalid(BAD_CREDENTIALS)
        raise Locked(f"账号已锁定,请于{user.locked_until:%H:%M}后再试或联系安全管理员")
    if user is None or not user.active or not verified:
        detail = {}
        if user is not None:
            failures = user.failed_logins + 1
            locked = now + timedelta(minutes=s.LOCKOUT_MINUTES) if failures >= s.LOCKOUT_THRESHOLD else None
            session.execute(update(User).where(User.id == user.id)
                            .values(failed_logins=0 if locked else failures, locked_until=locked))
            detail = {"failures": failures}
            if locked:
                tokens = end_sign_ins(session, now, user.id, "locked", sessions=False)
                audit.record(session, platform, who, "login.locked",
                             detail={"until": locked.isoformat(), "tokens_revoked": tokens})
        audit.record(session, platform, who, "login.failed", detail=detail)
        session.commit()
        raise Invalid(BAD_CREDENTIALS)
    if user.failed_logins or user.locked_until:
        user.failed_logins, user.locked_until = 0, None
    if platform.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = platform.hasher.hash(password)
    return user


def _verify(platform: Platform, stored: str, password: str) -> bool:
    try:
        return platform.hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash(platform: Platform) -> str:
    key = id(platform.hasher)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = platform.hasher.hash(secrets.token_hex(8))
    return _DUMMY_HASH[key]


def load_session(platform: Platform, token: str, ip: str | None = None) -> Actor | None:
    """The actor behind a session cookie, or None when it was signed out, idled out or outlived.
    Most requests only read; a write (the idle clock, an expiry) takes a transaction of its own."""
    s = platform.settings
    now = platform.clock.now()
    key = token_hash(token)
    with platform.db.reading() as session:  # the session row; who its user is comes from `_person`
        row = session.scalar(select(UserSession).where(UserSession.token_hash == key))
        person = None if row is None else _person(session, row.user_id)
        if row is None or person is None:
            return None
        idle = now - row.last_seen_at > timedelta(minutes=s.SESSION_IDLE_MINUTES)
        too_old = now - row.created_at > timedelta(hours=s.SESSION_MAX_HOURS)
        expired = idle or too_old or not person.active
        actor = None if expired else _actor_of(session, person, platform, ip=ip, session_token=token)
        stale = now - row.last_seen_at > timedelta(seconds=30)  # spare a write on every click
    if expired:
        _end_session(platform, key, person, "idle" if idle else "lifetime" if too_old else "inactive", ip)
    elif stale:
        with platform.db.unit_of_work() as session:
            session.execute(update(UserSession).where(UserSession.token_hash == key).values(last_seen_at=now))
            session.commit()
    return actor


def _end_session(platform: Platform, key: str, user: User | _Person | None, why: str, ip: str | None) -> None:
    with platform.db.unit_of_work() as session:
        session.execute(delete(UserSession).where(UserSession.token_hash == key))
        if user is not None:
            audit.record(session, platform, Actor(label=user.staff_no, user_id=user.id, ip=ip),
                         "session.expired", detail={"reason": why})
        session.commit()


def sign_out(platform: Platform, actor: Actor) -> None:
    """End the session for good: the same cookie replayed later finds no row."""
    if not actor.session_token:
        return
    with platform.db.unit_of_work() as session:
        session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(actor.session_token)))
        audit.record(session, platform, actor, "logout")
        session.commit()


def change_password(platform: Platform, actor: Actor, old: str, new: str) -> None:
    """Change the actor's own password under the policy; the user's tokens and other sessions end."""
    with platform.db.unit_of_work() as session:
        user = session.get(User, actor.user_id)
        if user is None or not _verify(platform, user.password_hash, old):
            raise Invalid("原密码不正确", {"old_password": "原密码不正确"})
        _check_new_password(session, platform, user, new)
        now = platform.clock.now()
        session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash, replaced_at=now))
        session.flush()
        _trim_history(session, user.id, platform.settings.PASSWORD_HISTORY - 1)
        user.password_hash = platform.hasher.hash(new)
        user.password_changed_at = now
        user.must_change_password = False
        keep = token_hash(actor.session_token) if actor.session_token else None
        tokens = end_sign_ins(session, now, user.id, "password_changed", keep_session=keep)
        audit.record(session, platform, actor, "password.changed", detail={"tokens_revoked": tokens})
        session.commit()


def _check_new_password(session: Session, platform: Platform, user: User, new: str) -> None:
    """Invalid naming `new_password` unless the policy allows it and it is none of the last N passwords."""
    s = platform.settings

    def refuse(message: str) -> Invalid:
        return Invalid(message, {"new_password": message})

    try:
        check_password_policy(new, min_length=s.PASSWORD_MIN_LENGTH, min_classes=s.PASSWORD_MIN_CLASSES,
                              staff_no=user.staff_no, known=(s.DEMO_PASSWORD, DOCUMENTED_DEMO_PASSWORD))
    except WeakPassword as e:
        raise refuse(str(e)) from e
    if _verify(platform, user.password_hash, new):
        raise refuse("新密码不能与原密码相同")
    earlier = session.scalars(select(PasswordHistory.password_hash).where(PasswordHistory.user_id == user.id)
                              .order_by(PasswordHistory.id.desc()).limit(max(s.PASSWORD_HISTORY - 1, 0))).all()
    if any(_verify(platform, stored, new) for stored in earlier):
        raise refuse(f"新密码不能与最近{s.PASSWORD_HISTORY}次使用过的密码相同")


def _trim_history(session: Session, user_id: int, keep: int) -> None:
    """Keep only the newest `keep` earlier hashes of the user: older ones are no use and only a risk."""
    kept = select(PasswordHistory.id).where(PasswordHistory.user_id == user_id) \
        .order_by(PasswordHistory.id.desc()).limit(max(keep, 0))
    session.execute(delete(PasswordHistory).where(PasswordHistory.user_id == user_id,
                                                  PasswordHistory.id.not_in(kept)))


def issue_user_token(platform: Platform, staff_no: str, password: str, ip: str | None = None) -> str:
    """A bearer token acting as the user, for API clients; same limits, checks and lockout as the sign-in page."""
    rate_limits.hit(platform, "sign_in", {"address": ip, "staff_no": staff_no})  # before any hashing
    with platform.db.unit_of_work() as session:
        user = _check_credentials(session, platform, staff_no, password, ip)
        if _must_change(user, platform):
            raise NotPermitted("请先在登录页面修改密码,再申请令牌")
        token = "hy_" + secrets.token_urlsafe(32)
        now = platform.clock.now()
        session.add(ApiToken(name=f"user:{user.staff_no}", token_hash=token_hash(token), scope="user",
                             user_id=user.id, created_at=now, ip=ip,
                             expires_at=now + timedelta(hours=platform.settings.API_TOKEN_HOURS)))
        audit.record(session, platform, actor_for(user, ip=ip), "token.issued")
        session.commit()
        return token


def create_machine_token(platform: Platform, actor: Actor, name: str, scope: str) -> str:
    """A long-lived token for a machine client (the telephony bridge: scope 'calls'); shown once."""
    token = "hy_" + secrets.token_urlsafe(32)
    with platform.db.unit_of_work() as session:
        row = ApiToken(name=name, token_hash=token_hash(token), scope=scope, created_at=platform.clock.now())
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, "token.created", detail={"name": name, "scope": scope})
        session.commit()
    return token


def revoke_token(platform: Platform, actor: Actor, name: str) -> int:
    """Revoke every live token with this name; answers how many."""
    with platform.db.unit_of_work() as session:
        now = platform.clock.now()
        tokens = session.scalars(select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))).all()
        for token in tokens:
            token.revoked_at = now
        n = len(tokens)
        audit.record(session, platform, actor, "token.revoked", detail={"name": name, "count": n})
        session.commit()
        return n


def load_token(platform: Platform, token: str, ip: str | None = None) -> Actor:
    """The actor behind a bearer token; NotSignedIn when unknown, revoked, expired, or its user is locked
    or inactive. The last use is written at most once a minute, so the user's token list shows it."""
    now = platform.clock.now()
    with platform.db.reading() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
        if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at < now):
            raise NotSignedIn("令牌无效或已过期")
        if row.scope != "user":
            return Actor(label=row.name, scope=row.scope, ip=ip)
        user = None if row.user_id is None else _person(session, row.user_id)
        if user is None or not user.active or (user.locked_until is not None and user.locked_until > now):
            raise NotSignedIn("令牌无效或已过期")
        if _must_change(user, platform):  # expired since the token was issued
            raise NotPermitted("密码已过期,请先在登录页面修改密码")
        actor = _actor_of(session, user, platform, ip=ip)
        stale = row.last_used_at is None or now - row.last_used_at > timedelta(seconds=60)
    if stale:
        with platform.db.unit_of_work() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
            session.commit()
    return actor
