"""Administrator commands: db-upgrade, seed-demo, init-admin, audit verify, tokens, deadline, scheduler."""

from __future__ import annotations

import secrets
import sys
from datetime import datetime
from typing import cast

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import make_url, select

from app import migrate
from app.cli_imports import import_sheet
from app.cli_supervision import supervision_group
from app.domain.calendar import CalendarYearMissing
from app.domain.deadlines import due_at
from app.errors import NotFound
from app.models import Unit, User
from app.services import audit, auth, duplicates, incidents, seed
from app.services.actors import Actor
from app.services.calendar import load_calendar, load_rule, office_hours, unit_calendar
from app.services.platform import Platform
from app.services.users import add_user

CLI_ACTOR = Actor(label="cli")
ADMIN_ACTOR = Actor(label="cli", permissions=frozenset({"definition.deploy"}))


def _platform() -> Platform:
    return cast(Platform, current_app.extensions["huiyin"])


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_upgrade)
    app.cli.add_command(seed_demo)
    app.cli.add_command(seed_reference)
    app.cli.add_command(init_admin)
    app.cli.add_command(audit_group)
    app.cli.add_command(tokens_group)
    app.cli.add_command(deadline)
    app.cli.add_command(scheduler)
    app.cli.add_command(incidents_group)
    app.cli.add_command(supervision_group)
    app.cli.add_command(import_sheet)
    app.cli.add_command(dedupe_group)
    from app import cli_backups

    for command in (cli_backups.backup, cli_backups.restore, cli_backups.keys_group):
        app.cli.add_command(command)
    audit_group.add_command(cli_backups.audit_purge)
    from app.cli_channels import channels_group

    app.cli.add_command(channels_group)
    from app.cli_definitions import definitions_group

    app.cli.add_command(definitions_group)


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Bring the database to the newest schema and add the stock deadline rules it lacks."""
    p = _platform()
    url = p.settings.DATABASE_URL
    migrate.upgrade(url)
    click.echo(f"数据库已升级到最新版本:{make_url(url).render_as_string(hide_password=True)}")
    with p.db.unit_of_work() as session:  # stock rules new in this release reach the install
        added = seed.seed_rules(session, p)
        session.commit()
    _echo_rules(added)


def _echo_rules(added: list[str]) -> None:
    if added:
        click.echo(f"新增时限规则 {len(added)} 条:{'、'.join(added)}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo city once and print the demo accounts."""
    p = _platform()
    result = seed.seed_demo(p)
    click.echo("已创建演示数据" if result.created else "演示数据已存在")
    click.echo(f"演示账号(密码均为 DEMO_PASSWORD,当前为 {p.settings.DEMO_PASSWORD}):")
    for staff_no, name, roles in result.accounts:
        click.echo(f"  {staff_no:<12} {name:<6} {roles}")


@click.command("seed-reference")
@with_appcontext
def seed_reference() -> None:
    """Deadline rules, the official calendar, the dictionary and the stock processes (no accounts)."""
    p = _platform()
    with p.db.unit_of_work() as session:
        added = seed.seed_reference_data(session, p)
        session.commit()
    click.echo("参考数据已就绪(时限规则、工作日历、数据字典、标准流程)")
    _echo_rules(added)


ADMIN_ROLES = {"sysadmin": "系统管理员", "secadmin": "安全管理员", "auditor": "审计员"}


@click.command("init-admin")
@click.option("--staff-no", default=None, help="工号 (default: the role's code)")
@click.option("--name", default=None, help="姓名 (default: the role's name)")
@click.option("--role", type=click.Choice(sorted(ADMIN_ROLES)), default="sysadmin", show_default=True,
              help="三权分立: a production install needs one of each; only the 安全管理员 manages users")
@with_appcontext
def init_admin(staff_no: str | None, name: str | None, role: str) -> None:
    """Create a first administrator (系统管理员, 安全管理员 or 审计员) who must change the password at once."""
    p = _platform()
    staff_no, name = staff_no or role, name or ADMIN_ROLES[role]
    password = secrets.token_urlsafe(12) + "a1A!"
    with p.db.unit_of_work() as session:
        seed.seed_reference_data(session, p)
        root = session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
        if root is None:
            root = seed.add_units(session, [("centre", "市12345热线中心", "centre", None)])["centre"]
        if session.scalar(select(User.id).where(User.staff_no == staff_no)) is not None:
            raise click.ClickException(f"工号 {staff_no} 已存在")
        add_user(session, p, staff_no=staff_no, name=name, unit=root, password=password,
                 roles={role}, must_change_password=True)
        audit.record(session, p, CLI_ACTOR, "user.created", detail={"user": staff_no, "roles": [role]})
        session.commit()
    click.echo(f"已创建 {staff_no}({ADMIN_ROLES[role]}),一次性密码:{password}(首次登录须修改)")


