"""Rows of the fault table (../shared/FAULT-TABLE.md, mapped in docs/fault-table.md) that no other test holds:
hostile caller IDs, stored XSS, CSRF and state-changing GETs, audit purges, the longest printable case."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from lifecycle_driver import Api, deploy, timed_bpmn
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from app.models import AuditEvent, Call
from app.services import auth as tokens
from app.services.actors import SYSTEM
from app.services.documents import document_pdf
from tests.conftest import Auth, csrf_token_of
from tests.integration.test_documents import actor, dispatch, pdf_text, poppler, register

SCRIPT = '<script>alert("xss")</script>'
HOSTILE_NAME = "张三\r\nX-Injected: 1<script>'; DROP TABLE call;--../../etc/passwd"


def _quotes(page: str) -> str:
    """The page with Jinja's escaped quotes put back, so an escaped payload can be looked for whole."""
    return page.replace("&#34;", '"').replace("&#39;", "'")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- row 14: CallerID / CallerIDName with CRLF, markup, SQL and ../ --------------------------------------


def test_a_hostile_caller_id_is_stored_as_data_and_shown_escaped(client, demo, auth: Auth):
    token = bridge_token(demo)
    body = {"pbx_id": "pbx-1", "linkedid": "9.1", "kind": "abandoned", "caller_number": SCRIPT,
            "caller_name": HOSTILE_NAME, "queue": "hotline", "started_at": "2026-11-25T01:00:00.000+00:00",
            "hold_seconds": 12}

    posted = client.post("/api/v1/calls/events", json=body, headers=_bearer(token))
    auth.login("agent01")
    page = _quotes(client.get("/callbacks").get_data(as_text=True))

    assert posted.status_code == 201
    with demo.db.reading() as session:
        call = session.scalars(select(Call)).one()  # the table is still there, holding the one call
        assert demo.cipher.decrypt(call.caller_name_enc, "call.caller_name") == HOSTILE_NAME[:60]
        assert demo.cipher.decrypt(call.caller_number_enc, "call.caller_number") == SCRIPT
    assert SCRIPT not in page and html.escape(SCRIPT, quote=False) in page


def bridge_token(platform) -> str:  # type: ignore[no-untyped-def]
    """A machine token with scope 'calls', as `flask tokens create --scope calls` prints it."""
    return tokens.create_machine_token(platform, SYSTEM, "pbx-1", "calls")


# ---- row 15: a recording path that would leave the recordings directory -----------------------------------


def test_a_recording_linked_out_of_the_directory_is_404_and_audited(client, demo, auth: Auth, test_config):
    instance = Path(str(test_config["INSTANCE_PATH"]))
    (instance / "recordings" / "pbx-1").mkdir(parents=True)
    (instance / "secret.wav").write_bytes(b"secret")
    (instance / "recordings" / "pbx-1" / "msg0009.wav").symlink_to(instance / "secret.wav")
    token = bridge_token(demo)
    posted = client.post("/api/v1/calls/events", headers=_bearer(token), json={
        "pbx_id": "pbx-1", "linkedid": "9.2", "kind": "voicemail", "caller_number": "13800138000",
        "started_at": "2026-11-25T01:00:00.000+00:00", "voicemail_file": "/var/spool/msg0009"}).get_json()
    auth.login("agent01")

    played = client.get(f"/calls/{posted['call_id']}/recording")

    assert played.status_code == 404 and b"secret" not in played.data
    with demo.db.reading() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.action == "call.recording_refused")).all()
        played_rows = session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "call.recording_played"))
    assert [(e.actor, e.detail["call_id"]) for e in refused] == [("agent01", posted["call_id"])]
    assert played_rows == 0


# ---- row 29: stored XSS in complaint text and BPMN names -------------------------------------------------


