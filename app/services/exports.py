"""Exports of a combined query (and, through `write_table`, of any report) to CSV or XLSX.

Up to `exports.background_rows` rows the file is written in the request; past it the job row waits for the
scheduler (`run_pending`, claimed with SKIP LOCKED), and the page polls its progress. Rows are read by keyset
batches and written as they come (openpyxl write-only), so memory stays flat. Cells that a spreadsheet would
run as a formula are made inert; personal data is masked unless the owner asked to reveal and may see it.
Every export is audited (who, the query, how many rows); the file lies under the instance path and only its
creator may download it.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import case_query as cq
from app.domain.masking import mask_name, mask_phone
from app.errors import Invalid, NotFound
from app.models import ExportJob, User
from app.services import audit, case_query, cases, dictionary, xlsx
from app.services.actors import Actor, require
from app.services.auth import actor_for
from app.services.platform import Platform
from app.services.settings import get_setting
from app.services.tabular import inert

log = logging.getLogger("huiyin.exports")
FORMATS = ("csv", "xlsx")
PROGRESS_EVERY = 1000
Progress = Callable[[int], None]


def write_table(path: Path, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]],
                progress: Progress | None = None) -> int:
    """Write a header and rows to `path` as CSV (UTF-8 with BOM, as Excel opens it) or XLSX (app.services.xlsx:
    text as text, never a formula), made inert as app.services.tabular does, streamed to the file rather than
    built in memory; `progress(n)` every PROGRESS_EVERY rows. Returns the rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = ([inert(v) for v in row] for row in _counted(rows, progress))
    if fmt == "xlsx":
        return xlsx.write(path, [inert(h) for h in header], safe, sheet="导出")
    written = 0
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([inert(h) for h in header])
        for row in safe:
            writer.writerow(["" if v is None else v for v in row])
            written += 1
    return written


def _counted(rows: Iterable[Sequence[Any]], progress: Progress | None) -> Iterator[Sequence[Any]]:
    """The rows as they are, telling `progress` how many have passed every PROGRESS_EVERY rows."""
    for done, row in enumerate(rows, start=1):
        yield row
        if progress and done % PROGRESS_EVERY == 0:
            progress(done)


HEADER = ("受理号", "登记时间", "诉求类型", "来源渠道", "诉求分类", "标题", "办理状态", "主办机构", "办理时限",
          "答复时间", "办结时间", "满意度", "诉求人", "联系电话", "诉求内容")
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


def case_rows(session: Session, platform: Platform, actor: Actor, query: cq.CaseQuery, reveal: bool,
               cap: int) -> Iterable[list[Any]]:
    """The export's rows, read by keyset batches: labels by dict lookups read once, personal data masked
    unless revealed (and a protected accuser's phone left out), the phone decrypted only where it is shown."""
    kinds, channels = dictionary.labels(session, "kind"), dictionary.labels(session, "channel")
    statuses = dictionary.status_labels(session)
    may_reveal = reveal and actor.can("case.read_personal")
    decrypt = platform.cipher.decrypt
    for row in case_query.walk(session, platform, actor, query, cap=cap):
        whole = may_reveal and cases.may_see_personal(session, actor, row)
        hidden = not whole and row.sensitivity == "sensitive" and cases.accuser_protected(session, actor, row)
        phone = decrypt(row.phone_enc, "requester.phone") if row.phone_enc and not hidden else None
        name = row.requester
        yield [row.number, row.created_at, kinds.get(row.kind, row.kind), channels.get(row.channel, row.channel),
               row.category, row.subject, statuses.get(row.status, row.status), row.lead_unit, row.due_at,
               row.replied_at, row.closed_at, SATISFACTION.get(row.satisfaction or "", ""),
               name if whole else mask_name(name), phone if whole or not phone else mask_phone(phone), row.content]


def export_dir(platform: Platform) -> Path:
    return Path(platform.settings.INSTANCE_PATH) / "exports"


def _file(platform: Platform, job: ExportJob) -> Path:
    return export_dir(platform) / f"{job.id}.{job.format}"


