"""routing rules: the 派单目录 (category × area → lead unit and mode), and the area of a case

Revision ID: 0007_routing_rule
Revises: 0006_backup_permission
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_routing_rule'
down_revision = '0006_backup_permission'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('routing_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('area_unit_id', sa.Integer(), nullable=True),
    sa.Column('lead_unit_id', sa.Integer(), nullable=False),
    sa.Column('assisting_unit_ids', sa.JSON(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('directly_designated', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['area_unit_id'], ['unit.id'], name=op.f('fk_routing_rule_area_unit_id_unit')),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['unit.id'], name=op.f('fk_routing_rule_lead_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rule'))
    )
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rule_category'), ['category'], unique=False)
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_area_unit_id_unit'), 'unit', ['area_unit_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_case_area_unit_id_unit'), type_='foreignkey')
        batch_op.drop_column('area_unit_id')
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rule_category'))
    op.drop_table('routing_rule')
