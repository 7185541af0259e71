"""Open311 GeoReport v2: the spec's services and service requests mapped onto categories and cases.

- services are the active leaf categories of the tree: service_code = the category code, service_name its words,
  group the parent's words; there are no per-category forms, so no attributes (metadata false);
- POST requests needs `api_key`, a channel key of channel `open311` (services/channels.py), and goes through the
  one intake like every channel: fields renamed (description → content, address_string → location, lat/long,
  first_name/last_name → the requester's name, phone), kind from the setting `open311.kind`; a retry is answered
  the first case (the Idempotency-Key header, or else the same body on the same day); an intake guard's answer
  (an emergency: call 119; a matter for the courts) is the `service_notice`, and such a case is `closed`;
- GET requests shows only cases that came in through Open311, never a 举报, and never personal data: no name,
  phone or email, and digits in the description that look like a phone or ID number are starred out;
- status is `open` until the case is finished (`statuses.open311_status`).

Errors are Invalid/NotFound/… as everywhere, their details keyed by the spec's parameter names; the web layer
writes them in the spec's error format.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.domain.masking import SENSITIVE_KINDS, mask_digits_in_text
from app.domain.statuses import FINISHED, LEGACY_CODES, open311_status
from app.errors import Invalid, NotFound
from app.models import Case, ChannelSubmission, DictionaryEntry, Unit
from app.services import channels, intake
from app.services.dictionary import labels, status_labels
from app.services.platform import Platform
from app.services.settings import get_setting

_Q = TypeVar("_Q", bound=Select)  # any select keeps its row type
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00+08:00"  # when this endpoint's behaviour last changed (discovery)
CHANNEL = "open311"
WINDOW_DAYS = 90  # the spec's default range and the most one query may span
MAX_RESULTS = 1000
MAX_IDS = 200
SUBJECT_CHARS = 30
# Our intake's field → the spec's parameter, so every error names what the client sent.
PARAMETERS = {"content": "description", "subject": "description", "category": "service_code",
              "location": "address_string", "lat": "lat", "lng": "long", "requester.name": "first_name",
              "requester.phone": "phone", "requester.anonymous": "first_name", "kind": "service_code",
              "Idempotency-Key": "Idempotency-Key"}
# Finished, also in the words of definitions deployed before status codes (their running cases keep them).
_FINISHED = sorted(FINISHED | {word for word, code in LEGACY_CODES.items() if code in FINISHED})
REQUEST_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url")


def discovery(base_url: str) -> dict[str, Any]:
    """The service discovery document: one production endpoint of GeoReport v2, in XML and JSON."""
    return {"changeset": CHANGESET, "contact": "12345 政务服务便民热线",
            "key_service": "向系统管理员申请 open311 渠道密钥",
            "endpoints": [{"specification": SPECIFICATION, "url": base_url.rstrip("/"), "changeset": CHANGESET,
                           "type": "production", "formats": ["text/xml", "application/json"]}]}


def list_services(platform: Platform) -> list[dict[str, Any]]:
    """Every choosable (active, leaf) category as a service."""
    with platform.db.reading() as session:
        leaves = _leaves(session)
        return [_service(code, label, group) for code, (label, group) in leaves.items()]


def service_definition(platform: Platform, code: str) -> dict[str, Any]:
    """The service's attributes: none (categories carry no form of their own)."""
    with platform.db.reading() as session:
        if code not in _leaves(session):
            message = f"service_code 不存在:{code[:80]}"
            raise NotFound(message, {"service_code": message})
    return {"service_code": code, "attributes": []}


def _service(code: str, label: str, group: str) -> dict[str, Any]:
    return {"service_code": code, "service_name": label, "description": f"{group}/{label}" if group else label,
            "metadata": False, "type": "realtime", "keywords": "", "group": group}


def _leaves(session: Session) -> dict[str, tuple[str, str]]:
    """code → (words, parent's words) of the categories the intake accepts, in the dictionary's order."""
    choosable = intake.intake_dictionary(session).categories
    rows = session.execute(select(DictionaryEntry.id, DictionaryEntry.code, DictionaryEntry.label,
                                  DictionaryEntry.parent_id).where(DictionaryEntry.kind == "category")
                           .order_by(DictionaryEntry.sort, DictionaryEntry.id)).all()
    words = {r.id: r.label for r in rows}
    return {r.code: (r.label, words.get(r.parent_id, "") if r.parent_id else "")
            for r in rows if choosable.get(r.code)}


