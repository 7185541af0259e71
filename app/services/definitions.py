"""Deploying process definitions: validated by the engine, stored as immutable numbered versions with the
administrator's change note; the versions of a key (who, when, note, how many cases run on each), any
version's files, and the deploy checks on a draft (the modeler's 检查) without deploying it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import engine
from app.domain.roles import ROLES
from app.domain.statuses import DICTIONARY_KIND as STATUS_KIND
from app.errors import Invalid, NotFound, NotPermitted
from app.models import Case, DeadlineRule, DictionaryEntry, ProcessDefinition, User, WorkflowState
from app.services import audit, dictionary
from app.services.actors import SYSTEM, Actor
from app.services.definition_files import (
    DefinitionFiles,
    complete_files,
    read_upload,
    stored_forms,
    stored_library,
    to_zip,
)
from app.services.platform import Platform
from app.settings import ROOT

WORKFLOWS = Path(ROOT) / "workflows"
FORMS = Path(ROOT) / "forms"
STOCK = ("hotline_order", "petition")
TASK_ROLES = {"agent", "handler", "leader", "dispatcher"}
# The names intake.register_case puts into every case's process (docs/bpmn-conventions.md); those whose values
# are a dictionary's codes are checked over every active code (e.g. `'hotline.' + kind` must name a rule).
MAX_NOTE = 500
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


def _checked_against(session: Session) -> dict[str, Any]:
    """What this installation's definitions are checked against: its rules, roles, start data, statuses."""
    return {"rule_keys": set(session.scalars(select(DeadlineRule.key))), "roles": TASK_ROLES & ROLES.keys(),
            "start_variables": start_variables(session),
            "statuses": set(dictionary.labels(session, STATUS_KIND))}  # caseStatus names a code, never the words


def validate(session: Session, bpmn: bytes, forms: dict[str, bytes],
             library: dict[str, bytes] | None = None) -> engine.CompiledDefinition:
    """Everything the engine checks, against the rules, roles and dictionary this installation has."""
    try:
        return engine.deploy_definition(bpmn, forms, library=library or {}, **_checked_against(session))
    except engine.DefinitionInvalid as e:
        raise Invalid(f"流程定义无效({e.element_id}):{e.message}", {"element": e.element_id}) from e


def _newest(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key)
                          .order_by(ProcessDefinition.version.desc()).limit(1))


def diff_summary(old_spec_json: str, new_spec_json: str) -> dict[str, Any]:
    """The diff of two versions as the audit log and the API show it (element ids, changed properties)."""
    diff = engine.diff_definitions(old_spec_json, new_spec_json)
    return {"added": list(diff.added), "removed": list(diff.removed),
            "changed": [c.element for c in diff.changed],
            "changes": {c.element: {"properties": list(c.properties), "from": c.before, "to": c.after}
                        for c in diff.changed}}


def store(session: Session, platform: Platform, actor: Actor, deployed: engine.CompiledDefinition,
          note: str = "") -> ProcessDefinition:
    """Store a validated definition as the next version of its key; the audit row carries the diff from
    the version before."""
    previous = _newest(session, deployed.key)
    version = (previous.version if previous else 0) + 1
    row = ProcessDefinition(key=deployed.key, version=version, name=deployed.name,
                            bpmn_xml=_text(deployed.bpmn_xml), spec_json=deployed.spec_json,
                            forms_json=json.dumps(deployed.forms, ensure_ascii=False),
                            checksum=deployed.checksum, deployed_by_id=actor.user_id,
                            deployed_at=platform.clock.now(), note=note,
                            library_json=json.dumps({n: _text(d) for n, d in deployed.library.items()},
                                                    ensure_ascii=False))
    session.add(row)
    session.flush()
    detail: dict[str, Any] = {"key": row.key, "version": version, "checksum": row.checksum, "note": note}
    if previous is not None:
        summary = diff_summary(previous.spec_json, row.spec_json)
        detail["diff"] = {"from": previous.version, **{k: summary[k] for k in ("added", "removed")},
                          "changed": {e: c["properties"] for e, c in summary["changes"].items()}}
    audit.record(session, platform, actor, "definition.deployed", detail=detail)
    return row


