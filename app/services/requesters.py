"""Requesters as the intake and the telephony desk meet them: one normal form, and the same person found
through the keyed hashes of phone and ID number (never a scan of decrypted data)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.domain.identity import InvalidIdNumber, InvalidPhone, normalise_id_number, normalise_phone
from app.errors import Invalid
from app.models import Case, Requester
from app.services.cases import RequesterInput
from app.services.platform import Platform


def normalised(r: RequesterInput) -> RequesterInput:
    """Phone and ID number in their one normal form; a malformed one is refused naming its field."""
    try:
        phone = normalise_phone(r.phone) if r.phone else None
    except InvalidPhone as e:
        raise Invalid(str(e), {"requester.phone": str(e)}) from e
    try:
        id_number = normalise_id_number(r.id_number) if r.id_number else None
    except InvalidIdNumber as e:
        raise Invalid(str(e), {"requester.id_number": str(e)}) from e
    return RequesterInput(name=r.name.strip(), phone=phone, id_number=id_number, address=r.address)


def earlier_cases_of(session: Session, platform: Platform, r: RequesterInput, days: int) -> list[Case]:
    """The requester's cases of the last `days` days, newest first (the duplicate hint)."""
    since = platform.clock.now() - timedelta(days=days)
    same_person = same_requester(platform, normalised(r))
    if same_person is None:
        return []
    return list(session.scalars(select(Case).join(Requester).where(same_person, Case.created_at >= since)
                                .order_by(Case.created_at.desc()).limit(20)))


def same_requester(platform: Platform, r: RequesterInput) -> ColumnElement[bool] | None:
    """Requesters with the same phone or ID number, matched on the keyed hashes (never on plaintext)."""
    hashes = []
    if r.phone:
        hashes.append(Requester.phone_hash == platform.cipher.search_hash(r.phone, "requester.phone"))
    if r.id_number:
        hashes.append(Requester.id_number_hash == platform.cipher.search_hash(r.id_number, "requester.id_number"))
    return or_(*hashes) if hashes else None