def create(platform: Platform, actor: Actor, params: dict[str, Any], fmt: str, *,
           reveal: bool = False) -> dict[str, Any]:
    """An export of the query `params` (query parameters as strings or lists); written now when small, else
    left to the scheduler. 422 for an unknown format or key, or more rows than the cap."""
    require(actor, "case.read")
    if fmt not in FORMATS:
        raise Invalid("导出格式(format)只能是 csv 或 xlsx", {"format": "只能是 csv 或 xlsx"})
    if actor.user_id is None:
        raise Invalid("导出需以用户身份登录", {"user": "导出需以用户身份登录"})
    lists = {k: v if isinstance(v, list) else [str(v)] for k, v in params.items()}
    if any(not isinstance(x, str) for v in lists.values() for x in v):
        raise Invalid("查询条件(query)的取值应为文字", {"query": "取值应为文字"})
    query = cq.parse(lists)
    stored = query.as_params()
    with platform.db.unit_of_work() as session:
        cap = int(get_setting(session, "exports.row_cap"))
        total = case_query.count(session, platform, actor, query, upto=cap + 1)  # no further than the cap
        if total > cap:
            raise Invalid(f"结果超过导出上限 {cap} 条,请缩小查询条件", {"query": f"超过导出上限 {cap} 条"})
        job = ExportJob(owner_id=actor.user_id, source="cases", params=stored, format=fmt, reveal=reveal,
                        state="pending", rows_total=total, rows_done=0, created_at=platform.clock.now())
        session.add(job)
        session.flush()
        audit.record(session, platform, actor, "export.created",
                     detail={"export": job.id, "query": stored, "format": fmt, "rows": total, "reveal": reveal})
        session.commit()
        job_id, background = job.id, total > int(get_setting(session, "exports.background_rows"))
    if not background:
        _run(platform, job_id, actor)
    return status(platform, actor, job_id)


def _progress(platform: Platform, job_id: int) -> Progress:
    def report(done: int) -> None:
        with platform.db.unit_of_work() as session:
            job = session.get(ExportJob, job_id)
            if job is not None:
                job.rows_done = done
                session.commit()
    return report


def _run(platform: Platform, job_id: int, actor: Actor) -> None:
    """Write the job's file (its owner's scope and rights), then mark it done — or failed, saying why. The
    rows are read through `Database.reporting()`: an export is a long read, off the primary when it can be."""
    with platform.db.reading() as session:  # the job was just written: the primary has it
        job = session.get(ExportJob, job_id)
        assert job is not None
        query = cq.parse({k: [v] for k, v in job.params.items()})
        reveal, fmt, path, total = job.reveal, job.format, _file(platform, job), job.rows_total
    with platform.db.reporting() as session:  # the rows: the reports replica when one is configured
        try:
            rows = case_rows(session, platform, actor, query, reveal, total)
            written = write_table(path, fmt, HEADER, rows, _progress(platform, job_id))
            error = None
        except Exception as e:  # noqa: BLE001 — any failure ends the job as failed, logged, never half "done"
            log.exception("export %s failed", job_id)
            written, error = 0, f"{type(e).__name__}: {e}"
    with platform.db.unit_of_work() as session:
        job = session.get(ExportJob, job_id)
        assert job is not None
        job.state, job.rows_done, job.error = ("failed", written, error) if error else ("done", written, None)
        job.file_name = None if error else path.name
        job.finished_at = platform.clock.now()
        audit.record(session, platform, actor, "export.finished" if not error else "export.failed",
                     detail={"export": job_id, "rows": written})
        session.commit()


def run_pending(platform: Platform, worker: str, limit: int = 5) -> int:
    """The scheduler's part: claim pending jobs one by one (SKIP LOCKED: two schedulers never take the same)
    and write them as their owner."""
    done = 0
    for _ in range(limit):
        with platform.db.unit_of_work() as session:
            job = session.scalar(select(ExportJob).where(ExportJob.state == "pending").order_by(ExportJob.id)
                                 .limit(1).with_for_update(skip_locked=True))
            if job is None:
                return done
            job.state, job.claimed_by = "running", worker
            owner = session.get(User, job.owner_id)
            job_id = job.id
            if owner is None or not owner.active:
                job.state, job.error = "failed", "导出人账号已停用"
                session.commit()
                continue
            actor = actor_for(owner, platform=platform)
            session.commit()
        _run(platform, job_id, actor)
        done += 1
    return done


def _owned(session: Session, actor: Actor, job_id: int) -> ExportJob:
    job = session.get(ExportJob, job_id)
    if job is None or actor.user_id is None or job.owner_id != actor.user_id:
        raise NotFound("导出任务不存在")
    return job


def status(platform: Platform, actor: Actor, job_id: int) -> dict[str, Any]:
    """`progress` 0–100, the rows, and `url` once the file is ready (the creator's only)."""
    with platform.db.reading() as session:
        job = _owned(session, actor, job_id)
        progress = 100 if job.state == "done" else (
            min(99, job.rows_done * 100 // job.rows_total) if job.rows_total else 0)
        return {"id": job.id, "state": job.state, "progress": progress, "rows_done": job.rows_done,
                "rows_total": job.rows_total, "format": job.format, "error": job.error,
                "url": f"/api/v1/exports/{job.id}/file" if job.state == "done" else None}


def file_of(platform: Platform, actor: Actor, job_id: int) -> tuple[Path, str]:
    """The finished file and the name it downloads as; NotFound for anyone but its creator."""
    with platform.db.reading() as session:
        job = _owned(session, actor, job_id)
        if job.state != "done" or not job.file_name:
            raise NotFound("导出文件尚未生成")
        path = export_dir(platform) / job.file_name
        stamp = job.created_at.strftime("%Y%m%d-%H%M")
        return path, f"诉求件查询-{stamp}.{job.format}"
