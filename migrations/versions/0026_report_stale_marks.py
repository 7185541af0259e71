"""report summary marks appended, never updated: report_stale_day (one row per day, its generation bumped by
every write) becomes report_stale_mark (one row per marking flush), so writers never wait on today's row

Revision ID: 0026_report_stale_marks
Revises: 0025_report_summary
"""
import sqlalchemy as sa
from alembic import op

revision = '0026_report_stale_marks'
down_revision = '0025_report_summary'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_stale_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_stale_mark")),
    )
    op.create_index(op.f("ix_report_stale_mark_day"), "report_stale_mark", ["day"])
    op.execute("INSERT INTO report_stale_mark (day) SELECT day FROM report_stale_day")
    op.drop_table("report_stale_day")


def downgrade() -> None:
    op.create_table(
        "report_stale_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_stale_day")),
    )
    op.execute("INSERT INTO report_stale_day (day, generation) SELECT DISTINCT day, 1 FROM report_stale_mark")
    op.drop_index(op.f("ix_report_stale_mark_day"), table_name="report_stale_mark")
    op.drop_table("report_stale_mark")
