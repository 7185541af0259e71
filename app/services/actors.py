"""Who is acting: a signed-in user or a machine client, as services see it."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.roles import PERMISSIONS
from app.errors import NotPermitted


@dataclass(frozen=True)
class Actor:
    """The acting party; `unit_path` is the prefix every unit under the actor's unit shares."""

    label: str  # 工号, token name, or 'system'
    user_id: int | None = None
    name: str = ""
    unit_id: int | None = None
    unit_path: str = ""
    roles: frozenset[str] = frozenset()
    permissions: frozenset[str] = frozenset()
    scope: str = "user"  # 'user' or a machine scope such as 'calls'
    ip: str | None = None
    must_change_password: bool = False
    session_token: str | None = field(default=None, repr=False)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


SYSTEM = Actor(label="system")


def require(actor: Actor, permission: str) -> None:
    """The services' permission check (routes carry none; app/web/errors.py maps the refusal to 403)."""
    if not actor.can(permission):
        raise NotPermitted(f"没有权限执行此操作（需要「{PERMISSIONS.get(permission, permission)}」权限）")
