"""矛盾纠纷排查 (/screening): the flagged cases for leaders, the risk trends, and the 排查表 staff fill."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from app.domain.roles import REPORT_ROLES
from app.domain.screening import LEVELS
from app.errors import Invalid
from app.services import screening
from app.web.context import current_actor, platform

bp = Blueprint("screening", __name__)


def _page(values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200
          ) -> ResponseReturnValue:
    actor = current_actor()
    level = request.args.get("level") or None
    forms = screening.forms(platform(), actor)  # any staff member: the 排查表 of their unit
    reader = bool(actor.roles & REPORT_ROLES)  # leaders and dispatchers: the flagged cases and the trends
    return render_template("screening/index.html", forms=forms, levels=LEVELS, level=level, v=values or {},
                           errors=errors or {}, flagged=screening.flagged(platform(), actor, level) if reader else None,
                           trends=screening.trends(platform(), actor) if reader else None), status


@bp.get("/screening")
def screening_page() -> ResponseReturnValue:
    return _page()


@bp.post("/screening/forms")
def add_form() -> ResponseReturnValue:
    f = request.form
    values = {k: f.get(k, "") for k in ("found_on", "place", "dispute_type", "parties", "summary", "level",
                                       "people_involved", "measures", "case_number")}
    try:
        try:
            found_on = date.fromisoformat(values["found_on"])
        except ValueError:
            raise Invalid("请填写排查日期", {"found_on": "排查日期格式应为 YYYY-MM-DD"}) from None
        people = values["people_involved"].strip() or "1"
        if not people.isdigit():
            raise Invalid("涉及人数有误", {"people_involved": "涉及人数应为正整数"})
        screening.add_form(platform(), current_actor(), screening.ScreeningForm(
            found_on=found_on, place=values["place"], dispute_type=values["dispute_type"], parties=values["parties"],
            summary=values["summary"], level=values["level"], people_involved=int(people),
            measures=values["measures"], case_number=values["case_number"] or None))
    except Invalid as e:
        return _page(values, {k: str(v) for k, v in e.details.items()}, 422)
    flash("排查表已保存")
    return redirect(url_for("screening.screening_page"))
