"""Open311 GeoReport v2 under /open311/v2/: a real client library (georeport, over HTTP) reads services and
requests in JSON and XML; POST requests registers through the one intake with an `open311` channel key; every
XML answer parses strictly with the spec's root elements; errors come in the spec's format, in Chinese, naming
the parameter; GET answers carry no personal data."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests
from georeport import GeoReport
from lxml import etree
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app import create_app
from app.domain import statuses
from app.models import Case, SmsMessage, User
from app.services import auth, intake
from app.services.cases import RequesterInput
from app.services.open311 import REQUEST_FIELDS
from tests.integration.channel_driver import channel_key, flask_command

BASE = "/open311/v2"
REPORT = {"service_code": "城乡建设/供水", "lat": "39.9612", "long": "116.4178",
          "address_string": "东城区和平里街道和平里三巷2号",
          "description": "和平里三巷2号楼停水两天,请尽快处理。联系我 13912345678",
          "first_name": "三", "last_name": "张", "phone": "13912345678", "email": "zhangsan@example.cn",
          "device_id": "device-1", "account_id": "acct-9", "media_url": "https://img.example.cn/a.jpg"}
STRICT = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)


def _flask(app, *args: str):  # type: ignore[no-untyped-def]
    return flask_command(app, *args)


def _key(app, name: str = "citizen-app", channel: str = "open311") -> str:  # type: ignore[no-untyped-def]
    return channel_key(app, name, channel)


def _xml(body: bytes, root: str) -> etree._Element:
    """Parse strictly (no recovery, no entities, no network) and check the declaration and the root element."""
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    tree = etree.fromstring(body, STRICT)
    assert tree.tag == root
    return tree


def _post(client, key: str | None, fmt: str = "json", headers=None, **changes: str):  # type: ignore[no-untyped-def]
    form = {**REPORT, **changes, **({"api_key": key} if key is not None else {})}
    return client.post(f"{BASE}/requests.{fmt}", data={k: v for k, v in form.items() if v is not None},
                       headers=headers or {})


@pytest.fixture
def server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app on a real loopback HTTP port, so the client library talks to it as to any city."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}{BASE}"
    http.shutdown()


def test_discovery_names_the_georeport_v2_endpoint_in_json_and_xml(client):
    as_json = client.get(f"{BASE}/discovery.json")
    as_xml = client.get(f"{BASE}/discovery.xml")

    assert as_json.status_code == as_xml.status_code == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    endpoint = as_json.get_json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2") and endpoint["formats"] == ["text/xml", "application/json"]
    assert as_xml.headers["Content-Type"] == "text/xml; charset=utf-8"
    tree = _xml(as_xml.data, "discovery")
    assert tree.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"
    assert [f.text for f in tree.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_the_client_library_lists_the_leaf_categories_as_services_in_json_and_xml(server, client):
    as_json = GeoReport(server).get_service_list()
    as_xml = GeoReport(server, output_format="xml").get_service_list()

    water = next(s for s in as_json if s["service_code"] == "城乡建设/供水")
    assert water == {"service_code": "城乡建设/供水", "service_name": "供水", "description": "城乡建设/供水",
                     "metadata": False, "type": "realtime", "keywords": "", "group": "城乡建设"}
    assert "城乡建设" not in {s["service_code"] for s in as_json}  # a branch of the tree is no service
    assert [s["service_code"] for s in as_xml] == [s["service_code"] for s in as_json]
    assert next(s for s in as_xml if s["service_code"] == "城乡建设/供水")["metadata"] == "false"
    _xml(client.get(f"{BASE}/services.xml").data, "services")


def test_the_client_library_reads_a_service_definition_in_json_and_xml(server, client):
    as_json = GeoReport(server).get_service_definition("城乡建设/供水")
    as_xml = GeoReport(server, output_format="xml").get_service_definition("城乡建设/供水")
    unknown = client.get(f"{BASE}/services/城乡建设.json")

    assert as_json == {"service_code": "城乡建设/供水", "attributes": []}
    assert as_xml["service_code"] == "城乡建设/供水"
    assert _xml(client.get(f"{BASE}/services/城乡建设%2F供水.xml").data, "service_definition") is not None
    assert unknown.status_code == 404
    assert unknown.get_json() == [{"code": 404, "description": "service_code 不存在:城乡建设"}]


def test_post_requests_registers_a_case_through_the_one_intake_on_the_open311_channel(app, client, demo):
    key = _key(app)

    answer = _post(client, key)

    assert answer.status_code == 201, answer.get_json()
    [created] = answer.get_json()
    assert created["service_request_id"].startswith("12345-") and created["token"].startswith("t_")
    assert created["account_id"] == "acct-9" and "查询码" in created["service_notice"]
    with demo.db.reading() as session:
        case = session.scalar(select(Case).where(Case.number == created["service_request_id"]))
        assert (case.channel, case.kind, case.category) == ("open311", "help", "城乡建设/供水")
        assert case.location == "东城区和平里街道和平里三巷2号"
        assert (case.location_lat, case.location_lng) == (39.9612, 116.4178)
        assert case.requester.name == "张三" and "附图:https://img.example.cn/a.jpg" in case.content
        assert case.subject == REPORT["description"][:30]
        receipt = session.scalar(select(SmsMessage).where(SmsMessage.case_id == case.id))
    assert receipt is not None and receipt.template == "receipt"  # 受理号 and 查询码 by SMS, as for every intake


def test_a_retried_post_answers_the_first_request_and_registers_nothing_more(app, client, demo):
    key = _key(app)

    first = _post(client, key).get_json()[0]
    again = _post(client, key).get_json()[0]  # the same body again: the client never saw the first answer
    keyed = [_post(client, key, headers={"Idempotency-Key": "app-7"}, description=f"另一件事 {i}")
             for i in range(2)]

    assert again["service_request_id"] == first["service_request_id"] and again["token"] == first["token"]
    assert keyed[0].status_code == 201 and keyed[1].status_code == 400  # one key, another body
    with demo.db.reading() as session:
        assert len(session.scalars(select(Case.id)).all()) == 2


def test_post_answers_in_xml_with_the_service_requests_root(app, client):
    key = _key(app)

    tree = _xml(_post(client, key, "xml").data, "service_requests")

    assert tree.findtext("request/service_request_id").startswith("12345-")
    assert tree.findtext("request/token").startswith("t_")


def test_post_errors_come_in_the_spec_format_naming_each_parameter(app, client):
    key = _key(app)

    missing = _post(client, key, service_code=None, lat=None, long=None, address_string=None)
    invalid = _post(client, key, service_code="城乡建设", first_name=None, last_name=None, lat="north")
    as_xml = _post(client, key, "xml", service_code=None)

    assert missing.status_code == invalid.status_code == as_xml.status_code == 400
    said = [e["description"] for e in missing.get_json()]
    assert all(e["code"] == 400 for e in missing.get_json())
    assert any("service_code" in d for d in said) and any("lat" in d and "address_string" in d for d in said)
    said = " ".join(e["description"] for e in invalid.get_json())
    assert "service_code" in said and "最末一级" in said and "first_name" in said and "lat" in said
    tree = _xml(as_xml.data, "errors")
    assert tree.findtext("error/code") == "400" and "service_code" in tree.findtext("error/description")


def test_the_api_key_must_be_a_live_key_of_the_open311_channel(app, client, demo):
    wechat = _key(app, "wechat-mini", "wechat")
    key = _key(app)
    _flask(app, "channels", "revoke", "--name", "citizen-app")

    none, other, revoked = _post(client, None), _post(client, wechat), _post(client, key)

    assert none.status_code == other.status_code == revoked.status_code == 403
    assert "api_key" in none.get_json()[0]["description"]
    assert "open311" in other.get_json()[0]["description"]
    assert revoked.get_json() == [{"code": 403, "description": "api_key:渠道密钥无效或已吊销"}]
    with demo.db.reading() as session:
        assert session.scalars(select(Case.id)).all() == []


def test_the_client_library_follows_a_request_without_seeing_personal_data(app, server, client, demo):
    key = _key(app)
    number = _post(client, key).get_json()[0]["service_request_id"]

    listed = GeoReport(server).get_service_requests()
    one = GeoReport(server).get_service_request(number)
    as_xml = GeoReport(server, output_format="xml").get_service_request(number)
    raw = client.get(f"{BASE}/requests.json").get_data(as_text=True) + \
        client.get(f"{BASE}/requests/{number}.xml").get_data(as_text=True)

    assert [r["service_request_id"] for r in listed] == [number]
    assert one["status"] == "open" and one["status_notes"] == "待受理" and one["service_code"] == "城乡建设/供水"
    assert one["service_name"] == "供水" and one["address"] == "东城区和平里街道和平里三巷2号"
    assert (one["lat"], one["long"]) == (39.9612, 116.4178) and one["media_url"] == "https://img.example.cn/a.jpg"
    assert one["requested_datetime"] == "2026-11-25T09:00:00+08:00"
    assert "联系我 ***********" in one["description"]
    assert as_xml["service_request_id"] == number and as_xml["status"] == "open"
    assert set(one) == set(REQUEST_FIELDS) and list(as_xml) == list(REQUEST_FIELDS)  # the spec's fields, in order
    for personal in ("张三", "13912345678", "zhangsan@example.cn", "acct-9", "device-1", key):
        assert personal not in raw


def test_get_requests_filters_by_status_service_code_and_dates_in_json_and_xml(app, client, demo):
    key = _key(app)
    first = _post(client, key).get_json()[0]["service_request_id"]
    second = _post(client, key, service_code="城市管理/市容环卫", description="垃圾桶满了").get_json()[0]
    with demo.db.unit_of_work() as session:
        session.execute(update(Case).where(Case.number == first).values(status=statuses.CLOSED))
        session.commit()

    def ids(**args: str) -> list[str]:
        return [r["service_request_id"] for r in client.get(f"{BASE}/requests.json", query_string=args).get_json()]

    assert ids(status="closed") == [first]
    assert ids(status="open") == [second["service_request_id"]]
    assert ids(status="open,closed", service_code="城乡建设/供水") == [first]
    assert ids(start_date="2026-11-26T00:00:00+08:00", end_date="2026-12-20T00:00:00Z") == []
    assert len(ids(start_date="2026-11-25T00:00:00Z")) == 2
    assert ids(service_request_id=f"{first},nope") == [first]
    tree = _xml(client.get(f"{BASE}/requests.xml", query_string={"status": "closed"}).data, "service_requests")
    assert [r.findtext("status") for r in tree.findall("request")] == ["closed"]


def test_get_requests_refuses_bad_parameters_in_the_spec_format(client):
    bad_date = client.get(f"{BASE}/requests.json?start_date=yesterday")
    too_long = client.get(f"{BASE}/requests.xml?start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z")
    bad_status = client.get(f"{BASE}/requests.json?status=pending")
    unknown = client.get(f"{BASE}/requests/12345-20261125-999999.json")

    assert bad_date.status_code == too_long.status_code == bad_status.status_code == 400
    assert "start_date" in bad_date.get_json()[0]["description"]
    assert "90 天" in _xml(too_long.data, "errors").findtext("error/description")
    assert "status" in bad_status.get_json()[0]["description"]
    assert unknown.status_code == 404 and "service_request_id" in unknown.get_json()[0]["description"]


def test_only_open311_cases_are_listed_and_never_a_report(app, client, demo):
    with demo.db.reading() as session:
        agent = auth.actor_for(session.scalar(select(User).where(User.staff_no == "agent01")))
    phoned = intake.register_case(demo, agent, intake.CaseInput(
        kind="complaint", channel="phone", subject="噪声", content="夜间施工。", requester=RequesterInput(name="李四")))
    key = _key(app)
    with demo.db.unit_of_work() as session:  # an Open311 request reclassified as 举报 at 受理
        reported = _post(client, key).get_json()[0]["service_request_id"]
        session.execute(update(Case).where(Case.number == reported).values(kind="report"))
        session.commit()

    listed = client.get(f"{BASE}/requests.json").get_json()

    assert listed == []
    assert client.get(f"{BASE}/requests/{phoned['number']}.json").status_code == 404
    assert client.get(f"{BASE}/requests/{reported}.json").status_code == 404


def test_a_token_finds_its_request_in_json_and_xml(app, client):
    key = _key(app)
    created = _post(client, key).get_json()[0]

    as_json = client.get(f"{BASE}/tokens/{created['token']}.json")
    as_xml = client.get(f"{BASE}/tokens/{created['token']}.xml")

    assert as_json.get_json() == [{"service_request_id": created["service_request_id"], "token": created["token"]}]
    assert _xml(as_xml.data, "service_requests").findtext("request/service_request_id") == \
        created["service_request_id"]
    assert client.get(f"{BASE}/tokens/t_unknown.json").status_code == 404


def test_rate_limits_answer_429_in_the_spec_format(test_config, clock, demo):
    app = create_app({**test_config, "RATE_LIMIT_CHANNEL_KEY": "1/60", "RATE_LIMIT_PUBLIC_ADDRESS": "2/60"},
                     clock=clock)
    client = app.test_client()
    key = _key(app)

    posted = [_post(client, key, description=f"停水 {i}").status_code for i in range(2)]
    limited = _post(client, key, "xml", description="停水 9")
    reads = [client.get(f"{BASE}/services.json") for _ in range(3)]

    assert posted == [201, 429]
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "过于频繁" in _xml(limited.data, "errors").findtext("error/description")
    assert [r.status_code for r in reads] == [200, 200, 429]
    assert reads[-1].get_json()[0]["code"] == 429
    app.extensions["huiyin"].db.dispose()


def test_an_unknown_path_under_the_server_answers_404_in_the_spec_format(client):
    answer = client.get(f"{BASE}/servicez.xml")

    assert answer.status_code == 404
    assert _xml(answer.data, "errors").findtext("error/code") == "404"


def test_a_client_posting_over_http_gets_its_case(app, server):
    key = _key(app)

    answer = requests.post(f"{server}/requests.json", data={**REPORT, "api_key": key}, timeout=10)

    assert answer.status_code == 201
    assert answer.json()[0]["service_request_id"].startswith("12345-")


def test_a_control_character_in_a_description_still_gives_well_formed_xml(app, client):
    key = _key(app)
    number = _post(client, key, description="铃声\x07不断,门口\x1b灯坏").get_json()[0]["service_request_id"]

    tree = _xml(client.get(f"{BASE}/requests/{number}.xml").data, "service_requests")

    assert tree.findtext("request/description").startswith("铃声\ufffd不断")


def test_a_json_body_is_taken_like_the_form(app, client):
    key = _key(app)

    answer = client.post(f"{BASE}/requests.json", json={**REPORT, "api_key": key, "lat": 39.9612, "long": 116.4178})

    assert answer.status_code == 201, answer.get_json()


def test_an_emergency_is_answered_in_the_service_notice_and_listed_closed(app, client):
    key = _key(app)

    [created] = _post(client, key, description="楼下着火了,浓烟很大").get_json()
    [listed] = client.get(f"{BASE}/requests/{created['service_request_id']}.json").get_json()

    assert "119" in created["service_notice"]
    assert listed["status"] == "closed"
