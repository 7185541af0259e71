"""the combined query's unit scope as one bitmap: case (lead_unit_id, id) and (registering_unit_id, id) in place of
(registering_unit_id), so the cases a unit sees only by a task are found by two index-only merges (the unit's tasks
less its lead and registered cases) — no heap read of every text match to test the scope (docs/query.md)

Revision ID: 0027_case_unit_id_indexes
Revises: 0026_report_stale_marks
"""
from alembic import op

revision = '0027_case_unit_id_indexes'
down_revision = '0026_report_stale_marks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_lead_unit_id_id", "case", ["lead_unit_id", "id"])
    op.create_index("ix_case_registering_unit_id_id", "case", ["registering_unit_id", "id"])
    op.drop_index("ix_case_registering_unit_id", "case")


def downgrade() -> None:
    op.create_index("ix_case_registering_unit_id", "case", ["registering_unit_id"])
    op.drop_index("ix_case_registering_unit_id_id", "case")
    op.drop_index("ix_case_lead_unit_id_id", "case")
