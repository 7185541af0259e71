"""派单目录: which unit a case of a category in an area goes to, so the dispatcher confirms instead of searching.

A rule names a category code (covering its subtree) and an area (a district or street of the unit tree, or
any area). The most specific valid rule wins: the deepest area first (street over district over any), then
the deepest category. Rules are read on every proposal, so an administrator's change acts on the next case.
A dispatcher who chooses another unit says why; each override is audited against its rule, and the
leader's desk counts them (the list of rules to fix).
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Invalid, NotFound, NotPermitted
from app.models import AuditEvent, Case, DictionaryEntry, RoutingRule, Unit
from app.services import audit, dictionary
from app.services.actors import Actor
from app.services.platform import Platform
from app.services.units import every_unit

MODES = {"direct": "直派", "via_district": "经区县转派"}
ANY_AREA = "任意区域"
OVERRIDDEN = "routing.overridden"


def _valid_on(rule: RoutingRule, today: date) -> bool:
    return rule.active and (rule.valid_from is None or rule.valid_from <= today) \
        and (rule.valid_to is None or today <= rule.valid_to)


def rule_text(session: Session, rule: RoutingRule) -> str:
    """"城乡建设/供水 × 东城区 → 市水务局": what the dispatcher reads as the reason for the proposal."""
    area = session.get(Unit, rule.area_unit_id) if rule.area_unit_id else None
    lead = session.get(Unit, rule.lead_unit_id)
    return f"{rule.category} × {area.name if area else ANY_AREA} → {lead.name if lead else rule.lead_unit_id}"


def _lineage(session: Session, category: str) -> dict[str, int]:
    """The category code and each of its ancestors' codes → depth in the tree (1 = top level)."""
    rows = {r.id: r for r in dictionary.entries(session, "category")}
    by_code = {r.code: r for r in rows.values()}
    chain: list[str] = []
    node = by_code.get(category)
    while node is not None and len(chain) < 20:
        chain.append(node.code)
        node = rows.get(node.parent_id) if node.parent_id else None
    if not chain:  # a code the tree does not know (retired, or a path): its own path is its lineage
        parts = category.split("/")
        chain = ["/".join(parts[:i]) for i in range(len(parts), 0, -1)]
    return {code: len(chain) - i for i, code in enumerate(chain)}


def best_rule(session: Session, category: str | None, area_unit_id: int | None, today: date) -> RoutingRule | None:
    """The most specific valid rule for a category and an area (None when no rule covers them)."""
    if not category:
        return None
    lineage = _lineage(session, category)
    paths = {u.id: u.path for u in every_unit(session)}
    area_path = paths.get(area_unit_id, "") if area_unit_id is not None else ""
    best: tuple[int, int, int] | None = None
    chosen = None
    rules = session.scalars(select(RoutingRule).where(RoutingRule.category.in_(list(lineage)),
                                                      RoutingRule.active.is_(True)))
    for rule in rules:
        if not _valid_on(rule, today):
            continue
        if rule.area_unit_id is None:
            area_depth = 0
        else:
            rule_path = paths.get(rule.area_unit_id, "")
            if not rule_path or not area_path.startswith(rule_path):
                continue
            area_depth = rule_path.count("/")
        rank = (area_depth, lineage[rule.category], -rule.id)
        if best is None or rank > best:
            best, chosen = rank, rule
    return chosen


def district_of(session: Session, area_unit_id: int | None) -> Unit | None:
    """The active district (区县) an area lies in: the area itself, or the nearest district above a street."""
    area = session.get(Unit, area_unit_id) if area_unit_id else None
    if area is None:
        return None
    ids = [int(p) for p in area.path.strip("/").split("/") if p.isdigit()]
    above = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids), Unit.kind == "district",
                                                                 Unit.active.is_(True)))}
    return next((above[i] for i in reversed(ids) if i in above), None)


