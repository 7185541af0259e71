"""The citizens' portal: submit an appeal, look it up, rate the reply, ask for 复查 — without signing in.

Who the citizen is, is proved per case: the 受理号 with its 查询码, or the phone with the last six characters of
the ID number and an SMS code sent to that phone. What a citizen sees is `public_view`: status, the public
timeline (registered, dispatched to which unit, due date, replied), the reply text — never internal notes,
handler names or 工号, nor anyone else's data. An unknown 受理号 and a wrong 查询码 get the same answer
(`NOT_FOUND`) after the same work (a constant-time comparison against a dummy code when there is no case).
Every entry point counts against DB-backed rate limits per address, per 受理号 / phone / 查询码, and overall
(`app.services.rate_limits`, buckets portal_submit, portal_lookup, portal_sms).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import statuses
from app.domain.identity import InvalidPhone, normalise_phone
from app.domain.uploads import CheckedUpload
from app.errors import Conflict, Invalid, NotFound
from app.models import AuditEvent, Case, HumanTask, PortalChallenge, Requester, Unit
from app.services import audit, intake, outbox, rate_limits, tasks
from app.services.actors import Actor
from app.services.dictionary import labels, status_label
from app.services.platform import Platform
from app.services.process import lock_case
from app.services.settings import get_setting
from app.services.workstation.display import category_tree, format_time

PORTAL = Actor(label="portal", name="网上诉求", permissions=frozenset({"case.create"}), scope="portal")
NOT_FOUND = "受理号或查询码不正确,请核对后重新输入"
CHANNEL = "web"  # 网站: what the portal submits
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
CODE_MINUTES = 10  # an SMS code lives this long …
CODE_ATTEMPTS = 5  # … and may be tried this often
_DUMMY_CODE = "X" * 12  # compared against when the 受理号 is unknown: the same work either way
_KIND_ORDER = ("complaint", "help", "consultation", "suggestion", "report", "praise")


@dataclass(frozen=True)
class Submission:
    """The portal form as the citizen filled it (strings as typed; the intake validator judges them)."""

    kind: str
    subject: str
    content: str
    name: str
    phone: str
    category: str = ""
    location: str = ""
    area: str = ""
    lat: str = ""
    lng: str = ""
    id_number: str = ""
    address: str = ""
    confidential: bool = False
    petition: bool = False  # 网上信访 rather than a 12345 appeal


def reference(platform: Platform) -> dict[str, Any]:
    """What the submit form picks from: kinds, the category tree, districts and streets."""
    with platform.db.reading() as session:
        kinds = labels(session, "kind")
        areas = session.scalars(select(Unit).where(Unit.active.is_(True), Unit.kind.in_(intake.AREA_KINDS))
                                .order_by(Unit.path)).all()
        return {"kinds": {k: kinds[k] for k in sorted(kinds, key=lambda k: (_rank(k), k))},
                "categories": category_tree(session),
                "areas": [{"id": u.id, "name": u.name, "kind": u.kind} for u in areas]}


def _rank(kind: str) -> int:
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


def submit(platform: Platform, form: Submission, files: Sequence[CheckedUpload], key: str | None,
           ip: str | None) -> dict[str, Any]:
    """Register the citizen's appeal through the one intake validator; the form's one-time key makes a
    retried POST answer the first case (no second case). Invalid carries the page's field names."""
    rate_limits.hit(platform, "portal_submit", {"address": ip})
    raw: dict[str, Any] = {"kind": form.kind, "channel": CHANNEL, "subject": form.subject, "content": form.content}
    for name in ("category", "location", "area", "lat", "lng"):
        if getattr(form, name):
            raw[name] = getattr(form, name)
    raw["requester"] = {k: v for k, v in {"name": form.name, "phone": form.phone, "id_number": form.id_number,
                                          "address": form.address}.items() if v}
    if not form.phone.strip():  # the portal answers by SMS and looks cases up by phone: it needs one
        raise Invalid("请填写手机号码", {"phone": "请填写手机号码,受理号和查询码将以短信发送"})
    if form.confidential:
        raw["confidential"] = True
    if form.petition:
        with platform.db.reading() as session:
            raw["process"] = str(get_setting(session, "process.petition"))
    try:
        return intake.register(platform, PORTAL, raw, key, files=files, source="portal")
    except Invalid as e:
        raise Invalid(e.message, {k.removeprefix("requester."): v for k, v in e.details.items()}) from e


