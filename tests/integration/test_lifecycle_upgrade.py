"""An install from before status codes, upgraded: stored words become codes (migration 0004_status_codes), a
case still running on a definition deployed with words reports codes, and 三级终结 still refuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from test_migrations import empty_db_url  # noqa: F401  (a fixture)

from app import engine
from app.clock import FrozenClock
from app.crypto import load_keys
from app.db import Database
from app.domain.statuses import LEGACY_CODES, REDIRECTED, STOCK_LABELS, TRANSFERRED
from app.errors import Invalid
from app.migrate import alembic_config, upgrade
from app.models import Case, DeadlineRule, DictionaryEntry, HumanTask, User
from app.services import definitions, intake, tasks
from app.services.actors import SYSTEM
from app.services.auth import actor_for
from app.services.cases import RequesterInput
from app.services.platform import Platform
from app.services.seed import seed_demo
from app.settings import Settings
from tests.conftest import FAST_HASH, START, TEST_KEYS

ROOT = Path(__file__).resolve().parents[2]
PETITIONER = RequesterInput(name="王五", phone="13700137000", id_number="11010519491231002X")


@pytest.fixture
def old_install(empty_db_url: str, tmp_path: Path) -> Iterator[Platform]:  # noqa: F811
    """The demo city seeded at head; tests take it back to just before 0004_status_codes with `downgrade_to_words`
    (the code of today cannot write to yesterday's schema, so the old install is made by the migrations)."""
    upgrade(empty_db_url)
    config = {"DATABASE_URL": empty_db_url, "INSTANCE_PATH": str(tmp_path), **TEST_KEYS, **FAST_HASH}
    settings = Settings(**{k: v for k, v in config.items() if k in Settings.__dataclass_fields__})
    p = Platform(db=Database(empty_db_url), settings=settings, keys=load_keys(TEST_KEYS, str(tmp_path)),
                 clock=FrozenClock(START))
    seed_demo(p)
    yield p
    p.db.dispose()


def downgrade_to_words(p: Platform) -> None:
    """Every migration since 0003 undone: 0004's downgrade writes the stored statuses back as words and takes
    the status words out of the dictionary, as an install before codes had them."""
    p.db.dispose()
    command.downgrade(alembic_config(p.settings.DATABASE_URL), "0003_auth_limits")


def in_words(bpmn: bytes) -> bytes:
    """A stock file as it was deployed before codes: `caseStatus` in Chinese words."""
    return re.sub(rb'name="caseStatus" value="([a-z_]+)"',
                  lambda m: b'name="caseStatus" value="' + STOCK_LABELS[m.group(1).decode()].encode() + b'"', bpmn)


def deploy_old_hotline_order(p: Platform) -> None:
    """The hotline order as an old install had it deployed (words, no deploy check on them)."""
    bpmn, forms = definitions.stock_files()
    with p.db.unit_of_work() as session:
        old = engine.deploy_definition(in_words(bpmn["hotline_order.bpmn"]), forms,
                                       library={n: in_words(b) for n, b in bpmn.items() if n != "hotline_order.bpmn"},
                                       rule_keys=set(session.scalars(select(DeadlineRule.key))),
                                       roles=definitions.TASK_ROLES,
                                       start_variables=definitions.start_variables(session))
        definitions.store(session, p, SYSTEM, old)
        session.commit()


def actor(p: Platform, staff_no: str):  # type: ignore[no-untyped-def]
    with p.db.reading() as session:
        return actor_for(session.scalars(select(User).where(User.staff_no == staff_no)).one())


def register(p: Platform, channel: str = "phone") -> int:
    data = intake.CaseInput(kind="complaint", channel=channel, category="城乡建设/房屋质量", subject="新房漏水",
                            content="屋顶漏水。", requester=PETITIONER)
    return int(intake.register_case(p, actor(p, "dispatch01"), data)["id"])


def complete(p: Platform, staff_no: str, case_id: int, spec: str, **answers) -> None:  # type: ignore[no-untyped-def]
    with p.db.reading() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.spec_name == spec,
                                                             HumanTask.state == "ready")).one()
    tasks.complete_task(p, actor(p, staff_no), task_id, answers)


def status(p: Platform, case_id: int) -> str:
    with p.db.reading() as session:
        return session.get_one(Case, case_id).status


def test_the_upgrade_turns_stored_words_into_codes_and_keeps_renamed_words(old_install):
    p = old_install
    deploy_old_hotline_order(p)
    running, terminated = register(p), register(p, channel="letter")
    with p.db.unit_of_work() as session:
        session.execute(update(Case).where(Case.id == terminated).values(status="terminated"))
        session.commit()
    downgrade_to_words(p)
    with p.db.unit_of_work() as session:  # what the old code stored, and an administrator's word for one status
        stored = dict(session.execute(text('SELECT id, status FROM "case"')).all())
        assert (stored[running], stored[terminated]) == ("待受理", "已终结")
        assert session.scalars(select(DictionaryEntry.code).where(DictionaryEntry.kind == "case_status")).all() == []
        session.add(DictionaryEntry(kind="case_status", code="handling", label="处理中"))
        session.commit()

    upgrade(p.settings.DATABASE_URL)

    assert (status(p, running), status(p, terminated)) == ("registered", "terminated")
    with p.db.reading() as session:
        words = dict(session.execute(select(DictionaryEntry.code, DictionaryEntry.label)
                                     .where(DictionaryEntry.kind == "case_status")).all())
        head = ScriptDirectory.from_config(alembic_config(p.settings.DATABASE_URL)).get_current_head()
        assert session.scalar(text("SELECT version_num FROM alembic_version")) == head
    assert words == {**STOCK_LABELS, "handling": "处理中"}, "an administrator's word survives the upgrade"

    # the running case is on the old version, which still says 待派单: the platform stores the code
    complete(p, "dispatch01", running, "accept", accept_decision="accept", kind="complaint")
    assert status(p, running) == "dispatching"
    # the terminated matter is refused at the door, as before the upgrade
    with pytest.raises(Invalid, match="第三十六条"):
        register(p, channel="visit")


def test_a_definition_naming_words_instead_of_a_code_is_refused_at_deploy(old_install):
    bpmn, forms = definitions.stock_files()
    library = {n: in_words(b) for n, b in bpmn.items() if n != "hotline_order.bpmn"}
    with pytest.raises(Invalid, match=r"caseStatus \S+ 不是数据字典中的状态编码"), \
            old_install.db.reading() as session:
        definitions.validate(session, in_words(bpmn["hotline_order.bpmn"]), forms, library)
    # Every code an old definition could emit has its word; the intake guards' codes came after words.
    assert set(LEGACY_CODES.values()) == set(STOCK_LABELS) - {TRANSFERRED, REDIRECTED}
