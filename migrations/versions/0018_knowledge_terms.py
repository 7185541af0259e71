"""知识库: how many entries hold each search token (knowledge_term), counted from the entries already there

Revision ID: 0018_knowledge_terms
Revises: 0017_case_outcomes
"""
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = '0018_knowledge_terms'
down_revision = '0017_case_outcomes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('knowledge_term',
    sa.Column('term', sa.String(length=100), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('term', name=op.f('pk_knowledge_term'))
    )
    conn = op.get_bind()
    counts: Counter[str] = Counter()
    total = 0
    for questions, answer in conn.execute(sa.text("SELECT question_tokens, answer_tokens FROM knowledge_entry")):
        counts.update({t for t in f"{questions} {answer}".split() if len(t) <= 100})
        total += 1
    rows = [{"term": t, "entries": n} for t, n in counts.items()] + [{"term": "", "entries": total}]
    op.bulk_insert(sa.table("knowledge_term", sa.column("term"), sa.column("entries")), rows)


def downgrade() -> None:
    op.drop_table('knowledge_term')
