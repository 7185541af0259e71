"""channel submissions keep the photo link a client sent (Open311 `media_url`), answered back on GET requests

Revision ID: 0013_channel_media_url
Revises: 0012_local_holiday
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_channel_media_url'
down_revision = '0012_local_holiday'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('channel_submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_url', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('channel_submission', schema=None) as batch_op:
        batch_op.drop_column('media_url')
