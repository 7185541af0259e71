"""Backups and the restore drill: `make_backup` writes one encrypted file, `restore_backup` loads it into an
empty database and verifies it (row counts, the audit chain, a sample of personal fields decrypted).

The backup folder is the listing: each `huiyin-*.hybk` file's header says when, under which data key and what
it holds; a `.state.json` beside it says how far it was verified (`checked`: every tag verified after
writing; `restored`: a restore drill from it verified; `failed`: the reason). A listing kept in the database
being backed up could not record its own backup, and would be lost with it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, make_url, select

from app.crypto import derive_key
from app.db import Database
from app.errors import NotPermitted
from app.models import Requester
from app.services import audit, backup_db, backup_file
from app.services.actors import Actor
from app.services.backup_db import BackupRefused
from app.services.backup_file import BackupDamaged
from app.services.platform import Platform
from app.services.settings import get_setting

PURPOSE = "huiyin backup v1"
SUFFIX = ".hybk"
SAMPLE = 20
log = logging.getLogger("huiyin.backups")
STATE_WORDS = {"checked": "文件已校验", "restored": "已通过恢复演练", "failed": "校验失败"}

__all__ = ["BackupDamaged", "BackupRefused", "make_backup", "restore_backup", "list_backups", "run_scheduled"]


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    header: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RestoreReport:
    verified: bool
    problems: list[str]
    counts: dict[str, int]


def backup_dir(platform: Platform) -> Path:
    return Path(platform.settings.BACKUP_DIR or Path(platform.settings.INSTANCE_PATH) / "backups")


def make_backup(platform: Platform, actor: Actor, directory: Path | None = None) -> BackupInfo:
    """Write a consistent snapshot of the database, encrypted under a key derived from the current data key."""
    folder = directory or backup_dir(platform)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    created = platform.clock.now()
    target = _free_name(folder, f"huiyin-{created:%Y%m%d-%H%M%S}")
    key_id = platform.cipher.key_id
    kind = backup_db.kind_of(platform.db.url)
    try:  # a dump that failed half way (pg_dump's exit status comes last) leaves no file behind
        with tempfile.TemporaryDirectory(dir=folder, prefix=".scratch-") as scratch:
            snapshot = (backup_db.sqlite_snapshot(platform.db.url, Path(scratch)) if kind == "sqlite"
                        else backup_db.pg_snapshot(platform.db.url))
            with snapshot as (stream, manifest):
                header = {"format": 1, "kind": kind, "key_id": key_id, "created_at": created.isoformat(),
                          "cipher": "AES-256-GCM", "chunk": backup_file.CHUNK, "manifest": manifest}
                size = backup_file.write_encrypted(stream, target, _key(platform, key_id), header)
        backup_file.check(target, _key(platform, key_id))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    _write_state(target, {"state": "checked", "at": platform.clock.now().isoformat(), "plain_size": size})
    with platform.db.unit_of_work() as session:
        audit.record(session, platform, actor, "backup.created",
                     detail={"file": target.name, "key_id": key_id, "size": target.stat().st_size})
        session.commit()
    return _info(target)


def restore_backup(platform: Platform, actor: Actor, path: Path, into_url: str) -> RestoreReport:
    """Load the backup into an EMPTY database and verify it; BackupRefused / BackupDamaged say why not."""
    header = backup_file.read_header(path)
    kind = backup_db.kind_of(into_url)
    if header.get("kind") != kind:
        raise BackupRefused(f"备份来自 {header.get('kind')} 数据库,不能恢复到 {kind} 数据库")
    key = _key(platform, str(header.get("key_id")))
    backup_file.check(path, key)  # the whole file authenticates before the target is touched
    if (tables := backup_db.table_count(into_url)) > 0:
        raise BackupRefused(f"目标数据库不是空库(已有 {tables} 张表):恢复只写入空库")
    try:
        chunks = backup_file.decrypted_chunks(path, key)
        if kind == "sqlite":
            folder = backup_db.sqlite_path(into_url).parent
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder, prefix=".restore-") as scratch:
                backup_db.load_sqlite(chunks, into_url, Path(scratch))
        else:
            backup_db.load_pg(chunks, into_url)
        report = verify_restored(platform, backup_db.with_schema(into_url, header["manifest"]["schema"]),
                                 header["manifest"])
    except (BackupRefused, BackupDamaged) as e:
        report = RestoreReport(False, [str(e)], {})
    shown = make_url(into_url).render_as_string(hide_password=True)
    _write_state(path, {"state": "restored" if report.verified else "failed", "at": platform.clock.now().isoformat(),
                        "into": shown, "problems": report.problems[:20]})
    try:  # recorded in the app's own database, which in a disaster may be the one missing
        with platform.db.unit_of_work() as session:
            audit.record(session, platform, actor, "backup.restored",
                         detail={"file": path.name, "into": shown, "verified": report.verified,
                                 "problems": len(report.problems)})
            session.commit()
    except Exception:
        log.exception("the restore of %s could not be audited in the app's database", path.name)
    return report


def verify_restored(platform: Platform, url: str, manifest: dict[str, Any]) -> RestoreReport:
    """Compare the restored database with the manifest, verify its audit chain, decrypt a sample."""
    problems: list[str] = []
    target = Platform(db=Database(url), settings=platform.settings, keys=platform.keys, clock=platform.clock)
    try:
        with target.db.engine.connect() as conn:
            found = backup_db.manifest_of(conn)
        for table, expected in manifest["tables"].items():
            if found["tables"].get(table) != expected:
                problems.append(f"表 {table}:应有 {expected} 行,恢复后 {found['tables'].get(table, '缺失')}")
        if found["audit_head"] != manifest["audit_head"]:
            problems.append("审计日志链头与备份时不符")
        problems += [f"审计日志:{p}" for p in audit.verify_chain(target)]
        problems += _sample_personal(target)
        counts: dict[str, int] = found["tables"]
    finally:
        target.db.dispose()
    return RestoreReport(not problems, problems, counts)


def _sample_personal(target: Platform) -> list[str]:
    with target.db.reading() as session:
        rows = session.scalars(select(Requester).where((Requester.phone_enc.is_not(None))
                                                       | (Requester.id_number_enc.is_not(None)))
                               .order_by(func.random()).limit(SAMPLE)).all()
        for row in rows:
            try:
                target.cipher.decrypt(row.phone_enc, "requester.phone")
                target.cipher.decrypt(row.id_number_enc, "requester.id_number")
            except Exception:
                return [f"诉求人 #{row.id} 的个人信息无法解密(缺少当时的数据密钥?)"]
    return []


def list_backups(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The backup folder newest first, with size and verification state; system administrators only."""
    if not actor.can("backup.read"):
        raise NotPermitted("只有系统管理员可以查看数据备份")
    items = []
    for info in _infos(backup_dir(platform)):
        state = info.state.get("state", "")
        items.append({"name": info.path.name, "size": info.size, "created_at": info.header.get("created_at", ""),
                      "kind": info.header.get("kind", ""), "key_id": info.header.get("key_id", ""),
                      "rows": sum(info.header.get("manifest", {}).get("tables", {}).values()),
                      "state": state, "state_label": STATE_WORDS.get(state, "未校验"),
                      "state_at": info.state.get("at", ""), "problems": info.state.get("problems", [])})
    return items


