"""Saved custom reports: private to their owner, or shared with the owner's unit. The question (dimensions,
measure, filters, period kind) is checked as `custom_reports.custom` checks it before it is kept, so a saved report
always runs — for whoever opens it, over their own cases (a shared report never widens anyone's scope)."""

from __future__ import annotations

from typing import Any

from app.errors import Invalid
from app.services import custom_reports, reports, saved
from app.services.actors import Actor
from app.services.platform import Platform

PARAMS = ("period", "rows", "columns", "measure", "kind", "channel", "category")


def question(params: dict[str, str]) -> dict[str, str]:
    """The parameters a saved report keeps, checked (422 naming the field when one is wrong)."""
    kept = {k: str(params[k]).strip() for k in PARAMS if str(params.get(k) or "").strip()}
    if kept.get("period", "month") not in reports.PERIODS or kept.get("period") == "range":
        raise Invalid("报表周期有误", {"period": "保存的报表周期只能是 day、week、month、quarter 或 year"})
    custom_reports.check(custom_reports.CustomQuery(rows=kept.get("rows", ""), measure=kept.get("measure", ""),
                                      columns=kept.get("columns"), kind=kept.get("kind"),
                                      channel=kept.get("channel"), category=kept.get("category")))
    return kept


def listed(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own saved reports and those shared with their unit, by name."""
    return saved.listed(platform, saved.REPORT, actor)


def save(platform: Platform, actor: Actor, name: str, params: dict[str, str], *, shared: bool) -> int:
    reports.require_reader(actor)
    return saved.save(platform, saved.REPORT, actor, name, question(params), shared=shared)


def delete(platform: Platform, actor: Actor, report_id: int) -> None:
    """Only its owner deletes a saved report (a shared one too)."""
    saved.delete(platform, saved.REPORT, actor, report_id)
