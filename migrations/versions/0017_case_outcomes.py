"""what reports count, as case columns: answered/responded times, on-time flags, the 回访 result, counters

Revision ID: 0017_case_outcomes
Revises: 0016_portal
"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0017_case_outcomes'
down_revision = '0016_portal'
branch_labels = None
depends_on = None

COUNTERS = ("return_count", "reopen_count", "extension_count", "supervision_count")
SATISFACTION = {"satisfied", "basically_satisfied", "unsatisfied"}
ANSWERED = ("follow_up", "replied", "closed", "archived")  # statuses reached only after an answer (approximate)


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        for name in ("responded_at", "replied_at", "followed_up_at"):
            batch.add_column(sa.Column(name, sa.DateTime(), nullable=True))
        for name in ("replied_on_time", "accepted_on_time", "resolved"):
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("satisfaction", sa.String(20), nullable=True))
        for name in COUNTERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.create_index("ix_case_closed_at", "case", ["closed_at"])
    _backfill(op.get_bind())


def _latest_data(state: dict) -> dict:
    """The data of the newest completed task anywhere in a serialized workflow (as the engine answers it)."""
    best, when = {}, -1.0
    for tree in [state, *(state.get("subprocesses") or {}).values()]:
        for task in (tree.get("tasks") or {}).values():
            changed = task.get("last_state_change") or 0
            if task.get("state") == 64 and changed >= when and isinstance(task.get("data"), dict):
                best, when = task["data"], changed
    return best


def _backfill(conn: sa.Connection) -> None:
    """Closed cases answered: replied_at ≈ closed_at; the 回访 result and counters from the engine state."""
    conn.execute(sa.text('UPDATE "case" SET replied_at = coalesce(closed_at, accepted_at) '
                         "WHERE replied_at IS NULL AND status IN :answered")
                 .bindparams(sa.bindparam("answered", expanding=True)), {"answered": list(ANSWERED)})
    rows = conn.execute(sa.text("SELECT case_id, state_json FROM workflow_state WHERE serializer_version <> 'unstarted'"))
    updates = []
    for case_id, state_json in rows:
        try:
            data = _latest_data(json.loads(state_json))
        except (ValueError, AttributeError, TypeError):
            continue
        row = {"id": case_id, "sat": data.get("satisfaction") if data.get("satisfaction") in SATISFACTION else None,
               "res": bool(data["resolved"]) if isinstance(data.get("resolved"), bool) else None}
        for name in COUNTERS[:3]:
            value = data.get(name)
            row[name] = value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
        updates.append(row)
    if updates:
        conn.execute(sa.text('UPDATE "case" SET satisfaction = :sat, resolved = :res, return_count = :return_count, '
                             'reopen_count = :reopen_count, extension_count = :extension_count WHERE id = :id'),
                     updates)


def downgrade() -> None:
    op.drop_index("ix_case_closed_at", "case")
    with op.batch_alter_table("case") as batch:
        for name in ("responded_at", "replied_at", "followed_up_at", "replied_on_time", "accepted_on_time",
                     "resolved", "satisfaction", *COUNTERS):
            batch.drop_column(name)
