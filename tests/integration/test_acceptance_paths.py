"""The paths and answer shapes the leaders' data issue and the 知识库 issue fix for acceptance checks, each
called once as an outside client would, on both databases: if a name moves, this fails before a city's
integration does."""

from __future__ import annotations

from lifecycle_driver import Api

from tests.conftest import csrf_token_of


def test_the_combined_query_answers_items_and_a_keyset_next(client, demo):
    api = Api(client)
    made = [api.register(subject=f"停水第{i}天", key=f"acc-{i}") for i in range(3)]
    first = api.call("dispatch01", "GET", "/cases?kind=complaint&sort=-created_at&limit=2")
    assert first.status_code == 200, first.get_json()
    page = first.get_json()
    assert [c["id"] for c in page["items"]] == [made[2]["id"], made[1]["id"]] and page["next"]
    rest = api.call("dispatch01", "GET", f"/cases?kind=complaint&sort=-created_at&limit=2&after={page['next']}")
    assert [c["id"] for c in rest.get_json()["items"]] == [made[0]["id"]]
    unknown = api.call("dispatch01", "GET", "/cases?colour=red")
    assert unknown.status_code == 422 and "colour" in str(unknown.get_json())


def test_the_monthly_report_answers_named_rates_and_a_five_term_balance(client, demo):
    api = Api(client)
    api.register()
    answer = api.call("leader01", "GET", "/reports/monthly?month=2026-11")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert {"timely_acceptance_rate", "on_time_reply_rate", "repeat_count", "participation_rate",
            "participant_satisfaction_rate", "response_rate", "resolution_rate", "satisfaction_rate",
            "score"} <= set(body["rates"])
    balance = body["balance"]
    assert set(balance) >= {"carried_over", "new", "closed", "returned", "terminated", "open_at_end", "ok"}
    assert balance["ok"] is True and balance["new"] == 1 and balance["open_at_end"] == balance["carried_over"] + 1
    bad = api.call("leader01", "GET", "/reports/monthly?month=2026-13")
    assert bad.status_code == 422 and "month" in str(bad.get_json())


def test_an_export_answers_an_id_then_its_progress_and_url(client, demo):
    api = Api(client)
    api.register()
    started = api.call("leader01", "POST", "/exports", json={"query": {"kind": "complaint"}, "format": "xlsx"})
    assert started.status_code in (201, 202), started.get_json()
    status = api.call("leader01", "GET", f"/exports/{started.get_json()['id']}").get_json()
    assert status["progress"] == 100 and status["url"]
    assert client.get(status["url"], headers={"Authorization": f"Bearer {api.token('leader01')}"}).status_code == 200
    wrong = api.call("leader01", "POST", "/exports", json={"query": {}, "format": "pdf"})
    assert wrong.status_code == 422 and "format" in str(wrong.get_json())


def test_the_knowledge_search_and_suggest_answer_ranked_items(client, demo):
    api = Api(client)
    found = api.call("agent01", "GET", "/knowledge?q=居住证").get_json()
    assert found["items"] and {"id", "title", "answer", "unit", "score"} <= set(found["items"][0])
    suggested = api.call("agent01", "POST", "/knowledge/suggest", json={"content": "外地户口怎么办居住证"}).get_json()
    assert suggested["items"] and "居住证" in suggested["items"][0]["title"]
    scores = [i["score"] for i in found["items"]]
    assert scores == sorted(scores, reverse=True)


def test_the_pages_fixed_for_acceptance_answer(client, auth, demo):
    assert client.get("/portal/faq?q=居住证").status_code == 200
    auth.login("leader01")
    for path in ("/query", "/reports", "/screening", "/knowledge"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert csrf_token_of(page.get_data(as_text=True))
    entry = Api(client).call("agent01", "GET", "/knowledge?q=居住证").get_json()["items"][0]
    assert "居住证" in client.get(f"/knowledge/{entry['id']}").get_data(as_text=True)
