"""deadline rules: where a period is counted from

Each rule says when its period starts: the case's registration, its dispatch, the unit's 签收, or the
step's own start (`step_start`, how every rule counted until now — so existing rows keep their dates).
Hour units (`calendar_hour`, `working_hour`) need no schema change: `unit` is already text.

Revision ID: 0009_rule_counted_from
Revises: 0008_admin_powers
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_rule_counted_from'
down_revision = '0008_admin_powers'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadline_rule") as batch:
        batch.add_column(sa.Column("counted_from", sa.String(20), nullable=False, server_default="step_start"))


def downgrade() -> None:
    with op.batch_alter_table("deadline_rule") as batch:
        batch.drop_column("counted_from")
