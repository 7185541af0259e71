"""知识库: an entry's attachments (a form, a map) and its rich-text answer

Revision ID: 0023_knowledge_attachments
Revises: 0022_worklist_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_knowledge_attachments'
down_revision = '0022_worklist_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('knowledge_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_html', sa.Text(), nullable=False, server_default=''))
    op.create_table('knowledge_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entry.id'], ondelete='CASCADE',
                            name=op.f('fk_knowledge_attachment_entry_id_knowledge_entry')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name=op.f('fk_knowledge_attachment_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_knowledge_attachment_stored_name'))
    )
    with op.batch_alter_table('knowledge_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_attachment_entry_id'), ['entry_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('knowledge_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_attachment_entry_id'))
    op.drop_table('knowledge_attachment')
    with op.batch_alter_table('knowledge_entry', schema=None) as batch_op:
        batch_op.drop_column('answer_html')
