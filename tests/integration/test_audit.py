"""The audit log is written with the action it records, cannot be changed in place, and betrays tampering."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from app.errors import Invalid
from app.models import AuditEvent
from app.services.auth import change_password, sign_in
from tests.conftest import DEMO_PASSWORD

FAIL_PASSWORD_AUDIT_PG = """
CREATE FUNCTION test_fail_password_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.action = 'password.changed' THEN RAISE EXCEPTION 'boom'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER test_fail_password_audit BEFORE INSERT ON audit_event
  FOR EACH ROW EXECUTE FUNCTION test_fail_password_audit();
"""
FAIL_PASSWORD_AUDIT_SQLITE = ("CREATE TRIGGER test_fail_password_audit BEFORE INSERT ON audit_event "
                              "WHEN NEW.action = 'password.changed' BEGIN SELECT RAISE(ABORT, 'boom'); END")
RESTORE_GUARD_PG = ("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")


def _is_pg(platform) -> bool:  # type: ignore[no-untyped-def]
    return not platform.db.is_sqlite


def _run_sql(platform, *statements: str) -> None:  # type: ignore[no-untyped-def]
    with platform.db.engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


@pytest.fixture
def audit_insert_fails(demo) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A trigger that makes writing a password.changed audit row fail, as a full disk or a bug would."""
    _run_sql(demo, FAIL_PASSWORD_AUDIT_PG if _is_pg(demo) else FAIL_PASSWORD_AUDIT_SQLITE)
    yield
    if _is_pg(demo):  # the PostgreSQL schema outlives the test
        _run_sql(demo, "DROP TRIGGER test_fail_password_audit ON audit_event",
                 "DROP FUNCTION test_fail_password_audit()")


@pytest.fixture
def unguarded_log(demo) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The append-only guard removed, as an attacker with database access would."""
    if _is_pg(demo):
        _run_sql(demo, "DROP TRIGGER audit_event_no_change ON audit_event")
    else:
        _run_sql(demo, "DROP TRIGGER audit_event_no_update", "DROP TRIGGER audit_event_no_delete")
    yield
    if _is_pg(demo):
        _run_sql(demo, RESTORE_GUARD_PG)


def _sign_in_everyone(platform) -> None:  # type: ignore[no-untyped-def]
    for staff_no in ("agent01", "dispatch01", "cg01", "zj01", "auditor"):
        sign_in(platform, staff_no, DEMO_PASSWORD)


def _audit_ids(platform) -> list[int]:  # type: ignore[no-untyped-def]
    with platform.db.reading() as session:
        return list(session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def _verify(app):  # type: ignore[no-untyped-def]
    """`flask audit verify` against this app."""
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_a_password_change_whose_audit_row_cannot_be_written_does_not_happen(demo, audit_insert_fails):
    _, actor = sign_in(demo, "cg01", DEMO_PASSWORD)

    with pytest.raises(DBAPIError, match="boom"):
        change_password(demo, actor, DEMO_PASSWORD, "Another&Pass9")

    sign_in(demo, "cg01", DEMO_PASSWORD)
    with pytest.raises(Invalid):
        sign_in(demo, "cg01", "Another&Pass9")


def test_the_database_refuses_to_change_or_delete_an_audit_row(demo):
    before = _audit_ids(demo)

    with pytest.raises(DBAPIError, match="append-only"):
        _run_sql(demo, "UPDATE audit_event SET actor = 'nobody'")
    with pytest.raises(DBAPIError, match="append-only"):
        _run_sql(demo, "DELETE FROM audit_event")

    assert before and _audit_ids(demo) == before
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.actor == "nobody")) == 0


def test_audit_verify_passes_on_an_untouched_log(app, demo):
    _sign_in_everyone(demo)

    result = _verify(app)

    assert result.exit_code == 0
    assert "审计日志完整" in result.output


def test_audit_verify_names_a_row_whose_content_was_changed(app, demo, unguarded_log):
    _sign_in_everyone(demo)
    target = _audit_ids(demo)[3]
    _run_sql(demo, f"UPDATE audit_event SET detail = '{{\"note\": \"edited\"}}' WHERE id = {target}")

    result = _verify(app)

    assert result.exit_code == 1
    assert f"#{target}: 内容与校验码不符" in result.output
    assert "1 处异常" in result.output


def test_audit_verify_names_the_row_after_one_that_was_deleted(app, demo, unguarded_log):
    _sign_in_everyone(demo)
    ids = _audit_ids(demo)
    _run_sql(demo, f"DELETE FROM audit_event WHERE id = {ids[2]}")

    result = _verify(app)

    assert result.exit_code == 1
    assert f"#{ids[3]}: 与前一条记录的链接断开" in result.output
    assert "1 处异常" in result.output


def test_a_deleted_tail_is_caught_against_a_head_recorded_earlier(app, demo, unguarded_log):
    from app.services.audit import chain_head

    _sign_in_everyone(demo)
    head_id, head_mac = chain_head(demo)
    assert app.test_cli_runner().invoke(args=["audit", "verify", "--head", f"{head_id}:{head_mac}"]).exit_code == 0
    _run_sql(demo, f"DELETE FROM audit_event WHERE id >= {head_id - 1}")  # the newest rows, chain still whole

    assert _verify(app).exit_code == 0, "without an outside witness a deleted tail cannot be seen"
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--head", f"{head_id}:{head_mac}"])
    assert result.exit_code == 1 and f"#{head_id}: 已记录的链头不在" in result.output


def test_the_chain_stays_whole_when_many_people_sign_in_at_once(app, demo):
    staff = ["agent01", "dispatch01", "leader01", "cg01", "cgleader01", "zj01"] * 5

    def attempt(i_and_staff_no: tuple[int, str]) -> None:
        i, staff_no = i_and_staff_no
        with contextlib.suppress(Invalid):
            sign_in(demo, staff_no, DEMO_PASSWORD if i % 4 else "Wrong@2026x")  # never 5 in a row

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, enumerate(staff)))

    with demo.db.reading() as session:
        actions = list(session.scalars(select(AuditEvent.action)))
    assert actions.count("login.ok") == 22
    assert actions.count("login.failed") == 8
    result = _verify(app)
    assert result.exit_code == 0, result.output



def test_a_sign_in_in_progress_does_not_hold_up_an_audit_row_of_the_same_user(demo):
    """The deadlock the load run met: a sign-in holds its user's row and then waits for the audit chain's lock,
    while a step of the same user holds that lock and inserts its audit row (whose actor_id needs the row)."""
    if not _is_pg(demo):
        pytest.skip("SQLite has no row locks: its writers take turns")
    from sqlalchemy import text

    from app.services.audit import record
    from app.services.auth import _check_credentials

    with demo.db.unit_of_work() as signing_in:
        user = _check_credentials(signing_in, demo, "dispatch01", DEMO_PASSWORD, "127.0.0.1")  # the row is locked
        with demo.db.unit_of_work() as step:
            step.execute(text("SET LOCAL lock_timeout = '3s'"))  # with FOR UPDATE this insert waits, then fails
            record(step, demo, _actor_of(demo, user.id), "task.conflict", detail={"reason": "test"})
            step.commit()
        signing_in.commit()
    with demo.db.reading() as session:
        assert "task.conflict" in session.scalars(select(AuditEvent.action)).all()


def _actor_of(platform, user_id: int):  # type: ignore[no-untyped-def]
    from app.models import User
    from app.services.auth import actor_for

    with platform.db.reading() as session:
        return actor_for(session.get_one(User, user_id))