def lookup(platform: Platform, number: str, query_code: str, ip: str | None) -> dict[str, Any]:
    """The public view of the case with this 受理号 and 查询码; NotFound (one message) for either wrong."""
    number, query_code = number.strip()[:40], query_code.strip().upper()[:20]
    rate_limits.hit(platform, "portal_lookup", {"address": ip, "number": number, "code": query_code})
    with platform.db.reading() as session:
        # The same small read either way (id and code only); the case itself only once the code is right.
        row = session.execute(select(Case.id, Case.query_code).where(Case.number == number)).first()
        matches = hmac.compare_digest((row.query_code if row else _DUMMY_CODE).encode(), query_code.encode())
        if row is None or not matches or not query_code:
            raise NotFound(NOT_FOUND)
        return public_view(session, platform, session.get_one(Case, row.id))


def case_id_of(platform: Platform, number: str) -> int | None:
    with platform.db.reading() as session:
        return session.scalar(select(Case.id).where(Case.number == number.strip()[:40]))


def case_for(platform: Platform, case_id: int) -> dict[str, Any]:
    """The public view of a case the citizen has already proved is theirs (the web layer keeps the proof)."""
    with platform.db.reading() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(NOT_FOUND)
        return public_view(session, platform, case)


# ---- look-up by phone + ID number + SMS code ------------------------------------------------------------


def _phone(raw: str) -> str:
    try:
        return normalise_phone(raw)
    except InvalidPhone as e:
        raise Invalid(str(e), {"phone": str(e)}) from e


def _id_tail(raw: str) -> str:
    tail = "".join(raw.split()).upper()
    if len(tail) != 6 or not tail[:5].isdigit() or not (tail[5].isdigit() or tail[5] == "X"):
        raise Invalid("请填写身份证号后 6 位", {"id_tail": "请填写身份证号后 6 位(末位可为 X)"})
    return tail


def _cases_of(session: Session, platform: Platform, phone: str, id_tail: str) -> list[Case]:
    """The cases whose requester has this phone and an ID number ending in these six characters."""
    phone_hash = platform.cipher.search_hash(phone, "requester.phone")
    people = session.scalars(select(Requester).where(Requester.phone_hash == phone_hash)).all()
    ids = [p.id for p in people
           if (platform.cipher.decrypt(p.id_number_enc, "requester.id_number") or "").upper().endswith(id_tail)]
    if not ids:
        return []
    return list(session.scalars(select(Case).where(Case.requester_id.in_(ids)).order_by(Case.id.desc()).limit(50)))


def send_code(platform: Platform, phone_raw: str, id_tail_raw: str, ip: str | None) -> None:
    """Text a 6-digit code to the phone if a case's requester has it and the ID number's tail; the answer
    is the same either way (who has appealed is nobody's business)."""
    phone, id_tail = _phone(phone_raw), _id_tail(id_tail_raw)
    rate_limits.hit(platform, "portal_sms", {"address": ip, "phone": phone})
    now = platform.clock.now()
    with platform.db.unit_of_work() as session:
        if not _cases_of(session, platform, phone, id_tail) or not phone.startswith("1"):
            return
        code = f"{secrets.randbelow(10**6):06d}"
        challenge = PortalChallenge(phone_hash=_challenge_key(platform, phone, id_tail),
                                    code_hash=_hash(platform, code), attempts=0,
                                    expires_at=now + timedelta(minutes=CODE_MINUTES), created_at=now)
        session.add(challenge)
        session.flush()
        outbox.enqueue(session, platform, dedupe_key=f"portal_code:{challenge.id}", template="portal_code",
                       phone=phone, values={"code": code})
        session.commit()


def verify_code(platform: Platform, phone_raw: str, id_tail_raw: str, code: str,
                ip: str | None) -> list[dict[str, Any]]:
    """The requester's cases (受理号, subject, status, id) once the SMS code is right; NotFound otherwise."""
    phone, id_tail = _phone(phone_raw), _id_tail(id_tail_raw)
    rate_limits.hit(platform, "portal_lookup", {"address": ip, "phone": phone})
    now = platform.clock.now()
    refused = "验证码不正确或已过期,请重新获取"
    with platform.db.unit_of_work() as session:
        challenge = session.scalars(select(PortalChallenge).where(
            PortalChallenge.phone_hash == _challenge_key(platform, phone, id_tail), PortalChallenge.used_at.is_(None),
            PortalChallenge.expires_at > now).order_by(PortalChallenge.id.desc()).limit(1)).first()
        if challenge is None or challenge.attempts >= CODE_ATTEMPTS:
            raise NotFound(refused)
        challenge.attempts += 1
        if not hmac.compare_digest(challenge.code_hash, _hash(platform, code.strip())):
            session.commit()  # the failed try counts
            raise NotFound(refused)
        challenge.used_at = now
        found = _cases_of(session, platform, phone, id_tail)
        words = _status_words(session)
        items = [{"id": c.id, "number": c.number, "subject": c.subject, "status": c.status,
                  "status_label": words.get(c.status, c.status), "created": format_time(c.created_at)}
                 for c in found]
        session.commit()
        return items