def test_markup_in_a_complaint_and_in_a_process_name_renders_as_text(client, demo, auth: Auth):
    api = Api(client)
    case = api.register(subject=f"停水{SCRIPT}", content='<img src=x onerror="alert(1)">物业不答复')
    named = timed_bpmn().replace('name="限时工单"'.encode(), b'name="&lt;script&gt;alert(1)&lt;/script&gt;"')
    assert deploy(api, named).status_code == 201

    auth.login("dispatch01")
    case_page = client.get(f"/cases/{case['id']}")
    worklist = client.get("/worklist").get_data(as_text=True)
    auth.logout()
    auth.login("sysadmin")
    definitions = client.get("/admin/definitions").get_data(as_text=True)

    shown = _quotes(case_page.get_data(as_text=True))
    assert SCRIPT not in shown and "<img src=x" not in shown
    assert html.escape(SCRIPT, quote=False) in shown
    assert SCRIPT not in worklist and "停水&lt;script&gt;" in worklist
    assert "<script>alert(1)</script>" not in definitions and "&lt;script&gt;alert(1)&lt;/script&gt;" in definitions
    policy = case_page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy


# ---- row 32: CSRF with a foreign token, and GETs that would change state ---------------------------------


def test_a_token_from_another_session_is_refused_and_changes_nothing(app, demo):
    mine, theirs = Auth(app.test_client()), Auth(app.test_client())
    mine.login("agent01")
    theirs.login("cg01")
    foreign = csrf_token_of(mine.client.get("/").get_data(as_text=True))

    refused = theirs.client.post("/logout", data={"csrf_token": foreign})
    cross_site = theirs.client.post("/logout", headers={"Origin": "https://evil.example",
                                                        "Referer": "https://evil.example/x"})

    assert refused.status_code == 400 and cross_site.status_code == 400
    assert "页面已过期或来源不明" in refused.get_data(as_text=True)
    still = theirs.client.get("/")
    assert still.status_code == 200 and "刘志强" in still.get_data(as_text=True)  # still signed in


def test_no_get_changes_state(client, demo, auth: Auth):
    case_id = register(demo)
    auth.login("dispatch01")
    with demo.db.reading() as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))

    answers = [client.get(url).status_code for url in (
        "/logout", f"/cases/{case_id}/reveal", f"/cases/{case_id}/supervise", "/tasks/x", "/intake/duplicates",
        "/audit/verify", "/leader/supervise")]

    assert answers == [405] * len(answers)
    with demo.db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before  # no reveal, no sign-out
    assert client.get("/worklist").status_code == 200


# ---- row 39: audit rows cannot be purged -----------------------------------------------------------------


def test_a_purge_of_audit_rows_younger_than_180_days_is_refused(demo):
    cutoff = demo.clock.now() - timedelta(days=180)
    with demo.db.reading() as session:
        young = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.at > cutoff))

    with pytest.raises(DBAPIError, match="append-only"), demo.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE at > :cutoff"), {"cutoff": cutoff})
    if not demo.db.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"), demo.db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event"))

    with demo.db.reading() as session:
        assert young and session.scalar(select(func.count()).select_from(AuditEvent)
                                        .where(AuditEvent.at > cutoff)) == young


# ---- row 34: the longest case the API takes still prints whole, in a bounded number of pages -------------


def test_the_longest_allowed_content_prints_whole_on_a_few_pages(demo, tmp_path):
    content = ("某工地每晚十点后仍在施工,噪声很大。" * 1200)[:19990] + "以上为全部诉求。"  # the API's cap is 20,000
    case_id = register(demo, content=content)
    dispatch(demo, case_id)

    pdf = document_pdf(demo, actor(demo, "cg01"), case_id, "transfer_form").pdf

    pages = int(re.search(r"Pages:\s+(\d+)", poppler("pdfinfo", pdf, tmp_path)).group(1))  # type: ignore[union-attr]
    assert pdf_text(pdf, tmp_path).count("以上为全部诉求。") == 1
    assert 1 < pages <= 20
