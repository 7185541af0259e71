"""definition versions for the modeler: a change note and the call-activity files on each version, one
draft per administrator and key, and every move of a running case to another version (with the state
it had, for undo)

Revision ID: 0015_definition_versions
Revises: 0014_knowledge
"""
import sqlalchemy as sa
from alembic import op


revision = '0015_definition_versions'
down_revision = '0014_knowledge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('definition_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('bpmn_xml', sa.Text(), nullable=False),
    sa.Column('forms_json', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_definition_draft_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_draft')),
    sa.UniqueConstraint('key', 'user_id', name=op.f('uq_definition_draft_key'))
    )
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_definition_draft_user_id'), ['user_id'], unique=False)

    op.create_table('case_migration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('from_definition_id', sa.Integer(), nullable=False),
    sa.Column('to_definition_id', sa.Integer(), nullable=False),
    sa.Column('state_json_before', sa.Text(), nullable=False),
    sa.Column('serializer_version_before', sa.String(length=20), nullable=False),
    sa.Column('revision_after', sa.Integer(), nullable=False),
    sa.Column('migrated_at', sa.DateTime(), nullable=False),
    sa.Column('migrated_by_id', sa.Integer(), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_migration_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_definition_id'], ['process_definition.id'], name=op.f('fk_case_migration_from_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['migrated_by_id'], ['user_account.id'], name=op.f('fk_case_migration_migrated_by_id_user_account')),
    sa.ForeignKeyConstraint(['to_definition_id'], ['process_definition.id'], name=op.f('fk_case_migration_to_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['user_account.id'], name=op.f('fk_case_migration_undone_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_migration'))
    )
    with op.batch_alter_table('case_migration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_migration_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('library_json', sa.Text(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_column('library_json')
        batch_op.drop_column('note')

    with op.batch_alter_table('case_migration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_migration_case_id'))

    op.drop_table('case_migration')
    with op.batch_alter_table('definition_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_definition_draft_user_id'))

    op.drop_table('definition_draft')