def _challenge_key(platform: Platform, phone: str, id_tail: str) -> str:
    return str(platform.cipher.search_hash(f"{phone}:{id_tail}", "portal.challenge"))


def _hash(platform: Platform, code: str) -> str:
    """A keyed hash: the table alone does not give the six digits away."""
    return str(platform.cipher.search_hash(code or "-", "portal.code"))


# ---- rating the reply, asking for 复查 --------------------------------------------------------------------


def rate(platform: Platform, case_id: int, satisfaction: str, comment: str) -> dict[str, Any]:
    """满意/基本满意/不满意 with a comment, as the 回访 step of the process: 不满意 sends the case back for
    重办 where the process says so (once: `reopen_count`)."""
    if satisfaction not in SATISFACTION:
        raise Invalid("请选择满意度", {"satisfaction": "请选择满意、基本满意或不满意"})
    comment = comment.strip()
    if len(comment) > 2000:
        raise Invalid("评价意见最多 2000 个字", {"comment": "评价意见最多 2000 个字"})
    data = {"satisfaction": satisfaction, "resolved": satisfaction != "unsatisfied", "follow_up_method": "web",
            "follow_up_note": comment or SATISFACTION[satisfaction]}
    return _complete_step(platform, case_id, "follow_up", data, "该诉求件当前不在评价环节(答复后方可评价)",
                          portal="rated")


def request_review(platform: Platform, case_id: int, reason: str) -> dict[str, Any]:
    """复查 (信访工作条例 art. 35): within the window the 复查申请 step's deadline keeps (30 days from the
    处理意见), with the reason; the 复查 goes to the unit above the one that handled the petition."""
    reason = reason.strip()
    if not reason:
        raise Invalid("请填写复查请求及理由", {"reason": "请填写复查请求及理由"})
    if len(reason) > 2000:
        raise Invalid("复查理由最多 2000 个字", {"reason": "复查理由最多 2000 个字"})
    return _complete_step(platform, case_id, "request_review",
                          {"review_requested": True, "review_request_reason": reason},
                          "该信访件当前不能申请复查(收到处理意见后 30 日内方可申请)", portal="review_requested")


def _complete_step(platform: Platform, case_id: int, step: str, data: dict[str, Any], not_now: str,
                   **detail: Any) -> dict[str, Any]:
    with platform.db.unit_of_work() as session:
        locked = lock_case(session, case_id)
        task = session.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.spec_name == step,
                                                       HumanTask.state == "ready").limit(1)).first()
        if task is None:
            raise Conflict(not_now)
        now = platform.clock.now()
        if step == "request_review":
            if task.due_at is not None and now > task.due_at:
                raise Conflict(f"已超过复查申请期限({format_time(task.due_at)}),不能再申请复查")
            data = {**data, "review_unit_id": _review_unit(session, locked)}
        tasks.complete_locked(session, platform, PORTAL, locked, task, data, **detail)
        session.commit()
        return public_view(session, platform, locked)


def _review_unit(session: Session, case: Case) -> int:
    """The unit above the one that handled the petition (its 上一级机关), else the registering unit."""
    lead = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    return lead.parent_id if lead is not None and lead.parent_id else case.registering_unit_id


# ---- what a citizen sees ------------------------------------------------------------------------------


def _status_words(session: Session) -> dict[str, str]:
    return labels(session, statuses.DICTIONARY_KIND, active_only=False)