@click.group("audit")
def audit_group() -> None:
    """Audit log commands."""


@audit_group.command("verify")
@click.option("--head", help="ID:MAC of a chain head recorded earlier (the scheduler logs it)")
@with_appcontext
def audit_verify(head: str | None) -> None:
    """Check the HMAC chain of the whole audit log; exit 1 on any break."""
    expected = None
    if head:
        row_id, _, mac = head.partition(":")
        if not row_id.isdigit() or len(mac) != 64:
            raise click.BadParameter("格式应为 ID:MAC", param_hint="--head")
        expected = (int(row_id), mac)
    problems = audit.verify_chain(_platform(), expected)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo(f"审计日志校验失败:{len(problems)} 处异常", err=True)
        sys.exit(1)
    click.echo("审计日志完整,校验通过")


@click.group("tokens")
def tokens_group() -> None:
    """API tokens for machine clients."""


@tokens_group.command("create")
@click.option("--name", required=True, help="who uses it, e.g. pbx-1")
@click.option("--scope", required=True, type=click.Choice(["calls"]), help="what it may do")
@with_appcontext
def tokens_create(name: str, scope: str) -> None:
    """Print a new bearer token (stored only hashed: copy it now)."""
    click.echo(auth.create_machine_token(_platform(), CLI_ACTOR, name, scope))


@tokens_group.command("revoke")
@click.option("--name", required=True)
@with_appcontext
def tokens_revoke(name: str) -> None:
    """Revoke every live token with this name."""
    click.echo(f"已吊销 {auth.revoke_token(_platform(), CLI_ACTOR, name)} 个令牌")


@click.command("deadline")
@click.argument("rule_key")
@click.argument("start")
@click.option("--unit", "unit_code", help="the handling unit's code: its region's local holidays count too")
@with_appcontext
def deadline(rule_key: str, start: str, unit_code: str | None) -> None:
    """Print when RULE_KEY counted from START falls due, as the rule table, calendar and office hours say:
    START a date-time (2026-12-03T11:00) gives the due date-time (ISO); a date alone (2026-12-03), a day
    rule's due day (an hour rule's due date-time, counted from 00:00). With --unit, on that unit's calendar."""
    try:
        begin = datetime.fromisoformat(start)
    except ValueError as e:
        raise click.BadParameter("应为日期(2026-12-03)或日期时间(2026-12-03T11:00)", param_hint="START") from e
    with _platform().db.reading() as session:
        try:
            rule = load_rule(session, rule_key)
        except NotFound as e:
            raise click.ClickException(e.message) from e
        calendar, hours = load_calendar(session), office_hours(session)
        if unit_code:
            unit_id = session.scalar(select(Unit.id).where(Unit.code == unit_code))
            if unit_id is None:
                raise click.BadParameter(f"单位不存在:{unit_code}", param_hint="--unit")
            calendar = unit_calendar(session, calendar, unit_id)
    try:
        due = due_at(rule, begin.replace(tzinfo=None), calendar, hours)
    except CalendarYearMissing as e:
        raise click.ClickException(str(e)) from e
    date_only = len(start.strip()) == len("2026-12-03")
    click.echo(due.date().isoformat() if date_only and not rule.in_hours else due.isoformat())


@click.command("scheduler")
@click.option("--seconds", default=60, show_default=True, help="how often the sweeps run")
@click.option("--once", is_flag=True, help="run one pass and exit")
@with_appcontext
def scheduler(seconds: int, once: bool) -> None:
    """Run the scheduler process: BPMN timers, yellow/red warnings, the SMS outbox."""
    from app import jobs

    if once:
        jobs.run_once(_platform(), jobs.worker_name())
        return
    click.echo(f"调度进程已启动,每 {seconds} 秒执行一次")
    jobs.build_scheduler(_platform(), blocking=True, seconds=seconds).start()


@click.group("incidents")
def incidents_group() -> None:
    """Cases whose process failed and wait for an administrator."""


@incidents_group.command("list")
@with_appcontext
def incidents_list() -> None:
    for row in incidents.list_incidents(_platform(), ADMIN_ACTOR):
        click.echo(f"{row['case_id']}\t{row['number']}\t{row['since']}\t{row['incident']}")


@incidents_group.command("retry")
@click.argument("case_id", type=int)
@with_appcontext
def incidents_retry(case_id: int) -> None:
    """Run the case's process again once the cause (e.g. a fixed definition) is dealt with."""
    click.echo(f"当前状态:{incidents.retry(_platform(), ADMIN_ACTOR, case_id)}")


@click.group("dedupe")
def dedupe_group() -> None:
    """判重 index."""


@dedupe_group.command("reindex")
@with_appcontext
def dedupe_reindex() -> None:
    """Index every case for the duplicate search (after an upgrade, or after the place aliases changed)."""
    click.echo(f"已索引 {duplicates.reindex(_platform())} 件诉求")