def proposal(session: Session, category: str | None, area_unit_id: int | None, today: date) -> dict[str, Any] | None:
    """What the dispatch page pre-fills: the unit to send to, assisting units, mode and the rule that chose them.

    经区县转派 (via_district): the case goes first to the district the address lies in (the case's area, else the
    rule's), which passes it on; the rule's lead unit travels as `final_unit_id` and in the note. With no
    district to go through (no area, or the lead is the district itself) it is sent straight to the lead unit,
    and the note says so."""
    rule = best_rule(session, category, area_unit_id, today)
    if rule is None:
        return None
    lead = session.get(Unit, rule.lead_unit_id)
    lead_name = lead.name if lead else ""
    found = {"rule_id": rule.id, "rule": rule_text(session, rule), "unit_id": rule.lead_unit_id,
             "unit_name": lead_name, "mode": rule.mode, "mode_label": MODES.get(rule.mode, rule.mode),
             "assisting_unit_ids": list(rule.assisting_unit_ids or []),
             "directly_designated": rule.directly_designated, "final_unit_id": None, "final_unit_name": None,
             "note": ""}
    if rule.mode == "via_district":
        district = district_of(session, area_unit_id or rule.area_unit_id)
        if district is not None and district.id != rule.lead_unit_id:
            found.update(unit_id=district.id, unit_name=district.name, final_unit_id=rule.lead_unit_id,
                         final_unit_name=lead_name,
                         note=f"经区县转派:派至{district.name},由其转派{lead_name}承办(依据派单目录)")
        else:
            found["note"] = f"经区县转派:诉求未定所在区县,直接派至{lead_name}"
    return found


def try_route(platform: Platform, actor: Actor, category: Any, area: Any) -> dict[str, Any]:
    """试派: which rule a category + area would hit today, without dispatching anything."""
    errors = {}
    if not isinstance(category, str) or not category.strip():
        errors["category"] = "请填写事项分类编码"
    area_id = _unit_id(area, "area", errors, required=False)
    if errors:
        raise Invalid("试派信息有误", errors)
    with platform.db.reading() as session:
        if area_id is not None and session.get(Unit, area_id) is None:
            raise Invalid("区域不存在", {"area": f"区域单位不存在:{area}"})
        found = proposal(session, category.strip(), area_id, platform.clock.now().date())
    if found is None:
        return {"unit_id": None, "mode": None, "rule": None, "rule_id": None}
    return {key: found[key] for key in ("unit_id", "unit_name", "mode", "rule", "rule_id", "assisting_unit_ids",
                                        "directly_designated", "final_unit_id", "final_unit_name", "note")}


def _unit_id(value: Any, field: str, errors: dict[str, str], *, required: bool) -> int | None:
    if value is None or value == "" or value == "any":
        if required:
            errors[field] = "请选择单位"
        return None
    if isinstance(value, bool):
        errors[field] = f"单位编号无效:{value}"
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = f"单位编号无效:{value}"
        return None
    if not 0 < number < 2**31:
        errors[field] = f"单位编号无效:{value}"
        return None
    return number


