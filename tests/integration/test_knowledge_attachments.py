"""知识库 entries with attachments (a form, a map) and a rich-text answer, on both databases: the files are checked by
content (a script named .jpg refused, naming the field), images lose their EXIF, they are stored outside the web
root and downloaded by whoever may read the entry — on the portal only once it is published. The rich answer
keeps paragraphs, lists, bold and links, loses scripts, and still reads aloud as plain text."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from lifecycle_driver import Api
from PIL import Image
from sqlalchemy import select

from app.models import AuditEvent, KnowledgeAttachment, KnowledgeEntry
from tests.conftest import csrf_token_of
from tests.integration.test_knowledge import EDITOR, ENTRY, REVIEWER, _act, _sign_in, _sign_out
from tests.integration.test_portal import jpeg_with_gps

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RICH = ('<p>异地转入需要:</p><ol><li>身份证</li><li><b>新单位开户证明</b></li></ol>'
        '<p>详见<a href="https://gjj.example.gov.cn/zy">转移接续指南</a>。<script>alert("x")</script></p>'
        '<img src="x" onerror="alert(1)">')


@pytest.fixture
def api(client, demo) -> Api:  # type: ignore[no-untyped-def]
    return Api(client)


def _draft(client) -> int:  # type: ignore[no-untyped-def]
    _sign_in(client, EDITOR)
    page = client.get("/knowledge/new").get_data(as_text=True)
    response = client.post("/knowledge", data={**ENTRY, "answer": RICH, "csrf_token": csrf_token_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _upload(client, entry_id: int, files: list[tuple[bytes, str]]):  # type: ignore[no-untyped-def]
    token = csrf_token_of(client.get(f"/knowledge/{entry_id}").get_data(as_text=True))
    return client.post(f"/knowledge/{entry_id}/attachments", content_type="multipart/form-data",
                       data={"csrf_token": token, "attachments": [(io.BytesIO(b), n) for b, n in files]})


def test_an_entry_carries_a_form_and_a_map_that_its_readers_download_and_the_portal_once_published(
        client, demo, api):  # type: ignore[no-untyped-def]
    entry_id = _draft(client)
    refused = _upload(client, entry_id, [(b"#!/bin/sh\nrm -rf /\n", "地图.jpg")])
    assert refused.status_code == 422
    assert "附件:附件「地图.jpg」不是图片" in refused.get_data(as_text=True)
    assert _upload(client, entry_id, [(jpeg_with_gps(), "地图.jpg"), (PDF, "申请表.pdf")]).status_code == 302

    page = client.get(f"/knowledge/{entry_id}").get_data(as_text=True)
    assert "地图.jpg" in page and "申请表.pdf" in page
    with demo.db.reading() as session:
        rows = {r.filename: r for r in session.scalars(select(KnowledgeAttachment)
                                                       .where(KnowledgeAttachment.entry_id == entry_id))}
        assert set(rows) == {"地图.jpg", "申请表.pdf"}  # the refused upload stored nothing
        assert session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "knowledge.attachments_added")) == "knowledge.attachments_added"
    stored = Path(demo.settings.INSTANCE_PATH) / "attachments" / rows["地图.jpg"].stored_name
    assert stored.is_file() and "static" not in stored.parts and "地图" not in stored.name
    image = client.get(f"/knowledge/{entry_id}/attachments/{rows['地图.jpg'].id}")
    assert image.status_code == 200 and image.headers["Content-Disposition"].startswith("attachment")
    assert dict(Image.open(io.BytesIO(image.data)).getexif()) == {}  # no GPS position, no camera
    form = rows["申请表.pdf"].id

    _sign_in(client, "agent01")  # a reader: a draft of 住建局 is not theirs to read
    assert client.get(f"/knowledge/{entry_id}/attachments/{form}").status_code == 404
    _sign_out(client)
    assert client.get(f"/portal/faq/{entry_id}/attachments/{form}").status_code == 404  # a draft: never public

    _sign_in(client, EDITOR)
    _act(client, entry_id, "submit")
    _sign_in(client, REVIEWER)
    _act(client, entry_id, "publish")
    _sign_in(client, "agent01")
    assert client.get(f"/knowledge/{entry_id}/attachments/{form}").data == PDF
    _sign_out(client)
    public = client.get(f"/portal/faq/{entry_id}").get_data(as_text=True)
    assert f'/portal/faq/{entry_id}/attachments/{form}"' in public and "申请表.pdf" in public
    assert client.get(f"/portal/faq/{entry_id}/attachments/{form}").data == PDF
    assert client.get(f"/portal/faq/{entry_id}/attachments/{form + 1000}").status_code == 404

    _sign_in(client, EDITOR)  # an editor's change to a published entry: back to review, off the portal
    token = csrf_token_of(client.get(f"/knowledge/{entry_id}").get_data(as_text=True))
    assert client.post(f"/knowledge/{entry_id}/attachments/{form}/delete",
                       data={"csrf_token": token}).status_code == 302
    with demo.db.reading() as session:
        assert session.get(KnowledgeEntry, entry_id).state == "pending"
        assert session.get(KnowledgeAttachment, form) is None
    _sign_out(client)
    assert client.get(f"/portal/faq/{entry_id}/attachments/{rows['地图.jpg'].id}").status_code == 404


def test_a_rich_answer_keeps_its_lists_and_links_loses_scripts_and_reads_aloud_as_plain_text(client, demo, api):
    entry_id = _draft(client)
    page = client.get(f"/knowledge/{entry_id}").get_data(as_text=True)
    assert "<ol><li>身份证</li><li><b>新单位开户证明</b></li></ol>" in page
    assert 'href="https://gjj.example.gov.cn/zy" rel="noopener noreferrer nofollow"' in page
    assert "<script>alert" not in page and "onerror" not in page
    with demo.db.reading() as session:
        entry = session.get(KnowledgeEntry, entry_id)
        assert entry.answer == ("异地转入需要:\n1. 身份证\n2. 新单位开户证明\n"
                                "详见转移接续指南(https://gjj.example.gov.cn/zy)。")
    edit = client.get(f"/knowledge/{entry_id}/edit").get_data(as_text=True)
    assert "&lt;ol&gt;&lt;li&gt;身份证" in edit  # the editor edits the rich text, not its reading

    _act(client, entry_id, "submit")
    _sign_in(client, REVIEWER)
    _act(client, entry_id, "publish")
    item = api.call("agent01", "GET", f"/knowledge/{entry_id}").get_json()
    assert item["answer"].startswith("异地转入需要:\n1. 身份证") and "<" not in item["answer"]
    assert "<li>身份证</li>" in item["answer_html"]
    found = api.call("agent01", "POST", "/knowledge/suggest", json={"content": "外地公积金怎么转到本市"}).get_json()
    assert found["items"][0]["id"] == entry_id and "<" not in found["items"][0]["answer"]  # what 用此答复 fills
    _sign_out(client)
    assert "<li>身份证</li>" in client.get(f"/portal/faq/{entry_id}").get_data(as_text=True)


def test_an_answer_that_is_only_markup_is_refused_naming_the_field(client, demo):
    _sign_in(client, EDITOR)
    page = client.get("/knowledge/new").get_data(as_text=True)
    response = client.post("/knowledge", data={**ENTRY, "answer": "<script>alert(1)</script><p> </p>",
                                               "csrf_token": csrf_token_of(page)})
    assert response.status_code == 422
    assert "请填写答复口径" in response.get_data(as_text=True)


def test_the_editors_preview_is_the_servers_sanitised_answer_and_the_form_works_without_script(client, demo):
    """The toolbar is hidden until its script shows it: without JavaScript the textarea takes the markup typed by
    hand. The live preview is the server's reading (nh3): scripts gone, links marked, the plain reading beside."""
    _sign_in(client, EDITOR)
    page = client.get("/knowledge/new").get_data(as_text=True)
    assert '<div class="rich-toolbar" id="answer-toolbar" role="group" aria-label="答复口径格式" hidden>' in page
    assert 'title="加粗(Ctrl+B):把选中的文字加粗"' in page and '<textarea id="answer" name="answer"' in page
    token = csrf_token_of(page)
    preview = client.post("/knowledge/preview", json={"answer": RICH}, headers={"X-CSRFToken": token})
    assert preview.status_code == 200
    shown = preview.get_json()
    assert "<li><b>新单位开户证明</b></li>" in shown["html"] and "<script" not in shown["html"]
    assert "onerror" not in shown["html"] and 'rel="noopener noreferrer nofollow"' in shown["html"]
    assert shown["text"].startswith("异地转入需要:\n1. 身份证")
    plain = client.post("/knowledge/preview", json={"answer": "带身份证\n到窗口办理"}, headers={"X-CSRFToken": token})
    assert plain.get_json() == {"html": "", "text": "带身份证\n到窗口办理"}
    too_long = client.post("/knowledge/preview", json={"answer": "字" * 8001},
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert too_long.status_code == 422 and "answer" in too_long.get_json()["details"]
    _sign_out(client)
    _sign_in(client, "agent01")  # an agent reads entries but does not write them
    token = csrf_token_of(client.get("/knowledge").get_data(as_text=True))
    assert client.post("/knowledge/preview", json={"answer": "x"}, headers={"X-CSRFToken": token}).status_code == 403


def test_an_attachment_over_the_size_cap_is_refused_naming_the_field(client, demo, monkeypatch):
    entry_id = _draft(client)
    served = client.application.extensions["huiyin"]
    small = dataclasses.replace(served.settings, ATTACHMENT_MAX_BYTES=1024)  # the case attachments' cap, made small
    monkeypatch.setattr(served, "settings", small)
    refused = _upload(client, entry_id, [(PDF + b"%" * 2000 + b"\n%%EOF\n", "申请表.pdf")])
    assert refused.status_code == 422 and "附件:附件「申请表.pdf」超过" in refused.get_data(as_text=True)
    with demo.db.reading() as session:
        assert session.scalar(select(KnowledgeAttachment.id).where(KnowledgeAttachment.entry_id == entry_id)) is None
