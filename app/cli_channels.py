"""Channel keys for integrations: channels create (prints the new key, once), list, revoke."""

from __future__ import annotations

from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext

from app.errors import Invalid, NotFound
from app.services import channels
from app.services.actors import Actor
from app.services.platform import Platform

# The operator at the server's console acts as the 系统管理员 for channel keys (as `tokens create` does).
CLI_ACTOR = Actor(label="cli", permissions=frozenset({"channel.manage"}))


def _platform() -> Platform:
    return cast(Platform, current_app.extensions["huiyin"])


@click.group("channels")
def channels_group() -> None:
    """Channel keys for integrations (WeChat, app, 市长信箱, website, Open311)."""


@channels_group.command("create")
@click.option("--name", required=True, help="the integration's name, e.g. wechat-mini")
@click.option("--channel", required=True, help="a `channel` dictionary code: wechat, app, mailbox, web, open311 …")
@with_appcontext
def channels_create(name: str, channel: str) -> None:
    """Print a new key for one integration (shown only now; stored hashed)."""
    try:
        key = channels.create_key(_platform(), CLI_ACTOR, name, channel)
    except Invalid as e:
        raise click.ClickException(e.message) from e
    click.echo(key)


@channels_group.command("list")
@with_appcontext
def channels_list() -> None:
    """Every key: name, channel, prefix, state, last use, cases submitted."""
    for k in channels.list_keys(_platform(), CLI_ACTOR):
        state = "有效" if k["active"] else f"已吊销 {k['revoked_at'][:16]}"
        click.echo(f"{k['name']}\t{k['channel']}\t{k['prefix']}…\t{state}\t"
                   f"最近使用 {(k['last_used_at'] or '从未')[:16]}\t{k['submissions']} 件")


@channels_group.command("revoke")
@click.option("--name", required=True)
@with_appcontext
def channels_revoke(name: str) -> None:
    """Revoke a key: its next request is refused."""
    try:
        channels.revoke_key(_platform(), CLI_ACTOR, name)
    except (Invalid, NotFound) as e:
        raise click.ClickException(e.message) from e
    click.echo(f"已吊销渠道密钥 {name}")
