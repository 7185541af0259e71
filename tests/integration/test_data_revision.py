"""The calendar, the dictionary, the deadline rules and the deployed definitions are kept in each process while
they are unchanged (app/db.py `kept`): an edit made anywhere — another host, a DBA's psql, this very
transaction — is read at once, and an edit rolled back leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select, text, update

from app.db import Database
from app.models import DeadlineRule, DictionaryEntry, User
from app.services import auth, dictionary
from app.services.auth import actor_for
from app.services.calendar import load_calendar, load_rule
from app.services.platform import Platform
from app.services.versions import latest_definition

A_WORKDAY = date(2026, 12, 9)  # a Wednesday of a confirmed year


@pytest.fixture
def other_host(demo: Platform) -> Iterator[Platform]:
    """The same database through another engine and pool, as a second app process has."""
    other = Platform(db=Database(demo.settings.DATABASE_URL), settings=demo.settings, keys=demo.keys,
                     clock=demo.clock)
    yield other
    other.db.dispose()


def status_words(p: Platform) -> str:
    with p.db.reading() as session:
        return dictionary.status_label(session, "registered")


def working(p: Platform, day: date) -> bool:
    with p.db.reading() as session:
        return load_calendar(session).is_working_day(day)


def test_a_word_renamed_on_another_host_or_in_psql_shows_at_once(demo, other_host):
    before = status_words(demo)
    with other_host.db.reading() as session:
        admin = actor_for(session.scalars(select(User).where(User.staff_no == "sysadmin")).one())
    dictionary.rename(other_host, admin, "case_status", "registered", "已登记(改)")
    assert status_words(demo) == "已登记(改)" != before

    with other_host.db.engine.begin() as conn:  # no application at all: a DBA's statement
        conn.execute(text("UPDATE dictionary_entry SET label = '登记完毕' WHERE kind = 'case_status' "
                          "AND code = 'registered'"))
    assert status_words(demo) == "登记完毕"


def test_a_holiday_added_by_hand_counts_at_once_and_one_rolled_back_never_does(demo, other_host):
    assert working(demo, A_WORKDAY)
    with other_host.db.unit_of_work() as session:  # added, then rolled back
        session.execute(text("INSERT INTO calendar_day (day, is_workday, note) VALUES (:d, false, '临时')"),
                        {"d": A_WORKDAY})
        assert not load_calendar(session).is_working_day(A_WORKDAY)  # this transaction reads its own write
    assert working(demo, A_WORKDAY)

    with other_host.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO calendar_day (day, is_workday, note) VALUES (:d, false, '临时')"),
                     {"d": A_WORKDAY})
    assert not working(demo, A_WORKDAY)
    assert working(other_host, A_WORKDAY) is False


def test_a_rule_or_a_word_changed_in_a_transaction_is_read_back_in_it(demo):
    with demo.db.unit_of_work() as session:
        assert load_rule(session, "hotline.return").amount > 0
        session.add(DeadlineRule(key="bench.fast", name="快速", amount=2, unit="working_day"))
        session.flush()
        assert load_rule(session, "bench.fast").amount == 2
        session.execute(update(DictionaryEntry).where(DictionaryEntry.kind == "case_status",
                                                      DictionaryEntry.code == "registered").values(label="新词"))
        assert dictionary.status_label(session, "registered") == "新词"
        session.rollback()
    assert status_words(demo) != "新词"
    with demo.db.reading() as session, pytest.raises(Exception, match="时限规则不存在"):
        load_rule(session, "bench.fast")


def test_a_version_deployed_elsewhere_is_the_one_the_next_case_starts(demo, other_host):
    with demo.db.reading() as session:
        first = latest_definition(session, "hotline_order")
    with other_host.db.engine.begin() as conn:  # as a deploy on another host stores it
        conn.execute(text("INSERT INTO process_definition (key, version, name, bpmn_xml, spec_json, checksum, "
                          "forms_json, deployed_at, deployed_by_id) SELECT key, version + 1, name, bpmn_xml, "
                          "spec_json, 'new-checksum', forms_json, deployed_at, deployed_by_id "
                          "FROM process_definition WHERE id = :id"), {"id": first.id})
    with demo.db.reading() as session:
        newer = latest_definition(session, "hotline_order")
    assert (newer.version, newer.checksum) == (first.version + 1, "new-checksum")


def test_a_user_retired_or_stripped_of_a_role_elsewhere_acts_on_their_next_request(demo, other_host):
    token, actor = auth.sign_in(demo, "cgleader01", auth.DOCUMENTED_DEMO_PASSWORD)
    assert auth.load_session(demo, token) == actor and actor.can("case.supervise")
    with other_host.db.engine.begin() as conn:  # psql: the leader role taken away
        conn.execute(text("DELETE FROM user_role WHERE user_id = :u AND role_code = 'leader'"), {"u": actor.user_id})
    stripped = auth.load_session(demo, token)
    assert stripped is not None and not stripped.can("case.supervise")
    with other_host.db.engine.begin() as conn:
        conn.execute(text("UPDATE user_account SET active = false WHERE id = :u"), {"u": actor.user_id})
    assert auth.load_session(demo, token) is None
