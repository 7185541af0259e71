"""The engine facade — the only package that imports SpiffWorkflow (contract: docs/engine-facade.md).

Map of the package:
- deploy.py        deploy_definition: size/DOCTYPE refusal, XSD-validated parse, checks, spec JSON
- validation.py    per-task deploy checks: forms, deadline rules, lanes, scripts
- runtime.py       start_workflow, complete_task, send_message, fire_due_timers, replace_unit → EngineRun
- projection.py    ReadyTask / DueTimer rows and the case status from `caseStatus`
- serialization.py spec JSON and instance state JSON; specs cached per version; engine re-attached
- forms.py         form data against JSON Schema, Chinese messages per field
- timers.py        timer events on the injected clock instead of datetime.now()
- scripting.py     RestrictedScriptEngine / RestrictedEnvironment (SpiffWorkflow's script engine, restricted)
- policy.py        compile-time policy (RestrictedPython transformer, tightened)
- guards.py        run-time guards and the per-run budget
- functions.py     the whitelist of functions scripts see
- errors.py        the error vocabulary
- description.py   describe_definition: a deployed spec's user tasks, statuses and paths, as plain data
- foreign.py       import_definition: a definition from another modeler, foreign extensions dropped and listed
- dry_run.py       dry_run: a compiled draft run in memory with given answers (试运行)
- definition_diff.py diff_definitions: added / removed / changed elements between two versions
- case_migration.py check_migration / migrate_case: a running case moved to another version (SpiffWorkflow's diff)
"""

from app.engine.case_migration import MigrationCheck, MigrationRefused, check_migration, current_run, migrate_case
from app.engine.definition_diff import DefinitionDiff, ElementChange, diff_definitions
from app.engine.deploy import CompiledDefinition, Issue, Outline, check_definition, deploy_definition, outline
from app.engine.description import DefinitionDescription, StepDescription, describe_definition
from app.engine.dry_run import DryRun, DryStep, dry_run, form_defaults
from app.engine.errors import (
    DefinitionInvalid,
    EngineError,
    FormInvalid,
    MessageNotExpected,
    ScriptFailed,
    TaskNotReady,
)
from app.engine.foreign import Dropped, ImportedDefinition, import_definition
from app.engine.policy import ScriptProblem, script_problems
from app.engine.projection import DueTimer, ReadyTask
from app.engine.runtime import (
    EngineRun,
    complete_task,
    fire_due_timers,
    replace_unit,
    send_message,
    start_workflow,
)
from app.engine.serialization import SERIALIZER_VERSION
from app.engine.timers import may_have_timers, preview_timer

__all__ = [
    "may_have_timers",
    "SERIALIZER_VERSION",
    "DefinitionDiff",
    "Dropped",
    "DryRun",
    "DryStep",
    "ElementChange",
    "ImportedDefinition",
    "Issue",
    "MigrationCheck",
    "MigrationRefused",
    "Outline",
    "ScriptProblem",
    "check_definition",
    "check_migration",
    "current_run",
    "diff_definitions",
    "dry_run",
    "form_defaults",
    "import_definition",
    "migrate_case",
    "outline",
    "preview_timer",
    "script_problems",
    "DefinitionDescription",
    "DefinitionInvalid",
    "CompiledDefinition",
    "DueTimer",
    "EngineError",
    "EngineRun",
    "FormInvalid",
    "ReadyTask",
    "MessageNotExpected",
    "ScriptFailed",
    "StepDescription",
    "TaskNotReady",
    "complete_task",
    "deploy_definition",
    "describe_definition",
    "fire_due_timers",
    "replace_unit",
    "send_message",
    "start_workflow",
]
