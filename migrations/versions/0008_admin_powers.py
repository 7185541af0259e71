"""三权分立 on the admin pages: accounts move to the 安全管理员 (user.manage), units go to the 系统管理员 (unit.manage); a merged unit names the one it went into

Revision ID: 0008_admin_powers
Revises: 0007_routing_rule
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_admin_powers'
down_revision = '0007_routing_rule'
branch_labels = None
depends_on = None

MOVES = (("sysadmin", "user.manage", "secadmin"),)  # (from role, permission, to role)
ADDED = (("unit.manage", "维护组织机构", "sysadmin"),)


def upgrade() -> None:
    """The role links are idempotent: 0001 seeds the catalogue from app.domain.roles, which may already say this."""
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_unit_merged_into_id_unit'), 'unit', ['merged_into_id'], ['id'])
    bind = op.get_bind()
    for code, name, role in ADDED:
        if bind.execute(sa.text("SELECT 1 FROM permission WHERE code = :c"), {"c": code}).first() is None:
            bind.execute(sa.text("INSERT INTO permission (code, name) VALUES (:c, :n)"), {"c": code, "n": name})
        _link(role, code)
    for old, code, new in MOVES:
        bind.execute(sa.text("DELETE FROM role_permission WHERE role_code = :r AND permission_code = :p"),
                     {"r": old, "p": code})
        _link(new, code)


def _link(role: str, code: str) -> None:
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM role_permission WHERE role_code = :r AND permission_code = :p"),
                    {"r": role, "p": code}).first() is None:
        bind.execute(sa.text("INSERT INTO role_permission (role_code, permission_code) VALUES (:r, :p)"),
                     {"r": role, "p": code})


def downgrade() -> None:
    bind = op.get_bind()
    for old, code, new in MOVES:
        bind.execute(sa.text("DELETE FROM role_permission WHERE role_code = :r AND permission_code = :p"),
                     {"r": new, "p": code})
        _link(old, code)
    for code, _, role in ADDED:
        bind.execute(sa.text("DELETE FROM role_permission WHERE permission_code = :p"), {"p": code})
        bind.execute(sa.text("DELETE FROM permission WHERE code = :c"), {"c": code})
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_unit_merged_into_id_unit'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