WEEKDAYS = "一二三四五六日"


def schedule(platform: Platform) -> dict[str, Any]:
    """The backup schedule as the settings say now, in words for the page."""
    with platform.db.reading() as session:
        days, hour, keep = (get_setting(session, k) for k in ("backup.weekdays", "backup.hour", "backup.keep"))
    return {"days": "、".join(f"周{WEEKDAYS[d - 1]}" for d in sorted(days)).replace("周", "", 1), "hour": hour,
            "keep": keep}


def run_scheduled(platform: Platform, actor: Actor) -> BackupInfo | None:
    """The scheduler's backup: on the set weekdays from the set hour, once that day; then keep the newest N."""
    now = platform.clock.now()
    with platform.db.reading() as session:
        weekdays, hour, keep = (get_setting(session, k) for k in ("backup.weekdays", "backup.hour", "backup.keep"))
    if now.isoweekday() not in weekdays or now.hour < hour:
        return None
    folder = backup_dir(platform)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    claim = folder / f".claim-{now:%Y%m%d}"
    try:  # several scheduler processes on one host: the first to create the day's claim makes the backup
        os.close(os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return None
    info = make_backup(platform, actor, folder)
    prune(platform, actor, folder, keep)
    return info


def prune(platform: Platform, actor: Actor, folder: Path, keep: int) -> list[str]:
    """Remove all but the newest `keep` backups (and their day claims); the removal is audited."""
    removed = []
    for info in _infos(folder)[max(keep, 1):]:
        info.path.unlink(missing_ok=True)
        _state_path(info.path).unlink(missing_ok=True)
        removed.append(info.path.name)
    for claim in sorted(folder.glob(".claim-*"))[:-max(keep, 1)]:
        claim.unlink(missing_ok=True)
    if removed:
        with platform.db.unit_of_work() as session:
            audit.record(session, platform, actor, "backup.pruned", detail={"files": removed, "keep": keep})
            session.commit()
    return removed


def _key(platform: Platform, key_id: str) -> bytes:
    data_key = platform.keys.data_keys.get(key_id)
    if data_key is None:
        raise BackupRefused(f"备份使用的数据密钥 {key_id} 不在本机的密钥中(DATA_KEY / DATA_KEYS_RETIRED)")
    return derive_key(data_key, PURPOSE)


def _free_name(folder: Path, stem: str) -> Path:
    candidate, n = folder / f"{stem}{SUFFIX}", 1
    while candidate.exists():
        candidate, n = folder / f"{stem}-{n}{SUFFIX}", n + 1
    return candidate


def _state_path(path: Path) -> Path:
    return path.with_name(path.name + ".state.json")


def _write_state(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".state.tmp")
    temporary.write_text(json.dumps(state, ensure_ascii=False))
    os.replace(temporary, _state_path(path))


def _info(path: Path) -> BackupInfo:
    state_path = _state_path(path)
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    return BackupInfo(path=path, size=path.stat().st_size, header=backup_file.read_header(path), state=state)


def _infos(folder: Path) -> list[BackupInfo]:
    """Every readable backup in the folder, newest first (a damaged header is listed as failed)."""
    infos = []
    for path in folder.glob(f"huiyin-*{SUFFIX}") if folder.exists() else ():
        try:
            infos.append(_info(path))
        except (BackupDamaged, ValueError, OSError) as e:
            infos.append(BackupInfo(path=path, size=path.stat().st_size, header={},
                                    state={"state": "failed", "problems": [str(e)]}))
    return sorted(infos, key=lambda i: (str(i.header.get("created_at", "")), i.path.name), reverse=True)
