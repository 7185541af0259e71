"""矛盾纠纷排查: keyword flags of cases (case_flag) and the 排查表 (dispute_screening)

Revision ID: 0020_screening
Revises: 0019_dedupe_index
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_screening'
down_revision = '0019_dedupe_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_flag",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("word", sa.String(20), primary_key=True),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("matched_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_case_flag_level", "case_flag", ["level"])
    op.create_index("ix_case_flag_matched_at", "case_flag", ["matched_at"])
    op.create_table(
        "dispute_screening",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("dispute_type", sa.String(40), nullable=False),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("people_involved", sa.Integer(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("case.id", ondelete="SET NULL"), nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_dispute_screening_unit_id", "dispute_screening", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_dispute_screening_unit_id", "dispute_screening")
    op.drop_table("dispute_screening")
    op.drop_index("ix_case_flag_matched_at", "case_flag")
    op.drop_index("ix_case_flag_level", "case_flag")
    op.drop_table("case_flag")
