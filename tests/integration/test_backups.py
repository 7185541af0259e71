"""Backups and the restore drill on both databases: an encrypted backup restores into an empty database with the
same counts, a verified audit chain and readable personal data — also after a key rotation; a non-empty target
and a tampered file are refused; audit purges are refused; the scheduler backs up on the set days."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, select, text

from app import create_app
from app.crypto import Keys, key_id
from app.db import Database
from app.models import Case, Requester, Setting, Unit
from app.services import audit, backups, keys
from app.services.actors import SYSTEM
from app.services.backup_db import table_count
from app.services.cases import RequesterInput, new_case_identity, new_requester
from app.services.platform import Platform
from tests.conftest import FAST_HASH, TEST_KEYS

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
NEW_KEY = base64.urlsafe_b64encode(bytes([9]) * 32).decode()


@pytest.fixture
def empty_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind: a new SQLite file, or a new database on the test server."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'huiyin.db'}"
        return
    base = make_url(db_url)
    name = f"restore_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.difference_update_query(["options"]), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.difference_update_query(["options"]).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _register_case(platform: Platform, phone: str = PHONE) -> int:
    """A case from a requester who gave a phone and an ID number, audited as intake does."""
    with platform.db.unit_of_work() as session:
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        requester = new_requester(session, platform, RequesterInput(name="孙先生", phone=phone, id_number=ID_NUMBER,
                                                                    address="东城区和平里七区"))
        number, query_code = new_case_identity(session, platform)
        case = Case(number=number, query_code=query_code, kind="complaint", channel="phone", subject="夜间施工噪声",
                    content="工地每晚施工到凌晨。", requester=requester, status="handling",
                    registering_unit_id=units["centre"], lead_unit_id=units["cgj"], created_at=platform.clock.now())
        session.add(case)
        session.flush()
        audit.record(session, platform, SYSTEM, "case.registered", case_id=case.id)
        session.commit()
        return case.id


def _with_keys(platform: Platform, keys_: Keys, url: str | None = None) -> Platform:
    return Platform(db=Database(url) if url else platform.db, settings=platform.settings, keys=keys_,
                    clock=platform.clock)


def _rotated(platform: Platform) -> Keys:
    new = base64.urlsafe_b64decode(NEW_KEY)
    return dataclasses.replace(platform.keys, data_key=new, retired_data_keys=(platform.keys.data_key,))


def _phones(platform: Platform) -> list[str | None]:
    with platform.db.reading() as session:
        return [platform.cipher.decrypt(r.phone_enc, "requester.phone")
                for r in session.scalars(select(Requester).order_by(Requester.id))]


def _counts(url: str) -> dict[str, int]:
    db = Database(url)
    with db.engine.connect() as conn:
        from app.services.backup_db import manifest_of

        tables = manifest_of(conn)["tables"]
    db.dispose()
    return tables


def test_a_backup_restores_into_an_empty_database_with_its_counts_chain_and_personal_data(app, demo, empty_url,
                                                                                        tmp_path):
    _register_case(demo)
    runner = app.test_cli_runner()

    made = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    file = next((tmp_path / "backups").glob("huiyin-*.hybk"))
    assert PHONE.encode() not in file.read_bytes() and "孙先生".encode() not in file.read_bytes()
    restored = runner.invoke(args=["restore", str(file), "--into", empty_url])

    assert restored.exit_code == 0, restored.output
    assert "校验通过" in restored.output
    manifest = backups.backup_file.read_header(file)["manifest"]
    target_url = backups.backup_db.with_schema(empty_url, manifest["schema"])
    assert _counts(target_url) == manifest["tables"] and manifest["tables"]["case"] == 1
    target = _with_keys(demo, demo.keys, target_url)
    assert audit.verify_chain(target) == []
    assert _phones(target) == [PHONE]
    target.db.dispose()


def test_after_a_key_rotation_old_and_new_rows_read_rewrap_moves_them_and_the_backup_restores(demo, empty_url,
                                                                                              tmp_path):
    _register_case(demo, "13800000001")
    rotated = _with_keys(demo, _rotated(demo))
    _register_case(rotated, "13800000002")
    assert _phones(rotated) == ["13800000001", "13800000002"]
    new_id = key_id(rotated.keys.data_key)

    keys.rewrap(rotated, SYSTEM, batch_size=1)
    assert set(keys.ciphertexts_by_key(rotated)) == {new_id}
    only_new = _with_keys(demo, dataclasses.replace(rotated.keys, retired_data_keys=()))
    info = backups.make_backup(only_new, SYSTEM, tmp_path / "backups")
    report = backups.restore_backup(only_new, SYSTEM, info.path, empty_url)

    assert info.header["key_id"] == new_id
    assert report.verified, report.problems
    schema = info.header["manifest"]["schema"]
    target = _with_keys(demo, only_new.keys, backups.backup_db.with_schema(empty_url, schema))
    assert _phones(target) == ["13800000001", "13800000002"]
    target.db.dispose()


def test_a_backup_made_before_a_rotation_restores_under_the_retired_key(demo, empty_url, tmp_path):
    _register_case(demo)
    info = backups.make_backup(demo, SYSTEM, tmp_path / "backups")

    report = backups.restore_backup(_with_keys(demo, _rotated(demo)), SYSTEM, info.path, empty_url)

    assert report.verified, report.problems
    assert info.header["key_id"] == key_id(demo.keys.data_key)


def test_a_restore_into_a_database_that_is_not_empty_is_refused(app, demo, db_url, tmp_path):
    _register_case(demo)
    runner = app.test_cli_runner()
    runner.invoke(args=["backup", "--to", str(tmp_path)])
    file = next(tmp_path.glob("huiyin-*.hybk"))

    refused = runner.invoke(args=["restore", str(file), "--into", db_url])

    assert refused.exit_code != 0
    assert "不是空库" in refused.output
    with demo.db.reading() as session:
        assert len(session.scalars(select(Case)).all()) == 1


def test_a_tampered_backup_is_refused_and_the_target_stays_empty(app, demo, empty_url, tmp_path):
    _register_case(demo)
    runner = app.test_cli_runner()
    runner.invoke(args=["backup", "--to", str(tmp_path)])
    file = next(tmp_path.glob("huiyin-*.hybk"))
    raw = bytearray(file.read_bytes())
    raw[-40] ^= 0x01  # one bit inside the last chunk's ciphertext
    file.write_bytes(bytes(raw))

    refused = runner.invoke(args=["restore", str(file), "--into", empty_url])

    assert refused.exit_code != 0
    assert "校验失败" in refused.output
    assert table_count(empty_url) == 0


def test_a_cut_off_backup_is_refused(demo, empty_url, tmp_path):
    info = backups.make_backup(demo, SYSTEM, tmp_path)
    info.path.write_bytes(info.path.read_bytes()[:-100])

    with pytest.raises(backups.BackupDamaged):
        backups.restore_backup(demo, SYSTEM, info.path, empty_url)
    assert table_count(empty_url) == 0


def test_keys_rotate_with_rewrap_moves_every_field_to_a_new_key_kept_in_the_instance(demo, db_url, tmp_path, clock):
    config = {"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True, **FAST_HASH,
              **{k: v for k, v in TEST_KEYS.items() if k != "DATA_KEY"}}
    first = create_app(config, clock=clock)
    _register_case(first.extensions["huiyin"])
    before = first.extensions["huiyin"].cipher.key_id

    rotated = first.test_cli_runner().invoke(args=["keys", "rotate", "--rewrap", "--batch-size", "1"])
    first.extensions["huiyin"].db.dispose()
    second = create_app(config, clock=clock)
    p = second.extensions["huiyin"]

    assert rotated.exit_code == 0, rotated.output
    assert p.cipher.key_id != before and before in p.keys.data_keys
    assert set(keys.ciphertexts_by_key(p)) == {p.cipher.key_id}
    assert _phones(_with_keys(p, dataclasses.replace(p.keys, retired_data_keys=()))) == [PHONE]
    status = second.test_cli_runner().invoke(args=["keys", "status"]).output.splitlines()
    assert status[0].split("\t") == [p.cipher.key_id, "当前", "3"]  # phone, ID number, address
    assert status[1].split("\t") == [before, "已退役", "0"]
    p.db.dispose()


def test_keys_rotate_refuses_a_data_key_that_comes_from_the_environment(app):
    refused = app.test_cli_runner().invoke(args=["keys", "rotate"])

    assert refused.exit_code != 0 and "DATA_KEYS_RETIRED" in refused.output


@pytest.mark.parametrize("before", ["2020-01-01", "2026-11-01"])
def test_every_audit_purge_is_refused_and_the_refusal_is_audited(app, demo, before):
    refused = app.test_cli_runner().invoke(args=["audit", "purge", "--before", before])

    assert refused.exit_code == 1
    assert ("180 天" in refused.output) == (before == "2026-11-01")
    with demo.db.reading() as session:
        from app.models import AuditEvent

        assert session.scalars(select(AuditEvent.action).order_by(AuditEvent.id.desc())).first() == \
            "audit.purge_refused"


def test_the_scheduler_backs_up_on_the_set_days_once_and_keeps_the_newest(demo, clock, tmp_path):
    with demo.db.unit_of_work() as session:
        session.add(Setting(key="backup.keep", value={"value": 2}, updated_at=clock.now()))
        session.commit()
    clock.at = datetime(2026, 11, 25, 3, 0)  # a Wednesday: no backup
    assert backups.run_scheduled(demo, SYSTEM) is None
    made = []
    for day in (26, 30):  # Thursday, Monday
        clock.at = datetime(2026, 11, day, 1, 0)
        assert backups.run_scheduled(demo, SYSTEM) is None  # before the hour
        clock.at = datetime(2026, 11, day, 3, 0)
        made.append(backups.run_scheduled(demo, SYSTEM))
        assert backups.run_scheduled(demo, SYSTEM) is None  # once a day
    clock.at = datetime(2026, 12, 3, 2, 30)
    made.append(backups.run_scheduled(demo, SYSTEM))

    assert all(made)
    names = sorted(p.name for p in backups.backup_dir(demo).glob("*.hybk"))
    assert names == sorted(m.path.name for m in made[1:])  # kept: the newest two


def test_the_backups_page_lists_each_backup_with_size_and_state_for_the_system_administrator_only(
        client, auth, demo, empty_url):
    info = backups.make_backup(demo, SYSTEM)
    backups.restore_backup(demo, SYSTEM, info.path, empty_url)
    assert client.get("/admin/backups").status_code == 302  # signed out
    auth.login("cg01")
    assert client.get("/admin/backups").status_code == 403
    auth.logout()

    auth.login("sysadmin")
    page = client.get("/admin/backups").get_data(as_text=True)

    assert info.path.name in page and f"{info.path.stat().st_size:,} 字节" in page
    assert "已通过恢复演练" in page and "每周一、周四" in page


def test_a_restore_into_an_unreachable_or_other_kind_of_database_is_refused_in_words(app, demo, tmp_path):
    runner = app.test_cli_runner()
    runner.invoke(args=["backup", "--to", str(tmp_path)])
    file = next(tmp_path.glob("huiyin-*.hybk"))

    refused = runner.invoke(args=["restore", str(file), "--into", "postgresql://nobody@127.0.0.1:1/none"])

    assert refused.exit_code == 2
    assert "无法连接目标数据库" in refused.output or "不能恢复到 postgresql" in refused.output


def test_the_scheduler_pass_backs_up_on_backup_days_and_a_changed_schedule_acts_on_its_next_pass(
        client, auth, demo, clock):
    """Through `app.jobs.run_once` (what `flask scheduler` runs every minute), two scheduler processes: the
    default Monday and Thursday, one backup a day; the 系统管理员 moves it to Tuesday on the settings page."""
    from app import jobs
    from tests.conftest import csrf_token_of

    def files() -> list[str]:
        return sorted(p.name for p in backups.backup_dir(demo).glob("huiyin-*.hybk"))

    clock.at = datetime(2026, 11, 24, 3, 0)  # a Tuesday
    jobs.run_once(demo, "scheduler-a")
    assert files() == []
    clock.at = datetime(2026, 11, 26, 3, 0)  # a Thursday
    jobs.run_once(demo, "scheduler-a")
    jobs.run_once(demo, "scheduler-b")
    assert len(files()) == 1

    auth.login("sysadmin")
    token = csrf_token_of(client.get("/admin/settings").get_data(as_text=True))
    assert client.post("/admin/settings/backup.weekdays", data={"value": "[2]", "csrf_token": token}).status_code == 302
    clock.at = datetime(2026, 11, 30, 3, 0)  # Monday: no longer a backup day
    jobs.run_once(demo, "scheduler-a")
    assert len(files()) == 1
    clock.at = datetime(2026, 12, 1, 3, 0)  # Tuesday
    jobs.run_once(demo, "scheduler-b")
    assert len(files()) == 2
    auth.login("sysadmin")  # days later: the first sign-in has expired
    page = client.get("/admin/backups").get_data(as_text=True)
    assert "每周二" in page and all(name in page for name in files()) and page.count("文件已校验") == 2
