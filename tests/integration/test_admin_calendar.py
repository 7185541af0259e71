"""/admin/calendar: paste a year from the notice, compare with chinese-calendar, confirm (audited)."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditEvent, CalendarYear
from tests.conftest import csrf_token_of


def test_a_pasted_year_is_compared_then_confirmed(client, auth, demo):
    auth.login("sysadmin")
    token = csrf_token_of(client.get("/admin/calendar?year=2026").get_data(as_text=True))
    text = "2027-01-01 休 元旦\n2027-02-07 班\n"
    compared = client.post("/admin/calendar", data={"year": "2027", "entries": text, "confirm": "0",
                                                    "csrf_token": token})
    assert compared.status_code == 200 and "比对" in compared.get_data(as_text=True)
    bad = client.post("/admin/calendar", data={"year": "2027", "entries": "2027-13-01 休", "confirm": "1",
                                               "csrf_token": token})
    assert bad.status_code == 422 and "第 1 行" in bad.get_data(as_text=True)
    done = client.post("/admin/calendar", data={"year": "2027", "entries": text, "confirm": "1", "csrf_token": token})
    assert done.status_code == 302
    with demo.db.reading() as session:
        assert session.get(CalendarYear, 2027) is not None
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "calendar.confirmed")).one()
    assert "2027-02-07" in client.get("/admin/calendar?year=2027").get_data(as_text=True)
    auth.logout()
    auth.login("secadmin")
    assert client.get("/admin/calendar").status_code == 403
