"""backup permission: 查看数据备份 (backup.read), given to the 系统管理员 for /admin/backups

The role catalogue is data the migrations own (0001 wrote it); a new permission reaches every install here.

Revision ID: 0006_backup_permission
Revises: 0005_pauses_and_ladder
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_backup_permission'
down_revision = '0005_pauses_and_ladder'
branch_labels = None
depends_on = None

CODE, NAME, ROLE = "backup.read", "查看数据备份", "sysadmin"
permission = sa.table("permission", sa.column("code", sa.String), sa.column("name", sa.String))
link = sa.table("role_permission", sa.column("role_code", sa.String), sa.column("permission_code", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    if conn.scalar(sa.select(permission.c.code).where(permission.c.code == CODE)) is None:
        conn.execute(permission.insert().values(code=CODE, name=NAME))
    if conn.scalar(sa.select(link.c.role_code).where(link.c.role_code == ROLE, link.c.permission_code == CODE)) is None:
        conn.execute(link.insert().values(role_code=ROLE, permission_code=CODE))


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(link.delete().where(link.c.permission_code == CODE))
    conn.execute(permission.delete().where(permission.c.code == CODE))
