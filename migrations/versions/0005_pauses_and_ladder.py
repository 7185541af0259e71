"""pauses and the escalation ladder: pause rules, task pauses, a task's paused-since time, ladder rungs reached

Revision ID: 0005_pauses_and_ladder
Revises: 0004_status_codes
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_pauses_and_ladder'
down_revision = '0004_status_codes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pause_rule',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_pause_rule'))
    )
    op.create_table('task_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('credited_days', sa.Integer(), nullable=True),
    sa.Column('due_before', sa.DateTime(), nullable=True),
    sa.Column('due_after', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_task_pause_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'],
                            name=op.f('fk_task_pause_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['user_account.id'], name=op.f('fk_task_pause_ended_by_id_user_account')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'],
                            name=op.f('fk_task_pause_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['task_id'], ['human_task.id'], name=op.f('fk_task_pause_task_id_human_task'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_task_pause'))
    )
    with op.batch_alter_table('task_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_pause_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_pause_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_pause_task_id'), ['task_id'], unique=False)
    op.create_table('task_escalation',
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('rung', sa.String(length=30), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=False),
    sa.Column('raised_by', sa.String(length=60), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_task_escalation_case_id_case'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_task_escalation_unit_id_unit')),
    sa.PrimaryKeyConstraint('task_id', 'rung', name=op.f('pk_task_escalation'))
    )
    with op.batch_alter_table('task_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_task_escalation_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_task_escalation_unit_id'), ['unit_id'], unique=False)
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_column('paused_at')
    with op.batch_alter_table('task_escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_escalation_unit_id'))
        batch_op.drop_index(batch_op.f('ix_task_escalation_case_id'))
    op.drop_table('task_escalation')
    with op.batch_alter_table('task_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_task_pause_task_id'))
        batch_op.drop_index(batch_op.f('ix_task_pause_state'))
        batch_op.drop_index(batch_op.f('ix_task_pause_case_id'))
    op.drop_table('task_pause')
    op.drop_table('pause_rule')
