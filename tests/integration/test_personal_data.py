"""Phones and ID numbers are stored only encrypted, found by keyed hash, shown masked, and every reveal is audited."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text

from app.models import AuditEvent, Case, Requester, Unit
from app.services.cases import RequesterInput, new_case_identity, new_requester
from app.services.requesters import earlier_cases_of
from tests.conftest import DEMO_PASSWORD

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def _register_case(platform) -> int:  # type: ignore[no-untyped-def]
    """A case for 市城管局 from a requester who gave a phone and an ID number."""
    with platform.db.unit_of_work() as session:
        units = {u.code: u.id for u in session.scalars(select(Unit))}
        requester = new_requester(session, platform, RequesterInput(name="孙先生", phone=PHONE, id_number=ID_NUMBER,
                                                                    address="东城区和平里七区"))
        number, query_code = new_case_identity(session, platform)
        case = Case(number=number, query_code=query_code, kind="complaint", channel="phone",
                    subject="夜间施工噪声", content="工地每晚施工到凌晨。", requester=requester, status="handling",
                    registering_unit_id=units["centre"], lead_unit_id=units["cgj"], created_at=platform.clock.now())
        session.add(case)
        session.commit()
        return case.id


def _forms_of(value: str) -> list[bytes]:
    """How a plaintext could sit in storage: as UTF-8 bytes or as hex text (PostgreSQL prints bytea as hex)."""
    return [value.encode(), value.encode().hex().encode()]


def _raw_database(platform) -> bytes:  # type: ignore[no-untyped-def]
    """Everything the database holds for requesters, as someone with the files or a SQL prompt sees it."""
    if platform.db.is_sqlite:
        path = Path(platform.db.url.removeprefix("sqlite:///"))
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    with platform.db.reading() as session:
        return "\n".join(session.scalars(text("SELECT t::text FROM requester t"))).encode()


def _read(client, case_id: int, query: str = ""):  # type: ignore[no-untyped-def]
    token = client.post("/api/v1/auth/token", json={"staff_no": "cg01", "password": DEMO_PASSWORD}).get_json()["token"]
    return client.get(f"/api/v1/cases/{case_id}{query}", headers={"Authorization": f"Bearer {token}"})


def test_the_database_holds_no_plaintext_phone_id_number_or_address(demo):
    _register_case(demo)

    raw = _raw_database(demo)

    assert "孙先生".encode() in raw  # the requester's row is in what we read
    for value in (PHONE, ID_NUMBER):
        for form in _forms_of(value):
            assert form not in raw, f"{value} is stored readable"
    assert "和平里七区".encode() not in raw, "the address is stored readable"


def test_a_requester_is_found_again_by_their_exact_phone(demo):
    case_id = _register_case(demo)

    with demo.db.reading() as session:
        found = earlier_cases_of(session, demo, RequesterInput(name="?", phone=PHONE), days=30)
        other = earlier_cases_of(session, demo, RequesterInput(name="?", phone="13812345679"), days=30)
        stored = session.scalars(select(Requester.phone_hash)).one()
        assert [c.id for c in found] == [case_id]
        assert other == []
    assert PHONE not in stored


def test_a_case_shows_the_phone_masked_and_reading_it_so_is_no_reveal(client, demo):
    case_id = _register_case(demo)

    requester = _read(client, case_id).get_json()["requester"]

    assert requester["phone"] == "138****5678"
    assert ID_NUMBER not in requester["id_number"]
    assert requester["name"] == "孙**" and "和平里七区" not in requester["address"]
    assert requester["revealed"] is False
    with demo.db.reading() as session:
        assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "case.personal_data_read")) is None


def test_revealing_the_phone_shows_it_whole_and_is_audited(client, demo):
    case_id = _register_case(demo)

    requester = _read(client, case_id, "?reveal=1").get_json()["requester"]

    assert (requester["phone"], requester["id_number"]) == (PHONE, ID_NUMBER)
    assert (requester["name"], requester["address"]) == ("孙先生", "东城区和平里七区")
    with demo.db.reading() as session:
        reveals = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.personal_data_read")).all()
        assert [(e.actor, e.case_id) for e in reveals] == [("cg01", case_id)]



def test_the_accuser_of_a_report_is_shown_only_to_the_registering_unit(client, demo):
    token = client.post("/api/v1/auth/token", json={"staff_no": "agent01", "password": DEMO_PASSWORD})
    agent = {"Authorization": f"Bearer {token.get_json()['token']}"}
    case = client.post("/api/v1/cases", headers=agent, json={
        "kind": "report", "channel": "phone", "subject": "举报违规收费", "content": "某单位乱收费。",
        "requester": {"name": "孙先生", "phone": PHONE}}).get_json()
    with demo.db.unit_of_work() as session:  # transferred to 市城管局, the unit the report is about
        session.get(Case, case["id"]).lead_unit_id = session.scalar(select(Unit.id).where(Unit.code == "cgj"))
        session.commit()

    refused = _read(client, case["id"], "?reveal=1")
    assert refused.status_code == 403 and "举报人身份受保护" in refused.get_json()["message"]
    assert _read(client, case["id"]).get_json()["requester"]["phone"] == "138****5678"
    shown = client.get(f"/api/v1/cases/{case['id']}?reveal=1", headers=agent).get_json()["requester"]
    assert shown["phone"] == PHONE
