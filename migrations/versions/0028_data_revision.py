"""data_revision: a token per group of administrator-edited tables, changed by triggers on every write to them, so a
process keeps the calendar, the dictionary, the deadline rules, the deployed definitions, the settings and who each user is it built while their
token stands (app/db.py `kept`) — one small read per transaction instead of reading the tables

Revision ID: 0028_data_revision
Revises: 0027_case_unit_id_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = '0028_data_revision'
down_revision = '0027_case_unit_id_indexes'
branch_labels = None
depends_on = None

# Frozen copy of app.models.config.REVISED_TABLES as of this revision.
GROUPS = {"calendar_day": "calendar", "local_holiday": "calendar", "calendar_year": "calendar",
          "dictionary_entry": "dictionary", "deadline_rule": "deadline_rule",
          "process_definition": "process_definition", "unit": "unit",
          "setting": "setting", "user_account": "people", "user_role": "people", "role": "people",
          "role_permission": "people", "permission": "people"}
# A user's columns that make who they are; the sign-in counters (failed_logins, password_hash) change no token.
PERSON_COLUMNS = "staff_no, name, unit_id, active, locked_until, must_change_password, password_changed_at, phone"

# The schema is the changed table's own (TG_TABLE_SCHEMA), so the trigger works whatever the search_path
# (pg_restore sets an empty one).
PG_FUNCTION = """
CREATE FUNCTION data_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('INSERT INTO %I.data_revision (name, token) VALUES ($1, md5(random()::text || clock_timestamp()::text))
                  ON CONFLICT (name) DO UPDATE SET token = EXCLUDED.token', TG_TABLE_SCHEMA) USING TG_ARGV[0];
  RETURN NULL;
END $$;
"""


def upgrade() -> None:
    op.create_table('data_revision',
                    sa.Column('name', sa.String(length=40), nullable=False),
                    sa.Column('token', sa.String(length=40), nullable=False),
                    sa.PrimaryKeyConstraint('name', name=op.f('pk_data_revision')))
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(PG_FUNCTION)
    for table, group in GROUPS.items():
        updated = f"UPDATE OF {PERSON_COLUMNS}" if table == "user_account" else "UPDATE"
        if postgres:
            op.execute(f"CREATE TRIGGER {table}_revision AFTER INSERT OR {updated} OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION data_revision_bump('{group}')")
            continue
        for verb in ("INSERT", updated, "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_revision_{verb.split()[0].lower()} AFTER {verb} ON {table} BEGIN "
                       f"INSERT OR REPLACE INTO data_revision (name, token) "
                       f"VALUES ('{group}', lower(hex(randomblob(16)))); END")
    fresh = "md5(random()::text)" if postgres else "lower(hex(randomblob(16)))"  # never the same in two databases
    op.execute("INSERT INTO data_revision (name, token) VALUES "
               + ", ".join(f"('{g}', {fresh})" for g in sorted(set(GROUPS.values()))))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in GROUPS:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_revision ON {table}")
        else:
            for verb in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_revision_{verb}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS data_revision_bump()")
    op.drop_table('data_revision')
