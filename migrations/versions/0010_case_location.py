"""cases: where the matter is (事发地点), apart from the requester's own address, and an optional map point

Revision ID: 0010_case_location
Revises: 0009_rule_counted_from
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_case_location'
down_revision = '0009_rule_counted_from'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("location", sa.String(200), nullable=True))
        batch.add_column(sa.Column("location_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("location_lng", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.drop_column("location_lng")
        batch.drop_column("location_lat")
        batch.drop_column("location")
