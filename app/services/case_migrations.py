"""Moving running cases to a newer version of their definition (and back).

`migration_groups` shows the running cases on earlier versions grouped by version and by where they
stand (the user tasks and events they wait at), each group with whether it can move and why not (the
engine's check: app/engine/case_migration.py, on SpiffWorkflow's diff utilities). `migrate_cases` moves
each case in a transaction of its own under its row lock (SELECT … FOR UPDATE on PostgreSQL): the engine
state re-pointed and run on, the task projection, timers and deadlines rewritten by `process.save`, the
state it had kept in `case_migration` and the move audited with the diff. A case that cannot move stays
on its version and the answer says why. `undo_migration` puts a case back while nothing has happened on
it since the move (its state's revision is the one the move left).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import engine
from app.errors import Conflict, Invalid, NotFound
from app.models import Case, CaseMigration, HumanTask, ProcessDefinition, WorkflowState
from app.services import audit, notify, process
from app.services.actors import Actor
from app.services.definitions import diff_summary, find_version, require_deployer
from app.services.platform import Platform
from app.services.process import UNSTARTED, ProcessIncident
from app.services.versions import DefinitionVersion

MAX_CASES = 500  # cases one request may move (each in its own transaction)
_REF = (ProcessDefinition.id, ProcessDefinition.key, ProcessDefinition.version, ProcessDefinition.checksum)


def _titles(spec_json: str, standing: tuple[str, ...]) -> list[str]:
    steps = engine.describe_definition(spec_json).steps
    return [steps[s].title if s in steps else s for s in standing]


def migration_groups(platform: Platform, actor: Actor, key: str, to_version: int) -> dict[str, Any]:
    """Running cases on versions before `to_version`, grouped by version and where they stand."""
    require_deployer(actor, "迁移运行中的诉求件")
    now = process.engine_now(platform)
    with platform.db.reading() as session:
        target = find_version(session, key, to_version)
        new_spec = target.spec_json
        rows = session.execute(
            select(Case.id, WorkflowState.state_json, *_REF)
            .join(WorkflowState, WorkflowState.case_id == Case.id)
            .join(ProcessDefinition, ProcessDefinition.id == WorkflowState.definition_id)
            .where(ProcessDefinition.key == key, ProcessDefinition.version < to_version, Case.closed_at.is_(None),
                   WorkflowState.serializer_version != UNSTARTED)
            .order_by(ProcessDefinition.version, Case.id)).all()
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for case_id, state_json, definition_id, version_key, number, checksum in rows:
            version = DefinitionVersion(definition_id, version_key, number, checksum)
            old_spec = version.spec_json(session)
            try:
                check = engine.check_migration(old_spec, new_spec, state_json, now)
            except engine.EngineError as e:
                check = engine.MigrationCheck(False, f"流程状态无法读取：{e}", ())
            group = groups.setdefault((version.version, check.standing, check.can_migrate, check.reason), {
                "from_version": version.version, "standing": list(check.standing),
                "titles": _titles(old_spec, check.standing), "can_migrate": check.can_migrate,
                "reason": check.reason, "case_ids": []})
            group["case_ids"].append(case_id)
    return {"key": key, "to": to_version, "groups": [{**g, "count": len(g["case_ids"])} for g in groups.values()]}


def _move(platform: Platform, actor: Actor, key: str, target_id: int, case_id: int) -> dict[str, Any]:
    """One case moved in its own transaction; the answer says whether and why not."""
    with platform.db.unit_of_work() as session:
        target = session.get_one(ProcessDefinition, target_id)
        try:
            case = process.lock_case(session, case_id)
        except NotFound:
            return {"case_id": case_id, "migrated": False, "reason": "诉求件不存在"}
        row = session.execute(select(WorkflowState, *_REF).join(
            ProcessDefinition, ProcessDefinition.id == WorkflowState.definition_id)
            .where(WorkflowState.case_id == case.id)).first()
        if row is None or row[0].serializer_version == UNSTARTED:
            return {"case_id": case_id, "migrated": False, "reason": "该诉求件没有运行中的流程"}
        state, version = row[0], DefinitionVersion(*row[1:])
        reason = None
        if version.key != key:
            reason = f"该诉求件的流程是 {version.key}，不是 {key}"
        elif version.version >= target.version:
            reason = f"该诉求件已在第 {version.version} 版"
        elif case.closed_at is not None:
            reason = "该诉求件已办结"
        if reason:
            return {"case_id": case_id, "migrated": False, "reason": reason}
        old_spec = version.spec_json(session)
        before = (state.state_json, state.serializer_version)
        try:
            run = engine.migrate_case(old_spec, target.spec_json, state.state_json, process.engine_now(platform))
            state.definition_id = target.id
            change = process.save(session, platform, case, state, run)
        except engine.MigrationRefused as e:
            return {"case_id": case_id, "migrated": False, "reason": str(e)}
        except engine.ScriptFailed as e:
            why = f"迁移后流程运行出错（{e.element_id}）：{e.message}"
            return {"case_id": case_id, "migrated": False, "reason": why}
        except ProcessIncident as e:
            return {"case_id": case_id, "migrated": False, "reason": f"{e.message}（{e.details.get('element')}）"}
        moved = CaseMigration(case_id=case.id, from_definition_id=version.id, to_definition_id=target.id,
                              state_json_before=before[0], serializer_version_before=before[1],
                              revision_after=state.revision, migrated_at=platform.clock.now(),
                              migrated_by_id=actor.user_id)
        session.add(moved)
        session.flush()
        summary = diff_summary(old_spec, target.spec_json)
        audit.record(session, platform, actor, "case.migrated", case_id=case.id, detail={
            "key": key, "from": version.version, "to": target.version, "migration_id": moved.id,
            "tasks": [t.spec_name for t in session.scalars(select(HumanTask).where(
                HumanTask.case_id == case.id, HumanTask.state == "ready"))],
            "diff": {k: summary[k] for k in ("added", "removed", "changed")}})
        notify.process_ran(session, platform, case, change)
        session.commit()
        return {"case_id": case_id, "migrated": True, "reason": "", "migration_id": moved.id,
                "status": case.status}


def migrate_cases(platform: Platform, actor: Actor, key: str, to_version: int, case_ids: Any) -> dict[str, Any]:
    """Move each named case to `to_version`, each in its own transaction; answers per case."""
    require_deployer(actor, "迁移运行中的诉求件")
    if not isinstance(case_ids, list) or not case_ids or len(case_ids) > MAX_CASES or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in case_ids):
        raise Invalid("case_ids 必须是诉求件编号的列表", {"case_ids": f"请给出 1 到 {MAX_CASES} 个诉求件编号"})
    with platform.db.reading() as session:
        target_id = find_version(session, key, to_version).id
    return {"key": key, "to": to_version,
            "items": [_move(platform, actor, key, target_id, i) for i in dict.fromkeys(case_ids)]}


def undo_migration(platform: Platform, actor: Actor, migration_id: int) -> dict[str, Any]:
    """Put a migrated case back on the version and state it had, while nothing has happened on it since."""
    require_deployer(actor, "迁移运行中的诉求件")
    with platform.db.unit_of_work() as session:
        moved = session.get(CaseMigration, migration_id)
        if moved is None:
            raise NotFound("迁移记录不存在")
        case = process.lock_case(session, moved.case_id)
        state = session.get_one(WorkflowState, case.id, populate_existing=True)
        if moved.undone_at is not None:
            raise Conflict("该次迁移已撤销")
        if state.definition_id != moved.to_definition_id or state.revision != moved.revision_after:
            raise Conflict("迁移后该诉求件已有新的办理或再次迁移，不能撤销")
        old = session.get_one(ProcessDefinition, moved.from_definition_id)
        version = DefinitionVersion(old.id, old.key, old.version, old.checksum)
        run = engine.current_run(version.spec_json(session), moved.state_json_before, process.engine_now(platform))
        state.definition_id = old.id
        # a task the move cancelled and the old state still waits at is the same row again
        for task in session.scalars(select(HumanTask).where(HumanTask.id.in_([t.task_id for t in run.tasks]),
                                                            HumanTask.state == "cancelled")):
            task.state, task.completed_at = "ready", None
        session.flush()
        change = process.save(session, platform, case, state, run)
        moved.undone_at, moved.undone_by_id = platform.clock.now(), actor.user_id
        new = session.get_one(ProcessDefinition, moved.to_definition_id)
        audit.record(session, platform, actor, "case.migration_undone", case_id=case.id, detail={
            "key": old.key, "from": new.version, "to": old.version, "migration_id": moved.id})
        notify.process_ran(session, platform, case, change)
        session.commit()
        return {"case_id": case.id, "version": old.version, "status": case.status, "undone": True}
