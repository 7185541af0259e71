"""Reference lists and display helpers every workstation page shares: dictionary labels, the category
and unit trees, minute-precision times and masked requesters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.masking import mask_address, mask_name
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.models import Unit
from app.services.dictionary import Entry, entries, labels, preload, status_labels
from app.services.platform import Platform


def format_time(at: datetime | str | None) -> str:
    """'2026-11-26 23:59' — minutes are enough for a deadline."""
    if at is None:
        return ""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return value.strftime("%Y-%m-%d %H:%M")


def masked(data: dict[str, Any]) -> dict[str, Any]:
    """Mask the requester's name and address of a read_case result in place (and return it)."""
    person = data["requester"]
    person["name"] = mask_name(person["name"] or "")
    person["address"] = mask_address(person["address"]) if person["address"] else None
    return data


CATEGORY_KIND = "category"


def category_tree(session: Session) -> list[dict[str, Any]]:
    """The category tree as groups of choosable leaves: [{code, label, children: [{code, label}]}]."""
    children: dict[int | None, list[Entry]] = {}
    for row in entries(session, CATEGORY_KIND):
        if row.active:
            children.setdefault(row.parent_id, []).append(row)

    def leaves(node: Entry, prefix: str) -> list[dict[str, str]]:
        below = children.get(node.id, [])
        if not below:
            return [{"code": node.code, "label": prefix + node.label}]
        return [leaf for child in below for leaf in leaves(child, prefix + node.label + " / " if prefix else "")]

    return [{"code": top.code, "label": top.label, "children": leaves(top, "")} for top in children.get(None, [])]


def unit_tree(session: Session, loaded: Sequence[Unit] | None = None) -> list[dict[str, Any]]:
    """Every active unit in tree order with its depth, for pickers (from `loaded`, every unit, if given)."""
    units = (sorted((u for u in loaded if u.active), key=lambda u: u.id) if loaded is not None else
             session.scalars(select(Unit).where(Unit.active.is_(True)).order_by(Unit.id)).all())
    below: dict[int | None, list[Unit]] = {}
    for u in units:
        below.setdefault(u.parent_id, []).append(u)
    known = {u.id for u in units}
    ordered: list[dict[str, Any]] = []

    def walk(unit: Unit, depth: int) -> None:  # by path text '/1/10/' would sort before '/1/2/'
        ordered.append({"id": unit.id, "name": unit.name, "depth": depth, "kind": unit.kind})
        for child in below.get(unit.id, []):
            walk(child, depth + 1)

    for top in [u for u in units if u.parent_id not in known]:
        walk(top, 0)
    return ordered


def reference(platform: Platform) -> dict[str, Any]:
    """The lists a form may need: kinds, channels, case statuses, the category tree and the unit tree."""
    with platform.db.reading() as session:
        return reference_lists(session)


def reference_lists(session: Session, *, units: Sequence[Unit] | None = None) -> dict[str, Any]:
    """reference in the caller's session: its dictionary lists in one query (none if the page has read
    them already), the unit tree from `units` (every unit) if the page has read them."""
    preload(session, "kind", "channel", STATUS_KIND, CATEGORY_KIND)
    return {"kinds": labels(session, "kind"), "channels": labels(session, "channel"),
            "statuses": status_labels(session), "categories": category_tree(session),
            "units": unit_tree(session, units)}
