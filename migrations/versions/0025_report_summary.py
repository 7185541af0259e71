"""the report summary (per-day sums per grain, stale days), saved custom reports, event-time indexes on case

Every day that holds an event of an existing case is marked stale, so the scheduler folds the summary of an
upgraded database (until then reports read those days live from the cases: never a wrong figure).

Revision ID: 0025_report_summary
Revises: 0024_query_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = '0025_report_summary'
down_revision = '0024_query_indexes'
branch_labels = None
depends_on = None

FIELDS = ("new", "repeat", "accepted", "accepted_on_time", "dispatched", "responded", "replied",
          "replied_on_time", "rated", "satisfied", "basically_satisfied", "unsatisfied", "resolved",
          "extensions", "returns", "reopens", "supervisions", "closed", "returned", "terminated", "finished")
EVENTS = ("created_at", "accepted_at", "replied_at", "followed_up_at", "closed_at")


def upgrade() -> None:
    op.create_table(
        "report_day",
        sa.Column("grain", sa.String(12), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(90), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in FIELDS),
        sa.PrimaryKeyConstraint("grain", "day", "key", name=op.f("pk_report_day")),
    )
    op.create_table(
        "report_stale_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_stale_day")),
    )
    op.create_table(
        "saved_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_saved_report_owner_id_user_account"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_saved_report_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_report")),
    )
    op.create_index(op.f("ix_saved_report_owner_id"), "saved_report", ["owner_id"])
    op.create_index(op.f("ix_saved_report_unit_id"), "saved_report", ["unit_id"])
    for column in ("accepted_at", "replied_at", "followed_up_at"):
        op.create_index(op.f(f"ix_case_{column}"), "case", [column])
    days = " UNION ".join(f'SELECT DISTINCT CAST({c} AS DATE) AS day FROM "case" WHERE {c} IS NOT NULL'
                          for c in EVENTS)
    if op.get_bind().dialect.name == "sqlite":
        days = " UNION ".join(f'SELECT DISTINCT date({c}) AS day FROM "case" WHERE {c} IS NOT NULL' for c in EVENTS)
    op.execute(f"INSERT INTO report_stale_day (day, generation) SELECT day, 1 FROM ({days}) AS d")


def downgrade() -> None:
    for column in ("accepted_at", "replied_at", "followed_up_at"):
        op.drop_index(op.f(f"ix_case_{column}"), table_name="case")
    op.drop_index(op.f("ix_saved_report_unit_id"), table_name="saved_report")
    op.drop_index(op.f("ix_saved_report_owner_id"), table_name="saved_report")
    op.drop_table("saved_report")
    op.drop_table("report_stale_day")
    op.drop_table("report_day")
