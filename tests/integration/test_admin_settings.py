"""/admin/settings: every registered setting listed; a change is checked by its schema (422 naming it)
and a second app instance on the same database sees it on its next request."""

from __future__ import annotations

from app import create_app
from app.services.settings import SCHEMAS, get_setting
from tests.conftest import csrf_token_of


def test_a_setting_changed_on_the_page_acts_in_another_instance_at_once(app, client, auth, test_config, clock):
    other = create_app(test_config, clock=clock)
    try:
        with other.extensions["huiyin"].db.reading() as session:
            assert get_setting(session, "dedupe.lookback_days") == 90
        auth.login("sysadmin")
        page = client.get("/admin/settings").get_data(as_text=True)
        assert all(schema.label in page for schema in SCHEMAS.values())
        assert "{query_code}" in page and "预览" in page  # SMS placeholders and a preview
        token = csrf_token_of(page)
        bad = client.post("/admin/settings/dedupe.lookback_days", data={"value": "0", "csrf_token": token})
        assert bad.status_code == 422 and "判重回溯天数" in bad.get_data(as_text=True)
        ok = client.post("/admin/settings/dedupe.lookback_days", data={"value": "30", "csrf_token": token})
        assert ok.status_code == 302
        with other.extensions["huiyin"].db.reading() as session:
            assert get_setting(session, "dedupe.lookback_days") == 30
        sms = client.post("/admin/settings/sms.template.reply", data={"value": "已答复 {nope}", "csrf_token": token})
        assert sms.status_code == 422 and "占位符" in sms.get_data(as_text=True)
    finally:
        other.extensions["huiyin"].db.dispose()


def test_the_security_admin_cannot_open_settings(client, auth):
    auth.login("secadmin")
    assert client.get("/admin/settings").status_code == 403
