"""矛盾纠纷排查: every case's text screened against the administrator's keywords at intake (`screen_case`,
called once from app/services/intake.py and by any later change of a case's text), the flagged cases on the
leaders' list, the 排查表 staff fill, and the risk trends (repeat appeals growing, categories rising faster
than usual, year on year by area). A `high` match tells the centre's leaders at once by SMS (outbox)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain import screening as rules
from app.domain.roles import CASE_ROLES, REPORT_ROLES
from app.errors import Invalid, NotPermitted
from app.models import Case, CaseFlag, DisputeScreening, Unit
from app.services import audit, outbox, scope
from app.services.actors import SYSTEM, Actor
from app.services.platform import Platform
from app.services.settings import get_setting


def screen_case(session: Session, platform: Platform, case: Case) -> list[rules.Match]:
    """Flag the case with the keywords its subject and content hold now (new words only are added and
    audited); a new `high` word queues an SMS to each leader of the centre. Answers every match."""
    found = rules.screen((case.subject, case.content), rules.rules_from(get_setting(session, "screening.rules")))
    if not found:
        return []
    known = set(session.scalars(select(CaseFlag.word).where(CaseFlag.case_id == case.id)))
    new = [m for m in found if m.word not in known]
    if not new:
        return found
    now = platform.clock.now()
    session.add_all(CaseFlag(case_id=case.id, word=m.word, level=m.level, matched_at=now) for m in new)
    session.flush()
    audit.record(session, platform, SYSTEM, "case.flagged", case_id=case.id,
                 detail={"words": [m.word for m in new], "level": rules.top_level(new)})
    if rules.top_level(new) == "high":
        _tell_centre_leaders(session, platform, case, [m for m in new if m.level == "high"])
    return found


def _tell_centre_leaders(session: Session, platform: Platform, case: Case, words: list[rules.Match]) -> None:
    centre = session.scalar(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id).limit(1))
    for user_id, phone in outbox.reachable_people(session, centre, {"leader"}):
        outbox.enqueue(session, platform, dedupe_key=f"screening:{case.id}:{user_id}", template="screening",
                       phone=phone, case_id=case.id, values={
                           "number": case.number, "words": "、".join(m.word for m in words),
                           "level": rules.LEVELS["high"]})


def flags_of(events: list[Any]) -> list[dict[str, str]]:
    """The matched words from a case's audit trail (the case page has it loaded: no extra query)."""
    words: dict[str, str] = {}
    for e in events:
        if e.action == "case.flagged":
            for word in (e.detail or {}).get("words", []):
                words[word] = (e.detail or {}).get("level", "")
    return [{"word": w, "level": lvl, "level_label": rules.LEVELS.get(lvl, "")} for w, lvl in words.items()]


def _require_reader(actor: Actor) -> None:
    if not actor.roles & REPORT_ROLES:
        raise NotPermitted("只有领导和派单员可以查看矛盾纠纷排查")


