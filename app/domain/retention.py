"""How long records are kept: audit records at least 180 days (等保 2.0), case records for ever.

The application deletes neither. The audit log is append-only (a database trigger refuses UPDATE, DELETE and
TRUNCATE) and HMAC-chained, so removing even an old head of it would break every later link; a purge is
therefore refused whatever the date — one younger than the minimum with the rule that forbids it. Old years
leave the live database by backup and archive, never by deletion. Case records are archived by year.
"""

from __future__ import annotations

from datetime import date, timedelta

AUDIT_MIN_DAYS = 180


def audit_purge_refusal(before: date, today: date) -> str:
    """Why an audit purge of the records before `before` is refused (it always is)."""
    youngest_allowed = today - timedelta(days=AUDIT_MIN_DAYS)
    if before > youngest_allowed:
        return (f"审计记录至少保留 {AUDIT_MIN_DAYS} 天(等保 2.0):{before.isoformat()} 之前的记录中有不足 "
                f"{AUDIT_MIN_DAYS} 天的(最早只能到 {youngest_allowed.isoformat()}),拒绝清理")
    return ("审计日志只追加、不删除(数据库触发器拒绝删除,且链式校验码会因删除而断开):"
            "超过保存期的记录请随备份归档,本系统不提供清理")