def require_deployer(actor: Actor, what: str = "部署流程定义") -> None:
    """Only a 系统管理员 deploys, reads, checks, dry-runs definitions and moves cases between versions."""
    if not actor.can("definition.deploy"):
        raise NotPermitted(f"只有系统管理员可以{what}")


def _note(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid(f"变更说明不能超过 {MAX_NOTE} 字", {"note": f"变更说明不能超过 {MAX_NOTE} 字"})
    return note


def deploy_definition(platform: Platform, actor: Actor, bpmn: bytes, forms: dict[str, bytes],
                      library: dict[str, bytes] | None = None, note: str | None = None) -> ProcessDefinition:
    """The administrator's deploy: one transaction, sysadmin only. `bpmn` may be a zip of the BPMN, its forms
    and library files; forms and library files it omits come from the latest version of the same key."""
    require_deployer(actor)
    text = _note(note)
    with platform.db.unit_of_work() as session:
        files = complete_files(session, read_upload(bpmn, forms, library or {}), stock_files()[0])
        row = store(session, platform, actor, validate(session, files.bpmn, files.forms, files.library), text)
        session.commit()
        return row


def check_draft(platform: Platform, actor: Actor, bpmn: bytes, forms: dict[str, bytes],
                library: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The full deploy checks on a draft, every error and warning at once, nothing deployed."""
    require_deployer(actor, "检查流程定义")
    with platform.db.reading() as session:
        files = complete_files(session, read_upload(bpmn, forms, library or {}), stock_files()[0])
        compiled, issues = engine.check_definition(files.bpmn, files.forms, library=files.library,
                                                   **_checked_against(session))
    shown = [_issue(i) for i in issues]
    errors = [i for i in shown if i.pop("severity") == "error"]
    return {"ok": compiled is not None, "key": compiled.key if compiled else None,
            "name": compiled.name if compiled else None, "errors": errors,
            "warnings": [i for i in shown if i not in errors], "taken": list(files.taken)}


def _issue(issue: engine.Issue) -> dict[str, Any]:
    return {"element": issue.element, "message": issue.message, "line": issue.line, "column": issue.column,
            "severity": issue.severity}


def compiled_draft(session: Session, bpmn: bytes, forms: dict[str, bytes],
                   library: dict[str, bytes] | None = None) -> tuple[engine.CompiledDefinition | None,
                                                                     list[dict[str, Any]], DefinitionFiles]:
    """A draft compiled with the deploy checks (for a dry run): the definition, or the errors that refuse it."""
    files = complete_files(session, read_upload(bpmn, forms, library or {}), stock_files()[0])
    compiled, issues = engine.check_definition(files.bpmn, files.forms, library=files.library,
                                               **_checked_against(session))
    errors = [_issue(i) for i in issues if i.severity == "error"]
    for error in errors:
        error.pop("severity")
    return compiled, errors, files


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
        if newest is None or newest.checksum != candidate.checksum:  # stock files carry no change note
            deployed.append(store(session, platform, SYSTEM, candidate))
    return deployed


def list_definitions(platform: Platform, actor: Actor) -> list[dict[str, object]]:
    """Every deployed version, for administrators."""
    require_deployer(actor, "查看流程定义")
    with platform.db.reading() as session:
        rows = session.scalars(select(ProcessDefinition)
                               .order_by(ProcessDefinition.key, ProcessDefinition.version)).all()
        return [{"key": r.key, "version": r.version, "name": r.name, "checksum": r.checksum,
                 "deployed_at": r.deployed_at.isoformat(), "note": r.note} for r in rows]


def list_versions(platform: Platform, actor: Actor, key: str) -> list[dict[str, Any]]:
    """The versions of one key, newest first: who deployed it when, the note, the cases on it (`cases`:
    still running; `cases_total`: ever started on it)."""
    require_deployer(actor, "查看流程定义")
    with platform.db.reading() as session:
        rows = session.execute(select(ProcessDefinition, User.staff_no, User.name)
                               .outerjoin(User, User.id == ProcessDefinition.deployed_by_id)
                               .where(ProcessDefinition.key == key)
                               .order_by(ProcessDefinition.version.desc())).all()
        if not rows:
            raise NotFound(f"流程定义不存在:{key}")
        counts = {(d, running): n for d, running, n in session.execute(
            select(WorkflowState.definition_id, Case.closed_at.is_(None), func.count())
            .join(Case, Case.id == WorkflowState.case_id)
            .where(WorkflowState.definition_id.in_([r[0].id for r in rows]))
            .group_by(WorkflowState.definition_id, Case.closed_at.is_(None)))}
        return [{"version": r.version, "name": r.name, "deployed_at": r.deployed_at.isoformat(),
                 "deployed_by": staff_no or "system", "deployed_by_name": name or "", "note": r.note,
                 "checksum": r.checksum, "cases": counts.get((r.id, True), 0),
                 "cases_total": counts.get((r.id, True), 0) + counts.get((r.id, False), 0)}
                for r, staff_no, name in rows]


def find_version(session: Session, key: str, version: int) -> ProcessDefinition:
    row = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key == key,
                                                         ProcessDefinition.version == version))
    if row is None:
        raise NotFound(f"流程定义 {key} 没有第 {version} 版")
    return row


def version_bpmn(platform: Platform, actor: Actor, key: str, version: int) -> str:
    """The BPMN text of one version, as deployed."""
    require_deployer(actor, "查看流程定义")
    with platform.db.reading() as session:
        return find_version(session, key, version).bpmn_xml


def version_files(platform: Platform, actor: Actor, key: str, version: int) -> dict[str, Any]:
    """One version's BPMN, forms and library files (as text), for the modeler to open."""
    require_deployer(actor, "查看流程定义")
    with platform.db.reading() as session:
        row = find_version(session, key, version)
        return {"key": key, "version": version, "bpmn": row.bpmn_xml, "forms": json.loads(row.forms_json),
                "library": {n: d.decode("utf-8") for n, d in stored_library(row, stock_files()[0]).items()}}


def version_zip(platform: Platform, actor: Actor, key: str, version: int) -> bytes:
    """One version's `.bpmn`, forms and library files as one zip (the layout an upload reads back)."""
    require_deployer(actor, "下载流程定义")
    with platform.db.reading() as session:
        row = find_version(session, key, version)
        return to_zip(key, row.bpmn_xml.encode("utf-8"), stored_forms(row), stored_library(row, stock_files()[0]))


def import_upload(platform: Platform, actor: Actor, data: bytes, forms: dict[str, bytes]) -> dict[str, Any]:
    """An uploaded .bpmn or zip, possibly from another modeler, made ready for the editor (not deployed):
    foreign extensions dropped and listed; a foreign script format or behaviour refused (422, the reason)."""
    require_deployer(actor, "导入流程定义")
    files = read_upload(data, forms, {})
    try:
        imported = engine.import_definition(files.bpmn)
        shape = engine.outline(imported.bpmn_xml)
    except engine.DefinitionInvalid as e:
        raise Invalid(f"无法导入({e.element_id}):{e.message}", {"element": e.element_id, "file": e.message}) from e
    parsed: dict[str, Any] = {}
    for name, body in files.forms.items():
        try:
            parsed[name] = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise Invalid(f"表单文件 {name} 不是有效的 JSON", {"forms": f"表单文件 {name} 不是有效的 JSON"}) from None
    return {"key": (shape.executable or shape.processes or (None,))[0], "bpmn": imported.bpmn_xml.decode("utf-8"),
            "forms": parsed, "library": {n: d.decode("utf-8", "replace") for n, d in files.library.items()},
            "dropped": [{"element": d.element, "part": d.part, "modeler": d.modeler} for d in imported.dropped]}


def diff_versions(platform: Platform, actor: Actor, key: str, first: int, second: int) -> dict[str, Any]:
    """Added, removed and changed elements (with the changed properties) from version `first` to `second`."""
    require_deployer(actor, "查看流程定义")
    with platform.db.reading() as session:
        old, new = find_version(session, key, first), find_version(session, key, second)
        return {"key": key, "from": first, "to": second, **diff_summary(old.spec_json, new.spec_json)}


def _text(xml: str | bytes) -> str:
    """BPMN is stored as text, whatever encoding declaration it came with."""
    return xml.decode("utf-8") if isinstance(xml, bytes) else xml
