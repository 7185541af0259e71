"""`flask import-sheet KIND FILE --as STAFF_NO`: a city's first load from the shell, by the same services as
the pages, for files larger than a web request should take (each account's one-time password is hashed at
the configured argon2 cost: 2,000 accounts take minutes, see docs/bench.md). Audited as the named administrator."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.errors import HuiyinError
from app.models import User
from app.services import dictionary_admin, units, users
from app.services.auth import actor_for
from app.services.platform import Platform


@click.command("import-sheet")
@click.argument("kind", type=click.Choice(["dictionary", "units", "users"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "staff_no", required=True,
              help="工号 of the 系统管理员 (dictionary, units) or 安全管理员 (users)")
@click.option("--passwords", "passwords_to", type=click.Path(dir_okay=False, path_type=Path),
              help="users: write 工号,一次性密码 here (mode 600) instead of printing them")
@with_appcontext
def import_sheet(kind: str, file: Path, staff_no: str, passwords_to: Path | None) -> None:
    """Import a CSV or XLSX file; exit 1 with every fault named by row when it is refused (nothing written)."""
    platform = cast(Platform, current_app.extensions["huiyin"])
    with platform.db.reading() as session:
        user = session.scalar(select(User).where(User.staff_no == staff_no, User.active))
        if user is None:
            raise click.ClickException(f"没有在用的账号 {staff_no}")
        actor = actor_for(user)
    data = file.read_bytes()
    try:
        if kind == "dictionary":
            done = dictionary_admin.import_catalogue(platform, actor, data, file.name)
        elif kind == "units":
            done = units.import_units(platform, actor, data, file.name)
        else:
            made = users.import_users(platform, actor, data, file.name)
            lines = "".join(f"{s},{p}\n" for s, p in made.issued.items())
            if passwords_to is not None:
                passwords_to.touch(mode=0o600)
                passwords_to.chmod(0o600)  # an existing file too: these are passwords
                passwords_to.write_text("工号,一次性密码\n" + lines, encoding="utf-8")
            else:
                click.echo(lines, nl=False)
            done = {"rows": made.rows, "added": len(made.issued), "changed": made.changed,
                    "unchanged": made.unchanged}
    except HuiyinError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"共 {done['rows']} 行:新增 {done['added']},修改 {done['changed']},未变 {done['unchanged']}", err=True)
