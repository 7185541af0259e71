"""idempotency keys remember the hash of their body

Revision ID: 0002_idempotency_body_hash
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_idempotency_body_hash'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows kept from before have no hash: a retry under their key still answers their case.
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('idempotent_request', schema=None) as batch_op:
        batch_op.drop_column('body_hash')
