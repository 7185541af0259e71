"""Commands for backups, key rotation and retention: backup, restore, keys rotate/rewrap/status, audit purge."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext

from app.crypto import key_id, rotate_stored_data_key
from app.domain.retention import audit_purge_refusal
from app.services import audit, backups, keys
from app.services.actors import Actor
from app.services.platform import Platform

CLI_ACTOR = Actor(label="cli")


def _platform() -> Platform:
    return cast(Platform, current_app.extensions["huiyin"])


@click.command("backup")
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path),
              help="folder for the backup file (default: BACKUP_DIR, else instance/backups)")
@with_appcontext
def backup(to: Path | None) -> None:
    """Write a consistent, encrypted backup of the database and print its path."""
    try:
        info = backups.make_backup(_platform(), CLI_ACTOR, to)
    except (backups.BackupRefused, backups.BackupDamaged) as e:
        raise click.ClickException(str(e)) from e
    tables = info.header["manifest"]["tables"]
    click.echo(f"备份完成:{info.path}({info.size} 字节,{len(tables)} 张表 {sum(tables.values())} 行,"
               f"数据密钥 {info.header['key_id']},文件已校验)")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "into", required=True, help="DATABASE_URL of an EMPTY database to restore into")
@with_appcontext
def restore(file: Path, into: str) -> None:
    """Restore FILE into an empty database and verify it; exit 0 only when it verified."""
    try:
        report = backups.restore_backup(_platform(), CLI_ACTOR, file, into)
    except (backups.BackupRefused, backups.BackupDamaged) as e:
        click.echo(f"恢复被拒绝:{e}", err=True)
        sys.exit(2)
    if not report.verified:
        for problem in report.problems:
            click.echo(problem, err=True)
        click.echo(f"恢复后校验未通过:{len(report.problems)} 处问题", err=True)
        sys.exit(1)
    click.echo(f"恢复完成并校验通过:{len(report.counts)} 张表 {sum(report.counts.values())} 行与备份清单一致,"
               "审计日志链完整,个人信息抽样可解密")


@click.group("keys")
def keys_group() -> None:
    """Data-key rotation."""


@keys_group.command("rotate")
@click.option("--rewrap", is_flag=True, help="then re-encrypt every stored field under the new key")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_rotate(rewrap: bool, batch_size: int) -> None:
    """Make a new DATA_KEY (instance/keys.json); the old one stays readable as retired."""
    p = _platform()
    if p.settings.DATA_KEY:
        raise click.ClickException(
            "DATA_KEY 来自环境变量,无法在此轮换:请生成新密钥设为 DATA_KEY,把旧密钥加入 DATA_KEYS_RETIRED"
            "(逗号分隔),重启全部进程后运行 flask keys rewrap")
    old, new = rotate_stored_data_key(p.settings.INSTANCE_PATH)
    click.echo(f"数据密钥已轮换:{old} → {new}(旧密钥仍可解密;请重启应用与调度进程)")
    with p.db.unit_of_work() as session:
        audit.record(session, p, CLI_ACTOR, "keys.rotated", detail={"from": old, "to": new})
        session.commit()
    if rewrap:
        from app.crypto import load_keys

        names = ("SECRET_KEY", "DATA_KEY", "SEARCH_KEY", "AUDIT_KEY", "DATA_KEYS_RETIRED")
        fresh = load_keys({n: getattr(p.settings, n) for n in names}, p.settings.INSTANCE_PATH)
        _rewrap(Platform(db=p.db, settings=p.settings, keys=fresh, clock=p.clock), batch_size)


@keys_group.command("rewrap")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def keys_rewrap(batch_size: int) -> None:
    """Re-encrypt every field not under the current DATA_KEY, committing per batch (run again to resume)."""
    _rewrap(_platform(), batch_size)


def _rewrap(p: Platform, batch_size: int) -> None:
    done = keys.rewrap(p, CLI_ACTOR, batch_size=batch_size)
    click.echo(f"已用数据密钥 {p.cipher.key_id} 重新加密 {done.fields} 个字段({done.rows} 行,{done.batches} 批)")


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """The data keys this install holds and how many stored fields each encrypts."""
    p = _platform()
    counts = keys.ciphertexts_by_key(p)
    for i, key in enumerate(p.keys.data_keys.values()):
        click.echo(f"{key_id(key)}\t{'当前' if i == 0 else '已退役'}\t{counts.pop(key_id(key), 0)}")
    for other, n in counts.items():
        click.echo(f"{other}\t{'未标记密钥' if other == keys.LEGACY else '未知密钥'}\t{n}")


@click.command("purge")
@click.option("--before", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@with_appcontext
def audit_purge(before: datetime) -> None:
    """Refused, always: audit records are kept at least 180 days and the log is append-only (docs say why)."""
    p = _platform()
    reason = audit_purge_refusal(before.date(), p.clock.now().date())
    with p.db.unit_of_work() as session:
        audit.record(session, p, CLI_ACTOR, "audit.purge_refused", detail={"before": before.date().isoformat()})
        session.commit()
    click.echo(reason, err=True)
    sys.exit(1)
