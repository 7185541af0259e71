"""Moving running cases between definition versions from the console: definitions migrations KEY --to N
(the groups), definitions migrate KEY --to N CASE_ID… and definitions undo-migration ID (the same
service functions as /api/v1/definitions/…/migrations, audited as `cli`)."""

from __future__ import annotations

from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext

from app.errors import HuiyinError
from app.services import case_migrations
from app.services.actors import Actor
from app.services.platform import Platform

# The operator at the server's console acts as the 系统管理员 for definitions (as `incidents retry` does).
CLI_ACTOR = Actor(label="cli", permissions=frozenset({"definition.deploy"}))


def _platform() -> Platform:
    return cast(Platform, current_app.extensions["huiyin"])


@click.group("definitions")
def definitions_group() -> None:
    """Running cases and the versions of their definitions."""


@definitions_group.command("migrations")
@click.argument("key")
@click.option("--to", "to_version", type=int, required=True, help="the version to move to")
@with_appcontext
def migrations(key: str, to_version: int) -> None:
    """Print the running cases on earlier versions, grouped by where they stand, and whether they can move."""
    try:
        found = case_migrations.migration_groups(_platform(), CLI_ACTOR, key, to_version)
    except HuiyinError as e:
        raise click.ClickException(e.message) from e
    for group in found["groups"]:
        verdict = "可迁移" if group["can_migrate"] else f"不可迁移:{group['reason']}"
        click.echo(f"v{group['from_version']}\t{'、'.join(group['titles'])}\t{verdict}\t"
                   f"{','.join(str(i) for i in group['case_ids'])}")


@definitions_group.command("migrate")
@click.argument("key")
@click.argument("case_ids", type=int, nargs=-1, required=True)
@click.option("--to", "to_version", type=int, required=True, help="the version to move to")
@with_appcontext
def migrate(key: str, case_ids: tuple[int, ...], to_version: int) -> None:
    """Move the cases to the version, each in its own transaction; print each outcome."""
    try:
        moved = case_migrations.migrate_cases(_platform(), CLI_ACTOR, key, to_version, list(case_ids))
    except HuiyinError as e:
        raise click.ClickException(e.message) from e
    for item in moved["items"]:
        outcome = f"已迁移(迁移记录 {item['migration_id']})" if item["migrated"] else f"未迁移:{item['reason']}"
        click.echo(f"{item['case_id']}\t{outcome}")


@definitions_group.command("undo-migration")
@click.argument("migration_id", type=int)
@with_appcontext
def undo_migration(migration_id: int) -> None:
    """Put a migrated case back on its earlier version and state (while nothing happened since)."""
    try:
        undone = case_migrations.undo_migration(_platform(), CLI_ACTOR, migration_id)
    except HuiyinError as e:
        raise click.ClickException(e.message) from e
    click.echo(f"诉求件 {undone['case_id']} 已回到第 {undone['version']} 版")
