"""知识库: entries with their search index (PostgreSQL: tsvector + GIN; SQLite: FTS5), the cases they answered,
feedback, synonyms; the knowledge roles and permissions

Revision ID: 0014_knowledge
Revises: 0013_channel_media_url
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0014_knowledge'
down_revision = '0013_channel_media_url'
branch_labels = None
depends_on = None

PERMISSIONS = {"knowledge.read": "查阅知识库", "knowledge.edit": "维护本单位知识", "knowledge.review": "审核发布知识"}
ROLES = {"knowledge_editor": "知识库编辑", "knowledge_reviewer": "知识库审核员"}
LINKS = [(r, "knowledge.read") for r in ("agent", "dispatcher", "handler", "leader")] + [
    ("knowledge_editor", "knowledge.read"), ("knowledge_editor", "knowledge.edit"),
    ("knowledge_reviewer", "knowledge.read"), ("knowledge_reviewer", "knowledge.edit"),
    ("knowledge_reviewer", "knowledge.review")]
permission = sa.table("permission", sa.column("code", sa.String), sa.column("name", sa.String))
role = sa.table("role", sa.column("code", sa.String), sa.column("name", sa.String))
link = sa.table("role_permission", sa.column("role_code", sa.String), sa.column("permission_code", sa.String))


def upgrade() -> None:
    op.create_table('knowledge_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('area_unit_id', sa.Integer(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('keywords', sa.String(length=500), nullable=False),
    sa.Column('internal_note', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('use_count', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('question_tokens', sa.Text(), nullable=False),
    sa.Column('answer_tokens', sa.Text(), nullable=False),
    sa.Column('search_vector', sa.Text().with_variant(postgresql.TSVECTOR(), 'postgresql'), nullable=True),
    sa.ForeignKeyConstraint(['area_unit_id'], ['unit.id'], name=op.f('fk_knowledge_entry_area_unit_id_unit')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                            name=op.f('fk_knowledge_entry_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_knowledge_entry_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_entry'))
    )
    with op.batch_alter_table('knowledge_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_entry_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_knowledge_entry_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_knowledge_entry_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_knowledge_entry_search_vector', ['search_vector'], unique=False,
                              postgresql_using='gin')
    op.create_table('knowledge_synonym',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('words', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_synonym'))
    )
    op.create_table('knowledge_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entry.id'],
                            name=op.f('fk_knowledge_feedback_entry_id_knowledge_entry')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_knowledge_feedback_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_feedback'))
    )
    with op.batch_alter_table('knowledge_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_feedback_entry_id'), ['entry_id'], unique=False)
    op.create_table('knowledge_use',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_knowledge_use_case_id_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entry_id'], ['knowledge_entry.id'], name=op.f('fk_knowledge_use_entry_id_knowledge_entry')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_knowledge_use_user_id_user_account')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_knowledge_use'))
    )
    with op.batch_alter_table('knowledge_use', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_use_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_knowledge_use_used_at'), ['used_at'], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # The segmented tokens are already words split by spaces: unicode61 keeps each as one term.
        op.execute("CREATE VIRTUAL TABLE knowledge_fts USING fts5(questions, answer, tokenize='unicode61')")
    _catalogue()


def _catalogue() -> None:
    """Idempotent: 0001 seeds the catalogue from app.domain.roles, which may already hold these."""
    conn = op.get_bind()
    for code, name in PERMISSIONS.items():
        if conn.scalar(sa.select(permission.c.code).where(permission.c.code == code)) is None:
            conn.execute(permission.insert().values(code=code, name=name))
    for code, name in ROLES.items():
        if conn.scalar(sa.select(role.c.code).where(role.c.code == code)) is None:
            conn.execute(role.insert().values(code=code, name=name))
    for r, p in LINKS:
        if conn.scalar(sa.select(link.c.role_code).where(link.c.role_code == r, link.c.permission_code == p)) is None:
            conn.execute(link.insert().values(role_code=r, permission_code=p))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(link.delete().where(link.c.permission_code.in_(list(PERMISSIONS))))
    conn.execute(sa.text("DELETE FROM user_role WHERE role_code IN ('knowledge_editor', 'knowledge_reviewer')"))
    conn.execute(role.delete().where(role.c.code.in_(list(ROLES))))
    conn.execute(permission.delete().where(permission.c.code.in_(list(PERMISSIONS))))
    if conn.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS knowledge_fts")
    op.drop_table('knowledge_use')
    op.drop_table('knowledge_feedback')
    op.drop_table('knowledge_synonym')
    op.drop_table('knowledge_entry')
