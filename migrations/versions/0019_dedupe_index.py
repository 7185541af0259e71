"""判重 index: LSH band keys and normalised place keys per case

Two tables keyed (key, created_at, case_id) so the duplicate hint reads "these keys within the window" as
index ranges. Cases registered before this migration are indexed by `flask --app wsgi dedupe reindex`.

Revision ID: 0019_dedupe_index
Revises: 0018_knowledge_terms
"""
import sqlalchemy as sa
from alembic import op

revision = '0019_dedupe_index'
down_revision = '0018_knowledge_terms'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dedupe_band",
        sa.Column("band_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_dedupe_band_case_id_case"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("band_key", "created_at", "case_id", name=op.f("pk_dedupe_band")),
    )
    op.create_index(op.f("ix_dedupe_band_case_id"), "dedupe_band", ["case_id"])
    op.create_table(
        "dedupe_place",
        sa.Column("place_key", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_dedupe_place_case_id_case"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("place_key", "created_at", "case_id", name=op.f("pk_dedupe_place")),
    )
    op.create_index(op.f("ix_dedupe_place_case_id"), "dedupe_place", ["case_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dedupe_place_case_id"), table_name="dedupe_place")
    op.drop_table("dedupe_place")
    op.drop_index(op.f("ix_dedupe_band_case_id"), table_name="dedupe_band")
    op.drop_table("dedupe_band")
