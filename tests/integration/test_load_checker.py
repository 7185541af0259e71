"""What bench/load.py's checker found, fixed, and the checker itself: it sees a crafted duplicate or skip."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from app.models import Case, Counter, User
from app.services import audit, intake
from app.services.actors import Actor
from app.services.auth import actor_for
from app.services.platform import Platform

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from load_check import case_numbers, document_numbers, gaps, intake_once  # noqa: E402

BODY = {"kind": "complaint", "channel": "phone", "category": "城乡建设/供水", "subject": "小区停水",
        "content": "幸福里小区 3 号楼停水两天,物业不予答复。", "requester": {"name": "张三", "phone": "13800138000"}}


def agent(platform: Platform) -> Actor:
    with platform.db.reading() as session:
        return actor_for(session.scalar(select(User).where(User.staff_no == "agent01")))


def serials(platform: Platform) -> list[int]:
    with platform.db.reading() as session:
        return sorted(int(n.rsplit("-", 1)[1]) for n in session.scalars(select(Case.number)))


def test_requests_retried_while_the_first_is_in_flight_make_one_case_and_skip_no_case_number(demo):
    who = agent(demo)
    answers: list[tuple[str, dict[str, Any]]] = []
    for round_ in range(3):
        barrier = threading.Barrier(6)

        def send(key: str = f"retry-{round_}", barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            answers.append((key, intake.register(demo, who, BODY, key)))

        threads = [threading.Thread(target=send) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    answers.append(("after", intake.register(demo, who, BODY, "after")))

    assert len(answers) == 19 and len({a["id"] for _, a in answers}) == 4
    assert all(len({a["id"] for k, a in answers if k == key}) == 1 for key, _ in answers)
    drawn = serials(demo)  # the PostgreSQL sequence is not reset between tests: where it starts may vary
    assert drawn == list(range(drawn[0], drawn[0] + 4)), "one 受理号 per key, none drawn by a retry that lost"
    records = [{"kind": "intake", "key": key, "status": 201, "case_id": a["id"]} for key, a in answers]
    with demo.db.reading() as session:
        assert intake_once(session, records, "agent01") == []
        assert case_numbers(session) == []


def test_the_checker_sees_a_skipped_and_a_doubled_case_number(demo):
    who = agent(demo)
    ids = [intake.register(demo, who, {**BODY, "subject": f"停水{n}"}, f"k{n}")["id"] for n in range(3)]
    with demo.db.unit_of_work() as session:
        session.execute(update(Case).where(Case.id == ids[2]).values(number="12345-20261125-000009"))
        session.commit()
    with demo.db.reading() as session:
        found = case_numbers(session)
    assert any("跳号" in p and "[3" in p for p in found), found
    assert gaps([1, 2, 2, 4]) == ([2], [3])


def test_the_checker_sees_a_document_number_drawn_twice_or_skipped(demo):
    who = agent(demo)
    case_id = intake.register(demo, who, BODY, "doc")["id"]
    counter = "doc:transfer_form:1:2026"
    with demo.db.unit_of_work() as session:
        for serial in (1, 1, 3):
            audit.record(session, demo, who, "document.issued", case_id=case_id,
                         detail={"kind": "transfer_form", "counter": counter, "serial": serial,
                                 "receiving_unit_id": serial})
        session.add(Counter(name=counter, value=3))
        session.commit()
    with demo.db.reading() as session:
        found = document_numbers(session)
    assert f"文号计数器 {counter} 重复:[1](共 1 个)" in found
    assert f"文号计数器 {counter} 跳号:[2](共 1 个)" in found


def test_the_checker_sees_a_key_answered_with_two_cases(demo):
    who = agent(demo)
    first = intake.register(demo, who, BODY, "one")["id"]
    other = intake.register(demo, who, {**BODY, "subject": "又停水"}, "two")["id"]
    records = [{"kind": "intake", "key": "one", "status": 201, "case_id": first},
               {"kind": "intake", "key": "one", "status": 201, "case_id": other},
               {"kind": "intake", "key": "two", "status": 201, "case_id": other}]
    with demo.db.reading() as session:
        found = intake_once(session, records, "agent01")
    assert found == [f"Idempotency-Key one 得到了不同的诉求件 {sorted([first, other])}"]
