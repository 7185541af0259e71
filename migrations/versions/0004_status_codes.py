"""case status codes: stored statuses become codes, their words go into the data dictionary

A case's status was the Chinese word its definition's `caseStatus` carried; it is now a code (registered,
handling, …) and the words live in the dictionary (kind `case_status`), renamable by administrators.
Converts `case.status`, adds the missing `case_status` entries (a word already there is kept). Audit rows
are append-only and HMAC-chained: never rewritten (none holds a status). Deployed definition versions are
immutable too: cases running on an old version keep reporting the old words, which the platform maps to
codes when it reads them (app.domain.statuses.LEGACY_CODES); `flask seed-reference` deploys the new stock
versions for new cases. The mapping is written out here, frozen, as a migration must not follow app code.

Revision ID: 0004_status_codes
Revises: 0003_auth_limits
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_status_codes'
down_revision = '0003_auth_limits'
branch_labels = None
depends_on = None

KIND = "case_status"
CODES = {  # code → the words every stored row and stock definition used until now, in list order
    "registered": "待受理", "dispatching": "待派单", "handling": "办理中", "approving": "待审批",
    "replied": "已答复", "follow_up": "待回访", "reviewing": "复查中", "re_reviewing": "复核中",
    "closed": "已办结", "archived": "已归档", "rejected": "不予受理", "terminated": "已终结",
}

case = sa.table("case", sa.column("status", sa.String))
entry = sa.table("dictionary_entry", sa.column("kind", sa.String), sa.column("code", sa.String),
                 sa.column("label", sa.String), sa.column("parent_id", sa.Integer), sa.column("sort", sa.Integer),
                 sa.column("active", sa.Boolean))


def upgrade() -> None:
    conn = op.get_bind()
    for code, words in CODES.items():
        conn.execute(case.update().where(case.c.status == words).values(status=code))
    known = set(conn.scalars(sa.select(entry.c.code).where(entry.c.kind == KIND)))
    missing = [{"kind": KIND, "code": code, "label": words, "parent_id": None, "sort": i, "active": True}
               for i, (code, words) in enumerate(CODES.items()) if code not in known]
    if missing:
        conn.execute(entry.insert(), missing)


def downgrade() -> None:
    conn = op.get_bind()
    for code, words in CODES.items():
        conn.execute(case.update().where(case.c.status == code).values(status=words))
    conn.execute(entry.delete().where(entry.c.kind == KIND))
