"""Rate limits counted in the database, so every worker and host shares them (no Redis in the default install).

A limit is `count` requests per `seconds` for one caller of one bucket (`sign_in`, `public`, …); the caller
is a client address (IPv6 by its /64, what one subscriber gets), a 工号 or a channel key (by its id). Each
request is one atomic upsert on `rate_limit_counter` — PostgreSQL and SQLite alike — that starts a window at
the first hit and counts until it expires. The count is committed in its own transaction before the guarded
work runs, so a refused or failing request still counts, and a sign-in is counted before its password is
hashed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Insert, case, delete, select
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.errors import RateLimited
from app.models import RateLimitCounter
from app.services.platform import Platform

log = logging.getLogger("huiyin.rate_limits")


# What a limit counts per: a client address, a 工号, a channel key, the 受理号 / phone / 查询码 a portal look-up
# tries, or everyone ('all').
KINDS = ("address", "staff_no", "key", "number", "phone", "code", "all")
_WHO = {"staff_no": "该工号", "key": "该渠道密钥", "number": "该受理号", "phone": "该手机号", "code": "该查询码",
        "all": "系统当前"}


@dataclass(frozen=True)
class Limit:
    """`count` requests per `seconds`, for one kind of caller (KINDS: an address, a 工号, a 受理号, …, or 'all')."""

    kind: str
    count: int
    seconds: int


def limits_for(platform: Platform, bucket: str) -> list[Limit]:
    """The limits of a bucket, read from the RATE_LIMIT_<BUCKET>_<KIND> settings, in the order checked."""
    limits = []
    for kind in KINDS:
        name = f"RATE_LIMIT_{bucket.upper()}_{kind.upper()}"
        if hasattr(platform.settings, name):
            count, seconds = platform.settings.rate_limit(name)
            limits.append(Limit(kind, count, seconds))
    if not limits:
        raise KeyError(f"no RATE_LIMIT_{bucket.upper()}_* setting")
    return limits


def address_of(ip: str | None) -> str:
    """The caller an address stands for: itself for IPv4, its /64 for IPv6 (one subscriber's block)."""
    try:
        parsed = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def hit(platform: Platform, bucket: str, callers: dict[str, str | None]) -> None:
    """Count one request of `callers` ({'address': ip, 'staff_no': …}) against each limit of the bucket, in
    order; RateLimited (429, with the seconds to wait) at the first one over. A limit already exceeded stops
    the count there: a flood from one address does not use up the 工号 it names."""
    values = {kind: (address_of(v) if kind == "address" else (v or "").strip()[:60]) for kind, v in callers.items()}
    values.setdefault("all", "*")  # a bucket with an overall limit counts every request
    checks = [limit for limit in limits_for(platform, bucket) if limit.kind in values]
    now = platform.clock.now()
    refused: tuple[Limit, datetime] | None = None
    with platform.db.unit_of_work() as session:
        for limit in checks:
            hits, expires_at = _count(session, _key(bucket, limit.kind, values[limit.kind]), now, limit.seconds)
            if hits > limit.count:
                refused = (limit, expires_at)
                if hits == limit.count + 1:  # once per window and caller: a flood does not flood the log
                    log.warning("rate limit %s/%s reached by %s", bucket, limit.kind,
                                values[limit.kind] if limit.kind != "staff_no" else "a 工号")
                break
        session.commit()
    if refused is not None:
        limit, expires_at = refused
        wait = max(1, math.ceil((expires_at - now).total_seconds()))
        raise RateLimited(_message(bucket, limit, wait), retry_after=wait)


def purge_expired(platform: Platform) -> int:
    """Delete counters whose window has ended (the scheduler runs it); answers how many."""
    spent = (select(RateLimitCounter.key).where(RateLimitCounter.expires_at <= platform.clock.now())
             .with_for_update(skip_locked=True))  # never wait on a sign-in counting: no lock cycle with it
    with platform.db.unit_of_work() as session:
        result = session.execute(delete(RateLimitCounter).where(RateLimitCounter.key.in_(spent.scalar_subquery())))
        session.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _key(bucket: str, kind: str, value: str) -> str:
    # Hashed to bound the key's length; an IPv4 address is guessable from it, which is fine for a
    # row that lives minutes — this is not a secret, only a fixed-size name.
    return f"{bucket}:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def _count(session: Session, key: str, now: datetime, seconds: int) -> tuple[int, datetime]:
    """One atomic upsert: a new or expired window starts at 1, a live one counts up; answers (hits, end)."""
    table = RateLimitCounter.__table__
    expired = table.c.expires_at <= now
    values = {"key": key, "hits": 1, "expires_at": now + timedelta(seconds=seconds)}
    insert = conflict_insert(session)
    stmt = insert(RateLimitCounter).values(**values)
    upsert: Insert = stmt.on_conflict_do_update(index_elements=[table.c.key], set_={
        "hits": case((expired, 1), else_=table.c.hits + 1),
        "expires_at": case((expired, stmt.excluded.expires_at), else_=table.c.expires_at),
    })
    hits, expires_at = session.execute(upsert.returning(table.c.hits, table.c.expires_at)).one()
    return int(hits), expires_at


def _message(bucket: str, limit: Limit, wait: int) -> str:
    when = f"{wait}秒" if wait < 120 else f"{math.ceil(wait / 60)}分钟"
    who = _WHO.get(limit.kind, "您所在网络地址")
    what = "的登录尝试" if bucket == "sign_in" else "的请求"
    return f"{who}{what}过于频繁,请{when}后再试"

