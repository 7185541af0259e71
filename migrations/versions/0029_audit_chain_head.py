"""audit_chain_head(): the audit chain's lock and its head in one round trip on PostgreSQL (app/services/audit.py).
A VOLATILE function takes a fresh snapshot for each statement in it, so the head it reads is the one committed
by whoever held the lock before: the chain cannot fork, as with the two statements it replaces

Revision ID: 0029_audit_chain_head
Revises: 0028_data_revision
"""
from alembic import op

revision = '0029_audit_chain_head'
down_revision = '0028_data_revision'
branch_labels = None
depends_on = None

# Keyed by this audit table's oid, as before: other schemas' chains do not wait on ours.
PG_FUNCTION = """
CREATE FUNCTION audit_chain_head() RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE head text;
BEGIN
  PERFORM pg_advisory_xact_lock(to_regclass('audit_event')::oid::bigint);
  SELECT mac INTO head FROM audit_event ORDER BY id DESC LIMIT 1;
  RETURN head;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head()")