def create_request(platform: Platform, form: Mapping[str, str], ip: str | None,
                   idempotency_key: str | None = None) -> list[dict[str, Any]]:
    """POST requests: register the case; answers the spec's one-element list (id, token, notice, account_id)."""
    raw, notices, media_url = _intake_raw(platform, form)
    key = idempotency_key or _same_body_today(platform, form)
    try:
        receipt = channels.submit(platform, form.get("api_key"), ip, raw, key, field="api_key", channel=CHANNEL,
                                  media_url=media_url)
    except Invalid as e:
        raise _renamed(e) from e
    guard = receipt.get("guard")  # an emergency or a matter for another channel: recorded, not dispatched
    said = [guard["answer"]] if guard else [f"已受理,受理号 {receipt['number']},查询码 {receipt['query_code']}"]
    notice = "；".join([*said, *notices, *receipt.get("notices", {}).values()])
    return [{"service_request_id": receipt["number"], "token": receipt["token"], "service_notice": notice,
             "account_id": (form.get("account_id") or "").strip()[:80] or None}]


def _intake_raw(platform: Platform, form: Mapping[str, str]) -> tuple[dict[str, Any], list[str], str | None]:
    """The spec's parameters as the intake's JSON shape, the notices worth telling, and the photo link."""
    def value(name: str) -> str:
        return (form.get(name) or "").strip()

    errors: dict[str, str] = {}
    if not value("service_code"):
        errors["service_code"] = "请提供 service_code(事项分类编码,见 services.json)"
    if not ((value("lat") and value("long")) or value("address_string")):
        # address_id names an entry of a city's address registry; this platform keeps none, so it places nothing.
        errors["lat"] = "请提供位置:lat 与 long,或 address_string(本平台不使用 address_id)"
    media_url = value("media_url") or None
    if media_url and (len(media_url) > 500 or not re.fullmatch(r"https?://[^\s]+", media_url)):
        errors["media_url"] = "media_url 应为 http(s) 链接,最长 500 个字符"
    email = value("email")
    if email and (len(email) > 100 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        errors["email"] = "email 格式不正确"
    if errors:
        raise Invalid("请求参数有误", errors)
    description = value("description")
    content = description + (f"\n\n附图:{media_url}" if media_url and description else "")
    raw: dict[str, Any] = {
        "kind": _kind(platform), "category": value("service_code"), "content": content,
        "subject": description.splitlines()[0][:SUBJECT_CHARS] if description else "",
        "location": value("address_string") or None, "lat": value("lat") or None, "lng": value("long") or None,
        "requester": {k: v for k, v in (("name", _name(value("first_name"), value("last_name"))),
                                        ("phone", value("phone"))) if v}}
    notices = ["电子邮箱未保存:答复以短信发送,请同时提供 phone"] if email and not value("phone") else []
    return {k: v for k, v in raw.items() if v is not None}, notices, media_url


def _kind(platform: Platform) -> str:
    with platform.db.reading() as session:
        return str(get_setting(session, "open311.kind"))


def _name(first: str, last: str) -> str:
    """姓 + 名 for Chinese names (last_name is the family name), 'first last' for names in Latin letters."""
    if first.isascii() and last.isascii():
        return f"{first} {last}".strip()
    return f"{last}{first}"


def _same_body_today(platform: Platform, form: Mapping[str, str]) -> str:
    """The idempotency key of a client that sends none (the spec has no such header): the same body, from the
    same key, on the same day is a retry of the first."""
    body = {k: v for k, v in form.items() if k != "api_key"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()[:40]
    return f"open311-{platform.clock.now():%Y%m%d}-{digest}"


def _renamed(e: Invalid) -> Invalid:
    """The intake's refusal with each field named as the client sent it."""
    details: dict[str, Any] = {}
    for field, message in e.details.items():
        details.setdefault(PARAMETERS.get(field, field), message)
    return Invalid(e.message, details)


def find_requests(platform: Platform, args: Mapping[str, str]) -> list[dict[str, Any]]:
    """GET requests: by service_request_id (comma-separated, which overrides the rest), else by service_code,
    status and requested_datetime within at most 90 days (default: the last 90 days); newest first."""
    query = _public(select(Case, ChannelSubmission.media_url))
    ids = _listed(args, "service_request_id")
    if ids:
        if len(ids) > MAX_IDS:
            raise Invalid("请求参数有误", {"service_request_id": f"service_request_id 一次最多 {MAX_IDS} 个"})
        query = query.where(Case.number.in_(ids))
    else:
        start, end = _window(platform, args)
        query = query.where(Case.created_at >= start, Case.created_at <= end)
        if codes := _listed(args, "service_code"):
            query = query.where(Case.category.in_(codes))
        if wanted := set(_listed(args, "status")):
            if wanted - {"open", "closed"}:
                raise Invalid("请求参数有误", {"status": "status 只能是 open 或 closed(可用逗号分隔)"})
            if wanted == {"open"}:
                query = query.where(Case.status.not_in(_FINISHED))
            elif wanted == {"closed"}:
                query = query.where(Case.status.in_(_FINISHED))
    with platform.db.reading() as session:
        rows = session.execute(query.order_by(Case.created_at.desc(), Case.id.desc()).limit(MAX_RESULTS)).all()
        words = _Words(session)
        return [words.request(case, media_url) for case, media_url in rows]


def get_request(platform: Platform, number: str) -> list[dict[str, Any]]:
    """GET requests/{id}: one request, as a one-element list (the spec's shape)."""
    with platform.db.reading() as session:
        row = session.execute(_public(select(Case, ChannelSubmission.media_url)).where(Case.number == number)).first()
        if row is None:
            message = f"service_request_id 不存在:{number[:40]}"
            raise NotFound(message, {"service_request_id": message})
        return [_Words(session).request(row[0], row[1])]


def find_token(platform: Platform, token: str) -> list[dict[str, Any]]:
    """GET tokens/{token}: the request id the token stands for."""
    with platform.db.reading() as session:
        number = session.scalar(_public(select(Case.number)).where(ChannelSubmission.token == token))
        if number is None:
            message = f"token 不存在:{token[:40]}"
            raise NotFound(message, {"token": message})
        return [{"service_request_id": number, "token": token}]


def _public(query: _Q) -> _Q:
    """What GET may show: cases that came in through Open311, never a 举报."""
    return (query.select_from(Case).outerjoin(ChannelSubmission, ChannelSubmission.case_id == Case.id)
            .where(Case.channel == CHANNEL, Case.kind.not_in(SENSITIVE_KINDS)))


class _Words:
    """The words a list of requests shows (categories, statuses, units), read once per answer."""

    def __init__(self, session: Session) -> None:
        self.categories = labels(session, "category", active_only=False)
        self.statuses = status_labels(session)
        self.units = dict(session.execute(select(Unit.id, Unit.name)).all())

    def request(self, case: Case, media_url: str | None) -> dict[str, Any]:
        """A case in the spec's fields and order; nothing about the requester."""
        updated = max(t for t in (case.created_at, case.accepted_at, case.closed_at) if t is not None)
        return {"service_request_id": case.number, "status": open311_status(case.status),
                "status_notes": self.statuses.get(case.status, case.status),
                "service_name": self.categories.get(case.category or "", case.category or ""),
                "service_code": case.category or "", "description": mask_digits_in_text(case.content),
                "agency_responsible": self.units.get(case.lead_unit_id, "") if case.lead_unit_id else "",
                "service_notice": "", "requested_datetime": w3c(case.created_at), "updated_datetime": w3c(updated),
                "expected_datetime": w3c(case.due_at), "address": case.location or "", "address_id": "",
                "zipcode": "", "lat": case.location_lat, "long": case.location_lng, "media_url": media_url or ""}


def _listed(args: Mapping[str, str], name: str) -> list[str]:
    return [v.strip() for v in (args.get(name) or "").split(",") if v.strip()]


def _window(platform: Platform, args: Mapping[str, str]) -> tuple[datetime, datetime]:
    span = timedelta(days=WINDOW_DAYS)
    given_start, given_end = _moment(args, "start_date"), _moment(args, "end_date")
    if given_start is None:
        end = given_end or platform.clock.now()
        start = end - span
    else:
        start, end = given_start, given_end or given_start + span
    if end < start:
        raise Invalid("请求参数有误", {"end_date": "end_date 不能早于 start_date"})
    if end - start > span:
        raise Invalid("请求参数有误", {"start_date": f"start_date 到 end_date 不能超过 {WINDOW_DAYS} 天"})
    return start, end


def _moment(args: Mapping[str, str], name: str) -> datetime | None:
    """A W3C date-time (2010-01-01T00:00:00Z, or with an offset; without one it is Beijing time) as local time."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("请求参数有误", {name: f"{name} 应为 W3C 日期时间,如 2026-11-01T00:00:00+08:00"}) from None
    return at.astimezone(LOCAL_TZ).replace(tzinfo=None) if at.tzinfo else at


def w3c(at: datetime | None) -> str:
    """A stored (Beijing, naive) time in the spec's format, with its offset: 2026-11-25T09:00:00+08:00."""
    return at.replace(tzinfo=LOCAL_TZ).isoformat() if at else ""
