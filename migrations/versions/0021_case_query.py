"""combined query and exports: case.dispatch_mode, saved_query, export_job, the case text index

PostgreSQL: pg_trgm GIN indexes on subject and content (LIKE '%…%' uses them). SQLite: an FTS5 trigram
table with external content on "case", kept by triggers.

Revision ID: 0021_case_query
Revises: 0020_screening
"""
import sqlalchemy as sa
from alembic import op

revision = '0021_case_query'
down_revision = '0020_screening'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("dispatch_mode", sa.String(20), nullable=True))
    op.create_table(
        "saved_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_saved_query_owner_id_user_account"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_saved_query_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_query")),
    )
    op.create_index(op.f("ix_saved_query_owner_id"), "saved_query", ["owner_id"])
    op.create_index(op.f("ix_saved_query_unit_id"), "saved_query", ["unit_id"])
    op.create_table(
        "export_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("reveal", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(120), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["user_account.id"], name=op.f("fk_export_job_owner_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_job")),
    )
    op.create_index(op.f("ix_export_job_owner_id"), "export_job", ["owner_id"])
    op.create_index(op.f("ix_export_job_state"), "export_job", ["state"])
    if op.get_bind().dialect.name == "postgresql":
        # In public (not the first schema of the search path), so dropping one schema never drops the
        # extension under another's indexes; the operator class is named with whichever schema holds it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        where = op.get_bind().scalar(sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                                             "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"))
        for column in ("subject", "content"):
            op.execute(f'CREATE INDEX ix_case_{column}_trgm ON "case" USING gin ({column} "{where}".gin_trgm_ops)')
    else:
        op.execute("CREATE VIRTUAL TABLE case_fts USING fts5(subject, content, content='case', content_rowid='id', "
                   "tokenize='trigram')")
        op.execute("INSERT INTO case_fts(case_fts) VALUES ('rebuild')")
        op.execute('CREATE TRIGGER case_fts_insert AFTER INSERT ON "case" BEGIN '
                   "INSERT INTO case_fts(rowid, subject, content) VALUES (new.id, new.subject, new.content); END")
        op.execute('CREATE TRIGGER case_fts_delete AFTER DELETE ON "case" BEGIN '
                   "INSERT INTO case_fts(case_fts, rowid, subject, content) "
                   "VALUES ('delete', old.id, old.subject, old.content); END")
        op.execute('CREATE TRIGGER case_fts_update AFTER UPDATE OF subject, content ON "case" BEGIN '
                   "INSERT INTO case_fts(case_fts, rowid, subject, content) "
                   "VALUES ('delete', old.id, old.subject, old.content); "
                   "INSERT INTO case_fts(rowid, subject, content) VALUES (new.id, new.subject, new.content); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_content_trgm")
        op.execute("DROP INDEX IF EXISTS ix_case_subject_trgm")
    else:
        for name in ("case_fts_update", "case_fts_delete", "case_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_fts")
    op.drop_table("export_job")
    op.drop_table("saved_query")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("dispatch_mode")
