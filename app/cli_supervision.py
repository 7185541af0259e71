"""`flask supervision report --month YYYY-MM`: the 电子监察 table, one row per unit (the same as /supervision)."""

from __future__ import annotations

from typing import cast

import click
from flask import current_app
from flask.cli import with_appcontext

from app.errors import Invalid
from app.services import e_supervision
from app.services.platform import Platform


@click.group("supervision")
def supervision_group() -> None:
    """电子监察 commands."""


@supervision_group.command("report")
@click.option("--month", required=True, help="YYYY-MM")
@with_appcontext
def report(month: str) -> None:
    """Print each unit's flag counts for the month, tab-separated, with a header of the flags' words."""
    platform = cast(Platform, current_app.extensions["huiyin"])
    try:
        table = e_supervision.report_all(platform, month)
    except Invalid as e:
        raise click.BadParameter(e.message, param_hint="--month") from e
    click.echo("\t".join(["单位", *table["flags"].values(), "合计"]))
    for row in table["units"]:
        click.echo("\t".join([row["unit"], *(str(row["counts"][c]) for c in table["flags"]), str(row["total"])]))
