"""worklists at a million cases: the ready-task indexes cover the light counts; an assignee's ready tasks

Revision ID: 0022_worklist_indexes
Revises: 0021_case_query
"""
import sqlalchemy as sa
from alembic import op

revision = '0022_worklist_indexes'
down_revision = '0021_case_query'
branch_labels = None
depends_on = None

READY = sa.text("state = 'ready'")
COLUMNS = ["role", "spec_name", "title", "paused_at", "warn_at"]
KEY = ["due_at", "created_at", "id"]


def upgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.drop_index("ix_human_task_ready_unit_due", postgresql_where=READY, sqlite_where=READY)
        batch.create_index("ix_human_task_ready_unit_due", ["unit_id", *KEY], postgresql_include=COLUMNS,
                           postgresql_where=READY, sqlite_where=READY)
        batch.create_index("ix_human_task_ready_assignee_due", ["assignee_id", *KEY],
                           postgresql_include=["unit_id", *COLUMNS], postgresql_where=READY, sqlite_where=READY)


def downgrade() -> None:
    with op.batch_alter_table("human_task") as batch:
        batch.drop_index("ix_human_task_ready_assignee_due", postgresql_where=READY, sqlite_where=READY)
        batch.drop_index("ix_human_task_ready_unit_due", postgresql_where=READY, sqlite_where=READY)
        batch.create_index("ix_human_task_ready_unit_due", ["unit_id", *KEY], postgresql_where=READY,
                           sqlite_where=READY)
