"""Deploying process definitions: validated by the engine, stored as immutable numbered versions."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import engine
from app.domain.roles import ROLES
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.errors import Invalid, NotPermitted
from app.models import DeadlineRule, DictionaryEntry, ProcessDefinition
from app.services import audit, dictionary
from app.services.actors import SYSTEM, Actor
from app.services.platform import Platform
from app.settings import ROOT

WORKFLOWS = Path(ROOT) / "workflows"
FORMS = Path(ROOT) / "forms"
STOCK = ("hotline_order", "petition")
TASK_ROLES = {"agent", "handler", "leader", "dispatcher"}
# The names intake.register_case puts into every case's process (docs/bpmn-conventions.md); those whose values
# are a dictionary's codes are checked over every active code (e.g. `'hotline.' + kind` must name a rule).
START_VARIABLES = ("case_id", "case_number", "kind", "channel", "category", "centre_unit_id", "lead_unit_id",
                   "assisting_unit_ids", "duplicate_of", "direct_reply")
DICTIONARY_VARIABLES = ("kind", "channel")


def start_variables(session: Session) -> dict[str, frozenset[str] | None]:
    """What deploy may assume every case starts with: each start name, with its values where they are codes."""
    codes = session.execute(select(DictionaryEntry.kind, DictionaryEntry.code)
                            .where(DictionaryEntry.active, DictionaryEntry.kind.in_(DICTIONARY_VARIABLES))).all()
    variables: dict[str, frozenset[str] | None] = dict.fromkeys(START_VARIABLES)
    for name in DICTIONARY_VARIABLES:
        variables[name] = frozenset(code for kind, code in codes if kind == name)
    return variables


def validate(session: Session, bpmn: bytes, forms: dict[str, bytes],
             library: dict[str, bytes] | None = None) -> engine.CompiledDefinition:
    """Everything the engine checks, against the rules, roles and dictionary this installation has."""
    rule_keys = set(session.scalars(select(DeadlineRule.key)))
    statuses = set(dictionary.labels(session, STATUS_KIND))  # caseStatus names a code, never the words
    try:
        return engine.deploy_definition(bpmn, forms, library=library or {}, rule_keys=rule_keys,
                                        roles=TASK_ROLES & ROLES.keys(), start_variables=start_variables(session),
                                        statuses=statuses)
    except engine.DefinitionInvalid as e:
        raise Invalid(f"流程定义无效({e.element_id}):{e.message}", {"element": e.element_id}) from e


def store(session: Session, platform: Platform, actor: Actor, deployed: engine.CompiledDefinition
          ) -> ProcessDefinition:
    """Store a validated definition as the next version of its key."""
    version = (session.scalar(select(func.max(ProcessDefinition.version))
                              .where(ProcessDefinition.key == deployed.key)) or 0) + 1
    row = ProcessDefinition(key=deployed.key, version=version, name=deployed.name,
                            bpmn_xml=_text(deployed.bpmn_xml), spec_json=deployed.spec_json,
                            forms_json=json.dumps(deployed.forms, ensure_ascii=False),
                            checksum=deployed.checksum, deployed_by_id=actor.user_id,
                            deployed_at=platform.clock.now())
    session.add(row)
    session.flush()
    audit.record(session, platform, actor, "definition.deployed",
                 detail={"key": row.key, "version": version, "checksum": row.checksum})
    return row


def deploy_definition(platform: Platform, actor: Actor, bpmn: bytes, forms: dict[str, bytes],
                      library: dict[str, bytes] | None = None) -> ProcessDefinition:
    """The administrator's deploy: one transaction, sysadmin only."""
    if not actor.can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以部署流程定义")
    with platform.db.unit_of_work() as session:
        row = store(session, platform, actor, validate(session, bpmn, forms, library))
        session.commit()
        return row


def stock_files() -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every BPMN file in workflows/ and every form in forms/."""
    bpmn = {p.name: p.read_bytes() for p in sorted(WORKFLOWS.glob("*.bpmn"))}
    forms = {p.name: p.read_bytes() for p in sorted(FORMS.glob("*.json"))}
    return bpmn, forms


def deploy_stock(session: Session, platform: Platform) -> list[ProcessDefinition]:
    """Deploy the stock processes from workflows/ when their checksum is not the newest version yet."""
    bpmn, forms = stock_files()
    deployed = []
    for key in STOCK:
        main = bpmn[f"{key}.bpmn"]
        library = {name: data for name, data in bpmn.items() if name != f"{key}.bpmn"}
        newest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                                .order_by(ProcessDefinition.version.desc()).limit(1))
        candidate = validate(session, main, forms, library)
        if newest is None or newest.checksum != candidate.checksum:
            deployed.append(store(session, platform, SYSTEM, candidate))
    return deployed


def list_definitions(platform: Platform, actor: Actor) -> list[dict[str, object]]:
    """Every deployed version, for administrators."""
    if not actor.can("definition.deploy"):
        raise NotPermitted("只有系统管理员可以查看流程定义")
    with platform.db.reading() as session:
        rows = session.scalars(select(ProcessDefinition)
                               .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
        return [{"key": r.key, "version": r.version, "name": r.name, "checksum": r.checksum,
                 "deployed_at": r.deployed_at.isoformat()} for r in rows]


def _text(xml: str | bytes) -> str:
    """BPMN is stored as text, whatever encoding declaration it came with."""
    return xml.decode("utf-8") if isinstance(xml, bytes) else xml