def flagged(platform: Platform, actor: Actor, level: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The leaders' list: flagged cases the actor may see, the strongest and newest first."""
    _require_reader(actor)
    if level is not None and level not in rules.LEVELS:
        raise Invalid("等级有误", {"level": "只能是 high、medium 或 low"})
    with platform.db.reading() as session:
        query = (select(CaseFlag, Case.number, Case.subject, Case.status, Case.created_at)
                 .join(Case, Case.id == CaseFlag.case_id).where(scope.visible_cases(actor)))
        if level:
            query = query.where(CaseFlag.level == level)
        rows = session.execute(query.order_by(CaseFlag.matched_at.desc(), CaseFlag.case_id.desc())
                               .limit(limit * 5)).all()
    per: dict[int, dict[str, Any]] = {}
    for flag, number, subject, status, created in rows:
        entry = per.setdefault(flag.case_id, {"case_id": flag.case_id, "number": number, "subject": subject,
                                              "status": status, "created_at": created.isoformat(timespec="minutes"),
                                              "words": [], "level": flag.level})
        entry["words"].append(flag.word)
        if rules.RANK[flag.level] > rules.RANK[entry["level"]]:
            entry["level"] = flag.level
    items = sorted(per.values(), key=lambda e: (-rules.RANK[e["level"]], e["created_at"]), reverse=False)
    for e in items:
        e["level_label"] = rules.LEVELS[e["level"]]
    return items[:limit]


@dataclass(frozen=True)
class ScreeningForm:
    """One 排查表 as staff fill it."""

    found_on: date
    place: str
    dispute_type: str
    parties: str
    summary: str
    level: str
    people_involved: int = 1
    measures: str = ""
    case_number: str | None = None


def add_form(platform: Platform, actor: Actor, form: ScreeningForm) -> int:
    """Store a 排查表 of the actor's unit (audited); a named case must be one the actor may see."""
    if not actor.roles & CASE_ROLES or actor.unit_id is None:
        raise NotPermitted("只有业务人员可以填写矛盾纠纷排查表")
    errors = {}
    for name, words, most in (("place", "地点", 200), ("dispute_type", "纠纷类型", 40), ("parties", "当事人", 2000),
                              ("summary", "纠纷简况", 4000), ("measures", "化解措施", 4000)):
        value = getattr(form, name)
        if name != "measures" and not value.strip():
            errors[name] = f"请填写{words}"
        elif len(value) > most:
            errors[name] = f"{words}不超过 {most} 字"
    if form.level not in rules.LEVELS:
        errors["level"] = "请选择风险等级"
    if not 1 <= form.people_involved <= 100000:
        errors["people_involved"] = "涉及人数应为 1 到 100000"
    if form.found_on > platform.clock.now().date():
        errors["found_on"] = "排查日期不能晚于今天"
    with platform.db.unit_of_work() as session:
        case_id = None
        if form.case_number:
            case_id = session.scalar(select(Case.id).where(Case.number == form.case_number.strip(),
                                                          scope.visible_cases(actor)))
            if case_id is None:
                errors["case_number"] = "受理号不存在或不在您的范围内"
        if errors:
            raise Invalid("；".join(errors.values()), errors)
        row = DisputeScreening(unit_id=actor.unit_id, found_on=form.found_on, place=form.place.strip(),
                               dispute_type=form.dispute_type.strip(), parties=form.parties.strip(),
                               summary=form.summary.strip(), level=form.level, people_involved=form.people_involved,
                               measures=form.measures.strip(), case_id=case_id, created_by_id=actor.user_id,
                               created_at=platform.clock.now())
        session.add(row)
        session.flush()
        audit.record(session, platform, actor, "screening.form_added", case_id=case_id,
                     detail={"id": row.id, "level": form.level, "dispute_type": row.dispute_type})
        session.commit()
        return row.id


def forms(platform: Platform, actor: Actor, limit: int = 50) -> list[dict[str, Any]]:
    """排查表 of the actor's unit and the units below it, newest first."""
    if not actor.roles & CASE_ROLES:
        raise NotPermitted("只有业务人员可以查看矛盾纠纷排查表")
    with platform.db.reading() as session:
        rows = session.execute(select(DisputeScreening, Unit.name).join(Unit, Unit.id == DisputeScreening.unit_id)
                               .where(scope.in_scope(actor, DisputeScreening.unit_id))
                               .order_by(DisputeScreening.found_on.desc(), DisputeScreening.id.desc())
                               .limit(limit)).all()
        return [{"id": f.id, "unit": unit, "found_on": f.found_on.isoformat(), "place": f.place,
                 "dispute_type": f.dispute_type, "level_label": rules.LEVELS[f.level], "people": f.people_involved,
                 "summary": f.summary, "measures": f.measures} for f, unit in rows]


def trends(platform: Platform, actor: Actor, today: date | None = None) -> dict[str, Any]:
    """Risk trends: repeat appeals of the last 30 days against the 30 before, categories rising faster than
    their usual (the last 30 days against the mean of the 90 before), and areas year on year."""
    _require_reader(actor)
    today = today or platform.clock.now().date()
    end = datetime.combine(today + timedelta(days=1), datetime.min.time())
    month, before = end - timedelta(days=30), end - timedelta(days=60)
    with platform.db.reading() as session:
        seen = scope.visible_cases(actor)

        def count_by(column: Any, start: datetime, stop: datetime, *where: Any) -> dict[Any, int]:
            return {k: int(n) for k, n in session.execute(select(column, func.count()).where(
                Case.created_at >= start, Case.created_at < stop, seen, *where).group_by(column))}

        repeat_now = count_by(Case.category, month, end, Case.duplicate_of_id.is_not(None))
        repeat_before = count_by(Case.category, before, month, Case.duplicate_of_id.is_not(None))
        recent = count_by(Case.category, month, end)
        usual = count_by(Case.category, end - timedelta(days=120), month)
        areas_now = count_by(Case.area_unit_id, end - timedelta(days=365), end)
        areas_before = count_by(Case.area_unit_id, end - timedelta(days=730), end - timedelta(days=365))
        names = dict(session.execute(select(Unit.id, Unit.name).where(
            Unit.id.in_([a for a in {*areas_now, *areas_before} if a is not None]))).all())
    repeats = sorted(({"category": c, "now": n, "before": repeat_before.get(c, 0)} for c, n in repeat_now.items()
                      if c and n > repeat_before.get(c, 0)), key=lambda r: -(r["now"] - r["before"]))
    rising: list[dict[str, Any]] = []
    for category, n in recent.items():
        mean = usual.get(category, 0) / 3
        if category and n >= 5 and n > 1.5 * mean:
            rising.append({"category": category, "now": n, "usual": round(mean, 1),
                           "ratio": None if not mean else round(n / mean, 2)})
    rising.sort(key=lambda r: -(r["ratio"] or 99))
    areas: list[dict[str, Any]] = [
        {"area": names.get(a, "未填"), "now": areas_now.get(a, 0), "before": areas_before.get(a, 0),
         "change": None if not areas_before.get(a) else round(areas_now.get(a, 0) / areas_before[a] - 1, 3)}
        for a in {*areas_now, *areas_before} if a is not None]
    areas.sort(key=lambda r: -int(r["now"]))
    return {"repeats": repeats[:20], "rising": rising[:20], "areas": areas[:30], "as_of": today.isoformat()}