def _date(value: Any, field: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = f"日期格式应为 YYYY-MM-DD:{value}"
        return None


def _as_dict(session: Session, rule: RoutingRule) -> dict[str, Any]:
    return {"id": rule.id, "category": rule.category, "area_unit_id": rule.area_unit_id,
            "lead_unit_id": rule.lead_unit_id, "assisting_unit_ids": list(rule.assisting_unit_ids or []),
            "mode": rule.mode, "directly_designated": rule.directly_designated,
            "valid_from": rule.valid_from.isoformat() if rule.valid_from else None,
            "valid_to": rule.valid_to.isoformat() if rule.valid_to else None,
            "active": rule.active, "note": rule.note, "text": rule_text(session, rule)}


def list_rules(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The whole 派单目录 with how often dispatchers overrode each rule."""
    with platform.db.reading() as session:
        counts = override_counts(session)
        today = platform.clock.now().date()
        rows = session.scalars(select(RoutingRule).order_by(RoutingRule.category, RoutingRule.id)).all()
        return [dict(_as_dict(session, r), overrides=counts.get(r.id, 0), in_force=_valid_on(r, today))
                for r in rows]


def _parsed(values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The rule's fields from a form or JSON body, each fault named in `errors`."""
    category = values.get("category")
    category = category.strip() if isinstance(category, str) else ""
    if not category:
        errors["category"] = "请选择事项分类"
    raw_assisting = values.get("assisting_unit_ids") or []
    if isinstance(raw_assisting, str):
        raw_assisting = [p for p in raw_assisting.replace("，", ",").split(",") if p.strip()]
    if not isinstance(raw_assisting, list):
        errors["assisting_unit_ids"] = "协办单位应为单位编号列表"
        raw_assisting = []
    mode = values.get("mode") or "direct"
    if mode not in MODES:
        errors["mode"] = f"派单方式无效:{mode}"
    note = values.get("note") or ""
    if not isinstance(note, str) or len(note) > 200:
        errors["note"] = "备注不超过 200 个字"
    valid_from = _date(values.get("valid_from"), "valid_from", errors)
    valid_to = _date(values.get("valid_to"), "valid_to", errors)
    if valid_from and valid_to and valid_to < valid_from:
        errors["valid_to"] = "失效日期不得早于生效日期"
    parsed: dict[str, Any] = {"category": category, "mode": mode, "note": note,
              "area_unit_id": _unit_id(values.get("area_unit_id"), "area_unit_id", errors, required=False),
              "lead_unit_id": _unit_id(values.get("lead_unit_id"), "lead_unit_id", errors, required=True),
              "assisting_unit_ids": [_unit_id(v, "assisting_unit_ids", errors, required=True) for v in raw_assisting],
              "valid_from": valid_from, "valid_to": valid_to,
              "directly_designated": values.get("directly_designated") in (True, "1", "on", "true")}
    return parsed


def _check_references(session: Session, parsed: dict[str, Any], errors: dict[str, str]) -> None:
    """The category is in the dictionary and every unit exists (the lead unit active): else named."""
    category = parsed["category"]
    if category and session.scalar(select(DictionaryEntry.id).where(
            DictionaryEntry.kind == "category", DictionaryEntry.code == category)) is None:
        errors["category"] = f"事项分类不存在:{category}"
    for field in ("area_unit_id", "lead_unit_id"):
        unit_id = parsed[field]
        if unit_id is None or field in errors:
            continue
        unit = session.get(Unit, unit_id)
        if unit is None:
            errors[field] = f"单位不存在:{unit_id}"
        elif field == "lead_unit_id" and not unit.active:
            errors[field] = f"单位已停用:{unit.name}"
    if "assisting_unit_ids" not in errors:
        missing = [u for u in parsed["assisting_unit_ids"] if session.get(Unit, u) is None]
        if missing:
            errors["assisting_unit_ids"] = f"单位不存在:{missing[0]}"


def save_rule(platform: Platform, actor: Actor, values: dict[str, Any], rule_id: int | None = None) -> dict[str, Any]:
    """Add or change a rule; every field is checked (an unknown unit is named), the change audited before/after."""
    if not actor.can("dictionary.edit"):
        raise NotPermitted("没有维护派单目录的权限")
    errors: dict[str, str] = {}
    parsed = _parsed(values, errors)
    with platform.db.unit_of_work() as session:
        _check_references(session, parsed, errors)
        if errors:
            raise Invalid("派单目录规则有误", errors)
        if rule_id is None:
            rule, before = RoutingRule(active=True), None
            session.add(rule)
        else:
            found = session.get(RoutingRule, rule_id)
            if found is None:
                raise NotFound(f"派单目录规则不存在:{rule_id}")
            rule, before = found, _as_dict(session, found)
        for name, value in parsed.items():
            setattr(rule, name, value)
        if "active" in values:
            rule.active = values.get("active") in (True, "1", "on", "true")
        session.flush()
        after = _as_dict(session, rule)
        audit.record(session, platform, actor, "routing.saved", detail={"before": before, "after": after})
        session.commit()
        return after


def override_counts(session: Session) -> Counter[int]:
    """Rule id → how many dispatches chose another unit than it proposed."""
    details = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == OVERRIDDEN))
    return Counter(int(d["rule_id"]) for d in details if isinstance(d, dict) and d.get("rule_id") is not None)


def check_dispatch(session: Session, platform: Platform, actor: Actor, case: Case, data: dict[str, Any]) -> None:
    """At 派单 (same transaction): a choice other than the proposal needs a reason in 派单意见, and is audited."""
    found = proposal(session, case.category, case.area_unit_id, platform.clock.now().date())
    if found is None:
        return
    chosen = None if data.get("dispatch_mode") == "self_handle" else data.get("lead_unit_id")
    if chosen is not None and str(chosen) == str(found["unit_id"]):
        return
    reason = str(data.get("dispatch_note") or "").strip()
    if not reason:
        message = f"未按派单目录派给 {found['unit_name']}，请在派单意见中说明理由"
        raise Invalid(message, {"dispatch_note": message})
    audit.record(session, platform, actor, OVERRIDDEN, case_id=case.id,
                 detail={"rule_id": found["rule_id"], "rule": found["rule"], "proposed": found["unit_id"],
                         "chosen": chosen, "mode": data.get("dispatch_mode"), "reason": reason})


def overridden_rules(session: Session) -> list[dict[str, Any]]:
    """The leader's list of rules to fix: each overridden rule with its count, most overridden first."""
    counts = override_counts(session)
    rules = {r.id: r for r in session.scalars(select(RoutingRule).where(RoutingRule.id.in_(list(counts))))} \
        if counts else {}
    every_unit(session)  # rule_text's units, in one query
    return [{"rule_id": rule_id, "rule": rule_text(session, rules[rule_id]), "overrides": n}
            for rule_id, n in counts.most_common() if rule_id in rules]
