"""The scheduler: APScheduler runs the sweeps every minute, in its own process (`flask scheduler`).

Jobs live in memory per process (never a shared APScheduler job store): what is due is rows in the
database, and the sweeps claim them, so any number of scheduler processes may run on one PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import socket

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.services import audit, backups, escalation, exports, outbox, rate_limits, report_summary, sweeps
from app.services.actors import SYSTEM
from app.services.platform import Platform
from app.services.settings import get_setting
from app.sms import HttpGateway, LogGateway, SmsGateway

log = logging.getLogger("huiyin.jobs")


def worker_name() -> str:
    return f"scheduler@{socket.gethostname()}:{os.getpid()}"


def gateway_for(platform: Platform) -> SmsGateway:
    """The SMS gateway the settings name, read at each run so a change takes effect at once."""
    with platform.db.reading() as session:
        if get_setting(session, "sms.gateway") == "http":
            return HttpGateway(str(get_setting(session, "sms.http_url")),
                               str(get_setting(session, "sms.http_credential")))
    return LogGateway()


def run_once(platform: Platform, worker: str) -> None:
    """One pass: timers, warnings, the escalation ladder, SMS, spent rate-limit counters, background exports,
    the stale days of the report summary, the backup on backup days. Each part's failure is logged and does not
    stop the others."""
    head = audit.chain_head(platform)
    if head:  # an outside witness of the chain: a deleted tail no longer matches a logged head
        log.info("audit chain head %s:%s", *head)
    for name, job in (("timers", lambda: sweeps.sweep_due_timers(platform, worker)),
                      ("warnings", lambda: sweeps.raise_warnings(platform, worker)),
                      ("ladder", lambda: escalation.climb(platform, worker)),
                      ("sms", lambda: outbox.send_pending(platform, gateway_for(platform))),
                      ("rate_limits", lambda: rate_limits.purge_expired(platform)),
                      ("exports", lambda: exports.run_pending(platform, worker)),
                      ("report_summary", lambda: report_summary.fold_stale(platform)),
                      ("backup", lambda: backups.run_scheduled(platform, SYSTEM))):
        try:
            outcome = job()
            log.debug("%s: %s", name, outcome)
        except Exception:
            log.exception("sweep %s failed", name)


def build_scheduler(platform: Platform, *, blocking: bool, seconds: int = 60) -> BaseScheduler:
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    worker = worker_name()
    scheduler.add_job(run_once, "interval", seconds=seconds, args=[platform, worker], id="sweeps",
                      max_instances=1, coalesce=True)
    return scheduler
