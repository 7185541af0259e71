"""the citizens' portal: attachments of a case, SMS look-up codes, and the two intake-guard statuses

Revision ID: 0016_portal
Revises: 0015_definition_versions
"""
import sqlalchemy as sa
from alembic import op

revision = '0016_portal'
down_revision = '0015_definition_versions'
branch_labels = None
depends_on = None

STATUSES = {"transferred": "已转紧急热线", "redirected": "已告知其他渠道"}  # app/domain/statuses.py
entry = sa.table("dictionary_entry", sa.column("kind", sa.String), sa.column("code", sa.String),
                 sa.column("label", sa.String), sa.column("parent_id", sa.Integer), sa.column("sort", sa.Integer),
                 sa.column("active", sa.Boolean))


def upgrade() -> None:
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id", ondelete="CASCADE"), nullable=False),
        sa.Column("stored_name", sa.String(80), nullable=False, unique=True),
        sa.Column("filename", sa.String(120), nullable=False),
        sa.Column("content_type", sa.String(40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_attachment_case_id", "attachment", ["case_id"])
    op.create_table(
        "portal_challenge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("phone_hash", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_portal_challenge_phone_hash", "portal_challenge", ["phone_hash"])
    conn = op.get_bind()
    known = set(conn.scalars(sa.select(entry.c.code).where(entry.c.kind == "case_status")))
    missing = [{"kind": "case_status", "code": code, "label": words, "parent_id": None, "sort": 12 + i,
                "active": True} for i, (code, words) in enumerate(STATUSES.items()) if code not in known]
    if missing:
        conn.execute(entry.insert(), missing)


def downgrade() -> None:
    op.get_bind().execute(entry.delete().where(entry.c.kind == "case_status", entry.c.code.in_(list(STATUSES))))
    op.drop_index("ix_portal_challenge_phone_hash", "portal_challenge")
    op.drop_table("portal_challenge")
    op.drop_index("ix_attachment_case_id", "attachment")
    op.drop_table("attachment")
