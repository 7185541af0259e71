"""local holidays: rest days a region sets for itself (少数民族 festivals of a 自治县), counted only by the
deadlines of tasks at units in that region's subtree

Revision ID: 0012_local_holiday
Revises: 0011_channel_keys
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_local_holiday'
down_revision = '0011_channel_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('local_holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_local_holiday_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_local_holiday')),
    sa.UniqueConstraint('unit_id', 'day', name=op.f('uq_local_holiday_unit_id'))
    )


def downgrade() -> None:
    op.drop_table('local_holiday')
