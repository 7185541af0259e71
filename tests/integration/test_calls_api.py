"""The platform side of the telephony bridge: outcomes become draft cases, callbacks and voicemail cases, once."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.errors import Invalid, NotFound
from app.models import Call, Callback, CallbackAttempt, CallOutcome, Case, User
from app.services import auth, call_stats, intake
from app.services.actors import SYSTEM, Actor
from app.services.auth import actor_for
from app.services.call_events import caller_location
from app.services.cases import RequesterInput
from app.services.recordings import recording_path
from tests.conftest import DEMO_PASSWORD, csrf_token_of

NUMBER = "13800138000"


def user_token(client, staff_no: str) -> str:
    response = client.post("/api/v1/auth/token", json={"staff_no": staff_no, "password": DEMO_PASSWORD})
    assert response.status_code == 201
    return str(response.get_json()["token"])


def event(linkedid: str, kind: str, **fields: Any) -> dict[str, Any]:
    """A body as the bridge posts it: every field present, unknown ones null."""
    body: dict[str, Any] = {
        "pbx_id": "pbx-1", "linkedid": linkedid, "kind": kind, "caller_number": NUMBER, "caller_name": "张三",
        "queue": "hotline", "agent_interface": None, "agent_member_name": None,
        "started_at": "2026-11-25T01:00:00.000+00:00", "answered_at": None, "ended_at": None,
        "hold_seconds": None, "talk_seconds": None, "position": None, "original_position": None,
        "recording_file": None, "voicemail_file": None,
    }
    body.update(fields)
    return body


def post(client, token: str, body: dict[str, Any]):
    return client.post("/api/v1/calls/events", json=body, headers={"Authorization": f"Bearer {token}"})


def get(client, token: str, url: str):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def count(platform, model) -> int:
    with platform.db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def answered(linkedid: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"agent_interface": "PJSIP/8001", "agent_member_name": "李四",
                              "answered_at": "2026-11-25T01:00:12.000+00:00", "hold_seconds": 12, **fields}
    return event(linkedid, "answered", **values)


# — answered: a draft case and a screen pop ————————————————————————————————————————————————

def test_an_answered_call_opens_a_draft_for_the_agent_and_pops_up_on_their_workstation(
        client, auth, demo, bridge_token, agent_map):
    agent = user_token(client, "agent01")
    earlier = client.post("/api/v1/cases", headers={"Authorization": f"Bearer {agent}"}, json={
        "kind": "complaint", "channel": "phone", "subject": "噪声扰民", "content": "夜间施工",
        "requester": {"name": "张三", "phone": NUMBER}}).get_json()

    response = post(client, bridge_token, answered("1.1"))

    assert response.status_code == 201
    assert response.get_json()["created"] == ["call", "outcome", "draft"]
    assert response.get_json()["draft_for"] == "agent01"
    assert count(demo, Case) == 1, "no case until the agent completes the intake form"
    auth.login("agent01")
    pops = client.get("/calls/pop").get_json()["items"]
    assert len(pops) == 1
    pop = pops[0]
    assert pop["caller_number"] == NUMBER and pop["caller_location"] == "北京市" and pop["queue"] == "hotline"
    assert pop["intake_url"] == f"/intake?call={pop['call_id']}"
    assert [c["number"] for c in pop["earlier_cases"]] == [earlier["number"]]


def test_the_screen_pop_shows_only_the_answering_agents_calls_until_taken(client, auth, bridge_token, agent_map):
    post(client, bridge_token, answered("1.1"))
    post(client, bridge_token, answered("1.2", agent_interface="PJSIP/8002"))  # mapped by extension

    auth.login("dispatch01")
    assert [p["call_id"] for p in client.get("/calls/pop").get_json()["items"]] == [2]
    auth.logout()
    auth.login("agent01")
    page = client.get("/callbacks").get_data(as_text=True)
    assert "screen_pop.js" in page
    taken = client.post("/calls/1/taken", headers={"X-CSRFToken": csrf_token_of(page)})
    assert taken.status_code == 200
    assert client.get("/calls/pop").get_json()["items"] == []
    assert client.post("/calls/2/taken", headers={"X-CSRFToken": csrf_token_of(page)}).status_code == 404


def test_an_unmapped_agent_gets_no_draft_but_the_call_is_listed(client, demo, bridge_token):
    response = post(client, bridge_token, answered("1.1", agent_interface="PJSIP/9999"))

    assert response.get_json()["draft_for"] is None
    item = get(client, user_token(client, "agent01"), "/api/v1/calls").get_json()["items"][0]
    assert item["agent"] is None and item["agent_interface"] == "PJSIP/9999" and item["outcome"] == "answered"


def intake_fields(page: str, **fields: str) -> dict[str, str]:
    """The intake form as the agent submits it: the hidden fields the page carries, and what was typed."""
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)"[^>]*value="([^"]*)"', page))
    return {**hidden, "kind": "complaint", "channel": "phone", "category": "", "name": "张三", "id_number": "",
            "address": "", "subject": "噪声扰民", "content": "夜间施工", **fields}


def test_the_case_registered_from_the_screen_pop_is_linked_to_the_call_once(
        client, auth, demo, bridge_token, agent_map, test_config):
    call_id = post(client, bridge_token, answered("1.1", recording_file="/var/spool/monitor/q-1.1.wav")).get_json()[
        "call_id"]
    folder = Path(str(test_config["INSTANCE_PATH"])) / "recordings" / "pbx-1"
    folder.mkdir(parents=True)
    (folder / "q-1.1.wav").write_bytes(b"RIFF-talk")
    auth.login("dispatch01")
    assert client.get(f"/calls/{call_id}/recording").status_code == 404, "no case yet: only the answering agent"
    assert client.get(f"/intake?call={call_id}").status_code == 404, "the prefill is the answering agent's"
    auth.logout()

    auth.login("agent01")
    page = client.get(f"/intake?call={call_id}").get_data(as_text=True)
    assert f'name="call_id" id="call_id" value="{call_id}"' in page
    assert f'id="phone" name="phone" value="{NUMBER}"' in page and "北京市" in page
    assert "screen_pop.js" in page
    done = client.post("/intake", data=intake_fields(page, phone=NUMBER))
    assert done.status_code == 200 and "登记成功" in done.get_data(as_text=True)
    again = client.post("/intake", data=intake_fields(page, phone=NUMBER, request_key="another-key"))
    auth.logout()

    assert again.status_code == 422 and "该来电已登记诉求件,不能重复关联" in again.get_data(as_text=True)
    assert count(demo, Case) == 1, "the refused second registration rolled back with its link"
    item = get(client, user_token(client, "dispatch01"), "/api/v1/calls").get_json()["items"][0]
    with demo.db.reading() as session:
        case = session.scalars(select(Case)).one()
    assert item["case"] == {"id": case.id, "number": case.number} and not item["draft_pending"]
    auth.login("dispatch01")  # a reader of the case now
    played = client.get(f"/calls/{call_id}/recording")
    assert played.status_code == 200 and played.data == b"RIFF-talk"
    played.close()
    assert client.get("/calls/pop").get_json()["items"] == []


def staff(platform, staff_no: str) -> Actor:
    """A demo user as the services see them."""
    with platform.db.reading() as session:
        return actor_for(session.scalars(select(User).where(User.staff_no == staff_no)).one())


def test_only_the_answering_agent_or_a_centre_agent_may_link_a_call(demo, bridge_token, agent_map, client):
    by_agent = post(client, bridge_token, answered("1.1")).get_json()["call_id"]
    by_dispatcher = post(client, bridge_token, answered("1.2", agent_interface="PJSIP/8002")).get_json()["call_id"]
    data = intake.CaseInput(kind="complaint", channel="phone", subject="噪声扰民", content="夜间施工",
                            requester=RequesterInput(name="张三", phone=NUMBER), call_id=by_agent)

    with pytest.raises(Invalid) as refused:  # a dispatcher may register, but not from an agent's call
        intake.register_case(demo, staff(demo, "dispatch01"), data)
    assert refused.value.details == {"call_id": "只有接听该来电的话务员可以为其登记诉求件"}
    with pytest.raises(Invalid, match="来电不存在"):
        intake.register_case(demo, staff(demo, "dispatch01"), replace(data, call_id=999))
    assert count(demo, Case) == 0
    own = intake.register_case(demo, staff(demo, "dispatch01"), replace(data, call_id=by_dispatcher))
    other = intake.register_case(demo, staff(demo, "agent01"), data)  # the answering agent
    with demo.db.reading() as session:
        assert session.get_one(Call, by_dispatcher).case_id == own["id"]
        assert session.get_one(Call, by_agent).case_id == other["id"]


def test_an_agent_at_the_centre_may_take_up_a_call_another_answered(demo, bridge_token, agent_map, client):
    call_id = post(client, bridge_token, answered("1.2", agent_interface="PJSIP/8002")).get_json()["call_id"]
    data = intake.CaseInput(kind="complaint", channel="phone", subject="噪声扰民", content="夜间施工",
                            requester=RequesterInput(name="张三", phone=NUMBER), call_id=call_id)

    case = intake.register_case(demo, staff(demo, "agent01"), data)

    with demo.db.reading() as session:
        assert session.get_one(Call, call_id).case_id == case["id"]


# — abandoned: the 回呼 list ————————————————————————————————————————————————————————————————

def test_abandoned_calls_are_listed_oldest_first_and_calling_back_records_who_and_when(
        client, auth, demo, bridge_token):
    post(client, bridge_token, event("2.2", "abandoned", caller_number="13900139000", hold_seconds=35,
                                     started_at="2026-11-25T01:05:00.000+00:00"))
    post(client, bridge_token, event("2.1", "abandoned", caller_number="19912345678", hold_seconds=20,
                                     started_at="2026-11-25T01:00:00.000+00:00"))
    auth.login("agent01")

    page = client.get("/callbacks").get_data(as_text=True)
    assert page.index("19912345678") < page.index("13900139000"), "oldest first"
    assert "河北唐山" in page
    with demo.db.reading() as session:
        first = session.scalar(select(Callback).join(Call).where(Call.linkedid == "2.1"))
    assert first is not None
    refused = client.post(f"/callbacks/{first.id}/attempts", data={"outcome": "no_answer"})
    assert refused.status_code == 400, "the form needs its CSRF token"

    client.post(f"/callbacks/{first.id}/attempts", data={"outcome": "no_answer", "csrf_token": csrf_token_of(page)})
    page = client.get("/callbacks").get_data(as_text=True)
    assert "未接" in page and "王晓燕 2026-11-25 09:00:00" in page
    client.post(f"/callbacks/{first.id}/attempts", data={"outcome": "connected", "csrf_token": csrf_token_of(page)})

    page = client.get("/callbacks").get_data(as_text=True)
    assert "19912345678" not in page and "13900139000" in page
    with demo.db.reading() as session:
        done = session.get_one(Callback, first.id)
        attempts = session.scalars(select(CallbackAttempt).order_by(CallbackAttempt.id)).all()
    assert (done.status, done.attempts, done.outcome) == ("done", 2, "connected")
    assert [(a.outcome, a.at.isoformat()) for a in attempts] == [("no_answer", "2026-11-25T09:00:00"),
                                                                  ("connected", "2026-11-25T09:00:00")]
    assert {a.by_id for a in attempts} == {done.last_attempt_by_id}


def test_a_callback_outcome_outside_the_three_is_refused(client, auth, bridge_token):
    post(client, bridge_token, event("2.1", "abandoned"))
    auth.login("agent01")
    token = csrf_token_of(client.get("/callbacks").get_data(as_text=True))

    assert client.post("/callbacks/1/attempts", data={"outcome": "maybe", "csrf_token": token}).status_code == 422


def test_a_handler_may_not_work_the_callback_list(client, auth, bridge_token):
    post(client, bridge_token, event("2.1", "abandoned"))
    auth.login("cg01")

    assert client.get("/callbacks").status_code == 403


# — voicemail: a case with the recording attached ——————————————————————————————————————————

def test_a_voicemail_becomes_a_case_whose_recording_only_its_readers_may_play(
        client, auth, demo, bridge_token, test_config):
    response = post(client, bridge_token, event(
        "3.1", "voicemail", voicemail_file="/var/spool/asterisk/voicemail/default/12345/INBOX/msg0002"))

    assert response.status_code == 201
    result = response.get_json()
    assert result["created"] == ["call", "outcome", "case"]
    case = get(client, user_token(client, "agent01"), f"/api/v1/cases/{result['case_id']}").get_json()
    assert case["channel"] == "phone" and case["content"].startswith("留言录音")
    assert case["requester"]["phone"] == "138****8000"

    folder = Path(str(test_config["INSTANCE_PATH"])) / "recordings" / "pbx-1"
    folder.mkdir(parents=True)
    (folder / "msg0002.wav").write_bytes(b"RIFF-voicemail")
    auth.login("agent01")
    played = client.get(f"/calls/{result['call_id']}/recording")
    assert played.status_code == 200 and played.data == b"RIFF-voicemail"
    played.close()
    auth.logout()
    auth.login("cg01")  # 城管局: the case is not theirs
    assert client.get(f"/calls/{result['call_id']}/recording").status_code == 404


def test_a_voicemail_from_a_withheld_number_is_still_registered(client, demo, bridge_token):
    response = post(client, bridge_token, event("3.2", "voicemail", caller_number=None, caller_name=None,
                                                voicemail_file="/var/spool/msg0003"))

    assert response.status_code == 201 and response.get_json()["case_id"] is not None


def test_a_voicemail_whose_caller_name_is_too_long_or_odd_is_still_registered(client, demo, bridge_token):
    for linkedid, name in (("3.3", "某" * 200), ("3.5", "   ")):
        response = post(client, bridge_token, event(linkedid, "voicemail", caller_name=name,
                                                    voicemail_file="/var/spool/msg0004"))
        assert response.status_code == 201 and response.get_json()["case_id"] is not None, (name, response.get_json())


def test_recording_paths_stay_under_the_recordings_directory(tmp_path):
    root = tmp_path / "recordings"
    (root / "pbx-1").mkdir(parents=True)
    (tmp_path / "secret.wav").write_bytes(b"x")
    (root / "pbx-1" / "link.wav").symlink_to(tmp_path / "secret.wav")

    assert recording_path(root, "pbx-1", "a-1700000000.1.wav") == (root / "pbx-1" / "a-1700000000.1.wav").resolve()
    for pbx_id, name in [("pbx-1", "../secret.wav"), ("pbx-1", "/etc/passwd"), ("..", "secret.wav"),
                         ("pbx-1", ".."), ("pbx-1", "a/../../secret.wav"), ("/tmp", "x.wav"),
                         ("pbx-1", "..\\secret.wav"), ("pbx-1", "link.wav")]:
        with pytest.raises(NotFound):
            recording_path(root, pbx_id, name)


def test_a_recording_path_sent_by_a_bridge_cannot_reach_outside(client, auth, demo, bridge_token, agent_map,
                                                               test_config):
    instance = Path(str(test_config["INSTANCE_PATH"]))
    (instance / "recordings").mkdir(parents=True)
    (instance / "secret.wav").write_bytes(b"secret")
    post(client, bridge_token, answered("4.1"))
    post(client, bridge_token, event("4.1", "recording", recording_file="../../secret.wav"))
    bad_pbx = post(client, bridge_token, event("4.2", "answered", pbx_id="../.."))

    auth.login("agent01")
    assert client.get("/calls/1/recording").status_code == 404
    assert bad_pbx.status_code == 422 and "pbx_id" in bad_pbx.get_json()["details"]


# — idempotency ————————————————————————————————————————————————————————————————————————————

def test_duplicates_replays_and_a_second_bridge_create_nothing_new(client, demo, bridge_token, agent_map):
    second_bridge = auth.create_machine_token(demo, SYSTEM, "pbx-1-standby", "calls")
    bodies = [answered("5.1"), event("5.1", "ended", talk_seconds=30), event("5.2", "abandoned"),
              event("5.3", "voicemail", voicemail_file="/var/spool/msg0001")]
    first = [post(client, bridge_token, b).status_code for b in bodies]

    again = [post(client, token, b) for token in (bridge_token, second_bridge, bridge_token) for b in bodies]

    assert first == [201, 201, 201, 201]
    assert {r.status_code for r in again} == {200}
    assert all(r.get_json()["duplicate"] and r.get_json()["created"] == [] for r in again)
    assert again[3].get_json()["case_id"] is not None, "a duplicate answers what the first post created"
    assert (count(demo, Call), count(demo, CallOutcome), count(demo, Case), count(demo, Callback)) == (3, 4, 1, 1)


def test_concurrent_duplicate_posts_make_one_call_and_one_case(app, demo, bridge_token):
    body = event("6.1", "voicemail", voicemail_file="/var/spool/msg0009")
    statuses: list[int] = []
    start = threading.Barrier(6)

    def send() -> None:
        client = app.test_client()
        start.wait()
        statuses.append(post(client, bridge_token, body).status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(statuses) == [200] * 5 + [201]
    assert (count(demo, Call), count(demo, CallOutcome), count(demo, Case)) == (1, 1, 1)


# — who may post and read ——————————————————————————————————————————————————————————————————

def test_only_a_bridge_token_may_post_and_only_the_centres_staff_may_read(client, bridge_token):
    post(client, bridge_token, event("7.0", "abandoned"))
    assert post(client, user_token(client, "agent01"), answered("7.1")).status_code == 403
    assert client.post("/api/v1/calls/events", json=answered("7.1")).status_code == 401
    for url in ("/api/v1/calls", "/api/v1/calls/stats"):
        assert get(client, bridge_token, url).status_code == 403
        assert get(client, user_token(client, "sysadmin"), url).status_code == 403
        for staff_no in ("cg01", "cgleader01"):  # a unit below the centre: its cases, never the callers
            refused = get(client, user_token(client, staff_no), url)
            assert refused.status_code == 403 and "热线中心" in refused.get_json()["message"]
            assert NUMBER not in refused.get_data(as_text=True)
        for staff_no in ("agent01", "dispatch01", "leader01"):
            assert get(client, user_token(client, staff_no), url).status_code == 200


def test_a_malformed_event_is_refused_with_field_errors(client, bridge_token):
    response = post(client, bridge_token, event("8.1", "transferred", hold_seconds=-1))

    assert response.status_code == 422
    assert set(response.get_json()["details"]) == {"kind", "hold_seconds"}


def calls_seen_by(platform, actor: Actor) -> dict[str, dict[str, Any]]:
    return {c["linkedid"]: c for c in call_stats.list_calls(platform, actor, call_stats.CallFilter())["items"]}


def test_the_caller_number_is_masked_for_readers_without_personal_data(client, demo, bridge_token):
    post(client, bridge_token, event("9.1", "abandoned"))
    reader = staff(demo, "dispatch01")
    # the permission is taken from the actor, not the shared role catalogue (PostgreSQL keeps it between tests)
    without = replace(reader, permissions=reader.permissions - {"case.read_personal"})

    whole = get(client, user_token(client, "dispatch01"), "/api/v1/calls").get_json()["items"][0]
    masked = calls_seen_by(demo, without)["9.1"]

    assert masked["caller_number"] == "138****8000" and whole["caller_number"] == NUMBER
    assert masked["caller_location"] == "北京市"
    assert masked["callback"] == {"id": 1, "status": "open", "attempts": 0, "outcome": None}


def test_a_linked_case_the_reader_may_not_see_hides_its_number_and_the_callers(demo, client, bridge_token):
    post(client, bridge_token, event("9.1", "abandoned"))
    case_id = post(client, bridge_token, event("9.2", "voicemail", voicemail_file="/var/spool/msg0002")).get_json()[
        "case_id"]
    reader = staff(demo, "dispatch01")
    blind = replace(reader, unit_path="/no-such-unit/")  # at the centre, yet seeing no case

    seen, hidden = calls_seen_by(demo, reader), calls_seen_by(demo, blind)

    assert seen["9.2"]["case"]["id"] == case_id and seen["9.2"]["caller_number"] == NUMBER
    assert hidden["9.2"]["case"] is None and hidden["9.2"]["has_case"]
    assert hidden["9.2"]["caller_number"] == "138****8000", "masked: the caller belongs to a case not theirs"
    assert hidden["9.1"]["caller_number"] == NUMBER and not hidden["9.1"]["has_case"], "no case: shown whole"


def test_caller_locations_come_from_the_geocoder_or_the_mobile_prefix_table():
    assert caller_location("13800138000") == "北京市"
    assert caller_location("0531-86012345") == "山东省济南市"
    assert caller_location("+86 199 1234 5678") == "河北唐山"
    assert caller_location("8001") is None and caller_location(None) is None


# — the list's filters and the figures —————————————————————————————————————————————————————

def known_calls(client, token: str) -> None:
    """hotline: two answered (10 s, 20 s wait), one abandoned (30 s), one voicemail; complaints: one next day."""
    for body in [answered("10.1", hold_seconds=10), event("10.1", "ended", talk_seconds=100),
                 answered("10.2", hold_seconds=20), event("10.2", "ended", talk_seconds=200),
                 event("10.3", "abandoned", hold_seconds=30),
                 event("10.4", "voicemail", voicemail_file="/var/spool/msg0004"),
                 answered("10.5", queue="complaints", hold_seconds=6, agent_interface="PJSIP/8002",
                          started_at="2026-11-26T02:00:00.000+00:00"),
                 event("10.5", "ended", queue="complaints", talk_seconds=60,
                       started_at="2026-11-26T02:00:00.000+00:00")]:
        assert post(client, token, body).status_code == 201


def test_call_figures_per_queue_day_and_agent(client, bridge_token, agent_map):
    known_calls(client, bridge_token)
    reader = user_token(client, "leader01")

    by_queue = get(client, reader, "/api/v1/calls/stats?by=queue").get_json()
    by_day = get(client, reader, "/api/v1/calls/stats?by=day").get_json()
    by_agent = get(client, reader, "/api/v1/calls/stats?by=agent&from=2026-11-25&to=2026-11-25").get_json()

    hotline = {"offered": 4, "answered": 2, "abandoned": 1, "answer_rate": 0.5, "answer_rate_15s": 0.25,
               "avg_wait_seconds": 20.0, "avg_talk_seconds": 150.0}
    complaints = {"offered": 1, "answered": 1, "abandoned": 0, "answer_rate": 1.0, "answer_rate_15s": 1.0,
                  "avg_wait_seconds": 6.0, "avg_talk_seconds": 60.0}
    assert by_queue["rows"] == [{"key": "complaints", **complaints}, {"key": "hotline", **hotline}]
    assert by_queue["total"] == {"offered": 5, "answered": 3, "abandoned": 1, "answer_rate": 0.6,
                                 "answer_rate_15s": 0.4, "avg_wait_seconds": 16.5, "avg_talk_seconds": 120.0}
    assert by_day["rows"] == [{"key": "2026-11-25", **hotline}, {"key": "2026-11-26", **complaints}]
    assert [(r["key"], r["offered"], r["answered"]) for r in by_agent["rows"]] == [("agent01", 2, 2), (None, 2, 0)]
    assert get(client, reader, "/api/v1/calls/stats?by=week").status_code == 422


def test_the_call_list_filters_by_linkedid_outcome_dates_queue_and_agent(client, bridge_token, agent_map):
    known_calls(client, bridge_token)
    reader = user_token(client, "agent01")

    def ids(query: str) -> list[str]:
        return [i["linkedid"] for i in get(client, reader, f"/api/v1/calls?{query}").get_json()["items"]]

    assert ids("") == ["10.5", "10.4", "10.3", "10.2", "10.1"]
    assert ids("linkedid=10.3") == ["10.3"]
    assert ids("outcome=abandoned") == ["10.3"]
    assert ids("outcome=voicemail") == ["10.4"]
    assert ids("from=2026-11-26") == ["10.5"]
    assert ids("to=2026-11-25&queue=hotline&agent=agent01") == ["10.2", "10.1"]
    first = get(client, reader, "/api/v1/calls?linkedid=10.1").get_json()["items"][0]
    assert first["started_at"] == "2026-11-25T09:00:00" and first["answered_at"] == "2026-11-25T09:00:12"
    assert (first["hold_seconds"], first["talk_seconds"]) == (10, 100)
    assert first["agent"] == {"staff_no": "agent01", "name": "王晓燕"}
    assert get(client, reader, "/api/v1/calls?linkedid=10.4").get_json()["items"][0]["case"]["number"]
    assert get(client, reader, "/api/v1/calls?from=yesterday").status_code == 422
