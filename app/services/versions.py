"""The deployed versions of the process definitions, as a run needs them: the newest of each process and any by
its id, kept per process until the next deploy (`app.db.kept`); a version's spec JSON is cached by its checksum."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import kept
from app.errors import Invalid
from app.models import ProcessDefinition


@dataclass(frozen=True)
class DefinitionVersion:
    """A deployed version as a run needs it; the spec JSON (large, immutable) is cached by checksum."""

    id: int
    key: str
    version: int
    checksum: str

    def spec_json(self, session: Session) -> str:
        spec = _SPECS.get(self.checksum)
        if spec is None:
            spec = session.scalar(select(ProcessDefinition.spec_json).where(ProcessDefinition.id == self.id)) or ""
            _SPECS[self.checksum] = spec
        return spec


_SPECS: dict[str, str] = {}  # checksum → spec JSON; versions never change once deployed
_REF = (ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.checksum)


def latest_definition(session: Session, key: str) -> DefinitionVersion:
    """The newest deployed version of `key`."""
    found = latest_versions(session).get(key)
    if found is None:
        raise Invalid(f"流程定义不存在:{key}", {"process": f"流程定义不存在:{key}"})
    return found


def latest_versions(session: Session) -> dict[str, DefinitionVersion]:
    """Every process key's newest deployed version, by key in key order; read again only after a deploy (`kept`)."""
    return _versions(session)[0]


def version_of(session: Session, definition_id: int) -> DefinitionVersion:
    """A deployed version by its id (kept with the newest versions: one read of the definitions after a deploy)."""
    return _versions(session)[1][definition_id]


def _versions(session: Session) -> tuple[dict[str, DefinitionVersion], dict[int, DefinitionVersion]]:
    def read() -> tuple[dict[str, DefinitionVersion], dict[int, DefinitionVersion]]:
        newest: dict[str, DefinitionVersion] = {}
        by_id: dict[int, DefinitionVersion] = {}
        for row in session.execute(select(*_REF).order_by(ProcessDefinition.key, ProcessDefinition.version)):
            newest[row.key] = by_id[row.id] = DefinitionVersion(*row)
        return newest, by_id
    return kept(session, "process_definition", read)
