"""Migration 0011_channel_keys on a running install: the 系统管理员 gets channel.manage and the dictionary the
channel `open311`, so `flask channels create --channel open311` works without a re-seed."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, select, text

from app.migrate import alembic_config, upgrade
from app.models import DictionaryEntry, role_permission
from tests.integration.test_migrations import empty_db_url  # noqa: F401 — the fixture, both databases


def test_an_install_with_channels_gets_the_open311_channel_and_the_permission(empty_db_url):  # noqa: F811
    command.upgrade(alembic_config(empty_db_url), "0010_case_location")
    engine = create_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO dictionary_entry (kind, code, label, sort, active) "
                          "VALUES ('channel', 'phone', '电话', 0, :yes)"), {"yes": True})
    upgrade(empty_db_url)
    upgrade(empty_db_url)  # twice: nothing added twice
    with engine.connect() as conn:
        channels = conn.execute(select(DictionaryEntry.code, DictionaryEntry.label)
                                .where(DictionaryEntry.kind == "channel")).all()
        links = set(conn.execute(select(role_permission.c.role_code)
                                 .where(role_permission.c.permission_code == "channel.manage")).scalars())
    engine.dispose()

    assert sorted(channels) == [("open311", "Open311"), ("phone", "电话")]
    assert links == {"sysadmin"}
