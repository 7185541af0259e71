"""the combined query at a million cases: who may see a unit's cases by its tasks (human_task (unit_id,
case_id)); a lead unit's cases newest first (case (lead_unit_id, created_at) in place of (lead_unit_id))

Revision ID: 0024_query_indexes
Revises: 0023_knowledge_attachments
"""
from alembic import op

revision = '0024_query_indexes'
down_revision = '0023_knowledge_attachments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_human_task_unit_case", "human_task", ["unit_id", "case_id"])
    op.create_index("ix_case_lead_unit_created", "case", ["lead_unit_id", "created_at"])
    op.drop_index("ix_case_lead_unit_id", "case")


def downgrade() -> None:
    op.create_index("ix_case_lead_unit_id", "case", ["lead_unit_id"])
    op.drop_index("ix_case_lead_unit_created", "case")
    op.drop_index("ix_human_task_unit_case", "human_task")