def public_view(session: Session, platform: Platform, case: Case) -> dict[str, Any]:
    """The case as its requester may see it: no internal notes, no handler names, no personal data."""
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)))
    units = {u.id: u.name for u in session.scalars(select(Unit))}
    timeline, replies = public_timeline(events, units, case.status)
    ready = {t.spec_name: t for t in session.scalars(select(HumanTask).where(HumanTask.case_id == case.id,
                                                                            HumanTask.state == "ready"))}
    review = ready.get("request_review")
    now = platform.clock.now()
    guard = intake.guard_answer(session, case)
    return {
        "number": case.number, "status": case.status, "status_label": status_label(session, case.status),
        "kind_label": labels(session, "kind").get(case.kind, case.kind), "subject": case.subject,
        "category": (case.category or "").replace("/", " / "),
        "created_at": case.created_at.isoformat(), "created": format_time(case.created_at),
        "due_at": case.due_at.isoformat() if case.due_at else None, "due": format_time(case.due_at),
        "lead_unit": units.get(case.lead_unit_id or 0),
        "timeline": timeline, "reply": replies[-1] if replies else None,
        "guard": {"action": guard["action"], "answer": guard["answer"]} if guard else None,
        "may_rate": "follow_up" in ready,
        "may_request_review": review is not None and (review.due_at is None or now <= review.due_at),
        "review_until": format_time(review.due_at) if review is not None else "",
        "satisfaction_choices": SATISFACTION,
    }


# The steps a citizen is told of, by BPMN task id (codes; the words are the portal's own).
_STEP_WORDS = {"accept": "已受理", "sign_for": "承办单位已签收", "reply": "承办单位已答复",
               "review_decision": "复查意见已作出", "re_review_decision": "复核意见已作出"}


_HANDLING_STEPS = frozenset({"sign_for", "handle", "reply"})
_STILL_HANDLED = frozenset({statuses.DISPATCHING, statuses.HANDLING, statuses.APPROVING})


def public_timeline(events: Sequence[AuditEvent], units: Mapping[int, str],
                    status: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(steps, replies): what happened, in words for the citizen, and each answer given to them. A 不满意
    that the process sent back (重办) shows as such once the case is handled again."""
    steps: list[dict[str, str]] = []
    replies: list[dict[str, str]] = []
    unsatisfied: int | None = None  # where to say 重办, after an 不满意 not yet followed by handling
    for e in events:
        if unsatisfied is not None and e.action == "task.completed" and (e.detail or {}).get("task") in _HANDLING_STEPS:
            steps.insert(unsatisfied, {"at": steps[unsatisfied - 1]["at"], "what": "不满意,已退回承办单位重新办理"})
            unsatisfied = None
        at, detail = format_time(e.at), e.detail or {}
        found = detail.get("data")
        data: dict[str, Any] = found if isinstance(found, dict) else {}
        task = detail.get("task")
        if e.action == "case.registered":
            steps.append({"at": at, "what": "诉求已登记"})
            if detail.get("guard"):
                steps.append({"at": at, "what": str(detail["guard"].get("answer", ""))})
            if detail.get("direct_reply"):
                replies.append({"at": at, "text": str(detail["direct_reply"]), "by": "12345热线"})
                steps.append({"at": at, "what": "已当场答复并办结"})
        elif e.action == "task.completed" and task == "dispatch":
            unit = units.get(data.get("lead_unit_id") or 0) if isinstance(data.get("lead_unit_id"), int) else None
            steps.append({"at": at, "what": f"已派单至{unit}" if unit else "已派单(由热线中心直接办理)"})
        elif e.action == "task.completed" and task == "follow_up":
            choice = SATISFACTION.get(str(data.get("satisfaction")), "")
            steps.append({"at": at, "what": f"回访评价:{choice}" if choice else "已回访"})
            unsatisfied = len(steps) if data.get("satisfaction") == "unsatisfied" else None
        elif e.action == "task.completed" and task == "request_review" and data.get("review_requested"):
            steps.append({"at": at, "what": "已申请复查"})
        elif e.action == "task.completed" and task in _STEP_WORDS:
            steps.append({"at": at, "what": _STEP_WORDS[str(task)]})
            text = data.get("reply_opinion") or data.get("review_opinion") or data.get("re_review_opinion")
            if isinstance(text, str) and text:
                replies.append({"at": at, "text": text, "by": "承办单位"})
    if unsatisfied is not None and status in _STILL_HANDLED:
        steps.insert(unsatisfied, {"at": steps[unsatisfied - 1]["at"], "what": "不满意,已退回承办单位重新办理"})
    return steps, replies


def record_view(platform: Platform, case_id: int, how: str) -> None:
    """Audit a citizen's look-up of a case (by query code or by SMS), in a transaction of its own."""
    with platform.db.unit_of_work() as session:
        audit.record(session, platform, PORTAL, "portal.case_viewed", case_id=case_id, detail={"by": how})
        session.commit()
