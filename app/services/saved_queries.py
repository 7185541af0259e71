"""Saved combined queries: private to their owner, or shared with the owner's unit. The conditions are
checked (app.domain.case_query.parse) before they are kept, so a saved query always runs."""

from __future__ import annotations

from typing import Any

from app.domain import case_query as cq
from app.services import saved
from app.services.actors import Actor, require
from app.services.platform import Platform


def listed(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The actor's own saved queries and those shared with their unit, by name."""
    return saved.listed(platform, saved.QUERY, actor)


def save(platform: Platform, actor: Actor, name: str, params: dict[str, list[str]], *, shared: bool) -> int:
    require(actor, "case.read")
    kept = cq.parse({k: v for k, v in params.items() if k not in ("after", "before")}).as_params()
    return saved.save(platform, saved.QUERY, actor, name, kept, shared=shared)


def delete(platform: Platform, actor: Actor, query_id: int) -> None:
    """Only its owner deletes a saved query (a shared one too)."""
    saved.delete(platform, saved.QUERY, actor, query_id)
